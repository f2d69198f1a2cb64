using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Revenue;

/// <summary>The simple forecasts of goal progress: run rate, and the open pipeline weighted by stage probability.</summary>
public static class RevenueForecast
{
    /// <summary>
    /// Open deals expected to close in the period (or with no expected close date), each converted at today's rate and weighted by its
    /// probability, plus nothing for closed deals (they are in the won revenue already).
    /// </summary>
    public static async Task<decimal> WeightedPipelineAsync(TandemDb db, ReportPeriod period, Guid? ownerId, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var open = db.Deals.AsNoTracking().Where(d => d.Status == DealStatus.Open && (d.ExpectedCloseOn == null || (d.ExpectedCloseOn >= period.From && d.ExpectedCloseOn <= period.To)));
        if (ownerId is { } owner)
            open = open.Where(d => d.OwnerId == owner);
        var rows = await open.Select(d => new { d.Amount, d.Currency, d.Stage, d.Probability }).ToListAsync(ct);
        var sum = new MoneySum(converter);
        foreach (var d in rows)
        {
            var p = d.Probability ?? DealStages.DefaultProbability(d.Stage);
            sum.Add(Math.Round(d.Amount * p / 100m, 2, MidpointRounding.AwayFromZero), d.Currency, period.To);
        }
        return sum.Total;
    }
}
