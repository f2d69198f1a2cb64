using System.Globalization;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Handoff.Routing;

/// <summary>
/// Picks the rep for an MQL: the account owner first (when eligible), then the first matching rule (by order), then
/// the target rep or the team's strategy, then the team's overflow. Pure: the result depends only on the arguments,
/// and every strategy is computed from persisted counts, so two instances (or a restart) decide the same way.
/// </summary>
public static class RoutingEngine
{
    /// <summary>
    /// Routes one lead. Never returns "nobody": when nothing can take it, the decision is <see cref="RoutingOutcome.Queued"/>
    /// on a team with <see cref="RoutingDecision.AlertManagers"/> set. <see cref="RoutingDecision.Skipped"/> lists the
    /// reps passed over before the choice (each once, with the first reason that applied, in the order Inactive,
    /// OutOfOffice, OffShift, AtCapacity, DailyLimit; a holiday counts as off shift).
    /// </summary>
    public static RoutingDecision Route(RoutingInput input, IReadOnlyList<RoutingRule> rules, IReadOnlyList<Team> teams, IReadOnlyList<RepState> reps, Guid defaultTeamId)
    {
        var now = input.Now;
        var repsById = new Dictionary<Guid, RepState>(reps.Count);
        foreach (var r in reps)
            repsById[r.UserId] = r;
        var skipped = new List<SkippedRep>();

        if (input.AccountOwnerId is { } ownerId && Eligible(ownerId, repsById, now, skipped) is { } owner)
            return Assigned(owner.UserId, null, RoutingPath.AccountOwner, null, false, null, skipped,
                $"Account owner {owner.Name}.");

        var rule = FirstMatch(input.Lead, rules);
        Guid teamId;
        var usedDefault = false;
        if (rule is null)
        {
            teamId = defaultTeamId;
            usedDefault = true;
        }
        else
        {
            if (rule.Target.RepId is { } repId && Eligible(repId, repsById, now, skipped) is { } rep)
                return Assigned(rep.UserId, rule.Target.TeamId, RoutingPath.RuleRep, rule, false, null, skipped,
                    $"Rule '{rule.Name}' sends it to {rep.Name}.");
            teamId = rule.Target.TeamId ?? defaultTeamId;
            usedDefault = rule.Target.TeamId is null;
        }

        var team = FindTeam(teams, teamId);
        if (team is null && teamId != defaultTeamId)
        {
            usedDefault = true;
            teamId = defaultTeamId;
            team = FindTeam(teams, teamId);
        }
        var why = rule is null ? "No rule matched; default team" : usedDefault ? $"Rule '{rule.Name}' fell back to the default team" : $"Rule '{rule.Name}'";
        if (team is null)
            return new RoutingDecision(RoutingOutcome.Queued, null, teamId, RoutingPath.Queue, rule?.Id, rule?.Name, usedDefault, null, true,
                $"{why}: team {teamId} does not exist; queued, managers alerted.", skipped);

        var ranked = Rank(team, repsById);
        foreach (var (member, rep) in ranked)
        {
            if (rep is null)
            {
                AddSkip(skipped, member.UserId, null, SkipReason.Unknown);
                continue;
            }
            var reason = Check(rep, now);
            if (reason is null)
                return Assigned(rep.UserId, team.Id, RoutingPath.TeamStrategy, rule, usedDefault, team.Strategy, skipped,
                    $"{why} → team {team.Name} ({team.Strategy}): {rep.Name}.");
            AddSkip(skipped, rep.UserId, rep.Name, reason.Value);
        }

        switch (team.Overflow)
        {
            case OverflowPolicy.Manager when team.ManagerUserId is { } managerId:
                return Assigned(managerId, team.Id, RoutingPath.OverflowManager, rule, usedDefault, team.Strategy, skipped,
                    $"{why} → team {team.Name}: nobody eligible, overflow to the manager.");
            case OverflowPolicy.NextRep when NextOnShift(ranked, now) is { } next:
                return Assigned(next.Rep.UserId, team.Id, RoutingPath.OverflowNextRep, rule, usedDefault, team.Strategy, skipped,
                    $"{why} → team {team.Name}: nobody on shift, overflow to {next.Rep.Name} who starts first ({next.StartsAt:u}).");
        }
        return new RoutingDecision(RoutingOutcome.Queued, null, team.Id, RoutingPath.Queue, rule?.Id, rule?.Name, usedDefault, team.Strategy, true,
            $"{why} → team {team.Name}: nobody eligible; queued, managers alerted.", skipped);
    }

