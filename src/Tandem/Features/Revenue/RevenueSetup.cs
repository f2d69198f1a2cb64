using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

public sealed record RevenueSettingsView(string ReportingCurrency, string TimeZone, decimal GrossMarginPercent, DayOfWeek WeeklyReportDay,
    int WeeklyReportHour, bool WeeklyReportEnabled, DateTimeOffset? UpdatedAt, string? UpdatedBy, decimal SlaFirstTouchTarget = 0.9m, decimal SlaAttemptsTarget = 0.9m);

public sealed record RevenueSettingsRequest(string? ReportingCurrency, string? TimeZone, decimal? GrossMarginPercent, DayOfWeek? WeeklyReportDay,
    int? WeeklyReportHour, bool? WeeklyReportEnabled, decimal? SlaFirstTouchTarget = null, decimal? SlaAttemptsTarget = null);

public sealed record ExchangeRateView(Guid Id, string From, string To, DateOnly On, decimal Rate, DateTimeOffset CreatedAt);

public sealed record ExchangeRateRequest(string? From, string? To, DateOnly? On, decimal? Rate);

public sealed record SalesCostView(Guid Id, DateOnly Month, decimal Amount, string Currency, string? Note);

public sealed record SalesCostRequest(DateOnly? Month, decimal? Amount, string? Currency, string? Note);

/// <summary>One refused CSV row: its spreadsheet row number (the header is row 1), the column and why.</summary>
public sealed record CsvRowError(int Row, string Field, string Message);

/// <summary>What a CSV import did: rows created, rows that replaced or repeated existing ones, and the refused rows (nothing written for them).</summary>
public sealed record CsvImportResult(int Created, int Updated, int Skipped, IReadOnlyList<CsvRowError> Errors);

public sealed record SetupOutcome<T>(T? Value, Dictionary<string, string[]>? Errors = null, bool NotFound = false);

/// <summary>
/// The revenue settings an admin keeps (decision 018): the singleton <see cref="RevenueSettings"/>, dated exchange rates (by hand or
/// CSV) and the monthly sales cost lines. The settings page and the API call these methods.
/// </summary>
public sealed class RevenueSetup(TandemDb db, TimeProvider clock)
{
    public const int MaxRows = 10_000;
    public const decimal MaxRate = 1_000_000m;

    public async Task<RevenueSettingsView> GetSettingsAsync(CancellationToken ct)
    {
        var s = await db.RevenueSettings.AsNoTracking().FirstOrDefaultAsync(ct) ?? new RevenueSettings();
        return View(s);
    }

    private static RevenueSettingsView View(RevenueSettings s) =>
        new(s.ReportingCurrency, s.TimeZone, s.GrossMarginPercent, s.WeeklyReportDay, s.WeeklyReportHour, s.WeeklyReportEnabled, s.UpdatedAt, s.UpdatedBy, s.SlaFirstTouchTarget,
            s.SlaAttemptsTarget);

