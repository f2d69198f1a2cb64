using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Capture;

/// <summary>Pure rules behind real-world data: countries by name, dates and amounts of CRM exports, stage paths, presets, signatures.</summary>
public sealed class RealDataRulesTests
{
    private static readonly HashSet<string> NoCustomKeys = [];

    public static string Corpus(string name, [CallerFilePath] string file = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(file)!, "Corpus", name));

    [Theory]
    [InlineData("FR", "FR")]
    [InlineData("fra", "FR")]
    [InlineData("France", "FR")]
    [InlineData("Deutschland", "DE")]
    [InlineData("Allemagne", "DE")]
    [InlineData("Germany", "DE")]
    [InlineData("UK", "GB")]
    [InlineData("Royaume-Uni", "GB")]
    [InlineData("Angleterre", "GB")]
    [InlineData("United States of America", "US")]
    [InlineData("USA", "US")]
    [InlineData("etats unis", "US")]
    [InlineData("España", "ES")]
    [InlineData("Côte d'Ivoire", "CI")]
    [InlineData("Belgique", "BE")]
    public void CountriesAreReadFromCodesNamesAndAliases(string raw, string code) =>
        Assert.Equal((code, (string?)null), Normalize.Country(raw));

    [Theory]
    [InlineData("XX")]
    [InlineData("ZZ")]
    [InlineData("Narnia")]
    public void ReservedCodesAndUnknownNamesAreErrors(string raw)
    {
        var (value, error) = Normalize.Country(raw);
        Assert.Null(value);
        Assert.NotNull(error);
    }

    [Fact]
    public void AnOddValueIsAWarningAndOnlyAMissingIdentifierFailsAKeptLead()
    {
        var errors = new FieldErrors();
        var input = LeadInputParser.FromFields([new("email", "a@b.example"), new("country", "Narnia"), new("phone", "06 12 34 56 78"), new("companySize", "lots")],
            errors, NoCustomKeys, phoneRegion: null, keepLead: true);
        Assert.False(errors.Any);
        Assert.Equal(["companySize", "country", "phone"], input.Warnings.Select(w => w.Field).Order());
        Assert.Equal("Narnia", input.Extra["notKept.country"]);

        var regional = LeadInputParser.FromFields([new("email", "a@b.example"), new("phone", "06 12 34 56 78")], new FieldErrors(), NoCustomKeys, "FR", keepLead: true);
        Assert.Equal("+33612345678", regional.Phone);
        Assert.Empty(regional.Warnings);

        var none = new FieldErrors();
        LeadInputParser.FromFields([new("email", "not-an-email"), new("country", "France")], none, NoCustomKeys, keepLead: true);
        Assert.True(none.HasAny("email"));
    }

    [Theory]
    [InlineData("2024-03-15", "2024-03-15T00:00:00+00:00")]
    [InlineData("2024-03-15 10:30", "2024-03-15T10:30:00+00:00")]
    [InlineData("3/15/2024", "2024-03-15T00:00:00+00:00")]
    [InlineData("15/03/2024", "2024-03-15T00:00:00+00:00")]
    public void CrmDatesAreRead(string raw, string expected) =>
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ImportHistory.ParseDate(raw));

    [Theory]
    [InlineData("12500", 12500)]
    [InlineData("12,500.50", 12500.5)]
    [InlineData("12 500,50", 12500.5)]
    [InlineData("€1,200", 1200)]
    [InlineData("1200 EUR", 1200)]
    public void AmountsAreRead(string raw, decimal expected) => Assert.Equal(expected, ImportHistory.ParseAmount(raw));

    [Fact]
    public void StageDatesBecomeAPathThatOnlyMovesForward()
    {
        var created = new DateTimeOffset(2024, 1, 5, 0, 0, 0, TimeSpan.Zero);
        var dates = new Dictionary<LifecycleStage, DateTimeOffset>
        {
            [LifecycleStage.Mql] = created.AddDays(15),
            [LifecycleStage.Sql] = created.AddDays(10), // earlier than the MQL date: moved up to it
        };
        var path = ImportHistory.Path(created, LifecycleStage.Sql, dates, wonAt: created.AddDays(40));
        Assert.Equal(
            [(null, LifecycleStage.Lead, created), (LifecycleStage.Lead, LifecycleStage.Mql, created.AddDays(15)),
             (LifecycleStage.Mql, LifecycleStage.Sql, created.AddDays(15)), (LifecycleStage.Sql, LifecycleStage.Customer, created.AddDays(40))],
            path.Select(p => ((LifecycleStage?)p.From, p.To, p.At)));
    }

    [Theory]
    [InlineData("salesforce-leads.csv", "salesforce-leads")]
    [InlineData("hubspot-contacts.csv", "hubspot-contacts")]
    [InlineData("pipedrive-people.csv", "pipedrive-people")]
    public void CrmExportsAreRecognisedFromTheirHeaders(string file, string preset)
    {
        var headers = Corpus(file).Split('\n')[0].Trim().Split(',').Select(h => h.Trim('"')).ToList();
        Assert.Equal(preset, ImportPresets.Detect(headers)?.Id);
        var errors = new FieldErrors();
        var plan = ImportMapping.Plan(headers, new ImportSettings(), NoCustomKeys, errors);
        Assert.False(errors.Any, errors.Summary());
        Assert.Equal(ImportPresets.Find(preset)!.ExternalSystem, plan!.ExternalSystem);
    }

    [Fact]
    public void TypeformWithoutRefsMapsAnswersByFieldType()
    {
        var preset = WebhookPresets.Find("typeform")!;
        var input = WebhookMapper.ToLeadInputKeepingLead(JsonDocument.Parse(Corpus("typeform-no-refs.json")).RootElement, preset.Mappings, NoCustomKeys,
            new FieldErrors(), null);
        Assert.Equal(("claire.martin@acme-industrie.fr", "+33612345678", "Claire", "Martin"), (input.Email, input.Phone, input.FirstName, input.LastName));
    }

    [Fact]
    public void HubSpotFormsCaptureConsentAndReadLocalPhonesInTheCountryGiven()
    {
        var preset = WebhookPresets.Find("hubspot-forms-v3")!;
        var input = WebhookMapper.ToLeadInputKeepingLead(JsonDocument.Parse(Corpus("hubspot-consent.json")).RootElement, preset.Mappings, NoCustomKeys,
            new FieldErrors(), null);
        Assert.Equal(("GB", "+442079460018"), (input.Country, input.Phone));
        Assert.Equal(true, input.Consent?.EmailOptIn);
        Assert.Equal("I agree to receive marketing communications from Umbrella.", input.Consent?.Text);
    }

    [Fact]
    public void AMissingIdentifierSaysWhereItWasLookedFor()
    {
        var errors = new FieldErrors();
        WebhookMapper.ToLeadInputKeepingLead(JsonDocument.Parse("""{"name":"x"}""").RootElement, [new("email", "$.contact.email"), new("phone", "$.contact.phone")],
            NoCustomKeys, errors, null);
        Assert.Contains("email ← $.contact.email, phone ← $.contact.phone", errors.Summary(), StringComparison.Ordinal);
    }

    [Fact]
    public void HubSpotV3AndWebflowSignaturesAreCheckedWithTheirTimestamps()
    {
        const string secret = "s3cret-value";
        var now = new DateTimeOffset(2024, 5, 2, 10, 0, 0, TimeSpan.Zero);
        var body = """{"a":1}"""u8.ToArray();
        var ts = now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        const string uri = "https://tandem.example/hooks/abc";
        var hubspot = Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes("POST" + uri + """{"a":1}""" + ts)));
        string? Headers(string name, string sig, string header, string stamp) => name.Equals(header, StringComparison.OrdinalIgnoreCase) ? sig
            : name.Equals(stamp, StringComparison.OrdinalIgnoreCase) ? ts : null;

        Assert.Null(WebhookSignature.Check(WebhookSignature.HubSpotV3Header, "", SignatureEncoding.Base64, secret, body,
            n => Headers(n, hubspot, WebhookSignature.HubSpotV3Header, WebhookSignature.HubSpotTimestampHeader), "POST", [uri], now));
        Assert.NotNull(WebhookSignature.Check(WebhookSignature.HubSpotV3Header, "", SignatureEncoding.Base64, secret, body,
            n => Headers(n, hubspot, WebhookSignature.HubSpotV3Header, WebhookSignature.HubSpotTimestampHeader), "POST", [uri], now.AddMinutes(6)));

        var webflow = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(ts + ":" + """{"a":1}""")));
        Assert.Null(WebhookSignature.Check(WebhookSignature.WebflowHeader, "", SignatureEncoding.Hex, secret, body,
            n => Headers(n, webflow, WebhookSignature.WebflowHeader, WebhookSignature.WebflowTimestampHeader), "POST", [uri], now));
        Assert.NotNull(WebhookSignature.Check(WebhookSignature.WebflowHeader, "", SignatureEncoding.Hex, secret, """{"a":2}"""u8.ToArray(),
            n => Headers(n, webflow, WebhookSignature.WebflowHeader, WebhookSignature.WebflowTimestampHeader), "POST", [uri], now));
    }
}