    /// <summary>Why <paramref name="rep"/> cannot take a lead at <paramref name="now"/>, or null when it can.</summary>
    public static SkipReason? Check(RepState rep, DateTimeOffset now)
    {
        if (!rep.Active)
            return SkipReason.Inactive;
        var state = BusinessTime.StateAt(now, rep.Calendar);
        if (state == WorkingState.OutOfOffice)
            return SkipReason.OutOfOffice;
        if (state == WorkingState.Off)
            return SkipReason.OffShift;
        return CapacityCheck(rep);
    }

    /// <summary>The first enabled rule (ascending order, then list position) whose conditions all hold.</summary>
    public static RoutingRule? FirstMatch(LeadAttributes lead, IReadOnlyList<RoutingRule> rules)
    {
        RoutingRule? best = null;
        foreach (var rule in rules)
        {
            if (!rule.Enabled || best is not null && rule.Order >= best.Order)
                continue;
            if (Matches(lead, rule.Conditions))
                best = rule;
        }
        return best;
    }

    public static bool Matches(LeadAttributes lead, IReadOnlyList<RoutingCondition> conditions)
    {
        foreach (var c in conditions)
            if (!Holds(lead, c))
                return false;
        return true;
    }

    public static bool Holds(LeadAttributes lead, RoutingCondition condition)
    {
        var values = condition.Values ?? [];
        switch (condition.Field)
        {
            case LeadField.CompanySize:
                return Number(lead.CompanySize, condition.Operator, values);
            case LeadField.Fit:
                return Number(lead.Fit, condition.Operator, values);
            case LeadField.Engagement:
                return Number(lead.Engagement, condition.Operator, values);
            case LeadField.Grade:
                return Ordered(lead.Grade is { } g ? (int)g : null, condition.Operator, values, ParseGrade);
            case LeadField.Tier:
                return Ordered(lead.Tier is { } t ? (int)t : null, condition.Operator, values, ParseTier);
            case LeadField.CampaignId:
                return Id(lead.CampaignId, condition.Operator, values);
            case LeadField.PersonaId:
                return Id(lead.PersonaId, condition.Operator, values);
            default:
                var text = condition.Field switch
                {
                    LeadField.Country => lead.Country,
                    LeadField.Industry => lead.Industry,
                    LeadField.Language => lead.Language,
                    LeadField.Channel => lead.Channel,
                    LeadField.Source => lead.Source,
                    LeadField.CustomField => condition.CustomField is { } key && lead.CustomFields?.TryGetValue(key, out var v) == true ? v : null,
                    _ => null,
                };
                return Text(text, condition.Operator, values);
        }
    }

