using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Handoff.Routing;

// The routing configuration and inputs as plain records (rules and teams are stored as rows/JSON, rep states are
// computed from persisted counts), and the decision the pure engine returns. No clock, no database.

/// <summary>The lead attribute a routing condition looks at.</summary>
public enum LeadField
{
    Country,
    CompanySize,
    Industry,
    Language,
    Channel,
    Source,
    CampaignId,
    PersonaId,
    Grade,
    Fit,
    Engagement,
    Tier,
    // An admin-defined custom field (<see cref="RoutingCondition.CustomField"/> names it).
    CustomField,
}

public enum ConditionOperator
{
    // Equals one of the values (case-insensitive; for Grade and Tier the enum names).
    In,
    // Equals none of the values (an empty attribute is "not in").
    NotIn,
    // Contains one of the values (case-insensitive); text fields only.
    Contains,
    // Number ≥ the single value; for Grade "at least as good as" (GreaterOrEqual B = A or B).
    GreaterOrEqual,
    // Number ≤ the single value; for Grade "at most as good as" (LessOrEqual C = C or D).
    LessOrEqual,
    // Number within [Values[0], Values[1]]; for Grade the same ordering as above.
    Between,
    IsEmpty,
    IsNotEmpty,
}

/// <summary>One condition of a rule; a rule matches when all its conditions hold (AND).</summary>
public sealed record RoutingCondition(LeadField Field, ConditionOperator Operator, IReadOnlyList<string> Values, string? CustomField = null);

/// <summary>
/// Where a matching rule sends the lead: a rep, a team, or a rep first with a team as fallback when that rep cannot
/// take it. A rep target without a team falls back to the default team.
/// </summary>
public sealed record RoutingTarget(Guid? TeamId, Guid? RepId)
{
    public static RoutingTarget Team(Guid teamId) => new(teamId, null);

    public static RoutingTarget Rep(Guid repId, Guid? fallbackTeamId = null) => new(fallbackTeamId, repId);
}

/// <summary>
/// An ordered routing rule: rules are tried by ascending <see cref="Order"/> and the first whose conditions all hold
/// wins. A rule without conditions is a catch-all and must come last.
/// </summary>
public sealed record RoutingRule(
    Guid Id,
    int Order,
    string Name,
    IReadOnlyList<RoutingCondition> Conditions,
    RoutingTarget Target,
    bool Enabled = true);

public enum RoutingStrategy
{
    // The eligible member with the fewest assignments in this team; ties by oldest last assignment, then by id.
    RoundRobin,
    // The eligible member with the lowest (assigned + 1) / weight among those under their upper quota for the next
    // lead (so every member stays within ±1 of its weighted share), then the others; same ties.
    WeightedRoundRobin,
    // The eligible member with the fewest open MQLs; same ties.
    LeastLoaded,
    // The eligible member with the lowest open / max-open ratio, then fewest open; a member without a maximum ranks
    // after every capped member with room (uncapped reps act as the spill-over); same ties.
    CapacityAware,
}

/// <summary>What happens when no member of a team is eligible now.</summary>
public enum OverflowPolicy
{
    // Park the lead in the team queue and tell the caller to alert the managers.
    TeamQueue,
    // Assign to the team manager, whatever their shift and load (the assignment notification reaches them, so no
    // separate alert).
    Manager,
    // Assign to the member whose shift starts next (active, not full, not at the daily limit), so the SLA clock
    // starts when they start; when there is none, team queue.
    NextRep,
}

/// <summary>
/// A team member. The assignment counters live on the membership so the strategies are computed from persisted
/// counts (no in-memory rotation lost on restart, consistent across instances): the caller increments
/// <see cref="AssignedCount"/> and sets <see cref="LastAssignedAt"/> in the transaction that stores the assignment.
/// A newcomer should start at the team's current minimum count, or round-robin will send them every lead until they
/// catch up.
/// </summary>
public sealed record TeamMember(Guid UserId, int Weight = 1, int AssignedCount = 0, DateTimeOffset? LastAssignedAt = null);

public sealed record Team(
    Guid Id,
    string Name,
    Guid? ManagerUserId,
    RoutingStrategy Strategy,
    IReadOnlyList<TeamMember> Members,
    OverflowPolicy Overflow = OverflowPolicy.TeamQueue);

/// <summary>
/// A rep as routing sees them now. <see cref="OpenMqlCount"/> and <see cref="AssignedTodayCount"/> come from the
/// database (today = since midnight in the rep's time zone). Null limits mean no limit; 0 means takes no new lead.
/// </summary>
public sealed record RepState(
    Guid UserId,
    string Name,
    bool Active,
    WorkCalendar Calendar,
    int? MaxOpenMqls,
    int? MaxNewPerDay,
    int OpenMqlCount,
    int AssignedTodayCount);

/// <summary>The lead attributes rules look at (all optional).</summary>
public sealed record LeadAttributes(
    string? Country = null,
    int? CompanySize = null,
    string? Industry = null,
    string? Language = null,
    string? Channel = null,
    string? Source = null,
    Guid? CampaignId = null,
    Guid? PersonaId = null,
    Grade? Grade = null,
    int? Fit = null,
    int? Engagement = null,
    SlaTier? Tier = null,
    IReadOnlyDictionary<string, string?>? CustomFields = null);

public sealed record RoutingInput(LeadAttributes Lead, Guid? AccountOwnerId, DateTimeOffset Now);

/// <summary>Why a rep was passed over.</summary>
public enum SkipReason
{
    Inactive,
    OutOfOffice,
    OffShift,
    AtCapacity,
    DailyLimit,
    // The rep id of a target, account owner or member is not among the known reps.
    Unknown,
}

public sealed record SkippedRep(Guid UserId, string? Name, SkipReason Reason);

public enum RoutingOutcome
{
    Assigned,
    // Nobody could take it: the lead waits in the team queue (<see cref="RoutingDecision.TeamId"/>).
    Queued,
}

/// <summary>How the assignee was found.</summary>
public enum RoutingPath
{
    AccountOwner,
    // A rule's rep target.
    RuleRep,
    // A team strategy picked an eligible member.
    TeamStrategy,
    // Nobody eligible: overflow to the manager or to the rep whose shift starts next.
    OverflowManager,
    OverflowNextRep,
    // Nobody eligible: the team queue.
    Queue,
    // A manager chose the rep by hand.
    Manual,
}

/// <summary>
/// Where the lead goes and why ("why this rep"), stored with the assignment. <see cref="Reason"/> is an English
/// sentence for logs and the API; the UI renders its own text from the structured fields.
/// </summary>
public sealed record RoutingDecision(
    RoutingOutcome Outcome,
    Guid? RepId,
    Guid? TeamId,
    RoutingPath Path,
    Guid? RuleId,
    string? RuleName,
    // True when no rule matched and the default team was used.
    bool UsedDefaultTeam,
    RoutingStrategy? Strategy,
    // True when nobody was eligible and the managers should hear about it.
    bool AlertManagers,
    string Reason,
    IReadOnlyList<SkippedRep> Skipped);
