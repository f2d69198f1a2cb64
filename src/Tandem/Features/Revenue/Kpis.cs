using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;

namespace Tandem.Features.Revenue;

/// <summary>
/// Filters of the KPIs. Lead-based figures keep the leads whose first-touch channel / first-touch campaign / persona match, and
/// whose owner is in the team; spend keeps the campaigns of the channel or the campaign; customer figures keep the accounts with at
/// least one matching lead (decision 017).
/// </summary>
public sealed record KpiFilter(Channel? Channel = null, Guid? CampaignId = null, Guid? PersonaId = null, Guid? TeamId = null, Guid? OwnerId = null)
{
    public bool FiltersLeads => Channel is not null || CampaignId is not null || PersonaId is not null || TeamId is not null || OwnerId is not null;
    public bool FiltersSpend => Channel is not null || CampaignId is not null;
}

public sealed record SourceCount(string Channel, string ChannelName, string? Source, int Leads);

public sealed record StageConversion(int LeadToMqlCohort, decimal? LeadToMql, int MqlToSqlCohort, decimal? MqlToSql, int SqlToOpportunityCohort,
    decimal? SqlToOpportunity, int OpportunityToCustomerCohort, decimal? OpportunityToCustomer);

public sealed record TimeInStage(decimal? Lead, decimal? Mql, decimal? Sql, decimal? Opportunity);

/// <summary>Every KPI of the glossary for one period and filter. Rates are fractions (0.25 = 25 %); null when the denominator is 0.</summary>
public sealed record KpiSet(
    DateOnly From,
    DateOnly To,
    string Currency,
    string AttributionModel,
    int NewLeads,
    IReadOnlyList<SourceCount> TopSources,
    int Mqls,
    int Sqls,
    int Opportunities,
    StageConversion StageConversion,
    int Dispositioned,
    int Accepted,
    decimal? AcceptanceRate,
    decimal? LeadQualityIndex,
    int LeadRatings,
    decimal? MeetingQualityIndex,
    int MeetingRatings,
    int WonDeals,
    int LostDeals,
    decimal? CloseRatio,
    decimal WonRevenue,
    decimal? SalesCycleDays,
    TimeInStage TimeInStageDays,
    decimal MarketingSpend,
    decimal SalesCost,
    int NewCustomers,
    int CustomersAtStart,
    int CustomersAtEnd,
    int LostCustomers,
    decimal? Cac,
    decimal? CustomerRetentionRate,
    decimal? ChurnRate,
    decimal? AverageMonthlyRevenuePerCustomer,
    decimal? Ltv,
    decimal AttributedRevenue,
    decimal? CampaignRoi,
    decimal? CostPerLead,
    decimal? CostPerMql,
    decimal? CostPerSql,
    decimal? RevenueGoal,
    decimal? GoalAttainment,
    IReadOnlyList<Unconverted> Unconverted);

/// <summary>The KPIs of the glossary, computed from the raw rows on both providers (decision 017).</summary>
public static class Kpis
{
    /// <summary>LTV's customer lifetime when no customer churned, and its cap (months).</summary>
    public const decimal MaxLifetimeMonths = 60m;
    public const decimal DaysPerMonth = 365.25m / 12m;
    public const int RateDecimals = 4;

    public static readonly LifecycleStage[] Forward =
        [LifecycleStage.Subscriber, LifecycleStage.Lead, LifecycleStage.Mql, LifecycleStage.Sql, LifecycleStage.Opportunity, LifecycleStage.Customer, LifecycleStage.Advocate];

    /// <summary>The stage and every forward stage after it: reaching any of them is reaching the stage.</summary>
    public static LifecycleStage[] ReachedSet(LifecycleStage stage) => Forward[Array.IndexOf(Forward, stage)..];

