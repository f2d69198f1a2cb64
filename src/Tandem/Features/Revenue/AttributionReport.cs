using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;

namespace Tandem.Features.Revenue;

public enum AttributionBy
{
    Campaign,
    Channel,
    Source,
    Content,
}

/// <summary>One marketing touch of a conversion, with the dimensions a report groups by.</summary>
public sealed record AttributionTouch(Guid ConversionId, Guid TouchId, DateTimeOffset At, Guid? CampaignId, Channel? Channel, string? Source, string? Content);

/// <summary>
/// One conversion: a lead created (value 1), an opportunity created (value: its amount in the reporting currency) or a deal won (its
/// amount in the reporting currency at the close date).
/// </summary>
public sealed record AttributionConversion(Guid Id, Guid LeadId, DateTimeOffset At, DateTimeOffset LeadCreatedAt, DateTimeOffset? DealCreatedAt, decimal Value);

public sealed record AttributionRow(string Key, string Name, decimal Credit, decimal Conversions);

public sealed record AttributionResult(string Model, string Conversion, string By, DateOnly From, DateOnly To, string Currency, decimal Total,
    decimal Conversions, IReadOnlyList<AttributionRow> Rows, IReadOnlyList<Unconverted> Unconverted);

/// <summary>The attribution report: loads a period's conversions and their marketing touches, and credits them (decision 017).</summary>
public static class AttributionReport
{
    public const string NoneKey = "none";
    public const string UnknownKey = "unknown";
    /// <summary>Fractional conversions are kept to 6 places (the remainder on the last touch keeps each conversion's parts summing to 1).</summary>
    public const int ConversionDecimals = 6;

    public static readonly ActivityType[] SalesTouchTypes = [ActivityType.Call, ActivityType.Meeting, ActivityType.EmailSent, ActivityType.Note];

    /// <summary>
    /// Credits every conversion over its touches and groups the credits by <paramref name="by"/>. Conversions without a touch go to the
    /// <see cref="NoneKey"/> row; a touch without the dimension's value to the <see cref="UnknownKey"/> row.
    /// </summary>
    public static Dictionary<string, (decimal Credit, decimal Conversions)> Credit(AttributionModel model, ConversionKind kind, AttributionBy by,
        IEnumerable<AttributionConversion> conversions, ILookup<Guid, AttributionTouch> touchesByConversion, int moneyDecimals = 2)
    {
        var rows = new Dictionary<string, (decimal Credit, decimal Conversions)>(StringComparer.Ordinal);
        foreach (var c in conversions)
        {
            var touches = touchesByConversion[c.Id].Where(t => t.At <= c.At).OrderBy(t => t.At).ThenBy(t => t.TouchId).ToList();
            if (touches.Count == 0)
            {
                Add(NoneKey, c.Value, 1m);
                continue;
            }
            var times = touches.Select(t => t.At).ToList();
            var last = touches.Count - 1;
            var roles = new TouchRoles(
                LeadCreation: Attribution.LastAtOrBefore(times, c.LeadCreatedAt),
                DealCreation: kind == ConversionKind.Lead || c.DealCreatedAt is null ? last : Attribution.LastAtOrBefore(times, c.DealCreatedAt.Value),
                ClosedWon: last);
            var weights = Attribution.Weights(model, times, roles, c.At);
            var credit = Attribution.Split(c.Value, weights, kind == ConversionKind.Lead ? ConversionDecimals : moneyDecimals);
            var share = Attribution.Split(1m, weights, ConversionDecimals);
            for (var i = 0; i < touches.Count; i++)
                Add(KeyOf(touches[i], by), credit[i], share[i]);
        }
        return rows;

        void Add(string key, decimal credit, decimal conv)
        {
            var (a, b) = rows.GetValueOrDefault(key);
            rows[key] = (a + credit, b + conv);
        }
    }

    public static string KeyOf(AttributionTouch t, AttributionBy by) => by switch
    {
        AttributionBy.Campaign => t.CampaignId?.ToString() ?? UnknownKey,
        AttributionBy.Channel => t.Channel?.ToString() ?? UnknownKey,
        AttributionBy.Source => Clean(t.Source) ?? UnknownKey,
        AttributionBy.Content => Clean(t.Content) ?? UnknownKey,
        _ => UnknownKey,
    };

