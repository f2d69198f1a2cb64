using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Capture;

/// <summary>
/// Text that never causes a 500 (decision 016): a NUL character (which PostgreSQL refuses), an escaped lone surrogate, invalid
/// UTF-8, an unknown charset, a body that is not what its Content-Type says. Public channels clean the text and keep the lead;
/// the authenticated JSON API rejects it with a field error; a batch answers per item; a database outage is a 503.
/// </summary>
public abstract class HostileTextTests(DatabaseProvider provider)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(TandemApp App, HttpClient Admin)> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerIp"] = "1000",
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerForm"] = "1000",
            ["Tandem:Imports:Folder"] = Path.Combine(Path.GetTempPath(), $"tandem-imports-{Guid.NewGuid():N}"),
            ["Tandem:Imports:PollSeconds"] = "0.1",
        });
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read)));
    }

    private static Task<List<Lead>> LeadsAsync(TandemApp app) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().OrderBy(l => l.Email).ToListAsync());

    private static async Task AssertNot5xxAsync(HttpResponseMessage response) =>
        Assert.True((int)response.StatusCode < 500, $"{response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");

    private static async Task<ProblemShape> AssertFieldErrorAsync(HttpResponseMessage response, string field)
    {
        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        var problem = JsonSerializer.Deserialize<ProblemShape>(text, JsonOptions)!;
        Assert.Contains(field, problem.Errors!.Keys);
        return problem;
    }

    [Fact]
    public async Task PublicFormsCleanNulInvalidUtf8AndLoneSurrogatesAndKeepTheLead()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var created = await admin.PostAsJsonAsync("/api/v1/forms", new
        {
            name = "Demo",
            fields = new object[] { new { name = "email", label = "Email", required = true, type = "Email" }, new { name = "firstName", label = "First" }, new { name = "company", label = "Company" } },
            minFillSeconds = 0,
        }, Ct);
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync(Ct));
        var form = (await created.Content.ReadFromJsonAsync<FormDto>(JsonOptions, Ct))!;
        var client = app.CreateApiClient();

        var nul = await client.PostAsync($"/f/{form.Key}", new FormUrlEncodedContent([new("email", "nul@acme.example"), new("firstName", "a\0b"), new("x\0tra", "c\0d")]), Ct);
        await AssertNot5xxAsync(nul);
        var badUtf8 = new ByteArrayContent(Encoding.ASCII.GetBytes("email=utf8%40acme.example&firstName=%FF%FEab&company=Ac%C3me"));
        badUtf8.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        await AssertNot5xxAsync(await client.PostAsync($"/f/{form.Key}", badUtf8, Ct));
        var rawBytes = new ByteArrayContent([.. Encoding.ASCII.GetBytes("email=raw%40acme.example&firstName=a"), 0xFF, 0x00, (byte)'b']);
        rawBytes.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        await AssertNot5xxAsync(await client.PostAsync($"/f/{form.Key}", rawBytes, Ct));
        var json = await client.PostAsync($"/f/{form.Key}", Json("""{"email":"json@acme.example","firstName":"\ud800x","company":"a\u0000b"}"""), Ct);
        await AssertNot5xxAsync(json);

        var leads = await LeadsAsync(app);
        Assert.Equal(["json@acme.example", "nul@acme.example", "raw@acme.example", "utf8@acme.example"], leads.Select(l => l.Email));
        Assert.Equal("ab", leads.Single(l => l.Email == "nul@acme.example").FirstName);
        Assert.Equal(("\uFFFDx", "ab"), (leads.Single(l => l.Email == "json@acme.example").FirstName, leads.Single(l => l.Email == "json@acme.example").Company));
        Assert.All(leads, l => Assert.True(SafeText.IsStorable(l.FirstName ?? "") && SafeText.IsStorable(l.Company ?? "")));
    }

    [Fact]
    public async Task TheJsonApiRejectsNulAndLoneSurrogatesWithAFieldErrorAndABatchAnswersPerItem()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;

        await AssertFieldErrorAsync(await admin.PostAsync("/api/v1/leads", Json("""{"email":"one@acme.example","firstName":"a\u0000b"}"""), Ct), "firstName");
        await AssertFieldErrorAsync(await admin.PostAsync("/api/v1/leads", Json("""{"email":"one@acme.example","lastName":"\ud800x"}"""), Ct), "lastName");
        await AssertFieldErrorAsync(await admin.PostAsync("/api/v1/leads", Json("""{"email":"one@acme.example","customFields":{"note":"\udc00"},"consent":{"emailOptIn":true,"text":"a\u0000"}}"""), Ct), "consent.text");
        await AssertFieldErrorAsync(await admin.PostAsync("/api/v1/activities", Json("""{"email":"one@acme.example","type":"PageView","url":"https://a.example/\u0000"}"""), Ct), "url");
        Assert.Empty(await LeadsAsync(app));

        var items = string.Join(",", Enumerable.Range(0, 50).Select(i => i == 17
            ? """{"email":"bad@acme.example","firstName":"a\u0000b"}"""
            : $$"""{"email":"ok{{i}}@acme.example","firstName":"Ok"}"""));
        var batch = await admin.PostAsync("/api/v1/leads/batch", Json($$"""{"items":[{{items}}]}"""), Ct);
        Assert.True(batch.StatusCode == HttpStatusCode.OK, await batch.Content.ReadAsStringAsync(Ct));
        var result = (await batch.Content.ReadFromJsonAsync<BatchResponse>(JsonOptions, Ct))!;
        Assert.Equal((49, 1), (result.Created, result.Invalid));
        Assert.Equal("invalid", result.Items[17].Status);
        Assert.Contains("firstName", result.Items[17].Errors!.Keys);
        Assert.Equal(49, (await LeadsAsync(app)).Count);
    }

    [Fact]
    public async Task WebhooksCleanTheTextAndDeadLetterWhatCannotBeRead()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var response = await admin.PostAsJsonAsync("/api/v1/webhook-sources", new
        {
            name = "CRM",
            signatureHeader = "X-Signature",
            mappings = new[] { new { target = "email", path = "$.contact.email" }, new { target = "firstName", path = "$.contact.first" } },
        }, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        var source = (await response.Content.ReadFromJsonAsync<WebhookSourceDto>(JsonOptions, Ct))!;
        var client = app.CreateApiClient();

        var nul = await client.PostAsync(source.EndpointPath, Json("""{"contact":{"email":"hook@acme.example","first":"a\u0000b"},"extra":"\ud800"}"""), Ct);
        Assert.True(nul.IsSuccessStatusCode, await nul.Content.ReadAsStringAsync(Ct));
        var lone = await client.PostAsync(source.EndpointPath, Json("""{"contact":{"email":"lone@acme.example","first":"\udc00x"}}"""), Ct);
        Assert.True(lone.IsSuccessStatusCode, await lone.Content.ReadAsStringAsync(Ct));
        // A raw NUL byte is not JSON: the delivery is dead-lettered (its body kept without the NUL), not a 500.
        var raw = new ByteArrayContent([.. Encoding.UTF8.GetBytes("""{"contact":{"email":"raw@acme.example","first":"a"""), 0x00, .. Encoding.UTF8.GetBytes("""b"}}""")]);
        raw.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var letter = await client.PostAsync(source.EndpointPath, raw, Ct);
        Assert.Equal(HttpStatusCode.Accepted, letter.StatusCode);

        var leads = await LeadsAsync(app);
        Assert.Equal(["hook@acme.example", "lone@acme.example"], leads.Select(l => l.Email));
        Assert.Equal(["ab", "\uFFFDx"], leads.Select(l => l.FirstName));
        var stored = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().WebhookDeadLetters.SingleAsync());
        Assert.DoesNotContain('\0', stored.RawBody);
    }

    [Fact]
    public async Task CsvImportsCleanNulAndInvalidUtf8()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var binary = new MultipartFormDataContent();
        var small = new ByteArrayContent([.. Encoding.UTF8.GetBytes("email,firstName\nnul@acme.example,a"), 0x00, (byte)'b', (byte)'\n']);
        small.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        binary.Add(small, "file", "leads.csv");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await admin.PostAsync("/api/v1/imports", binary, Ct)).StatusCode);

        // A NUL in the sampled start makes the file "not text" (415, decision 016); past the sample, the rows are cleaned.
        var head = new StringBuilder("email,firstName,company\n");
        for (var i = 0; head.Length < CsvSniffer.SampleBytes + 1000; i++)
            head.Append(CultureInfo.InvariantCulture, $"row{i}@acme.example,Row,Acme\n");
        byte[] csv = [.. Encoding.UTF8.GetBytes($"{head}imp@acme.example,a"), 0x00, (byte)'b', (byte)',', 0xFF, .. Encoding.UTF8.GetBytes("Acme\nbad,x\0y,z\n")];
        var upload = new MultipartFormDataContent();
        var file = new ByteArrayContent(csv);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        upload.Add(file, "file", "leads.csv");
        var started = await admin.PostAsync("/api/v1/imports", upload, Ct);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync(Ct));
        var job = (await started.Content.ReadFromJsonAsync<ImportProgress>(JsonOptions, Ct))!;
        for (var i = 0; i < 300 && job.Status is ImportStatus.Pending or ImportStatus.Running; i++)
        {
            await Task.Delay(100, Ct);
            job = (await admin.GetFromJsonAsync<ImportProgress>($"/api/v1/imports/{job.Id}", JsonOptions, Ct))!;
        }
        Assert.Equal(ImportStatus.Completed, job.Status);
        var lead = Assert.Single(await LeadsAsync(app), l => l.Email == "imp@acme.example");
        Assert.Equal("ab", lead.FirstName);
        Assert.True(SafeText.IsStorable(lead.Company));
        // The bad row's error file keeps its value without the NUL.
        var errors = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().ImportRowErrors.Select(e => e.Value).ToListAsync());
        Assert.All(errors, v => Assert.True(SafeText.IsStorable(v ?? "")));
    }

    [Fact]
    public async Task AnUnknownCharsetOrABodyThatIsNotWhatItSaysIs415()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;

        foreach (var path in new[] { "/api/v1/leads", "/api/v1/campaigns", "/api/v1/handoff/teams" })
        {
            var content = new StringContent("""{"email":"a@acme.example","name":"x"}""");
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/json; charset=nonsense");
            var response = await admin.PostAsync(path, content, Ct);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        var notMultipart = new StringContent("email\nx@acme.example\n");
        notMultipart.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=abc");
        var import = await admin.PostAsync("/api/v1/imports", notMultipart, Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, import.StatusCode);
        Assert.Equal("application/problem+json", import.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await LeadsAsync(app));
    }

    [Fact]
    public async Task ADatabaseOutageIs503WithRetryAfter()
    {
        var unreachable = provider == DatabaseProvider.Sqlite
            ? $"Data Source={Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "tandem.db")};Mode=ReadWrite"
            : "Host=127.0.0.1;Port=1;Database=tandem;Username=nobody;Timeout=2";
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tandem"] = unreachable,
            ["Tandem:Database:MigrateOnStart"] = "false",
        }, createDatabase: false);
        var client = app.CreateApiClient("tdm_notarealkey_000000000000000000000000");

        var response = await client.PostAsync("/api/v1/leads", Json("""{"email":"a@acme.example"}"""), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.NotNull(response.Headers.RetryAfter);
    }
}

public sealed class HostileTextOnSqlite() : HostileTextTests(DatabaseProvider.Sqlite);

public sealed class HostileTextOnPostgres() : HostileTextTests(DatabaseProvider.Postgres);
