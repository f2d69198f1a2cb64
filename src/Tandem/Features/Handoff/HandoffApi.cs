using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;

namespace Tandem.Features.Handoff;

public sealed record RepView(Guid UserId, string Name, string? Email, bool Active, bool HasProfile, WorkCalendar Calendar, int? MaxOpenMqls,
    int? MaxNewPerDay, int OpenMqls);

public sealed record RepRequest(WorkCalendar? Calendar, int? MaxOpenMqls, int? MaxNewPerDay);

public sealed record MemberRequest(Guid UserId, int? Weight);

public sealed record TeamRequest(string? Name, Guid? ManagerUserId, RoutingStrategy? Strategy, OverflowPolicy? Overflow, List<MemberRequest>? Members);

public sealed record TeamView(Guid Id, string Name, Guid? ManagerUserId, RoutingStrategy Strategy, OverflowPolicy Overflow, IReadOnlyList<TeamMember> Members,
    bool IsDefault);

public sealed record RuleRequest(Guid? Id, int? Order, string? Name, bool? Enabled, List<RoutingCondition>? Conditions, RoutingTarget? Target);

public sealed record RulesRequest(Guid? DefaultTeamId, List<RuleRequest>? Rules);

public sealed record RulesView(Guid? DefaultTeamId, IReadOnlyList<RoutingRule> Rules, long ConfigVersion);

public sealed record SlaRequest(List<SlaPolicy>? Policies, SlaTierRule? TierRule);

public sealed record SlaView(IReadOnlyList<SlaPolicy> Policies, SlaTierRule TierRule);

public sealed record SimulateRequest(Guid? LeadId, LeadAttributes? Lead, Guid? AccountOwnerId);

public sealed record SimulateView(RoutingDecision Decision, SlaTier Tier, DateTimeOffset? FirstTouchDueAt, DateTimeOffset At);

public sealed record QueueItem(Guid AssignmentId, Guid LeadId, string LeadName, Guid? TeamId, SlaTier Tier, DateTimeOffset QueuedAt, string Reason);

public sealed record AssignmentView(Guid Id, Guid LeadId, Guid? RepId, Guid? TeamId, SlaTier Tier, AssignmentState State, DateTimeOffset MqlAt,
    DateTimeOffset AssignedAt, DateTimeOffset? FirstTouchDueAt, DateTimeOffset? BreachAt, DateTimeOffset? ReassignAt, DateTimeOffset? FirstTouchedAt,
    DateTimeOffset? BreachedAt, DateTimeOffset? ClosedAt, RoutingDecision? Decision)
{
    public static AssignmentView From(Assignment a) => new(a.Id, a.LeadId, a.RepId, a.TeamId, a.Tier, a.State, a.MqlAt, a.AssignedAt, a.FirstTouchDueAt,
        a.BreachAt, a.ReassignAt, a.FirstTouchedAt, a.BreachedAt, a.ClosedAt, JsonSerializer.Deserialize<RoutingDecision>(a.Decision, HandoffJson.Options));
}

/// <summary>
/// A sales touch. <see cref="Outcome"/> is what the rep wrote and is kept as written; <see cref="Connected"/> says the rep reached
/// the person (it ends the attempts cadence). An outcome of exactly "connected" still counts as a connection for older clients.
/// </summary>
public sealed record TouchRequest(string? Type, string? Outcome, string? Note, bool? Connected = null);

public sealed record TouchView(Guid ActivityId, bool FirstTouch, Guid? AssignmentId, DateTimeOffset At, bool Connected = false);

public sealed record ReassignRequest(Guid? RepId, string? Reason);

public enum RejectReason
{
    BadFit,
    Student,
    NoBudget,
    NoAuthority,
    NoNeed,
    BadTiming,
    Unreachable,
    Duplicate,
    Spam,
    Competitor,
    Other,
}

public sealed record RejectRequest(RejectReason? Reason, string? Text, bool? Disqualify);

