using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Tandem.Features.Capture;

namespace Tandem.Features.Handoff;

/// <summary>
/// One working interval of a weekday in the rep's local time, <c>[Start, End)</c>. <see cref="End"/> = 00:00 means
/// "until midnight" (the end of that day); otherwise <see cref="End"/> must be after <see cref="Start"/>: an interval
/// crossing midnight is written as two intervals (22:00–00:00 on one day, 00:00–06:00 on the next).
/// </summary>
public sealed record WorkingHours(DayOfWeek Day, TimeOnly Start, TimeOnly End);

/// <summary>An out-of-office period in absolute time, <c>[From, To)</c> (leave, sick day, training…).</summary>
public sealed record OutOfOfficePeriod(DateTimeOffset From, DateTimeOffset To, string? Note = null);

/// <summary>
/// When a rep works: weekly hours in the rep's IANA time zone, whole-day holidays (dates in that zone) and
/// out-of-office periods. Plain data meant to be stored as JSON; treat instances as immutable (a compiled form is
/// cached per instance).
/// </summary>
/// <remarks>
/// Daylight-saving rule (the wall clock is the truth, see <see cref="BusinessTime"/>): an interval covers the instants
/// at which the rep's clock reads between its start and end on that date, so a 09:00–18:00 day is 9 hours on DST days
/// too. A bound in the skipped hour (spring forward) maps to the instant of the jump, so 01:00–02:30 on a day when
/// 02:00 jumps to 03:00 lasts 1 hour and 02:30–04:00 lasts 1 hour. A start in the repeated hour (fall back) uses its
/// first occurrence and an end its second, so the interval covers the whole repeated span once (01:00–02:30 on a day
/// when 03:00 falls back to 02:00 lasts 2.5 hours, counted from the first 01:00 to the second 02:30); adjacent intervals
/// that then overlap are merged, never counted twice.
/// </remarks>
public sealed record WorkCalendar(
    string TimeZoneId,
    IReadOnlyList<WorkingHours> Hours,
    IReadOnlyList<DateOnly>? Holidays = null,
    IReadOnlyList<OutOfOfficePeriod>? OutOfOffice = null)
{
    /// <summary>Monday to Friday with the same intervals each day, e.g. <c>("09:00", "12:30"), ("13:30", "18:00")</c>.</summary>
    public static WorkCalendar Weekdays(string timeZoneId, params (string Start, string End)[] intervals) =>
        new(timeZoneId,
            [.. from day in new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday }
                from i in intervals
                select new WorkingHours(day, TimeOnly.Parse(i.Start, System.Globalization.CultureInfo.InvariantCulture), TimeOnly.Parse(i.End, System.Globalization.CultureInfo.InvariantCulture))]);

    /// <summary>Field errors (paths such as <c>hours[2].end</c>, prefixed by <paramref name="prefix"/>).</summary>
    public void Validate(FieldErrors errors, string prefix = "")
    {
        if (string.IsNullOrWhiteSpace(TimeZoneId))
            errors.Add(prefix + "timeZoneId", "A time zone is required (IANA name such as Europe/Paris).");
        else if (BusinessTime.FindZone(TimeZoneId) is null)
            errors.Add(prefix + "timeZoneId", $"Unknown time zone '{TimeZoneId}' (use an IANA name such as Europe/Paris).");

        var hours = Hours ?? [];
        if (hours.Count == 0)
            errors.Add(prefix + "hours", "At least one working interval is required.");
        var valid = new List<(int Index, WorkingHours Hours)>();
        for (var i = 0; i < hours.Count; i++)
        {
            var h = hours[i];
            if (h is null)
            {
                errors.Add($"{prefix}hours[{i}]", "An interval is required.");
                continue;
            }
            if (!Enum.IsDefined(h.Day))
                errors.Add($"{prefix}hours[{i}].day", "Unknown day of the week.");
            else if (h.End == TimeOnly.MinValue || h.End > h.Start)
                valid.Add((i, h));
            else if (h.End == h.Start)
                errors.Add($"{prefix}hours[{i}].end", "The interval is empty: the end must be after the start.");
            else
                errors.Add($"{prefix}hours[{i}].end", "The end is before the start: an interval crossing midnight must be split into two (…–00:00 and 00:00–…).");
        }
        foreach (var day in valid.GroupBy(v => v.Hours.Day))
        {
            var sorted = day.OrderBy(v => v.Hours.Start).ToList();
            for (var k = 1; k < sorted.Count; k++)
            {
                var previousEnd = BusinessTime.EndOfDayTicks(sorted[k - 1].Hours.End);
                if (sorted[k].Hours.Start.Ticks < previousEnd)
                    errors.Add($"{prefix}hours[{sorted[k].Index}].start",
                        $"Overlaps another {day.Key} interval ({sorted[k - 1].Hours.Start:HH\\:mm}–{sorted[k - 1].Hours.End:HH\\:mm}).");
            }
        }

        var ooo = OutOfOffice ?? [];
        for (var i = 0; i < ooo.Count; i++)
        {
            if (ooo[i] is null)
                errors.Add($"{prefix}outOfOffice[{i}]", "A period is required.");
            else if (ooo[i].To <= ooo[i].From)
                errors.Add($"{prefix}outOfOffice[{i}].to", "The end must be after the start.");
        }
    }

    public FieldErrors Validate()
    {
        var errors = new FieldErrors();
        Validate(errors);
        return errors;
    }
}

