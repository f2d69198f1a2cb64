using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Leads;

namespace Tandem.Features.Revenue;

/// <summary>One ISO week (Monday, workspace time zone) of the trend: new leads, first MQL and SQL entries, revenue won.</summary>
public sealed record TrendWeek(DateOnly WeekOf, int Leads, int Mqls, int Sqls, decimal WonRevenue);

/// <summary>
/// Everything the dashboard shows for a period, in one object (GET /api/v1/reports/dashboard): the KPI set and the comparison period's,
/// attribution of the won revenue by campaign, the weekly trend, every campaign's results, the marketing touches, and goal forecasts.
/// </summary>
public sealed record DashboardReport(DateOnly From, DateOnly To, string Currency, string CompareTo, KpiSet Kpis, KpiSet Comparison,
    AttributionResult Attribution, IReadOnlyList<TrendWeek> Trend, IReadOnlyList<CampaignResult> Campaigns, int MarketingTouches, decimal RunRate,
    decimal WeightedPipeline);

/// <summary>
/// A campaign's results in a period: its sourced leads (first-touch campaign) and what became of them, the revenue won in the period
/// credited to it by the model, its spend, costs and ROI. CAC = spend / new customers (accounts that became customers in the period with
/// a lead the campaign sourced; the sales cost is not per campaign, as in the KPI set with a campaign filter). Amounts are in the
/// reporting currency; spend lines and won deals touched by the campaign whose currency has no rate are listed apart, never added.
/// </summary>
public sealed record CampaignResult(Guid CampaignId, string Name, Channel Channel, CampaignStatus Status, int Leads, int Mqls, int Sqls, int Opportunities,
    int WonDeals, decimal WonRevenue, decimal Spend, decimal? CostPerLead, decimal? CostPerMql, decimal? Cac, decimal? Roi, decimal? AcceptanceRate,
    decimal? MeanLeadRating, int NewCustomers, decimal? CostPerSql, IReadOnlyList<Unconverted> UnconvertedSpend, IReadOnlyList<Unconverted> UnconvertedRevenue);

/// <summary>What the campaign results can be sorted by.</summary>
public enum CampaignSort
{
    Name,
    Roi,
    Quality,
    Acceptance,
    Revenue,
    Leads,
}

/// <summary>The figures of the dashboard and the campaign pages beyond the KPI set (decision 017).</summary>
public static class RevenueDashboard
{
    public static DateOnly WeekOf(DateOnly day) => day.AddDays(-(((int)day.DayOfWeek + 6) % 7));

    /// <summary>The dashboard's figures, computed by the same services, in the same order, as the dashboard page.</summary>
    public static async Task<DashboardReport> ComputeAsync(TandemDb db, ReportPeriod period, bool compareToLastYear, KpiFilter filter, AttributionModel model,
        DateTimeOffset now, Func<string, string> label, CancellationToken ct)
    {
        var kpis = await Kpis.ComputeAsync(db, period, filter, model, label, ct);
        var comparison = await Kpis.ComputeAsync(db, compareToLastYear ? period.LastYear : period.Previous, filter, model, label, ct);
        var attribution = await AttributionReport.ComputeAsync(db, model, ConversionKind.Won, AttributionBy.Campaign, period, label, ct);
        var trend = await TrendAsync(db, period, filter, ct);
        var campaigns = await CampaignResultsAsync(db, period, model, null, ct);
        var (start, end) = (period.Start, period.End);
        var touches = await db.Activities.CountAsync(a => a.OccurredAt >= start && a.OccurredAt < end && !AttributionReport.SalesTouchTypes.Contains(a.Type), ct);
        var elapsed = Math.Max(1, Math.Min(period.Days, ReportPeriod.LocalDateOf(now, period.TimeZone).DayNumber - period.From.DayNumber + 1));
        var runRate = Math.Round(kpis.WonRevenue / elapsed * period.Days, 0);
        var weighted = await RevenueForecast.WeightedPipelineAsync(db, period, filter.OwnerId, ct);
        return new DashboardReport(period.From, period.To, kpis.Currency, compareToLastYear ? "lastYear" : "previous", kpis, comparison, attribution, trend,
            campaigns, touches, runRate, weighted);
    }

