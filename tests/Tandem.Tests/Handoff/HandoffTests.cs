using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Qualification;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Qualification;

namespace Tandem.Tests.Handoff;

/// <summary>
/// The handoff end to end on real databases: MQL → assignment with why, notifications committed with it, the SLA
/// clock driven by a FakeTimeProvider (reminders, breach, reassignment), first touch, queue, reject, validation, and
/// exactly-once across two instances and a restart.
/// </summary>
public abstract class HandoffTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Monday 10:00 UTC: the reps below work 09:00–18:00 UTC, so a hot MQL (60 business minutes) is due at 11:00,
    // reminders at 10:30 and 10:48, reassignment after 15 minutes of grace at 11:15.
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Dictionary<string, string?> Settings(string? connectionString = null)
    {
        var s = new Dictionary<string, string?>
        {
            ["Tandem:Qualification:PollMilliseconds"] = "100",
            ["Tandem:Qualification:JobPollMilliseconds"] = "100",
            ["Tandem:Qualification:DecayMinutes"] = "0",
            ["Tandem:Handoff:PollMilliseconds"] = "100",
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Webhooks:AllowPrivateTargets"] = "true",
            ["Tandem:Webhooks:PollSeconds"] = "0.05",
        };
        if (connectionString is not null)
            s["ConnectionStrings:Tandem"] = connectionString;
        return s;
    }

    private sealed record Setup(TandemApp App, HttpClient Admin, FakeTimeProvider Clock, Guid Rep1, Guid Rep2, Guid Manager, Guid TeamId);

    private static async Task<TandemApp> StartAppAsync(DatabaseProvider provider, FakeTimeProvider clock, string? connectionString = null)
    {
        var app = await TandemApp.CreateAsync(provider, Settings(connectionString), createDatabase: connectionString is null);
        app.TestServices = s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            if (Environment.GetEnvironmentVariable("HANDOFF_DEBUG") is not null)
                s.AddLogging(l => l.AddSimpleConsole());
        };
        return app;
    }

    private static HttpClient AdminClient(TandemApp app, string key) => app.CreateApiClient(key);

    /// <summary>Two reps and a manager working 09:00–18:00 UTC on weekdays, one round-robin team, the hand definition active.</summary>
    private static async Task<Setup> StartAsync(DatabaseProvider provider, bool withTeam = true, FakeTimeProvider? clock = null, TandemApp? app = null)
    {
        clock ??= new FakeTimeProvider(Monday10);
        app ??= await StartAppAsync(provider, clock);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var (rep1, _) = await app.CreateUserAsync("rep1@example.com", Roles.Sales);
        var (rep2, _) = await app.CreateUserAsync("rep2@example.com", Roles.Sales);
        var (manager, _) = await app.CreateUserAsync("boss@example.com", Roles.SalesManager);
        var teamId = Guid.Empty;
        if (withTeam)
            teamId = await ConfigureTeamAsync(admin, manager, rep1, rep2);
        await ActivateHandDefinitionAsync(admin);
        return new Setup(app, admin, clock, rep1, rep2, manager, teamId);
    }

    private static async Task<Guid> ConfigureTeamAsync(HttpClient admin, Guid manager, params Guid[] reps)
    {
        var calendar = WorkCalendar.Weekdays("UTC", ("09:00", "18:00"));
        foreach (var rep in reps.Append(manager))
        {
            var put = await admin.PutAsJsonAsync($"/api/v1/handoff/reps/{rep}", new RepRequest(calendar, null, null), TandemApp.ApiJson, Ct);
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));
        }
        var team = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
            new TeamRequest("Inside sales", manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [.. reps.Select(r => new MemberRequest(r, 1))]),
            TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, team.StatusCode);
        var view = (await team.Content.ReadFromJsonAsync<TeamView>(TandemApp.ApiJson, Ct))!;
        Assert.True(view.IsDefault);
        return view.Id;
    }

    private static async Task ActivateHandDefinitionAsync(HttpClient admin)
    {
        var created = await admin.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "handoff" }, TandemApp.ApiJson, Ct);
        var draft = (await created.Content.ReadFromJsonAsync<VersionDetail>(TandemApp.ApiJson, Ct))!;
        var saved = await admin.PutAsJsonAsync($"/api/v1/qualification/versions/{draft.Version.Id}",
            new DraftRequest(QualificationApiTests.HandDefinition(), "handoff", draft.Version.Revision), TandemApp.ApiJson, Ct);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Ct));
        var activated = await admin.PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/activate", null, Ct);
        Assert.True(activated.IsSuccessStatusCode, await activated.Content.ReadAsStringAsync(Ct));
    }

    /// <summary>Captures a CFO (grade A) and posts a demo request: the MQL rule holds and the tier is Hot.</summary>
    /// <remarks>
    /// Waits for the capture to be scored before posting the activity: with a frozen clock, marking the lead dirty again
    /// while the scoring worker holds it writes the same timestamp, which EF sees as no change (a race of the fake clock).
    /// </remarks>
    private static async Task<Guid> MakeMqlAsync(TandemApp app, HttpClient client, string email, string country = "DE")
    {
        var response = await client.PostAsync("/api/v1/leads",
            Json($$"""{"email":"{{email}}","firstName":"Claire","jobTitle":"CFO","companySize":120,"country":"{{country}}"}"""), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        var id = (await response.Content.ReadFromJsonAsync<CaptureLeadResponse>(TandemApp.ApiJson, Ct))!.Id;
        await EventuallyAsync(() => DbAsync(app, db => db.Leads.AsNoTracking().Where(l => l.Id == id).Select(l => l.ScoreDirtyAt).FirstAsync(Ct)), d => d is null);
        var activity = await client.PostAsync("/api/v1/activities", Json($$"""{"leadId":"{{id}}","type":"DemoRequest"}"""), Ct);
        Assert.True(activity.IsSuccessStatusCode, await activity.Content.ReadAsStringAsync(Ct));
        return id;
    }

    [Fact]
    public async Task RepSeesTheMqlInTheInboxWithItsSlaClockAndRejectsItWithAReason()
    {
        var setup = await StartAsync(provider, withTeam: false);
        await using var app = setup.App;
        var (rep, password) = await app.CreateUserAsync("solo@example.com", Roles.Sales);
        await ConfigureTeamAsync(setup.Admin, setup.Manager, rep);
        var lead = await MakeMqlAsync(app, setup.Admin, "claire@inbox.example");
        await EventuallyAsync(() => DbAsync(app, db => db.Assignments.AsNoTracking().CountAsync(a => a.LeadId == lead && a.RepId == rep, Ct)), n => n == 1);

        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "solo@example.com", password);
        var html = await browser.GetStringAsync("/inbox", Ct);
        Assert.Contains("Claire", html);
        Assert.Contains("On time", html);
        Assert.Contains("01:00:00", html); // a hot MQL at Monday 10:00 is due at 11:00; the frozen clock shows the full hour

        // The inbox's reject path (the same code as the API): a reason from the catalogue decides Recycled or Disqualified.
        var rejected = await app.WithServiceAsync(async sp =>
        {
            await using var scope = sp.CreateAsyncScope();
            var handoff = scope.ServiceProvider.GetRequiredService<HandoffService>();
            var bad = await LeadWork.RejectAsync(handoff, lead, new RejectRequest(RejectReason.Other, null, null), new Actor(rep, "solo"), setup.Clock.GetUtcNow(), Ct);
            Assert.Contains("text", bad.Errors!.Keys);
            return await LeadWork.RejectAsync(handoff, lead, new RejectRequest(RejectReason.Student, "Thesis on cash forecasting", null), new Actor(rep, "solo"), setup.Clock.GetUtcNow(), Ct);
        });
        Assert.Equal(LifecycleStage.Disqualified, rejected.Value!.Stage);
        html = await browser.GetStringAsync("/inbox", Ct);
        Assert.DoesNotContain("Claire", html);
    }

    [Fact]
    public async Task TheLeadsJourneyReachesASubscribedWebhookEndpointOnceEventByEvent()
    {
        await using var sink = await HttpSink.StartAsync();
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var created = await s.Admin.PostAsJsonAsync("/api/v1/webhook-endpoints", new
        {
            url = sink.Url,
            events = new[] { "lead.created", "lead.mql", "lead.assigned", "sla.breached", "lead.rejected", "lead.accepted" },
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);

        var late = await MakeMqlAsync(s.App, s.Admin, "late@acme.example");
        var won = await MakeMqlAsync(s.App, s.Admin, "won@acme.example");
        await EventuallyAsync(() => AssignmentsAsync(s.App, late), x => x.Count > 0);
        await EventuallyAsync(() => AssignmentsAsync(s.App, won), x => x.Count > 0);
        s.Clock.SetUtcNow(Monday10.AddMinutes(61));
        await EventuallyAsync(() => AssignmentsAsync(s.App, late), x => x.Single().State == AssignmentState.Breached);
        var rejected = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{late}/reject", new RejectRequest(RejectReason.NoBudget, "next year", null), TandemApp.ApiJson, Ct);
        Assert.True(rejected.IsSuccessStatusCode, await rejected.Content.ReadAsStringAsync(Ct));
        var accepted = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{won}/accept", new
        {
            budget = true,
            budgetNote = "50k approved",
            authority = true,
            authorityNote = "She signs",
            need = true,
            needNote = "Close takes 2 weeks",
            timing = true,
            timingNote = "Q1",
        }, Ct);
        Assert.True(accepted.IsSuccessStatusCode, await accepted.Content.ReadAsStringAsync(Ct));

        List<(string Type, Guid Lead)> Events() => [.. sink.Received.Select(r => JsonDocument.Parse(r.Body).RootElement)
            .Select(p => (p.GetProperty("type").GetString()!, p.GetProperty("data").GetProperty("lead").GetProperty("id").GetGuid()))];
        var events = await EventuallyAsync(() => Task.FromResult(Events()), e => e.Contains(("lead.accepted", won)) && e.Contains(("lead.rejected", late)));
        foreach (var type in new[] { "lead.created", "lead.mql", "lead.assigned", "sla.breached", "lead.rejected" })
            Assert.True(events.Count(e => e == (type, late)) == 1, $"{type}: {string.Join(", ", events)}");
        Assert.Single(events, e => e == ("lead.accepted", won));
        Assert.DoesNotContain(("lead.accepted", late), events);
        Assert.DoesNotContain(("lead.rejected", won), events);
        var assigned = sink.Received.Select(r => JsonDocument.Parse(r.Body).RootElement).First(p => p.GetProperty("type").GetString() == "lead.assigned");
        Assert.True(assigned.GetProperty("data").GetProperty("assignment").GetProperty("repId").GetGuid() is var rep && (rep == s.Rep1 || rep == s.Rep2));
    }

    private static Task<T> DbAsync<T>(TandemApp app, Func<TandemDb, Task<T>> action) =>
        app.WithServiceAsync(sp => action(sp.GetRequiredService<TandemDb>()));

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, int seconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > until)
                return value;
            await Task.Delay(50, Ct);
        }
    }

    private static Task<List<Assignment>> AssignmentsAsync(TandemApp app, Guid leadId) =>
        DbAsync(app, db => db.Assignments.AsNoTracking().Where(a => a.LeadId == leadId).ToListAsync(Ct));

    private static Task<List<Notification>> NotificationsAsync(TandemApp app, string kind, Guid recipient) =>
        DbAsync(app, db => db.Set<Notification>().AsNoTracking()
            .Where(n => n.Kind == kind && n.RecipientUserId == recipient && n.Channel == NotificationChannel.InApp).ToListAsync(Ct));

    [Fact]
    public async Task MqlIsAssignedToTheRuleRepWithWhyStoredAndTheRepNotifiedInTheSameCommit()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var rules = await s.Admin.PutAsJsonAsync("/api/v1/routing/rules", new RulesRequest(s.TeamId,
        [
            new RuleRequest(null, 10, "France to rep 2", true, [new RoutingCondition(LeadField.Country, ConditionOperator.In, ["FR"])], new RoutingTarget(null, s.Rep2)),
        ]), TandemApp.ApiJson, Ct);
        Assert.True(rules.IsSuccessStatusCode, await rules.Content.ReadAsStringAsync(Ct));

        var french = await MakeMqlAsync(s.App, s.Admin, "claire@acme.example", "FR");
        var assigned = await EventuallyAsync(() => AssignmentsAsync(s.App, french), a => a.Count > 0);
        var a = Assert.Single(assigned);
        Assert.Equal(s.Rep2, a.RepId);
        Assert.Equal(RoutingPath.RuleRep, a.Path);
        Assert.Equal("France to rep 2", a.RuleName);
        Assert.Contains("France to rep 2", a.Reason);
        Assert.Equal(SlaTier.Hot, a.Tier);
        Assert.Equal(AssignmentState.Open, a.State);
        Assert.Equal(Monday10.AddHours(1), a.FirstTouchDueAt);
        Assert.Equal(Monday10.AddMinutes(75), a.ReassignAt);
        var lead = await DbAsync(s.App, db => db.Leads.AsNoTracking().FirstAsync(l => l.Id == french, Ct));
        Assert.Equal(s.Rep2, lead.OwnerId);
        Assert.Equal(LifecycleStage.Mql, lead.Stage);

        var note = Assert.Single(await NotificationsAsync(s.App, "handoff.assigned", s.Rep2));
        Assert.StartsWith("New MQL: Claire", note.Subject);
        Assert.True(note.Urgent);
        var timers = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().Where(t => t.AssignmentId == a.Id).OrderBy(t => t.DueAt).ToListAsync(Ct));
        Assert.Equal([(TimerKind.Reminder, Monday10.AddMinutes(30)), (TimerKind.Reminder, Monday10.AddMinutes(48)), (TimerKind.Breach, Monday10.AddHours(1)),
            (TimerKind.Reassign, Monday10.AddMinutes(75)), (TimerKind.AttemptsEnd, new DateTimeOffset(2026, 11, 27, 18, 0, 0, TimeSpan.Zero))],
            timers.Select(t => (t.Kind, t.DueAt)).ToList());

        // The API shows why this rep.
        var views = await s.Admin.GetFromJsonAsync<List<AssignmentView>>($"/api/v1/leads/{french}/assignments", TandemApp.ApiJson, Ct);
        Assert.Equal(RoutingPath.RuleRep, Assert.Single(views!).Decision!.Path);

        // No rule matches a German lead: the default team's round robin picks a member and counts it.
        var german = await MakeMqlAsync(s.App, s.Admin, "hans@acme.example", "DE");
        var second = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, german), x => x.Count > 0));
        Assert.Equal(RoutingPath.TeamStrategy, second.Path);
        Assert.Contains(second.RepId!.Value, new[] { s.Rep1, s.Rep2 });
        var counts = await DbAsync(s.App, db => db.Set<SalesTeamMember>().AsNoTracking().SumAsync(m => m.AssignedCount, Ct));
        Assert.Equal(1, counts);

        // The dry run answers without writing anything.
        var before = await DbAsync(s.App, db => db.Assignments.CountAsync(Ct));
        var sim = await s.Admin.PostAsJsonAsync("/api/v1/routing/simulate", new SimulateRequest(null, new LeadAttributes(Country: "FR"), null), TandemApp.ApiJson, Ct);
        var simulated = (await sim.Content.ReadFromJsonAsync<SimulateView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal(s.Rep2, simulated.Decision.RepId);
        Assert.Equal(before, await DbAsync(s.App, db => db.Assignments.CountAsync(Ct)));
    }

    [Fact]
    public async Task WithoutAnyTeamTheMqlIsQueuedAndAdminsAlerted()
    {
        var s = await StartAsync(provider, withTeam: false);
        await using var _ = s.App;
        var (adminUser, _) = await s.App.CreateUserAsync("admin@example.com", Roles.Admin);

        var lead = await MakeMqlAsync(s.App, s.Admin, "q@acme.example");
        var a = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count > 0));
        Assert.Null(a.RepId);
        Assert.Equal(RoutingPath.Queue, a.Path);
        Assert.Equal(AssignmentState.Open, a.State);
        Assert.Single(await NotificationsAsync(s.App, "handoff.no-eligible-rep", adminUser));
        var queue = await s.Admin.GetFromJsonAsync<List<QueueItem>>("/api/v1/handoff/queue", TandemApp.ApiJson, Ct);
        Assert.Equal(lead, Assert.Single(queue!).LeadId);

        // Once a team exists, the monitor drains the queue: the lead goes to its rep, the queued row is superseded.
        await ConfigureTeamAsync(s.Admin, s.Manager, s.Rep1);
        var rows = await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count == 2);
        Assert.Equal(s.Rep1, rows.Single(x => x.IsOpen).RepId);
        Assert.Equal(AssignmentState.Reassigned, rows.Single(x => x.Id == a.Id).State);
        Assert.Empty((await s.Admin.GetFromJsonAsync<List<QueueItem>>("/api/v1/handoff/queue", TandemApp.ApiJson, Ct))!);
        Assert.Single(await NotificationsAsync(s.App, "handoff.no-eligible-rep", adminUser));
    }

    [Fact]
    public async Task RemindersThenBreachToTheManagerThenReassignmentAfterGrace()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var lead = await MakeMqlAsync(s.App, s.Admin, "late@acme.example");
        var first = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count > 0));
        var late = first.RepId!.Value;
        var other = late == s.Rep1 ? s.Rep2 : s.Rep1;

        s.Clock.SetUtcNow(Monday10.AddMinutes(31));
        var reminders = await EventuallyAsync(() => NotificationsAsync(s.App, "handoff.reminder", late), n => n.Count == 1);
        Assert.StartsWith("50%", Assert.Single(reminders).Subject);
        s.Clock.SetUtcNow(Monday10.AddMinutes(50));
        Assert.Equal(2, (await EventuallyAsync(() => NotificationsAsync(s.App, "handoff.reminder", late), n => n.Count == 2)).Count);

        s.Clock.SetUtcNow(Monday10.AddMinutes(61));
        var breached = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Single().State == AssignmentState.Breached));
        Assert.Equal(AssignmentState.Breached, breached.State);
        Assert.Equal(Monday10.AddHours(1), breached.BreachedAt);
        Assert.Single(await EventuallyAsync(() => NotificationsAsync(s.App, "handoff.breach", s.Manager), n => n.Count > 0));

        s.Clock.SetUtcNow(Monday10.AddMinutes(76));
        var all = await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count == 2);
        Assert.Equal(2, all.Count);
        Assert.Equal(AssignmentState.Reassigned, all.Single(x => x.Id == first.Id).State);
        var next = all.Single(x => x.Id != first.Id);
        Assert.Equal(other, next.RepId);
        Assert.Equal(first.Id, next.PreviousAssignmentId);
        Assert.Equal(first.MqlAt, next.MqlAt);
        Assert.Single(await NotificationsAsync(s.App, "handoff.assigned", other));
        Assert.Equal(other, (await DbAsync(s.App, db => db.Leads.AsNoTracking().FirstAsync(l => l.Id == lead, Ct))).OwnerId);
        var oldTimers = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().Where(t => t.AssignmentId == first.Id).ToListAsync(Ct));
        Assert.All(oldTimers.Where(t => t.Kind != TimerKind.AttemptsEnd), t => Assert.Equal(TimerStatus.Done, t.Status));
        Assert.Equal((TimerStatus.Cancelled, "superseded"), oldTimers.Where(t => t.Kind == TimerKind.AttemptsEnd).Select(t => (t.Status, t.Outcome)).Single());
        Assert.Equal(1, s.App.Services.GetRequiredService<HandoffCounters>().Breaches);
    }

    [Fact]
    public async Task FirstTouchStopsTheClockAndCancelsTheTimers()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var lead = await MakeMqlAsync(s.App, s.Admin, "quick@acme.example");
        var a = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count > 0));

        var bad = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{lead}/touches", new TouchRequest("fax", null, null), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"type\"", await bad.Content.ReadAsStringAsync(Ct));

        s.Clock.SetUtcNow(Monday10.AddMinutes(12));
        var touch = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{lead}/touches", new TouchRequest("call", "voicemail", "left a message"), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, touch.StatusCode);
        var view = (await touch.Content.ReadFromJsonAsync<TouchView>(TandemApp.ApiJson, Ct))!;
        Assert.True(view.FirstTouch);
        var touched = Assert.Single(await AssignmentsAsync(s.App, a.LeadId));
        Assert.Equal(AssignmentState.Touched, touched.State);
        Assert.Equal(Monday10.AddMinutes(12), touched.FirstTouchedAt);
        var timers = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().Where(t => t.AssignmentId == a.Id).ToListAsync(Ct));
        Assert.All(timers.Where(t => t.Kind != TimerKind.AttemptsEnd), t => Assert.Equal(TimerStatus.Cancelled, t.Status));
        Assert.Equal(TimerStatus.Pending, timers.Single(t => t.Kind == TimerKind.AttemptsEnd).Status); // the first touch does not end the cadence
        Assert.Equal(WorkStatus.Attempting, (await DbAsync(s.App, db => db.Leads.AsNoTracking().FirstAsync(l => l.Id == lead, Ct))).WorkStatus);

        s.Clock.SetUtcNow(Monday10.AddHours(3));
        await Task.Delay(400, Ct);
        Assert.Empty(await NotificationsAsync(s.App, "handoff.breach", s.Manager));
        Assert.Equal(AssignmentState.Touched, Assert.Single(await AssignmentsAsync(s.App, lead)).State);

        // Speed to lead: 12 minutes to the first touch, due at 11:00 and met → 100 %.
        var speed = (await s.Admin.GetFromJsonAsync<SpeedReport>(
            $"/api/v1/handoff/speed?from={Uri.EscapeDataString(Monday10.AddDays(-1).ToString("O"))}&to={Uri.EscapeDataString(Monday10.AddDays(1).ToString("O"))}",
            TandemApp.ApiJson, Ct))!;
        Assert.Equal(12, speed.Overall.AssignmentToFirstTouch.MedianMinutes);
        Assert.Equal(100, speed.Overall.CompliancePercent);
        Assert.Equal(a.RepId, Assert.Single(speed.Reps).Id);
    }

    [Fact]
    public async Task RejectRecyclesOrDisqualifiesAsTheReasonSaysAndClosesTheAssignment()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var budget = await MakeMqlAsync(s.App, s.Admin, "nobudget@acme.example");
        var spam = await MakeMqlAsync(s.App, s.Admin, "spam@acme.example");
        await EventuallyAsync(() => DbAsync(s.App, db => db.Assignments.CountAsync(Ct)), n => n == 2);

        var missing = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{budget}/reject", new { reason = "Other" }, TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Contains("\"text\"", await missing.Content.ReadAsStringAsync(Ct));

        var r1 = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{budget}/reject", new RejectRequest(RejectReason.NoBudget, "next year", null), TandemApp.ApiJson, Ct);
        Assert.Equal(LifecycleStage.Recycled, (await r1.Content.ReadFromJsonAsync<RejectView>(TandemApp.ApiJson, Ct))!.Stage);
        var r2 = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{spam}/reject", new RejectRequest(RejectReason.Spam, null, null), TandemApp.ApiJson, Ct);
        Assert.Equal(LifecycleStage.Disqualified, (await r2.Content.ReadFromJsonAsync<RejectView>(TandemApp.ApiJson, Ct))!.Stage);

        Assert.Equal(AssignmentState.Closed, Assert.Single(await AssignmentsAsync(s.App, budget)).State);
        var lead = await DbAsync(s.App, db => db.Leads.AsNoTracking().FirstAsync(l => l.Id == spam, Ct));
        Assert.Equal((LifecycleStage.Disqualified, WorkStatus.Rejected), (lead.Stage, lead.WorkStatus));
        var transition = await DbAsync(s.App, db => db.StageTransitions.AsNoTracking().SingleAsync(t => t.LeadId == budget && t.To == LifecycleStage.Recycled, Ct));
        Assert.Equal("handoff:reject:NoBudget", transition.ByRule);
        Assert.Equal("NoBudget: next year", transition.Reason);
        var pending = await DbAsync(s.App, db => db.SlaTimers.CountAsync(t => t.Status == TimerStatus.Pending, Ct));
        Assert.Equal(0, pending);

        var again = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{spam}/reject", new RejectRequest(RejectReason.Spam, null, null), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
    }

    [Fact]
    public async Task ManagerReassignsByHandAndADeactivatedRepsLeadsAreRerouted()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var lead = await MakeMqlAsync(s.App, s.Admin, "hand@acme.example");
        var first = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count > 0));
        var other = first.RepId == s.Rep1 ? s.Rep2 : s.Rep1;

        var manual = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{lead}/reassign", new ReassignRequest(other, "knows the account"), TandemApp.ApiJson, Ct);
        Assert.True(manual.IsSuccessStatusCode, await manual.Content.ReadAsStringAsync(Ct));
        var view = (await manual.Content.ReadFromJsonAsync<AssignmentView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal((other, RoutingPath.Manual), (view.RepId, view.Decision!.Path));
        Assert.Contains("knows the account", view.Decision.Reason);

        // Deactivating the new owner sends the lead back through the rules, to the only active member left.
        var deactivate = await s.Admin.PostAsync($"/api/v1/users/{other}/deactivate", null, Ct);
        Assert.True(deactivate.IsSuccessStatusCode, await deactivate.Content.ReadAsStringAsync(Ct));
        var all = await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count == 3);
        Assert.Equal(3, all.Count);
        Assert.Equal(first.RepId, all.Single(x => x.IsOpen).RepId);
    }

    [Fact]
    public async Task InvalidConfigurationGetsFieldErrorsAndChangesNothing()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        async Task<string> BadAsync(HttpResponseMessage r)
        {
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            return await r.Content.ReadAsStringAsync(Ct);
        }

        var rules = await BadAsync(await s.Admin.PutAsJsonAsync("/api/v1/routing/rules", new RulesRequest(Guid.NewGuid(),
        [
            new RuleRequest(null, 10, "", true, [new RoutingCondition(LeadField.CompanySize, ConditionOperator.GreaterOrEqual, ["many"])], new RoutingTarget(null, Guid.NewGuid())),
        ]), TandemApp.ApiJson, Ct));
        Assert.Contains("\"defaultTeamId\"", rules);
        Assert.Contains("\"rules[0].name\"", rules);
        Assert.Contains("\"rules[0].conditions[0].values[0]\"", rules);

        var sla = await BadAsync(await s.Admin.PutAsJsonAsync("/api/v1/handoff/sla-policies",
            new SlaRequest([new SlaPolicy(SlaTier.Hot, 0, [80, 50], 15, 6, 5)], null), TandemApp.ApiJson, Ct));
        Assert.Contains("\"policies[0].firstTouchMinutes\"", sla);
        Assert.Contains("\"policies[0].reminderPercents[1]\"", sla);
        Assert.Contains("\"policies\"", sla);

        var team = await BadAsync(await s.Admin.PostAsJsonAsync("/api/v1/handoff/teams",
            new TeamRequest("Inside sales", null, RoutingStrategy.RoundRobin, OverflowPolicy.Manager, [new MemberRequest(Guid.NewGuid(), 0)]), TandemApp.ApiJson, Ct));
        Assert.Contains("\"name\"", team);
        Assert.Contains("\"managerUserId\"", team);
        Assert.Contains("\"members[0].userId\"", team);
        Assert.Contains("\"members[0].weight\"", team);

        var rep = await BadAsync(await s.Admin.PutAsJsonAsync($"/api/v1/handoff/reps/{s.Rep1}",
            new RepRequest(new WorkCalendar("Mars/Olympus", []), -1, null), TandemApp.ApiJson, Ct));
        Assert.Contains("\"calendar.timeZoneId\"", rep);
        Assert.Contains("\"maxOpenMqls\"", rep);

        // Nothing was changed: one team, no rules, the default policies.
        var policies = (await s.Admin.GetFromJsonAsync<SlaView>("/api/v1/handoff/sla-policies", TandemApp.ApiJson, Ct))!;
        Assert.Equal(SlaPolicy.Defaults.Select(p => (p.Tier, p.FirstTouchMinutes)), policies.Policies.Select(p => (p.Tier, p.FirstTouchMinutes)));
        Assert.Empty((await s.Admin.GetFromJsonAsync<RulesView>("/api/v1/routing/rules", TandemApp.ApiJson, Ct))!.Rules);
        Assert.Single((await s.Admin.GetFromJsonAsync<List<TeamView>>("/api/v1/handoff/teams", TandemApp.ApiJson, Ct))!);

        // A valid policy set is stored and used.
        var ok = await s.Admin.PutAsJsonAsync("/api/v1/handoff/sla-policies",
            new SlaRequest([.. SlaPolicy.Defaults.Select(p => p.Tier == SlaTier.Hot ? p with { FirstTouchMinutes = 30 } : p)], null), TandemApp.ApiJson, Ct);
        Assert.True(ok.IsSuccessStatusCode, await ok.Content.ReadAsStringAsync(Ct));
        var lead = await MakeMqlAsync(s.App, s.Admin, "thirty@acme.example");
        var a = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count > 0));
        Assert.Equal(Monday10.AddMinutes(30), a.FirstTouchDueAt);
    }

    [Fact]
    public async Task RestartWithPendingTimersStillEscalatesExactlyOnce()
    {
        var clock = new FakeTimeProvider(Monday10);
        // The owner holds the database for the whole test (never started; disposing it drops the database).
        await using var owner = await TandemApp.CreateAsync(provider, Settings());
        var s = await StartAsync(provider, clock: clock, app: await StartAppAsync(provider, clock, owner.ConnectionString));
        Guid lead;
        Guid assignmentId;
        await using (s.App)
        {
            lead = await MakeMqlAsync(s.App, s.Admin, "restart@acme.example");
            assignmentId = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(s.App, lead), x => x.Count > 0)).Id;
        }

        var later = new FakeTimeProvider(Monday10.AddMinutes(65));
        await using var second = await StartAppAsync(provider, later, owner.ConnectionString);
        var breached = Assert.Single(await EventuallyAsync(() => AssignmentsAsync(second, lead), x => x.Single().State == AssignmentState.Breached));
        Assert.Equal(Monday10.AddHours(1), breached.BreachedAt);
        await Task.Delay(500, Ct);
        Assert.Single(await NotificationsAsync(second, "handoff.breach", s.Manager));
        Assert.Equal(1, second.Services.GetRequiredService<HandoffCounters>().Breaches);
        var timers = await DbAsync(second, db => db.SlaTimers.AsNoTracking().Where(t => t.AssignmentId == assignmentId).ToListAsync(Ct));
        // The reminders found after the breach are dropped, not sent late.
        Assert.Equal(TimerStatus.Done, timers.Single(t => t.Kind == TimerKind.Breach).Status);
        Assert.All(timers.Where(t => t.Kind == TimerKind.Reminder), t => Assert.Equal(TimerStatus.Cancelled, t.Status));
        Assert.Empty(await NotificationsAsync(second, "handoff.reminder", breached.RepId!.Value));
        Assert.Equal(TimerStatus.Pending, timers.Single(t => t.Kind == TimerKind.Reassign).Status);
    }
}