    /// <summary>Replaces the settings (null fields keep their value).</summary>
    public async Task<SetupOutcome<RevenueSettingsView>> SaveSettingsAsync(RevenueSettingsRequest r, string actor, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var currency = r.ReportingCurrency is null ? null : Currencies.Normalize(r.ReportingCurrency);
        if (r.ReportingCurrency is not null && currency is null)
            errors.Add("reportingCurrency", "Not a known ISO 4217 currency code.");
        if (r.TimeZone is not null && !IsTimeZone(r.TimeZone))
            errors.Add("timeZone", "Not a known IANA time zone (e.g. Europe/Paris).");
        if (r.GrossMarginPercent is < 0 or > 100)
            errors.Add("grossMarginPercent", "Between 0 and 100.");
        if (r.WeeklyReportHour is < 0 or > 23)
            errors.Add("weeklyReportHour", "Between 0 and 23.");
        if (r.SlaFirstTouchTarget is < 0 or > 1)
            errors.Add("slaFirstTouchTarget", "A share from 0 to 1 (0.9 = 90 %).");
        if (r.SlaAttemptsTarget is < 0 or > 1)
            errors.Add("slaAttemptsTarget", "A share from 0 to 1 (0.9 = 90 %).");
        if (errors.Any)
            return new(null, errors.ToDictionary());
        var s = await db.RevenueSettings.FirstOrDefaultAsync(ct);
        if (s is null)
            db.RevenueSettings.Add(s = new RevenueSettings());
        if (currency is not null) s.ReportingCurrency = currency;
        if (r.TimeZone is not null) s.TimeZone = r.TimeZone.Trim();
        if (r.GrossMarginPercent is { } m) s.GrossMarginPercent = m;
        if (r.WeeklyReportDay is { } d) s.WeeklyReportDay = d;
        if (r.WeeklyReportHour is { } h) s.WeeklyReportHour = h;
        if (r.WeeklyReportEnabled is { } e) s.WeeklyReportEnabled = e;
        if (r.SlaFirstTouchTarget is { } ft) s.SlaFirstTouchTarget = ft;
        if (r.SlaAttemptsTarget is { } at) s.SlaAttemptsTarget = at;
        s.UpdatedAt = clock.GetUtcNow();
        s.UpdatedBy = actor.Length > 256 ? actor[..256] : actor;
        await db.SaveChangesAsync(ct);
        return new(View(s));
    }

    private static bool IsTimeZone(string id) =>
        id.Trim().Length is > 0 and <= 64 && id.Contains('/', StringComparison.Ordinal) && TimeZoneInfo.TryFindSystemTimeZoneById(id.Trim(), out _);

    // ---- exchange rates ----

    public async Task<Page<ExchangeRateView>> ListRatesAsync(string? from, string? to, int pageNumber, int pageSize, CancellationToken ct)
    {
        var q = db.Set<ExchangeRate>().AsNoTracking();
        if (Currencies.Normalize(from) is { } f) q = q.Where(r => r.FromCurrency == f);
        if (Currencies.Normalize(to) is { } t) q = q.Where(r => r.ToCurrency == t);
        var total = await q.CountAsync(ct);
        var items = await q.OrderByDescending(r => r.On).ThenBy(r => r.FromCurrency).ThenBy(r => r.ToCurrency).Skip((pageNumber - 1) * pageSize).Take(pageSize)
            .Select(r => new ExchangeRateView(r.Id, r.FromCurrency, r.ToCurrency, r.On, r.Rate, r.CreatedAt)).ToListAsync(ct);
        return new Page<ExchangeRateView>(items, pageNumber, pageSize, total);
    }

    /// <summary>The field errors of one rate, or the normalised rate.</summary>
    private static (string From, string To, DateOnly On, decimal Rate)? CheckRate(FieldErrors errors, string? from, string? to, DateOnly? on, decimal? rate)
    {
        var f = Currencies.Normalize(from);
        var t = Currencies.Normalize(to);
        if (f is null)
            errors.Add("from", string.IsNullOrWhiteSpace(from) ? "Required." : "Not a known ISO 4217 currency code.");
        if (t is null)
            errors.Add("to", string.IsNullOrWhiteSpace(to) ? "Required." : "Not a known ISO 4217 currency code.");
        if (f is not null && f == t)
            errors.Add("to", "A rate converts between two different currencies.");
        if (on is null)
            errors.Add("on", "Required (YYYY-MM-DD).");
        if (rate is null)
            errors.Add("rate", "Required.");
        else if (rate <= 0 || rate > MaxRate)
            errors.Add("rate", $"Greater than zero and at most {MaxRate:0}.");
        else if (decimal.Round(rate.Value, 8) != rate.Value)
            errors.Add("rate", "At most eight decimals.");
        return errors.Any ? null : (f!, t!, on!.Value, rate!.Value);
    }