public enum WorkingState
{
    Working,
    // Outside weekly hours or on a holiday.
    Off,
    OutOfOffice,
}

/// <summary>Thrown when a calendar has no working time within <see cref="BusinessTime.SearchLimitDays"/> days.</summary>
public sealed class NoWorkingTimeException(string timeZoneId, DateTimeOffset from)
    : InvalidOperationException($"The work calendar ({timeZoneId}) has no working time within {BusinessTime.SearchLimitDays} days after {from:O}.")
{
    public DateTimeOffset From { get; } = from;
}

/// <summary>
/// Business-time arithmetic over a <see cref="WorkCalendar"/>: pure, allocation-light, walking day by day (never
/// minute by minute). Results are exact to the tick; a duration spans only working instants (weekly hours, minus
/// holidays, minus out-of-office periods). See <see cref="WorkCalendar"/> for the daylight-saving rule.
/// </summary>
/// <remarks>
/// A calendar without any working time in <see cref="SearchLimitDays"/> consecutive days (no hours at all, or a
/// holiday/out-of-office stretch longer than that) makes the searching functions throw
/// <see cref="NoWorkingTimeException"/> instead of looping forever; <see cref="WorkCalendar.Validate(FieldErrors, string)"/>
/// rejects calendars without weekly hours up front, so only such long absences can reach it.
/// </remarks>
public static class BusinessTime
{
    /// <summary>How many consecutive days without working time a search accepts before giving up.</summary>
    public const int SearchLimitDays = 400;

    private static readonly ConcurrentDictionary<string, TimeZoneInfo?> Zones = new(StringComparer.Ordinal);
    private static readonly ConditionalWeakTable<WorkCalendar, CompiledCalendar> Compiled = new();

