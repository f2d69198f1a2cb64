using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
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

/// <summary>The cadence rule itself (pure).</summary>
public sealed class HandoffCadenceRuleTests
{
    [Theory]
    [InlineData(0, 3, false, false, CadenceVerdict.Continue)]
    [InlineData(2, 3, false, false, CadenceVerdict.Continue)]
    [InlineData(3, 3, false, false, CadenceVerdict.RecycleAttempts)]
    [InlineData(4, 3, false, true, CadenceVerdict.RecycleAttempts)]
    [InlineData(1, 3, false, true, CadenceVerdict.RecycleWindow)]
    [InlineData(3, 3, true, true, CadenceVerdict.Connected)]
    [InlineData(0, 3, true, false, CadenceVerdict.Connected)]
    public void ConnectionWinsThenKAttemptsThenTheWindow(int made, int attempts, bool connected, bool windowEnded, CadenceVerdict expected) =>
        Assert.Equal(expected, HandoffCadence.Decide(made, attempts, connected, windowEnded));

    [Fact]
    public void ReasonsSayWhyTheLeadWasRecycled()
    {
        Assert.Equal("SLA cadence: 3 attempts without connection", HandoffCadence.Reason(CadenceVerdict.RecycleAttempts, 3, 3));
        Assert.Equal("SLA cadence: attempts window ended without connection (1 of 6 attempts)", HandoffCadence.Reason(CadenceVerdict.RecycleWindow, 1, 6));
        Assert.True(HandoffCadence.IsConnection(" Connected "));
        Assert.False(HandoffCadence.IsConnection("voicemail"));
        Assert.False(HandoffCadence.IsConnection(null));
    }
}