    public async Task<SetupOutcome<ExchangeRateView>> AddRateAsync(ExchangeRateRequest r, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (CheckRate(errors, r.From, r.To, r.On, r.Rate) is not { } ok)
            return new(null, errors.ToDictionary());
        if (await db.Set<ExchangeRate>().AnyAsync(x => x.FromCurrency == ok.From && x.ToCurrency == ok.To && x.On == ok.On, ct))
            return new(null, new() { ["on"] = [$"A {ok.From}→{ok.To} rate for {ok.On:yyyy-MM-dd} exists already; delete it first."] });
        var rate = new ExchangeRate { FromCurrency = ok.From, ToCurrency = ok.To, On = ok.On, Rate = ok.Rate, CreatedAt = clock.GetUtcNow() };
        db.Add(rate);
        await db.SaveChangesAsync(ct);
        return new(new ExchangeRateView(rate.Id, rate.FromCurrency, rate.ToCurrency, rate.On, rate.Rate, rate.CreatedAt));
    }

    public async Task<bool> DeleteRateAsync(Guid id, CancellationToken ct) =>
        await db.Set<ExchangeRate>().Where(r => r.Id == id).ExecuteDeleteAsync(ct) > 0;

    /// <summary>
    /// Imports rates from a CSV with the columns <c>date, from, to, rate</c> (header required, any order, dates YYYY-MM-DD, rates
    /// with a dot). A row for a pair and date that exists replaces its rate, so a file can be imported again. Refused rows are listed
    /// and not written; the others are, in one transaction.
    /// </summary>
    public async Task<SetupOutcome<CsvImportResult>> ImportRatesAsync(byte[] csv, CancellationToken ct)
    {
        var (header, rows, problem) = ReadCsv(csv, ["date", "from", "to", "rate"]);
        if (problem is not null)
            return new(null, new() { ["file"] = [problem] });
        var errors = new List<CsvRowError>();
        var parsed = new Dictionary<(string, string, DateOnly), decimal>();
        foreach (var (row, record) in rows)
        {
            string Get(string column) => header[column] < record.Length ? record[header[column]].Trim() : "";
            var fields = new FieldErrors();
            DateOnly? on = DateOnly.TryParseExact(Get("date"), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
            decimal? rate = decimal.TryParse(Get("rate"), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var v) ? v : null;
            var ok = CheckRate(fields, Get("from"), Get("to"), on, rate);
            if (on is null && Get("date").Length > 0)
                fields = Replace(fields, "on", "Not a date (YYYY-MM-DD).");
            if (rate is null && Get("rate").Length > 0)
                fields = Replace(fields, "rate", "Not a number (use a dot for decimals).");
            if (ok is null)
            {
                errors.AddRange(fields.ToDictionary().SelectMany(e => e.Value.Select(m => new CsvRowError(row, e.Key == "on" ? "date" : e.Key, m))));
                continue;
            }
            if (parsed.ContainsKey((ok.Value.From, ok.Value.To, ok.Value.On)))
            {
                errors.Add(new CsvRowError(row, "date", "The same pair and date appear twice in the file."));
                continue;
            }
            parsed[(ok.Value.From, ok.Value.To, ok.Value.On)] = ok.Value.Rate;
        }
        var created = 0;
        var updated = 0;
        if (parsed.Count > 0)
        {
            var days = parsed.Keys.Select(k => k.Item3).Distinct().ToList();
            var existing = await db.Set<ExchangeRate>().Where(r => days.Contains(r.On)).ToListAsync(ct);
            var byKey = existing.ToDictionary(r => (r.FromCurrency, r.ToCurrency, r.On));
            var now = clock.GetUtcNow();
            foreach (var (key, rate) in parsed)
            {
                if (byKey.TryGetValue(key, out var row))
                {
                    row.Rate = rate;
                    updated++;
                }
                else
                {
                    db.Add(new ExchangeRate { FromCurrency = key.Item1, ToCurrency = key.Item2, On = key.Item3, Rate = rate, CreatedAt = now });
                    created++;
                }
            }
            await db.SaveChangesAsync(ct);
        }
        return new(new CsvImportResult(created, updated, 0, errors));
    }

    private static FieldErrors Replace(FieldErrors errors, string field, string message)
    {
        var copy = new FieldErrors();
        foreach (var (k, v) in errors.ToDictionary())
            if (k != field)
                foreach (var m in v)
                    copy.Add(k, m);
        copy.Add(field, message);
        return copy;
    }

    /// <summary>
    /// Reads a small CSV (delimiter and encoding sniffed): the header's column positions (lower-cased, trimmed) and the data rows with
    /// their spreadsheet row number; a problem when a required column is missing or the file is empty or too long.
    /// </summary>
    public static (Dictionary<string, int> Header, List<(int Row, string[] Record)> Rows, string? Problem) ReadCsv(byte[] csv, IReadOnlyList<string> required)
    {
        var header = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var rows = new List<(int, string[])>();
        if (csv.Length == 0)
            return (header, rows, "The file is empty.");
        var format = CsvSniffer.Detect(csv.AsSpan(0, Math.Min(csv.Length, 64 * 1024)));
        using var reader = new CsvRecordReader(new MemoryStream(csv), format.EncodingName, format.Delimiter);
        if (!reader.Read())
            return (header, rows, "The file is empty.");
        for (var i = 0; i < reader.Record.Length; i++)
            header.TryAdd(reader.Record[i].Trim(), i);
        var missing = required.Where(c => !header.ContainsKey(c)).ToList();
        if (missing.Count > 0)
            return (header, rows, $"Missing column(s): {string.Join(", ", missing)}. The header needs {string.Join(", ", required)}.");
        while (reader.Read())
        {
            if (rows.Count >= MaxRows)
                return (header, rows, $"At most {MaxRows} rows per file.");
            rows.Add((reader.RecordNumber, reader.Record));
        }
        return (header, rows, null);
    }

    // ---- sales costs ----

    public async Task<IReadOnlyList<SalesCostView>> ListCostsAsync(CancellationToken ct) =>
        await db.Set<SalesCost>().AsNoTracking().OrderByDescending(c => c.Month).ThenBy(c => c.Currency)
            .Select(c => new SalesCostView(c.Id, c.Month, c.Amount, c.Currency, c.Note)).Take(1000).ToListAsync(ct);

    public async Task<SetupOutcome<SalesCostView>> AddCostAsync(SalesCostRequest r, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (r.Month is null)
            errors.Add("month", "Required (the first day of the month, YYYY-MM-01).");
        else if (r.Month.Value.Day != 1)
            errors.Add("month", "The first day of the month (YYYY-MM-01).");
        if (r.Amount is null)
            errors.Add("amount", "Required.");
        else if (r.Amount < 0 || r.Amount > OpportunityService.MaxAmount)
            errors.Add("amount", "Zero or more.");
        else if (decimal.Round(r.Amount.Value, 2) != r.Amount.Value)
            errors.Add("amount", "At most two decimals.");
        var currency = Currencies.Normalize(r.Currency);
        if (currency is null)
            errors.Add("currency", string.IsNullOrWhiteSpace(r.Currency) ? "Required." : "Not a known ISO 4217 currency code.");
        if (r.Note is { } note && !SafeText.IsStorable(note))
            errors.Add("note", SafeText.Rejected);
        else if (r.Note?.Trim().Length > 500)
            errors.Add("note", "At most 500 characters.");
        if (errors.Any)
            return new(null, errors.ToDictionary());
        var cost = new SalesCost { Month = r.Month!.Value, Amount = r.Amount!.Value, Currency = currency!, Note = string.IsNullOrWhiteSpace(r.Note) ? null : r.Note.Trim() };
        db.Add(cost);
        await db.SaveChangesAsync(ct);
        return new(new SalesCostView(cost.Id, cost.Month, cost.Amount, cost.Currency, cost.Note));
    }

    public async Task<bool> DeleteCostAsync(Guid id, CancellationToken ct) =>
        await db.Set<SalesCost>().Where(c => c.Id == id).ExecuteDeleteAsync(ct) > 0;
}