    public static async Task<IReadOnlyList<TrendWeek>> TrendAsync(TandemDb db, ReportPeriod period, KpiFilter filter, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var (start, end) = (period.Start, period.End);
        var leads = await Kpis.FilterLeadsAsync(db, filter, ct);
        var transitions = db.StageTransitions.AsNoTracking();
        var created = await leads.Where(l => l.CreatedAt >= start && l.CreatedAt < end).Select(l => l.CreatedAt).ToListAsync(ct);
        var mqls = await Kpis.FirstEntries(transitions, leads, LifecycleStage.Mql, start, end).Select(e => e.At).ToListAsync(ct);
        var sqls = await Kpis.FirstEntries(transitions, leads, LifecycleStage.Sql, start, end).Select(e => e.At).ToListAsync(ct);
        var won = await (from d in db.Deals.AsNoTracking()
                         join l in leads on d.LeadId equals l.Id
                         where d.Status == DealStatus.Won && d.ClosedAt >= start && d.ClosedAt < end
                         select new { d.ClosedAt, d.Amount, d.Currency }).ToListAsync(ct);

        var weeks = new SortedDictionary<DateOnly, (int Leads, int Mqls, int Sqls, MoneySum Won)>();
        for (var w = WeekOf(period.From); w <= period.To; w = w.AddDays(7))
            weeks[w] = (0, 0, 0, new MoneySum(converter));
        foreach (var at in created)
            Bump(at, (x, _) => x with { Leads = x.Leads + 1 });
        foreach (var at in mqls)
            Bump(at, (x, _) => x with { Mqls = x.Mqls + 1 });
        foreach (var at in sqls)
            Bump(at, (x, _) => x with { Sqls = x.Sqls + 1 });
        foreach (var d in won)
        {
            Bump(d.ClosedAt!.Value, (x, day) =>
            {
                x.Won.Add(d.Amount, d.Currency, day);
                return x;
            });
        }
        return [.. weeks.Select(w => new TrendWeek(w.Key, w.Value.Leads, w.Value.Mqls, w.Value.Sqls, w.Value.Won.Total))];

        void Bump(DateTimeOffset at, Func<(int Leads, int Mqls, int Sqls, MoneySum Won), DateOnly, (int, int, int, MoneySum)> change)
        {
            var day = period.LocalDate(at);
            var week = WeekOf(day);
            if (weeks.TryGetValue(week, out var value))
                weeks[week] = change(value, day);
        }
    }

    public static async Task<IReadOnlyList<CampaignResult>> CampaignResultsAsync(TandemDb db, ReportPeriod period, AttributionModel model,
        IReadOnlyCollection<Guid>? only, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var (start, end) = (period.Start, period.End);
        var campaigns = db.Campaigns.AsNoTracking();
        if (only is { Count: > 0 })
            campaigns = campaigns.Where(c => only.Contains(c.Id));
        var list = await campaigns.Select(c => new { c.Id, c.Name, c.Channel, c.Status, c.Currency }).ToListAsync(ct);
        var ids = list.Select(c => c.Id).ToList();

        var sourced = db.Leads.AsNoTracking().Where(l => l.FirstCampaignId != null && ids.Contains(l.FirstCampaignId.Value));
        var transitions = db.StageTransitions.AsNoTracking();
        var leads = await sourced.Where(l => l.CreatedAt >= start && l.CreatedAt < end).GroupBy(l => l.FirstCampaignId)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key!.Value, x => x.Count, ct);
        var mqls = await CountByCampaign(LifecycleStage.Mql);
        var sqls = await CountByCampaign(LifecycleStage.Sql);
        var opportunities = await (from d in db.Deals.AsNoTracking()
                                   join l in sourced on d.LeadId equals l.Id
                                   where d.CreatedAt >= start && d.CreatedAt < end
                                   group d by l.FirstCampaignId into g
                                   select new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key!.Value, x => x.Count, ct);
        var wonDeals = await (from d in db.Deals.AsNoTracking()
                              join l in sourced on d.LeadId equals l.Id
                              where d.Status == DealStatus.Won && d.ClosedAt >= start && d.ClosedAt < end
                              group d by l.FirstCampaignId into g
                              select new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key!.Value, x => x.Count, ct);
        var verdicts = await (from t in transitions
                              join l in sourced on t.LeadId equals l.Id
                              where t.At >= start && t.At < end && (t.ByRule == DispositionRules.Accept || t.ByRule!.StartsWith(DispositionRules.RejectPrefix))
                              group t by new { t.LeadId, l.FirstCampaignId } into g
                              select new { g.Key.FirstCampaignId, Accepted = g.Max(t => t.ByRule == DispositionRules.Accept ? 1 : 0) }).ToListAsync(ct);
        var ratings = await (from r in db.Set<LeadRating>().AsNoTracking()
                             join l in sourced on r.LeadId equals l.Id
                             where r.CreatedAt >= start && r.CreatedAt < end
                             group r by l.FirstCampaignId into g
                             select new { g.Key, Sum = g.Sum(r => r.LeadQuality), Count = g.Count() }).ToDictionaryAsync(x => x.Key!.Value, ct);
        var customers = await (from a in db.Accounts.AsNoTracking()
                               where a.CustomerSince >= start && a.CustomerSince < end
                               from l in sourced
                               where l.AccountId == a.Id
                               select new { AccountId = a.Id, CampaignId = l.FirstCampaignId!.Value }).Distinct().ToListAsync(ct);
        var spendRows = await db.CampaignSpend.AsNoTracking().Where(s => ids.Contains(s.CampaignId) && s.On >= period.From && s.On <= period.To)
            .Select(s => new { s.CampaignId, s.Amount, s.On }).ToListAsync(ct);