public sealed record RejectView(Guid LeadId, LifecycleStage Stage, RejectReason Reason);

public static class RejectReasons
{
    /// <summary>
    /// Whether the reason ends the relationship (Disqualified) or only this attempt (Recycled: marketing nurtures the
    /// lead and it may come back). "Other" recycles unless the rep says otherwise.
    /// </summary>
    public static LifecycleStage Outcome(RejectReason reason, bool? disqualify = null) => reason switch
    {
        RejectReason.BadFit or RejectReason.Student or RejectReason.Duplicate or RejectReason.Spam or RejectReason.Competitor => LifecycleStage.Disqualified,
        RejectReason.Other when disqualify == true => LifecycleStage.Disqualified,
        _ => LifecycleStage.Recycled,
    };
}

/// <summary>The handoff API: configuration (reps, teams, rules, SLA policies), dry run, queue, speed to lead, and the rep's actions on a lead.</summary>
public static class HandoffApi
{
    public const string ConfigPolicy = "handoff:config";
    public const string TouchPolicy = "handoff:touch";
    public const int MaxNote = 2000;

    public static IServiceCollection AddHandoff(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<HandoffOptions>(configuration.GetSection("Tandem:Handoff"));
        services.AddSingleton<HandoffConfigCache>();
        services.AddSingleton<HandoffCounters>();
        services.Configure<AccessOptions>(configuration.GetSection("Tandem:Access"));
        services.AddSingleton<ILeadAccess, LeadAccessService>();
        services.AddScoped<HandoffService>();
        services.AddScoped<HandoffSetup>();
        services.AddScoped<SlaTimerProcessor>();
        services.AddScoped<IMqlListener, HandoffRouter>();
        services.AddHostedService<SlaMonitor>();
        services.AddAuthorizationBuilder()
            .AddPolicy(ConfigPolicy, p => p.AddAuthenticationSchemes(AuthSchemes.Api).RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(Scopes.Admin, [Roles.Admin, Roles.SalesManager])))
            .AddPolicy(TouchPolicy, p => p.AddAuthenticationSchemes(AuthSchemes.Api).RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(Scopes.Ingest, [Roles.Admin, Roles.SalesManager, Roles.Sales])));
        return services;
    }

    public static RouteGroupBuilder MapHandoffApi(this RouteGroupBuilder api)
    {
        var h = api.MapGroup("/handoff").WithTags("Handoff");
        h.MapGet("/reps", ListRepsAsync).RequireAuthorization(ConfigPolicy).WithSummary("Reps (sales users and anyone with a routing profile): calendar, capacity, open MQLs.");
        h.MapPut("/reps/{userId:guid}", PutRepAsync).RequireAuthorization(ConfigPolicy).WithSummary("Set a rep's work calendar and capacity.");
        h.MapGet("/teams", ListTeamsAsync).RequireAuthorization(ConfigPolicy).WithSummary("Sales teams with members, strategy and overflow.");
        h.MapPost("/teams", CreateTeamAsync).RequireAuthorization(ConfigPolicy).WithSummary("Create a team.");
        h.MapPut("/teams/{id:guid}", UpdateTeamAsync).RequireAuthorization(ConfigPolicy).WithSummary("Update a team (members keep their counters).");
        h.MapDelete("/teams/{id:guid}", DeleteTeamAsync).RequireAuthorization(ConfigPolicy).WithSummary("Delete a team no rule or default points to.");
        h.MapGet("/sla-policies", GetSlaAsync).RequireAuthorization(ConfigPolicy).WithSummary("SLA policies per tier and the tier rule.");
        h.MapPut("/sla-policies", PutSlaAsync).RequireAuthorization(ConfigPolicy).WithSummary("Replace the SLA policies (one per tier) and the tier rule.");
        h.MapGet("/queue", QueueAsync).RequireAuthorization(ConfigPolicy).WithSummary("MQLs waiting in a team queue (nobody was eligible).");
        h.MapGet("/speed", SpeedAsync).RequireAuthorization(ConfigPolicy)
            .WithSummary("Speed to lead per rep and team: median/p90 MQL→assignment and assignment→first touch, SLA compliance %.");

        var r = api.MapGroup("/routing").WithTags("Handoff");
        r.MapGet("/rules", GetRulesAsync).RequireAuthorization(ConfigPolicy).WithSummary("The ordered routing rules and the default team.");
        r.MapPut("/rules", PutRulesAsync).RequireAuthorization(ConfigPolicy).WithSummary("Replace the ordered routing rules and the default team.");
        r.MapPost("/simulate", SimulateAsync).RequireAuthorization(ConfigPolicy).WithSummary("Where would this lead go now? (dry run, nothing written)");

        var l = api.MapGroup("/leads").WithTags("Handoff");
        l.MapGet("/{id:guid}/assignments", AssignmentsAsync).RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read).WithSummary("The lead's assignments, newest first, with why this rep.");
        l.MapPost("/{id:guid}/touches", TouchAsync).RequireAuthorization(TouchPolicy).RequireLeadAccess(LeadRight.Work).WithSummary("Log a sales touch (call, email, meeting, note); the first one stops the SLA clock.");
        l.MapPost("/{id:guid}/reassign", ReassignAsync).RequireAuthorization(ConfigPolicy).RequireLeadAccess(LeadRight.Work).WithSummary("Reassign an MQL: to a rep, or by the rules excluding the current rep.");
        l.MapPost("/{id:guid}/work-status", HandoffCadence.WorkStatusEndpointAsync).RequireAuthorization(TouchPolicy).RequireLeadAccess(LeadRight.Work).WithSummary("Mark an MQL Attempting or Connected (Connected ends the attempts cadence).");
        l.MapPost("/{id:guid}/reject", RejectAsync).RequireAuthorization(TouchPolicy).RequireLeadAccess(LeadRight.Work).WithSummary("Reject an MQL with a catalogue reason: recycled or disqualified as the reason says.");
        return api;
    }

    // ---- configuration (one HandoffSetup method per operation, shared with the settings pages) ----

    private static string ActorName(HttpContext http) => Actor.From(http.User).Name;

    private static async Task<Ok<List<RepView>>> ListRepsAsync(HandoffSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.RepsAsync(ct));

    private static async Task<Results<Ok<RepView>, ValidationProblem, ProblemHttpResult>> PutRepAsync(Guid userId, RepRequest body, HandoffSetup setup,
        HttpContext http, CancellationToken ct)
    {
        var r = await setup.SaveRepAsync(userId, body, ActorName(http), ct);
        if (r.NotFound is not null)
            return ApiConventions.NotFoundProblem(r.NotFound);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    private static async Task<Ok<List<TeamView>>> ListTeamsAsync(HandoffSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.TeamsAsync(ct));

    private static async Task<Results<Created<TeamView>, ValidationProblem>> CreateTeamAsync(TeamRequest body, HandoffSetup setup, HttpContext http,
        CancellationToken ct)
    {
        var r = await setup.SaveTeamAsync(null, body, ActorName(http), ct);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Created($"/api/v1/handoff/teams/{r.Value!.Id}", r.Value);
    }

    private static async Task<Results<Ok<TeamView>, ValidationProblem, ProblemHttpResult>> UpdateTeamAsync(Guid id, TeamRequest body, HandoffSetup setup,
        HttpContext http, CancellationToken ct)
    {
        var r = await setup.SaveTeamAsync(id, body, ActorName(http), ct);
        if (r.NotFound is not null)
            return ApiConventions.NotFoundProblem(r.NotFound);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteTeamAsync(Guid id, HandoffSetup setup, HttpContext http, CancellationToken ct)
    {
        var r = await setup.DeleteTeamAsync(id, ActorName(http), ct);
        if (r.NotFound is not null)
            return ApiConventions.NotFoundProblem(r.NotFound);
        if (r.Conflict is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: r.Conflict);
        return TypedResults.NoContent();
    }

    private static async Task<Ok<RulesView>> GetRulesAsync(HandoffSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.RulesAsync(ct));

    private static async Task<Results<Ok<RulesView>, ValidationProblem>> PutRulesAsync(RulesRequest body, HandoffSetup setup, HttpContext http,
        CancellationToken ct)
    {
        var r = await setup.SaveRulesAsync(body, ActorName(http), ct);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    private static async Task<Ok<SlaView>> GetSlaAsync(HandoffSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.SlaAsync(ct));

    private static async Task<Results<Ok<SlaView>, ValidationProblem>> PutSlaAsync(SlaRequest body, HandoffSetup setup, HttpContext http, CancellationToken ct)
    {
        var r = await setup.SaveSlaAsync(body, ActorName(http), ct);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    private static async Task<Results<Ok<SimulateView>, ValidationProblem, ProblemHttpResult>> SimulateAsync(SimulateRequest body, HandoffSetup setup,
        CancellationToken ct)
    {
        var r = await setup.SimulateAsync(body, ct);
        if (r.NotFound is not null)
            return ApiConventions.NotFoundProblem(r.NotFound);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    private static async Task<Ok<List<QueueItem>>> QueueAsync(HandoffSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.QueueAsync(ct));

    private static async Task<Results<Ok<SpeedReport>, ValidationProblem>> SpeedAsync(DateTimeOffset? from, DateTimeOffset? to, HandoffSetup setup,
        CancellationToken ct)
    {
        var r = await setup.SpeedAsync(from, to, ct);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    // ---- lead actions ----

    private static async Task<Results<Ok<List<AssignmentView>>, ProblemHttpResult>> AssignmentsAsync(Guid id, TandemDb db, CancellationToken ct)
    {
        if (!await db.Leads.AnyAsync(l => l.Id == id, ct))
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        var rows = await db.Assignments.AsNoTracking().Where(a => a.LeadId == id).ToListAsync(ct);
        return TypedResults.Ok(rows.OrderByDescending(a => a.AssignedAt).ThenByDescending(a => a.Id).Select(AssignmentView.From).ToList());
    }

    private static async Task<Results<Created<TouchView>, ValidationProblem, ProblemHttpResult>> TouchAsync(Guid id, TouchRequest body, HttpContext http,
        HandoffService handoff, TimeProvider clock, CancellationToken ct)
    {
        var outcome = await LeadWork.TouchAsync(handoff, id, body, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (outcome.NotFound)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (outcome.Errors is not null)
            return TypedResults.ValidationProblem(outcome.Errors);
        return TypedResults.Created($"/api/v1/leads/{id}/activities", outcome.Value!);
    }

    private static async Task<Results<Ok<AssignmentView>, ValidationProblem, ProblemHttpResult>> ReassignAsync(Guid id, ReassignRequest body, HttpContext http,
        HandoffSetup setup, CancellationToken ct)
    {
        var r = await setup.ReassignAsync(id, body, ActorName(http), ct);
        if (r.NotFound is not null)
            return ApiConventions.NotFoundProblem(r.NotFound);
        if (r.Errors is not null)
            return TypedResults.ValidationProblem(r.Errors);
        return TypedResults.Ok(r.Value!);
    }

    private static async Task<Results<Ok<RejectView>, ValidationProblem, ProblemHttpResult>> RejectAsync(Guid id, RejectRequest body, HttpContext http,
        HandoffService handoff, TimeProvider clock, CancellationToken ct)
    {
        var outcome = await LeadWork.RejectAsync(handoff, id, body, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (outcome.NotFound)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (outcome.Errors is not null)
            return TypedResults.ValidationProblem(outcome.Errors);
        return TypedResults.Ok(outcome.Value!);
    }
}
