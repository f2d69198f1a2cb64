using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Capture;

/// <summary>CSV import through the API: preview, dry run, background import, dedupe policies, restart, cancel, limits and bad input.</summary>
public abstract class CsvImportApiTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonSerializerOptions Json => TandemApp.ApiJson;

    private const string Formula = "=cmd|' /C calc'!A0";

    /// <summary>Windows-1252, semicolons, CRLF, a trailing delimiter, a blank header, quoted ; , and line break, a short row, a bad email, placeholders, a formula.</summary>
    private static byte[] FrenchExport() => CsvSniffer.EncodingFor(CsvSniffer.Windows1252).GetBytes(
        "Prénom;Nom;Email;Société;Fonction;Pays;Lifecycle Stage;;Notes;\r\n" +
        "Amélie;Garçon;amelie@acme-industrie.fr;\"Acme; Industrie, SA\";DAF;France;1;x;\"Line one\r\nline two, with comma\";\r\n" +
        "François;Leçon;francois@globex.example;Globex;CFO;-;MQL;;;\r\n" +
        "Bad;Row;bad-row@x.example;Only;Five\r\n" +
        $"Invalid;Email;{Formula};Initech;CEO;France;Lead;;;\r\n" +
        $"Formula;Text;formula@initech.example;{Formula};N/A;France;Closed Won;;;\r\n");

    /// <summary>UTF-8 with BOM, commas, LF: one known lead and one new.</summary>
    private static byte[] HubSpotExport() => [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(
        "Email,First Name,Last Name,Company Name,Job Title,Lead Status\n" +
        "amelie@acme-industrie.fr,Amélie,Garçon,Acme,Directrice financière,SQL\n" +
        "nina@initech.example,Nina,New,Initech,CTO,Lead\n")];

    private static readonly object StageMap = new Dictionary<string, string> { ["1"] = "Customer", ["Closed Won"] = "Customer" };

    private static async Task<(TandemApp App, HttpClient Client)> StartAsync(DatabaseProvider provider, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Tandem:Imports:Folder"] = Path.Combine(Path.GetTempPath(), $"tandem-imports-{Guid.NewGuid():N}"),
            ["Tandem:Imports:PollSeconds"] = "0.1",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            all[k] = v;
        var app = await TandemApp.CreateAsync(provider, all);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read)));
    }

    private static MultipartFormDataContent Upload(byte[] csv, object? options = null, string fileName = "leads.csv", string type = "text/csv")
    {
        var content = new MultipartFormDataContent();
        if (options is not null)
            content.Add(new StringContent(JsonSerializer.Serialize(options, Json), Encoding.UTF8, "application/json"), "options");
        var file = new ByteArrayContent(csv);
        file.Headers.ContentType = new MediaTypeHeaderValue(type);
        content.Add(file, "file", fileName);
        return content;
    }

    private static async Task<ImportProgress> StartImportAsync(HttpClient client, byte[] csv, object? options = null)
    {
        var response = await client.PostAsync("/api/v1/imports", Upload(csv, options), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var job = (await response.Content.ReadFromJsonAsync<ImportProgress>(Json, Ct))!;
        Assert.Equal($"/api/v1/imports/{job.Id}", response.Headers.Location?.OriginalString);
        return job;
    }

    private static async Task<ImportProgress> WaitAsync(HttpClient client, Guid id)
    {
        for (var i = 0; i < 300; i++)
        {
            var job = (await client.GetFromJsonAsync<ImportProgress>($"/api/v1/imports/{id}", Json, Ct))!;
            if (job.Status is not (ImportStatus.Pending or ImportStatus.Running))
                return job;
            await Task.Delay(100, Ct);
        }
        throw new TimeoutException($"Import {id} did not finish.");
    }

    private static async Task<ImportProgress> ImportAsync(HttpClient client, byte[] csv, object? options = null) =>
        await WaitAsync(client, (await StartImportAsync(client, csv, options)).Id);

    private static Task<List<Lead>> LeadsAsync(TandemApp app) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().OrderBy(l => l.Email).ToListAsync());

    [Fact]
    public async Task PreviewDetectsTheFormatNamesHeadersAndSuggestsAMapping()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var response = await client.PostAsync("/api/v1/imports/preview", Upload(FrenchExport()), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var preview = (await response.Content.ReadFromJsonAsync<ImportPreview>(Json, Ct))!;
        Assert.Equal((CsvSniffer.Windows1252, ";"), (preview.Encoding, preview.Delimiter));
        Assert.Equal(["Prénom", "Nom", "Email", "Société", "Fonction", "Pays", "Lifecycle Stage", "Column 8", "Notes", "Column 10"], preview.Headers);
        Assert.Equal(5, preview.Rows.Count);
        Assert.Equal("Acme; Industrie, SA", preview.Rows[0][3]);
        Assert.Equal("Line one\r\nline two, with comma", preview.Rows[0][8]);
        Assert.Equal(["firstName", "lastName", "email", "company", "jobTitle", "country", "stage", null, null, null], preview.Suggestions.Select(s => s.Field));

        var raw = new ByteArrayContent(HubSpotExport());
        raw.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        var hub = (await (await client.PostAsync("/api/v1/imports/preview", raw, Ct)).Content.ReadFromJsonAsync<ImportPreview>(Json, Ct))!;
        Assert.Equal((CsvSniffer.Utf8, ",", "Email"), (hub.Encoding, hub.Delimiter, hub.Headers[0]));
        Assert.Equal("Amélie", hub.Rows[0][1]);
    }

    [Fact]
    public async Task DryRunReportsEveryRowErrorWithoutWritingThenTheImportStoresTheRest()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var dry = await ImportAsync(client, FrenchExport(), new { dryRun = true, stageValues = StageMap });
        Assert.Equal(ImportStatus.Completed, dry.Status);
        Assert.True(dry.DryRun);
        Assert.Equal((5, 3, 2), (dry.RowsRead, dry.RowsImported, dry.RowsFailed));
        Assert.Empty(await LeadsAsync(app));
        var dryReport = await client.GetStringAsync($"/api/v1/imports/{dry.Id}/errors.csv", Ct);
        Assert.Equal(3, dryReport.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);

        var job = await ImportAsync(client, FrenchExport(), new { stageValues = StageMap });
        Assert.Equal(ImportStatus.Completed, job.Status);
        Assert.Equal((5, 3, 3, 0, 2), (job.RowsRead, job.RowsImported, job.RowsCreated, job.RowsMerged, job.RowsFailed));
        Assert.Equal(100, job.Percent);
        Assert.NotNull(job.FinishedAt);

        var leads = await LeadsAsync(app);
        Assert.Equal(["amelie@acme-industrie.fr", "formula@initech.example", "francois@globex.example"], leads.Select(l => l.Email));
        var amelie = leads[0];
        Assert.Equal(("Amélie", "Garçon", "Acme; Industrie, SA", "DAF", "FR", LifecycleStage.Customer),
            (amelie.FirstName, amelie.LastName, amelie.Company, amelie.JobTitle, amelie.Country, amelie.Stage));
        var formula = leads[1];
        Assert.Equal(Formula, formula.Company);
        Assert.Null(formula.JobTitle);
        Assert.Equal(LifecycleStage.Customer, formula.Stage);
        var francois = leads[2];
        Assert.Equal(("François", "Leçon", null, LifecycleStage.Mql), (francois.FirstName, francois.LastName, francois.Country, francois.Stage));
        var sources = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.Select(a => a.Source).Distinct().ToListAsync());
        Assert.Equal([$"import:{job.Id}"], sources);

        var response = await client.GetAsync($"/api/v1/imports/{job.Id}/errors.csv", Ct);
        Assert.Equal("text/csv", response.Content.Headers.ContentType?.MediaType);
        var report = await response.Content.ReadAsStringAsync(Ct);
        var lines = report.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("row,column,field,value,message,severity", lines[0]);
        Assert.Equal("4,,,,\"Expected 10 columns, found 5.\",error", lines[1]);
        Assert.StartsWith($"5,Email,email,'{Formula},", lines[2], StringComparison.Ordinal);

        var history = (await client.GetFromJsonAsync<Page<ImportProgress>>("/api/v1/imports", Json, Ct))!;
        Assert.Equal([job.Id, dry.Id], history.Items.Select(i => i.Id));
    }

    [Fact]
    public async Task DedupePoliciesDecideWhatHappensToLeadsThatAlreadyExist()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        await ImportAsync(client, FrenchExport(), new { stageValues = StageMap });

        var skip = await ImportAsync(client, HubSpotExport(), new { policy = "SkipExisting" });
        Assert.Equal((2, 1, 0, 1), (skip.RowsRead, skip.RowsCreated, skip.RowsMerged, skip.RowsSkipped));
        Assert.Equal("DAF", (await LeadsAsync(app)).Single(l => l.Email == "amelie@acme-industrie.fr").JobTitle);

        var createOnly = await ImportAsync(client, HubSpotExport(), new { policy = "CreateOnly" });
        Assert.Equal((2, 0, 2), (createOnly.RowsRead, createOnly.RowsCreated, createOnly.RowsFailed));
        Assert.Contains("already exists", await client.GetStringAsync($"/api/v1/imports/{createOnly.Id}/errors.csv", Ct), StringComparison.Ordinal);

        var update = await ImportAsync(client, HubSpotExport(), new { policy = "Update" });
        Assert.Equal((2, 0, 2, 0), (update.RowsRead, update.RowsCreated, update.RowsMerged, update.RowsFailed));
        var leads = await LeadsAsync(app);
        Assert.Equal(4, leads.Count);
        var amelie = leads.Single(l => l.Email == "amelie@acme-industrie.fr");
        Assert.Equal("Directrice financière", amelie.JobTitle);
        Assert.Equal(LifecycleStage.Customer, amelie.Stage); // SQL is behind Customer: stages never move back on import.
    }

    /// <summary>
    /// A crash after some batches committed: the job is found again with its checkpoint and creates no duplicates. Batches of 7 rows
    /// (rows 2–8, 9–15, 16–22, …); either the first three committed, or — with several writers — the first and the third while the
    /// second was still being written.
    /// </summary>
    [Theory]
    [InlineData(22, null, 21)]
    [InlineData(8, "16-22", 14)]
    public async Task AJobResumedAfterACrashSkipsEveryCommittedRowAndCreatesNoDuplicates(int lastCommittedRow, string? committedAhead, int committedRows)
    {
        var (app, client) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:Imports:RunWorker"] = "false", ["Tandem:Imports:BatchSize"] = "7" });
        await using var _ = app;
        using var csv = new MemoryStream();
        CsvImportGenerator.Write(csv, 50, seed: 3);
        var queued = await StartImportAsync(client, csv.ToArray());
        var path = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<ImportJob>().Where(j => j.Id == queued.Id).Select(j => j.FilePath).SingleAsync());
        File.Copy(path, path + ".bak");
        var worker = app.Services.GetRequiredService<ImportWorker>();

        Assert.True(await worker.RunNextAsync(Ct));
        var first = await WaitAsync(client, queued.Id);
        Assert.Equal((50, 50), (first.RowsRead, first.RowsCreated));
        var activities = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.CountAsync());

        File.Move(path + ".bak", path);
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<ImportJob>().Where(j => j.Id == queued.Id).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.Status, ImportStatus.Pending).SetProperty(j => j.LastCommittedRow, lastCommittedRow).SetProperty(j => j.CommittedAhead, committedAhead)
            .SetProperty(j => j.RowsRead, committedRows).SetProperty(j => j.RowsCreated, committedRows).SetProperty(j => j.RowsMerged, 0)
            .SetProperty(j => j.FinishedAt, (DateTimeOffset?)null)));
        Assert.True(await worker.RunNextAsync(Ct));
        var resumed = await WaitAsync(client, queued.Id);
        // The rows not committed before are read again and merge into the leads the first run created.
        Assert.Equal((ImportStatus.Completed, 50, committedRows, 50 - committedRows), (resumed.Status, resumed.RowsRead, resumed.RowsCreated, resumed.RowsMerged));
        Assert.Equal(50, (await LeadsAsync(app)).Count);
        Assert.Equal(50, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.Select(l => l.Email).Distinct().CountAsync()));
        // Committed rows are not captured a second time (the counters above), and a row read again that changes nothing on its lead adds
        // no activity (a re-import records only changes).
        Assert.Equal(activities, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.CountAsync()));
        var job = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<ImportJob>().AsNoTracking().SingleAsync(j => j.Id == queued.Id));
        Assert.Equal((51, (string?)null), (job.LastCommittedRow, job.CommittedAhead));
        Assert.False(await worker.RunNextAsync(Ct));
    }

    [Fact]
    public async Task PendingImportsCancelAtOnceAndRunningOnesAfterTheirBatch()
    {
        var (app, client) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:Imports:RunWorker"] = "false", ["Tandem:Imports:BatchSize"] = "5" });
        await using var _ = app;
        using var csv = new MemoryStream();
        CsvImportGenerator.Write(csv, 30);

        var pending = await StartImportAsync(client, csv.ToArray());
        var cancelled = await client.PostAsync($"/api/v1/imports/{pending.Id}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        Assert.Equal(ImportStatus.Cancelled, (await cancelled.Content.ReadFromJsonAsync<ImportProgress>(Json, Ct))!.Status);
        var worker = app.Services.GetRequiredService<ImportWorker>();
        Assert.False(await worker.RunNextAsync(Ct));

        var running = await StartImportAsync(client, csv.ToArray());
        // The cancel arrives while the first batch runs.
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<ImportJob>().Where(j => j.Id == running.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.CancelRequested, true)));
        Assert.True(await worker.RunNextAsync(Ct));
        var stopped = await WaitAsync(client, running.Id);
        // The batches being written when the cancel is seen finish (one per writer: several at once on PostgreSQL); no new one starts.
        var writers = provider == DatabaseProvider.Postgres ? app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ImportOptions>>().Value.Writers : 1;
        Assert.Equal(ImportStatus.Cancelled, stopped.Status);
        Assert.InRange(stopped.RowsRead, 5, 5 * writers);
        Assert.Equal(0, stopped.RowsRead % 5);
        Assert.Equal(stopped.RowsRead, (await LeadsAsync(app)).Count);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/api/v1/imports/{Guid.CreateVersion7()}/cancel", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task OversizedNonCsvAndBadlyMappedUploadsAreRefusedWithProblemDetails()
    {
        var (app, client) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:Imports:MaxBytes"] = "200", ["Tandem:Api:MaxRequestBodyBytes"] = "100" });
        await using var _ = app;
        var folder = app.Services.GetRequiredService<ImportService>().FolderPath;

        // 150 bytes: over the /api limit of 100 but the upload has its own limit.
        var small = Encoding.UTF8.GetBytes("email,name\n" + string.Concat(Enumerable.Range(0, 8).Select(i => $"p{i}@x.example,P{i}\n")));
        Assert.InRange(small.Length, 101, 200);
        Assert.Equal(ImportStatus.Completed, (await ImportAsync(client, small, new { mapping = new { email = "email" } })).Status);

        var big = await client.PostAsync("/api/v1/imports", Upload(new byte[300].Select(_ => (byte)'a').ToArray()), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        Assert.Equal("application/problem+json", big.Content.Headers.ContentType?.MediaType);

        var json = await client.PostAsync("/api/v1/imports", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        var png = await client.PostAsync("/api/v1/imports", Upload([0x89, 0x50, 0x4E, 0x47], type: "image/png"), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, png.StatusCode);
        var binary = await client.PostAsync("/api/v1/imports", Upload([0x50, 0x4B, 0x03, 0x04, 0x00, 0x00]), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, binary.StatusCode);

        var twice = await client.PostAsync("/api/v1/imports", Upload(small, new { mapping = new Dictionary<string, string> { ["email"] = "email", ["name"] = "email" } }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, twice.StatusCode);
        Assert.Contains("mapping.name", (await twice.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
        var unknown = await client.PostAsync("/api/v1/imports", Upload(small, new { mapping = new Dictionary<string, string> { ["email"] = "email", ["name"] = "shoeSize" }, stageValues = new { x = "Champion" } }), Ct);
        var errors = (await unknown.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!;
        Assert.Contains("mapping.name", errors.Keys);
        Assert.Contains("stageValues.x", errors.Keys);
        var noIdentifier = await client.PostAsync("/api/v1/imports", Upload(small, new { mapping = new { name = "firstName" } }), Ct);
        Assert.Contains("mapping", (await noIdentifier.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
        var badJson = await client.PostAsync("/api/v1/imports?policy=Sometimes", Upload(small), Ct);
        Assert.Contains("policy", (await badJson.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);

        // Refused uploads leave no file behind (only the completed import's file, already deleted, was kept).
        Assert.Empty(Directory.Exists(folder) ? Directory.GetFiles(folder) : []);
        Assert.Single((await client.GetFromJsonAsync<Page<ImportProgress>>("/api/v1/imports", Json, Ct))!.Items);
    }

    [Fact]
    public async Task ImportsPageRendersForMarketingButNotForSales()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        await ImportAsync(client, HubSpotExport());
        var (_, password) = await app.CreateUserAsync("marketer@example.com", Roles.Marketing);
        var marketer = app.CreateBrowserClient();
        await TandemApp.SignInAsync(marketer, "marketer@example.com", password);
        var page = await marketer.GetAsync("/imports", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("data-testid=\"import-history\"", html, StringComparison.Ordinal);
        Assert.Contains("leads.csv", html, StringComparison.Ordinal);

        var (_, repPassword) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rep@example.com", repPassword);
        var denied = await rep.GetAsync("/imports", Ct);
        Assert.DoesNotContain("data-testid=\"import-history\"", await denied.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SalesCannotImport()
    {
        var (app, _) = await StartAsync(provider);
        await using var __ = app;
        var reader = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsync("/api/v1/imports", Upload(HubSpotExport()), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.GetAsync("/api/v1/imports", Ct)).StatusCode);

        var (_, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rep@example.com", password);
        Assert.Equal(HttpStatusCode.Forbidden, (await rep.PostAsync("/api/v1/imports", Upload(HubSpotExport()), Ct)).StatusCode);
        Assert.Empty(await LeadsAsync(app));
    }
}

public sealed class CsvImportApiOnSqlite() : CsvImportApiTests(DatabaseProvider.Sqlite);

public sealed class CsvImportApiOnPostgres() : CsvImportApiTests(DatabaseProvider.Postgres);