/// <summary>The corpus of real-world exports and payloads, imported and posted through the API, on SQLite and PostgreSQL.</summary>
public abstract class RealDataTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonSerializerOptions Json => TandemApp.ApiJson;

    private static byte[] Corpus(string name) => Encoding.UTF8.GetBytes(RealDataRulesTests.Corpus(name));

    private static async Task<(TandemApp App, HttpClient Client)> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Imports:Folder"] = Path.Combine(Path.GetTempPath(), $"tandem-imports-{Guid.NewGuid():N}"),
            ["Tandem:Imports:PollSeconds"] = "0.1",
        });
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read, Scopes.Admin)));
    }

    private static MultipartFormDataContent Upload(byte[] csv, object? options)
    {
        var content = new MultipartFormDataContent();
        if (options is not null)
            content.Add(new StringContent(JsonSerializer.Serialize(options, Json), Encoding.UTF8, "application/json"), "options");
        var file = new ByteArrayContent(csv);
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        content.Add(file, "file", "export.csv");
        return content;
    }

    private static async Task<ImportProgress> ImportAsync(HttpClient client, byte[] csv, object? options = null)
    {
        var response = await client.PostAsync("/api/v1/imports", Upload(csv, options), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, await response.Content.ReadAsStringAsync(Ct));
        var id = (await response.Content.ReadFromJsonAsync<ImportProgress>(Json, Ct))!.Id;
        for (var i = 0; i < 600; i++)
        {
            var job = (await client.GetFromJsonAsync<ImportProgress>($"/api/v1/imports/{id}", Json, Ct))!;
            if (job.Status is not (ImportStatus.Pending or ImportStatus.Running))
                return job;
            await Task.Delay(100, Ct);
        }
        throw new TimeoutException();
    }

    private static Task<T> DbAsync<T>(TandemApp app, Func<TandemDb, Task<T>> query) =>
        app.WithServiceAsync(sp => query(sp.GetRequiredService<TandemDb>()));

    [Fact]
    public async Task SalesforceLeadsImportWithNoRejectedRowAndEachOddValueCountedOnce()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var job = await ImportAsync(client, Corpus("salesforce-leads.csv"));

        Assert.Equal((ImportStatus.Completed, 5, 0, 1), (job.Status, job.RowsCreated, job.RowsFailed, job.RowsWithWarnings));
        Assert.Equal(new[] { ("companySize", 1), ("country", 1), ("phone", 1) }, job.Warnings!.Select(w => (w.Field!, w.Count)).OrderBy(w => w.Item1));
        var leads = await DbAsync(app, db => db.Leads.AsNoTracking().OrderBy(l => l.ExternalId).ToListAsync());
        Assert.All(leads, l => Assert.Equal("salesforce", l.ExternalSystem));
        Assert.Equal(["+33142685300", "+14155550132", "+49301234567", "+442079460018", null], leads.Select(l => l.Phone));
        Assert.Equal(["FR", "US", "DE", "GB", null], leads.Select(l => l.Country));
        Assert.Equal([LifecycleStage.Mql, LifecycleStage.Mql, LifecycleStage.Customer, LifecycleStage.Disqualified, LifecycleStage.Mql], leads.Select(l => l.Stage));
        Assert.Equal([WorkStatus.New, WorkStatus.Attempting, WorkStatus.Accepted, WorkStatus.Rejected, WorkStatus.New], leads.Select(l => l.WorkStatus));
        var won = await DbAsync(app, db => db.Deals.AsNoTracking().ToListAsync());
        var deal = Assert.Single(won);
        Assert.Equal((DealStatus.Won, leads[2].Id), (deal.Status, deal.LeadId));
        // The odd values stay on the activity of the lead, shown as "not kept".
        var activity = await DbAsync(app, db => db.Activities.AsNoTracking().SingleAsync(a => a.LeadId == leads[4].Id));
        Assert.Contains("\"notKept.country\":\"Narnia\"", activity.Properties, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HubSpotContactsBringTheirStageHistoryAndWonDealsAndAReimportChangesOnlyWhatChanged()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var job = await ImportAsync(client, Corpus("hubspot-contacts.csv"));
        Assert.Equal((0, 3, 1), (job.RowsFailed, job.RowsCreated, job.RowsWithWarnings));
        Assert.Equal("country", Assert.Single(job.Warnings!).Field);
        var amelie = await DbAsync(app, db => db.Leads.AsNoTracking().SingleAsync(l => l.Email == "amelie@acme-industrie.fr"));
        Assert.Equal((LifecycleStage.Customer, "hubspot", "51", WorkStatus.Accepted), (amelie.Stage, amelie.ExternalSystem, amelie.ExternalId, amelie.WorkStatus));
        var path = await DbAsync(app, db => db.StageTransitions.AsNoTracking().Where(t => t.LeadId == amelie.Id).OrderBy(t => t.At).ThenBy(t => t.To)
            .Select(t => new { t.To, t.At }).ToListAsync());
        Assert.Equal([LifecycleStage.Lead, LifecycleStage.Mql, LifecycleStage.Sql, LifecycleStage.Customer], path.Select(p => p.To));
        Assert.Equal(new DateTimeOffset(2024, 1, 20, 10, 0, 0, TimeSpan.Zero), path[1].At);
        var deal = await DbAsync(app, db => db.Deals.AsNoTracking().SingleAsync());
        Assert.Equal((DealStatus.Won, 12500m, amelie.Id), (deal.Status, deal.Amount, deal.LeadId));
        var nina = await DbAsync(app, db => db.Leads.AsNoTracking().SingleAsync(l => l.Email == "nina@initech.example"));
        Assert.Equal("+33612345678", nina.Phone);
        var activities = await DbAsync(app, db => db.Activities.CountAsync());

        var again = await ImportAsync(client, Corpus("hubspot-contacts.csv"));
        Assert.Equal((0, 3), (again.RowsCreated, again.RowsMerged));
        Assert.Equal(activities, await DbAsync(app, db => db.Activities.CountAsync()));
        Assert.Single(await DbAsync(app, db => db.Deals.AsNoTracking().ToListAsync()));

        var changed = Encoding.UTF8.GetString(Corpus("hubspot-contacts.csv")).Replace(",Initech,CTO,", ",Initech,Chief Technology Officer,", StringComparison.Ordinal);
        await ImportAsync(client, Encoding.UTF8.GetBytes(changed));
        var notes = await DbAsync(app, db => db.Activities.AsNoTracking().Where(a => a.Type == ActivityType.Note).ToListAsync());
        var note = Assert.Single(notes);
        Assert.Equal(nina.Id, note.LeadId);
        Assert.Contains("\"updatedByImport\":\"jobTitle\"", note.Properties, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PipedrivePeopleUseTheImportsPhoneRegionAndAHeaderOnlyFileSaysSo()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var job = await ImportAsync(client, Corpus("pipedrive-people.csv"), new { phoneRegion = "FR" });
        Assert.Equal((3, 0, 0), (job.RowsCreated, job.RowsFailed, job.RowsWithWarnings));
        var jp = await DbAsync(app, db => db.Leads.AsNoTracking().SingleAsync(l => l.ExternalId == "101"));
        Assert.Equal(("pipedrive", "Jean-Pierre", "Dupont", "+33611223344", LifecycleStage.Mql), (jp.ExternalSystem, jp.FirstName, jp.LastName, jp.Phone, jp.Stage));

        var headerOnly = await client.PostAsync("/api/v1/imports", Upload(Corpus("header-only.csv"), null), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, headerOnly.StatusCode);
        Assert.Contains("no data rows", await headerOnly.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        var badRegion = await client.PostAsync("/api/v1/imports", Upload(Corpus("pipedrive-people.csv"), new { phoneRegion = "XX" }), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, badRegion.StatusCode);
        Assert.Contains("phoneRegion", await badRegion.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AColumnOfTheWrongTypeIsReportedOnceWithItsCount()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var csv = "Email,Employees\n" + string.Concat(Enumerable.Range(1, 12).Select(i => $"p{i}@acme.example,about {i} hundred\n"));

        var job = await ImportAsync(client, Encoding.UTF8.GetBytes(csv));

        Assert.Equal((12, 0, 12), (job.RowsCreated, job.RowsFailed, job.RowsWithWarnings));
        var warning = Assert.Single(job.Warnings!);
        Assert.Equal(("Employees", "companySize", 12, 2), (warning.Column, warning.Field, warning.Count, warning.FirstRow));
        var stored = await DbAsync(app, db => db.ImportRowErrors.CountAsync(e => e.IsWarning));
        Assert.Equal(ImportWarnings.StoredPerColumn, stored);
    }

    [Fact]
    public async Task WebhooksKeepTheLeadWhenAFieldIsOddAndUseTheSourcesPhoneRegion()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var put = await client.PutAsJsonAsync("/api/v1/capture/settings", new { defaultPhoneRegion = "FR" }, Ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var bad = await client.PutAsJsonAsync("/api/v1/capture/settings", new { defaultPhoneRegion = "ZZ" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);

        async Task<WebhookSourceDto> SourceAsync(string preset, string? region = null)
        {
            var response = await client.PostAsJsonAsync("/api/v1/webhook-sources", new { name = preset, preset, phoneRegion = region }, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
            return (await response.Content.ReadFromJsonAsync<WebhookSourceDto>(Json, Ct))!;
        }
        var anonymous = app.CreateApiClient();
        async Task<string> PostAsync(WebhookSourceDto source, string file)
        {
            var response = await anonymous.PostAsync(source.EndpointPath, new StringContent(RealDataRulesTests.Corpus(file), Encoding.UTF8, "application/json"), Ct);
            var text = await response.Content.ReadAsStringAsync(Ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, text);
            return text;
        }

        await PostAsync(await SourceAsync("meta-lead-ads"), "meta-local-phone.json");
        await PostAsync(await SourceAsync("webflow", "DE"), "webflow-phone.json");
        await PostAsync(await SourceAsync("typeform"), "typeform-no-refs.json");
        await PostAsync(await SourceAsync("hubspot-forms-v3"), "hubspot-consent.json");
        var leads = await DbAsync(app, db => db.Leads.AsNoTracking().OrderBy(l => l.Email).ToListAsync());
        Assert.Equal(
            [("claire.martin@acme-industrie.fr", "+33612345678"), ("marc.durand@globex.example", "+49698765432"), ("sophie.bernard@initech.example", "+33655443322"),
             ("tom.leroy@umbrella.example", "+442079460018")],
            leads.Select(l => (l.Email!, l.Phone!)));
        Assert.Equal(true, leads[3].EmailOptIn);

        var odd = await SourceAsync("meta-lead-ads");
        var body = RealDataRulesTests.Corpus("meta-local-phone.json").Replace("06 55 44 33 22", "call me maybe", StringComparison.Ordinal)
            .Replace("sophie.bernard", "odd.person", StringComparison.Ordinal);
        var response = await anonymous.PostAsync(odd.EndpointPath, new StringContent(body, Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"field\":\"phone\"", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(0, await DbAsync(app, db => db.WebhookDeadLetters.CountAsync()));

        var unsigned = await client.PostAsJsonAsync("/api/v1/webhook-sources", new { name = "u", preset = "unbounce", secret = "a-secret-value" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, unsigned.StatusCode);
        Assert.Contains("secret", await unsigned.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}

public sealed class RealDataOnSqlite() : RealDataTests(DatabaseProvider.Sqlite);

public sealed class RealDataOnPostgres() : RealDataTests(DatabaseProvider.Postgres);
