using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;

namespace Tandem.Features.Revenue;

/// <summary>
/// Marketing's side of the SLA over a span: MQLs delivered (first entries into MQL) against the commitment prorated to the span's days,
/// and the quality floor (acceptance rate, mean lead rating) against the goals' floors. A verdict is null when there is no target or no data.
/// </summary>
public sealed record SlaMarketingSide(int MqlsDelivered, decimal? MqlsCommitted, bool? MqlsMet, int Dispositioned, int Accepted, decimal? AcceptanceRate,
    decimal? AcceptanceFloor, bool? AcceptanceMet, int Ratings, decimal? MeanRating, decimal? RatingFloor, bool? RatingMet, bool? QualityMet);

/// <summary>
/// Sales' side over a span: the share of due MQLs first-touched within the SLA (decision 007), the median speed to lead (minutes, assignments
/// made in the span and touched), and the attempts cadence (cadences judged in the span, kept, attempts made of required).
/// </summary>
public sealed record SlaSalesSide(int FirstTouchDue, int FirstTouchedInTime, decimal? FirstTouchCompliance, decimal FirstTouchTarget, bool? FirstTouchMet,
    int SpeedToLeadCount, double? MedianSpeedToLeadMinutes, int CadencesDue, int CadencesKept, int AttemptsMade, int AttemptsRequired,
    decimal? AttemptsCompliance, decimal AttemptsTarget, bool? AttemptsMet);

/// <summary>One week (Monday to Sunday in the workspace time zone), cut to the period: <see cref="From"/> and <see cref="To"/> are the days counted.</summary>
public sealed record SlaWeek(DateOnly WeekOf, DateOnly From, DateOnly To, SlaMarketingSide Marketing, SlaSalesSide Sales);

public sealed record SlaReportResult(DateOnly From, DateOnly To, string TimeZone, SlaMarketingSide Marketing, SlaSalesSide Sales, IReadOnlyList<SlaWeek> Weeks);

public enum SlaSide
{
    Marketing,
    Sales,
}

public enum SlaVerdict
{
    Met,
    Missed,
    /// <summary>Nothing to judge against (no commitment, no floor, or a figure shown for information).</summary>
    NoTarget,
    /// <summary>A target exists but nothing happened to measure it (no MQL due, no verdict, no rating).</summary>
    NoData,
}

/// <summary>One line of the monthly statement. <see cref="Line"/> is a stable key (<c>mqls</c>, <c>acceptance</c>, <c>rating</c>, <c>firstTouch</c>,
/// <c>speedToLead</c>, <c>attempts</c>); the UI and exports show its label.</summary>
public sealed record SlaStatementLine(SlaSide Side, string Line, decimal? Actual, decimal? Target, SlaVerdict Verdict);

/// <summary>The monthly SLA statement both teams see: both sides over the whole month, a verdict per line, and the month's weeks.</summary>
public sealed record SlaStatement(int Year, int Month, DateOnly From, DateOnly To, string TimeZone, IReadOnlyList<SlaStatementLine> Lines, SlaReportResult Report);

/// <summary>
/// The two-sided SLA report (glossary "The SLA"; decision 017b): marketing's MQLs and quality floor, sales' first touch, speed to lead and
/// attempts, for a period and by week in the workspace time zone, and the monthly statement.
/// </summary>
public static class SlaReport
{
    private static readonly ActivityType[] AttemptTypes = [ActivityType.Call, ActivityType.EmailSent, ActivityType.Meeting];

    /// <summary>The facts of one assignment the report needs.</summary>
    public sealed record AssignmentRow(Guid Id, Guid LeadId, Guid? RepId, Guid? TeamId, AssignmentState State, DateTimeOffset MqlAt, DateTimeOffset AssignedAt,
        DateTimeOffset? FirstTouchDueAt, DateTimeOffset? FirstTouchedAt, int? Attempts, DateTimeOffset? AttemptsDueAt, DateTimeOffset? ConnectedAt,
        DateTimeOffset? ClosedAt);

    /// <summary>The goal that sets the commitment of a day: a month goal over a quarter goal, then the latest created.</summary>
    public sealed record GoalTerms(Guid Id, DateOnly StartsOn, DateOnly EndsOn, bool Monthly, DateTimeOffset CreatedAt, int? CommittedMqls, decimal? AcceptanceFloor,
        decimal? RatingFloor);

