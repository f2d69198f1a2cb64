using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Capture;

/// <summary>
/// Import speed and memory on PostgreSQL, run on demand:
/// <c>TANDEM_BENCH_IMPORT_ROWS=100000 TANDEM_TEST_FILTER=CsvImportBenchmark ./test.sh --no-browser</c>.
/// </summary>
public sealed class CsvImportBenchmark(ITestOutputHelper output)
{
    [Fact]
    public async Task ImportsGeneratedRowsOnPostgres()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable("TANDEM_BENCH_IMPORT_ROWS"), out var rows))
            Assert.Skip("Set TANDEM_BENCH_IMPORT_ROWS to run the import benchmark.");
        var ct = TestContext.Current.CancellationToken;
        var json = new JsonSerializerOptions(JsonSerializerOptions.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
        var path = Path.Combine(Path.GetTempPath(), $"tandem-bench-{rows}.csv");
        if (!File.Exists(path))
            await using (var file = File.Create(path))
                CsvImportGenerator.Write(file, rows, seed: 42);

        await using var app = await TandemApp.CreateAsync(DatabaseProvider.Postgres, new Dictionary<string, string?>
        {
            ["Tandem:Imports:Folder"] = Path.Combine(Path.GetTempPath(), $"tandem-imports-{Guid.NewGuid():N}"),
            ["Tandem:Imports:PollSeconds"] = "0.1",
        });
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest));
        // Measures the suggested index: capture looks leads up by ExternalId alone, which the (ExternalSystem, ExternalId) index cannot serve.
        if (Environment.GetEnvironmentVariable("TANDEM_BENCH_EXTERNAL_ID_INDEX") == "1")
            await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Database.ExecuteSqlRawAsync("CREATE INDEX bench_leads_external_id ON \"Leads\" (\"ExternalId\")"));
        client.Timeout = TimeSpan.FromMinutes(30);
        var peakHeap = 0L;
        using var sampler = new Timer(_ => peakHeap = Math.Max(peakHeap, GC.GetTotalMemory(false)), null, 0, 200);

        var watch = Stopwatch.StartNew();
        await using var body = File.OpenRead(path);
        var content = new StreamContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var dryRun = Environment.GetEnvironmentVariable("TANDEM_BENCH_DRY_RUN") == "1";
        var response = await client.PostAsync($"/api/v1/imports?dryRun={dryRun}", content, ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<ImportProgress>(json, ct))!.Id;
        var uploaded = watch.Elapsed;
        ImportProgress job;
        do
        {
            await Task.Delay(250, ct);
            job = (await client.GetFromJsonAsync<ImportProgress>($"/api/v1/imports/{id}", json, ct))!;
        }
        while (job.Status is ImportStatus.Pending or ImportStatus.Running);
        var total = watch.Elapsed;

        Assert.Equal(ImportStatus.Completed, job.Status);
        Assert.Equal(rows, job.RowsCreated);
        Assert.Equal(dryRun ? 0 : rows, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.CountAsync()));
        var hwm = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM", StringComparison.Ordinal));
        output.WriteLine($"{(dryRun ? "dry run" : "import")} {rows} rows ({new FileInfo(path).Length / 1024 / 1024} MiB): upload {uploaded.TotalSeconds:F1} s, total {total.TotalSeconds:F1} s, " +
            $"import {job.RowsPerSecond:F0} rows/s over {job.RowsRead} rows; peak managed heap {peakHeap / 1024 / 1024} MiB; process {hwm}");
        Console.WriteLine(output.Output);
    }
}
