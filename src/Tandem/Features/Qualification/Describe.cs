using System.Globalization;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

/// <summary>Plain-English renderings stored in history rows (stage transition reasons); the UI renders its own EN/FR text.</summary>
public static class Describe
{
    public static string Condition(MqlCondition c)
    {
        var parts = new List<string>();
        if (c.RequiresActivity is { } type)
            parts.Add(c.WithinDays is { } days ? $"a {type} within {days} days" : $"a {type}");
        if (c.MinGrade is { } grade)
            parts.Add($"grade ≥ {grade}");
        if (c.MinFit is { } fit)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"fit ≥ {fit}"));
        if (c.MinEngagement is { } engagement)
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"engagement ≥ {engagement}"));
        return parts.Count == 0 ? "(empty condition)" : string.Join(" and ", parts);
    }

    public static string Rule(MqlRule rule) => rule.AnyOf.Count == 0 ? "never" : string.Join(", or ", rule.AnyOf.Select(Condition));
}
