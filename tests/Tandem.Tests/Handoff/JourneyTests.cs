using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Data;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Features.Qualification.Scoring;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Handoff;

/// <summary>
/// The journeys of issue #18 that broke between features, on real databases: a web form's intent reaching the MQL rule and
/// routing, a lead moved to MQL by hand routed like any other, a touch keeping the rep's outcome.
/// </summary>
public abstract class JourneyTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Monday 10:00 UTC, inside the reps' 09:00–18:00 UTC hours.
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private sealed record Setup(TandemApp App, HttpClient Admin, FakeTimeProvider Clock, Guid Rep1, Guid Rep2, Guid Manager, Guid TeamId,
        Dictionary<Guid, (string Email, string Password)> Logins);

    /// <summary>Two reps in a round-robin team (default), and the starter definition the demo uses, active.</summary>
    private static async Task<Setup> StartAsync(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(Monday10);
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Qualification:PollMilliseconds"] = "100",
            ["Tandem:Qualification:JobPollMilliseconds"] = "100",
            ["Tandem:Qualification:DecayMinutes"] = "0",
            ["Tandem:Handoff:PollMilliseconds"] = "100",
            ["Tandem:Webhooks:AllowPrivateTargets"] = "true",
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerIp"] = "1000",
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerForm"] = "1000",
        });
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var (rep1, password1) = await app.CreateUserAsync("rep1@example.com", Roles.Sales);
        var (rep2, password2) = await app.CreateUserAsync("rep2@example.com", Roles.Sales);
        var (manager, _) = await app.CreateUserAsync("boss@example.com", Roles.SalesManager);
        var calendar = WorkCalendar.Weekdays("UTC", ("09:00", "18:00"));
        foreach (var rep in new[] { rep1, rep2, manager })
        {
            var put = await admin.PutAsJsonAsync($"/api/v1/handoff/reps/{rep}", new RepRequest(calendar, null, null), TandemApp.ApiJson, Ct);
            Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));
        }
        var team = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
            new TeamRequest("Inside sales", manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [new MemberRequest(rep1, 1), new MemberRequest(rep2, 1)]),
            TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, team.StatusCode);
        var teamId = (await team.Content.ReadFromJsonAsync<TeamView>(TandemApp.ApiJson, Ct))!.Id;
        await ActivateAsync(admin, DefinitionTools.Starter([]) with { CompetitorDomains = ["ledgerly.example"] });
        return new Setup(app, admin, clock, rep1, rep2, manager, teamId,
            new() { [rep1] = ("rep1@example.com", password1), [rep2] = ("rep2@example.com", password2) });
    }

    private static async Task ActivateAsync(HttpClient admin, QualificationDefinition definition)
    {
        var created = await admin.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "journeys" }, TandemApp.ApiJson, Ct);
        var draft = (await created.Content.ReadFromJsonAsync<VersionDetail>(TandemApp.ApiJson, Ct))!;
        var saved = await admin.PutAsJsonAsync($"/api/v1/qualification/versions/{draft.Version.Id}",
            new DraftRequest(definition, "journeys", draft.Version.Revision), TandemApp.ApiJson, Ct);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Ct));
        var activated = await admin.PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/activate", null, Ct);
        Assert.True(activated.IsSuccessStatusCode, await activated.Content.ReadAsStringAsync(Ct));
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

    private static Task<Lead> LeadAsync(TandemApp app, Guid id) => DbAsync(app, db => db.Leads.AsNoTracking().FirstAsync(l => l.Id == id, Ct));

    private static Task<Lead?> LeadByEmailAsync(TandemApp app, string email) =>
        DbAsync(app, db => db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Email == email, Ct));

    private static async Task<FormDto> CreateFormAsync(HttpClient admin, string name, string? intent)
    {
        var response = await admin.PostAsJsonAsync("/api/v1/forms", new Dictionary<string, object?>
        {
            ["name"] = name,
            ["intent"] = intent,
            ["fields"] = new object[]
            {
                new { name = "email", label = "Work email", required = true, type = "Email" },
                new { name = "firstName", label = "First name" },
                new { name = "jobTitle", label = "Job title" },
                new { name = "companySize", label = "Company size", type = "Number" },
                new { name = "country", label = "Country" },
            },
            ["minFillSeconds"] = 0,
        }, TandemApp.ApiJson, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<FormDto>(TandemApp.ApiJson, Ct))!;
    }

    private static async Task SubmitAsync(TandemApp app, FormDto form, string email)
    {
        var response = await app.CreateApiClient().PostAsync($"/f/{form.Key}", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["email"] = email,
            ["firstName"] = "Claire",
            ["jobTitle"] = "CFO",
            ["companySize"] = "120",
            ["country"] = "FR",
        }), Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task ADemoRequestFormMakesAnMqlThatIsRoutedWhileAPlainFormDoesNot()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;

        // A wrong intent is a field error and creates nothing.
        var bad = await s.Admin.PostAsJsonAsync("/api/v1/forms", new
        {
            name = "Bad",
            intent = "buy-now",
            fields = new object[] { new { name = "email", label = "Email" } },
        }, TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains("ContactSales", problem.GetProperty("errors").GetProperty("intent")[0].GetString());
        Assert.Equal(0, await DbAsync(s.App, db => db.Set<LeadForm>().CountAsync(Ct)));

        var demo = await CreateFormAsync(s.Admin, "Request a demo", "contactSales");
        Assert.Equal((FormIntent.ContactSales, ActivityType.DemoRequest), (demo.Intent, demo.ActivityType));
        var plain = await CreateFormAsync(s.Admin, "Contact", null);
        Assert.Equal((FormIntent.Other, ActivityType.FormSubmission), (plain.Intent, plain.ActivityType));

        // A CFO of a 120-person company is grade B on the starter definition: a plain form is not enough for an MQL.
        await SubmitAsync(s.App, plain, "paul@acme.example");
        var paul = await EventuallyAsync(() => LeadByEmailAsync(s.App, "paul@acme.example"), l => l is { ScoredAt: not null, ScoreDirtyAt: null });
        Assert.Equal(LifecycleStage.Lead, paul!.Stage);
        Assert.Equal(ActivityType.FormSubmission, (await DbAsync(s.App, db => db.Activities.AsNoTracking().SingleAsync(a => a.LeadId == paul.Id, Ct))).Type);

        // The demo request form records a demo request: the MQL rule holds and the lead goes to a rep of the team.
        await SubmitAsync(s.App, demo, "claire@acme.example");
        var claire = await EventuallyAsync(() => LeadByEmailAsync(s.App, "claire@acme.example"), l => l is { OwnerId: not null });
        Assert.Equal(LifecycleStage.Mql, claire!.Stage);
        Assert.Contains(claire.OwnerId!.Value, new[] { s.Rep1, s.Rep2 });
        var activity = await DbAsync(s.App, db => db.Activities.AsNoTracking().SingleAsync(a => a.LeadId == claire.Id, Ct));
        Assert.Equal((ActivityType.DemoRequest, "form:" + demo.Key), (activity.Type, activity.Source));
        var assignment = Assert.Single(await AssignmentsAsync(s.App, claire.Id));
        Assert.Equal((AssignmentState.Open, claire.OwnerId), (assignment.State, assignment.RepId));
        Assert.Equal(SlaTier.Hot, assignment.Tier);

        // Changing the intent of the plain form changes what its next submission records.
        var update = await s.Admin.PutAsJsonAsync($"/api/v1/forms/{plain.Id}", new
        {
            name = "Contact",
            intent = "WebinarRegistration",
            fields = plain.Fields,
        }, TandemApp.ApiJson, Ct);
        Assert.True(update.IsSuccessStatusCode, await update.Content.ReadAsStringAsync(Ct));
        Assert.Equal(FormIntent.WebinarRegistration, (await update.Content.ReadFromJsonAsync<FormDto>(TandemApp.ApiJson, Ct))!.Intent);
    }

    /// <summary>A lead the MQL rule does not qualify: an analyst with no engagement beyond the capture.</summary>
    private static async Task<Guid> CaptureColdLeadAsync(Setup s, string email, string firstName)
    {
        var response = await s.Admin.PostAsJsonAsync("/api/v1/leads", new { email, firstName, lastName = "Martin", jobTitle = "Analyst", country = "FR" }, TandemApp.ApiJson, Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
        await EventuallyAsync(() => LeadAsync(s.App, id), l => l.ScoredAt is not null && l.ScoreDirtyAt is null);
        return id;
    }

    [Fact]
    public async Task ALeadMovedToMqlByHandIsRoutedAtOnceAndShowsInTheRepsInbox()
    {
        await using var sink = await HttpSink.StartAsync();
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var endpoint = await s.Admin.PostAsJsonAsync("/api/v1/webhook-endpoints", new { url = sink.Url, events = new[] { "lead.mql" } }, Ct);
        Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);
        var id = await CaptureColdLeadAsync(s, "jeanne@acme.example", "Jeanne");
        Assert.Equal(LifecycleStage.Lead, (await LeadAsync(s.App, id)).Stage);

        var moved = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{id}/stage", new { action = "advance", to = "Mql", reason = "Called us for a quote" }, TandemApp.ApiJson, Ct);
        Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync(Ct));

        // Routed in the same transaction as the move: no waiting for a background pass.
        var lead = await LeadAsync(s.App, id);
        Assert.Equal((LifecycleStage.Mql, WorkStatus.New), (lead.Stage, lead.WorkStatus));
        Assert.NotNull(lead.OwnerId);
        var assignment = Assert.Single(await AssignmentsAsync(s.App, id));
        Assert.Equal((AssignmentState.Open, lead.OwnerId, RoutingPath.TeamStrategy), (assignment.State, assignment.RepId, assignment.Path));
        Assert.NotNull(assignment.FirstTouchDueAt);
        var notified = await DbAsync(s.App, db => db.Set<Features.Platform.Notifications.Notification>().AsNoTracking()
            .CountAsync(n => n.Kind == "handoff.assigned" && n.RecipientUserId == lead.OwnerId, Ct));
        Assert.True(notified > 0);

        var (email, password) = s.Logins[lead.OwnerId!.Value];
        var browser = s.App.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, email, password);
        Assert.Contains("Jeanne", await browser.GetStringAsync("/inbox", Ct));

        // Integrations hear of a manual MQL exactly as of a rule-made one: one lead.mql event naming the manual move.
        var mql = await EventuallyAsync(() => Task.FromResult(sink.Received.Select(r => JsonDocument.Parse(r.Body).RootElement).ToList()), r => r.Count > 0);
        var evt = Assert.Single(mql);
        Assert.Equal("lead.mql", evt.GetProperty("type").GetString());
        Assert.Equal(id, evt.GetProperty("data").GetProperty("lead").GetProperty("id").GetGuid());
        Assert.Equal("Called us for a quote", evt.GetProperty("data").GetProperty("reason").GetString());

        // A later scoring pass leaves the routed MQL alone: still one assignment.
        var touch = await s.Admin.PostAsJsonAsync("/api/v1/activities", new { leadId = id, type = "PageView" }, TandemApp.ApiJson, Ct);
        Assert.True(touch.IsSuccessStatusCode, await touch.Content.ReadAsStringAsync(Ct));
        await EventuallyAsync(() => LeadAsync(s.App, id), l => l.ScoreDirtyAt is null);
        Assert.Single(await AssignmentsAsync(s.App, id));
    }

    [Fact]
    public async Task AnMqlThatWasNeverRoutedIsRoutedByTheNextScoringPass()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var id = await CaptureColdLeadAsync(s, "marc@acme.example", "Marc");
        // What a source system, an import or data from before routing leaves behind: an MQL nobody was told about.
        await DbAsync(s.App, async db =>
        {
            var lead = await db.Leads.FirstAsync(l => l.Id == id, Ct);
            LeadStages.Record(db, lead, LifecycleStage.Mql, new Actor(null, "import"), "capture:import", "Stage given by the source system", s.Clock.GetUtcNow());
            ScoringFacts.RequestScore(lead, s.Clock.GetUtcNow().AddTicks(1));
            return await db.SaveChangesAsync(Ct);
        });
        s.App.Services.GetRequiredService<ScoringSignal>().Wake();
        var routed = await EventuallyAsync(() => LeadAsync(s.App, id), l => l.OwnerId is not null);
        Assert.Contains(routed.OwnerId!.Value, new[] { s.Rep1, s.Rep2 });
        Assert.Equal(AssignmentState.Open, Assert.Single(await AssignmentsAsync(s.App, id)).State);
    }

    [Fact]
    public async Task ATouchThatConnectedKeepsTheOutcomeTheRepWrote()
    {
        var s = await StartAsync(provider);
        await using var _ = s.App;
        var id = await CaptureColdLeadAsync(s, "lucie@acme.example", "Lucie");
        var moved = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{id}/stage", new { action = "advance", to = "Mql", reason = "Asked for a call back" }, TandemApp.ApiJson, Ct);
        Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync(Ct));

        // A note cannot connect: a field error, nothing written.
        var note = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{id}/touches", new TouchRequest("note", "met at the fair", null, Connected: true), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, note.StatusCode);
        Assert.Contains("\"connected\"", await note.Content.ReadAsStringAsync(Ct));

        s.Clock.Advance(TimeSpan.FromMinutes(7));
        var touch = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{id}/touches",
            new TouchRequest("call", "Interested: wants pricing for 3 entities", "CFO, decides with the CEO", Connected: true), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, touch.StatusCode);
        var view = (await touch.Content.ReadFromJsonAsync<TouchView>(TandemApp.ApiJson, Ct))!;
        Assert.True(view.Connected);
        Assert.True(view.FirstTouch);

        var activity = await DbAsync(s.App, db => db.Activities.AsNoTracking().SingleAsync(a => a.Id == view.ActivityId, Ct));
        Assert.Equal("Interested: wants pricing for 3 entities", activity.Outcome);
        var properties = JsonDocument.Parse(activity.Properties!).RootElement;
        Assert.True(properties.GetProperty("connected").GetBoolean());
        Assert.Equal("CFO, decides with the CEO", properties.GetProperty("note").GetString());
        Assert.Equal(WorkStatus.Connected, (await LeadAsync(s.App, id)).WorkStatus);
        var assignment = Assert.Single(await AssignmentsAsync(s.App, id));
        Assert.Equal(Monday10.AddMinutes(7), assignment.ConnectedAt);
        var cadenceTimer = await DbAsync(s.App, db => db.SlaTimers.AsNoTracking().SingleAsync(t => t.AssignmentId == assignment.Id && t.Kind == TimerKind.AttemptsEnd, Ct));
        Assert.Equal(TimerStatus.Cancelled, cadenceTimer.Status);

        // Without the box ticked, the outcome is just an outcome.
        var second = await s.Admin.PostAsJsonAsync($"/api/v1/leads/{id}/touches", new TouchRequest("email", "sent the deck", null), TandemApp.ApiJson, Ct);
        var secondView = (await second.Content.ReadFromJsonAsync<TouchView>(TandemApp.ApiJson, Ct))!;
        Assert.False(secondView.Connected);
        Assert.Equal("sent the deck", (await DbAsync(s.App, db => db.Activities.AsNoTracking().SingleAsync(a => a.Id == secondView.ActivityId, Ct))).Outcome);
    }
}

public sealed class JourneysOnSqlite() : JourneyTests(DatabaseProvider.Sqlite);

public sealed class JourneysOnPostgres() : JourneyTests(DatabaseProvider.Postgres);
