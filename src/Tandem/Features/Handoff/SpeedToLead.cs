namespace Tandem.Features.Handoff;

/// <summary>What speed-to-lead needs of one assignment.</summary>
public sealed record AssignmentFacts(Guid? RepId, Guid? TeamId, DateTimeOffset MqlAt, DateTimeOffset AssignedAt, DateTimeOffset? FirstTouchDueAt,
    DateTimeOffset? FirstTouchedAt);

/// <summary>Median and 90th percentile in minutes (null without data).</summary>
public sealed record DurationStats(int Count, double? MedianMinutes, double? P90Minutes);

/// <param name="DueInPeriod">Assignments whose first-touch deadline falls in the period (and has passed or been met).</param>
/// <param name="TouchedInTime">Of those, first-touched at or before the deadline.</param>
/// <param name="CompliancePercent">TouchedInTime / DueInPeriod × 100, null when nothing was due.</param>
public sealed record SpeedStats(DurationStats MqlToAssignment, DurationStats AssignmentToFirstTouch, int DueInPeriod, int TouchedInTime,
    double? CompliancePercent);

public sealed record SpeedRow(Guid Id, SpeedStats Stats);

public sealed record SpeedReport(DateTimeOffset From, DateTimeOffset To, SpeedStats Overall, IReadOnlyList<SpeedRow> Reps, IReadOnlyList<SpeedRow> Teams);

/// <summary>
/// Speed-to-lead, computed from assignment rows. Durations count assignments made in [from, to); compliance counts
/// assignments whose first-touch deadline falls in [from, to) and is already known (touched, or the deadline passed
/// by <c>now</c>): first-touched within the deadline / due (glossary, SLA compliance of sales).
/// </summary>
public static class SpeedToLead
{
    public static SpeedReport Compute(IReadOnlyList<AssignmentFacts> rows, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now) =>
        new(from, to, Stats(rows, from, to, now),
            [.. rows.Where(r => r.RepId is not null).GroupBy(r => r.RepId!.Value).Select(g => new SpeedRow(g.Key, Stats([.. g], from, to, now))).OrderBy(r => r.Id)],
            [.. rows.Where(r => r.TeamId is not null).GroupBy(r => r.TeamId!.Value).Select(g => new SpeedRow(g.Key, Stats([.. g], from, to, now))).OrderBy(r => r.Id)]);

    public static SpeedStats Stats(IReadOnlyList<AssignmentFacts> rows, DateTimeOffset from, DateTimeOffset to, DateTimeOffset now)
    {
        var made = rows.Where(r => r.AssignedAt >= from && r.AssignedAt < to).ToList();
        var system = made.Select(r => (r.AssignedAt - r.MqlAt).TotalMinutes).ToList();
        var human = made.Where(r => r.RepId is not null && r.FirstTouchedAt is not null).Select(r => (r.FirstTouchedAt!.Value - r.AssignedAt).TotalMinutes).ToList();
        var due = rows.Where(r => r.RepId is not null && r.FirstTouchDueAt is { } d && d >= from && d < to && (d <= now || r.FirstTouchedAt is not null)).ToList();
        var inTime = due.Count(r => r.FirstTouchedAt is { } t && t <= r.FirstTouchDueAt!.Value);
        return new SpeedStats(Durations(system), Durations(human), due.Count, inTime, due.Count == 0 ? null : Math.Round(100.0 * inTime / due.Count, 1));
    }

    public static DurationStats Durations(List<double> minutes)
    {
        if (minutes.Count == 0)
            return new DurationStats(0, null, null);
        minutes.Sort();
        return new DurationStats(minutes.Count, Round(Percentile(minutes, 50)), Round(Percentile(minutes, 90)));
    }

    /// <summary>Linear interpolation between closest ranks (the "R-7" / Excel PERCENTILE.INC definition) on sorted values.</summary>
    public static double Percentile(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 1)
            return sorted[0];
        var rank = p / 100.0 * (sorted.Count - 1);
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, sorted.Count - 1);
        return sorted[lower] + (rank - lower) * (sorted[upper] - sorted[lower]);
    }

    private static double Round(double v) => Math.Round(v, 2);
}