        var (conversions, touches, _) = await AttributionReport.LoadAsync(db, ConversionKind.Won, period, converter, ct);
        var credited = AttributionReport.Credit(model, ConversionKind.Won, AttributionBy.Campaign, conversions, touches);
        // Won deals with no rate to the reporting currency: listed under each campaign that touched them before the win.
        var unconvertedWon = new Dictionary<Guid, MoneySum>();
        var wonRows = await db.Deals.AsNoTracking().Where(d => d.Status == DealStatus.Won && d.ClosedAt >= start && d.ClosedAt < end)
            .Select(d => new { d.Id, d.Amount, d.Currency, d.ClosedAt }).ToListAsync(ct);
        foreach (var d in wonRows.Where(d => converter.RateOn(d.Currency, period.LocalDate(d.ClosedAt!.Value)) is null))
        {
            foreach (var campaignId in touches[d.Id].Where(t => t.At <= d.ClosedAt && t.CampaignId is not null).Select(t => t.CampaignId!.Value).Distinct())
            {
                if (!unconvertedWon.TryGetValue(campaignId, out var sum))
                    unconvertedWon[campaignId] = sum = new MoneySum(converter);
                sum.Add(d.Amount, d.Currency, period.LocalDate(d.ClosedAt!.Value));
            }
        }

        var results = new List<CampaignResult>();
        foreach (var c in list)
        {
            var spend = new MoneySum(converter);
            foreach (var s in spendRows.Where(s => s.CampaignId == c.Id))
                spend.Add(s.Amount, c.Currency, s.On);
            var n = leads.GetValueOrDefault(c.Id);
            var m = mqls.GetValueOrDefault(c.Id);
            var q = sqls.GetValueOrDefault(c.Id);
            var w = wonDeals.GetValueOrDefault(c.Id);
            var won = customers.Count(x => x.CampaignId == c.Id);
            var revenue = credited.TryGetValue(c.Id.ToString(), out var credit) ? credit.Credit : 0m;
            var v = verdicts.Where(x => x.FirstCampaignId == c.Id).ToList();
            var r = ratings.GetValueOrDefault(c.Id);
            results.Add(new CampaignResult(c.Id, c.Name, c.Channel, c.Status, n, m, q, opportunities.GetValueOrDefault(c.Id), w,
                revenue, spend.Total,
                n == 0 ? null : Money(spend.Total / n), m == 0 ? null : Money(spend.Total / m), won == 0 ? null : Money(spend.Total / won),
                spend.Total == 0 ? null : Math.Round((revenue - spend.Total) / spend.Total, Kpis.RateDecimals, MidpointRounding.AwayFromZero),
                Kpis.Ratio(v.Sum(x => x.Accepted), v.Count),
                r is null || r.Count == 0 ? null : Math.Round((decimal)r.Sum / r.Count, 2, MidpointRounding.AwayFromZero),
                won, q == 0 ? null : Money(spend.Total / q), spend.Unconverted,
                unconvertedWon.TryGetValue(c.Id, out var lost) ? lost.Unconverted : []));
        }
        return results;