    private static string? Clean(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim().ToLowerInvariant();

    /// <summary>The report for a period. <paramref name="label"/> turns a resource key into the caller's language.</summary>
    public static async Task<AttributionResult> ComputeAsync(TandemDb db, AttributionModel model, ConversionKind kind, AttributionBy by, ReportPeriod period,
        Func<string, string> label, CancellationToken ct, IReadOnlyCollection<Guid>? campaignIds = null)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var (conversions, touches, unconverted) = await LoadAsync(db, kind, period, converter, ct);
        var credited = Credit(model, kind, by, conversions, touches);
        var total = conversions.Sum(c => c.Value);

        var names = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [NoneKey] = label("Attribution.None"),
            [UnknownKey] = label(by switch
            {
                AttributionBy.Campaign => "Attribution.NoCampaign",
                AttributionBy.Channel => "Attribution.NoChannel",
                AttributionBy.Source => "Attribution.NoSource",
                _ => "Attribution.NoContent",
            }),
        };
        if (by == AttributionBy.Campaign)
        {
            var ids = credited.Keys.Where(k => Guid.TryParse(k, out _)).Select(Guid.Parse).ToList();
            foreach (var c in await db.Campaigns.AsNoTracking().Where(c => ids.Contains(c.Id)).Select(c => new { c.Id, c.Name }).ToListAsync(ct))
                names[c.Id.ToString()] = c.Name;
        }
        else if (by == AttributionBy.Channel)
        {
            foreach (var ch in Enum.GetValues<Channel>())
                names[ch.ToString()] = label($"Channel.{ch}");
        }

        IEnumerable<KeyValuePair<string, (decimal Credit, decimal Conversions)>> rows = credited;
        if (campaignIds is { Count: > 0 } && by == AttributionBy.Campaign)
        {
            var keep = campaignIds.Select(i => i.ToString()).ToHashSet(StringComparer.Ordinal);
            rows = rows.Where(r => keep.Contains(r.Key));
        }
        var list = rows
            .Select(r => new AttributionRow(r.Key, names.GetValueOrDefault(r.Key, r.Key), r.Value.Credit, r.Value.Conversions))
            .OrderByDescending(r => r.Credit).ThenByDescending(r => r.Conversions).ThenBy(r => r.Name, StringComparer.CurrentCulture)
            .ToList();
        return new AttributionResult(Attribution.NameOf(model), kind.ToString().ToLowerInvariant(), by.ToString().ToLowerInvariant(), period.From, period.To,
            converter.ReportingCurrency, total, conversions.Count, list, unconverted);
    }

    /// <summary>The period's conversions (values converted; those without a rate left out and listed) and their marketing touches.</summary>
    public static async Task<(List<AttributionConversion> Conversions, ILookup<Guid, AttributionTouch> Touches, IReadOnlyList<Unconverted> Unconverted)> LoadAsync(
        TandemDb db, ConversionKind kind, ReportPeriod period, CurrencyConverter converter, CancellationToken ct)
    {
        var start = period.Start;
        var end = period.End;
        var activities = db.Activities.AsNoTracking().Where(a => !SalesTouchTypes.Contains(a.Type));
        var sum = new MoneySum(converter);
        List<AttributionConversion> conversions;
        List<AttributionTouch> touches;
        if (kind == ConversionKind.Lead)
        {
            var leads = db.Leads.AsNoTracking().Where(l => l.CreatedAt >= start && l.CreatedAt < end);
            conversions = await leads.Select(l => new AttributionConversion(l.Id, l.Id, l.CreatedAt, l.CreatedAt, null, 1m)).ToListAsync(ct);
            touches = await (from a in activities
                             join l in leads on a.LeadId equals l.Id
                             where a.OccurredAt <= l.CreatedAt
                             select new AttributionTouch(l.Id, a.Id, a.OccurredAt, a.CampaignId, a.Channel, a.UtmSource, a.UtmContent)).ToListAsync(ct);
        }
        else
        {
            var deals = kind == ConversionKind.Won
                ? db.Deals.AsNoTracking().Where(d => d.Status == DealStatus.Won && d.ClosedAt >= start && d.ClosedAt < end)
                : db.Deals.AsNoTracking().Where(d => d.CreatedAt >= start && d.CreatedAt < end);
            var rows = await (from d in deals
                              join l in db.Leads.AsNoTracking() on d.LeadId equals l.Id
                              select new { d.Id, d.LeadId, d.CreatedAt, d.ClosedAt, d.Amount, d.Currency, LeadCreatedAt = l.CreatedAt }).ToListAsync(ct);
            conversions = [];
            foreach (var d in rows)
            {
                var at = kind == ConversionKind.Won ? d.ClosedAt!.Value : d.CreatedAt;
                if (sum.Add(d.Amount, d.Currency, period.LocalDate(at)) is { } value)
                    conversions.Add(new AttributionConversion(d.Id, d.LeadId, at, d.LeadCreatedAt, d.CreatedAt, value));
            }
            touches = kind == ConversionKind.Won
                ? await (from a in activities
                         join d in deals on a.LeadId equals d.LeadId
                         where a.OccurredAt <= d.ClosedAt
                         select new AttributionTouch(d.Id, a.Id, a.OccurredAt, a.CampaignId, a.Channel, a.UtmSource, a.UtmContent)).ToListAsync(ct)
                : await (from a in activities
                         join d in deals on a.LeadId equals d.LeadId
                         where a.OccurredAt <= d.CreatedAt
                         select new AttributionTouch(d.Id, a.Id, a.OccurredAt, a.CampaignId, a.Channel, a.UtmSource, a.UtmContent)).ToListAsync(ct);
        }
        return (conversions, touches.ToLookup(t => t.ConversionId), sum.Unconverted);
    }
}
