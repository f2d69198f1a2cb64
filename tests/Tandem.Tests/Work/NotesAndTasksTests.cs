using System.Net;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Work;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Work;

/// <summary>Notes and tasks through the API on both databases: CRUD, mentions, rights, bad input, sanitizing, My tasks (decision 021c).</summary>
public abstract class NotesAndTasksTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record World(TandemApp App, HttpClient Admin, Dictionary<string, HttpClient> Callers, Dictionary<string, Guid> Users,
        Dictionary<string, string> Names);

    private static async Task<World> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:Notifications:RunDispatcher"] = "false" });
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var callers = new Dictionary<string, HttpClient>();
        var ids = new Dictionary<string, Guid>();
        var names = new Dictionary<string, string>
        {
            ["repA"] = "Julie Bernard",
            ["repB"] = "Hugo Petit",
            ["managerA"] = "Thomas Girard",
            ["managerB"] = "Anne Roux",
            ["marketer"] = "Inès Moreau",
            ["admin"] = "Camille Laurent",
            ["gone"] = "Paul Parti",
        };
        foreach (var (name, role) in new[] { ("repA", Roles.Sales), ("repB", Roles.Sales), ("managerA", Roles.SalesManager), ("managerB", Roles.SalesManager),
                     ("marketer", Roles.Marketing), ("admin", Roles.Admin), ("gone", Roles.Sales) })
        {
            var (id, password) = await app.CreateUserAsync($"{name.ToLowerInvariant()}@example.com", role);
            var client = app.CreateBrowserClient();
            await TandemApp.SignInAsync(client, $"{name.ToLowerInvariant()}@example.com", password);
            callers[name] = client;
            ids[name] = id;
        }
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            foreach (var (key, id) in ids)
                await db.Users.Where(u => u.Id == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.DisplayName, names[key]).SetProperty(u => u.IsActive, key != "gone"), Ct);
            return 0;
        });
        foreach (var (team, manager, rep) in new[] { ("Team A", "managerA", "repA"), ("Team B", "managerB", "repB") })
        {
            var response = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
                new TeamRequest(team, ids[manager], RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [new MemberRequest(ids[rep], 1)]), TandemApp.ApiJson, Ct);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        }
        return new World(app, admin, callers, ids, names);
    }

    private static Task<Guid> LeadAsync(TandemApp app, Guid? owner, LifecycleStage stage = LifecycleStage.Sql, Guid? accountId = null) =>
        app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow;
            var lead = new Lead
            {
                Email = $"{Guid.NewGuid():N}@acme.example",
                FirstName = "Ada",
                LastName = "Buyer",
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

    private static Task<(int Notes, int Tasks)> CountsAsync(TandemApp app) =>
        app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await db.Notes.CountAsync(Ct), await db.Tasks.CountAsync(Ct));
        });

    private static StringContent Json(string raw) => new(raw, Encoding.UTF8, "application/json");

    private static async Task<Dictionary<string, string[]>> FieldErrorsAsync(HttpResponseMessage response)
    {
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{response.StatusCode}: {await response.Content.ReadAsStringAsync(Ct)}");
        var problem = await response.Content.ReadFromJsonAsync<ProblemShape>(Ct);
        return problem!.Errors!;
    }

    [Fact]
    public async Task NotesAreAddedListedEditedAndDeletedByTheirAuthorAndAudited()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var lead = await LeadAsync(app, world.Users["repA"]);
        var repA = world.Callers["repA"];

        var created = await repA.PostAsJsonAsync($"/api/v1/leads/{lead}/notes", new { body = "Called, left a voicemail." }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var note = (await created.Content.ReadFromJsonAsync<NoteView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal("Julie Bernard", note.AuthorName);
        Assert.Equal("Called, left a voicemail.", note.Text);

        var list = await repA.GetFromJsonAsync<List<NoteView>>($"/api/v1/leads/{lead}/notes", TandemApp.ApiJson, Ct);
        Assert.Equal([note.Id], list!.Select(n => n.Id));

        // Not the author: another rep (who cannot even read the lead) and the author's manager are refused; an admin may edit.
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["repB"].PatchAsJsonAsync($"/api/v1/notes/{note.Id}", new { body = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["managerA"].PatchAsJsonAsync($"/api/v1/notes/{note.Id}", new { body = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["managerA"].DeleteAsync($"/api/v1/notes/{note.Id}", Ct)).StatusCode);

        var edited = await repA.PatchAsJsonAsync($"/api/v1/notes/{note.Id}", new { body = "Called twice, left a voicemail." }, Ct);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        var after = (await edited.Content.ReadFromJsonAsync<NoteView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal("Called twice, left a voicemail.", after.Text);
        Assert.NotNull(after.EditedAt);
        Assert.Equal(HttpStatusCode.OK, (await world.Callers["admin"].PatchAsJsonAsync($"/api/v1/notes/{note.Id}", new { body = "Tidied by the admin." }, Ct)).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await repA.DeleteAsync($"/api/v1/notes/{note.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await repA.DeleteAsync($"/api/v1/notes/{note.Id}", Ct)).StatusCode);
        var audit = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().AuditEntries.Where(a => a.EntityType == "Note").Select(a => a.Action).ToListAsync(Ct));
        Assert.Equal(["note.created", "note.deleted", "note.edited", "note.edited"], audit.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AMentionNotifiesThePersonInAppOnceAndAPickedMentionToo()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var lead = await LeadAsync(app, world.Users["repA"]);

        var created = await world.Callers["repA"].PostAsJsonAsync($"/api/v1/leads/{lead}/notes",
            new { body = "@Thomas Girard can you join the call? cc @inès moreau", mentions = new[] { world.Users["managerB"] } }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var note = (await created.Content.ReadFromJsonAsync<NoteView>(TandemApp.ApiJson, Ct))!;
        // Editing with the same mentions sends nothing new.
        Assert.Equal(HttpStatusCode.OK, (await world.Callers["repA"].PatchAsJsonAsync($"/api/v1/notes/{note.Id}",
            new { body = "@Thomas Girard can you join the call on Friday?" }, Ct)).StatusCode);

        var sent = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>().AsNoTracking()
            .Where(n => n.Kind == "note.mention").ToListAsync(Ct));
        Assert.Equal(new[] { world.Users["managerA"], world.Users["managerB"], world.Users["marketer"] }.Order(), sent.Select(n => n.RecipientUserId!.Value).Order());
        Assert.All(sent, n => Assert.Equal(NotificationChannel.InApp, n.Channel));
        Assert.All(sent, n => Assert.Equal($"/leads/{lead}", n.Link));
        Assert.Contains("Julie Bernard mentioned you", sent[0].Subject, StringComparison.Ordinal);

        var mine = await world.Callers["managerA"].GetStringAsync("/api/v1/me/notifications", Ct);
        Assert.Contains("mentioned you", mine, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachPersonAnnotatesOnlyTheLeadsThePolicyGivesThemAndNothingIsWrittenOtherwise()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var own = await LeadAsync(app, world.Users["repA"]);
        var other = await LeadAsync(app, world.Users["repB"]);
        var due = DateTimeOffset.UtcNow.AddDays(1);

        foreach (var (caller, lead, expected) in new[]
                 {
                     ("repA", own, HttpStatusCode.Created), ("repA", other, HttpStatusCode.Forbidden),
                     ("managerA", own, HttpStatusCode.Created), ("managerB", own, HttpStatusCode.Forbidden),
                     ("marketer", other, HttpStatusCode.Created), ("admin", other, HttpStatusCode.Created),
                 })
        {
            var client = world.Callers[caller];
            Assert.Equal(expected, (await client.PostAsJsonAsync($"/api/v1/leads/{lead}/notes", new { body = $"note by {caller}" }, Ct)).StatusCode);
            Assert.Equal(expected, (await client.PostAsJsonAsync($"/api/v1/leads/{lead}/tasks", new { title = $"task by {caller}", dueAt = due }, Ct)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["repA"].GetAsync($"/api/v1/leads/{other}/notes", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["repA"].GetAsync($"/api/v1/leads/{other}/tasks", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Callers["repA"].PostAsJsonAsync($"/api/v1/leads/{Guid.CreateVersion7()}/notes", new { body = "x" }, Ct)).StatusCode);
        Assert.Equal((4, 4), await CountsAsync(app));

        // Another rep may not change repA's task; the manager of repA's team may.
        var task = (await world.Callers["repA"].GetFromJsonAsync<List<TaskView>>($"/api/v1/leads/{own}/tasks", TandemApp.ApiJson, Ct))!.First(t => t.CreatedByName == "Julie Bernard");
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["repB"].PatchAsJsonAsync($"/api/v1/tasks/{task.Id}", new { status = "Done" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["managerB"].PatchAsJsonAsync($"/api/v1/tasks/{task.Id}", new { status = "Done" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await world.Callers["managerA"].PatchAsJsonAsync($"/api/v1/tasks/{task.Id}", new { status = "Done" }, Ct)).StatusCode);
    }

    [Fact]
    public async Task AccountNotesAndTasksFollowWhoMayReadAndWorkTheAccount()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var account = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var a = new Account { Name = "Acme", Domain = "acme.example", CreatedAt = DateTimeOffset.UtcNow };
            db.Accounts.Add(a);
            await db.SaveChangesAsync(Ct);
            return a.Id;
        });
        await LeadAsync(app, world.Users["repA"], accountId: account);

        Assert.Equal(HttpStatusCode.Created, (await world.Callers["repA"].PostAsJsonAsync($"/api/v1/accounts/{account}/notes", new { body = "Renewal in spring." }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await world.Callers["repA"].PostAsJsonAsync($"/api/v1/accounts/{account}/tasks",
            new { title = "Account plan", dueAt = DateTimeOffset.UtcNow.AddDays(3) }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["repB"].PostAsJsonAsync($"/api/v1/accounts/{account}/notes", new { body = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["repB"].GetAsync($"/api/v1/accounts/{account}/notes", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await world.Callers["managerB"].PostAsJsonAsync($"/api/v1/accounts/{account}/tasks",
            new { title = "x", dueAt = DateTimeOffset.UtcNow.AddDays(3) }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await world.Callers["repA"].GetAsync($"/api/v1/accounts/{Guid.CreateVersion7()}/tasks", Ct)).StatusCode);
        var notes = await world.Callers["managerB"].GetFromJsonAsync<List<NoteView>>($"/api/v1/accounts/{account}/notes", TandemApp.ApiJson, Ct);
        Assert.Equal("Renewal in spring.", Assert.Single(notes!).Text);
        Assert.Equal((1, 1), await CountsAsync(app));
    }

    [Fact]
    public async Task BadInputIsAFieldErrorNeverA500AndWritesNothing()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var lead = await LeadAsync(app, world.Users["repA"]);
        var repA = world.Callers["repA"];
        var manager = world.Callers["managerA"];
        var notes = $"/api/v1/leads/{lead}/notes";
        var tasks = $"/api/v1/leads/{lead}/tasks";
        var tomorrow = DateTimeOffset.UtcNow.AddDays(1);

        Assert.Contains("body", await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = new string('x', Note.MaxBodyInput + 1) }, Ct)));
        Assert.Contains("body", await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = "   " }, Ct)));
        Assert.Contains("body", await FieldErrorsAsync(await repA.PostAsync(notes, Json("""{"body":"a\u0000b"}"""), Ct)));
        Assert.Contains("body", await FieldErrorsAsync(await repA.PostAsync(notes, Json("""{"body":"a\ud800b"}"""), Ct)));
        Assert.Contains("body", await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = "<script>alert(1)</script>" }, Ct)));
        var unknown = await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = "ask @Nobody Here" }, Ct));
        Assert.Contains("@Nobody", unknown["body"][0], StringComparison.Ordinal);
        var deactivated = await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = "ask @Paul Parti" }, Ct));
        Assert.Contains("deactivated", deactivated["body"][0], StringComparison.Ordinal);
        Assert.Contains("mentions", await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = "hi", mentions = new[] { Guid.CreateVersion7() } }, Ct)));
        Assert.Contains("mentions", await FieldErrorsAsync(await repA.PostAsJsonAsync(notes, new { body = "hi", mentions = new[] { world.Users["gone"] } }, Ct)));

        Assert.Contains("title", await FieldErrorsAsync(await repA.PostAsJsonAsync(tasks, new { title = new string('t', TaskItem.MaxTitle + 1), dueAt = tomorrow }, Ct)));
        Assert.Contains("title", await FieldErrorsAsync(await repA.PostAsJsonAsync(tasks, new { title = "", dueAt = tomorrow }, Ct)));
        Assert.Contains("title", await FieldErrorsAsync(await repA.PostAsync(tasks, Json("""{"title":"call\u0000","dueAt":"2999-01-01T00:00:00Z"}"""), Ct)));
        Assert.Contains("title", await FieldErrorsAsync(await repA.PostAsync(tasks, Json("""{"title":"\udc00call","dueAt":"2999-01-01T00:00:00Z"}"""), Ct)));
        Assert.Contains("dueAt", await FieldErrorsAsync(await repA.PostAsJsonAsync(tasks, new { title = "Call", dueAt = DateTimeOffset.UtcNow.AddHours(-1) }, Ct)));
        Assert.Contains("dueAt", await FieldErrorsAsync(await repA.PostAsJsonAsync(tasks, new { title = "Call" }, Ct)));
        Assert.Contains("dueAt", await FieldErrorsAsync(await repA.PostAsync(tasks, Json("""{"title":"Call","dueAt":"not a date"}"""), Ct)));
        // A rep gives tasks only to themselves; a manager to their team's reps, not another team's; nobody to a deactivated user.
        Assert.Contains("assigneeId", await FieldErrorsAsync(await repA.PostAsJsonAsync(tasks, new { title = "Call", dueAt = tomorrow, assigneeId = world.Users["managerA"] }, Ct)));
        Assert.Contains("assigneeId", await FieldErrorsAsync(await manager.PostAsJsonAsync(tasks, new { title = "Call", dueAt = tomorrow, assigneeId = world.Users["repB"] }, Ct)));
        Assert.Contains("assigneeId", await FieldErrorsAsync(await manager.PostAsJsonAsync(tasks, new { title = "Call", dueAt = tomorrow, assigneeId = world.Users["gone"] }, Ct)));
        Assert.Contains("assigneeId", await FieldErrorsAsync(await manager.PostAsJsonAsync(tasks, new { title = "Call", dueAt = tomorrow, assigneeId = Guid.CreateVersion7() }, Ct)));
        Assert.Contains("assigneeId", await FieldErrorsAsync(await world.Admin.PostAsJsonAsync(tasks, new { title = "Call", dueAt = tomorrow }, Ct)));
        Assert.Equal((0, 0), await CountsAsync(app));

        // The manager's own team: fine, and the rep is told in-app.
        var given = await manager.PostAsJsonAsync(tasks, new { title = "Call", dueAt = tomorrow, assigneeId = world.Users["repA"] }, Ct);
        Assert.Equal(HttpStatusCode.Created, given.StatusCode);
        var task = (await given.Content.ReadFromJsonAsync<TaskView>(TandemApp.ApiJson, Ct))!;
        Assert.Equal("Julie Bernard", task.AssigneeName);
        Assert.True(await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .AnyAsync(n => n.Kind == "task.assigned" && n.RecipientUserId == world.Users["repA"], Ct)));

        foreach (var bad in new[] { """{"status":"Finished"}""", """{"status":"1"}""", """{"dueAt":"2001-01-01T00:00:00Z"}""", """{"title":" "}""" })
            Assert.NotEmpty(await FieldErrorsAsync(await repA.PatchAsync($"/api/v1/tasks/{task.Id}", Json(bad), Ct)));
        var unchanged = await repA.GetFromJsonAsync<List<TaskView>>(tasks, TandemApp.ApiJson, Ct);
        Assert.Equal(TaskItemStatus.Open, Assert.Single(unchanged!).Status);
        Assert.Equal("Call", unchanged![0].Title);
    }

    [Fact]
    public async Task ScriptInANoteIsStoredAndServedInert()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var lead = await LeadAsync(app, world.Users["repA"]);
        var created = await world.Callers["repA"].PostAsJsonAsync($"/api/v1/leads/{lead}/notes",
            new { body = "<p>Budget <b>approved</b><script>alert('x')</script><img src=x onerror=alert(1)> <a href=\"javascript:alert(1)\">link</a></p>" }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var stored = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Notes.AsNoTracking().Select(n => n.Html).SingleAsync(Ct));
        Assert.Contains("<b>approved</b>", stored, StringComparison.Ordinal);
        foreach (var bad in new[] { "<script", "alert('x')", "onerror", "javascript:", "<img" })
            Assert.DoesNotContain(bad, stored, StringComparison.OrdinalIgnoreCase);
        var served = await world.Callers["repA"].GetStringAsync($"/api/v1/leads/{lead}/notes", Ct);
        Assert.DoesNotContain("<script", served, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\\u003Cscript", served, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task MyTasksListOverdueFirstThenTodayThenLaterWithTheCadencesNextAttemptAndADoneTaskLeaves()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var rep = world.Users["repA"];
        var lead = await LeadAsync(app, rep);
        var mql = await LeadAsync(app, rep, LifecycleStage.Mql);
        var now = DateTimeOffset.UtcNow;
        var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
        var today = now + TimeSpan.FromTicks(Math.Min(TimeSpan.FromHours(1).Ticks, (midnight - now).Ticks / 2));
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            TaskItem Task(string title, DateTimeOffset due, Guid assignee) => new()
            {
                LeadId = lead,
                Title = title,
                DueAt = due,
                AssigneeUserId = assignee,
                CreatedByUserId = rep,
                CreatedByName = "Julie Bernard",
                CreatedAt = now,
                UpdatedAt = now,
            };
            db.Tasks.AddRange(Task("later", now.AddDays(3), rep), Task("overdue", now.AddHours(-2), rep), Task("today", today, rep),
                Task("older overdue", now.AddDays(-2), rep), Task("not mine", now.AddHours(-1), world.Users["repB"]));
            // repA runs the cadence of an MQL: 3 attempts, the first touch due in 30 minutes.
            db.Assignments.Add(new Assignment
            {
                LeadId = mql,
                RepId = rep,
                State = AssignmentState.Open,
                MqlAt = now,
                AssignedAt = now.AddMinutes(-5),
                FirstTouchDueAt = now.AddDays(2),
                Attempts = 3,
                AttemptsDueAt = now.AddDays(5),
                Reason = "test",
            });
            await db.SaveChangesAsync(Ct);
            return 0;
        });

        var mine = (await world.Callers["repA"].GetFromJsonAsync<List<MyTaskItem>>("/api/v1/me/tasks", TandemApp.ApiJson, Ct))!;
        Assert.Equal(["older overdue", "overdue", "today", "Attempt 1 of 3: Ada Buyer", "later"], mine.Select(m => m.Title));
        Assert.Equal([TaskBucket.Overdue, TaskBucket.Overdue, TaskBucket.Today, TaskBucket.Later, TaskBucket.Later], mine.Select(m => m.Bucket));
        var attempt = mine[3];
        Assert.Equal((MyTaskKind.CadenceAttempt, (int?)1, (int?)3, (Guid?)mql, (Guid?)null), (attempt.Kind, attempt.Attempt, attempt.Attempts, attempt.LeadId, attempt.Id));

        // One logged call: the next attempt is the second, due by the end of the window.
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            db.Activities.Add(new Activity { LeadId = mql, Type = ActivityType.Call, OccurredAt = now, CreatedAt = now, ActorUserId = rep });
            await db.Assignments.Where(a => a.LeadId == mql).ExecuteUpdateAsync(s => s.SetProperty(a => a.FirstTouchedAt, now), Ct);
            await db.SaveChangesAsync(Ct);
            return 0;
        });
        var next = (await world.Callers["repA"].GetFromJsonAsync<List<MyTaskItem>>("/api/v1/me/tasks", TandemApp.ApiJson, Ct))!.Single(m => m.Kind == MyTaskKind.CadenceAttempt);
        Assert.Equal(2, next.Attempt);

        // Done in one call: it leaves the list, and comes back under Done when asked.
        var overdue = mine[1];
        var done = await world.Callers["repA"].PatchAsJsonAsync($"/api/v1/tasks/{overdue.Id}", new { status = "Done" }, Ct);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.NotNull((await done.Content.ReadFromJsonAsync<TaskView>(TandemApp.ApiJson, Ct))!.CompletedAt);
        var after = (await world.Callers["repA"].GetFromJsonAsync<List<MyTaskItem>>("/api/v1/me/tasks", TandemApp.ApiJson, Ct))!;
        Assert.DoesNotContain(after, m => m.Id == overdue.Id);
        var withDone = (await world.Callers["repA"].GetFromJsonAsync<List<MyTaskItem>>("/api/v1/me/tasks?includeDone=true", TandemApp.ApiJson, Ct))!;
        Assert.Equal((overdue.Id, TaskBucket.Done), (withDone[^1].Id, withDone[^1].Bucket));
        // An API key has no tasks of its own.
        Assert.Equal(HttpStatusCode.BadRequest, (await world.Admin.GetAsync("/api/v1/me/tasks", Ct)).StatusCode);
    }

    private static ClaimsPrincipal Person(Guid id, string role) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, id.ToString()), new Claim(ClaimTypes.Name, $"{role}@example.com"), new Claim(ClaimTypes.Role, role)],
            "Identity.Application"));

    [Fact]
    public async Task AManagerChangesALeadsOwnerWithAReasonRecordedInTheTimelineAndTheAudit()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var lead = await LeadAsync(app, world.Users["repA"]);
        var mql = await LeadAsync(app, world.Users["repA"], LifecycleStage.Mql);
        var manager = Person(world.Users["managerA"], Roles.SalesManager);

        async Task<WorkItemOutcome<Guid>> ChangeAsync(ClaimsPrincipal who, Guid id, Guid? owner, string? reason) =>
            await app.WithServiceAsync(sp => sp.GetRequiredService<LeadOwnerChange>().ChangeAsync(who, id, new OwnerChangeRequest(owner, reason), Ct));

        Assert.Equal(AccessVerdict.Forbidden, (await ChangeAsync(Person(world.Users["repA"], Roles.Sales), lead, world.Users["repB"], "holiday")).Verdict);
        Assert.Contains("reason", (await ChangeAsync(manager, lead, world.Users["repB"], "  ")).Errors!.Keys);
        Assert.Contains("ownerId", (await ChangeAsync(manager, lead, world.Users["gone"], "holiday")).Errors!.Keys);
        Assert.Contains("ownerId", (await ChangeAsync(manager, lead, world.Users["repA"], "holiday")).Errors!.Keys);
        Assert.Contains("reason", (await ChangeAsync(manager, lead, world.Users["repB"], "a\0b")).Errors!.Keys);

        Assert.Equal(AccessVerdict.Allowed, (await ChangeAsync(manager, lead, world.Users["repB"], "Julie is on holiday")).Verdict);
        Assert.Equal(AccessVerdict.Allowed, (await ChangeAsync(manager, mql, world.Users["repB"], "Hugo speaks German")).Verdict);

        var (owners, notes, audit, assignment) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var owners = await db.Leads.Where(l => l.Id == lead || l.Id == mql).Select(l => l.OwnerId).ToListAsync(Ct);
            var notes = await db.Notes.AsNoTracking().Where(n => n.Kind == NoteKind.OwnerChange).OrderBy(n => n.CreatedAt).ToListAsync(Ct);
            var audit = await db.AuditEntries.Where(a => a.Action == "lead.owner-changed").CountAsync(Ct);
            var assignment = await db.Assignments.AsNoTracking().SingleAsync(a => a.LeadId == mql && a.State == AssignmentState.Open, Ct);
            return (owners, notes, audit, assignment);
        });
        Assert.All(owners, o => Assert.Equal(world.Users["repB"], o));
        Assert.Equal(2, notes.Count);
        Assert.Equal("Julie Bernard → Hugo Petit: Julie is on holiday", NoteText.ToPlainText(notes[0].Html));
        Assert.Equal("Thomas Girard", notes[0].AuthorName);
        Assert.Equal(2, audit);
        Assert.Equal((world.Users["repB"], RoutingPath.Manual), (assignment.RepId!.Value, assignment.Path));
        Assert.Contains("Hugo speaks German", assignment.Reason, StringComparison.Ordinal);

        // The recorded change is not a note anyone edits or deletes.
        var recorded = await world.Callers["managerA"].PatchAsJsonAsync($"/api/v1/notes/{notes[0].Id}", new { body = "rewritten" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, recorded.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await world.Callers["admin"].DeleteAsync($"/api/v1/notes/{notes[0].Id}", Ct)).StatusCode);
    }

    [Fact]
    public async Task AMergeMovesTheNotesAndTasksToTheSurvivor()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var survivor = await LeadAsync(app, world.Users["repA"]);
        var merged = await LeadAsync(app, world.Users["repA"]);
        Assert.Equal(HttpStatusCode.Created, (await world.Callers["repA"].PostAsJsonAsync($"/api/v1/leads/{merged}/notes", new { body = "on the duplicate" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await world.Callers["repA"].PostAsJsonAsync($"/api/v1/leads/{merged}/tasks",
            new { title = "on the duplicate", dueAt = DateTimeOffset.UtcNow.AddDays(1) }, Ct)).StatusCode);
        var response = await world.Admin.PostAsJsonAsync($"/api/v1/leads/{survivor}/merge", new { mergeId = merged }, Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        var moved = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await db.Notes.CountAsync(n => n.LeadId == survivor, Ct), await db.Tasks.CountAsync(t => t.LeadId == survivor, Ct));
        });
        Assert.Equal((1, 1), moved);
    }
}

public sealed class NotesAndTasksOnSqlite() : NotesAndTasksTests(DatabaseProvider.Sqlite);

public sealed class NotesAndTasksOnPostgres() : NotesAndTasksTests(DatabaseProvider.Postgres);
