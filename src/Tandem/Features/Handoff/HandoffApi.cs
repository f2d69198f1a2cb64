using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
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

public sealed record TouchRequest(string? Type, string? Outcome, string? Note);

public sealed record TouchView(Guid ActivityId, bool FirstTouch, Guid? AssignmentId, DateTimeOffset At);

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

    private static readonly string[] RepRoles = [Roles.Sales, Roles.SalesManager];

    public static IServiceCollection AddHandoff(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<HandoffOptions>(configuration.GetSection("Tandem:Handoff"));
        services.AddSingleton<HandoffConfigCache>();
        services.AddSingleton<HandoffCounters>();
        services.AddScoped<HandoffService>();
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
        l.MapGet("/{id:guid}/assignments", AssignmentsAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("The lead's assignments, newest first, with why this rep.");
        l.MapPost("/{id:guid}/touches", TouchAsync).RequireAuthorization(TouchPolicy).WithSummary("Log a sales touch (call, email, meeting, note); the first one stops the SLA clock.");
        l.MapPost("/{id:guid}/reassign", ReassignAsync).RequireAuthorization(ConfigPolicy).WithSummary("Reassign an MQL: to a rep, or by the rules excluding the current rep.");
        l.MapPost("/{id:guid}/work-status", HandoffCadence.WorkStatusEndpointAsync).RequireAuthorization(TouchPolicy).WithSummary("Mark an MQL Attempting or Connected (Connected ends the attempts cadence).");
        l.MapPost("/{id:guid}/reject", RejectAsync).RequireAuthorization(TouchPolicy).WithSummary("Reject an MQL with a catalogue reason: recycled or disqualified as the reason says.");
        return api;
    }

    // ---- reps ----

    private static async Task<Ok<List<RepView>>> ListRepsAsync(TandemDb db, CancellationToken ct)
    {
        var roleIds = await db.Roles.Where(r => RepRoles.Contains(r.Name!)).Select(r => r.Id).ToListAsync(ct);
        var profiles = await db.Set<RepProfile>().AsNoTracking().ToDictionaryAsync(p => p.UserId, ct);
        var ids = (await db.UserRoles.Where(ur => roleIds.Contains(ur.RoleId)).Select(ur => ur.UserId).ToListAsync(ct)).Concat(profiles.Keys).ToHashSet();
        var users = await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).OrderBy(u => u.DisplayName).ToListAsync(ct);
        var open = await db.Assignments.AsNoTracking().Where(a => a.RepId != null
                && Assignment.OpenStates.Contains(a.State))
            .GroupBy(a => a.RepId!.Value).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        return TypedResults.Ok(users.Select(u =>
        {
            profiles.TryGetValue(u.Id, out var p);
            var calendar = p is not null ? HandoffConfigCache.ParseCalendar(p.Calendar) : null;
            return new RepView(u.Id, u.DisplayName, u.Email, u.IsActive, p is not null, calendar ?? HandoffService.DefaultCalendar(u.TimeZone),
                p?.MaxOpenMqls, p?.MaxNewPerDay, open.GetValueOrDefault(u.Id));
        }).ToList());
    }

    private static async Task<Results<Ok<RepView>, ValidationProblem, ProblemHttpResult>> PutRepAsync(Guid userId, RepRequest body, TandemDb db,
        HandoffConfigCache cache, TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, ct);
        if (user is null)
            return ApiConventions.NotFoundProblem($"No user with id {userId}.");
        var errors = new FieldErrors();
        RoutingValidation.ValidateRep(body.MaxOpenMqls, body.MaxNewPerDay, body.Calendar, errors);
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        await ChangeConfigAsync(db, cache, clock, http, async () =>
        {
            var profile = await db.Set<RepProfile>().FirstOrDefaultAsync(p => p.UserId == userId, ct);
            if (profile is null)
                db.Add(profile = new RepProfile { UserId = userId, Calendar = "" });
            profile.Calendar = JsonSerializer.Serialize(body.Calendar, HandoffJson.Options);
            profile.MaxOpenMqls = body.MaxOpenMqls;
            profile.MaxNewPerDay = body.MaxNewPerDay;
            profile.UpdatedAt = clock.GetUtcNow();
        }, ct);
        var open = await db.Assignments.CountAsync(a => a.RepId == userId
            && Assignment.OpenStates.Contains(a.State), ct);
        return TypedResults.Ok(new RepView(user.Id, user.DisplayName, user.Email, user.IsActive, true, body.Calendar!, body.MaxOpenMqls, body.MaxNewPerDay, open));
    }

    /// <summary>Applies a configuration change under the routing lock and bumps the version every instance keys its cache on.</summary>
    private static async Task ChangeConfigAsync(TandemDb db, HandoffConfigCache cache, TimeProvider clock, HttpContext http, Func<Task> change, CancellationToken ct)
    {
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var settings = db.Database.IsNpgsql()
            ? await db.Set<HandoffSettings>().FromSqlRaw("SELECT * FROM \"HandoffSettings\" WHERE \"Id\" = 1 FOR UPDATE").FirstAsync(ct)
            : await db.Set<HandoffSettings>().FirstAsync(ct);
        await change();
        settings.ConfigVersion++;
        settings.UpdatedAt = clock.GetUtcNow();
        settings.UpdatedBy = Actor.From(http.User).Name;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        cache.Invalidate();
    }

    // ---- teams ----

    private static async Task<Ok<List<TeamView>>> ListTeamsAsync(TandemDb db, CancellationToken ct)
    {
        var defaultTeam = await db.Set<HandoffSettings>().Select(s => s.DefaultTeamId).FirstOrDefaultAsync(ct);
        var teams = await db.Set<SalesTeam>().AsNoTracking().Include(t => t.Members).OrderBy(t => t.Name).ToListAsync(ct);
        return TypedResults.Ok(teams.Select(t => View(t, defaultTeam)).ToList());
    }

    private static TeamView View(SalesTeam t, Guid? defaultTeam) => new(t.Id, t.Name, t.ManagerUserId, t.Strategy, t.Overflow,
        HandoffConfigCache.ToTeam(t, []).Members, t.Id == defaultTeam);

    private static async Task<Results<Created<TeamView>, ValidationProblem>> CreateTeamAsync(TeamRequest body, TandemDb db, HandoffConfigCache cache,
        TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        var team = new SalesTeam { Name = "" };
        var errors = await ApplyTeamAsync(db, team, body, ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        await ChangeConfigAsync(db, cache, clock, http, async () =>
        {
            db.Add(team);
            // The first team becomes the default team, so leads are never left without a destination.
            var settings = await db.Set<HandoffSettings>().FirstAsync(ct);
            settings.DefaultTeamId ??= team.Id;
        }, ct);
        var defaultTeam = await db.Set<HandoffSettings>().Select(s => s.DefaultTeamId).FirstOrDefaultAsync(ct);
        return TypedResults.Created($"/api/v1/handoff/teams/{team.Id}", View(team, defaultTeam));
    }

    private static async Task<Results<Ok<TeamView>, ValidationProblem, ProblemHttpResult>> UpdateTeamAsync(Guid id, TeamRequest body, TandemDb db,
        HandoffConfigCache cache, TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        var team = await db.Set<SalesTeam>().Include(t => t.Members).FirstOrDefaultAsync(t => t.Id == id, ct);
        if (team is null)
            return ApiConventions.NotFoundProblem($"No team with id {id}.");
        var errors = await ApplyTeamAsync(db, team, body, ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        await ChangeConfigAsync(db, cache, clock, http, () => Task.CompletedTask, ct);
        var defaultTeam = await db.Set<HandoffSettings>().Select(s => s.DefaultTeamId).FirstOrDefaultAsync(ct);
        return TypedResults.Ok(View(team, defaultTeam));
    }

    /// <summary>Validates the request and applies it to the tracked team; returns field errors (nothing applied) or null.</summary>
    private static async Task<Dictionary<string, string[]>?> ApplyTeamAsync(TandemDb db, SalesTeam team, TeamRequest body, CancellationToken ct)
    {
        var memberRequests = body.Members ?? [];
        var userIds = memberRequests.Where(m => m is not null).Select(m => m.UserId).Append(body.ManagerUserId ?? Guid.Empty).ToList();
        var known = (await db.Users.Where(u => userIds.Contains(u.Id)).Select(u => u.Id).ToListAsync(ct)).ToHashSet();
        var existing = team.Members.ToDictionary(m => m.UserId);
        var floor = team.Members.Count == 0 ? 0 : team.Members.Min(m => m.AssignedCount);
        var members = memberRequests.Select(m => m is null ? null! : existing.TryGetValue(m.UserId, out var e)
            ? new TeamMember(m.UserId, m.Weight ?? e.Weight, e.AssignedCount, e.LastAssignedAt)
            : new TeamMember(m.UserId, m.Weight ?? 1, floor)).ToList();
        var candidate = new Team(team.Id, body.Name?.Trim() ?? "", body.ManagerUserId, body.Strategy ?? RoutingStrategy.RoundRobin, members,
            body.Overflow ?? OverflowPolicy.TeamQueue);
        var errors = new FieldErrors();
        RoutingValidation.ValidateTeam(candidate, known, errors);
        if (candidate.Name.Length > 200)
            errors.Add("name", "At most 200 characters.");
        else if (candidate.Name.Length > 0 && await db.Set<SalesTeam>().AnyAsync(t => t.Name == candidate.Name && t.Id != team.Id, ct))
            errors.Add("name", "Another team has this name.");
        if (errors.Any)
            return errors.ToDictionary();
        team.Name = candidate.Name;
        team.ManagerUserId = candidate.ManagerUserId;
        team.Strategy = candidate.Strategy;
        team.Overflow = candidate.Overflow;
        foreach (var gone in team.Members.Where(m => !members.Any(n => n.UserId == m.UserId)).ToList())
            team.Members.Remove(gone);
        foreach (var m in members)
        {
            if (existing.TryGetValue(m.UserId, out var row))
                row.Weight = m.Weight;
            else
                team.Members.Add(new SalesTeamMember { TeamId = team.Id, UserId = m.UserId, Weight = m.Weight, AssignedCount = m.AssignedCount });
        }
        return null;
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteTeamAsync(Guid id, TandemDb db, HandoffConfigCache cache, TimeProvider clock,
        HttpContext http, CancellationToken ct)
    {
        var team = await db.Set<SalesTeam>().FirstOrDefaultAsync(t => t.Id == id, ct);
        if (team is null)
            return ApiConventions.NotFoundProblem($"No team with id {id}.");
        if (await db.Set<HandoffSettings>().AnyAsync(s => s.DefaultTeamId == id, ct))
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: "This is the default team; choose another default first.");
        if (await db.Set<RoutingRuleRow>().AnyAsync(r => r.TargetTeamId == id, ct))
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: "A routing rule sends leads to this team; change the rules first.");
        await ChangeConfigAsync(db, cache, clock, http, () =>
        {
            db.Remove(team);
            return Task.CompletedTask;
        }, ct);
        return TypedResults.NoContent();
    }

    // ---- rules ----

    private static async Task<Ok<RulesView>> GetRulesAsync(TandemDb db, CancellationToken ct)
    {
        var settings = await db.Set<HandoffSettings>().AsNoTracking().FirstAsync(ct);
        var rules = (await db.Set<RoutingRuleRow>().AsNoTracking().ToListAsync(ct)).OrderBy(r => r.Order).Select(HandoffConfigCache.ToRule).ToList();
        return TypedResults.Ok(new RulesView(settings.DefaultTeamId, rules, settings.ConfigVersion));
    }

    private static async Task<Results<Ok<RulesView>, ValidationProblem>> PutRulesAsync(RulesRequest body, TandemDb db, HandoffConfigCache cache,
        TimeProvider clock, HttpContext http, CancellationToken ct)
    {
        var requests = body.Rules ?? [];
        var rules = requests.Select((r, i) => r is null ? null! : new RoutingRule(r.Id ?? Guid.CreateVersion7(), r.Order ?? (i + 1) * 10, r.Name?.Trim() ?? "",
            r.Conditions ?? [], r.Target ?? new RoutingTarget(null, null), r.Enabled ?? true)).ToList();
        var teams = (await db.Set<SalesTeam>().AsNoTracking().Include(t => t.Members).ToListAsync(ct)).Select(t => HandoffConfigCache.ToTeam(t, [])).ToList();
        var candidateIds = rules.Where(r => r?.Target?.RepId is not null).Select(r => r.Target.RepId!.Value)
            .Concat(teams.SelectMany(t => t.Members).Select(m => m.UserId))
            .Concat(teams.Where(t => t.ManagerUserId is not null).Select(t => t.ManagerUserId!.Value)).Distinct().ToList();
        var known = (await db.Users.Where(u => candidateIds.Contains(u.Id)).Select(u => u.Id).ToListAsync(ct)).ToHashSet();
        var errors = RoutingValidation.Validate(rules, teams, known, body.DefaultTeamId);
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        await ChangeConfigAsync(db, cache, clock, http, async () =>
        {
            db.RemoveRange(await db.Set<RoutingRuleRow>().ToListAsync(ct));
            foreach (var r in rules)
                db.Add(new RoutingRuleRow
                {
                    Id = r.Id,
                    Order = r.Order,
                    Name = r.Name,
                    Enabled = r.Enabled,
                    Conditions = JsonSerializer.Serialize(r.Conditions, HandoffJson.Options),
                    TargetTeamId = r.Target.TeamId,
                    TargetRepId = r.Target.RepId,
                });
            (await db.Set<HandoffSettings>().FirstAsync(ct)).DefaultTeamId = body.DefaultTeamId;
        }, ct);
        return TypedResults.Ok((await GetRulesAsync(db, ct)).Value!);
    }

    // ---- SLA ----

    private static async Task<Ok<SlaView>> GetSlaAsync(TandemDb db, CancellationToken ct)
    {
        var config = await HandoffConfigCache.LoadAsync(db, -1, ct);
        return TypedResults.Ok(new SlaView([.. config.Policies.Values.OrderBy(p => p.Tier)], config.TierRule));
    }

    private static async Task<Results<Ok<SlaView>, ValidationProblem>> PutSlaAsync(SlaRequest body, TandemDb db, HandoffConfigCache cache, TimeProvider clock,
        HttpContext http, CancellationToken ct)
    {
        var policies = body.Policies ?? [];
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (key, messages) in SlaPolicy.ValidateSet(policies).ToDictionary())
            errors[key == "tiers" ? "policies" : "policies" + key] = messages;
        if (body.TierRule is { } rule)
            foreach (var (key, messages) in rule.Validate().ToDictionary())
                errors["tierRule." + key] = messages;
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        await ChangeConfigAsync(db, cache, clock, http, async () =>
        {
            db.RemoveRange(await db.Set<SlaPolicyRow>().ToListAsync(ct));
            await db.SaveChangesAsync(ct);
            foreach (var p in policies)
                db.Add(new SlaPolicyRow
                {
                    Tier = p.Tier,
                    FirstTouchMinutes = p.FirstTouchMinutes,
                    ReminderPercents = JsonSerializer.Serialize(p.ReminderPercents ?? [], HandoffJson.Options),
                    GraceMinutes = p.GraceMinutes,
                    Attempts = p.Attempts,
                    AttemptWindowDays = p.AttemptWindowDays,
                });
            if (body.TierRule is not null)
                (await db.Set<HandoffSettings>().FirstAsync(ct)).TierRule = JsonSerializer.Serialize(body.TierRule, HandoffJson.Options);
        }, ct);
        return TypedResults.Ok((await GetSlaAsync(db, ct)).Value!);
    }

    // ---- dry run, queue, speed ----

    private static async Task<Results<Ok<SimulateView>, ValidationProblem, ProblemHttpResult>> SimulateAsync(SimulateRequest body, HandoffService handoff,
        HandoffConfigCache cache, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        if (body.LeadId is null && body.Lead is null)
            return ApiConventions.FieldError("leadId", "Give a lead id or lead attributes.");
        var now = clock.GetUtcNow();
        var version = await db.Set<HandoffSettings>().Select(s => s.ConfigVersion).FirstOrDefaultAsync(ct);
        var config = await cache.GetAsync(db, version, ct);
        RoutingDecision decision;
        SlaTier tier;
        List<RepState> reps;
        if (body.LeadId is { } leadId)
        {
            var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Id == leadId, ct);
            if (lead is null)
                return ApiConventions.NotFoundProblem($"No lead with id {leadId}.");
            (decision, tier, reps) = await handoff.DecideAsync(config, lead, null, now, ct);
        }
        else
        {
            tier = body.Lead!.Tier ?? SlaTier.Standard;
            reps = await handoff.RepStatesAsync(config, body.AccountOwnerId is { } o ? [o] : [], null, now, ct);
            var teams = config.Teams.Select(t => t with
            {
                Members = db.Set<SalesTeamMember>().AsNoTracking().Where(m => m.TeamId == t.Id).OrderBy(m => m.UserId).AsEnumerable()
                    .Select(m => new TeamMember(m.UserId, m.Weight, m.AssignedCount, m.LastAssignedAt)).ToList(),
            }).ToList();
            decision = RoutingEngine.Route(new RoutingInput(body.Lead with { Tier = tier }, body.AccountOwnerId, now), config.Rules, teams, reps,
                config.DefaultTeamId ?? Guid.Empty);
        }
        DateTimeOffset? due = null;
        if (decision.RepId is { } repId && reps.FirstOrDefault(r => r.UserId == repId) is { } rep)
        {
            try
            {
                due = SlaPlanner.Plan(config.Policies[tier], now, rep.Calendar).FirstTouchDueAt;
            }
            catch (NoWorkingTimeException)
            {
                due = null;
            }
        }
        return TypedResults.Ok(new SimulateView(decision, tier, due, now));
    }

    private static async Task<Ok<List<QueueItem>>> QueueAsync(TandemDb db, CancellationToken ct)
    {
        var rows = await db.Assignments.AsNoTracking().Where(a => a.RepId == null && a.State == AssignmentState.Open)
            .Join(db.Leads, a => a.LeadId, l => l.Id, (a, l) => new { a, l.FirstName, l.LastName, l.Email, l.Company })
            .ToListAsync(ct);
        return TypedResults.Ok(rows.OrderBy(x => x.a.AssignedAt).Select(x => new QueueItem(x.a.Id, x.a.LeadId,
            string.Join(' ', new[] { x.FirstName, x.LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } n ? n : x.Email ?? x.Company ?? "",
            x.a.TeamId, x.a.Tier, x.a.AssignedAt, x.a.Reason)).ToList());
    }

    private static async Task<Results<Ok<SpeedReport>, ValidationProblem>> SpeedAsync(DateTimeOffset? from, DateTimeOffset? to, TandemDb db, TimeProvider clock,
        CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var end = to ?? now;
        var start = from ?? end.AddDays(-30);
        if (start >= end)
            return ApiConventions.FieldError("from", "from must be before to.");
        if (end - start > TimeSpan.FromDays(731))
            return ApiConventions.FieldError("from", "The period is at most two years.");
        var rows = await db.Assignments.AsNoTracking()
            .Where(a => a.AssignedAt >= start && a.AssignedAt < end || a.FirstTouchDueAt >= start && a.FirstTouchDueAt < end)
            .Select(a => new AssignmentFacts(a.RepId, a.TeamId, a.MqlAt, a.AssignedAt, a.FirstTouchDueAt, a.FirstTouchedAt)).ToListAsync(ct);
        return TypedResults.Ok(SpeedToLead.Compute(rows, start, end, now));
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
        HandoffService handoff, CancellationToken ct)
    {
        var db = handoff.Db;
        if (body.Reason?.Trim().Length > 1000)
            return ApiConventions.FieldError("reason", "At most 1000 characters.");
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (lead is null)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (lead.Stage != LifecycleStage.Mql)
            return ApiConventions.FieldError("lead", $"Only an MQL can be reassigned; this lead is {lead.Stage}.");
        if (body.RepId is { } repId && !await db.Users.AnyAsync(u => u.Id == repId && u.IsActive, ct))
            return ApiConventions.FieldError("repId", "Unknown or deactivated user.");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var current = await db.Assignments.Where(a => a.LeadId == id
            && Assignment.OpenStates.Contains(a.State)).FirstOrDefaultAsync(ct);
        var mqlAt = current?.MqlAt ?? lead.StageChangedAt;
        var next = await handoff.AssignAsync(lead, body.RepId is { } rep
            ? new RouteRequest(mqlAt, Previous: current, ManualRepId: rep, ManualBy: Actor.From(http.User).Name, Why: body.Reason?.Trim())
            : new RouteRequest(mqlAt, ExcludeRepId: current?.RepId, Previous: current), ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return TypedResults.Ok(AssignmentView.From(next));
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