    public static async Task<SlaReportResult> ComputeAsync(TandemDb db, ReportPeriod period, DateTimeOffset now, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var (start, end) = (period.Start, period.End);
        var transitions = db.StageTransitions.AsNoTracking();
        var leads = db.Leads.AsNoTracking();

        var mqls = await Kpis.FirstEntries(transitions, leads, LifecycleStage.Mql, start, end).Select(e => e.At).ToListAsync(ct);
        var verdicts = await transitions
            .Where(t => t.At >= start && t.At < end && (t.ByRule == DispositionRules.Accept || t.ByRule!.StartsWith(DispositionRules.RejectPrefix)))
            .Select(t => new Verdict(t.LeadId, t.At, t.ByRule == DispositionRules.Accept)).ToListAsync(ct);
        var ratings = await db.Set<Feedback.LeadRating>().AsNoTracking().Where(r => r.CreatedAt >= start && r.CreatedAt < end)
            .Select(r => new Rating(r.CreatedAt, r.LeadQuality)).ToListAsync(ct);

        // Assignments that can count in the period: made in it, or with a first-touch deadline, a cadence end or a close in it.
        var assignments = await db.Assignments.AsNoTracking()
            .Where(a => a.AssignedAt < end && (a.AssignedAt >= start || a.FirstTouchDueAt >= start || a.AttemptsDueAt >= start || a.ClosedAt >= start))
            .Select(a => new AssignmentRow(a.Id, a.LeadId, a.RepId, a.TeamId, a.State, a.MqlAt, a.AssignedAt, a.FirstTouchDueAt, a.FirstTouchedAt, a.Attempts,
                a.AttemptsDueAt, a.ConnectedAt, a.ClosedAt)).ToListAsync(ct);
        var cadenceLeads = assignments.Where(a => a.Attempts is not null && a.RepId is not null).Select(a => a.LeadId).Distinct().ToList();
        var attempts = new List<(Guid LeadId, DateTimeOffset At)>();
        foreach (var chunk in cadenceLeads.Chunk(500))
        {
            var ids = chunk.ToList();
            attempts.AddRange((await db.Activities.AsNoTracking().Where(x => ids.Contains(x.LeadId) && AttemptTypes.Contains(x.Type) && x.OccurredAt < end)
                .Select(x => new { x.LeadId, x.OccurredAt }).ToListAsync(ct)).Select(x => (x.LeadId, x.OccurredAt)));
        }
        var attemptsByLead = attempts.ToLookup(x => x.LeadId, x => x.At);

        var goals = await GoalTermsAsync(db, period, now, ct);
        var facts = assignments.Select(a => new AssignmentFacts(a.RepId, a.TeamId, a.MqlAt, a.AssignedAt, a.FirstTouchDueAt, a.FirstTouchedAt)).ToList();

        SlaMarketingSide Marketing(DateOnly from, DateOnly to)
        {
            var (s, e) = (ReportPeriod.StartOf(from, period.TimeZone), ReportPeriod.StartOf(to.AddDays(1), period.TimeZone));
            var delivered = mqls.Count(at => at >= s && at < e);
            var committed = Committed(goals, from, to);
            var perLead = verdicts.Where(v => v.At >= s && v.At < e).GroupBy(v => v.LeadId).Select(g => g.Any(v => v.Accepted)).ToList();
            var accepted = perLead.Count(x => x);
            var acceptance = Kpis.Ratio(accepted, perLead.Count);
            var inSpan = ratings.Where(r => r.At >= s && r.At < e).ToList();
            decimal? mean = inSpan.Count == 0 ? null : Math.Round((decimal)inSpan.Sum(r => r.Quality) / inSpan.Count, 2, MidpointRounding.AwayFromZero);
            var applying = Applying(goals, from, to).ToList();
            var acceptanceFloor = applying.Max(g => g.AcceptanceFloor);
            var ratingFloor = applying.Max(g => g.RatingFloor);
            bool? acceptanceMet = acceptanceFloor is { } af && acceptance is { } ar ? ar >= af : null;
            bool? ratingMet = ratingFloor is { } rf && mean is { } m ? m >= rf : null;
            bool? quality = acceptanceMet is null && ratingMet is null ? null : acceptanceMet != false && ratingMet != false;
            return new SlaMarketingSide(delivered, committed, committed is { } c ? delivered >= c : null, perLead.Count, accepted, acceptance, acceptanceFloor,
                acceptanceMet, inSpan.Count, mean, ratingFloor, ratingMet, quality);
        }

        SlaSalesSide Sales(DateOnly from, DateOnly to)
        {
            var (s, e) = (ReportPeriod.StartOf(from, period.TimeZone), ReportPeriod.StartOf(to.AddDays(1), period.TimeZone));
            var speed = SpeedToLead.Stats(facts, s, e, now);
            var compliance = Kpis.Ratio(speed.TouchedInTime, speed.DueInPeriod);
            var (due, kept, made, required) = Cadences(assignments, attemptsByLead, s, e, now);
            var cadence = Kpis.Ratio(kept, due);
            return new SlaSalesSide(speed.DueInPeriod, speed.TouchedInTime, compliance, settings.SlaFirstTouchTarget,
                compliance is { } fc ? fc >= settings.SlaFirstTouchTarget : null, speed.AssignmentToFirstTouch.Count, speed.AssignmentToFirstTouch.MedianMinutes,
                due, kept, made, required, cadence, settings.SlaAttemptsTarget, cadence is { } cc ? cc >= settings.SlaAttemptsTarget : null);
        }

        var weeks = new List<SlaWeek>();
        for (var w = RevenueDashboard.WeekOf(period.From); w <= period.To; w = w.AddDays(7))
        {
            var from = w < period.From ? period.From : w;
            var to = w.AddDays(6) > period.To ? period.To : w.AddDays(6);
            weeks.Add(new SlaWeek(w, from, to, Marketing(from, to), Sales(from, to)));
        }
        return new SlaReportResult(period.From, period.To, period.TimeZone.Id, Marketing(period.From, period.To), Sales(period.From, period.To), weeks);
    }

