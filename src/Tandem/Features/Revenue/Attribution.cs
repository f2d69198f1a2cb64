namespace Tandem.Features.Revenue;

/// <summary>The nine attribution models of the glossary.</summary>
public enum AttributionModel
{
    First,
    Last,
    Linear,
    U,
    W,
    FullPath,
    TimeDecay,
    J,
    InverseJ,
}

/// <summary>The conversion credited: a lead created, an opportunity created, or revenue won.</summary>
public enum ConversionKind
{
    Lead,
    Opportunity,
    Won,
}

/// <summary>
/// The positions of the glossary's roles among a conversion's touches (ordered by time, then id): the first touch is 0, the last is
/// n − 1. Lead creation is the last touch at or before the lead was created; deal creation the last touch at or before the opportunity
/// was created; closed won the last touch before the win. A role whose moment comes before every touch falls on the first touch; a role
/// whose moment is after the conversion (deal creation when the conversion is the lead) falls on the last touch (decision 017).
/// </summary>
public readonly record struct TouchRoles(int LeadCreation, int DealCreation, int ClosedWon);

/// <summary>The pure credit arithmetic of the glossary's attribution models (decision 017).</summary>
public static class Attribution
{
    public static readonly TimeSpan HalfLife = TimeSpan.FromDays(7);

    /// <summary>The query-string names of the models (<c>first|last|linear|u|w|fullpath|timedecay|j|inversej</c>).</summary>
    public static readonly IReadOnlyDictionary<string, AttributionModel> ModelNames = new Dictionary<string, AttributionModel>(StringComparer.OrdinalIgnoreCase)
    {
        ["first"] = AttributionModel.First,
        ["last"] = AttributionModel.Last,
        ["linear"] = AttributionModel.Linear,
        ["u"] = AttributionModel.U,
        ["w"] = AttributionModel.W,
        ["fullpath"] = AttributionModel.FullPath,
        ["timedecay"] = AttributionModel.TimeDecay,
        ["j"] = AttributionModel.J,
        ["inversej"] = AttributionModel.InverseJ,
    };

    public static string NameOf(AttributionModel model) => ModelNames.First(m => m.Value == model).Key;

    /// <summary>
    /// The weights of a conversion's touches (ordered by time), summing to 1. Roles that fall on the same touch add up; the share of
    /// "the others" is split equally between the touches holding no role, or, when every touch holds a role, spread over the role
    /// touches in proportion to their shares.
    /// </summary>
    public static decimal[] Weights(AttributionModel model, IReadOnlyList<DateTimeOffset> touchTimes, TouchRoles roles, DateTimeOffset conversionAt)
    {
        var n = touchTimes.Count;
        if (n == 0)
            return [];
        var w = new decimal[n];
        if (n == 1)
        {
            w[0] = 1m;
            return w;
        }
        var last = n - 1;
        switch (model)
        {
            case AttributionModel.First:
                w[0] = 1m;
                return w;
            case AttributionModel.Last:
                w[last] = 1m;
                return w;
            case AttributionModel.Linear:
                for (var i = 0; i < n; i++)
                    w[i] = 1m / n;
                return w;
            case AttributionModel.TimeDecay:
                var raw = new double[n];
                for (var i = 0; i < n; i++)
                {
                    var age = Math.Max(0, (conversionAt - touchTimes[i]).TotalSeconds);
                    raw[i] = Math.Pow(2, -age / HalfLife.TotalSeconds);
                }
                var sum = raw.Sum();
                if (sum <= 0 || double.IsNaN(sum))
                {
                    // Touches so old that every weight underflows: the most recent one takes it all.
                    w[last] = 1m;
                    return w;
                }
                for (var i = 0; i < n; i++)
                    w[i] = (decimal)(raw[i] / sum);
                return w;
        }

        var (shares, others) = PositionShares(model, roles, last);
        var role = new bool[n];
        foreach (var (index, share) in shares)
        {
            var at = Math.Clamp(index, 0, last);
            w[at] += share;
            role[at] = true;
        }
        var free = role.Count(r => !r);
        if (free > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (!role[i])
                    w[i] = others / free;
            }
        }
        else
        {
            var roleTotal = 1m - others;
            for (var i = 0; i < n; i++)
                w[i] /= roleTotal;
        }
        return w;
    }

    private static ((int Index, decimal Share)[] Shares, decimal Others) PositionShares(AttributionModel model, TouchRoles r, int last) => model switch
    {
        AttributionModel.U => ([(0, 0.4m), (r.LeadCreation, 0.4m)], 0.2m),
        AttributionModel.W => ([(0, 0.3m), (r.LeadCreation, 0.3m), (r.DealCreation, 0.3m)], 0.1m),
        AttributionModel.FullPath => ([(0, 0.225m), (r.LeadCreation, 0.225m), (r.DealCreation, 0.225m), (r.ClosedWon, 0.225m)], 0.1m),
        AttributionModel.J => ([(0, 0.2m), (last, 0.6m)], 0.2m),
        AttributionModel.InverseJ => ([(0, 0.6m), (last, 0.2m)], 0.2m),
        _ => throw new ArgumentOutOfRangeException(nameof(model), model, null),
    };

    /// <summary>
    /// Splits <paramref name="value"/> by the weights, rounded to <paramref name="decimals"/> places, the rounding remainder on the
    /// last touch: the parts always sum exactly to the value.
    /// </summary>
    public static decimal[] Split(decimal value, decimal[] weights, int decimals)
    {
        var n = weights.Length;
        var parts = new decimal[n];
        if (n == 0)
            return parts;
        var total = weights.Sum();
        decimal given = 0;
        for (var i = 0; i < n - 1; i++)
        {
            parts[i] = total == 0 ? 0 : Math.Round(value * weights[i] / total, decimals, MidpointRounding.AwayFromZero);
            given += parts[i];
        }
        parts[n - 1] = value - given;
        return parts;
    }

    /// <summary>The index of the last time at or before <paramref name="moment"/> in an ascending list; the first when none is.</summary>
    public static int LastAtOrBefore(IReadOnlyList<DateTimeOffset> times, DateTimeOffset moment)
    {
        var found = 0;
        for (var i = 0; i < times.Count; i++)
        {
            if (times[i] <= moment)
                found = i;
            else
                break;
        }
        return found;
    }
}