    /// <summary>
    /// The instant at which <paramref name="minutes"/> working minutes have elapsed since <paramref name="start"/>.
    /// Outside working time the clock starts at the next working moment; 0 minutes gives that next working moment.
    /// When the count runs out exactly at the end of an interval the result is that end (e.g. 12:30), not the start of
    /// the next interval.
    /// </summary>
    /// <exception cref="NoWorkingTimeException">No working time within <see cref="SearchLimitDays"/> days.</exception>
    public static DateTimeOffset AddBusinessMinutes(DateTimeOffset start, int minutes, WorkCalendar calendar)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minutes);
        return AddBusinessTime(start, TimeSpan.FromMinutes(minutes), calendar);
    }

    /// <inheritdoc cref="AddBusinessMinutes"/>
    public static DateTimeOffset AddBusinessTime(DateTimeOffset start, TimeSpan duration, WorkCalendar calendar)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        var c = Compile(calendar);
        var startTicks = start.UtcTicks;
        var remaining = duration.Ticks;
        var day = c.LocalDate(startTicks).AddDays(-1);
        var lastWorkingDay = day;
        var segments = new List<Segment>(4);
        var previousEnd = long.MinValue;
        while (true)
        {
            c.Segments(day, segments, ref previousEnd);
            foreach (var s in segments)
            {
                if (s.End <= startTicks)
                    continue;
                lastWorkingDay = day;
                var from = Math.Max(s.Start, startTicks);
                var available = s.End - from;
                if (remaining == 0)
                    return Instant(from, start.Offset);
                if (remaining <= available)
                    return Instant(from + remaining, start.Offset);
                remaining -= available;
            }
            if (day.DayNumber - lastWorkingDay.DayNumber > SearchLimitDays)
                throw new NoWorkingTimeException(calendar.TimeZoneId, start);
            day = day.AddDays(1);
        }
    }

    /// <summary><paramref name="at"/> itself when it is working time, otherwise the start of the next working period.</summary>
    /// <exception cref="NoWorkingTimeException">No working time within <see cref="SearchLimitDays"/> days.</exception>
    public static DateTimeOffset NextWorkingMoment(DateTimeOffset at, WorkCalendar calendar) => AddBusinessTime(at, TimeSpan.Zero, calendar);

    /// <summary>Working minutes in <c>[from, to)</c> (fractional, exact to the tick); negative when <paramref name="to"/> is before <paramref name="from"/>.</summary>
    public static double BusinessMinutesBetween(DateTimeOffset from, DateTimeOffset to, WorkCalendar calendar) =>
        (double)BusinessTimeBetween(from, to, calendar).Ticks / TimeSpan.TicksPerMinute;

    /// <inheritdoc cref="BusinessMinutesBetween"/>
    public static TimeSpan BusinessTimeBetween(DateTimeOffset from, DateTimeOffset to, WorkCalendar calendar)
    {
        if (to < from)
            return -BusinessTimeBetween(to, from, calendar);
        var c = Compile(calendar);
        long fromTicks = from.UtcTicks, toTicks = to.UtcTicks, total = 0;
        var day = c.LocalDate(fromTicks).AddDays(-1);
        var lastDay = c.LocalDate(toTicks).AddDays(1);
        var segments = new List<Segment>(4);
        var previousEnd = long.MinValue;
        for (; day <= lastDay; day = day.AddDays(1))
        {
            c.Segments(day, segments, ref previousEnd);
            foreach (var s in segments)
                total += Math.Max(0, Math.Min(s.End, toTicks) - Math.Max(s.Start, fromTicks));
        }
        return TimeSpan.FromTicks(total);
    }

    /// <summary>Whether <paramref name="at"/> is working time (within weekly hours, not a holiday, not out of office).</summary>
    public static bool IsWorking(DateTimeOffset at, WorkCalendar calendar) => Compile(calendar).IsWorking(at.UtcTicks);

    /// <summary>Working, off shift (outside hours or a holiday) or out of office at <paramref name="at"/>, in one look-up.</summary>
    public static WorkingState StateAt(DateTimeOffset at, WorkCalendar calendar)
    {
        var c = Compile(calendar);
        if (c.IsOutOfOffice(at.UtcTicks))
            return WorkingState.OutOfOffice;
        return c.IsWorking(at.UtcTicks) ? WorkingState.Working : WorkingState.Off;
    }

    /// <summary>Whether <paramref name="at"/> falls in one of the calendar's out-of-office periods.</summary>
    public static bool IsOutOfOffice(DateTimeOffset at, WorkCalendar calendar) => Compile(calendar).IsOutOfOffice(at.UtcTicks);

    /// <summary>
    /// The end of the <paramref name="days"/>-th local day with working time, counting the day of
    /// <paramref name="start"/> when working time remains on it (used for "K attempts within D working days").
    /// </summary>
    public static DateTimeOffset EndOfWorkingDays(DateTimeOffset start, int days, WorkCalendar calendar)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(days, 1);
        var c = Compile(calendar);
        var startTicks = start.UtcTicks;
        var day = c.LocalDate(startTicks);
        var lastWorkingDay = day;
        var segments = new List<Segment>(4);
        var previousEnd = long.MinValue;
        c.Segments(day.AddDays(-1), segments, ref previousEnd);
        var counted = 0;
        while (true)
        {
            c.Segments(day, segments, ref previousEnd);
            if (segments.Count > 0 && segments[^1].End > startTicks)
            {
                lastWorkingDay = day;
                if (++counted == days)
                    return Instant(segments[^1].End, start.Offset);
            }
            if (day.DayNumber - lastWorkingDay.DayNumber > SearchLimitDays)
                throw new NoWorkingTimeException(calendar.TimeZoneId, start);
            day = day.AddDays(1);
        }
    }

    /// <summary>The zone for an IANA id (cached), null when unknown.</summary>
    public static TimeZoneInfo? FindZone(string timeZoneId) =>
        Zones.GetOrAdd(timeZoneId, static id => TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone) ? zone : null);

    internal static long EndOfDayTicks(TimeOnly end) => end == TimeOnly.MinValue ? TimeSpan.TicksPerDay : end.Ticks;

    private static DateTimeOffset Instant(long utcTicks, TimeSpan offset) =>
        new DateTimeOffset(utcTicks, TimeSpan.Zero).ToOffset(offset);

    private static CompiledCalendar Compile(WorkCalendar calendar) =>
        Compiled.GetValue(calendar, static c => new CompiledCalendar(c));

    private readonly record struct Segment(long Start, long End);

    /// <summary>The calendar in a form that answers fast: intervals per weekday, a holiday set, merged out-of-office periods.</summary>
    private sealed class CompiledCalendar
    {
        private readonly TimeZoneInfo _zone;
        private readonly (long Start, long End)[][] _byDay = new (long, long)[7][];
        private readonly HashSet<DateOnly> _holidays;
        private readonly (long From, long To)[] _outOfOffice;
        // Immutable entries replaced whole, so concurrent readers see either the old or the new entry.
        private readonly OffsetHour?[] _hours = new OffsetHour?[HourCacheSize];
        private const int HourCacheSize = 256;

        private sealed record OffsetHour(long Hour, long? OffsetTicks);

        public CompiledCalendar(WorkCalendar calendar)
        {
            _zone = FindZone(calendar.TimeZoneId ?? "")
                ?? throw new ArgumentException($"Unknown time zone '{calendar.TimeZoneId}'.", nameof(calendar));
            for (var d = 0; d < 7; d++)
                _byDay[d] = [.. (calendar.Hours ?? []).Where(h => h is not null && (int)h.Day == d)
                    .Select(h => (h.Start.Ticks, EndOfDayTicks(h.End)))
                    .Where(h => h.Item2 > h.Item1)
                    .OrderBy(h => h.Item1)];
            _holidays = [.. calendar.Holidays ?? []];
            var merged = new List<(long From, long To)>();
            foreach (var p in (calendar.OutOfOffice ?? []).Where(p => p is not null && p.To > p.From).OrderBy(p => p.From))
            {
                if (merged.Count > 0 && p.From.UtcTicks <= merged[^1].To)
                    merged[^1] = (merged[^1].From, Math.Max(merged[^1].To, p.To.UtcTicks));
                else
                    merged.Add((p.From.UtcTicks, p.To.UtcTicks));
            }
            _outOfOffice = [.. merged];
        }

        public DateOnly LocalDate(long utcTicks) => StableOffset(utcTicks) is { } offset
            ? DateOnly.FromDateTime(new DateTime(utcTicks + offset))
            : DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(new DateTime(utcTicks, DateTimeKind.Utc), _zone));

        public bool IsOutOfOffice(long utcTicks)
        {
            foreach (var (from, to) in _outOfOffice)
            {
                if (utcTicks < from)
                    return false;
                if (utcTicks < to)
                    return true;
            }
            return false;
        }

        public bool IsWorking(long utcTicks)
        {
            if (IsOutOfOffice(utcTicks))
                return false;
            if (StableOffset(utcTicks) is { } offset)
            {
                var local = new DateTime(utcTicks + offset, DateTimeKind.Unspecified);
                // Away from a clock change the wall clock answers directly (the hull rule only adds repeated-hour instants).
                var date = DateOnly.FromDateTime(local);
                if (_holidays.Contains(date))
                    return false;
                var timeOfDay = local.TimeOfDay.Ticks;
                foreach (var (start, end) in _byDay[(int)local.DayOfWeek])
                {
                    if (timeOfDay < start)
                        return false;
                    if (timeOfDay < end)
                        return true;
                }
                return false;
            }
            var segments = new List<Segment>(4);
            var previousEnd = long.MinValue;
            var day = LocalDate(utcTicks);
            for (var d = day.AddDays(-1); d <= day.AddDays(1); d = d.AddDays(1))
            {
                Segments(d, segments, ref previousEnd);
                foreach (var s in segments)
                    if (s.Start <= utcTicks && utcTicks < s.End)
                        return true;
            }
            return false;
        }

        /// <summary>
        /// The working segments (UTC ticks, sorted, disjoint) of a local date into <paramref name="into"/>; segments are
        /// clipped to start at or after <paramref name="previousEnd"/> so walking consecutive days never counts an
        /// instant twice.
        /// </summary>
        public void Segments(DateOnly date, List<Segment> into, ref long previousEnd)
        {
            into.Clear();
            if (_holidays.Contains(date))
                return;
            var midnight = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
            foreach (var (startOfDay, endOfDay) in _byDay[(int)date.DayOfWeek])
            {
                var start = Math.Max(ToUtc(midnight.AddTicks(startOfDay), first: true), previousEnd);
                var end = ToUtc(midnight.AddTicks(endOfDay), first: false);
                if (end <= start)
                    continue;
                previousEnd = end;
                AddMinusOutOfOffice(into, start, end);
            }
        }

        private void AddMinusOutOfOffice(List<Segment> into, long start, long end)
        {
            foreach (var (from, to) in _outOfOffice)
            {
                if (to <= start)
                    continue;
                if (from >= end)
                    break;
                if (from > start)
                    into.Add(new Segment(start, from));
                start = Math.Max(start, to);
                if (start >= end)
                    return;
            }
            into.Add(new Segment(start, end));
        }

        /// <summary>
        /// A local wall time to UTC ticks: a time in the skipped hour maps to the instant of the jump; a time in the
        /// repeated hour to its first occurrence (<paramref name="first"/>, for starts) or its second (for ends).
        /// </summary>
        private long ToUtc(DateTime local, bool first)
        {
            // Usual case: the nominal offset gives an instant far from any clock change, so the conversion is unique.
            var guess = local.Ticks - _zone.BaseUtcOffset.Ticks;
            if (StableOffset(guess) is { } offset && StableOffset(local.Ticks - offset) == offset)
                return local.Ticks - offset;
            if (_zone.IsInvalidTime(local))
                return InstantOfJump(local);
            if (_zone.IsAmbiguousTime(local))
            {
                var offsets = _zone.GetAmbiguousTimeOffsets(local);
                var chosen = first ? offsets.Max() : offsets.Min();
                return local.Ticks - chosen.Ticks;
            }
            return local.Ticks - _zone.GetUtcOffset(local).Ticks;
        }

        /// <summary>
        /// The UTC offset at <paramref name="utcTicks"/> when no clock change happens within 3 hours of it (then the
        /// local time is neither skipped nor repeated; it assumes no two changes within 7 hours, which
        /// holds for real zones), null near a change. Cached per UTC hour: routing asks about
        /// the same hour for every rep, planning about the same few days; TimeZoneInfo look-ups are the hot cost.
        /// </summary>
        private long? StableOffset(long utcTicks)
        {
            var hour = utcTicks / TimeSpan.TicksPerHour;
            if (hour < 3 || (hour + 4) * TimeSpan.TicksPerHour > DateTime.MaxValue.Ticks)
                return null;
            var slot = (int)(hour % HourCacheSize);
            var cached = _hours[slot];
            if (cached is null || cached.Hour != hour)
            {
                var before = _zone.GetUtcOffset(new DateTime((hour - 3) * TimeSpan.TicksPerHour, DateTimeKind.Utc));
                var after = _zone.GetUtcOffset(new DateTime((hour + 4) * TimeSpan.TicksPerHour, DateTimeKind.Utc));
                cached = new OffsetHour(hour, before == after ? before.Ticks : null);
                _hours[slot] = cached;
            }
            return cached.OffsetTicks;
        }

        /// <summary>The UTC instant at which the clock jumped over <paramref name="local"/> (binary search, whole seconds).</summary>
        private long InstantOfJump(DateTime local)
        {
            var before = _zone.GetUtcOffset(new DateTime(local.Ticks - TimeSpan.TicksPerDay, DateTimeKind.Utc));
            var after = _zone.GetUtcOffset(new DateTime(local.Ticks + TimeSpan.TicksPerDay, DateTimeKind.Utc));
            // The offset is `before` at lo and `after` at hi: the jump is in (lo, hi].
            var lo = (local.Ticks - after.Ticks) / TimeSpan.TicksPerSecond - 1;
            var hi = (local.Ticks - before.Ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond;
            while (hi - lo > 1)
            {
                var mid = lo + (hi - lo) / 2;
                if (_zone.GetUtcOffset(new DateTime(mid * TimeSpan.TicksPerSecond, DateTimeKind.Utc)) == before)
                    lo = mid;
                else
                    hi = mid;
            }
            return hi * TimeSpan.TicksPerSecond;
        }
    }
}
