using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Tests.Unit;

/// <summary>Small builders for the pure scoring tests.</summary>
internal static class ScoringData
{
    public static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    public static LeadFacts Lead(string? email = "jane@acme.example", string? title = null, string? company = null, int? size = null,
        string? industry = null, string? country = null, string? city = null, string? language = null,
        IReadOnlyDictionary<string, string?>? custom = null, DateTimeOffset? createdAt = null) =>
        new(Guid.NewGuid(), email, title, company, size, industry, country, city, language, createdAt ?? Now.AddDays(-100), custom);

    public static FitRule Fit(FitField field, FitOperator op, int points, params string[] values) =>
        new($"fit-{field}-{op}-{points}", $"{field} {op}", field, op, values, null, null, points);

    public static EngagementRule Engage(ActivityType type, int points, int? cap = null, bool once = false, string? url = null,
        Guid? campaign = null, string? key = null, string? value = null, string? id = null) =>
        new(id ?? $"eng-{type}-{points}", $"{type}", type, url, campaign, key, value, points, cap, once);

    public static ActivityFacts Act(ActivityType type, double daysAgo, string? url = null, Guid? campaign = null,
        IReadOnlyDictionary<string, string?>? properties = null) =>
        new(type, Now.AddDays(-daysAgo), campaign, url, properties);

    public static QualificationDefinition Definition(IReadOnlyList<FitRule>? fit = null, IReadOnlyList<EngagementRule>? engagement = null,
        DecayPolicy? decay = null, int? fitCap = null, int? engagementCap = null, GradeBands? grades = null, MqlRule? mql = null,
        IReadOnlyList<string>? competitors = null) =>
        new(fit ?? [], engagement ?? [], decay ?? new DecayPolicy(DecayKind.None, 0), fitCap, engagementCap, grades ?? new GradeBands(50, 30, 10),
            mql ?? new MqlRule([]), competitors ?? [], new SqlCriteria(true, true, true, true));

    public static PersonaProfile Persona(string name, bool ideal = true, string[]? titles = null, string[]? seniorities = null, int? sizeMin = null,
        int? sizeMax = null, string[]? industries = null, string[]? countries = null, string[]? languages = null, Guid? id = null) =>
        new(id ?? Guid.NewGuid(), name, ideal, titles ?? [], seniorities ?? [], sizeMin, sizeMax, industries ?? [], countries ?? [], languages ?? []);

    public static LeadScore Score(QualificationDefinition definition, LeadFacts lead, params ActivityFacts[] activities) =>
        new LeadScorer(definition, []).Score(lead, activities, Now);

    public static int FitOf(FitRule rule, LeadFacts lead, IReadOnlyList<string>? competitors = null) =>
        Score(Definition(fit: [rule], competitors: competitors), lead).Fit;
}