/// <summary>
/// The attempts cadence end to end: K attempts without a connection recycle the MQL once, so does the end of the
/// attempts window (a timer row, exactly once across a restart and two instances), and a connection stops it.
/// </summary>
public abstract class HandoffCadenceTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Monday 10:00 UTC; the reps work 09:00–18:00 UTC on weekdays. A hot MQL gets 6 attempts within 5 working days
    // (the window ends Friday 18:00) unless the test shortens it.
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    internal static Dictionary<string, string?> Settings(string? connectionString = null)
    {
        var s = new Dictionary<string, string?>
        {
            ["Tandem:Qualification:PollMilliseconds"] = "100",
            ["Tandem:Qualification:JobPollMilliseconds"] = "100",
            ["Tandem:Qualification:DecayMinutes"] = "0",
            ["Tandem:Handoff:PollMilliseconds"] = "100",
            ["Tandem:Notifications:RunDispatcher"] = "false",
        };
        if (connectionString is not null)
            s["ConnectionStrings:Tandem"] = connectionString;
        return s;
    }

    private sealed record Setup(TandemApp App, HttpClient Admin, FakeTimeProvider Clock, Guid Rep, Guid Manager);

    private static async Task<TandemApp> StartAppAsync(DatabaseProvider provider, FakeTimeProvider clock, string? connectionString = null)
    {
        var app = await TandemApp.CreateAsync(provider, Settings(connectionString), createDatabase: connectionString is null);
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        return app;
    }

    /// <summary>One rep and a manager working 09:00–18:00 UTC, one team, the hand definition active, hot attempts set to <paramref name="hotAttempts"/>.</summary>
    internal static async Task<(HttpClient Admin, Guid Rep, Guid Manager)> ConfigureAsync(TandemApp app, int hotAttempts, int reps = 1)
    {
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var ids = new List<Guid>();
        for (var i = 0; i < reps; i++)
            ids.Add((await app.CreateUserAsync($"rep{i}@example.com", Roles.Sales)).Id);
        var (manager, _) = await app.CreateUserAsync("boss@example.com", Roles.SalesManager);
        var calendar = WorkCalendar.Weekdays("UTC", ("09:00", "18:00"));
        foreach (var id in ids.Append(manager))
            Assert.True((await admin.PutAsJsonAsync($"/api/v1/handoff/reps/{id}", new RepRequest(calendar, null, null), TandemApp.ApiJson, Ct)).IsSuccessStatusCode);
        var team = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
            new TeamRequest("Inside sales", manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [.. ids.Select(r => new MemberRequest(r, 1))]), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, team.StatusCode);
        var sla = await admin.PutAsJsonAsync("/api/v1/handoff/sla-policies",
            new SlaRequest([.. SlaPolicy.Defaults.Select(p => p.Tier == SlaTier.Hot ? p with { Attempts = hotAttempts } : p)], null), TandemApp.ApiJson, Ct);
        Assert.True(sla.IsSuccessStatusCode, await sla.Content.ReadAsStringAsync(Ct));
        var created = await admin.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "cadence" }, TandemApp.ApiJson, Ct);
        var draft = (await created.Content.ReadFromJsonAsync<VersionDetail>(TandemApp.ApiJson, Ct))!;
        var saved = await admin.PutAsJsonAsync($"/api/v1/qualification/versions/{draft.Version.Id}",
            new DraftRequest(QualificationApiTests.HandDefinition(), "cadence", draft.Version.Revision), TandemApp.ApiJson, Ct);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Ct));
        Assert.True((await admin.PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/activate", null, Ct)).IsSuccessStatusCode);
        return (admin, ids[0], manager);
    }

    private static async Task<Setup> StartAsync(DatabaseProvider provider, int hotAttempts = 3)
    {
        var clock = new FakeTimeProvider(Monday10);
        var app = await StartAppAsync(provider, clock);
        var (admin, rep, manager) = await ConfigureAsync(app, hotAttempts);
        return new Setup(app, admin, clock, rep, manager);
    }

    /// <summary>A CFO with a demo request: grade A, hot MQL, assigned at once (scored before the activity; see HandoffTests).</summary>
    internal static async Task<Guid> MakeMqlAsync(TandemApp app, HttpClient client, string email)
    {
        var response = await client.PostAsync("/api/v1/leads",
            new StringContent($$"""{"email":"{{email}}","firstName":"Claire","jobTitle":"CFO","companySize":120,"country":"DE"}""", Encoding.UTF8, "application/json"), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        var id = (await response.Content.ReadFromJsonAsync<CaptureLeadResponse>(TandemApp.ApiJson, Ct))!.Id;
        await EventuallyAsync(() => DbAsync(app, db => db.Leads.AsNoTracking().Where(l => l.Id == id).Select(l => l.ScoreDirtyAt).FirstAsync(Ct)), d => d is null);
        var activity = await client.PostAsync("/api/v1/activities",
            new StringContent($$"""{"leadId":"{{id}}","type":"DemoRequest"}""", Encoding.UTF8, "application/json"), Ct);
        Assert.True(activity.IsSuccessStatusCode, await activity.Content.ReadAsStringAsync(Ct));
        await EventuallyAsync(() => DbAsync(app, db => db.Assignments.CountAsync(a => a.LeadId == id && a.RepId != null, Ct)), n => n == 1);
        return id;
    }

    internal static Task<T> DbAsync<T>(TandemApp app, Func<TandemDb, Task<T>> action) =>
        app.WithServiceAsync(sp => action(sp.GetRequiredService<TandemDb>()));

    internal static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, int seconds = 30)
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

    private static async Task TouchAsync(HttpClient client, Guid lead, string type, string? outcome)
    {
        var r = await client.PostAsJsonAsync($"/api/v1/leads/{lead}/touches", new TouchRequest(type, outcome, null), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
    }

    private static Task<Lead> LeadAsync(TandemApp app, Guid id) => DbAsync(app, db => db.Leads.AsNoTracking().FirstAsync(l => l.Id == id, Ct));

    internal static Task<List<StageTransition>> RecyclesAsync(TandemApp app, Guid lead) =>
        DbAsync(app, db => db.StageTransitions.AsNoTracking().Where(t => t.LeadId == lead && t.To == LifecycleStage.Recycled).ToListAsync(Ct));

    private static Task<int> NotificationsAsync(TandemApp app, Guid recipient) =>
        DbAsync(app, db => db.Set<Notification>().CountAsync(n => n.Kind == "handoff.recycled" && n.RecipientUserId == recipient && n.Channel == NotificationChannel.InApp, Ct));

    private static Task<Assignment> AssignmentAsync(TandemApp app, Guid lead) => DbAsync(app, db => db.Assignments.AsNoTracking().SingleAsync(a => a.LeadId == lead, Ct));

    [Fact]
    public async Task KAttemptsWithoutConnectionRecycleTheMqlOnce()
    {
        var s = await StartAsync(provider, hotAttempts: 3);
        await using var _ = s.App;
        var lead = await MakeMqlAsync(s.App, s.Admin, "k@acme.example");
        var planned = await AssignmentAsync(s.App, lead);
        Assert.Equal(3, planned.Attempts);
        var timer = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().SingleAsync(t => t.AssignmentId == planned.Id && t.Kind == TimerKind.AttemptsEnd, Ct));
        Assert.Equal(planned.AttemptsDueAt, timer.DueAt);
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 18, 0, 0, TimeSpan.Zero), timer.DueAt); // the end of the 5th working day

        s.Clock.SetUtcNow(Monday10.AddMinutes(10));
        await TouchAsync(s.Admin, lead, "call", "no answer");
        // The first touch stops the SLA clock but not the cadence.
        Assert.Equal(TimerStatus.Pending, (await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().SingleAsync(t => t.Id == timer.Id, Ct))).Status);
        await TouchAsync(s.Admin, lead, "note", null); // a note is not an attempt
        s.Clock.SetUtcNow(Monday10.AddHours(3));
        await TouchAsync(s.Admin, lead, "email", "sent");
        var midway = await LeadAsync(s.App, lead);
        Assert.Equal((LifecycleStage.Mql, WorkStatus.Attempting), (midway.Stage, midway.WorkStatus));

        s.Clock.SetUtcNow(Monday10.AddDays(1));
        await TouchAsync(s.Admin, lead, "call", "voicemail");
        var recycled = await LeadAsync(s.App, lead);
        Assert.Equal((LifecycleStage.Recycled, WorkStatus.Rejected), (recycled.Stage, recycled.WorkStatus));
        var transition = Assert.Single(await RecyclesAsync(s.App, lead));
        Assert.Equal(HandoffCadence.Rule, transition.ByRule);
        Assert.Equal("SLA cadence: 3 attempts without connection", transition.Reason);
        var closed = await AssignmentAsync(s.App, lead);
        Assert.Equal(AssignmentState.Closed, closed.State);
        Assert.Equal(0, await DbAsync(s.App, db => db.SlaTimers.CountAsync(t => t.AssignmentId == closed.Id && t.Status == TimerStatus.Pending, Ct)));
        Assert.Equal(1, await NotificationsAsync(s.App, s.Rep));
        Assert.Equal(1, await NotificationsAsync(s.App, s.Manager));

        // Further touches and the window's end change nothing.
        await TouchAsync(s.Admin, lead, "call", "no answer");
        s.Clock.SetUtcNow(Monday10.AddDays(6));
        await Task.Delay(400, Ct);
        Assert.Single(await RecyclesAsync(s.App, lead));
        Assert.Equal(1, await NotificationsAsync(s.App, s.Rep));
        var notMql = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{lead}/work-status", new WorkStatusRequest("Connected"), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, notMql.StatusCode);
        Assert.Contains("\"lead\"", await notMql.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task TheEndOfTheAttemptsWindowRecyclesTheMqlOnce()
    {
        var s = await StartAsync(provider, hotAttempts: 6);
        await using var _ = s.App;
        var lead = await MakeMqlAsync(s.App, s.Admin, "window@acme.example");
        var a = await AssignmentAsync(s.App, lead);
        s.Clock.SetUtcNow(Monday10.AddMinutes(5));
        await TouchAsync(s.Admin, lead, "call", "no answer");

        s.Clock.SetUtcNow(a.AttemptsDueAt!.Value.AddMinutes(-1));
        await Task.Delay(400, Ct);
        Assert.Equal(LifecycleStage.Mql, (await LeadAsync(s.App, lead)).Stage);

        s.Clock.SetUtcNow(a.AttemptsDueAt!.Value.AddMinutes(1));
        var recycled = await EventuallyAsync(() => LeadAsync(s.App, lead), l => l.Stage == LifecycleStage.Recycled);
        Assert.Equal(LifecycleStage.Recycled, recycled.Stage);
        await Task.Delay(400, Ct);
        var transition = Assert.Single(await RecyclesAsync(s.App, lead));
        Assert.Equal("SLA cadence: attempts window ended without connection (1 of 6 attempts)", transition.Reason);
        Assert.Null(transition.ByUserId);
        var timer = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().SingleAsync(t => t.AssignmentId == a.Id && t.Kind == TimerKind.AttemptsEnd, Ct));
        Assert.Equal(TimerStatus.Done, timer.Status);
        Assert.Equal(AssignmentState.Closed, (await AssignmentAsync(s.App, lead)).State);
        Assert.Equal(1, await NotificationsAsync(s.App, s.Rep));
        Assert.Equal(1, await NotificationsAsync(s.App, s.Manager));
        Assert.Equal(1, s.App.Services.GetRequiredService<HandoffCounters>().Recycled);
    }

    [Fact]
    public async Task AConnectionStopsTheCadence()
    {
        var s = await StartAsync(provider, hotAttempts: 2);
        await using var _ = s.App;
        var byTouch = await MakeMqlAsync(s.App, s.Admin, "touch@acme.example");
        var byStatus = await MakeMqlAsync(s.App, s.Admin, "status@acme.example");

        // A touch whose outcome is "connected" ends the cadence: more attempts and the window's end recycle nothing.
        await TouchAsync(s.Admin, byTouch, "call", "Connected");
        var connected = await AssignmentAsync(s.App, byTouch);
        Assert.Equal(Monday10, connected.ConnectedAt);
        Assert.Equal(WorkStatus.Connected, (await LeadAsync(s.App, byTouch)).WorkStatus);
        await TouchAsync(s.Admin, byTouch, "email", "sent");
        await TouchAsync(s.Admin, byTouch, "call", "no answer");
        Assert.Equal((LifecycleStage.Mql, WorkStatus.Connected), ((await LeadAsync(s.App, byTouch)).Stage, (await LeadAsync(s.App, byTouch)).WorkStatus));

        // The work-status endpoint: bad input gets field errors and changes nothing; Attempting, then Connected.
        async Task<HttpResponseMessage> MarkAsync(string? status) =>
            await s.Admin.PostAsJsonAsync($"/api/v1/leads/{byStatus}/work-status", new WorkStatusRequest(status), TandemApp.ApiJson, Ct);
        foreach (var bad in new[] { null, "Accepted", "2", "sleeping" })
        {
            var r = await MarkAsync(bad);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains("\"status\"", await r.Content.ReadAsStringAsync(Ct));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await s.Admin.PostAsJsonAsync($"/api/v1/leads/{Guid.NewGuid()}/work-status", new WorkStatusRequest("Connected"),
            TandemApp.ApiJson, Ct)).StatusCode);
        Assert.Equal(WorkStatus.New, (await LeadAsync(s.App, byStatus)).WorkStatus);
        var attempting = (await (await MarkAsync("attempting")).Content.ReadFromJsonAsync<CadenceView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal((WorkStatus.Attempting, 0, 2), (attempting.WorkStatus, attempting.AttemptsMade, attempting.Attempts));
        await TouchAsync(s.Admin, byStatus, "call", "no answer");
        var marked = await MarkAsync("Connected");
        Assert.Equal(HttpStatusCode.OK, marked.StatusCode);
        var view = (await marked.Content.ReadFromJsonAsync<CadenceView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal((WorkStatus.Connected, 1, 2), (view.WorkStatus, view.AttemptsMade, view.Attempts));
        Assert.NotNull(view.WindowEndsAt);
        var back = await MarkAsync("Attempting");
        Assert.Equal(HttpStatusCode.BadRequest, back.StatusCode);
        await TouchAsync(s.Admin, byStatus, "call", "no answer");

        s.Clock.SetUtcNow(Monday10.AddDays(8));
        await Task.Delay(600, Ct);
        Assert.Equal(LifecycleStage.Mql, (await LeadAsync(s.App, byTouch)).Stage);
        Assert.Equal(LifecycleStage.Mql, (await LeadAsync(s.App, byStatus)).Stage);
        Assert.Empty(await RecyclesAsync(s.App, byTouch));
        var timers = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().Where(t => t.Kind == TimerKind.AttemptsEnd).ToListAsync(Ct));
        Assert.Equal(2, timers.Count);
        Assert.All(timers, t => Assert.Equal((TimerStatus.Cancelled, "connected"), (t.Status, t.Outcome)));
    }

    [Fact]
    public async Task ARestartWithAPendingWindowTimerStillRecyclesExactlyOnce()
    {
        var clock = new FakeTimeProvider(Monday10);
        // The owner holds the database for the whole test (never started; disposing it drops the database).
        await using var owner = await TandemApp.CreateAsync(provider, Settings());
        Guid lead;
        DateTimeOffset windowEnd;
        await using (var first = await StartAppAsync(provider, clock, owner.ConnectionString))
        {
            var (admin, _, _) = await ConfigureAsync(first, hotAttempts: 4);
            lead = await MakeMqlAsync(first, admin, "restart@acme.example");
            windowEnd = (await AssignmentAsync(first, lead)).AttemptsDueAt!.Value;
            await TouchAsync(admin, lead, "call", "no answer");
        }

        var later = new FakeTimeProvider(windowEnd.AddHours(1));
        await using var second = await StartAppAsync(provider, later, owner.ConnectionString);
        var recycled = await EventuallyAsync(() => LeadAsync(second, lead), l => l.Stage == LifecycleStage.Recycled);
        Assert.Equal(LifecycleStage.Recycled, recycled.Stage);
        await Task.Delay(500, Ct);
        Assert.Single(await RecyclesAsync(second, lead));
        Assert.Equal(1, second.Services.GetRequiredService<HandoffCounters>().Recycled);
    }
}

