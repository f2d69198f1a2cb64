using System.Globalization;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// What an import row may say about a lead's past: the date it entered each stage, and the outcome of its deal (won or lost, amount,
/// currency, close date). Capture turns the dates into stage transitions; the import writes the won/lost deal.
/// </summary>
public sealed class ImportedHistory
{
    public Dictionary<LifecycleStage, DateTimeOffset> StageDates { get; } = [];
    public bool? Won { get; set; }
    public decimal? Amount { get; set; }
    public string? Currency { get; set; }
    public DateTimeOffset? CloseDate { get; set; }

    /// <summary>A deal is recorded when the row says won, or says not won and gives a close date (a lost deal).</summary>
    public bool HasOutcome => Won == true || (Won == false && CloseDate is not null);
}

/// <summary>Pure rules of imported history: its columns, how their values are read, and the stage path they describe.</summary>
public static class ImportHistory
{
    public const string StageDatePrefix = "stageDate.";
    public const string Won = "outcome.won";
    public const string Amount = "outcome.amount";
    public const string Currency = "outcome.currency";
    public const string CloseDate = "outcome.closeDate";

    /// <summary>Stages a date column can give (the forward path; side stages have no "became" date in CRM exports).</summary>
    public static readonly IReadOnlyList<LifecycleStage> DatedStages =
        [LifecycleStage.Subscriber, LifecycleStage.Lead, LifecycleStage.Mql, LifecycleStage.Sql, LifecycleStage.Opportunity, LifecycleStage.Customer, LifecycleStage.Advocate];

    public static readonly IReadOnlyList<string> Fields =
        [.. DatedStages.Select(s => StageDatePrefix + char.ToLowerInvariant(s.ToString()[0]) + s.ToString()[1..]), Won, Amount, Currency, CloseDate];

    public static bool IsHistoryField(string field) => field.StartsWith(StageDatePrefix, StringComparison.Ordinal) || field.StartsWith("outcome.", StringComparison.Ordinal);

    /// <summary>
    /// Reads one history value into <paramref name="history"/>; returns an error message when the value cannot be read (the row is
    /// kept, the value is a warning).
    /// </summary>
    public static string? Read(ImportedHistory history, string field, string value)
    {
        var v = value.Trim();
        if (field.StartsWith(StageDatePrefix, StringComparison.Ordinal))
        {
            if (!Enum.TryParse<LifecycleStage>(field[StageDatePrefix.Length..], ignoreCase: true, out var stage))
                return "Unknown stage.";
            if (ParseDate(v) is not { } at)
                return $"'{v}' is not a date (expected e.g. 2024-03-15 or 2024-03-15 10:30).";
            history.StageDates[stage] = at;
            return null;
        }
        switch (field)
        {
            case Won:
                var errors = new FieldErrors();
                var flag = LeadInputParser.ParseBool(v, errors, field) ?? ParseOutcomeWord(v);
                if (flag is null)
                    return $"'{v}' is not a won/lost flag (expected true/false, yes/no, won/lost).";
                history.Won = flag;
                return null;
            case Amount:
                if (ParseAmount(v) is not { } amount)
                    return $"'{v}' is not an amount (expected e.g. 12500 or 12 500,50).";
                history.Amount = amount;
                return null;
            case Currency:
                var code = v.ToUpperInvariant();
                if (code.Length != 3 || !code.All(char.IsAsciiLetterUpper))
                    return $"'{v}' is not a three-letter currency code (e.g. EUR, USD).";
                history.Currency = code;
                return null;
            case CloseDate:
                if (ParseDate(v) is not { } closed)
                    return $"'{v}' is not a date (expected e.g. 2024-03-15).";
                history.CloseDate = closed;
                return null;
            default:
                return "Unknown field.";
        }
    }

    private static bool? ParseOutcomeWord(string v) => ImportMapping.Key(v) switch
    {
        "won" or "closedwon" or "gagne" or "converted" or "converti" => true,
        "lost" or "closedlost" or "perdu" or "notconverted" => false,
        _ => null,
    };

    private static readonly string[] IsoFormats =
        ["yyyy-MM-dd", "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd HH:mm:ssK"];

