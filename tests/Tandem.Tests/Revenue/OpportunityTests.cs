using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Revenue;

/// <summary>Opportunities through the API: the path SQL → opportunity → won customer, losses, reversals, rights and bad input (decision 018).</summary>
public abstract class OpportunityTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record World(TandemApp App, HttpClient Admin, Dictionary<string, HttpClient> Callers, Dictionary<string, Guid> Users);

    private static async Task<World> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Webhooks:AllowPrivateTargets"] = "true",
            ["Tandem:Webhooks:PollSeconds"] = "3600",
        });
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var callers = new Dictionary<string, HttpClient>();
        var ids = new Dictionary<string, Guid>();
        foreach (var (name, role) in new[] { ("repA", Roles.Sales), ("repB", Roles.Sales), ("managerA", Roles.SalesManager), ("managerB", Roles.SalesManager),
                     ("marketer", Roles.Marketing), ("admin", Roles.Admin) })
        {
            var (id, password) = await app.CreateUserAsync($"{name.ToLowerInvariant()}@example.com", role);
            var client = app.CreateBrowserClient();
            await TandemApp.SignInAsync(client, $"{name.ToLowerInvariant()}@example.com", password);
            callers[name] = client;
            ids[name] = id;
        }
        foreach (var (team, manager, rep) in new[] { ("Team A", "managerA", "repA"), ("Team B", "managerB", "repB") })
        {
            var response = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
                new TeamRequest(team, ids[manager], RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [new MemberRequest(ids[rep], 1)]), TandemApp.ApiJson, Ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        return new World(app, admin, callers, ids);
    }

    private static Task<Guid> LeadAsync(TandemApp app, Guid? owner, LifecycleStage stage = LifecycleStage.Sql, string company = "Acme", Guid? accountId = null) =>
        app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow;
            var lead = new Lead
            {
                Email = $"{Guid.NewGuid():N}@acme.example",
                FirstName = "Ada",
                LastName = "Buyer",
                Company = company,
                Stage = stage,
                OwnerId = owner,
                AccountId = accountId,
                CreatedAt = now,
                UpdatedAt = now,
            };
            db.Leads.Add(lead);
            await db.SaveChangesAsync(Ct);
            return lead.Id;
        });

    private static async Task<DealView> CreateAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/v1/opportunities", body, TandemApp.ApiJson, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<DealView>(TandemApp.ApiJson, Ct))!;
    }

    private static async Task<HttpResponseMessage> MoveAsync(HttpClient client, Guid deal, object body) =>
        await client.PostAsJsonAsync($"/api/v1/opportunities/{deal}/stage", body, TandemApp.ApiJson, Ct);

    private static async Task<DealView> MovedAsync(HttpClient client, Guid deal, object body)
    {
        var response = await MoveAsync(client, deal, body);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<DealView>(TandemApp.ApiJson, Ct))!;
    }

    private static async Task<Dictionary<string, string[]>> FieldErrorsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!;
    }

    [Fact]
    public async Task AnSqlBecomesAnOpportunityMovesThroughStagesAndAWinMakesACustomer()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var endpoint = await w.Admin.PostAsJsonAsync("/api/v1/webhook-endpoints", new { url = "http://127.0.0.1:9/hook", events = new[] { "deal.won" } }, Ct);
        Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);
        var repA = w.Callers["repA"];
        var leadId = await LeadAsync(app, w.Users["repA"]);

        var deal = await CreateAsync(repA, new { leadId, name = "Acme platform", amount = 12000.50m, currency = "eur", mrr = 1000m, expectedCloseOn = "2027-03-31" });
        Assert.Equal(DealStage.Qualification, deal.Stage);
        Assert.Equal("EUR", deal.Currency);
        Assert.Equal(w.Users["repA"], deal.OwnerId);
        Assert.Equal(10, deal.EffectiveProbability);

        await MovedAsync(repA, deal.Id, new { stage = "Proposal", note = "sent" });
        var won = await MovedAsync(repA, deal.Id, new { stage = "Won", winReason = "ProductFit" });
        Assert.Equal(DealStatus.Won, won.Status);
        Assert.NotNull(won.ClosedAt);
        Assert.Equal(new DealStage?[] { null, DealStage.Qualification, DealStage.Proposal }, won.History.Select(h => h.From));
        Assert.Equal(new[] { DealStage.Qualification, DealStage.Proposal, DealStage.Won }, won.History.Select(h => h.To));
        Assert.NotNull(won.AccountId);

        var (lead, transitions, account, deliveries) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var l = await db.Leads.AsNoTracking().FirstAsync(x => x.Id == leadId, Ct);
            var t = await db.StageTransitions.AsNoTracking().Where(x => x.LeadId == leadId).OrderBy(x => x.At).Select(x => x.To).ToListAsync(Ct);
            var a = await db.Accounts.AsNoTracking().FirstAsync(x => x.Id == won.AccountId, Ct);
            var d = await db.Set<WebhookDelivery>().AsNoTracking().Where(x => x.EventType == WebhookEvents.DealWon).CountAsync(Ct);
            return (l, t, a, d);
        });
        Assert.Equal(LifecycleStage.Customer, lead.Stage);
        Assert.Equal(account.Id, lead.AccountId);
        Assert.Equal([LifecycleStage.Opportunity, LifecycleStage.Customer], transitions);
        Assert.Equal("Acme", account.Name);
        Assert.True(account.IsCustomer);
        Assert.Equal(12000.50m, account.ContractValue);
        Assert.Equal(1000m, account.Mrr);
        Assert.Equal("EUR", account.ContractCurrency);
        Assert.Equal(account.ContractStartsOn!.Value.AddMonths(12), account.RenewalOn);
        Assert.Equal(1, deliveries);

        // The account page: people, deals, revenue per currency; the customers list has it.
        var view = await repA.GetFromJsonAsync<AccountView>($"/api/v1/accounts/{account.Id}", TandemApp.ApiJson, Ct);
        Assert.Equal([leadId], view!.People.Select(p => p.Id));
        Assert.Equal([deal.Id], view.Deals.Select(d => d.Id));
        Assert.Equal([new CurrencyTotal("EUR", 12000.50m, 0m, 1)], view.Revenue);
        var customers = await w.Admin.GetFromJsonAsync<Page<AccountListItem>>("/api/v1/accounts?customer=true", TandemApp.ApiJson, Ct);
        Assert.Equal([account.Id], customers!.Items.Select(a => a.Id));

        // An upsell in the same currency adds to the contract; then the customer churns.
        var upsell = await CreateAsync(repA, new { leadId, name = "More seats", amount = 3000m, currency = "EUR", mrr = 250m, kind = "Upsell", parentDealId = deal.Id });
        Assert.Equal(account.Id, upsell.AccountId);
        await MovedAsync(repA, upsell.Id, new { stage = "Won" });
        var churn = await w.Callers["managerA"].PostAsJsonAsync($"/api/v1/accounts/{account.Id}/churn", new { reason = "Went bankrupt" }, Ct);
        Assert.Equal(HttpStatusCode.OK, churn.StatusCode);
        var churned = (await churn.Content.ReadFromJsonAsync<AccountView>(TandemApp.ApiJson, Ct))!;
        Assert.False(churned.IsCustomer);
        Assert.Equal(15000.50m, churned.ContractValue);
        Assert.Equal(1250m, churned.Mrr);
        Assert.Equal([new CurrencyTotal("EUR", 15000.50m, 0m, 2)], churned.Revenue);
        Assert.Equal(HttpStatusCode.Forbidden, (await repA.PostAsJsonAsync($"/api/v1/accounts/{account.Id}/churn", new { reason = "x" }, Ct)).StatusCode);
    }

    [Fact]
    public async Task ALossRecyclesTheLeadAndALossAfterAWinTakesTheCustomerBack()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var rep = w.Callers["repA"];
        var leadId = await LeadAsync(app, w.Users["repA"]);
        var first = await CreateAsync(rep, new { leadId, name = "First", amount = 100m, currency = "USD" });
        var second = await CreateAsync(rep, new { leadId, name = "Second", amount = 200m, currency = "USD" });

        // Lost with another deal open: the lead stays an opportunity.
        await MovedAsync(rep, first.Id, new { stage = "Lost", lossReason = "Price", note = "too dear" });
        Assert.Equal(LifecycleStage.Opportunity, await StageAsync(app, leadId));
        // The last open deal lost: recycled.
        var lost = await MovedAsync(rep, second.Id, new { stage = "Lost", lossReason = "Competitor" });
        Assert.Equal(LossReason.Competitor, lost.LossReason);
        Assert.Equal(LifecycleStage.Recycled, await StageAsync(app, leadId));

        // Reopening needs a note; then won → customer; then lost after won → no customer any more.
        Assert.Contains("note", (await FieldErrorsAsync(await MoveAsync(rep, second.Id, new { stage = "Negotiation" }))).Keys);
        await MovedAsync(rep, second.Id, new { stage = "Negotiation", note = "they came back" });
        Assert.Equal(LifecycleStage.Opportunity, await StageAsync(app, leadId));
        var won = await MovedAsync(rep, second.Id, new { stage = "Won", winReason = "Relationship", note = "reopened and closed" });
        Assert.True(await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Accounts.AnyAsync(a => a.Id == won.AccountId && a.CustomerSince != null, Ct)));
        Assert.Equal(LifecycleStage.Customer, await StageAsync(app, leadId));

        await MovedAsync(rep, second.Id, new { stage = "Lost", lossReason = "NoBudget", note = "contract cancelled before start" });
        var account = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Accounts.AsNoTracking().FirstAsync(a => a.Id == won.AccountId, Ct));
        Assert.False(account.IsCustomer);
        Assert.Null(account.CustomerSince);
        Assert.Null(account.ContractValue);
        Assert.Equal(LifecycleStage.Recycled, await StageAsync(app, leadId));
        var history = await rep.GetFromJsonAsync<DealView>($"/api/v1/opportunities/{second.Id}", TandemApp.ApiJson, Ct);
        Assert.Equal(5, history!.History.Count);
    }

    private static Task<LifecycleStage> StageAsync(TandemApp app, Guid leadId) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.Where(l => l.Id == leadId).Select(l => l.Stage).FirstAsync(Ct));

    [Fact]
    public async Task EachCallerReadsAndMovesOnlyTheDealsThePolicyGivesThem()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var leadA = await LeadAsync(app, w.Users["repA"]);
        var leadB = await LeadAsync(app, w.Users["repB"]);
        var dealA = await CreateAsync(w.Admin, new { leadId = leadA, name = "A", amount = 10m, currency = "EUR", ownerId = w.Users["repA"] });
        var dealB = await CreateAsync(w.Admin, new { leadId = leadB, name = "B", amount = 10m, currency = "EUR", ownerId = w.Users["repB"] });

        // Written out by hand: read / work per caller on repA's deal and repB's deal.
        var expected = new Dictionary<string, (bool ReadA, bool WorkA, bool ReadB, bool WorkB)>
        {
            ["repA"] = (true, true, false, false),
            ["repB"] = (false, false, true, true),
            ["managerA"] = (true, true, true, false),
            ["managerB"] = (true, false, true, true),
            ["marketer"] = (true, false, true, false),
            ["admin"] = (true, true, true, true),
        };
        var failures = new List<string>();
        foreach (var (caller, (readA, workA, readB, workB)) in expected)
        {
            var client = w.Callers[caller];
            foreach (var (deal, read, work) in new[] { (dealA, readA, workA), (dealB, readB, workB) })
            {
                var get = (int)(await client.GetAsync($"/api/v1/opportunities/{deal.Id}", Ct)).StatusCode;
                if (get != (read ? 200 : 403))
                    failures.Add($"{caller} GET {deal.Name}: {get}");
                var patch = (int)(await client.PatchAsJsonAsync($"/api/v1/opportunities/{deal.Id}", new { expectedCloseOn = "2027-06-30" }, Ct)).StatusCode;
                if (patch != (work ? 200 : 403))
                    failures.Add($"{caller} PATCH {deal.Name}: {patch}");
            }
            var list = await client.GetFromJsonAsync<Page<DealListItem>>("/api/v1/opportunities?pageSize=200", TandemApp.ApiJson, Ct);
            var listed = list!.Items.Select(i => i.Name).Order().ToList();
            var want = new[] { readA ? "A" : null, readB ? "B" : null }.OfType<string>().ToList();
            if (!listed.SequenceEqual(want))
                failures.Add($"{caller} list: {string.Join(",", listed)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));

        // A rep cannot open a deal on another rep's lead; a marketer cannot open one at all; nothing is written.
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Callers["repA"].PostAsJsonAsync("/api/v1/opportunities", new { leadId = leadB, name = "X", amount = 1m, currency = "EUR" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Callers["marketer"].PostAsJsonAsync("/api/v1/opportunities", new { leadId = leadA, name = "X", amount = 1m, currency = "EUR" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await MoveAsync(w.Callers["repA"], dealB.Id, new { stage = "Won" })).StatusCode);
        Assert.Equal(2, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Deals.CountAsync(Ct)));
        Assert.Equal(DealStage.Qualification, (await w.Admin.GetFromJsonAsync<DealView>($"/api/v1/opportunities/{dealB.Id}", TandemApp.ApiJson, Ct))!.Stage);
    }

    [Fact]
    public async Task BadInputGetsFieldErrorsAndWritesNothing()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var rep = w.Callers["repA"];
        var sql = await LeadAsync(app, w.Users["repA"]);
        var mql = await LeadAsync(app, w.Users["repA"], LifecycleStage.Mql);

        async Task<Dictionary<string, string[]>> Create(string json) =>
            await FieldErrorsAsync(await rep.PostAsync("/api/v1/opportunities", new StringContent(json, Encoding.UTF8, "application/json"), Ct));

        Assert.Contains("amount", (await Create($$"""{"leadId":"{{sql}}","name":"N","amount":-5,"currency":"EUR"}""")).Keys);
        Assert.Contains("amount", (await Create($$"""{"leadId":"{{sql}}","name":"N","amount":0,"currency":"EUR"}""")).Keys);
        Assert.Contains("currency", (await Create($$"""{"leadId":"{{sql}}","name":"N","amount":5,"currency":"XYZ"}""")).Keys);
        Assert.Contains("name", (await Create($$"""{"leadId":"{{sql}}","name":"N\u0000ul","amount":5,"currency":"EUR"}""")).Keys);
        Assert.Contains("kind", (await Create($$"""{"leadId":"{{sql}}","name":"N","amount":5,"currency":"EUR","kind":7}""")).Keys);
        Assert.Contains("leadId", (await Create($$"""{"leadId":"{{mql}}","name":"N","amount":5,"currency":"EUR"}""")).Keys);
        Assert.Contains("parentDealId", (await Create($$"""{"leadId":"{{sql}}","name":"N","amount":5,"currency":"EUR","kind":"Renewal"}""")).Keys);
        Assert.Contains("probability", (await Create($$"""{"leadId":"{{sql}}","name":"N","amount":5,"currency":"EUR","probability":101}""")).Keys);

        var deal = await CreateAsync(rep, new { leadId = sql, name = "Good", amount = 5m, currency = "GBP" });
        Assert.Contains("lossReason", (await FieldErrorsAsync(await MoveAsync(rep, deal.Id, new { stage = "Lost" }))).Keys);
        Assert.Contains("stage", (await FieldErrorsAsync(await rep.PostAsync($"/api/v1/opportunities/{deal.Id}/stage",
            new StringContent("""{"stage":9}""", Encoding.UTF8, "application/json"), Ct))).Keys);
        Assert.Contains("lossReason", (await FieldErrorsAsync(await rep.PostAsync($"/api/v1/opportunities/{deal.Id}/stage",
            new StringContent("""{"stage":"Lost","lossReason":"Aliens"}""", Encoding.UTF8, "application/json"), Ct))).Keys);
        Assert.Contains("note", (await FieldErrorsAsync(await rep.PostAsync($"/api/v1/opportunities/{deal.Id}/stage",
            new StringContent("""{"stage":"Proposal","note":"a\u0000b"}""", Encoding.UTF8, "application/json"), Ct))).Keys);
        Assert.Contains("currency", (await FieldErrorsAsync(await rep.PatchAsJsonAsync($"/api/v1/opportunities/{deal.Id}", new { currency = "EURO" }, Ct))).Keys);

        var (deals, changes, mqlStage, stored) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await db.Deals.CountAsync(Ct), await db.Set<DealStageChange>().CountAsync(Ct),
                await db.Leads.Where(l => l.Id == mql).Select(l => l.Stage).FirstAsync(Ct), await db.Deals.AsNoTracking().FirstAsync(Ct));
        });
        Assert.Equal(1, deals);
        Assert.Equal(1, changes);
        Assert.Equal(LifecycleStage.Mql, mqlStage);
        Assert.Equal(DealStage.Qualification, stored.Stage);
        Assert.Equal("GBP", stored.Currency);

        // With the explicit flag an MQL gets its opportunity (history import, API) and moves to Opportunity.
        await CreateAsync(rep, new { leadId = mql, name = "Flagged", amount = 5m, currency = "EUR", anyLeadStage = true });
        Assert.Equal(LifecycleStage.Opportunity, await StageAsync(app, mql));
    }
}

public sealed class OpportunityOnSqlite() : OpportunityTests(DatabaseProvider.Sqlite);

public sealed class OpportunityOnPostgres() : OpportunityTests(DatabaseProvider.Postgres);
