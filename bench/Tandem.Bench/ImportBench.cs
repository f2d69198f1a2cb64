using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tandem.Features.Capture.CsvImport;

namespace Tandem.Bench;

/// <summary>
/// CSV import speed: writes a generated CSV (the same generator as the tests), uploads it to <c>POST /api/v1/imports</c> and polls
/// <c>GET /api/v1/imports/{id}</c> until the background job ends. Time runs from the start of the upload to the end of the job.
/// </summary>
public static class ImportBench
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web) { Converters = { new JsonStringEnumConverter() } };

    public static async Task<int> RunAsync(string url, string key, int rows, string file, int firstRow = 1)
    {
        if (!File.Exists(file) || new FileInfo(file).Length == 0)
        {
            var generate = Stopwatch.StartNew();
            await using (var output = File.Create(file))
                CsvImportGenerator.Write(output, rows, seed: 42, firstRow: firstRow);
            Console.WriteLine($"generated {rows:N0} rows ({new FileInfo(file).Length / 1024 / 1024} MiB) in {generate.Elapsed.TotalSeconds:F1} s: {file}");
        }
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        var watch = Stopwatch.StartNew();
        await using var body = File.OpenRead(file);
        using var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        using var response = await http.PostAsync("/api/v1/imports", content);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            Console.Error.WriteLine($"upload answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            return 1;
        }
        var id = (await response.Content.ReadFromJsonAsync<ImportProgress>(Json))!.Id;
        var uploaded = watch.Elapsed;
        ImportProgress job;
        do
        {
            await Task.Delay(250);
            job = (await http.GetFromJsonAsync<ImportProgress>($"/api/v1/imports/{id}", Json))!;
        }
        while (job.Status is ImportStatus.Pending or ImportStatus.Running);
        var total = watch.Elapsed;
        Console.WriteLine($"job {job.Status}: {job.RowsRead:N0} rows read, {job.RowsCreated:N0} created, {job.RowsMerged:N0} merged, {job.RowsFailed:N0} failed");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT import rows={job.RowsRead} seconds={total.TotalSeconds:F1} upload_seconds={uploaded.TotalSeconds:F1} rows_per_s={job.RowsRead / total.TotalSeconds:F0}"));
        return job.Status == ImportStatus.Completed && job.RowsFailed == 0 ? 0 : 1;
    }
}
