using Tandem.Features.Leads;

namespace Tandem.Features.Qualification.Scoring;

// The qualified-lead definition as plain records (stored as JSON in a QualificationVersion row) and the inputs and
// outputs of the pure scorer. Nothing here touches the database or the clock.

/// <summary>The lead attribute a fit rule looks at.</summary>
public enum FitField
{
    JobTitle,
    // Seniority derived from the job title (see <see cref="Seniority"/>).
    Seniority,
    // The part of the email after '@'.
    EmailDomain,
    CompanySize,
    Industry,
    Country,
    Language,
    City,
    Company,
    // The best-matching persona (values are persona ids; <see cref="FitRule.Min"/> is the minimum match %).
    Persona,
    // An admin-defined custom field (<see cref="FitRule.CustomField"/> names it).
    CustomField,
}

public enum FitOperator
{
    // Text contains any of the values (case- and accent-insensitive, whole words).
    Contains,
    // Text equals any of the values (case-insensitive).
    In,
    // Number within [Min, Max] (either bound optional).
    Between,
    // The email domain is a free-mail domain (shipped list).
    IsFreeMail,
    // The email domain is a student/academic domain (shipped list and patterns).
    IsStudentDomain,
    // The email domain or company is in the definition's competitor list.
    IsCompetitor,
    // The field is empty.
    IsEmpty,
    // The best persona is one of the values (ids) with a match of at least Min percent.
    IsPersona,
}

/// <summary>Fit rule: attribute condition → points (negative allowed).</summary>
public sealed record FitRule(
    string Id,
    string Label,
    FitField Field,
    FitOperator Operator,
    IReadOnlyList<string> Values,
    decimal? Min,
    decimal? Max,
    int Points,
    string? CustomField = null);

/// <summary>Engagement rule: activity type with optional conditions → points per matching activity.</summary>
public sealed record EngagementRule(
    string Id,
    string Label,
    ActivityType ActivityType,
    string? UrlContains,
    Guid? CampaignId,
    string? PropertyKey,
    string? PropertyValue,
    int Points,
    // Maximum points this rule can contribute (after decay), null = uncapped.
    int? Cap,
    // Only the most recent matching activity counts.
    bool Once);

public enum DecayKind
{
    None,
    // Points of an activity halve every <see cref="DecayPolicy.Days"/> days.
    HalfLife,
    // Only activities of the last <see cref="DecayPolicy.Days"/> days count.
    Window,
}

public sealed record DecayPolicy(DecayKind Kind, int Days);

public enum Grade
{
    A,
    B,
    C,
    D,
}

/// <summary>Minimum fit score for grades A, B and C; below C is D.</summary>
public sealed record GradeBands(int A, int B, int C);

/// <summary>One way to be an MQL: every part that is set must hold (AND).</summary>
public sealed record MqlCondition(
    Grade? MinGrade,
    int? MinFit,
    int? MinEngagement,
    // An activity of this type must exist (within <see cref="WithinDays"/> days when set).
    ActivityType? RequiresActivity,
    int? WithinDays);

/// <summary>The MQL rule holds when any of its conditions holds (OR).</summary>
public sealed record MqlRule(IReadOnlyList<MqlCondition> AnyOf);

/// <summary>SQL criteria: which BANT facts a rep must confirm (each with a note) to accept a lead as SQL.</summary>
public sealed record SqlCriteria(bool Budget, bool Authority, bool Need, bool Timing);

/// <summary>The versioned qualified-lead definition (personas live in their own table and are referenced by id).</summary>
public sealed record QualificationDefinition(
    IReadOnlyList<FitRule> FitRules,
    IReadOnlyList<EngagementRule> EngagementRules,
    DecayPolicy Decay,
    int? FitCap,
    int? EngagementCap,
    GradeBands Grades,
    MqlRule Mql,
    IReadOnlyList<string> CompetitorDomains,
    SqlCriteria Sql);

/// <summary>What the scorer needs of a persona.</summary>
public sealed record PersonaProfile(
    Guid Id,
    string Name,
    bool IsIdeal,
    IReadOnlyList<string> JobTitleKeywords,
    IReadOnlyList<string> Seniorities,
    int? CompanySizeMin,
    int? CompanySizeMax,
    IReadOnlyList<string> Industries,
    IReadOnlyList<string> Countries,
    IReadOnlyList<string> Languages);

/// <summary>What the scorer needs of a lead.</summary>
public sealed record LeadFacts(
    Guid Id,
    string? Email,
    string? JobTitle,
    string? Company,
    int? CompanySize,
    string? Industry,
    string? Country,
    string? City,
    string? Language,
    DateTimeOffset CreatedAt,
    IReadOnlyDictionary<string, string?>? CustomFields = null);

/// <summary>What the scorer needs of an activity.</summary>
public sealed record ActivityFacts(
    ActivityType Type,
    DateTimeOffset OccurredAt,
    Guid? CampaignId,
    string? Url,
    IReadOnlyDictionary<string, string?>? Properties = null);

public enum ScoreLineKind
{
    Fit,
    Engagement,
    // Points removed because a total cap (fit or engagement) was reached.
    Cap,
}

/// <summary>
/// One line of a score explanation, e.g. "+20 job title CFO — persona Finance lead" or
/// "+15 demo request 2 h ago, decayed from 20". Rendered (EN/FR) by the UI; the API returns it as is.
/// </summary>
public sealed record ScoreLine(
    ScoreLineKind Kind,
    string RuleId,
    string Label,
    // Points after decay and caps.
    int Points,
    // Points before decay/cap (equal to <see cref="Points"/> when nothing was taken off).
    int RawPoints,
    // How many activities matched (engagement), 1 for fit.
    int Count,
    // The most recent matching activity (engagement).
    DateTimeOffset? LatestAt,
    // The lead value that matched (fit), e.g. "CFO", "gmail.com", "Finance lead (85 %)".
    string? Matched);

public sealed record PersonaMatch(Guid PersonaId, string Name, int Percent, bool IsIdeal);

public enum MqlRequirement
{
    Grade,
    Fit,
    Engagement,
    Activity,
}

/// <summary>A part of an MQL condition that does not hold: "needs engagement ≥ 50, has 42".</summary>
public sealed record MqlGap(MqlRequirement Requirement, string Required, string Actual);

public sealed record MqlConditionResult(int Index, bool Holds, IReadOnlyList<MqlGap> Gaps);

public sealed record LeadScore(
    int Fit,
    int Engagement,
    Grade Grade,
    PersonaMatch? Persona,
    bool IsMql,
    IReadOnlyList<ScoreLine> Lines,
    IReadOnlyList<MqlConditionResult> Mql);

/// <summary>A validation problem of a definition: a field path such as <c>fitRules[2].points</c> and a message key.</summary>
public sealed record DefinitionIssue(string Path, string Code, string Message, bool IsWarning);
