using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Capture;

/// <summary>Capture through the API: create, merge, dedupe, batch, idempotency, activities and every kind of bad input.</summary>
public abstract class CaptureApiTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(TandemApp App, HttpClient Client)> StartAsync(DatabaseProvider provider, IDictionary<string, string?>? settings = null)
    {
        var app = await TandemApp.CreateAsync(provider, settings);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read)));
    }

    private static Task<int> CountAsync<T>(TandemApp app) where T : class =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<T>().CountAsync());

    [Fact]
    public async Task SameEmailMergesIntoOneLeadAndKeepsEveryActivity()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var first = await client.PostAsync("/api/v1/leads", Json("""{"email":" Claire.Martin@Acme-Industrie.fr ","firstName":"Claire","jobTitle":"DAF","utmSource":"google","utmMedium":"cpc"}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var created = await first.Content.ReadFromJsonAsync<CaptureLeadResponse>(Ct);
        Assert.True(created!.Created);
        Assert.Equal($"/api/v1/leads/{created.Id}", first.Headers.Location?.OriginalString);

        var second = await client.PostAsync("/api/v1/leads", Json("""{"email":"claire.martin@acme-industrie.fr","lastName":"Martin","company":"Acme Industrie","utmSource":"newsletter","utmMedium":"email"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var merged = await second.Content.ReadFromJsonAsync<CaptureLeadResponse>(Ct);
        Assert.Equal(created.Id, merged!.Id);
        Assert.False(merged.Created);

        var lead = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.SingleAsync());
        Assert.Equal("claire.martin@acme-industrie.fr", lead.Email);
        Assert.Equal(("Claire", "Martin", "DAF", "Acme Industrie"), (lead.FirstName, lead.LastName, lead.JobTitle, lead.Company));
        Assert.Equal(Channel.PaidSearch, lead.FirstChannel);
        Assert.Equal(Channel.Email, lead.LatestChannel);
        Assert.Equal(LifecycleStage.Lead, lead.Stage);
        Assert.NotNull(lead.AccountId);
        Assert.Equal(2, await CountAsync<Activity>(app));
        Assert.Equal(1, await CountAsync<StageTransition>(app));
        var account = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Accounts.SingleAsync());
        Assert.Equal("acme-industrie.fr", account.Domain);
    }

    [Fact]
    public async Task PhonesInAnyFormatAreTheSamePersonAndExternalIdsIdentifyToo()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var a = await (await client.PostAsync("/api/v1/leads", Json("""{"phone":"+33 6 12 34 56 78","firstName":"Luc"}"""), Ct)).Content.ReadFromJsonAsync<CaptureLeadResponse>(Ct);
        var b = await client.PostAsync("/api/v1/leads", Json("""{"phone":"06.12.34.56.78","country":"France"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, b.StatusCode);
        Assert.Equal(a!.Id, (await b.Content.ReadFromJsonAsync<CaptureLeadResponse>(Ct))!.Id);
        var lead = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.SingleAsync());
        Assert.Equal("+33612345678", lead.Phone);
        Assert.Equal("FR", lead.Country);

        var x = await client.PostAsync("/api/v1/leads", Json("""{"externalSystem":"Salesforce","externalId":"00Q5g00000AbCdE","email":"x@corp.example"}"""), Ct);
        var y = await client.PostAsync("/api/v1/leads", Json("""{"externalSystem":"salesforce","externalId":"00Q5g00000AbCdE","jobTitle":"CFO"}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, x.StatusCode);
        Assert.Equal(HttpStatusCode.OK, y.StatusCode);
        Assert.Equal(2, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task FreeMailNeverCreatesAnAccountButColleaguesShareOne()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        await client.PostAsync("/api/v1/leads", Json("""{"email":"someone@gmail.com"}"""), Ct);
        await client.PostAsync("/api/v1/leads", Json("""{"email":"a@globex.example","company":"Globex"}"""), Ct);
        await client.PostAsync("/api/v1/leads", Json("""{"email":"b@globex.example"}"""), Ct);

        var leads = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().ToListAsync());
        Assert.Null(leads.Single(l => l.Email == "someone@gmail.com").AccountId);
        var globex = leads.Where(l => l.Email!.EndsWith("@globex.example", StringComparison.Ordinal)).Select(l => l.AccountId).Distinct().ToList();
        Assert.Single(globex);
        Assert.NotNull(globex[0]);
        Assert.Equal(1, await CountAsync<Account>(app));
    }

    [Fact]
    public async Task ConsentCampaignAndCustomFieldsAreKept()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var campaignId = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var c = new Campaign { Name = "Webinar DAF", Channel = Channel.Events, UtmCampaign = "webinar-daf-2026", CreatedAt = DateTimeOffset.UtcNow };
            db.Campaigns.Add(c);
            db.CustomFieldDefinitions.Add(new CustomFieldDefinition { Key = "employeesInFinance", Label = "Employees in finance", Type = CustomFieldType.Number, CreatedAt = DateTimeOffset.UtcNow });
            await db.SaveChangesAsync();
            return c.Id;
        });

        var response = await client.PostAsync("/api/v1/leads", Json("""
            {"email":"paul@initech.example","utmCampaign":"WEBINAR-DAF-2026","utmSource":"linkedin","utmMedium":"paid_social",
             "consent":{"emailOptIn":true,"doNotCall":true,"text":"I agree to receive emails"},
             "customFields":{"employeesInFinance":"12"}}
            """), Ct);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var lead = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.SingleAsync());
        Assert.Equal(campaignId, lead.FirstCampaignId);
        Assert.Equal(Channel.Events, lead.FirstChannel);
        Assert.True(lead.EmailOptIn);
        Assert.True(lead.DoNotCall);
        Assert.False(lead.DoNotEmail);
        Assert.Contains("I agree", lead.ConsentSource, StringComparison.Ordinal);
        Assert.Equal(12m, JsonDocument.Parse(lead.CustomFields!).RootElement.GetProperty("employeesInFinance").GetDecimal());

        var bad = await client.PostAsync("/api/v1/leads", Json("""{"email":"q@initech.example","customFields":{"employeesInFinance":"lots","shoeSize":"44"},"campaignId":"0193f0b2-0000-7000-8000-000000000000"}"""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!;
        Assert.Contains("customFields.employeesInFinance", errors.Keys);
        Assert.Contains("customFields.shoeSize", errors.Keys);
        Assert.Contains("campaignId", errors.Keys);
        Assert.Equal(1, await CountAsync<Lead>(app));
    }

    [Theory]
    [InlineData("""{"firstName":"No identifier"}""", "email")]
    [InlineData("""{"email":"not-an-email"}""", "email")]
    [InlineData("""{"email":"a@b.example","phone":"12"}""", "phone")]
    [InlineData("""{"phone":"0612345678"}""", "phone")]
    [InlineData("""{"email":"a@b.example","companySize":"lots"}""", "companySize")]
    [InlineData("""{"email":"a@b.example","firstName":42}""", "firstName")]
    [InlineData("""{"email":"a@b.example","favouriteColour":"blue"}""", "favouriteColour")]
    [InlineData("""{"email":"a@b.example","country":"Atlantis"}""", "country")]
    [InlineData("""{"email":"a@b.example","externalId":"123"}""", "externalSystem")]
    [InlineData("""{"email":"a@b.example","consent":{"emailOptIn":"maybe"}}""", "consent.emailOptIn")]
    [InlineData("""["not","an","object"]""", "")]
    public async Task InvalidLeadsGetFieldErrorsAndWriteNothing(string body, string field)
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var response = await client.PostAsync("/api/v1/leads", Json(body), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemShape>(Ct);
        Assert.Contains(field, problem!.Errors!.Keys);
        Assert.Equal(0, await CountAsync<Lead>(app));
        Assert.Equal(0, await CountAsync<Activity>(app));
    }

    [Fact]
    public async Task OverLongFieldsAreRejectedWithTheDocumentedLimit()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var body = JsonSerializer.Serialize(new { email = "a@b.example", firstName = new string('x', 101), company = new string('y', 201) });
        var problem = await (await client.PostAsync("/api/v1/leads", Json(body), Ct)).Content.ReadFromJsonAsync<ProblemShape>(Ct);
        Assert.Equal(["At most 100 characters."], problem!.Errors!["firstName"]);
        Assert.Equal(["At most 200 characters."], problem.Errors["company"]);
        Assert.Equal(0, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task MalformedBodiesWrongTypesAndOversizedBodiesAreProblemDetails()
    {
        var (app, client) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:Api:MaxRequestBodyBytes"] = "4096" });
        await using var _ = app;

        var malformed = await client.PostAsync("/api/v1/leads", Json("""{"email":"a@b.example","""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);

        var invalidUtf8 = new ByteArrayContent([0x7B, 0x22, 0x65, 0x6D, 0x61, 0x69, 0x6C, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D]);
        invalidUtf8.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var utf8 = await client.PostAsync("/api/v1/leads", invalidUtf8, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, utf8.StatusCode);

        var form = await client.PostAsync("/api/v1/leads", new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "a@b.example" }), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        Assert.Equal("application/problem+json", form.Content.Headers.ContentType?.MediaType);

        var big = JsonSerializer.Serialize(new { email = "a@b.example", landingPage = new string('x', 5000) });
        var tooLarge = await client.PostAsync("/api/v1/leads", Json(big), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);

        Assert.Equal(0, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task BatchReportsEachItemAndABadItemNeverStopsTheOthers()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        await client.PostAsync("/api/v1/leads", Json("""{"email":"known@corp.example"}"""), Ct);

        var response = await client.PostAsync("/api/v1/leads/batch", Json("""
            {"items":[
              {"email":"new1@corp.example","firstName":"Ana"},
              {"email":"broken"},
              {"email":"known@corp.example","jobTitle":"CFO"},
              {"email":"new1@corp.example","lastName":"Silva"},
              {"email":"x@corp.example","unknownField":1}
            ]}
            """), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<BatchResponse>(Ct);
        Assert.Equal(["created", "invalid", "merged", "merged", "invalid"], result!.Items.Select(i => i.Status).ToArray());
        Assert.Equal(result.Items[0].Id, result.Items[3].Id);
        Assert.Contains("email", result.Items[1].Errors!.Keys);
        Assert.Contains("unknownField", result.Items[4].Errors!.Keys);
        Assert.Equal((1, 2, 2), (result.Created, result.Merged, result.Invalid));

        var leads = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().OrderBy(l => l.Email).ToListAsync());
        Assert.Equal(["known@corp.example", "new1@corp.example"], leads.Select(l => l.Email).ToArray());
        Assert.Equal(("Ana", "Silva"), (leads[1].FirstName, leads[1].LastName));
        Assert.Equal("CFO", leads[0].JobTitle);
    }

    [Fact]
    public async Task LargeBatchesTakeTheBulkPathWithTheSameResults()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        await client.PostAsync("/api/v1/leads", Json("""{"email":"lead7@bulk.example","jobTitle":"Intern"}"""), Ct);
        // 300 items: 250 distinct people (one already known), 50 repeats, one invalid, all over 40 company domains.
        var items = Enumerable.Range(0, 300).Select(i => i == 299
            ? (object)new { email = "broken" }
            : new { email = $"lead{i % 250}@bulk.example", firstName = $"F{i}", company = $"Co {i % 40}", jobTitle = "CFO", utmSource = "google", utmMedium = "cpc" });
        var response = await client.PostAsync("/api/v1/leads/batch", Json(JsonSerializer.Serialize(new { items })), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<BatchResponse>(Ct);
        Assert.Equal((249, 50, 1), (result!.Created, result.Merged, result.Invalid));

        var (leads, activities, transitions, cfo, paid) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await db.Leads.CountAsync(), await db.Activities.CountAsync(), await db.StageTransitions.CountAsync(),
                await db.Leads.CountAsync(l => l.JobTitle == "CFO" && l.AccountId != null),
                await db.Leads.CountAsync(l => l.FirstChannel == Channel.PaidSearch && l.LatestChannel == Channel.PaidSearch));
        });
        Assert.Equal(250, leads);
        Assert.Equal(1 + 299, activities);
        Assert.Equal(250, transitions);
        Assert.Equal(250, cfo);
        Assert.Equal(249, paid); // the lead known before the batch keeps its first touch (direct)
        var lead0 = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.SingleAsync(l => l.Email == "lead0@bulk.example"));
        Assert.Equal("F250", lead0.FirstName);
        Assert.Equal(1, await CountAsync<Account>(app));
    }

    [Fact]
    public async Task BatchOverTheLimitIsRefusedWhole()
    {
        var (app, client) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:Api:MaxRequestBodyBytes"] = "10000000" });
        await using var _ = app;
        var items = Enumerable.Range(0, CaptureApi.MaxBatchItems + 1).Select(i => new { email = $"l{i}@corp.example" });
        var response = await client.PostAsync("/api/v1/leads/batch", Json(JsonSerializer.Serialize(new { items })), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("items", (await response.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
        Assert.Equal(0, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task IdempotencyKeyReplaysTheAnswerAndRefusesADifferentBody()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        async Task<HttpResponseMessage> PostAsync(string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/leads") { Content = Json(body) };
            request.Headers.Add("Idempotency-Key", "order-42");
            return await client.SendAsync(request, Ct);
        }

        var first = await PostAsync("""{"email":"once@corp.example"}""");
        var again = await PostAsync("""{"email":"once@corp.example"}""");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(Ct), await again.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1, await CountAsync<Activity>(app));

        var different = await PostAsync("""{"email":"other@corp.example"}""");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, different.StatusCode);
        Assert.Equal("application/problem+json", different.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task ConcurrentSubmissionsOfOneNewPersonMakeOneLead()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
            client.PostAsync("/api/v1/leads", Json($$"""{"email":"race@corp.example","utmContent":"v{{i}}"}"""), Ct)));

        Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.Created or HttpStatusCode.OK, r.StatusCode.ToString()));
        Assert.Equal(1, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.Equal(1, await CountAsync<Lead>(app));
        Assert.Equal(16, await CountAsync<Activity>(app));
        Assert.Equal(1, await CountAsync<Account>(app));
    }

    [Fact]
    public async Task ActivitiesAttachToExistingLeadsOnly()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var lead = await (await client.PostAsync("/api/v1/leads", Json("""{"email":"act@corp.example"}"""), Ct)).Content.ReadFromJsonAsync<CaptureLeadResponse>(Ct);

        var ok = await client.PostAsync("/api/v1/activities", Json("""{"email":"ACT@corp.example","type":"demoRequest","url":"https://tandem.example/demo","properties":{"plan":"pro"}}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);
        var byId = await client.PostAsync("/api/v1/activities", Json($$"""{"leadId":"{{lead!.Id}}","type":"Webinar","utmMedium":"email","utmSource":"newsletter"}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, byId.StatusCode);

        var unknown = await client.PostAsync("/api/v1/activities", Json("""{"email":"ghost@corp.example","type":"pageView"}"""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("leadId", (await unknown.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
        var badType = await client.PostAsync("/api/v1/activities", Json("""{"email":"act@corp.example","type":"teleport"}"""), Ct);
        Assert.Contains("type", (await badType.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);

        var batch = await client.PostAsync("/api/v1/activities/batch", Json("""{"items":[{"email":"act@corp.example","type":"emailOpen"},{"email":"ghost@corp.example","type":"emailOpen"}]}"""), Ct);
        var result = await batch.Content.ReadFromJsonAsync<BatchResponse>(Ct);
        Assert.Equal(["created", "invalid"], result!.Items.Select(i => i.Status).ToArray());

        var detail = await client.GetFromJsonAsync<JsonElement>($"/api/v1/leads/{lead.Id}", Ct);
        var types = detail.GetProperty("timeline").EnumerateArray().Select(t => t.GetProperty("type").GetString()).ToList();
        Assert.Contains("DemoRequest", types);
        Assert.Contains("Webinar", types);
        Assert.Contains("EmailOpen", types);
        Assert.Equal(4, types.Count);
    }

    [Fact]
    public async Task KeyLookupsReadThroughTheIndexAndLeaveTheSessionAsItWas()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var created = await client.PostAsync("/api/v1/leads", Json("""{"email":"plan@corp.example","firstName":"Ana"}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var (found, mode) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            await db.Database.OpenConnectionAsync(Ct);
            string[] emails = ["plan@corp.example", "nobody@corp.example"];
            // Several runs: past the five after which PostgreSQL considers a generic plan.
            var rows = 0;
            for (var i = 0; i < 7; i++)
                rows = (await db.Leads.TagWith(Tandem.Data.KeyLookup.Tag).Where(l => l.Email != null && emails.Contains(l.Email)).ToListAsync(Ct)).Count;
            var setting = db.Database.IsNpgsql()
                ? await db.Database.SqlQueryRaw<string>("SELECT current_setting('enable_seqscan') AS \"Value\"").SingleAsync(Ct)
                : "on";
            return (rows, setting);
        });
        Assert.Equal(1, found);
        Assert.Equal("on", mode);
        // The merge path reads the lead through the same tagged lookup.
        var merged = await client.PostAsync("/api/v1/leads", Json("""{"email":"plan@corp.example","lastName":"Lopes"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, merged.StatusCode);
    }
}

public sealed class CaptureApiOnSqlite() : CaptureApiTests(DatabaseProvider.Sqlite);

public sealed class CaptureApiOnPostgres() : CaptureApiTests(DatabaseProvider.Postgres);
