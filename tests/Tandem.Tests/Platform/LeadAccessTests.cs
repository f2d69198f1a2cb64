using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>
/// Per-record authorization: the same endpoint, the same role, but a lead that is one's own, a teammate's, another team's,
/// in one's team queue, or nobody's. The table below is the contract for every <c>/leads/{id}</c> route; a route missing from it
/// fails the build.
/// </summary>
public abstract class LeadAccessTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Every lead-record route and the right it needs (null: guarded by its scope only, the caller acts on the workspace).</summary>
    public static readonly Dictionary<string, LeadRight?> RecordRoutes = new()
    {
        ["GET /api/v1/leads/{id:guid}"] = LeadRight.Read,
        ["GET /api/v1/leads/{id:guid}/score"] = LeadRight.Read,
        ["GET /api/v1/leads/{id:guid}/assignments"] = LeadRight.Read,
        ["POST /api/v1/leads/{id:guid}/touches"] = LeadRight.Work,
        ["POST /api/v1/leads/{id:guid}/work-status"] = LeadRight.Work,
        ["POST /api/v1/leads/{id:guid}/reject"] = LeadRight.Work,
        ["POST /api/v1/leads/{id:guid}/accept"] = LeadRight.Work,
        ["POST /api/v1/leads/{id:guid}/reassign"] = LeadRight.Work,
        ["POST /api/v1/leads/{id:guid}/stage"] = LeadRight.MoveStage,
        ["POST /api/v1/leads/{id:guid}/merge"] = LeadRight.MoveStage,
        ["POST /api/v1/leads/{id:guid}/rating"] = LeadRight.Work,
        ["GET /api/v1/leads/{id:guid}/ratings"] = LeadRight.Read,
        // Marketing reads every lead and contests rejections; a rep's dispute of an MQL also needs Work (checked inside, 403).
        ["POST /api/v1/leads/{id:guid}/disputes"] = LeadRight.Read,
        ["GET /api/v1/leads/{id:guid}/disputes"] = LeadRight.Read,
        // Notes and tasks (decision 021c): read with the lead; added by whoever works it or moves its stage (marketing too).
        ["GET /api/v1/leads/{id:guid}/notes"] = LeadRight.Read,
        ["POST /api/v1/leads/{id:guid}/notes"] = LeadRight.Annotate,
        ["GET /api/v1/leads/{id:guid}/tasks"] = LeadRight.Read,
        ["POST /api/v1/leads/{id:guid}/tasks"] = LeadRight.Annotate,
        // Privacy rights (decision 021b): export and erasure are the workspace admin's (scope admin only); a withdrawal of consent is
        // recorded by whoever may read the lead, a grant needs the right to move its stage.
        ["GET /api/v1/leads/{id:guid}/privacy-export"] = null,
        ["POST /api/v1/leads/{id:guid}/erase"] = null,
        ["POST /api/v1/leads/{id:guid}/consent/withdraw"] = LeadRight.Read,
        ["POST /api/v1/leads/{id:guid}/consent/grant"] = LeadRight.MoveStage,
    };

    /// <summary>A body each route accepts far enough to reach its record check (the check runs first).</summary>
    private static readonly Dictionary<string, string> Bodies = new()
    {
        ["POST /api/v1/leads/{id:guid}/touches"] = """{"type":"call","outcome":"left a voicemail"}""",
        ["POST /api/v1/leads/{id:guid}/work-status"] = """{"status":"Attempting"}""",
        ["POST /api/v1/leads/{id:guid}/reject"] = """{"reason":"NoBudget"}""",
        ["POST /api/v1/leads/{id:guid}/accept"] = """{"budget":true,"authority":true,"need":true,"timing":true}""",
        ["POST /api/v1/leads/{id:guid}/reassign"] = """{"reason":"test"}""",
        ["POST /api/v1/leads/{id:guid}/stage"] = """{"action":"Recycle","reason":"test"}""",
        ["POST /api/v1/leads/{id:guid}/merge"] = "{}",
        ["POST /api/v1/leads/{id:guid}/rating"] = """{"leadQuality":3}""",
        ["POST /api/v1/leads/{id:guid}/notes"] = """{"body":"Called, no answer."}""",
        ["POST /api/v1/leads/{id:guid}/tasks"] = """{"title":"Call back","dueAt":"2999-01-01T09:00:00Z"}""",
    };

    [Fact]
    public async Task EveryLeadRecordRouteIsInTheRecordTable()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1/leads/{id", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal).ToList();
        Assert.Equal(RecordRoutes.Keys.Order(StringComparer.Ordinal).ToList(), mapped);
    }

    private sealed record World(TandemApp App, Guid RepA, Guid RepB, Guid ManagerA, Guid ManagerB, Guid TeamA,
        Dictionary<string, Guid> Leads, Dictionary<string, HttpClient> Callers);

    private static async Task<World> StartAsync(DatabaseProvider provider, Dictionary<string, string?>? settings = null)
    {
        var app = await TandemApp.CreateAsync(provider, settings ?? new Dictionary<string, string?> { ["Tandem:Notifications:RunDispatcher"] = "false" });
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
        var teamA = await TeamAsync(admin, "Team A", ids["managerA"], ids["repA"]);
        await TeamAsync(admin, "Team B", ids["managerB"], ids["repB"]);

        var leads = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow;
            Lead Make(string email, Guid? owner) => new()
            {
                Email = email,
                FirstName = email.Split('@')[0],
                Stage = LifecycleStage.Mql,
                WorkStatus = WorkStatus.New,
                OwnerId = owner,
                CreatedAt = now,
                UpdatedAt = now,
            };
            var a = Make("own@a.example", ids["repA"]);
            var b = Make("other@b.example", ids["repB"]);
            var queued = Make("queued@q.example", null);
            var nobody = Make("nobody@n.example", null);
            db.Leads.AddRange(a, b, queued, nobody);
            db.Assignments.Add(new Assignment
            {
                LeadId = queued.Id,
                TeamId = teamA,
                State = AssignmentState.Open,
                MqlAt = now,
                AssignedAt = now,
                Reason = "queued: nobody eligible",
            });
            await db.SaveChangesAsync(Ct);
            return new Dictionary<string, Guid> { ["repA's"] = a.Id, ["repB's"] = b.Id, ["teamA queue"] = queued.Id, ["nobody's"] = nobody.Id };
        });
        return new World(app, ids["repA"], ids["repB"], ids["managerA"], ids["managerB"], teamA, leads, callers);
    }

    private static async Task<Guid> TeamAsync(HttpClient admin, string name, Guid manager, params Guid[] reps)
    {
        var team = await admin.PostAsJsonAsync("/api/v1/handoff/teams",
            new TeamRequest(name, manager, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue, [.. reps.Select(r => new MemberRequest(r, 1))]), TandemApp.ApiJson, Ct);
        Assert.Equal(HttpStatusCode.Created, team.StatusCode);
        return (await team.Content.ReadFromJsonAsync<TeamView>(TandemApp.ApiJson, Ct))!.Id;
    }

    /// <summary>The policy written out by hand: who may do what to which of the four leads (independent of the implementation).</summary>
    private static bool Expected(string caller, string lead, LeadRight right) => (caller, right) switch
    {
        ("admin", _) => true,
        ("marketer", LeadRight.Read or LeadRight.MoveStage or LeadRight.Annotate) => true,
        ("marketer", LeadRight.Work) => false,
        ("managerA", LeadRight.Read) => true,
        ("managerA", _) => lead is "repA's" or "teamA queue" or "nobody's",
        ("managerB", LeadRight.Read) => true,
        ("managerB", _) => lead is "repB's" or "nobody's",
        ("repA", _) => lead is "repA's" or "teamA queue",
        ("repB", _) => lead is "repB's",
        _ => throw new ArgumentOutOfRangeException(caller),
    };

    [Fact]
    public async Task EachCallerReadsAndActsOnlyOnTheLeadsThePolicyGivesThem()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var failures = new List<string>();
        // Reads first, then actions that change nothing another action needs (a touch, a work status), then the ones that end the MQL last.
        string[] order = ["GET /api/v1/leads/{id:guid}", "GET /api/v1/leads/{id:guid}/score", "GET /api/v1/leads/{id:guid}/assignments",
            "GET /api/v1/leads/{id:guid}/ratings", "GET /api/v1/leads/{id:guid}/disputes", "POST /api/v1/leads/{id:guid}/touches", "POST /api/v1/leads/{id:guid}/work-status",
            "POST /api/v1/leads/{id:guid}/rating", "GET /api/v1/leads/{id:guid}/notes", "GET /api/v1/leads/{id:guid}/tasks", "POST /api/v1/leads/{id:guid}/notes",
            "POST /api/v1/leads/{id:guid}/tasks"];
        foreach (var route in order)
        {
            var right = RecordRoutes[route]!.Value;
            var (method, template) = (route.Split(' ')[0], route.Split(' ')[1]);
            foreach (var (caller, client) in world.Callers)
            {
                foreach (var (lead, id) in world.Leads)
                {
                    using var request = new HttpRequestMessage(new HttpMethod(method), template.Replace("{id:guid}", id.ToString()));
                    if (method == "POST")
                        request.Content = new StringContent(Bodies[route], Encoding.UTF8, "application/json");
                    using var response = await client.SendAsync(request, Ct);
                    var status = (int)response.StatusCode;
                    // A route may also refuse by role (403 for a marketer's touch): that is a refusal too.
                    var allowed = Expected(caller, lead, right);
                    var refused = status is 403;
                    if (allowed == refused || status >= 500)
                        failures.Add($"{caller} {route} on {lead}: {status} (expected {(allowed ? "allowed" : "403")}) {await response.Content.ReadAsStringAsync(Ct)}");
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public async Task ARepCannotRejectAcceptMoveOrLogOnAnotherRepsLeadAndNothingChanges()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var other = world.Leads["repB's"];
        var repA = world.Callers["repA"];
        foreach (var route in new[] { "POST /api/v1/leads/{id:guid}/reject", "POST /api/v1/leads/{id:guid}/accept", "POST /api/v1/leads/{id:guid}/stage",
                     "POST /api/v1/leads/{id:guid}/touches", "POST /api/v1/leads/{id:guid}/work-status" })
        {
            var response = await repA.PostAsync(route.Split(' ')[1].Replace("{id:guid}", other.ToString()),
                new StringContent(Bodies[route], Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        var (stage, work, activities) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var l = await db.Leads.AsNoTracking().FirstAsync(x => x.Id == other, Ct);
            return (l.Stage, l.WorkStatus, await db.Activities.CountAsync(a => a.LeadId == other, Ct));
        });
        Assert.Equal(LifecycleStage.Mql, stage);
        Assert.Equal(WorkStatus.New, work);
        Assert.Equal(0, activities);

        // Their own lead: the same reject goes through.
        var own = await repA.PostAsync($"/api/v1/leads/{world.Leads["repA's"]}/reject", new StringContent("""{"reason":"NoBudget"}""", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, own.StatusCode);
    }

    [Fact]
    public async Task ARepListsOnlyTheirOwnLeadsAndTheirTeamQueueWhateverTheFilter()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var repA = world.Callers["repA"];
        var page = await repA.GetFromJsonAsync<LeadPage>("/api/v1/leads?pageSize=100", TandemApp.ApiJson, Ct);
        Assert.Equal(new[] { world.Leads["repA's"], world.Leads["teamA queue"] }.Order(), page!.Items.Select(i => i.Id).Order());
        var others = await repA.GetFromJsonAsync<LeadPage>($"/api/v1/leads?ownerId={world.RepB}", TandemApp.ApiJson, Ct);
        Assert.Empty(others!.Items);
        var manager = await world.Callers["managerB"].GetFromJsonAsync<LeadPage>("/api/v1/leads?pageSize=100", TandemApp.ApiJson, Ct);
        Assert.Equal(4, manager!.Items.Count);

        // The lead page says so instead of showing another rep's lead.
        var html = await repA.GetStringAsync($"/leads/{world.Leads["repB's"]}", Ct);
        Assert.Contains("data-testid=\"lead-forbidden\"", html);
        Assert.DoesNotContain("other@b.example", html);
    }

    [Fact]
    public async Task WithRepsSeeAllLeadsARepReadsEveryLeadButStillWorksOnlyTheirOwn()
    {
        var world = await StartAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Access:RepsSeeAllLeads"] = "true",
        });
        await using var app = world.App;
        var repA = world.Callers["repA"];
        Assert.Equal(HttpStatusCode.OK, (await repA.GetAsync($"/api/v1/leads/{world.Leads["repB's"]}", Ct)).StatusCode);
        var touch = await repA.PostAsync($"/api/v1/leads/{world.Leads["repB's"]}/touches",
            new StringContent("""{"type":"call"}""", Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.Forbidden, touch.StatusCode);
    }

    [Fact]
    public async Task ARepsApprovalDoesNotCountAndARepCannotCancelTheRescore()
    {
        var world = await StartAsync(provider);
        await using var app = world.App;
        var repA = world.Callers["repA"];
        var created = await repA.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "rep's draft" }, TandemApp.ApiJson, Ct);
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync(Ct));
        var draft = (await created.Content.ReadFromJsonAsync<VersionDetail>(TandemApp.ApiJson, Ct))!;
        var approve = await repA.PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/approve", null, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, approve.StatusCode);
        var byManager = await world.Callers["managerA"].PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/approve", null, Ct);
        Assert.True(byManager.IsSuccessStatusCode, await byManager.Content.ReadAsStringAsync(Ct));

        var jobId = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var job = new QualificationJob { Kind = JobKind.Rescore, Reason = "activation", CreatedAt = DateTimeOffset.UtcNow, CreatedByName = "admin" };
            db.QualificationJobs.Add(job);
            await db.SaveChangesAsync(Ct);
            return job.Id;
        });
        Assert.Equal(HttpStatusCode.Forbidden, (await repA.PostAsync($"/api/v1/qualification/jobs/{jobId}/cancel", null, Ct)).StatusCode);
        var status = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().QualificationJobs.AsNoTracking().Where(j => j.Id == jobId)
            .Select(j => j.Status).FirstAsync(Ct));
        Assert.NotEqual(JobStatus.Cancelled, status);
        Assert.NotEqual(HttpStatusCode.Forbidden, (await world.Callers["admin"].PostAsync($"/api/v1/qualification/jobs/{jobId}/cancel", null, Ct)).StatusCode);
    }
}

public sealed class LeadAccessOnSqlite() : LeadAccessTests(DatabaseProvider.Sqlite);

public sealed class LeadAccessOnPostgres() : LeadAccessTests(DatabaseProvider.Postgres);
