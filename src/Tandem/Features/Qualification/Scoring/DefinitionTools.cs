using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Tandem.Features.Leads;

namespace Tandem.Features.Qualification.Scoring;

public enum DiffKind
{
    Added,
    Removed,
    Changed,
}

/// <summary>One readable difference between two definitions, e.g. fit rule "CFO title": points 20 → 25.</summary>
public sealed record DefinitionChange(DiffKind Kind, string Section, string Item, string? Before, string? After)
{
    /// <summary>One line of plain English, e.g. <c>fit: CFO title: points 20 → 25</c>.</summary>
    public string Describe() => Kind switch
    {
        DiffKind.Added => $"{Section}: added {Item}{(After is null ? "" : $" ({After})")}",
        DiffKind.Removed => $"{Section}: removed {Item}{(Before is null ? "" : $" ({Before})")}",
        _ => $"{Section}: {Item} {Before} → {After}",
    };
}

public static class DefinitionTools
{
    public const int MaxLabelLength = 120;
    public const int MaxPoints = 1000;
    public const int MaxMqlConditions = 10;
    public const int MaxDecayDays = 3650;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new Platform.StrictEnumConverter() },
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { NullableMembersAreOptional } },
    };

    /// <summary>Field errors (and "can never match" warnings) for a definition.</summary>
    public static IReadOnlyList<DefinitionIssue> Validate(QualificationDefinition definition, IReadOnlySet<Guid> personaIds, IReadOnlySet<Guid> campaignIds)
    {
        var issues = new List<DefinitionIssue>();
        void Error(string path, string code, string message) => issues.Add(new DefinitionIssue(path, code, message, false));
        void Warn(string path, string code, string message) => issues.Add(new DefinitionIssue(path, code, message, true));

        var fitIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definition.FitRules.Count; i++)
        {
            var rule = definition.FitRules[i];
            var p = $"fitRules[{i}]";
            CheckCommon(p, rule.Id, rule.Label, rule.Points, fitIds, Error);
            if (!OperatorFits(rule.Field, rule.Operator))
                Error($"{p}.operator", "invalidOperator", $"'{Words(rule.Operator)}' cannot be used on {Words(rule.Field)}.");
            if (rule.Field == FitField.CustomField && string.IsNullOrWhiteSpace(rule.CustomField))
                Error($"{p}.customField", "required", "Name the custom field this rule looks at.");
            var values = rule.Values ?? [];
            if (rule.Operator is FitOperator.Contains or FitOperator.In or FitOperator.IsPersona)
            {
                if (values.Count == 0)
                    Error($"{p}.values", "required", "Give at least one value.");
                else if (rule.Operator == FitOperator.IsPersona)
                {
                    if (values.Any(v => !Guid.TryParse(v, out var id) || !personaIds.Contains(id)))
                        Error($"{p}.values", "unknownPersona", "A value is not one of the personas.");
                    if (rule.Min is { } m && (m < 0 || m > 100))
                        Error($"{p}.min", "range", "The minimum match must be between 0 and 100 %.");
                }
                else if (values.All(v => TextFold.Padded(v) is null))
                    Warn($"{p}.values", "neverMatches", "Every value is blank: this rule can never match.");
                else if (rule.Operator == FitOperator.In && rule.Field == FitField.Seniority && values.Any(v => Seniority.Parse(v) is null))
                    Error($"{p}.values", "unknownSeniority", $"Seniorities are: {string.Join(", ", Seniority.All)}.");
            }
            if (rule.Operator == FitOperator.Between)
            {
                if (rule.Min is null && rule.Max is null)
                    Error($"{p}.min", "required", "Give a minimum, a maximum or both.");
                else if (rule.Min > rule.Max)
                    Error($"{p}.max", "range", "The maximum must not be below the minimum.");
            }
        }

        var engagementIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < definition.EngagementRules.Count; i++)
        {
            var rule = definition.EngagementRules[i];
            var p = $"engagementRules[{i}]";
            CheckCommon(p, rule.Id, rule.Label, rule.Points, engagementIds, Error);
            if (!Enum.IsDefined(rule.ActivityType))
                Error($"{p}.activityType", "required", "Choose an activity type.");
            if (rule.CampaignId is { } campaign && !campaignIds.Contains(campaign))
                Error($"{p}.campaignId", "unknownCampaign", "This campaign does not exist.");
            if (rule.Cap is <= 0)
                Error($"{p}.cap", "range", "A cap must be greater than 0.");
            if (string.IsNullOrWhiteSpace(rule.PropertyKey) && rule.PropertyValue is not null)
                Error($"{p}.propertyKey", "required", "Name the property whose value is compared.");
        }

        if (definition.Decay.Kind != DecayKind.None && definition.Decay.Days is < 1 or > MaxDecayDays)
            Error("decay.days", "range", $"Days must be between 1 and {MaxDecayDays}.");
        if (definition.FitCap is <= 0)
            Error("fitCap", "range", "A cap must be greater than 0.");
        if (definition.EngagementCap is <= 0)
            Error("engagementCap", "range", "A cap must be greater than 0.");
        var grades = definition.Grades;
        if (!(grades.A > grades.B && grades.B > grades.C))
            Error("grades", "order", "Grade bands must decrease: A > B > C.");
        for (var i = 0; i < definition.CompetitorDomains.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(definition.CompetitorDomains[i]))
                Error($"competitorDomains[{i}]", "required", "A competitor needs a domain or a company name.");
        }

        var conditions = definition.Mql.AnyOf;
        if (conditions.Count == 0)
            Warn("mql.anyOf", "neverMatches", "The MQL rule has no condition: no lead can ever become an MQL.");
        if (conditions.Count > MaxMqlConditions)
            Error("mql.anyOf", "range", $"An MQL rule has at most {MaxMqlConditions} conditions.");
        var maxFit = MaxFit(definition);
        var maxEngagement = MaxEngagement(definition);
        for (var i = 0; i < conditions.Count; i++)
        {
            var c = conditions[i];
            var p = $"mql.anyOf[{i}]";
            if (c.MinGrade is null && c.MinFit is null && c.MinEngagement is null && c.RequiresActivity is null)
            {
                Error(p, "required", "A condition needs at least one part (grade, fit, engagement or activity).");
                continue;
            }
            if (c.WithinDays is <= 0)
                Error($"{p}.withinDays", "range", "Days must be greater than 0.");
            if (c.WithinDays is not null && c.RequiresActivity is null)
                Error($"{p}.requiresActivity", "required", "Choose the activity that must have happened within these days.");
            if (c.MinGrade is { } g && g != Grade.D && BandOf(grades, g) > maxFit)
                Warn($"{p}.minGrade", "neverMatches", $"Grade {g} needs a fit of {BandOf(grades, g)} but the fit rules can give at most {maxFit}.");
            if (c.MinFit is { } f && f > maxFit)
                Warn($"{p}.minFit", "neverMatches", $"The fit rules can give at most {maxFit}.");
            if (c.MinEngagement is { } e && maxEngagement is { } me && e > me)
                Warn($"{p}.minEngagement", "neverMatches", $"The engagement rules can give at most {me}.");
        }
        return issues;
    }

    /// <summary>The highest fit any lead can reach: every positive rule at once, capped.</summary>
    public static int MaxFit(QualificationDefinition definition)
    {
        var positive = definition.FitRules.Where(r => r.Points > 0).Sum(r => (long)r.Points);
        return (int)Math.Min(positive, definition.FitCap ?? long.MaxValue);
    }

    /// <summary>The highest engagement any lead can reach, or null when a positive rule has neither a cap nor "once" and there is no total cap.</summary>
    public static int? MaxEngagement(QualificationDefinition definition)
    {
        long sum = 0;
        var bounded = true;
        foreach (var rule in definition.EngagementRules.Where(r => r.Points > 0))
        {
            if (rule.Once)
                sum += rule.Cap is { } cap ? Math.Min(rule.Points, cap) : rule.Points;
            else if (rule.Cap is { } cap)
                sum += cap;
            else
                bounded = false;
        }
        if (definition.EngagementCap is { } total)
            return (int)(bounded ? Math.Min(sum, total) : total);
        return bounded ? (int)sum : null;
    }

    /// <summary>A readable diff from <paramref name="before"/> to <paramref name="after"/>, rules matched by id.</summary>
    public static IReadOnlyList<DefinitionChange> Diff(QualificationDefinition before, QualificationDefinition after)
    {
        var changes = new List<DefinitionChange>();
        DiffRules(changes, "fit", before.FitRules, after.FitRules, r => r.Id, r => r.Label, Describe, FitProperties);
        DiffRules(changes, "engagement", before.EngagementRules, after.EngagementRules, r => r.Id, r => r.Label, Describe, EngagementProperties);
        if (Describe(before.Decay) != Describe(after.Decay))
            changes.Add(new DefinitionChange(DiffKind.Changed, "decay", "decay", Describe(before.Decay), Describe(after.Decay)));
        Property(changes, "caps", "fit cap", Cap(before.FitCap), Cap(after.FitCap));
        Property(changes, "caps", "engagement cap", Cap(before.EngagementCap), Cap(after.EngagementCap));
        Property(changes, "grades", "A", Invariant(before.Grades.A), Invariant(after.Grades.A));
        Property(changes, "grades", "B", Invariant(before.Grades.B), Invariant(after.Grades.B));
        Property(changes, "grades", "C", Invariant(before.Grades.C), Invariant(after.Grades.C));
        var b = before.Mql.AnyOf;
        var a = after.Mql.AnyOf;
        for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            var item = $"condition {i + 1}";
            if (i >= b.Count)
                changes.Add(new DefinitionChange(DiffKind.Added, "mql", item, null, Describe(a[i])));
            else if (i >= a.Count)
                changes.Add(new DefinitionChange(DiffKind.Removed, "mql", item, Describe(b[i]), null));
            else
                Property(changes, "mql", item, Describe(b[i]), Describe(a[i]));
        }
        var beforeCompetitors = before.CompetitorDomains.Select(c => c.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var afterCompetitors = after.CompetitorDomains.Select(c => c.Trim()).ToHashSet(StringComparer.OrdinalIgnoreCase);
        foreach (var c in after.CompetitorDomains.Select(c => c.Trim()).Where(c => !beforeCompetitors.Contains(c)).Distinct(StringComparer.OrdinalIgnoreCase))
            changes.Add(new DefinitionChange(DiffKind.Added, "competitors", c, null, null));
        foreach (var c in before.CompetitorDomains.Select(c => c.Trim()).Where(c => !afterCompetitors.Contains(c)).Distinct(StringComparer.OrdinalIgnoreCase))
            changes.Add(new DefinitionChange(DiffKind.Removed, "competitors", c, null, null));
        Property(changes, "sql", "budget", Required(before.Sql.Budget), Required(after.Sql.Budget));
        Property(changes, "sql", "authority", Required(before.Sql.Authority), Required(after.Sql.Authority));
        Property(changes, "sql", "need", Required(before.Sql.Need), Required(after.Sql.Need));
        Property(changes, "sql", "timing", Required(before.Sql.Timing), Required(after.Sql.Timing));
        return changes;
    }

    /// <summary>JSON (camelCase, enums as strings) used to store a definition and in the API.</summary>
    public static string ToJson(QualificationDefinition definition) => JsonSerializer.Serialize(definition, Json);

    /// <summary>The definition in <paramref name="json"/>; a <see cref="JsonException"/> when it is not valid JSON or misses a required member.</summary>
    public static QualificationDefinition FromJson(string json) =>
        JsonSerializer.Deserialize<QualificationDefinition>(json, Json) ?? throw new JsonException("A definition is required, not null.");

    /// <summary>A sensible starting definition (used for a new installation's first draft and the demo).</summary>
    public static QualificationDefinition Starter(IReadOnlyList<PersonaProfile> personas)
    {
        var fit = new List<FitRule>();
        foreach (var persona in personas)
        {
            fit.Add(new FitRule($"persona-{persona.Id:N}", $"Matches persona {persona.Name}", FitField.Persona, FitOperator.IsPersona,
                [persona.Id.ToString()], 70, null, persona.IsIdeal ? 25 : -40));
        }
        fit.AddRange(
        [
            new FitRule("title-finance", "Finance decision maker", FitField.JobTitle, FitOperator.Contains,
                ["CFO", "DAF", "Chief Financial Officer", "Finance Director", "Director of Finance", "Head of Finance", "VP Finance",
                 "Directeur financier", "Directrice financière", "Directeur administratif et financier", "Directrice administrative et financière",
                 "Responsable financier", "Responsable financière"], null, null, 20),
            new FitRule("seniority-leaders", "Executive, VP or director", FitField.Seniority, FitOperator.In,
                [Seniority.CLevel, Seniority.VP, Seniority.Director], null, null, 15),
            new FitRule("seniority-managers", "Manager", FitField.Seniority, FitOperator.In, [Seniority.Manager], null, null, 8),
            new FitRule("seniority-juniors", "Intern or student", FitField.Seniority, FitOperator.In, [Seniority.Intern, Seniority.Student], null, null, -30),
            new FitRule("company-size-sme", "SME (50–500 employees)", FitField.CompanySize, FitOperator.Between, [], 50, 500, 10),
            new FitRule("free-mail", "Free-mail address", FitField.EmailDomain, FitOperator.IsFreeMail, [], null, null, -15),
            new FitRule("student-domain", "Student email domain", FitField.EmailDomain, FitOperator.IsStudentDomain, [], null, null, -40),
            new FitRule("competitor", "Competitor", FitField.EmailDomain, FitOperator.IsCompetitor, [], null, null, -100),
        ]);
        EngagementRule Rule(string id, string label, ActivityType type, int points, int? cap, bool once, string? url = null) =>
            new(id, label, type, url, null, null, null, points, cap, once);
        return new QualificationDefinition(
            fit,
            [
                Rule("demo-request", "Demo request", ActivityType.DemoRequest, 30, null, true),
                Rule("content-download", "Content download", ActivityType.ContentDownload, 10, 30, false),
                Rule("webinar", "Webinar", ActivityType.Webinar, 15, 30, false),
                Rule("form-submission", "Form submission", ActivityType.FormSubmission, 10, 20, false),
                Rule("email-click", "Email click", ActivityType.EmailClick, 3, 15, false),
                Rule("page-view", "Page view", ActivityType.PageView, 1, 10, false),
                Rule("pricing-page", "Pricing page visit", ActivityType.PageView, 10, null, true, "/pricing"),
            ],
            new DecayPolicy(DecayKind.HalfLife, 30),
            null,
            null,
            new GradeBands(50, 30, 10),
            new MqlRule(
            [
                new MqlCondition(Grade.B, null, 50, null, null),
                new MqlCondition(Grade.C, null, null, ActivityType.DemoRequest, 30),
            ]),
            [],
            new SqlCriteria(true, true, true, true));
    }

    /// <summary>Whether <paramref name="op"/> makes sense on <paramref name="field"/> (e.g. free mail only on the email domain).</summary>
    public static bool OperatorFits(FitField field, FitOperator op) => op switch
    {
        FitOperator.Contains => field is not (FitField.Persona or FitField.CompanySize or FitField.Seniority),
        FitOperator.In => field is not (FitField.Persona or FitField.CompanySize),
        FitOperator.Between => field is FitField.CompanySize or FitField.CustomField,
        FitOperator.IsFreeMail or FitOperator.IsStudentDomain => field == FitField.EmailDomain,
        FitOperator.IsCompetitor => field is FitField.EmailDomain or FitField.Company,
        FitOperator.IsEmpty => Enum.IsDefined(field),
        FitOperator.IsPersona => field == FitField.Persona,
        _ => false,
    };

    /// <summary>A condition in words: "grade ≥ B and engagement ≥ 50".</summary>
    public static string Describe(MqlCondition condition)
    {
        var parts = new List<string>(4);
        if (condition.MinGrade is { } g)
            parts.Add($"grade ≥ {g}");
        if (condition.MinFit is { } f)
            parts.Add($"fit ≥ {Invariant(f)}");
        if (condition.MinEngagement is { } e)
            parts.Add($"engagement ≥ {Invariant(e)}");
        if (condition.RequiresActivity is { } type)
            parts.Add(condition.WithinDays is { } d ? $"a {Words(type)} within {Invariant(d)} days" : $"a {Words(type)}");
        return parts.Count == 0 ? "nothing (never holds)" : string.Join(" and ", parts);
    }

    /// <summary>A fit rule in words: "job title contains CFO, DAF: +20".</summary>
    public static string Describe(FitRule rule)
    {
        var field = rule.Field == FitField.CustomField ? $"custom field {rule.CustomField}" : Words(rule.Field);
        var condition = rule.Operator switch
        {
            FitOperator.Contains => $"{field} contains {Values(rule.Values)}",
            FitOperator.In => $"{field} is one of {Values(rule.Values)}",
            FitOperator.Between => $"{field} {Range(rule.Min, rule.Max)}",
            FitOperator.IsFreeMail => "free-mail domain",
            FitOperator.IsStudentDomain => "student domain",
            FitOperator.IsCompetitor => "competitor",
            FitOperator.IsEmpty => $"{field} is empty",
            FitOperator.IsPersona => $"persona {Values(rule.Values)} at ≥ {Invariant(rule.Min ?? 50)} %",
            _ => rule.Operator.ToString(),
        };
        return $"{condition}: {Signed(rule.Points)}";
    }

    /// <summary>An engagement rule in words: "page view, URL contains /pricing: +10, once".</summary>
    public static string Describe(EngagementRule rule)
    {
        var text = Words(rule.ActivityType);
        if (!string.IsNullOrWhiteSpace(rule.UrlContains))
            text += $", URL contains {rule.UrlContains}";
        if (rule.CampaignId is { } campaign)
            text += $", campaign {campaign}";
        if (!string.IsNullOrWhiteSpace(rule.PropertyKey))
            text += rule.PropertyValue is null ? $", has {rule.PropertyKey}" : $", {rule.PropertyKey} = {rule.PropertyValue}";
        text += $": {Signed(rule.Points)}{(rule.Once ? ", once" : " each")}";
        if (rule.Cap is { } cap)
            text += $", cap {Invariant(cap)}";
        return text;
    }

    public static string Describe(DecayPolicy decay) => decay.Kind switch
    {
        DecayKind.HalfLife => $"half-life {Invariant(decay.Days)} days",
        DecayKind.Window => $"last {Invariant(decay.Days)} days only",
        _ => "none",
    };

    private static void CheckCommon(string p, string id, string label, int points, HashSet<string> ids, Action<string, string, string> error)
    {
        if (string.IsNullOrWhiteSpace(id))
            error($"{p}.id", "required", "A rule needs an id.");
        else if (!ids.Add(id))
            error($"{p}.id", "duplicateId", $"Another rule already has the id '{id}'.");
        if (string.IsNullOrWhiteSpace(label))
            error($"{p}.label", "required", "A rule needs a label.");
        else if (label.Length > MaxLabelLength)
            error($"{p}.label", "length", $"A label has at most {MaxLabelLength} characters.");
        if (points == 0)
            error($"{p}.points", "required", "Points must not be 0.");
        else if (points is < -MaxPoints or > MaxPoints)
            error($"{p}.points", "range", $"Points must be between -{MaxPoints} and {MaxPoints}.");
    }

    private static int BandOf(GradeBands grades, Grade grade) => grade switch
    {
        Grade.A => grades.A,
        Grade.B => grades.B,
        Grade.C => grades.C,
        _ => int.MinValue,
    };

    private static void DiffRules<T>(List<DefinitionChange> changes, string section, IReadOnlyList<T> before, IReadOnlyList<T> after,
        Func<T, string> id, Func<T, string> label, Func<T, string> describe, Func<T, IEnumerable<(string Name, string Value)>> properties)
    {
        var old = new Dictionary<string, T>(StringComparer.Ordinal);
        foreach (var rule in before)
            old.TryAdd(id(rule), rule);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in after)
        {
            seen.Add(id(rule));
            if (!old.TryGetValue(id(rule), out var previous))
            {
                changes.Add(new DefinitionChange(DiffKind.Added, section, label(rule), null, describe(rule)));
                continue;
            }
            foreach (var ((name, was), (_, now)) in properties(previous).Zip(properties(rule)))
                Property(changes, section, $"{label(rule)}: {name}", was, now);
        }
        foreach (var rule in before.Where(r => !seen.Contains(id(r))))
            changes.Add(new DefinitionChange(DiffKind.Removed, section, label(rule), describe(rule), null));
    }

    private static IEnumerable<(string, string)> FitProperties(FitRule r) =>
    [
        ("label", r.Label),
        ("field", r.Field == FitField.CustomField ? $"custom field {r.CustomField}" : Words(r.Field)),
        ("operator", Words(r.Operator)),
        ("values", Values(r.Values)),
        ("range", Range(r.Min, r.Max)),
        ("points", Invariant(r.Points)),
    ];

    private static IEnumerable<(string, string)> EngagementProperties(EngagementRule r) =>
    [
        ("label", r.Label),
        ("activity", Words(r.ActivityType)),
        ("URL contains", r.UrlContains ?? "any"),
        ("campaign", r.CampaignId?.ToString() ?? "any"),
        ("property", string.IsNullOrWhiteSpace(r.PropertyKey) ? "any" : r.PropertyValue is null ? $"has {r.PropertyKey}" : $"{r.PropertyKey} = {r.PropertyValue}"),
        ("points", Invariant(r.Points)),
        ("cap", Cap(r.Cap)),
        ("once", r.Once ? "yes" : "no"),
    ];

    private static void Property(List<DefinitionChange> changes, string section, string item, string before, string after)
    {
        if (!string.Equals(before, after, StringComparison.Ordinal))
            changes.Add(new DefinitionChange(DiffKind.Changed, section, item, before, after));
    }

    private static string Values(IReadOnlyList<string>? values) => values is null || values.Count == 0 ? "none" : string.Join(", ", values);

    private static string Range(decimal? min, decimal? max) => (min, max) switch
    {
        ({ } a, { } b) => string.Create(CultureInfo.InvariantCulture, $"between {a} and {b}"),
        ({ } a, null) => string.Create(CultureInfo.InvariantCulture, $"at least {a}"),
        (null, { } b) => string.Create(CultureInfo.InvariantCulture, $"at most {b}"),
        _ => "any",
    };

    private static string Cap(int? cap) => cap is { } c ? Invariant(c) : "none";

    private static string Required(bool required) => required ? "required" : "not required";

    private static string Signed(int points) => points > 0 ? "+" + Invariant(points) : Invariant(points);

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(decimal value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>"DemoRequest" → "demo request", "EmailDomain" → "email domain".</summary>
    private static string Words<T>(T value) where T : struct, Enum
    {
        var name = value.ToString();
        var sb = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]) && !char.IsUpper(name[i - 1]))
                sb.Append(' ');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }

    // Constructor parameters that accept null (Min, Max, Cap, CampaignId…) may be left out of the JSON; the others are required.
    private static void NullableMembersAreOptional(JsonTypeInfo typeInfo)
    {
        foreach (var property in typeInfo.Properties)
        {
            if (property.AssociatedParameter is { IsNullable: true })
                property.IsRequired = false;
        }
    }
}