    private static bool Text(string? value, ConditionOperator op, IReadOnlyList<string> values)
    {
        var empty = string.IsNullOrWhiteSpace(value);
        switch (op)
        {
            case ConditionOperator.IsEmpty:
                return empty;
            case ConditionOperator.IsNotEmpty:
                return !empty;
            case ConditionOperator.NotIn:
                return empty || !AnyEquals(value!.Trim(), values);
            case ConditionOperator.In:
                return !empty && AnyEquals(value!.Trim(), values);
            case ConditionOperator.Contains:
                if (empty)
                    return false;
                foreach (var v in values)
                    if (!string.IsNullOrEmpty(v) && value!.Contains(v.Trim(), StringComparison.OrdinalIgnoreCase))
                        return true;
                return false;
            default:
                // Numeric comparisons on a text field (a custom field holding numbers).
                return !empty && decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var n) && Number(n, op, values);
        }
    }

    private static bool AnyEquals(string value, IReadOnlyList<string> values)
    {
        foreach (var v in values)
            if (v is not null && string.Equals(value, v.Trim(), StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    private static bool Number(decimal? value, ConditionOperator op, IReadOnlyList<string> values)
    {
        switch (op)
        {
            case ConditionOperator.IsEmpty:
                return value is null;
            case ConditionOperator.IsNotEmpty:
                return value is not null;
            case ConditionOperator.NotIn:
                if (value is null)
                    return true;
                foreach (var v in values)
                    if (ParseNumber(v) == value)
                        return false;
                return true;
        }
        if (value is not { } x)
            return false;
        switch (op)
        {
            case ConditionOperator.In:
                foreach (var v in values)
                    if (ParseNumber(v) == x)
                        return true;
                return false;
            case ConditionOperator.GreaterOrEqual:
                return values.Count > 0 && ParseNumber(values[0]) is { } min && x >= min;
            case ConditionOperator.LessOrEqual:
                return values.Count > 0 && ParseNumber(values[0]) is { } max && x <= max;
            case ConditionOperator.Between:
                return values.Count == 2 && ParseNumber(values[0]) is { } a && ParseNumber(values[1]) is { } b && x >= Math.Min(a, b) && x <= Math.Max(a, b);
            default:
                return false;
        }
    }

    /// <summary>Grade and tier: smaller is better/hotter (A &lt; D, Hot &lt; Low), so "at least B" is rank ≤ rank(B).</summary>
    private static bool Ordered(int? rank, ConditionOperator op, IReadOnlyList<string> values, Func<string?, int?> parse)
    {
        switch (op)
        {
            case ConditionOperator.IsEmpty:
                return rank is null;
            case ConditionOperator.IsNotEmpty:
                return rank is not null;
            case ConditionOperator.NotIn:
                if (rank is null)
                    return true;
                foreach (var v in values)
                    if (parse(v) == rank)
                        return false;
                return true;
        }
        if (rank is not { } x)
            return false;
        switch (op)
        {
            case ConditionOperator.In:
                foreach (var v in values)
                    if (parse(v) == x)
                        return true;
                return false;
            case ConditionOperator.GreaterOrEqual:
                return values.Count > 0 && parse(values[0]) is { } atLeast && x <= atLeast;
            case ConditionOperator.LessOrEqual:
                return values.Count > 0 && parse(values[0]) is { } atMost && x >= atMost;
            case ConditionOperator.Between:
                return values.Count == 2 && parse(values[0]) is { } a && parse(values[1]) is { } b && x >= Math.Min(a, b) && x <= Math.Max(a, b);
            default:
                return false;
        }
    }

    private static bool Id(Guid? value, ConditionOperator op, IReadOnlyList<string> values)
    {
        switch (op)
        {
            case ConditionOperator.IsEmpty:
                return value is null;
            case ConditionOperator.IsNotEmpty:
                return value is not null;
            case ConditionOperator.In or ConditionOperator.NotIn:
                var found = false;
                if (value is { } id)
                    foreach (var v in values)
                        if (Guid.TryParse(v, out var g) && g == id)
                        {
                            found = true;
                            break;
                        }
                return op == ConditionOperator.In ? found : !found;
            default:
                return false;
        }
    }

    internal static decimal? ParseNumber(string? s) =>
        decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? d : null;

    internal static int? ParseGrade(string? s) => Enum.TryParse<Grade>(s?.Trim(), true, out var g) && Enum.IsDefined(g) && !int.TryParse(s, out _) ? (int)g : null;

    internal static int? ParseTier(string? s) => Enum.TryParse<SlaTier>(s?.Trim(), true, out var t) && Enum.IsDefined(t) && !int.TryParse(s, out _) ? (int)t : null;

    private static Team? FindTeam(IReadOnlyList<Team> teams, Guid id)
    {
        foreach (var t in teams)
            if (t.Id == id)
                return t;
        return null;
    }

    private static RepState? Eligible(Guid repId, Dictionary<Guid, RepState> reps, DateTimeOffset now, List<SkippedRep> skipped)
    {
        if (!reps.TryGetValue(repId, out var rep))
        {
            AddSkip(skipped, repId, null, SkipReason.Unknown);
            return null;
        }
        if (Check(rep, now) is { } reason)
        {
            AddSkip(skipped, repId, rep.Name, reason);
            return null;
        }
        return rep;
    }

    private static SkipReason? CapacityCheck(RepState rep)
    {
        if (rep.MaxOpenMqls is { } maxOpen && rep.OpenMqlCount >= maxOpen)
            return SkipReason.AtCapacity;
        if (rep.MaxNewPerDay is { } maxNew && rep.AssignedTodayCount >= maxNew)
            return SkipReason.DailyLimit;
        return null;
    }

    private static void AddSkip(List<SkippedRep> skipped, Guid id, string? name, SkipReason reason)
    {
        foreach (var s in skipped)
            if (s.UserId == id)
                return;
        skipped.Add(new SkippedRep(id, name, reason));
    }

    /// <summary>The team's members in the order the strategy prefers them (best first).</summary>
    private static (TeamMember Member, RepState? Rep)[] Rank(Team team, Dictionary<Guid, RepState> reps)
    {
        var members = team.Members;
        var ranked = new (TeamMember Member, RepState? Rep)[members.Count];
        for (var i = 0; i < ranked.Length; i++)
            ranked[i] = (members[i], reps.GetValueOrDefault(members[i].UserId));
        Comparison<(TeamMember Member, RepState? Rep)> primary;
        switch (team.Strategy)
        {
            case RoutingStrategy.WeightedRoundRobin:
                long total = 0, weights = 0;
                foreach (var m in members)
                {
                    total += m.AssignedCount;
                    weights += Math.Max(1, m.Weight);
                }
                primary = (x, y) =>
                {
                    // Members still under their upper quota for the next lead come first (Balinski–Young quota
                    // method): without it, lowest (assigned + 1) / weight alone lets a heavy member run more than one
                    // lead ahead of its share early on.
                    var c = UnderQuota(y.Member, total, weights).CompareTo(UnderQuota(x.Member, total, weights));
                    // (assigned + 1) / weight compared exactly by cross-multiplying.
                    return c != 0 ? c : (((long)x.Member.AssignedCount + 1) * Math.Max(1, y.Member.Weight)).CompareTo(((long)y.Member.AssignedCount + 1) * Math.Max(1, x.Member.Weight));
                };
                break;
            case RoutingStrategy.LeastLoaded:
                primary = static (x, y) => Open(x.Rep).CompareTo(Open(y.Rep));
                break;
            case RoutingStrategy.CapacityAware:
                primary = static (x, y) => CompareLoad(x.Rep, y.Rep);
                break;
            default:
                primary = static (x, y) => x.Member.AssignedCount.CompareTo(y.Member.AssignedCount);
                break;
        }
        Array.Sort(ranked, (x, y) =>
        {
            var c = primary(x, y);
            if (c != 0)
                return c;
            c = (x.Member.LastAssignedAt ?? DateTimeOffset.MinValue).CompareTo(y.Member.LastAssignedAt ?? DateTimeOffset.MinValue);
            return c != 0 ? c : x.Member.UserId.CompareTo(y.Member.UserId);
        });
        return ranked;
    }

    /// <summary>assigned &lt; (total + 1) × weight / Σ weights, in integers.</summary>
    private static bool UnderQuota(TeamMember m, long total, long weights) =>
        m.AssignedCount * weights < (total + 1) * Math.Max(1, m.Weight);

    private static int Open(RepState? rep) => rep?.OpenMqlCount ?? int.MaxValue;

    private static int CompareLoad(RepState? x, RepState? y)
    {
        if (x is null || y is null)
            return (x is null).CompareTo(y is null);
        bool xCapped = x.MaxOpenMqls is > 0, yCapped = y.MaxOpenMqls is > 0;
        if (xCapped != yCapped)
            return xCapped ? -1 : 1;
        if (xCapped)
        {
            var c = ((long)x.OpenMqlCount * y.MaxOpenMqls!.Value).CompareTo((long)y.OpenMqlCount * x.MaxOpenMqls!.Value);
            if (c != 0)
                return c;
        }
        return x.OpenMqlCount.CompareTo(y.OpenMqlCount);
    }

    private static (RepState Rep, DateTimeOffset StartsAt)? NextOnShift((TeamMember Member, RepState? Rep)[] ranked, DateTimeOffset now)
    {
        (RepState Rep, DateTimeOffset StartsAt)? best = null;
        foreach (var (_, rep) in ranked)
        {
            if (rep is null || !rep.Active || CapacityCheck(rep) is not null)
                continue;
            DateTimeOffset startsAt;
            try
            {
                startsAt = BusinessTime.NextWorkingMoment(now, rep.Calendar);
            }
            catch (NoWorkingTimeException)
            {
                continue;
            }
            if (best is null || startsAt < best.Value.StartsAt)
                best = (rep, startsAt);
        }
        return best;
    }

    private static RoutingDecision Assigned(Guid repId, Guid? teamId, RoutingPath path, RoutingRule? rule, bool usedDefault, RoutingStrategy? strategy, List<SkippedRep> skipped, string reason) =>
        new(RoutingOutcome.Assigned, repId, teamId, path, rule?.Id, rule?.Name, usedDefault, strategy, false, reason, skipped);
}
