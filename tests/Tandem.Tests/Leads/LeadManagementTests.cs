using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Leads;

/// <summary>Lead list filters and sort, campaigns write API, duplicates, manual merge and the lead page's encoding.</summary>
public abstract class LeadManagementTests(DatabaseProvider provider)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(TandemApp App, HttpClient Client)> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read)));
    }

    private static async Task<Guid> CaptureAsync(HttpClient client, string json)
    {
        var response = await client.PostAsync("/api/v1/leads", Json(json), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<CaptureLeadResponse>(JsonOptions, Ct))!.Id;
    }

    private static Task<T> DbAsync<T>(TandemApp app, Func<TandemDb, Task<T>> action) =>
        app.WithServiceAsync(sp => action(sp.GetRequiredService<TandemDb>()));

    private static async Task<List<Guid>> ListAsync(HttpClient client, string query) =>
        [.. (await client.GetFromJsonAsync<LeadPage>($"/api/v1/leads?{query}", JsonOptions, Ct))!.Items.Select(i => i.Id)];

    [Fact]
    public async Task LeadListFiltersSortsAndPagesOnTheServer()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var campaign = await client.PostAsJsonAsync("/api/v1/campaigns", new { name = "Spring", channel = "Email", utmCampaign = "spring" }, Ct);
        Assert.Equal(HttpStatusCode.Created, campaign.StatusCode);
        var campaignId = (await campaign.Content.ReadFromJsonAsync<CampaignDetail>(JsonOptions, Ct))!.Id;
        var a = await CaptureAsync(client, """{"email":"anna@alpha.example","firstName":"Anna","lastName":"Zola","company":"Alpha","utmSource":"google","utmMedium":"cpc","occurredAt":"2026-01-10T10:00:00Z"}""");
        var b = await CaptureAsync(client, """{"email":"bob@beta.example","firstName":"Bob","lastName":"Martin","company":"Beta","utmCampaign":"spring","occurredAt":"2026-02-10T10:00:00Z"}""");
        var c = await CaptureAsync(client, """{"email":"carl@gamma.example","firstName":"Carl","lastName":"marchand","company":"Gamma","occurredAt":"2026-03-10T10:00:00Z"}""");
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var persona = await DbAsync(app, async db =>
        {
            var p = new Persona { Name = "CFO" };
            db.Personas.Add(p);
            await db.SaveChangesAsync(Ct);
            await db.Leads.Where(l => l.Id == a).ExecuteUpdateAsync(s => s.SetProperty(l => l.FitScore, 80).SetProperty(l => l.EngagementScore, 10).SetProperty(l => l.PersonaId, p.Id).SetProperty(l => l.OwnerId, rep), Ct);
            await db.Leads.Where(l => l.Id == b).ExecuteUpdateAsync(s => s.SetProperty(l => l.FitScore, 40).SetProperty(l => l.EngagementScore, 60).SetProperty(l => l.Stage, LifecycleStage.Mql), Ct);
            return p.Id;
        });

        Assert.Equal([c, b, a], await ListAsync(client, ""));
        Assert.Equal([a, b, c], await ListAsync(client, "sort=created"));
        Assert.Equal([c, b, a], await ListAsync(client, "sort=name"));
        Assert.Equal([a, b, c], await ListAsync(client, "sort=-name"));
        Assert.Equal([a, b, c], await ListAsync(client, "sort=company"));
        Assert.Equal([a, b, c], await ListAsync(client, "sort=-fit"));
        Assert.Equal([b, a, c], await ListAsync(client, "sort=-engagement"));
        Assert.Equal(b, (await ListAsync(client, "sort=-stage"))[0]);
        Assert.Equal([b], await ListAsync(client, "stage=Mql"));
        Assert.Equal([a], await ListAsync(client, $"ownerId={rep}"));
        Assert.Equal([a], await ListAsync(client, "channel=PaidSearch"));
        Assert.Equal([b], await ListAsync(client, $"campaignId={campaignId}"));
        Assert.Equal([a], await ListAsync(client, $"personaId={persona}"));
        Assert.Equal([b, a], await ListAsync(client, "minFit=40"));
        Assert.Equal([b], await ListAsync(client, "minEngagement=50"));
        Assert.Equal([b], await ListAsync(client, "createdFrom=2026-02-01T00:00:00Z&createdTo=2026-03-01T00:00:00Z"));
        Assert.Equal([c, b], await ListAsync(client, "search=MAR"));
        Assert.Equal([a], await ListAsync(client, "search=anna@"));
        Assert.Equal([c], await ListAsync(client, "search=gam"));

        var paged = await client.GetFromJsonAsync<LeadPage>("/api/v1/leads?page=2&pageSize=2", JsonOptions, Ct);
        Assert.Equal([a], paged!.Items.Select(i => i.Id));
        Assert.Equal(3, paged.TotalCount);
        Assert.False(paged.TotalIsCapped);

        var bad = await client.GetAsync("/api/v1/leads?sort=shoeSize", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("sort", (await bad.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys);
        var backwards = await client.GetAsync("/api/v1/leads?createdFrom=2026-03-01T00:00:00Z&createdTo=2026-01-01T00:00:00Z", Ct);
        Assert.Contains("createdTo", (await backwards.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys);
    }

    [Fact]
    public async Task CampaignsAreCreatedEditedAndGetSpendLinesWithFieldErrors()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;

        var invalid = await client.PostAsJsonAsync("/api/v1/campaigns",
            new { name = "", channel = "Pigeon", startsOn = "2026-05-01", endsOn = "2026-04-01", budget = -1, currency = "EURO" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!;
        Assert.Equal(["budget", "channel", "currency", "endsOn", "name"], errors.Keys.Order(StringComparer.Ordinal));

        var created = await client.PostAsJsonAsync("/api/v1/campaigns",
            new { name = "Webinar Q2", channel = "Events", startsOn = "2026-04-01", endsOn = "2026-06-30", budget = 5000, currency = "eur", utmCampaign = "webinar-q2" }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var campaign = (await created.Content.ReadFromJsonAsync<CampaignDetail>(JsonOptions, Ct))!;
        Assert.Equal(("EUR", Channel.Events, CampaignStatus.Draft), (campaign.Currency, campaign.Channel, campaign.Status));

        var other = await client.PostAsJsonAsync("/api/v1/campaigns", new { name = "Other", channel = "Email", utmCampaign = "webinar-q2" }, Ct);
        Assert.Contains("utmCampaign", (await other.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys);

        var updated = await client.PutAsJsonAsync($"/api/v1/campaigns/{campaign.Id}",
            new { name = "Webinar Q2 (FR)", channel = "Events", status = "Active", budget = 6000, currency = "EUR", utmCampaign = "webinar-q2" }, Ct);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var stored = await DbAsync(app, db => db.Campaigns.AsNoTracking().SingleAsync(Ct));
        Assert.Equal(("Webinar Q2 (FR)", CampaignStatus.Active, 6000m), (stored.Name, stored.Status, stored.Budget));
        Assert.Equal(HttpStatusCode.NotFound, (await client.PutAsJsonAsync($"/api/v1/campaigns/{Guid.CreateVersion7()}", new { name = "x", channel = "Email" }, Ct)).StatusCode);

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var badSpend = await client.PostAsJsonAsync($"/api/v1/campaigns/{campaign.Id}/spend", new { on = today.AddYears(5), amount = 0, note = new string('x', 501) }, Ct);
        Assert.Equal(["amount", "note", "on"], (await badSpend.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys.Order(StringComparer.Ordinal));
        var spend = await client.PostAsJsonAsync($"/api/v1/campaigns/{campaign.Id}/spend", new { on = today, amount = 1250.50m, note = "Speaker fee" }, Ct);
        Assert.Equal(HttpStatusCode.Created, spend.StatusCode);
        var line = (await spend.Content.ReadFromJsonAsync<SpendLine>(JsonOptions, Ct))!;
        await client.PostAsJsonAsync($"/api/v1/campaigns/{campaign.Id}/spend", new { on = today, amount = 100m }, Ct);
        Assert.Equal(1350.50m, (await client.GetFromJsonAsync<CampaignDetail>($"/api/v1/campaigns/{campaign.Id}", JsonOptions, Ct))!.Spent);

        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/api/v1/campaigns/{campaign.Id}/spend/{line.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.DeleteAsync($"/api/v1/campaigns/{campaign.Id}/spend/{line.Id}", Ct)).StatusCode);
        Assert.Equal(100m, (await client.GetFromJsonAsync<CampaignDetail>($"/api/v1/campaigns/{campaign.Id}", JsonOptions, Ct))!.Spent);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync($"/api/v1/campaigns/{Guid.CreateVersion7()}/spend", new { on = today, amount = 1 }, Ct)).StatusCode);
        var audit = await DbAsync(app, db => db.AuditEntries.Select(a => a.Action).ToListAsync(Ct));
        Assert.Contains("campaign.created", audit);
        Assert.Contains("campaign.spend-deleted", audit);
    }

    [Fact]
    public async Task DuplicatesAreFoundByNameAndCompanyOrNameAndAccount()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var a = await CaptureAsync(client, """{"email":"claire@acme.example","firstName":"Claire","lastName":"Martin","company":"Acme"}""");
        var b = await CaptureAsync(client, """{"email":"claire.martin@gmail.com","firstName":"claire","lastName":"MARTIN","company":"ACME"}""");
        var c = await CaptureAsync(client, """{"email":"luc@initech.example","firstName":"Luc","lastName":"Petit","company":"Initech"}""");
        var d = await CaptureAsync(client, """{"email":"l.petit@initech.example","firstName":"Luc","lastName":"Petit","company":"Initech SAS"}""");
        await CaptureAsync(client, """{"email":"other@acme.example","firstName":"Paul","lastName":"Martin","company":"Acme"}""");

        var groups = await client.GetFromJsonAsync<List<DuplicateGroup>>("/api/v1/leads/duplicates", JsonOptions, Ct);
        Assert.Equal(2, groups!.Count);
        var byCompany = Assert.Single(groups, g => g.Kind == DuplicateKind.NameAndCompany);
        Assert.Equal([a, b], byCompany.Leads.Select(l => l.Id).Order());
        var byAccount = Assert.Single(groups, g => g.Kind == DuplicateKind.NameAndAccount);
        Assert.Equal([c, d], byAccount.Leads.Select(l => l.Id).Order());
    }

    [Fact]
    public async Task MergeMovesEverythingKeepsIdentifiersAuditsAndDeletesTheOtherLead()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var survivor = await CaptureAsync(client, """{"email":"claire@acme.example","firstName":"Claire","lastName":"Martin","company":"Acme","jobTitle":"CFO"}""");
        var other = await CaptureAsync(client, """{"email":"claire.martin@gmail.com","phone":"+33612345678","firstName":"Claire","lastName":"Martin","company":"Acme","jobTitle":"DAF","city":"Lyon"}""");
        await client.PostAsync("/api/v1/activities", Json($$"""{"leadId":"{{other}}","type":"PageView","url":"https://acme.example/pricing"}"""), Ct);
        await DbAsync(app, async db =>
        {
            db.Deals.Add(new Deal { Name = "Acme deal", LeadId = other, Amount = 1000 });
            return await db.SaveChangesAsync(Ct);
        });

        var self = await client.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = survivor }, Ct);
        Assert.Contains("mergeId", (await self.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys);
        var unknown = await client.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = Guid.CreateVersion7() }, Ct);
        Assert.Contains("mergeId", (await unknown.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsJsonAsync($"/api/v1/leads/{Guid.CreateVersion7()}/merge", new { mergeId = other }, Ct)).StatusCode);
        var badChoice = await client.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = other, fieldChoices = new { shoeSize = "merged", jobTitle = "both" } }, Ct);
        Assert.Equal(["fieldChoices.jobTitle", "fieldChoices.shoeSize"], (await badChoice.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys.Order(StringComparer.Ordinal));

        var merged = await client.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = other, fieldChoices = new { jobTitle = "merged" } }, Ct);
        Assert.Equal(HttpStatusCode.OK, merged.StatusCode);
        var result = (await merged.Content.ReadFromJsonAsync<MergeResponse>(JsonOptions, Ct))!;
        Assert.Equal((2, 1, 1), (result.ActivitiesMoved, result.StageTransitionsMoved, result.DealsMoved));

        var lead = await DbAsync(app, db => db.Leads.SingleAsync(Ct));
        Assert.Equal(survivor, lead.Id);
        Assert.Equal(("claire@acme.example", "+33612345678", "DAF", "Lyon"), (lead.Email, lead.Phone, lead.JobTitle, lead.City));
        Assert.Contains("jobTitle", lead.ManualFields);
        Assert.Equal(3, await DbAsync(app, db => db.Activities.CountAsync(x => x.LeadId == survivor, Ct)));
        Assert.Equal(survivor, await DbAsync(app, db => db.Deals.Select(x => x.LeadId).SingleAsync(Ct)));
        var audit = await DbAsync(app, db => db.AuditEntries.SingleAsync(x => x.Action == "lead.merged", Ct));
        Assert.Equal(survivor.ToString(), audit.EntityId);
        Assert.Contains($"merged={other}", audit.Details, StringComparison.Ordinal);
        Assert.Contains("jobTitle:merged", audit.Details, StringComparison.Ordinal);
        Assert.Equal("API key 'test key'", audit.Actor);
    }

    [Fact]
    public async Task MergingWhileCapturesAndActivitiesArriveLeavesNoHistoryWithoutItsLead()
    {
        // Activities and stage transitions have no foreign key to their lead (decision 009): the writers keep them attached.
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        for (var round = 0; round < 4; round++)
        {
            var survivor = await CaptureAsync(client, $$"""{"email":"keep{{round}}@acme.example","lastName":"Martin","company":"Acme"}""");
            var other = await CaptureAsync(client, $$"""{"email":"gone{{round}}@acme.example","lastName":"Martin","company":"Acme"}""");
            var traffic = Enumerable.Range(0, 10).Select(i => i % 2 == 0
                ? client.PostAsync("/api/v1/leads", Json($$"""{"email":"gone{{round}}@acme.example","utmSource":"google","utmMedium":"cpc"}"""), Ct)
                : client.PostAsync("/api/v1/activities", Json($$"""{"email":"gone{{round}}@acme.example","type":"PageView","url":"https://acme.example/{{i}}"}"""), Ct));
            var merge = client.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = other }, Ct);
            var responses = await Task.WhenAll(traffic.Append(merge));
            Assert.Equal(HttpStatusCode.OK, responses[^1].StatusCode);
            foreach (var response in responses)
                Assert.True((int)response.StatusCode < 500, $"{response.RequestMessage!.RequestUri}: {await response.Content.ReadAsStringAsync(Ct)}");
            Assert.False(await DbAsync(app, db => db.Leads.AnyAsync(l => l.Id == other, Ct)));
        }
        Assert.Equal(0, await DbAsync(app, db => db.Activities.CountAsync(a => !db.Leads.Any(l => l.Id == a.LeadId), Ct)));
        Assert.Equal(0, await DbAsync(app, db => db.StageTransitions.CountAsync(t => !db.Leads.Any(l => l.Id == t.LeadId), Ct)));
        Assert.Equal(0, await DbAsync(app, db => db.Leads.CountAsync(l => l.AccountId != null && !db.Accounts.Any(a => a.Id == l.AccountId), Ct)));
    }

    [Fact]
    public async Task AFailingMergeLeavesBothLeadsIntact()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var survivor = await CaptureAsync(client, """{"email":"a@acme.example","firstName":"Claire","lastName":"Martin"}""");
        var other = await CaptureAsync(client, """{"email":"b@acme.example","firstName":"Claire","lastName":"Martin"}""");
        // The audit row is the merge's last write: make the database refuse it, after activities moved and the other lead was deleted.
        await DbAsync(app, async db =>
        {
            if (app.Provider == DatabaseProvider.Sqlite)
                await db.Database.ExecuteSqlRawAsync("""CREATE TRIGGER refuse_audit BEFORE INSERT ON "AuditEntries" BEGIN SELECT RAISE(ABORT, 'refused'); END;""", Ct);
            else
            {
                await db.Database.ExecuteSqlRawAsync("""CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ LANGUAGE plpgsql;""", Ct);
                await db.Database.ExecuteSqlRawAsync("""CREATE TRIGGER refuse_audit BEFORE INSERT ON "AuditEntries" FOR EACH ROW EXECUTE FUNCTION refuse_audit();""", Ct);
            }
            return 0;
        });

        var response = await client.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = other }, Ct);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);

        Assert.Equal(2, await DbAsync(app, db => db.Leads.CountAsync(Ct)));
        Assert.Equal(1, await DbAsync(app, db => db.Activities.CountAsync(x => x.LeadId == other, Ct)));
        Assert.Equal("b@acme.example", await DbAsync(app, db => db.Leads.Where(l => l.Id == other).Select(l => l.Email).SingleAsync(Ct)));
    }

    [Fact]
    public async Task EditingAProfileByHandMarksTheFieldsAndAutomaticMergesKeepThem()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var id = await CaptureAsync(client, """{"email":"claire@acme.example","firstName":"Claire","jobTitle":"DAF","country":"FR"}""");
        var actor = new Actor(null, "tester");

        var errors = await DbAsync(app, db => EditLeadProfile.SaveAsync(db, id, new LeadProfileInput("Claire", null, new string('x', 151), null, -1, null, "Atlantis", null, null, "12"), actor, DateTimeOffset.UtcNow, Ct));
        Assert.Equal(["companySize", "country", "jobTitle", "phone"], errors!.Keys.Order(StringComparer.Ordinal));

        errors = await DbAsync(app, db => EditLeadProfile.SaveAsync(db, id, new LeadProfileInput("Claire", "Martin", "CFO", "Acme", 120, null, "FR", null, null, "06 12 34 56 78"), actor, DateTimeOffset.UtcNow, Ct));
        Assert.Empty(errors!);
        await CaptureAsync(client, """{"email":"claire@acme.example","jobTitle":"Accountant","city":"Lyon"}""");

        var lead = await DbAsync(app, db => db.Leads.SingleAsync(Ct));
        Assert.Equal(("CFO", "+33612345678", "Lyon"), (lead.JobTitle, lead.Phone, lead.City));
        Assert.Equal(["company", "companySize", "jobTitle", "lastName", "phone"], lead.ManualFields.Order(StringComparer.Ordinal));
        Assert.Contains("fields=", await DbAsync(app, db => db.AuditEntries.Where(a => a.Action == "lead.edited").Select(a => a.Details).SingleAsync(Ct)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LeadPageRendersDataEncoded()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var id = await CaptureAsync(client, """{"email":"x@evil.example","firstName":"<script>alert(1)</script>","company":"<b>Bold</b>","landingPage":"https://evil.example/?q=<img src=x onerror=alert(1)>"}""");
        // A marketer reads every lead (a rep would only see their own: decision 010).
        var (_, password) = await app.CreateUserAsync("marketer@example.com", Roles.Marketing);
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "marketer@example.com", password);

        var response = await browser.GetAsync($"/leads/{id}", Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert(1)</script>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>Bold</b>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img src=x", html, StringComparison.Ordinal);

        var list = await browser.GetAsync("/leads", Ct);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync($"/leads/{Guid.CreateVersion7()}", Ct)).StatusCode);
    }

    [Fact]
    public async Task SalesRepsCannotOpenTheDuplicatesPage()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (_, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "rep@example.com", password);
        var response = await browser.GetAsync("/leads/duplicates", Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/access-denied", TandemApp.RedirectPath(response), StringComparison.Ordinal);
    }
}