        async Task<Dictionary<Guid, int>> CountByCampaign(LifecycleStage stage) =>
            await (from e in Kpis.FirstEntries(transitions, sourced, stage, start, end)
                   join l in sourced on e.LeadId equals l.Id
                   group e by l.FirstCampaignId into g
                   select new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key!.Value, x => x.Count, ct);
    }

    /// <summary>
    /// A campaign's weekly trend: its sourced leads, first MQL and SQL entries by week, and the revenue won each week credited to it
    /// by the model (so the weeks add up to its <see cref="CampaignResult.WonRevenue"/>).
    /// </summary>
    public static async Task<IReadOnlyList<TrendWeek>> CampaignTrendAsync(TandemDb db, ReportPeriod period, AttributionModel model, Guid campaignId,
        CancellationToken ct)
    {
        var weeks = await TrendAsync(db, period, new KpiFilter(CampaignId: campaignId), ct);
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var (conversions, touches, _) = await AttributionReport.LoadAsync(db, ConversionKind.Won, period, converter, ct);
        var key = campaignId.ToString();
        var byWeek = conversions.GroupBy(c => WeekOf(period.LocalDate(c.At)))
            .ToDictionary(g => g.Key, g => AttributionReport.Credit(model, ConversionKind.Won, AttributionBy.Campaign, g, touches).TryGetValue(key, out var x) ? x.Credit : 0m);
        return [.. weeks.Select(w => w with { WonRevenue = byWeek.GetValueOrDefault(w.WeekOf) })];
    }

    /// <summary>Sorts campaign results by a key (nulls last whatever the direction): roi, quality (mean lead rating, then acceptance), revenue, leads, name.</summary>
    public static IEnumerable<CampaignResult> Sort(IEnumerable<CampaignResult> rows, CampaignSort sort, bool descending)
    {
        IOrderedEnumerable<CampaignResult> ordered = sort switch
        {
            CampaignSort.Roi => By(rows.OrderBy(r => r.Roi is null), r => r.Roi),
            CampaignSort.Quality => By(rows.OrderBy(r => r.MeanLeadRating is null), r => r.MeanLeadRating)
                .ThenBy(r => r.AcceptanceRate is null).ThenByDescending(r => r.AcceptanceRate),
            CampaignSort.Acceptance => By(rows.OrderBy(r => r.AcceptanceRate is null), r => r.AcceptanceRate),
            CampaignSort.Revenue => By(rows.OrderBy(_ => false), r => r.WonRevenue),
            CampaignSort.Leads => By(rows.OrderBy(_ => false), r => r.Leads),
            _ => descending ? rows.OrderByDescending(r => r.Name, StringComparer.CurrentCultureIgnoreCase) : rows.OrderBy(r => r.Name, StringComparer.CurrentCultureIgnoreCase),
        };
        return ordered.ThenBy(r => r.Name, StringComparer.CurrentCultureIgnoreCase).ThenBy(r => r.CampaignId);

        IOrderedEnumerable<CampaignResult> By<T>(IOrderedEnumerable<CampaignResult> first, Func<CampaignResult, T> key) =>
            descending ? first.ThenByDescending(key) : first.ThenBy(key);
    }

    private static decimal Money(decimal value) => Math.Round(value, 2, MidpointRounding.AwayFromZero);

    /// <summary>An amount in the reporting currency for display, in the reader's culture.</summary>
    public static string Format(decimal amount, string currency, CultureInfo culture)
    {
        var nf = (NumberFormatInfo)culture.NumberFormat.Clone();
        nf.CurrencySymbol = currency switch { "EUR" => "€", "USD" => "$", "GBP" => "£", _ => currency };
        return amount.ToString("C0", nf);
    }
}
