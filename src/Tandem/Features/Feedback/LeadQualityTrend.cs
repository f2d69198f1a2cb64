using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;

namespace Tandem.Features.Feedback;

/// <summary>
/// One ISO week of one campaign, each figure counted in the week its event happened: leads created, MQLs (first entry into MQL),
/// verdicts given (accepted, rejected) and the acceptance rate of those verdicts, ratings given and their mean.
/// </summary>
public sealed record TrendWeek(string Week, DateOnly WeekStart, int Leads, int Mqls, int Accepted, int Rejected, decimal? AcceptanceRate, int Ratings,
    decimal? MeanRating);

public sealed record TrendSeries(string Key, string Name, IReadOnlyList<TrendWeek> Weeks);

public sealed record LeadQualityTrendReport(DateOnly From, DateOnly To, IReadOnlyList<TrendSeries> Series);

/// <summary>
/// The weekly trend of the lead-quality scorecard per first-touch campaign (decision 011). Weeks are ISO 8601 weeks (Monday to
/// Sunday, UTC); the period is widened to whole weeks. The events are read as timestamps per lead and bucketed in memory, so the
/// same code runs on both providers; the caller bounds the period and the campaigns (at most five, or all leads as one series).
/// </summary>
public static class LeadQualityTrend
{
    public const string AllKey = "all";

    public static DateOnly WeekStart(DateOnly d) => d.AddDays(-(((int)d.DayOfWeek + 6) % 7));

    public static string WeekName(DateOnly monday) => $"{ISOWeek.GetYear(monday.ToDateTime(TimeOnly.MinValue))}-W{ISOWeek.GetWeekOfYear(monday.ToDateTime(TimeOnly.MinValue)):00}";

    public static async Task<LeadQualityTrendReport> ComputeAsync(TandemDb db, DateOnly from, DateOnly to, IReadOnlyCollection<Guid> campaignIds, CancellationToken ct)
    {
        var first = WeekStart(from);
        var last = WeekStart(to);
        var start = new DateTimeOffset(first.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(last.AddDays(7).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var ids = campaignIds.ToList();
        var all = ids.Count == 0;
        var leads = db.Leads.AsNoTracking().Where(l => all || (l.FirstCampaignId != null && ids.Contains(l.FirstCampaignId.Value)));

        var created = await leads.Where(l => l.CreatedAt >= start && l.CreatedAt < end).Select(l => new { l.FirstCampaignId, At = l.CreatedAt }).ToListAsync(ct);
        var mqls = await (from t in db.StageTransitions.AsNoTracking()
                          join l in leads on t.LeadId equals l.Id
                          where t.To == LifecycleStage.Mql
                          group t by new { t.LeadId, l.FirstCampaignId } into g
                          select new { g.Key.FirstCampaignId, At = g.Min(t => t.At) }).Where(x => x.At >= start && x.At < end).ToListAsync(ct);
        var verdicts = await (from t in db.StageTransitions.AsNoTracking()
                              join l in leads on t.LeadId equals l.Id
                              where t.At >= start && t.At < end && (t.ByRule == DispositionRules.Accept || t.ByRule!.StartsWith(DispositionRules.RejectPrefix))
                              select new { l.FirstCampaignId, t.At, Accepted = t.ByRule == DispositionRules.Accept }).ToListAsync(ct);
        var ratings = await (from r in db.Set<LeadRating>().AsNoTracking()
                             join l in leads on r.LeadId equals l.Id
                             where r.CreatedAt >= start && r.CreatedAt < end
                             select new { l.FirstCampaignId, r.CreatedAt, r.LeadQuality }).ToListAsync(ct);

        var names = await db.Campaigns.AsNoTracking().Where(c => all || ids.Contains(c.Id)).Select(c => new { c.Id, c.Name }).ToDictionaryAsync(c => c.Id, c => c.Name, ct);
        var weeks = new List<DateOnly>();
        for (var w = first; w <= last; w = w.AddDays(7))
            weeks.Add(w);
        var keys = all ? [AllKey] : ids.Distinct().Select(i => i.ToString()).ToList();
        var acc = keys.ToDictionary(k => k, _ => weeks.ToDictionary(w => w, _ => new int[6]));
        string KeyOf(Guid? campaign) => all ? AllKey : campaign?.ToString() ?? "";
        void Add(Guid? campaign, DateTimeOffset at, int index, int value = 1)
        {
            if (acc.TryGetValue(KeyOf(campaign), out var byWeek) && byWeek.TryGetValue(WeekStart(DateOnly.FromDateTime(at.UtcDateTime)), out var cells))
                cells[index] += value;
        }
        foreach (var x in created)
            Add(x.FirstCampaignId, x.At, 0);
        foreach (var x in mqls)
            Add(x.FirstCampaignId, x.At, 1);
        foreach (var x in verdicts)
            Add(x.FirstCampaignId, x.At, x.Accepted ? 2 : 3);
        foreach (var x in ratings)
        {
            Add(x.FirstCampaignId, x.CreatedAt, 4);
            Add(x.FirstCampaignId, x.CreatedAt, 5, x.LeadQuality);
        }
        var series = keys.Select(k => new TrendSeries(k, k == AllKey ? "" : Guid.TryParse(k, out var g) && names.TryGetValue(g, out var n) ? n : k,
            [.. weeks.Select(w =>
            {
                var c = acc[k][w];
                var dispositioned = c[2] + c[3];
                return new TrendWeek(WeekName(w), w, c[0], c[1], c[2], c[3], dispositioned == 0 ? null : Math.Round((decimal)c[2] / dispositioned, 4), c[4],
                    c[4] == 0 ? null : Math.Round((decimal)c[5] / c[4], 2));
            })])).ToList();
        return new LeadQualityTrendReport(first, last.AddDays(6), series);
    }

    /// <summary>The trend as CSV, one line per campaign and week (invariant culture; text neutralised against formula injection).</summary>
    public static string ToCsv(LeadQualityTrendReport report)
    {
        var sb = new StringBuilder("key,name,week,weekStart,leads,mqls,accepted,rejected,acceptanceRate,ratings,meanRating\n");
        static string D(decimal? d) => d?.ToString(CultureInfo.InvariantCulture) ?? "";
        foreach (var s in report.Series)
            foreach (var w in s.Weeks)
                sb.Append(Platform.CsvSafe.Field(s.Key)).Append(',').Append(Platform.CsvSafe.Field(s.Name)).Append(',')
                    .Append(string.Join(',', w.Week, w.WeekStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), w.Leads, w.Mqls, w.Accepted, w.Rejected,
                        D(w.AcceptanceRate), w.Ratings, D(w.MeanRating))).Append('\n');
        return sb.ToString();
    }
}
