using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Revenue;

/// <summary>An amount that could not be converted: no exchange rate between its currency and the reporting currency.</summary>
public sealed record Unconverted(string Currency, decimal Amount, int Count);

/// <summary>
/// Converts amounts to the reporting currency with the dated exchange rates (decision 017): the rate of the pair in force on the
/// amount's date (the latest on or before it; before the first rate, the first one), direct or inverse; the result is rounded to cents
/// (half away from zero). An amount with no rate for its currency is never added unconverted: <see cref="TryConvert"/> says no, and
/// reports list it under <c>unconverted</c>.
/// </summary>
public sealed class CurrencyConverter
{
    private readonly Dictionary<string, (DateOnly On, decimal Rate)[]> _toReporting;

    private CurrencyConverter(string reporting, Dictionary<string, (DateOnly On, decimal Rate)[]> toReporting)
    {
        ReportingCurrency = reporting;
        _toReporting = toReporting;
    }

    public string ReportingCurrency { get; }

    /// <summary>A converter from explicit rates (currency → dated rates to the reporting currency).</summary>
    public static CurrencyConverter From(string reporting, IEnumerable<ExchangeRate> rates)
    {
        var perCurrency = new Dictionary<string, SortedDictionary<DateOnly, decimal>>(StringComparer.Ordinal);
        // Inverse rates first, so a direct rate of the same day wins.
        foreach (var r in rates.Where(r => r.FromCurrency == reporting && r.ToCurrency != reporting && r.Rate > 0))
            Add(r.ToCurrency, r.On, 1m / r.Rate);
        foreach (var r in rates.Where(r => r.ToCurrency == reporting && r.FromCurrency != reporting && r.Rate > 0))
            Add(r.FromCurrency, r.On, r.Rate);
        return new CurrencyConverter(reporting, perCurrency.ToDictionary(p => p.Key, p => p.Value.Select(x => (x.Key, x.Value)).ToArray(), StringComparer.Ordinal));

        void Add(string currency, DateOnly on, decimal rate)
        {
            if (!perCurrency.TryGetValue(currency, out var dates))
                perCurrency[currency] = dates = [];
            dates[on] = rate;
        }
    }

    public static async Task<CurrencyConverter> LoadAsync(TandemDb db, string reporting, CancellationToken ct)
    {
        var rates = await db.ExchangeRates.AsNoTracking()
            .Where(r => r.ToCurrency == reporting || r.FromCurrency == reporting)
            .ToListAsync(ct);
        return From(reporting, rates);
    }

    /// <summary>The rate from <paramref name="currency"/> to the reporting currency on a date, or null when there is none.</summary>
    public decimal? RateOn(string currency, DateOnly on)
    {
        if (string.Equals(currency, ReportingCurrency, StringComparison.Ordinal))
            return 1m;
        if (!_toReporting.TryGetValue(currency, out var rates) || rates.Length == 0)
            return null;
        // Binary search for the last rate on or before the date.
        int lo = 0, hi = rates.Length - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (rates[mid].On <= on)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }
        return rates[found < 0 ? 0 : found].Rate;
    }

    public bool TryConvert(decimal amount, string currency, DateOnly on, out decimal converted)
    {
        if (RateOn(currency, on) is not { } rate)
        {
            converted = 0;
            return false;
        }
        converted = rate == 1m ? amount : Math.Round(amount * rate, 2, MidpointRounding.AwayFromZero);
        return true;
    }
}

/// <summary>Sums amounts in the reporting currency and keeps what could not be converted apart.</summary>
public sealed class MoneySum(CurrencyConverter converter)
{
    private readonly Dictionary<string, (decimal Amount, int Count)> _unconverted = new(StringComparer.Ordinal);

    public decimal Total { get; private set; }

    /// <summary>Adds one amount; returns the converted amount, or null when it has no rate (kept apart).</summary>
    public decimal? Add(decimal amount, string currency, DateOnly on)
    {
        if (converter.TryConvert(amount, currency, on, out var converted))
        {
            Total += converted;
            return converted;
        }
        var (sum, count) = _unconverted.GetValueOrDefault(currency);
        _unconverted[currency] = (sum + amount, count + 1);
        return null;
    }

    public IReadOnlyList<Unconverted> Unconverted =>
        [.. _unconverted.OrderBy(u => u.Key, StringComparer.Ordinal).Select(u => new Unconverted(u.Key, u.Value.Amount, u.Value.Count))];
}
