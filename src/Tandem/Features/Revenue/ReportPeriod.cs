using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Revenue;

/// <summary>
/// A report period: whole days from <see cref="From"/> to <see cref="To"/> (both included) in the workspace time zone, as the UTC
/// instants [<see cref="Start"/>, <see cref="End"/>).
/// </summary>
public sealed record ReportPeriod(DateOnly From, DateOnly To, TimeZoneInfo TimeZone)
{
    public const int MaxDays = 3 * 366 + 1;

    public DateTimeOffset Start => StartOf(From, TimeZone);
    public DateTimeOffset End => StartOf(To.AddDays(1), TimeZone);
    public int Days => To.DayNumber - From.DayNumber + 1;

    /// <summary>The period of the same length just before.</summary>
    public ReportPeriod Previous => this with { From = From.AddDays(-Days), To = From.AddDays(-1) };

    /// <summary>The same dates one year earlier.</summary>
    public ReportPeriod LastYear => this with { From = From.AddYears(-1), To = To.AddYears(-1) };

    public bool Contains(DateTimeOffset at) => at >= Start && at < End;

    /// <summary>The local date of an instant in the workspace time zone.</summary>
    public DateOnly LocalDate(DateTimeOffset at) => LocalDateOf(at, TimeZone);

    public static DateOnly LocalDateOf(DateTimeOffset at, TimeZoneInfo zone) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);

    public static DateTimeOffset StartOf(DateOnly day, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        // A midnight skipped by a DST change (never in Europe, possible elsewhere): the first valid instant after it.
        while (zone.IsInvalidTime(local))
            local = local.AddMinutes(30);
        return new DateTimeOffset(local, zone.GetUtcOffset(local)).ToUniversalTime();
    }

    public static TimeZoneInfo FindZone(string? id)
    {
        if (!string.IsNullOrWhiteSpace(id))
        {
            try
            {
                return TimeZoneInfo.FindSystemTimeZoneById(id);
            }
            catch (TimeZoneNotFoundException)
            {
            }
            catch (InvalidTimeZoneException)
            {
            }
        }
        return TimeZoneInfo.Utc;
    }

    /// <summary>
    /// Parses <c>from</c> and <c>to</c> (YYYY-MM-DD); missing ones default to the last 90 days up to today. Field errors for a bad date,
    /// a reversed period or one longer than three years.
    /// </summary>
    public static ReportPeriod? Parse(string? from, string? to, TimeZoneInfo zone, DateTimeOffset now, Capture.FieldErrors errors)
    {
        var today = LocalDateOf(now, zone);
        DateOnly? end = today, start = null;
        if (!string.IsNullOrWhiteSpace(to))
        {
            end = ParseDate(to);
            if (end is null)
                errors.Add("to", "A date as YYYY-MM-DD.");
        }
        if (!string.IsNullOrWhiteSpace(from))
        {
            start = ParseDate(from);
            if (start is null)
                errors.Add("from", "A date as YYYY-MM-DD.");
        }
        else if (end is not null)
        {
            start = end.Value.AddDays(-89);
        }
        if (start is null || end is null)
            return null;
        if (end < start)
        {
            errors.Add("to", "The end of the period is before its start.");
            return null;
        }
        if (end.Value.DayNumber - start.Value.DayNumber + 1 > MaxDays)
        {
            errors.Add("from", "A period is at most three years.");
            return null;
        }
        return new ReportPeriod(start.Value, end.Value, zone);
    }

    private static DateOnly? ParseDate(string value) =>
        DateOnly.TryParseExact(value.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) && d.Year is >= 1900 and <= 2999
            ? d
            : null;
}

/// <summary>Reads the revenue settings (defaults when the row does not exist yet).</summary>
public static class RevenueSettingsStore
{
    public static async Task<RevenueSettings> GetAsync(TandemDb db, CancellationToken ct) =>
        await db.RevenueSettings.AsNoTracking().FirstOrDefaultAsync(s => s.Id == RevenueSettings.SingletonId, ct) ?? new RevenueSettings();
}