    /// <summary>The monthly statement: the report over the month and a verdict per line.</summary>
    public static async Task<SlaStatement> StatementAsync(TandemDb db, int year, int month, TimeZoneInfo zone, DateTimeOffset now, CancellationToken ct)
    {
        var first = new DateOnly(year, month, 1);
        var period = new ReportPeriod(first, first.AddMonths(1).AddDays(-1), zone);
        var report = await ComputeAsync(db, period, now, ct);
        return new SlaStatement(year, month, period.From, period.To, zone.Id, Lines(report), report);
    }

    /// <summary>The statement lines of a report (its whole period): a verdict per line.</summary>
    public static IReadOnlyList<SlaStatementLine> Lines(SlaReportResult report)
    {
        var (m, s) = (report.Marketing, report.Sales);
        return
        [
            new(SlaSide.Marketing, "mqls", m.MqlsDelivered, m.MqlsCommitted, Judge(m.MqlsCommitted is not null, true, m.MqlsMet)),
            new(SlaSide.Marketing, "acceptance", m.AcceptanceRate, m.AcceptanceFloor, Judge(m.AcceptanceFloor is not null, m.AcceptanceRate is not null, m.AcceptanceMet)),
            new(SlaSide.Marketing, "rating", m.MeanRating, m.RatingFloor, Judge(m.RatingFloor is not null, m.MeanRating is not null, m.RatingMet)),
            new(SlaSide.Sales, "firstTouch", s.FirstTouchCompliance, s.FirstTouchTarget, Judge(true, s.FirstTouchCompliance is not null, s.FirstTouchMet)),
            new(SlaSide.Sales, "speedToLead", s.MedianSpeedToLeadMinutes is { } sp ? Math.Round((decimal)sp, 2) : null, null, SlaVerdict.NoTarget),
            new(SlaSide.Sales, "attempts", s.AttemptsCompliance, s.AttemptsTarget, Judge(true, s.AttemptsCompliance is not null, s.AttemptsMet)),
        ];

        static SlaVerdict Judge(bool hasTarget, bool hasData, bool? met) =>
            !hasTarget ? SlaVerdict.NoTarget : !hasData || met is null ? SlaVerdict.NoData : met.Value ? SlaVerdict.Met : SlaVerdict.Missed;
    }