public sealed class LeadManagementOnSqlite() : LeadManagementTests(DatabaseProvider.Sqlite);

public sealed class LeadManagementOnPostgres() : LeadManagementTests(DatabaseProvider.Postgres);

/// <summary>Pure merge and list rules, no database.</summary>
public sealed class MergeRulesTests
{
    [Fact]
    public void ApplyFillsGapsTakesChosenValuesKeepsStricterConsentAndEarliestFirstTouch()
    {
        var survivor = new Lead { Email = "a@x.example", FirstName = "Claire", JobTitle = "CFO", EmailOptIn = true, FirstTouchAt = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero) };
        var merged = new Lead
        {
            Email = "b@x.example",
            Phone = "+33612345678",
            JobTitle = "DAF",
            City = "Lyon",
            DoNotCall = true,
            EmailOptIn = false,
            FirstTouchAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
            FirstSource = "google"
        };
        Assert.Equal([new FieldDifference("jobTitle", "CFO", "DAF")], MergeLeads.Differences(survivor, merged));

        var errors = new FieldErrors();
        MergeLeads.Apply(survivor, merged, new Dictionary<string, string> { ["jobTitle"] = MergeLeads.TakeMerged }, errors);

        Assert.False(errors.Any);
        Assert.Equal(("a@x.example", "+33612345678", "DAF", "Lyon"), (survivor.Email, survivor.Phone, survivor.JobTitle, survivor.City));
        Assert.Equal((true, false, "google"), (survivor.DoNotCall, survivor.EmailOptIn, survivor.FirstSource));
        Assert.Equal(["jobTitle"], survivor.ManualFields);
    }

    [Theory]
    [InlineData(null, LeadSort.CreatedDesc)]
    [InlineData("name", LeadSort.NameAsc)]
    [InlineData("-fit", LeadSort.FitDesc)]
    [InlineData("Engagement", LeadSort.EngagementAsc)]
    public void SortKeysParse(string? value, LeadSort expected) => Assert.Equal(expected, LeadsApi.ParseSort(value).Sort);

    [Fact]
    public void UnknownSortIsAnError() => Assert.NotNull(LeadsApi.ParseSort("-shoeSize").Error);

    [Fact]
    public void PrefixUpperBoundIsTheNextString() => Assert.Equal("mas", LeadsApi.PrefixUpperBound("mar"));
}