    /// <summary>
    /// ISO dates first; then day/month/year when the first number cannot be a month (15/03/2024), else month/day/year as US CRM exports
    /// write them (03/15/2024); times and offsets are kept, and a date without an offset is read as UTC.
    /// </summary>
    public static DateTimeOffset? ParseDate(string value)
    {
        var v = value.Trim();
        if (DateTimeOffset.TryParseExact(v, IsoFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var iso))
            return iso.ToUniversalTime();
        if (long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && v.Length is 13)
            return DateTimeOffset.FromUnixTimeMilliseconds(ms);
        var parts = v.Split(['/', '.', '-', ' '], 2);
        var dayFirst = parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var first) && first > 12;
        var culture = dayFirst ? CultureInfo.GetCultureInfo("fr-FR") : CultureInfo.GetCultureInfo("en-US");
        if (DateTimeOffset.TryParse(v, culture, DateTimeStyles.AssumeUniversal, out var parsed))
            return parsed.ToUniversalTime();
        return DateTimeOffset.TryParse(v, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var any) ? any.ToUniversalTime() : null;
    }

    /// <summary>"12500", "12,500.50", "12 500,50", "€1,200", "1200 EUR" → the number.</summary>
    public static decimal? ParseAmount(string value)
    {
        var digits = new string([.. value.Where(c => char.IsAsciiDigit(c) || c is '.' or ',' or '-')]);
        if (digits.Length == 0)
            return null;
        var lastDot = digits.LastIndexOf('.');
        var lastComma = digits.LastIndexOf(',');
        string normal;
        if (lastDot >= 0 && lastComma >= 0)
            normal = lastDot > lastComma ? digits.Replace(",", "", StringComparison.Ordinal) : digits.Replace(".", "", StringComparison.Ordinal).Replace(',', '.');
        else if (lastComma >= 0)
            normal = digits.Length - lastComma - 1 is 1 or 2 && digits.Count(c => c == ',') == 1 ? digits.Replace(',', '.') : digits.Replace(",", "", StringComparison.Ordinal);
        else
            normal = digits.Count(c => c == '.') > 1 ? digits.Replace(".", "", StringComparison.Ordinal) : digits;
        return decimal.TryParse(normal, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount) && amount >= 0
            ? decimal.Round(amount, 2) : null;
    }

    /// <summary>
    /// The stage path of a new lead: created at <paramref name="created"/> in its first stage, then each dated stage in stage order
    /// (a date earlier than the previous one is moved up to it), ending in <paramref name="finalStage"/> when that is further on or a
    /// side stage. A won deal closed at <paramref name="wonAt"/> makes the lead a customer then, when no later stage is dated.
    /// </summary>
    public static List<(LifecycleStage? From, LifecycleStage To, DateTimeOffset At)> Path(DateTimeOffset created, LifecycleStage? finalStage,
        IReadOnlyDictionary<LifecycleStage, DateTimeOffset> dates, DateTimeOffset? wonAt)
    {
        var steps = dates.Where(d => DatedStages.Contains(d.Key)).OrderBy(d => d.Key).Select(d => (Stage: d.Key, At: d.Value)).ToList();
        if (wonAt is { } won && !steps.Any(s => s.Stage >= LifecycleStage.Customer))
            steps.Add((LifecycleStage.Customer, won));
        var start = steps.Count > 0 && steps[0].Stage <= LifecycleStage.Lead ? steps[0].Stage : LifecycleStage.Lead;
        var startAt = steps.Count > 0 && steps[0].Stage == start && steps[0].At < created ? steps[0].At : created;
        var path = new List<(LifecycleStage?, LifecycleStage, DateTimeOffset)> { (null, start, startAt) };
        var (current, at) = (start, startAt);
        foreach (var (stage, when) in steps)
        {
            if (stage <= current)
                continue;
            var stepAt = when < at ? at : when;
            path.Add((current, stage, stepAt));
            (current, at) = (stage, stepAt);
        }
        if (finalStage is { } last && last != current &&
            (last is LifecycleStage.Recycled or LifecycleStage.Disqualified || (last > current && current is not (LifecycleStage.Recycled or LifecycleStage.Disqualified))))
            path.Add((current, last, at));
        return path;
    }
}
