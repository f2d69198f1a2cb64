using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Handoff;

/// <summary>
/// The outcome of a setup operation: a value, or field errors (nothing written), or a missing object, or a conflict.
/// The API turns it into 200/400/404/409; the settings pages show it inline.
/// </summary>
public sealed record SetupResult<T>(T? Value, Dictionary<string, string[]>? Errors = null, string? NotFound = null, string? Conflict = null)
{
    public bool Ok => Errors is null && NotFound is null && Conflict is null;

    public static SetupResult<T> Invalid(Dictionary<string, string[]> errors) => new(default, errors);

    public static SetupResult<T> Invalid(string field, string message) => new(default, new Dictionary<string, string[]> { [field] = [message] });

    public static SetupResult<T> Missing(string detail) => new(default, NotFound: detail);

    public static SetupResult<T> Conflicting(string detail) => new(default, Conflict: detail);
}

public sealed record LeadPick(Guid Id, string? FirstName, string? LastName, string? Email, string? Company, string? Country);

/// <summary>
/// One method per handoff configuration and manager operation, shared by the API and the settings pages so both
/// validate and write the same way. <paramref name="handoff"/> brings the unit of work.
/// </summary>
public sealed class HandoffSetup(HandoffService handoff, HandoffConfigCache cache, TimeProvider clock)
{
    private static readonly string[] RepRoles = [Roles.Sales, Roles.SalesManager];

    private TandemDb Db => handoff.Db;

    // ---- reps ----