    public static async Task<KpiSet> ComputeAsync(TandemDb db, ReportPeriod period, KpiFilter filter, AttributionModel model, Func<string, string> label,
        CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var start = period.Start;
        var end = period.End;
        var leads = await FilterLeadsAsync(db, filter, ct);
        var transitions = db.StageTransitions.AsNoTracking();

        // Leads and their sources.
        var created = leads.Where(l => l.CreatedAt >= start && l.CreatedAt < end);
        var newLeads = await created.CountAsync(ct);
        var sources = await created.GroupBy(l => new { l.FirstChannel, l.FirstSource }).Select(g => new { g.Key.FirstChannel, g.Key.FirstSource, Count = g.Count() })
            .ToListAsync(ct);
        var topSources = sources
            .GroupBy(s => (Channel: s.FirstChannel, Source: string.IsNullOrWhiteSpace(s.FirstSource) ? null : s.FirstSource.Trim().ToLowerInvariant()))
            .Select(g => new SourceCount(g.Key.Channel?.ToString() ?? AttributionReport.UnknownKey,
                g.Key.Channel is { } ch ? label($"Channel.{ch}") : label("Attribution.NoChannel"), g.Key.Source, g.Sum(x => x.Count)))
            .OrderByDescending(s => s.Leads).ThenBy(s => s.Channel, StringComparer.Ordinal).ThenBy(s => s.Source, StringComparer.Ordinal).Take(10).ToList();

        // First entries into a stage in the period.
        var mqls = await FirstEntries(transitions, leads, LifecycleStage.Mql, start, end).CountAsync(ct);
        var sqls = await FirstEntries(transitions, leads, LifecycleStage.Sql, start, end).CountAsync(ct);

        var leadToMql = await CohortAsync(LifecycleStage.Lead, LifecycleStage.Mql);
        var mqlToSql = await CohortAsync(LifecycleStage.Mql, LifecycleStage.Sql);
        var sqlToOpportunity = await CohortAsync(LifecycleStage.Sql, LifecycleStage.Opportunity);
        var opportunityToCustomer = await CohortAsync(LifecycleStage.Opportunity, LifecycleStage.Customer);
        var conversion = new StageConversion(leadToMql.Cohort, leadToMql.Rate, mqlToSql.Cohort, mqlToSql.Rate, sqlToOpportunity.Cohort, sqlToOpportunity.Rate,
            opportunityToCustomer.Cohort, opportunityToCustomer.Rate);

        // Sales' verdicts in the period: a lead counts once, accepted when any of its verdicts in the period was an acceptance.
        var verdicts = await (from t in transitions
                              join l in leads on t.LeadId equals l.Id
                              where t.At >= start && t.At < end && (t.ByRule == DispositionRules.Accept || t.ByRule!.StartsWith(DispositionRules.RejectPrefix))
                              group t by t.LeadId into g
                              select g.Max(t => t.ByRule == DispositionRules.Accept ? 1 : 0)).ToListAsync(ct);
        var dispositioned = verdicts.Count;
        var accepted = verdicts.Sum();

        // Ratings given in the period.
        var ratings = await (from r in db.Set<LeadRating>().AsNoTracking()
                             join l in leads on r.LeadId equals l.Id
                             where r.CreatedAt >= start && r.CreatedAt < end
                             select new { r.LeadQuality, r.MeetingQuality }).ToListAsync(ct);
        var meetings = ratings.Where(r => r.MeetingQuality is not null).Select(r => r.MeetingQuality!.Value).ToList();

        // Deals.
        var deals = from dl in db.Deals.AsNoTracking() join l in leads on dl.LeadId equals l.Id select dl;
        var opportunities = await deals.CountAsync(dl => dl.CreatedAt >= start && dl.CreatedAt < end, ct);
        var closed = await deals.Where(dl => dl.Status != DealStatus.Open && dl.ClosedAt >= start && dl.ClosedAt < end)
            .Select(dl => new { dl.Status, dl.Amount, dl.Currency, dl.ClosedAt }).ToListAsync(ct);
        var won = closed.Where(x => x.Status == DealStatus.Won).ToList();
        var lost = closed.Count(x => x.Status == DealStatus.Lost);
        var revenue = new MoneySum(converter);
        foreach (var w in won)
            revenue.Add(w.Amount, w.Currency, period.LocalDate(w.ClosedAt!.Value));

        // Velocity: days from creation to the first entry into Customer, for leads that became customers in the period; time in stage for
        // the stays that ended in the period.
        var customerEntries = await FirstEntries(transitions, leads, LifecycleStage.Customer, start, end).ToListAsync(ct);
        var cycle = Median(customerEntries.Select(x => (decimal)(x.At - x.LeadCreatedAt).TotalDays));
        var stays = await StaysAsync(transitions, leads, start, end, ct);

        // Money out.
        var spend = new MoneySum(converter);
        var spendRows = await (from s in db.CampaignSpend.AsNoTracking()
                               join cp in db.Campaigns.AsNoTracking() on s.CampaignId equals cp.Id
                               where s.On >= period.From && s.On <= period.To
                                     && (filter.CampaignId == null || cp.Id == filter.CampaignId)
                                     && (filter.Channel == null || cp.Channel == filter.Channel)
                               select new { s.Amount, cp.Currency, s.On }).ToListAsync(ct);
        foreach (var s in spendRows)
            spend.Add(s.Amount, s.Currency, s.On);
        var salesCost = new MoneySum(converter);
        if (!filter.FiltersSpend)
        {
            var firstMonth = new DateOnly(period.From.Year, period.From.Month, 1);
            foreach (var s in await db.SalesCosts.AsNoTracking().Where(s => s.Month >= firstMonth && s.Month <= period.To).ToListAsync(ct))
            {
                var share = OverlapShare(s.Month, s.Month.AddMonths(1).AddDays(-1), period);
                if (share > 0)
                    salesCost.Add(Math.Round(s.Amount * share, 2, MidpointRounding.AwayFromZero), s.Currency, s.Month);
            }
        }

        // Customers (accounts).
        var accounts = db.Accounts.AsNoTracking().Where(x => x.CustomerSince != null);
        if (filter.FiltersLeads)
            accounts = accounts.Where(x => leads.Any(l => l.AccountId == x.Id));
        var customers = await accounts.Select(x => new { x.CustomerSince, x.ChurnedAt, x.Mrr, x.ContractValue, x.ContractCurrency }).ToListAsync(ct);
        var newCustomers = customers.Count(x => x.CustomerSince >= start && x.CustomerSince < end);
        var atStart = customers.Count(x => x.CustomerSince < start && (x.ChurnedAt == null || x.ChurnedAt >= start));
        var atEndList = customers.Where(x => x.CustomerSince < end && (x.ChurnedAt == null || x.ChurnedAt >= end)).ToList();
        var lostCustomers = customers.Count(x => x.ChurnedAt >= start && x.ChurnedAt < end);
        var monthly = new MoneySum(converter);
        var paying = 0;
        foreach (var x in atEndList)
        {
            var perMonth = x.Mrr ?? (x.ContractValue is { } v ? Math.Round(v / 12m, 2, MidpointRounding.AwayFromZero) : null);
            if (perMonth is { } m && monthly.Add(m, x.ContractCurrency ?? converter.ReportingCurrency, period.To) is not null)
                paying++;
        }
        var churnRate = Ratio(lostCustomers, atStart);
        decimal? arpa = paying == 0 ? null : Math.Round(monthly.Total / paying, 2, MidpointRounding.AwayFromZero);
        decimal? ltv = null;
        if (arpa is { } perCustomer && atStart > 0)
        {
            var months = period.Days / DaysPerMonth;
            var monthlyChurn = (decimal)lostCustomers / atStart / months;
            var lifetime = monthlyChurn <= 0 ? MaxLifetimeMonths : Math.Min(MaxLifetimeMonths, 1m / monthlyChurn);
            ltv = Math.Round(perCustomer * settings.GrossMarginPercent / 100m * lifetime, 2, MidpointRounding.AwayFromZero);
        }

        // Campaign ROI over the revenue won in the period, credited to campaigns by the chosen model.
        var attributed = 0m;
        if (won.Count > 0)
        {
            var (conv, touches, _) = await AttributionReport.LoadAsync(db, ConversionKind.Won, period, converter, ct);
            if (filter.FiltersLeads)
            {
                var keep = (await deals.Where(dl => dl.Status == DealStatus.Won && dl.ClosedAt >= start && dl.ClosedAt < end).Select(dl => dl.Id).ToListAsync(ct)).ToHashSet();
                conv = [.. conv.Where(x => keep.Contains(x.Id))];
            }
            var credited = AttributionReport.Credit(model, ConversionKind.Won, AttributionBy.Campaign, conv, touches);
            attributed = credited.Where(r => filter.CampaignId is { } id ? r.Key == id.ToString() : Guid.TryParse(r.Key, out _)).Sum(r => r.Value.Credit);
        }
        var spent = spend.Total;

        // The revenue goal of the period: each workspace goal counted for the share of its days inside the period.
        var goals = await db.RevenueGoals.AsNoTracking().Where(g => g.Segment == null && g.StartsOn <= period.To).ToListAsync(ct);
        var goalSum = new MoneySum(converter);
        var anyGoal = false;
        foreach (var g in goals)
        {
            var share = OverlapShare(g.StartsOn, g.EndsOn.AddDays(-1), period);
            if (share <= 0)
                continue;
            anyGoal = true;
            goalSum.Add(Math.Round(g.Amount * share, 2, MidpointRounding.AwayFromZero), g.Currency, g.StartsOn);
        }
        decimal? goal = anyGoal ? goalSum.Total : null;

        var unconverted = revenue.Unconverted.Concat(spend.Unconverted).Concat(salesCost.Unconverted).Concat(monthly.Unconverted).Concat(goalSum.Unconverted)
            .GroupBy(u => u.Currency).Select(g => new Unconverted(g.Key, g.Sum(u => u.Amount), g.Sum(u => u.Count))).ToList();

        return new KpiSet(
            period.From, period.To, converter.ReportingCurrency, Attribution.NameOf(model),
            newLeads, topSources, mqls, sqls, opportunities, conversion,
            dispositioned, accepted, Ratio(accepted, dispositioned),
            ratings.Count == 0 ? null : Round(ratings.Average(r => (decimal)r.LeadQuality), 2), ratings.Count,
            meetings.Count == 0 ? null : Round(meetings.Average(m => (decimal)m), 2), meetings.Count,
            won.Count, lost, Ratio(won.Count, won.Count + lost), revenue.Total,
            cycle, stays,
            spent, salesCost.Total,
            newCustomers, atStart, atEndList.Count, lostCustomers,
            newCustomers == 0 ? null : Math.Round((spent + salesCost.Total) / newCustomers, 2, MidpointRounding.AwayFromZero),
            atStart == 0 ? null : Round((decimal)(atEndList.Count - newCustomers) / atStart, RateDecimals),
            churnRate, arpa, ltv,
            attributed, spent == 0 ? null : Round((attributed - spent) / spent, RateDecimals),
            PerUnit(spent, newLeads), PerUnit(spent, mqls), PerUnit(spent, sqls),
            goal, goal is > 0 ? Round(revenue.Total / goal.Value, RateDecimals) : null,
            unconverted);

        async Task<(int Cohort, decimal? Rate)> CohortAsync(LifecycleStage from, LifecycleStage to)
        {
            var reached = ReachedSet(to);
            var entries = FirstEntries(transitions, leads, from, start, end);
            var cohort = await entries.CountAsync(ct);
            if (cohort == 0)
                return (0, null);
            var converted = await entries.CountAsync(e => transitions.Any(t => t.LeadId == e.LeadId && reached.Contains(t.To) && t.At >= e.At), ct);
            return (cohort, Ratio(converted, cohort));
        }
    }