public sealed class HandoffCadenceOnSqlite() : HandoffCadenceTests(DatabaseProvider.Sqlite);

public sealed class HandoffCadenceOnPostgres() : HandoffCadenceTests(DatabaseProvider.Postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TwoInstancesOverOneDatabaseRecycleEachLeadOnce()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var owner = await TandemApp.CreateAsync(DatabaseProvider.Postgres);
        var settings = Settings(owner.ConnectionString);
        settings["Tandem:Handoff:PollMilliseconds"] = "50";
        settings["Tandem:Handoff:BatchSize"] = "3";
        await using var a = await TandemApp.CreateAsync(DatabaseProvider.Postgres, settings, createDatabase: false);
        a.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        var (admin, _, _) = await ConfigureAsync(a, hotAttempts: 5, reps: 3);
        await using var b = await TandemApp.CreateAsync(DatabaseProvider.Postgres, settings, createDatabase: false);
        b.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        var clients = new[] { admin, b.CreateApiClient(await b.CreateApiKeyAsync(Scopes.Ingest)) };

        var leads = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            // Touched, so the SLA timers are out of the way and only the window's end remains.
            leads.Add(await MakeMqlAsync(a, clients[i % 2], $"lead{i}@acme.example"));
            var touched = await admin.PostAsJsonAsync($"/api/v1/leads/{leads[^1]}/touches", new TouchRequest("call", "no answer", null), TandemApp.ApiJson, Ct);
            Assert.Equal(HttpStatusCode.Created, touched.StatusCode);
        }
        var windowEnd = await DbAsync(a, db => db.Assignments.MaxAsync(x => x.AttemptsDueAt, Ct));

        clock.SetUtcNow(windowEnd!.Value.AddHours(1));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (await DbAsync(a, db => db.Leads.CountAsync(l => leads.Contains(l.Id) && l.Stage == LifecycleStage.Recycled, Ct)) < leads.Count
            && DateTime.UtcNow < deadline)
            await Task.Delay(100, Ct);
        await Task.Delay(500, Ct);
        var transitions = await DbAsync(a, db => db.StageTransitions.AsNoTracking()
            .Where(t => leads.Contains(t.LeadId) && t.To == LifecycleStage.Recycled).Select(t => t.LeadId).ToListAsync(Ct));
        Assert.Equal(leads.Order(), transitions.Order());
        var ca = a.Services.GetRequiredService<HandoffCounters>();
        var cb = b.Services.GetRequiredService<HandoffCounters>();
        Assert.Equal(leads.Count, ca.Recycled + cb.Recycled);
        var notes = await DbAsync(a, db => db.Set<Notification>().CountAsync(n => n.Kind == "handoff.recycled" && n.Channel == NotificationChannel.InApp, Ct));
        Assert.Equal(leads.Count * 2, notes); // the rep and the manager, once each
    }
}
