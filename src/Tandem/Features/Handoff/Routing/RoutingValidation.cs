using Tandem.Features.Capture;

namespace Tandem.Features.Handoff.Routing;

/// <summary>Field errors for routing rules, teams and rep capacities (paths such as <c>rules[2].conditions[0].values</c>).</summary>
public static class RoutingValidation
{
    private static readonly LeadField[] NumberFields = [LeadField.CompanySize, LeadField.Fit, LeadField.Engagement];
    private static readonly LeadField[] IdFields = [LeadField.CampaignId, LeadField.PersonaId];

    /// <summary>
    /// Validates a whole configuration: each rule and team, unique rule orders, at most one catch-all (a rule without
    /// conditions) and only as the last enabled rule, and a default team that exists.
    /// <paramref name="knownUserIds"/> holds the users that may be targets, members or managers.
    /// </summary>
    public static FieldErrors Validate(IReadOnlyList<RoutingRule> rules, IReadOnlyList<Team> teams, IReadOnlySet<Guid> knownUserIds, Guid? defaultTeamId)
    {
        var errors = new FieldErrors();
        var teamIds = teams.Where(t => t is not null).Select(t => t.Id).ToHashSet();
        for (var i = 0; i < teams.Count; i++)
        {
            if (teams[i] is null)
            {
                errors.Add($"teams[{i}]", "A team is required.");
                continue;
            }
            ValidateTeam(teams[i], knownUserIds, errors, $"teams[{i}].");
            if (teams.Take(i).Any(t => t?.Id == teams[i].Id))
                errors.Add($"teams[{i}].id", "Another team has this id.");
        }
        if (defaultTeamId is not { } defaultId)
            errors.Add("defaultTeamId", "A default team is required: leads that match no rule go there.");
        else if (!teamIds.Contains(defaultId))
            errors.Add("defaultTeamId", "Unknown team.");

        var lastEnabledOrder = rules.Where(r => r is not null && r.Enabled).Select(r => r.Order).DefaultIfEmpty(int.MinValue).Max();
        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            if (rule is null)
            {
                errors.Add($"rules[{i}]", "A rule is required.");
                continue;
            }
            ValidateRule(rule, teamIds, knownUserIds, errors, $"rules[{i}].");
            if (rules.Take(i).Any(r => r is not null && r.Order == rule.Order))
                errors.Add($"rules[{i}].order", "Another rule has this order: rules are tried one after the other.");
            if (rules.Take(i).Any(r => r?.Id == rule.Id))
                errors.Add($"rules[{i}].id", "Another rule has this id.");
            if (rule.Enabled && (rule.Conditions?.Count ?? 0) == 0 && rule.Order != lastEnabledOrder)
                errors.Add($"rules[{i}].conditions", "Only the last rule may have no conditions (a catch-all): the rules after it could never match.");
        }
        return errors;
    }

    public static void ValidateRule(RoutingRule rule, IReadOnlySet<Guid> teamIds, IReadOnlySet<Guid> knownUserIds, FieldErrors errors, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(rule.Name))
            errors.Add(prefix + "name", "A name is required.");
        else if (rule.Name.Length > 200)
            errors.Add(prefix + "name", "At most 200 characters.");
        var conditions = rule.Conditions ?? [];
        for (var j = 0; j < conditions.Count; j++)
            ValidateCondition(conditions[j], errors, $"{prefix}conditions[{j}].");
        if (rule.Target is null || rule.Target.TeamId is null && rule.Target.RepId is null)
        {
            errors.Add(prefix + "target", "A target team or rep is required.");
            return;
        }
        if (rule.Target.TeamId is { } teamId && !teamIds.Contains(teamId))
            errors.Add(prefix + "target.teamId", "Unknown team.");
        if (rule.Target.RepId is { } repId && !knownUserIds.Contains(repId))
            errors.Add(prefix + "target.repId", "Unknown rep.");
    }

    public static void ValidateCondition(RoutingCondition? c, FieldErrors errors, string prefix = "")
    {
        if (c is null)
        {
            errors.Add(prefix.TrimEnd('.'), "A condition is required.");
            return;
        }
        if (!Enum.IsDefined(c.Field))
        {
            errors.Add(prefix + "field", "Unknown field.");
            return;
        }
        if (!Enum.IsDefined(c.Operator))
        {
            errors.Add(prefix + "operator", "Unknown operator.");
            return;
        }
        if (c.Field == LeadField.CustomField && string.IsNullOrWhiteSpace(c.CustomField))
            errors.Add(prefix + "customField", "Name the custom field.");
        var values = c.Values ?? [];
        var op = c.Operator;
        var isNumber = NumberFields.Contains(c.Field);
        var isOrdered = c.Field is LeadField.Grade or LeadField.Tier;
        var isId = IdFields.Contains(c.Field);
        var comparison = op is ConditionOperator.GreaterOrEqual or ConditionOperator.LessOrEqual or ConditionOperator.Between;

        var allowed = op switch
        {
            ConditionOperator.Contains => !isNumber && !isOrdered && !isId,
            ConditionOperator.GreaterOrEqual or ConditionOperator.LessOrEqual or ConditionOperator.Between =>
                isNumber || c.Field is LeadField.Grade or LeadField.CustomField,
            _ => true,
        };
        if (!allowed)
        {
            errors.Add(prefix + "operator", $"{op} does not apply to {c.Field}.");
            return;
        }

        (int Min, int Max) expected = op switch
        {
            ConditionOperator.IsEmpty or ConditionOperator.IsNotEmpty => (0, 0),
            ConditionOperator.GreaterOrEqual or ConditionOperator.LessOrEqual => (1, 1),
            ConditionOperator.Between => (2, 2),
            _ => (1, 100),
        };
        if (values.Count < expected.Min || values.Count > expected.Max)
        {
            errors.Add(prefix + "values", expected switch
            {
                (0, 0) => $"{op} takes no value.",
                (1, 1) => $"{op} takes exactly one value.",
                (2, 2) => "Between takes exactly two values (from, to).",
                _ => "Give between 1 and 100 values.",
            });
            return;
        }
        for (var k = 0; k < values.Count; k++)
        {
            var v = values[k];
            string? problem = null;
            if (string.IsNullOrWhiteSpace(v))
                problem = "A value cannot be empty.";
            else if ((isNumber || c.Field == LeadField.CustomField && comparison) && RoutingEngine.ParseNumber(v) is null)
                problem = $"'{v}' is not a number.";
            else if (c.Field == LeadField.Grade && RoutingEngine.ParseGrade(v) is null)
                problem = $"'{v}' is not a grade (A, B, C or D).";
            else if (c.Field == LeadField.Tier && RoutingEngine.ParseTier(v) is null)
                problem = $"'{v}' is not a tier (Hot, Standard or Low).";
            else if (isId && !Guid.TryParse(v, out _))
                problem = $"'{v}' is not an id.";
            if (problem is not null)
                errors.Add($"{prefix}values[{k}]", problem);
        }
    }

    public static void ValidateTeam(Team team, IReadOnlySet<Guid> knownUserIds, FieldErrors errors, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(team.Name))
            errors.Add(prefix + "name", "A name is required.");
        if (!Enum.IsDefined(team.Strategy))
            errors.Add(prefix + "strategy", "Unknown strategy (RoundRobin, WeightedRoundRobin, LeastLoaded, CapacityAware).");
        if (!Enum.IsDefined(team.Overflow))
            errors.Add(prefix + "overflow", "Unknown overflow (TeamQueue, Manager, NextRep).");
        if (team.ManagerUserId is { } managerId && !knownUserIds.Contains(managerId))
            errors.Add(prefix + "managerUserId", "Unknown user.");
        else if (team.ManagerUserId is null && team.Overflow == OverflowPolicy.Manager)
            errors.Add(prefix + "managerUserId", "Overflow to the manager needs a manager.");
        var members = team.Members ?? [];
        for (var j = 0; j < members.Count; j++)
        {
            var m = members[j];
            if (m is null)
            {
                errors.Add($"{prefix}members[{j}]", "A member is required.");
                continue;
            }
            if (!knownUserIds.Contains(m.UserId))
                errors.Add($"{prefix}members[{j}].userId", "Unknown rep.");
            else if (members.Take(j).Any(o => o?.UserId == m.UserId))
                errors.Add($"{prefix}members[{j}].userId", "This rep is already a member.");
            if (m.Weight is < 1 or > 1000)
                errors.Add($"{prefix}members[{j}].weight", "The weight must be between 1 and 1000.");
            if (m.AssignedCount < 0)
                errors.Add($"{prefix}members[{j}].assignedCount", "Cannot be negative.");
        }
    }

    /// <summary>A rep's routing settings: capacities (null = no limit, 0 = takes no new lead) and work calendar.</summary>
    public static void ValidateRep(int? maxOpenMqls, int? maxNewPerDay, WorkCalendar? calendar, FieldErrors errors, string prefix = "")
    {
        if (maxOpenMqls is < 0 or > 100_000)
            errors.Add(prefix + "maxOpenMqls", "Must be between 0 and 100000 (empty = no limit).");
        if (maxNewPerDay is < 0 or > 100_000)
            errors.Add(prefix + "maxNewPerDay", "Must be between 0 and 100000 (empty = no limit).");
        if (calendar is null)
            errors.Add(prefix + "calendar", "A work calendar is required.");
        else
            calendar.Validate(errors, prefix + "calendar.");
    }
}