public sealed class HandoffOnSqlite() : HandoffTests(DatabaseProvider.Sqlite);

public sealed class HandoffOnPostgres() : HandoffTests(DatabaseProvider.Postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoInstancesOverOneDatabaseAssignEachLeadOnceAndEscalateEachBreachOnce()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var owner = await TandemApp.CreateAsync(DatabaseProvider.Postgres);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tandem"] = owner.ConnectionString,
            ["Tandem:Qualification:PollMilliseconds"] = "50",
            ["Tandem:Qualification:DecayMinutes"] = "0",
            ["Tandem:Handoff:PollMilliseconds"] = "50",
            ["Tandem:Handoff:BatchSize"] = "5",
            ["Tandem:Notifications:RunDispatcher"] = "false",
        };
        await using var a = await TandemApp.CreateAsync(DatabaseProvider.Postgres, settings, createDatabase: false);
        a.TestServices = s =>
        {
            s.AddSingleton<TimeProvider>(clock);
            if (Environment.GetEnvironmentVariable("HANDOFF_DEBUG") is not null)
                s.AddLogging(l => l.AddSimpleConsole());
        };
        var admin = a.CreateApiClient(await a.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        await using var b = await TandemApp.CreateAsync(DatabaseProvider.Postgres, settings, createDatabase: false);
        b.TestServices = s => s.AddSingleton<TimeProvider>(clock);

        var reps = new List<Guid>();
        for (var i = 0; i < 3; i++)
            reps.Add((await a.CreateUserAsync($"rep{i}@example.com", Roles.Sales)).Id);
        var (manager, _) = await a.CreateUserAsync("boss@example.com", Roles.SalesManager);
        var calendar = WorkCalendar.Weekdays("UTC", ("09:00", "18:00"));
        foreach (var rep in reps)
            Assert.True((await admin.PutAsJsonAsync($"/api/v1/handoff/reps/{rep}", new RepRequest(calendar, null, null), TandemApp.ApiJson, Ct)).IsSuccessStatusCode);
        var team = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
            new TeamRequest("Team", manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [.. reps.Select(r => new MemberRequest(r, 1))]), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, team.StatusCode);
        var created = await admin.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "x" }, TandemApp.ApiJson, Ct);
        var draft = (await created.Content.ReadFromJsonAsync<VersionDetail>(TandemApp.ApiJson, Ct))!;
        await admin.PutAsJsonAsync($"/api/v1/qualification/versions/{draft.Version.Id}",
            new DraftRequest(QualificationApiTests.HandDefinition(), "x", draft.Version.Revision), TandemApp.ApiJson, Ct);
        Assert.True((await admin.PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/activate", null, Ct)).IsSuccessStatusCode);

        // B starts after the activation: its active-definition cache rechecks by the (frozen) injected clock.
        var clients = new[] { admin, b.CreateApiClient(await b.CreateApiKeyAsync(Scopes.Ingest)) };
        var ids = new Guid[50];
        await Parallel.ForAsync(0, 50, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
        {
            var r = await clients[i % 2].PostAsync("/api/v1/leads",
                new StringContent($$"""{"email":"lead{{i}}@acme.example","jobTitle":"CFO","companySize":120}""", Encoding.UTF8, "application/json"), ct);
            ids[i] = (await r.Content.ReadFromJsonAsync<CaptureLeadResponse>(TandemApp.ApiJson, ct))!.Id;
        });
        // Scored first (see MakeMqlAsync: with a frozen clock a re-dirty during scoring can be lost).
        var scoredBy = DateTime.UtcNow.AddSeconds(60);
        while (await a.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AnyAsync(l => l.ScoreDirtyAt != null, Ct)) && DateTime.UtcNow < scoredBy)
            await Task.Delay(100, Ct);
        await Parallel.ForAsync(0, 50, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = Ct }, async (i, ct) =>
            Assert.True((await clients[i % 2].PostAsync("/api/v1/activities",
                new StringContent($$"""{"leadId":"{{ids[i]}}","type":"DemoRequest"}""", Encoding.UTF8, "application/json"), ct)).IsSuccessStatusCode));

        async Task<List<Assignment>> AllAsync() => await a.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Assignments.AsNoTracking().ToListAsync(Ct));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var rows = await AllAsync();
        while (rows.Count < 50 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, Ct);
            rows = await AllAsync();
        }
        if (rows.Count != 50)
        {
            var leads = await a.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking()
                .Select(l => new { l.Stage, l.Grade, l.EngagementScore, Dirty = l.ScoreDirtyAt != null }).ToListAsync(Ct));
            var acts = await a.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.AsNoTracking().GroupBy(x => x.Type).Select(g => new { g.Key, C = g.Count() }).ToListAsync(Ct));
            Assert.Fail(string.Join(";", leads.GroupBy(l => l).Select(g => $"{g.Key} x{g.Count()}")) + " | " + string.Join(";", acts));
        }
        Assert.Equal(50, rows.Select(r => r.LeadId).Distinct().Count());
        Assert.All(rows, r => Assert.NotNull(r.RepId));
        var ca = a.Services.GetRequiredService<HandoffCounters>();
        var cb = b.Services.GetRequiredService<HandoffCounters>();
        Assert.Equal(50, ca.Assigned + cb.Assigned);
        // Round robin over persisted counters stays fair across both instances.
        var counts = rows.GroupBy(r => r.RepId).Select(g => g.Count()).ToList();
        Assert.True(counts.Max() - counts.Min() <= 1, string.Join(",", counts));

        clock.SetUtcNow(new DateTimeOffset(2026, 11, 23, 11, 5, 0, TimeSpan.Zero)); // after the breach, before the reassignment
        deadline = DateTime.UtcNow.AddSeconds(60);
        while ((rows = await AllAsync()).Any(r => r.State != AssignmentState.Breached) && DateTime.UtcNow < deadline)
            await Task.Delay(100, Ct);
        Assert.All(rows, r => Assert.Equal(AssignmentState.Breached, r.State));
        await Task.Delay(500, Ct);
        Assert.Equal(50, ca.Breaches + cb.Breaches);
        var managerAlerts = await a.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .CountAsync(n => n.Kind == "handoff.breach" && n.RecipientUserId == manager && n.Channel == NotificationChannel.InApp, Ct));
        Assert.Equal(50, managerAlerts);
        var claimers = await a.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().SlaTimers.AsNoTracking()
            .Where(t => t.Kind == TimerKind.Breach).Select(t => t.ClaimedBy).Distinct().CountAsync(Ct));
        Assert.True(claimers >= 1);
    }
}
