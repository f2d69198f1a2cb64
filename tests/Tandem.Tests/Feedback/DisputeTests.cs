using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Feedback;

/// <summary>
/// Disputes on real databases: marketing contests a rejection and a sales manager of the lead's team resolves it; sales contests an
/// MQL it received and marketing resolves it. Bad input (no comment, a lead never dispositioned or never MQL, the wrong side
/// resolving, resolving twice) is refused with nothing written; the outcomes move the lead (back to the inbox, recycled), notify the
/// other side, publish webhooks, are audited and counted in the scorecard.
/// </summary>
public abstract class DisputeTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private sealed record World(TandemApp App, HttpClient Admin, Dictionary<string, HttpClient> Callers, Dictionary<string, Guid> Users, Guid CampaignId);

    private static async Task<World> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:PollMilliseconds"] = "3600000",
            ["Tandem:Webhooks:AllowPrivateTargets"] = "true",
            ["Tandem:Webhooks:RunDispatcher"] = "false",
        });
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var callers = new Dictionary<string, HttpClient>();
        var users = new Dictionary<string, Guid>();
        foreach (var (name, role) in new[] { ("rep", Roles.Sales), ("otherRep", Roles.Sales), ("managerA", Roles.SalesManager), ("managerB", Roles.SalesManager),
                     ("marketer", Roles.Marketing) })
        {
            var (id, password) = await app.CreateUserAsync($"{name.ToLowerInvariant()}@example.com", role);
            var client = app.CreateBrowserClient();
            await TandemApp.SignInAsync(client, $"{name.ToLowerInvariant()}@example.com", password);
            callers[name] = client;
            users[name] = id;
        }
        foreach (var (team, manager, rep) in new[] { ("Team A", users["managerA"], users["rep"]), ("Team B", users["managerB"], users["otherRep"]) })
        {
            var r = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
                new TeamRequest(team, manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [new MemberRequest(rep, 1)]), TandemApp.ApiJson, Ct);
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        }
        var endpoint = await admin.PostAsJsonAsync("/api/v1/webhook-endpoints",
            new { url = "http://127.0.0.1:9/hook", events = new[] { WebhookEvents.DisputeOpened, WebhookEvents.DisputeResolved } }, Ct);
        Assert.True(endpoint.StatusCode == HttpStatusCode.Created, await endpoint.Content.ReadAsStringAsync(Ct));
        var campaign = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var c = new Campaign { Name = "Webinar", Channel = Channel.Email, Status = CampaignStatus.Active, OwnerId = users["marketer"], CreatedAt = DateTimeOffset.UtcNow };
            db.Campaigns.Add(c);
            await db.SaveChangesAsync(Ct);
            return c.Id;
        });
        return new World(app, admin, callers, users, campaign);
    }

    /// <summary>A lead of the campaign owned by the rep, at the given stage (an MQL comes with its MQL transition).</summary>
    private static Task<Guid> LeadAsync(World w, LifecycleStage stage, string name) => w.App.WithServiceAsync(async sp =>
    {
        var db = sp.GetRequiredService<TandemDb>();
        var now = DateTimeOffset.UtcNow;
        var lead = new Lead
        {
            Email = $"{name}@{Guid.NewGuid():N}.example",
            FirstName = name,
            Stage = stage,
            WorkStatus = stage == LifecycleStage.Mql ? WorkStatus.New : WorkStatus.None,
            OwnerId = stage == LifecycleStage.Mql ? w.Users["rep"] : null,
            FirstCampaignId = w.CampaignId,
            CreatedAt = now,
            UpdatedAt = now,
            StageChangedAt = now,
        };
        db.Leads.Add(lead);
        if (stage == LifecycleStage.Mql)
            db.StageTransitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = now, ByRule = "test" });
        await db.SaveChangesAsync(Ct);
        return lead.Id;
    });

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage r, HttpStatusCode expected)
    {
        var text = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(r.StatusCode == expected, $"{r.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<DisputeView> OkAsync(HttpResponseMessage r, HttpStatusCode expected)
    {
        var text = await r.Content.ReadAsStringAsync(Ct);
        Assert.True(r.StatusCode == expected, $"{r.StatusCode}: {text}");
        return JsonSerializer.Deserialize<DisputeView>(text, TandemApp.ApiJson)!;
    }

    private static Task<int> CountAsync<T>(World w) where T : class =>
        w.App.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<T>().CountAsync(Ct));

    private static Task<List<string>> NotificationsAsync(World w, string user, string kind) => w.App.WithServiceAsync(sp =>
        sp.GetRequiredService<TandemDb>().Set<Notification>().Where(n => n.RecipientUserId == w.Users[user] && n.Channel == NotificationChannel.InApp && n.Kind == kind)
            .Select(n => n.Body).ToListAsync(Ct));

    [Fact]
    public async Task MarketingContestsARejectionTheTeamsManagerOverturnsItAndTheLeadIsBackInTheRepsInbox()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var marketer = w.Callers["marketer"];
        var lead = await LeadAsync(w, LifecycleStage.Mql, "student");

        // Never dispositioned: a field error, nothing written.
        var never = await ProblemAsync(await marketer.PostAsync($"/api/v1/leads/{lead}/disputes", Json("""{"comment":"They are a fit"}"""), Ct),
            HttpStatusCode.BadRequest);
        Assert.True(never.GetProperty("errors").TryGetProperty("lead", out _), never.ToString());
        var rejected = await w.Callers["rep"].PostAsync($"/api/v1/leads/{lead}/reject", Json("""{"reason":"Student","text":"a student"}"""), Ct);
        Assert.True(rejected.IsSuccessStatusCode, await rejected.Content.ReadAsStringAsync(Ct));
        var empty = await ProblemAsync(await marketer.PostAsync($"/api/v1/leads/{lead}/disputes", Json("""{"comment":"  "}"""), Ct), HttpStatusCode.BadRequest);
        Assert.True(empty.GetProperty("errors").TryGetProperty("comment", out _));
        // A rep contests MQLs, not rejections: the lead is no MQL any more.
        await ProblemAsync(await w.Callers["rep"].PostAsync($"/api/v1/leads/{lead}/disputes", Json("""{"comment":"hm"}"""), Ct), HttpStatusCode.BadRequest);
        Assert.Equal(0, await CountAsync<Dispute>(w));

        var opened = await OkAsync(await marketer.PostAsync($"/api/v1/leads/{lead}/disputes", Json("""{"comment":"She is a PhD hired by a customer"}"""), Ct),
            HttpStatusCode.Created);
        Assert.Equal(DisputeKind.MarketingContestsRejection, opened.Kind);
        Assert.Equal(DisputeStatus.Open, opened.Status);
        Assert.Equal("Student", opened.ContestedReason);
        await ProblemAsync(await marketer.PostAsync($"/api/v1/leads/{lead}/disputes", Json("""{"comment":"again"}"""), Ct), HttpStatusCode.BadRequest);
        Assert.Single(await NotificationsAsync(w, "managerA", "feedback.dispute-opened"));
        Assert.Contains("student", Assert.Single(await NotificationsAsync(w, "rep", "feedback.dispute-opened")), StringComparison.Ordinal);
        Assert.Empty(await NotificationsAsync(w, "managerB", "feedback.dispute-opened"));

        // The wrong side, another team's manager, a bad outcome: refused, nothing changes.
        var body = Json("""{"outcome":"overturned","note":"Agreed, a real buyer"}""");
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Callers["rep"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", body, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await marketer.PostAsync($"/api/v1/disputes/{opened.Id}/resolve", body, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Callers["managerB"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", body, Ct)).StatusCode);
        var bad = await ProblemAsync(await w.Callers["managerA"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", Json("""{"outcome":"maybe"}"""), Ct),
            HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("outcome", out _) && bad.GetProperty("errors").TryGetProperty("note", out _), bad.ToString());
        Assert.Equal(HttpStatusCode.NotFound, (await w.Callers["managerA"].PostAsync($"/api/v1/disputes/{Guid.CreateVersion7()}/resolve", body, Ct)).StatusCode);
        Assert.Equal(LifecycleStage.Disqualified, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.Where(l => l.Id == lead).Select(l => l.Stage).FirstAsync(Ct)));

        var resolved = await OkAsync(await w.Callers["managerA"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", body, Ct), HttpStatusCode.OK);
        Assert.Equal(DisputeStatus.Overturned, resolved.Status);
        Assert.Equal(w.Users["managerA"], resolved.ResolvedByUserId);
        var twice = await ProblemAsync(await w.Callers["managerA"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", Json("""{"outcome":"upheld","note":"no"}"""), Ct),
            HttpStatusCode.BadRequest);
        Assert.True(twice.GetProperty("errors").TryGetProperty("status", out _));

        var (stage, work, owner, openAssignment, audits, deliveries) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var l = await db.Leads.AsNoTracking().FirstAsync(x => x.Id == lead, Ct);
            var open = await db.Assignments.AsNoTracking().Where(a => a.LeadId == lead && Assignment.OpenStates.Contains(a.State)).Select(a => a.RepId).SingleAsync(Ct);
            var audit = await db.AuditEntries.AsNoTracking().Where(a => a.EntityId == lead.ToString() && a.Action.StartsWith("lead.dispute")).Select(a => a.Action).ToListAsync(Ct);
            var sent = await db.Set<WebhookDelivery>().AsNoTracking().Select(d => d.EventType).ToListAsync(Ct);
            return (l.Stage, l.WorkStatus, l.OwnerId, open, audit, sent);
        });
        Assert.Equal(LifecycleStage.Mql, stage);
        Assert.Equal(WorkStatus.New, work);
        Assert.Equal(w.Users["rep"], owner);
        Assert.Equal(w.Users["rep"], openAssignment);
        Assert.Equal(["lead.dispute-opened", "lead.dispute-resolved"], audits.Order(StringComparer.Ordinal));
        Assert.Equal([WebhookEvents.DisputeOpened, WebhookEvents.DisputeResolved], deliveries.Order(StringComparer.Ordinal));
        Assert.Contains("back in the sales inbox", Assert.Single(await NotificationsAsync(w, "marketer", "feedback.dispute-resolved")), StringComparison.Ordinal);

        var history = await marketer.GetFromJsonAsync<List<DisputeView>>($"/api/v1/leads/{lead}/disputes", TandemApp.ApiJson, Ct);
        Assert.Equal(opened.Id, Assert.Single(history!).Id);
        Assert.Empty((await marketer.GetFromJsonAsync<List<DisputeView>>("/api/v1/disputes?status=open", TandemApp.ApiJson, Ct))!);
        Assert.Single((await marketer.GetFromJsonAsync<List<DisputeView>>("/api/v1/disputes?status=overturned", TandemApp.ApiJson, Ct))!);
        Assert.Equal(HttpStatusCode.BadRequest, (await marketer.GetAsync("/api/v1/disputes?status=closed", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Callers["otherRep"].GetAsync($"/api/v1/leads/{lead}/disputes", Ct)).StatusCode);
    }

    [Fact]
    public async Task SalesContestsAnMqlItReceivedMarketingResolvesAndTheScorecardCountsDisputes()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var rep = w.Callers["rep"];
        var notMql = await LeadAsync(w, LifecycleStage.Lead, "subscriber");
        var contested = await LeadAsync(w, LifecycleStage.Mql, "tyre-kicker");
        var kept = await LeadAsync(w, LifecycleStage.Mql, "fine");

        var never = await ProblemAsync(await w.Admin.PostAsync($"/api/v1/leads/{notMql}/disputes", Json("""{"comment":"not an MQL","kind":"SalesContestsMql"}"""), Ct),
            HttpStatusCode.BadRequest);
        Assert.True(never.GetProperty("errors").TryGetProperty("lead", out _));
        // Another team's rep did not receive it; marketing does not contest its own MQL.
        Assert.Equal(HttpStatusCode.Forbidden, (await w.Callers["otherRep"].PostAsync($"/api/v1/leads/{contested}/disputes", Json("""{"comment":"x"}"""), Ct)).StatusCode);
        var own = await ProblemAsync(await w.Callers["marketer"].PostAsync($"/api/v1/leads/{contested}/disputes", Json("""{"comment":"x","kind":"SalesContestsMql"}"""), Ct),
            HttpStatusCode.BadRequest);
        Assert.True(own.GetProperty("errors").TryGetProperty("kind", out _));
        Assert.Equal(0, await CountAsync<Dispute>(w));

        var opened = await OkAsync(await rep.PostAsync($"/api/v1/leads/{contested}/disputes", Json("""{"comment":"Downloaded a whitepaper, no project"}"""), Ct),
            HttpStatusCode.Created);
        Assert.Equal(DisputeKind.SalesContestsMql, opened.Kind);
        Assert.Single(await NotificationsAsync(w, "marketer", "feedback.dispute-opened"));
        var second = await OkAsync(await rep.PostAsync($"/api/v1/leads/{kept}/disputes", Json("""{"comment":"Not sure"}"""), Ct), HttpStatusCode.Created);

        // Sales does not resolve its own dispute.
        Assert.Equal(HttpStatusCode.Forbidden,
            (await w.Callers["managerA"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", Json("""{"outcome":"overturned","note":"x"}"""), Ct)).StatusCode);
        await OkAsync(await w.Callers["marketer"].PostAsync($"/api/v1/disputes/{opened.Id}/resolve", Json("""{"outcome":"overturned","note":"Fair, back to nurture"}"""), Ct),
            HttpStatusCode.OK);
        await OkAsync(await w.Callers["marketer"].PostAsync($"/api/v1/disputes/{second.Id}/resolve", Json("""{"outcome":"upheld","note":"They asked for a demo"}"""), Ct),
            HttpStatusCode.OK);

        var (recycled, keptStage) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await db.Leads.AsNoTracking().Where(l => l.Id == contested).Select(l => l.Stage).FirstAsync(Ct),
                await db.Leads.AsNoTracking().Where(l => l.Id == kept).Select(l => l.Stage).FirstAsync(Ct));
        });
        Assert.Equal(LifecycleStage.Recycled, recycled);
        Assert.Equal(LifecycleStage.Mql, keptStage);
        Assert.Single(await NotificationsAsync(w, "rep", "feedback.dispute-resolved"), b => b.Contains("recycled", StringComparison.Ordinal));

        var card = await w.Admin.GetFromJsonAsync<Scorecard>($"/api/v1/reports/lead-quality?campaignIds={w.CampaignId}", TandemApp.ApiJson, Ct);
        var row = Assert.Single(card!.Rows);
        Assert.Equal(2, row.DisputesOpened);
        Assert.Equal(1, row.DisputesOverturned);
        Assert.Contains(",disputesOpened,disputesOverturned", await w.Admin.GetStringAsync($"/api/v1/reports/lead-quality.csv?campaignIds={w.CampaignId}", Ct),
            StringComparison.Ordinal);
    }
}

public sealed class DisputesOnSqlite() : DisputeTests(DatabaseProvider.Sqlite);

public sealed class DisputesOnPostgres() : DisputeTests(DatabaseProvider.Postgres);