    /// <summary>
    /// The attempts cadences judged in [start, end): a cadence (assignment with a rep and K attempts, not superseded by a reassignment) ends at its
    /// window end, or earlier at its close. It is judged when it ended in the span (and by now) and either ran to the window end, reached K attempts or
    /// connected; one cut short by a decision (accepted, rejected, merged) with fewer attempts is not judged. Kept = connected by its end or K attempts
    /// made by then. Attempts made (capped at K) and required (K) are summed over the judged cadences without a connection.
    /// </summary>
    public static (int Due, int Kept, int Made, int Required) Cadences(IEnumerable<AssignmentRow> assignments, ILookup<Guid, DateTimeOffset> attemptsByLead,
        DateTimeOffset start, DateTimeOffset end, DateTimeOffset now)
    {
        int due = 0, kept = 0, made = 0, required = 0;
        foreach (var a in assignments)
        {
            if (a.RepId is null || a.Attempts is not { } k || a.AttemptsDueAt is not { } windowEnd || a.State == AssignmentState.Reassigned)
                continue;
            var ends = a.ClosedAt is { } closed && closed < windowEnd ? closed : windowEnd;
            if (ends < start || ends >= end || ends > now)
                continue;
            var connected = a.ConnectedAt is { } c && c <= ends;
            var count = Math.Min(k, attemptsByLead[a.LeadId].Count(t => t >= a.AssignedAt && t <= ends));
            if (!connected && ends < windowEnd && count < k)
                continue;
            due++;
            if (connected || count >= k)
                kept++;
            if (!connected)
            {
                made += count;
                required += k;
            }
        }
        return (due, kept, made, required);
    }

    /// <summary>The workspace goals (no segment) that overlap the period, with the commitment: the goal's committed MQLs, else the planner's figure.</summary>
    public static async Task<List<GoalTerms>> GoalTermsAsync(TandemDb db, ReportPeriod period, DateTimeOffset now, CancellationToken ct)
    {
        var first = period.From.AddMonths(-3);
        var goals = await db.RevenueGoals.AsNoTracking().Where(g => g.Segment == null && g.StartsOn <= period.To && g.StartsOn >= first).ToListAsync(ct);
        var terms = new List<GoalTerms>();
        foreach (var g in goals.Where(g => g.EndsOn > period.From))
        {
            var committed = g.CommittedMqls ?? (await Goals.PlanOfAsync(db, g, now, k => k, ct)).RequiredMqls;
            terms.Add(new GoalTerms(g.Id, g.StartsOn, g.EndsOn, g.Period == GoalPeriod.Month, g.CreatedAt, committed, g.AcceptanceFloor, g.RatingFloor));
        }
        return terms;
    }

    /// <summary>The goal whose terms apply on a day: a month goal before a quarter goal, then the latest created; null when none covers it.</summary>
    public static GoalTerms? ApplyingOn(IReadOnlyList<GoalTerms> goals, DateOnly day) =>
        goals.Where(g => g.StartsOn <= day && day < g.EndsOn).OrderByDescending(g => g.Monthly).ThenByDescending(g => g.CreatedAt).FirstOrDefault();

    private static IEnumerable<GoalTerms> Applying(IReadOnlyList<GoalTerms> goals, DateOnly from, DateOnly to)
    {
        var seen = new HashSet<GoalTerms>();
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            if (ApplyingOn(goals, d) is { } g && seen.Add(g))
                yield return g;
        }
    }

    /// <summary>
    /// MQLs committed for the days from <paramref name="from"/> to <paramref name="to"/>: each day carries its goal's commitment divided by the
    /// goal's days; rounded to 0.1 MQL. Null when no day has a known commitment.
    /// </summary>
    public static decimal? Committed(IReadOnlyList<GoalTerms> goals, DateOnly from, DateOnly to)
    {
        var days = new Dictionary<GoalTerms, int>();
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            if (ApplyingOn(goals, d) is { CommittedMqls: not null } g)
                days[g] = days.GetValueOrDefault(g) + 1;
        }
        if (days.Count == 0)
            return null;
        var total = days.Sum(x => (decimal)x.Key.CommittedMqls!.Value * x.Value / (x.Key.EndsOn.DayNumber - x.Key.StartsOn.DayNumber));
        return Math.Round(total, 1, MidpointRounding.AwayFromZero);
    }

    private sealed record Verdict(Guid LeadId, DateTimeOffset At, bool Accepted);

    private sealed record Rating(DateTimeOffset At, int Quality);
}