    /// <summary>The leads the filter keeps (every lead when it keeps all).</summary>
    public static async Task<IQueryable<Lead>> FilterLeadsAsync(TandemDb db, KpiFilter filter, CancellationToken ct)
    {
        var leads = db.Leads.AsNoTracking();
        if (filter.Channel is { } channel)
            leads = leads.Where(l => l.FirstChannel == channel);
        if (filter.CampaignId is { } campaign)
            leads = leads.Where(l => l.FirstCampaignId == campaign);
        if (filter.PersonaId is { } persona)
            leads = leads.Where(l => l.PersonaId == persona);
        if (filter.OwnerId is { } owner)
            leads = leads.Where(l => l.OwnerId == owner);
        if (filter.TeamId is { } team)
        {
            var members = await db.Set<SalesTeamMember>().AsNoTracking().Where(m => m.TeamId == team).Select(m => m.UserId).ToListAsync(ct);
            leads = leads.Where(l => l.OwnerId != null && members.Contains(l.OwnerId.Value));
        }
        return leads;
    }

    /// <summary>A first entry into a stage (a class with settable members, so EF can read them back inside a query).</summary>
    public sealed class Entry
    {
        public Guid LeadId { get; init; }
        public DateTimeOffset At { get; init; }
        public DateTimeOffset LeadCreatedAt { get; init; }
    }

