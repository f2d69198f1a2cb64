using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Handoff;

/// <summary>
/// <see cref="HandoffSetup"/>, the one method per operation that the API and the settings pages share, on real
/// databases: field errors that write nothing, the same errors as the API, saves, conflicts, the dry run, speed, the
/// queue and reassignment; and who may open the pages.
/// </summary>
public abstract class HandoffSetupTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Monday 10:00 UTC: reps working 09:00–18:00 UTC are on shift.
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static async Task<TandemApp> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:Notifications:RunDispatcher"] = "false" });
        app.TestServices = s => s.AddSingleton<TimeProvider>(new FakeTimeProvider(Monday10));
        return app;
    }

    private static Task<T> SetupAsync<T>(TandemApp app, Func<HandoffSetup, Task<T>> action) =>
        app.WithServiceAsync(sp => action(sp.GetRequiredService<HandoffSetup>()));

    [Fact]
    public async Task EveryOperationValidatesLikeTheApiWritesNothingOnErrorsAndSavesWhenValid()
    {
        await using var app = await StartAsync(provider);
        var (rep1, _) = await app.CreateUserAsync("rep1@example.com", Roles.Sales);
        var (rep2, _) = await app.CreateUserAsync("rep2@example.com", Roles.Sales);
        var (manager, _) = await app.CreateUserAsync("boss@example.com", Roles.SalesManager);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Read));

        // Reps: a negative capacity and an unknown zone are refused; a valid calendar is stored.
        var badRep = await SetupAsync(app, s => s.SaveRepAsync(rep1, new RepRequest(new WorkCalendar("Mars/Olympus", []), -1, null), "test", Ct));
        Assert.Contains("maxOpenMqls", badRep.Errors!.Keys);
        Assert.Contains("calendar.timeZoneId", badRep.Errors!.Keys);
        Assert.All(await SetupAsync(app, s => s.RepsAsync(Ct)), r => Assert.False(r.HasProfile));
        var calendar = WorkCalendar.Weekdays("UTC", ("09:00", "18:00"));
        foreach (var id in new[] { rep1, rep2, manager })
            Assert.True((await SetupAsync(app, s => s.SaveRepAsync(id, new RepRequest(calendar, 0, null), "test", Ct))).Ok);
        Assert.True((await SetupAsync(app, s => s.SaveRepAsync(rep2, new RepRequest(calendar, 20, 5), "test", Ct))).Ok);
        Assert.NotNull((await SetupAsync(app, s => s.SaveRepAsync(Guid.NewGuid(), new RepRequest(calendar, null, null), "test", Ct))).NotFound);

        // Teams: a weight of 0 is refused (nothing created); a valid team becomes the default team.
        var badTeam = await SetupAsync(app, s => s.SaveTeamAsync(null,
            new TeamRequest("Inside sales", manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [new MemberRequest(rep1, 0)]), "test", Ct));
        Assert.Equal(["members[0].weight"], badTeam.Errors!.Keys);
        Assert.Empty(await SetupAsync(app, s => s.TeamsAsync(Ct)));
        var team = (await SetupAsync(app, s => s.SaveTeamAsync(null,
            new TeamRequest("Inside sales", manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [new MemberRequest(rep1, 1), new MemberRequest(rep2, 1)]),
            "test", Ct))).Value!;
        Assert.True(team.IsDefault);

        // Rules: the same errors as PUT /routing/rules for the same body, and nothing written by either.
        var version = (await SetupAsync(app, s => s.RulesAsync(Ct))).ConfigVersion;
        var invalid = new RulesRequest(team.Id,
            [new RuleRequest(null, 10, "", true, [new RoutingCondition(LeadField.CompanySize, ConditionOperator.GreaterOrEqual, ["many"])], new RoutingTarget(null, null))]);
        var badRules = await SetupAsync(app, s => s.SaveRulesAsync(invalid, "test", Ct));
        var api = await admin.PutAsJsonAsync("/api/v1/routing/rules", invalid, TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, api.StatusCode);
        var apiErrors = (await api.Content.ReadFromJsonAsync<ValidationBody>(TandemApp.ApiJson, Ct))!.Errors;
        Assert.Equal(badRules.Errors!.OrderBy(e => e.Key).Select(e => (e.Key, string.Join(" ", e.Value))),
            apiErrors.OrderBy(e => e.Key).Select(e => (e.Key, string.Join(" ", e.Value))));
        Assert.Contains("rules[0].conditions[0].values[0]", badRules.Errors!.Keys);
        Assert.Contains("rules[0].target", badRules.Errors!.Keys);
        var unchanged = await SetupAsync(app, s => s.RulesAsync(Ct));
        Assert.Empty(unchanged.Rules);
        Assert.Equal(version, unchanged.ConfigVersion);

        // A valid rule: French leads to rep1 first (who takes no new MQL: capacity 0), the team otherwise.
        var saved = await SetupAsync(app, s => s.SaveRulesAsync(new RulesRequest(team.Id,
            [new RuleRequest(null, null, "France → rep1", true, [new RoutingCondition(LeadField.Country, ConditionOperator.In, ["FR"])], new RoutingTarget(team.Id, rep1))]),
            "test", Ct));
        Assert.True(saved.Ok);
        Assert.Equal("France → rep1", Assert.Single(saved.Value!.Rules).Name);
        Assert.True(saved.Value.ConfigVersion > version);

        // Deleting the default team (also a rule's target) is a conflict; nothing deleted.
        var delete = await SetupAsync(app, s => s.DeleteTeamAsync(team.Id, "test", Ct));
        Assert.NotNull(delete.Conflict);
        Assert.Single(await SetupAsync(app, s => s.TeamsAsync(Ct)));

        // SLA: reminders out of order are refused; nothing written.
        var badSla = await SetupAsync(app, s => s.SaveSlaAsync(new SlaRequest([.. SlaPolicy.Defaults.Select(p => p with { ReminderPercents = [80, 50] })], null), "test", Ct));
        Assert.Contains("policies[0].reminderPercents[1]", badSla.Errors!.Keys);
        Assert.Equal(SlaPolicy.Defaults.Select(p => p.ReminderPercents.ToList()), (await SetupAsync(app, s => s.SlaAsync(Ct))).Policies.Select(p => p.ReminderPercents.ToList()));

        // Dry run: rep1 is skipped (at capacity), rep2 gets the lead, due in 8 business hours; nothing written.
        var sim = (await SetupAsync(app, s => s.SimulateAsync(new SimulateRequest(null, new LeadAttributes(Country: "FR"), null), Ct))).Value!;
        Assert.Equal(rep2, sim.Decision.RepId);
        Assert.Equal("France → rep1", sim.Decision.RuleName);
        var skipped = Assert.Single(sim.Decision.Skipped);
        Assert.Equal((rep1, SkipReason.AtCapacity), (skipped.UserId, skipped.Reason));
        Assert.Equal(Monday10.AddHours(8), sim.FirstTouchDueAt);
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Assignments.CountAsync(Ct)));
        Assert.Contains("leadId", (await SetupAsync(app, s => s.SimulateAsync(new SimulateRequest(null, null, null), Ct))).Errors!.Keys);

        // Speed: a period that ends before it starts is refused; an empty period gives empty rows.
        Assert.Contains("from", (await SetupAsync(app, s => s.SpeedAsync(Monday10, Monday10.AddDays(-1), Ct))).Errors!.Keys);
        var speed = (await SetupAsync(app, s => s.SpeedAsync(null, null, Ct))).Value!;
        Assert.Empty(speed.Reps);
        Assert.Equal(Monday10, speed.To);
    }

    [Fact]
    public async Task AQueuedMqlIsReassignedToTheRepAManagerChooses()
    {
        await using var app = await StartAsync(provider);
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        // Queue an MQL by hand: no team, no rule, so routing has nobody.
        var leadId = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var lead = new Lead { Email = "queued@acme.example", FirstName = "Quentin", Stage = LifecycleStage.Mql, StageChangedAt = Monday10, CreatedAt = Monday10, UpdatedAt = Monday10 };
            db.Leads.Add(lead);
            db.Assignments.Add(new Assignment
            {
                LeadId = lead.Id,
                State = AssignmentState.Open,
                Tier = SlaTier.Standard,
                MqlAt = Monday10,
                AssignedAt = Monday10,
                Path = RoutingPath.Queue,
                Reason = "nobody eligible",
                Decision = "{}",
            });
            await db.SaveChangesAsync(Ct);
            return lead.Id;
        });
        var queued = Assert.Single(await SetupAsync(app, s => s.QueueAsync(Ct)));
        Assert.Equal((leadId, "Quentin"), (queued.LeadId, queued.LeadName));
        Assert.Equal(leadId, Assert.Single(await SetupAsync(app, s => s.FindLeadsAsync("QUEUED@", 10, Ct))).Id);
        Assert.Empty(await SetupAsync(app, s => s.FindLeadsAsync("nobody", 10, Ct)));

        Assert.Contains("repId", (await SetupAsync(app, s => s.ReassignAsync(leadId, new ReassignRequest(Guid.NewGuid(), null), "boss", Ct))).Errors!.Keys);
        var done = await SetupAsync(app, s => s.ReassignAsync(leadId, new ReassignRequest(rep, "covering"), "boss", Ct));
        Assert.True(done.Ok);
        Assert.Equal(rep, done.Value!.RepId);
        Assert.Empty(await SetupAsync(app, s => s.QueueAsync(Ct)));
    }

    [Fact]
    public async Task OnlyAdminsAndSalesManagersOpenTheSettingsAndMarketingAlsoSeesSpeed()
    {
        await using var app = await StartAsync(provider);
        foreach (var (role, settings, speed) in new[]
                 {
                     (Roles.Admin, true, true), (Roles.SalesManager, true, true), (Roles.Marketing, false, true), (Roles.Sales, false, false),
                 })
        {
            var email = $"{role.ToLowerInvariant()}@example.com";
            var (_, password) = await app.CreateUserAsync(email, role, "Some-Password-42");
            var browser = app.CreateBrowserClient();
            await TandemApp.SignInAsync(browser, email, password);
            var page = await browser.GetAsync("/settings/handoff", Ct);
            Assert.True(settings == (page.StatusCode == HttpStatusCode.OK), $"{role} /settings/handoff: {page.StatusCode}");
            if (settings)
                Assert.Contains("data-testid=\"handoff-tabs\"", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            var speedPage = await browser.GetAsync("/handoff/speed", Ct);
            Assert.True(speed == (speedPage.StatusCode == HttpStatusCode.OK), $"{role} /handoff/speed: {speedPage.StatusCode}");
            var home = await (await browser.GetAsync("/settings", Ct)).Content.ReadAsStringAsync(Ct);
            Assert.Equal(settings, home.Contains("href=\"/settings/handoff\"", StringComparison.Ordinal));
        }
    }

    private sealed record ValidationBody(Dictionary<string, string[]> Errors);
}

public sealed class HandoffSetupOnSqlite() : HandoffSetupTests(DatabaseProvider.Sqlite);

public sealed class HandoffSetupOnPostgres() : HandoffSetupTests(DatabaseProvider.Postgres);