    public async Task<List<RepView>> RepsAsync(CancellationToken ct)
    {
        var db = Db;
        var roleIds = await db.Roles.Where(r => RepRoles.Contains(r.Name!)).Select(r => r.Id).ToListAsync(ct);
        var profiles = await db.Set<RepProfile>().AsNoTracking().ToDictionaryAsync(p => p.UserId, ct);
        var ids = (await db.UserRoles.Where(ur => roleIds.Contains(ur.RoleId)).Select(ur => ur.UserId).ToListAsync(ct)).Concat(profiles.Keys).ToHashSet();
        var users = await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).OrderBy(u => u.DisplayName).ToListAsync(ct);
        var open = await db.Assignments.AsNoTracking().Where(a => a.RepId != null
                && Assignment.OpenStates.Contains(a.State))
            .GroupBy(a => a.RepId!.Value).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        return [.. users.Select(u =>
        {
            profiles.TryGetValue(u.Id, out var p);
            var calendar = p is not null ? HandoffConfigCache.ParseCalendar(p.Calendar) : null;
            return new RepView(u.Id, u.DisplayName, u.Email, u.IsActive, p is not null, calendar ?? HandoffService.DefaultCalendar(u.TimeZone),
                p?.MaxOpenMqls, p?.MaxNewPerDay, open.GetValueOrDefault(u.Id));
        })];
    }

    public async Task<SetupResult<RepView>> SaveRepAsync(Guid userId, RepRequest body, string actor, CancellationToken ct)
    {
        var db = Db;
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, ct);
        if (user is null)
            return SetupResult<RepView>.Missing($"No user with id {userId}.");
        var errors = new FieldErrors();
        RoutingValidation.ValidateRep(body.MaxOpenMqls, body.MaxNewPerDay, body.Calendar, errors);
        if (errors.Any)
            return SetupResult<RepView>.Invalid(errors.ToDictionary());
        await ChangeConfigAsync(actor, async () =>
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
        return new(new RepView(user.Id, user.DisplayName, user.Email, user.IsActive, true, body.Calendar!, body.MaxOpenMqls, body.MaxNewPerDay, open));
    }

    /// <summary>Applies a configuration change under the routing lock and bumps the version every instance keys its cache on.</summary>
    private async Task ChangeConfigAsync(string actor, Func<Task> change, CancellationToken ct)
    {
        var db = Db;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var settings = db.Database.IsNpgsql()
            ? await db.Set<HandoffSettings>().FromSqlRaw("SELECT * FROM \"HandoffSettings\" WHERE \"Id\" = 1 FOR UPDATE").FirstAsync(ct)
            : await db.Set<HandoffSettings>().FirstAsync(ct);
        await change();
        settings.ConfigVersion++;
        settings.UpdatedAt = clock.GetUtcNow();
        settings.UpdatedBy = actor;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        cache.Invalidate();
    }

    // ---- teams ----

    public async Task<List<TeamView>> TeamsAsync(CancellationToken ct)
    {
        var defaultTeam = await Db.Set<HandoffSettings>().Select(s => s.DefaultTeamId).FirstOrDefaultAsync(ct);
        var teams = await Db.Set<SalesTeam>().AsNoTracking().Include(t => t.Members).OrderBy(t => t.Name).ToListAsync(ct);
        return [.. teams.Select(t => View(t, defaultTeam))];
    }

    private static TeamView View(SalesTeam t, Guid? defaultTeam) => new(t.Id, t.Name, t.ManagerUserId, t.Strategy, t.Overflow,
        HandoffConfigCache.ToTeam(t, []).Members, t.Id == defaultTeam);

    /// <summary>Creates a team (<paramref name="id"/> null) or updates one; members already in the team keep their counters.</summary>
    public async Task<SetupResult<TeamView>> SaveTeamAsync(Guid? id, TeamRequest body, string actor, CancellationToken ct)
    {
        var db = Db;
        SalesTeam team;
        if (id is { } existingId)
        {
            var found = await db.Set<SalesTeam>().Include(t => t.Members).FirstOrDefaultAsync(t => t.Id == existingId, ct);
            if (found is null)
                return SetupResult<TeamView>.Missing($"No team with id {existingId}.");
            team = found;
        }
        else
        {
            team = new SalesTeam { Name = "" };
        }
        var errors = await ApplyTeamAsync(team, body, ct);
        if (errors is not null)
            return SetupResult<TeamView>.Invalid(errors);
        await ChangeConfigAsync(actor, async () =>
        {
            if (id is not null)
                return;
            db.Add(team);
            // The first team becomes the default team, so leads are never left without a destination.
            var settings = await db.Set<HandoffSettings>().FirstAsync(ct);
            settings.DefaultTeamId ??= team.Id;
        }, ct);
        var defaultTeam = await db.Set<HandoffSettings>().Select(s => s.DefaultTeamId).FirstOrDefaultAsync(ct);
        return new(View(team, defaultTeam));
    }

    /// <summary>Validates the request and applies it to the tracked team; returns field errors (nothing applied) or null.</summary>
    private async Task<Dictionary<string, string[]>?> ApplyTeamAsync(SalesTeam team, TeamRequest body, CancellationToken ct)
    {
        var db = Db;
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

    /// <summary>Deletes a team no rule and no default points to (a conflict otherwise, nothing deleted).</summary>
    public async Task<SetupResult<bool>> DeleteTeamAsync(Guid id, string actor, CancellationToken ct)
    {
        var db = Db;
        var team = await db.Set<SalesTeam>().FirstOrDefaultAsync(t => t.Id == id, ct);
        if (team is null)
            return SetupResult<bool>.Missing($"No team with id {id}.");
        if (await db.Set<HandoffSettings>().AnyAsync(s => s.DefaultTeamId == id, ct))
            return SetupResult<bool>.Conflicting("This is the default team; choose another default first.");
        if (await db.Set<RoutingRuleRow>().AnyAsync(r => r.TargetTeamId == id, ct))
            return SetupResult<bool>.Conflicting("A routing rule sends leads to this team; change the rules first.");
        await ChangeConfigAsync(actor, () =>
        {
            db.Remove(team);
            return Task.CompletedTask;
        }, ct);
        return new(true);
    }

    // ---- rules ----

    public async Task<RulesView> RulesAsync(CancellationToken ct)
    {
        var settings = await Db.Set<HandoffSettings>().AsNoTracking().FirstAsync(ct);
        var rules = (await Db.Set<RoutingRuleRow>().AsNoTracking().ToListAsync(ct)).OrderBy(r => r.Order).Select(HandoffConfigCache.ToRule).ToList();
        return new RulesView(settings.DefaultTeamId, rules, settings.ConfigVersion);
    }

    /// <summary>Replaces the ordered rules and the default team, or returns field errors (paths such as <c>rules[2].conditions[0].values</c>).</summary>
    public async Task<SetupResult<RulesView>> SaveRulesAsync(RulesRequest body, string actor, CancellationToken ct)
    {
        var db = Db;
        var requests = body.Rules ?? [];
        var rules = requests.Select((r, i) => r is null ? null! : new RoutingRule(r.Id ?? Ids.New(), r.Order ?? (i + 1) * 10, r.Name?.Trim() ?? "",
            r.Conditions ?? [], r.Target ?? new RoutingTarget(null, null), r.Enabled ?? true)).ToList();
        var teams = (await db.Set<SalesTeam>().AsNoTracking().Include(t => t.Members).ToListAsync(ct)).Select(t => HandoffConfigCache.ToTeam(t, [])).ToList();
        var candidateIds = rules.Where(r => r?.Target?.RepId is not null).Select(r => r.Target.RepId!.Value)
            .Concat(teams.SelectMany(t => t.Members).Select(m => m.UserId))
            .Concat(teams.Where(t => t.ManagerUserId is not null).Select(t => t.ManagerUserId!.Value)).Distinct().ToList();
        var known = (await db.Users.Where(u => candidateIds.Contains(u.Id)).Select(u => u.Id).ToListAsync(ct)).ToHashSet();
        var errors = RoutingValidation.Validate(rules, teams, known, body.DefaultTeamId);
        if (errors.Any)
            return SetupResult<RulesView>.Invalid(errors.ToDictionary());
        await ChangeConfigAsync(actor, async () =>
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
        return new(await RulesAsync(ct));
    }

    // ---- SLA ----

    public async Task<SlaView> SlaAsync(CancellationToken ct)
    {
        var config = await HandoffConfigCache.LoadAsync(Db, -1, ct);
        return new SlaView([.. config.Policies.Values.OrderBy(p => p.Tier)], config.TierRule);
    }

    /// <summary>Replaces the SLA policies (one per tier) and the tier rule, or returns field errors (<c>policies[i].field</c>, <c>tierRule.field</c>).</summary>
    public async Task<SetupResult<SlaView>> SaveSlaAsync(SlaRequest body, string actor, CancellationToken ct)
    {
        var db = Db;
        var policies = body.Policies ?? [];
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var (key, messages) in SlaPolicy.ValidateSet(policies).ToDictionary())
            errors[key == "tiers" ? "policies" : "policies" + key] = messages;
        if (body.TierRule is { } rule)
            foreach (var (key, messages) in rule.Validate().ToDictionary())
                errors["tierRule." + key] = messages;
        if (errors.Count > 0)
            return SetupResult<SlaView>.Invalid(errors);
        await ChangeConfigAsync(actor, async () =>
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
        return new(await SlaAsync(ct));
    }

    // ---- dry run, queue, speed ----

    /// <summary>Where would this lead (an existing one, or attributes typed in) go now? Nothing is written.</summary>
    public async Task<SetupResult<SimulateView>> SimulateAsync(SimulateRequest body, CancellationToken ct)
    {
        var db = Db;
        if (body.LeadId is null && body.Lead is null)
            return SetupResult<SimulateView>.Invalid("leadId", "Give a lead id or lead attributes.");
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
                return SetupResult<SimulateView>.Missing($"No lead with id {leadId}.");
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
        return new(new SimulateView(decision, tier, due, now));
    }

    /// <summary>Leads to pick for the dry run: the leads list's search (prefix of email, last name or company), at most <paramref name="take"/>.</summary>
    public async Task<List<LeadPick>> FindLeadsAsync(string term, int take, CancellationToken ct)
    {
        term = term?.Trim() ?? "";
        if (term.Length == 0)
            return [];
        return await LeadsApi.Filter(Db.Leads.AsNoTracking(), new LeadQuery { Search = term.Length > 100 ? term[..100] : term }).OrderBy(l => l.Email).Take(take)
            .Select(l => new LeadPick(l.Id, l.FirstName, l.LastName, l.Email, l.Company, l.Country)).ToListAsync(ct);
    }

    public async Task<List<QueueItem>> QueueAsync(CancellationToken ct)
    {
        var db = Db;
        var rows = await db.Assignments.AsNoTracking().Where(a => a.RepId == null && a.State == AssignmentState.Open)
            .Join(db.Leads, a => a.LeadId, l => l.Id, (a, l) => new { a, l.FirstName, l.LastName, l.Email, l.Company })
            .ToListAsync(ct);
        return [.. rows.OrderBy(x => x.a.AssignedAt).Select(x => new QueueItem(x.a.Id, x.a.LeadId,
            string.Join(' ', new[] { x.FirstName, x.LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } n ? n : x.Email ?? x.Company ?? "",
            x.a.TeamId, x.a.Tier, x.a.AssignedAt, x.a.Reason))];
    }

    /// <summary>Speed to lead for [from, to) (default: the last 30 days), computed by <see cref="SpeedToLead.Compute"/>.</summary>
    public async Task<SetupResult<SpeedReport>> SpeedAsync(DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var end = to ?? now;
        var start = from ?? end.AddDays(-30);
        if (start >= end)
            return SetupResult<SpeedReport>.Invalid("from", "from must be before to.");
        if (end - start > TimeSpan.FromDays(731))
            return SetupResult<SpeedReport>.Invalid("from", "The period is at most two years.");
        var rows = await Db.Assignments.AsNoTracking()
            .Where(a => a.AssignedAt >= start && a.AssignedAt < end || a.FirstTouchDueAt >= start && a.FirstTouchDueAt < end)
            .Select(a => new AssignmentFacts(a.RepId, a.TeamId, a.MqlAt, a.AssignedAt, a.FirstTouchDueAt, a.FirstTouchedAt)).ToListAsync(ct);
        return new(SpeedToLead.Compute(rows, start, end, now));
    }

    // ---- manager actions ----

    /// <summary>Reassigns an MQL to the rep given, or by the rules excluding the current rep.</summary>
    /// <summary>Routes the MQLs a paused campaign held (no open assignment), one transaction each; returns how many were routed.</summary>
    public async Task<int> RouteHeldAsync(Guid campaignId, CancellationToken ct)
    {
        var db = Db;
        var held = await db.Leads.Where(l => l.FirstCampaignId == campaignId && l.Stage == LifecycleStage.Mql
            && !db.Assignments.Any(a => a.LeadId == l.Id && Assignment.OpenStates.Contains(a.State))).Select(l => l.Id).Take(10_000).ToListAsync(ct);
        foreach (var id in held)
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var lead = await db.Leads.FirstAsync(l => l.Id == id, ct);
            await handoff.AssignAsync(lead, new RouteRequest(lead.StageChangedAt), ct);
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        return held.Count;
    }

    public async Task<SetupResult<AssignmentView>> ReassignAsync(Guid leadId, ReassignRequest body, string actor, CancellationToken ct)
    {
        var db = Db;
        if (body.Reason?.Trim().Length > 1000)
            return SetupResult<AssignmentView>.Invalid("reason", "At most 1000 characters.");
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return SetupResult<AssignmentView>.Missing($"No lead with id {leadId}.");
        if (lead.Stage != LifecycleStage.Mql)
            return SetupResult<AssignmentView>.Invalid("lead", $"Only an MQL can be reassigned; this lead is {lead.Stage}.");
        if (body.RepId is { } repId && !await db.Users.AnyAsync(u => u.Id == repId && u.IsActive, ct))
            return SetupResult<AssignmentView>.Invalid("repId", "Unknown or deactivated user.");
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var current = await db.Assignments.Where(a => a.LeadId == leadId
            && Assignment.OpenStates.Contains(a.State)).FirstOrDefaultAsync(ct);
        var mqlAt = current?.MqlAt ?? lead.StageChangedAt;
        var next = await handoff.AssignAsync(lead, body.RepId is { } rep
            ? new RouteRequest(mqlAt, Previous: current, ManualRepId: rep, ManualBy: actor, Why: body.Reason?.Trim())
            : new RouteRequest(mqlAt, ExcludeRepId: current?.RepId, Previous: current), ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new(AssignmentView.From(next));
    }
}