    /// <summary>
    /// The leads whose first entry into <paramref name="stage"/> falls in [start, end), with that time: the entries of the period with no
    /// earlier entry of the same lead (the same set as "the minimum over all the lead's entries is in the period", but read from the
    /// period's rows through the (To, At) and (LeadId, At) indexes instead of grouping every entry ever made).
    /// </summary>
    public static IQueryable<Entry> FirstEntries(IQueryable<StageTransition> transitions, IQueryable<Lead> leads, LifecycleStage stage, DateTimeOffset start,
        DateTimeOffset end) =>
        from f in transitions
            .Where(t => t.To == stage && t.At >= start && t.At < end && !transitions.Any(p => p.LeadId == t.LeadId && p.To == stage && p.At < t.At))
            .GroupBy(t => t.LeadId).Select(g => new { LeadId = g.Key, At = g.Min(t => t.At) })
        join l in leads on f.LeadId equals l.Id
        select new Entry { LeadId = f.LeadId, At = f.At, LeadCreatedAt = l.CreatedAt };

    /// <summary>Median days in Lead, MQL, SQL and Opportunity over the stays that ended in the period (the next transition is the end).</summary>
    private static async Task<TimeInStage> StaysAsync(IQueryable<StageTransition> transitions, IQueryable<Lead> leads, DateTimeOffset start, DateTimeOffset end,
        CancellationToken ct)
    {
        var moved = transitions.Where(t => t.At >= start && t.At < end).Select(t => t.LeadId);
        var rows = await (from t in transitions
                          join l in leads on t.LeadId equals l.Id
                          where t.At < end && moved.Contains(t.LeadId)
                          select new { t.LeadId, t.To, t.At, t.Id }).ToListAsync(ct);
        var days = new Dictionary<LifecycleStage, List<decimal>>();
        foreach (var lead in rows.GroupBy(r => r.LeadId))
        {
            var ordered = lead.OrderBy(r => r.At).ThenBy(r => r.Id).ToList();
            for (var i = 0; i + 1 < ordered.Count; i++)
            {
                var exit = ordered[i + 1].At;
                if (exit < start)
                    continue;
                if (!days.TryGetValue(ordered[i].To, out var list))
                    days[ordered[i].To] = list = [];
                list.Add((decimal)(exit - ordered[i].At).TotalDays);
            }
        }
        return new TimeInStage(MedianOf(LifecycleStage.Lead), MedianOf(LifecycleStage.Mql), MedianOf(LifecycleStage.Sql), MedianOf(LifecycleStage.Opportunity));

        decimal? MedianOf(LifecycleStage stage) => Median(days.GetValueOrDefault(stage) ?? []);
    }

    /// <summary>The median, rounded to 0.1 day; the mean of the two middle values for an even count; null for none.</summary>
    public static decimal? Median(IEnumerable<decimal> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        if (sorted.Count == 0)
            return null;
        var mid = sorted.Count / 2;
        var median = sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2m;
        return Math.Round(median, 1, MidpointRounding.AwayFromZero);
    }

    /// <summary>The share of the days from <paramref name="first"/> to <paramref name="last"/> (included) that fall in the period.</summary>
    public static decimal OverlapShare(DateOnly first, DateOnly last, ReportPeriod period)
    {
        var from = first > period.From ? first : period.From;
        var to = last < period.To ? last : period.To;
        if (to < from)
            return 0m;
        return (decimal)(to.DayNumber - from.DayNumber + 1) / (last.DayNumber - first.DayNumber + 1);
    }

    public static decimal? Ratio(int part, int whole) => whole == 0 ? null : Round((decimal)part / whole, RateDecimals);

    private static decimal? PerUnit(decimal money, int count) => count == 0 ? null : Math.Round(money / count, 2, MidpointRounding.AwayFromZero);

    private static decimal Round(decimal value, int decimals) => Math.Round(value, decimals, MidpointRounding.AwayFromZero);
}
