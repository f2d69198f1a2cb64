using Tandem.Features.Handoff;

namespace Tandem.Tests.Unit;

/// <summary>
/// Seeded random calendars (zones with DST, half-hour DST, DST at midnight, odd offsets; intervals on minute
/// boundaries touching the skipped and repeated hours; holidays; out-of-office) and starts clustered around DST
/// changes. Each property runs on 2,000+ cases; a failure prints the seed and case.
/// </summary>
public sealed class BusinessTimePropertyTests
{
    private const int Cases = 2000;
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static readonly string[] ZoneIds =
    [
        "Europe/Paris", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Australia/Lord_Howe",
        "Asia/Kathmandu", "America/Santiago", "Europe/London", "UTC",
    ];

    private sealed record Case(int Index, WorkCalendar Calendar, DateTimeOffset Start, int Minutes)
    {
        public override string ToString() =>
            $"case {Index}: {Calendar.TimeZoneId} start {Start:O} +{Minutes} min; hours [{string.Join(", ", Calendar.Hours.Select(h => $"{h.Day} {h.Start:HH\\:mm}-{h.End:HH\\:mm}"))}]; " +
            $"holidays [{string.Join(", ", Calendar.Holidays ?? [])}]; ooo [{string.Join(", ", (Calendar.OutOfOffice ?? []).Select(o => $"{o.From:O}..{o.To:O}"))}]";
    }

    private static IEnumerable<Case> Generate(int seed, int maxMinutes, int count = Cases)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var zoneId = ZoneIds[random.Next(ZoneIds.Length)];
            var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
            var hours = new List<WorkingHours>();
            while (hours.Count == 0)
            {
                foreach (var day in Enum.GetValues<DayOfWeek>())
                {
                    if (random.NextDouble() < 0.3)
                        continue;
                    var pointCount = 2 * random.Next(1, 4);
                    var points = new SortedSet<int>();
                    while (points.Count < pointCount)
                        points.Add(RandomBoundary(random));
                    var sorted = points.ToArray();
                    for (var k = 0; k < sorted.Length; k += 2)
                        hours.Add(new WorkingHours(day, TimeOnly.FromTimeSpan(TimeSpan.FromMinutes(sorted[k])),
                            sorted[k + 1] == 1440 ? TimeOnly.MinValue : TimeOnly.FromTimeSpan(TimeSpan.FromMinutes(sorted[k + 1]))));
                }
            }
            var start = RandomStart(random, zone);
            var holidays = Enumerable.Range(0, random.Next(0, 4))
                .Select(_ => DateOnly.FromDateTime(start.UtcDateTime).AddDays(random.Next(-2, 15))).ToList();
            var outOfOffice = Enumerable.Range(0, random.Next(0, 3)).Select(_ =>
            {
                var from = start.AddMinutes(random.Next(-2 * 1440, 10 * 1440));
                return new OutOfOfficePeriod(from, from.AddMinutes(random.Next(1, 3 * 1440)));
            }).ToList();
            yield return new Case(i, new WorkCalendar(zoneId, hours, holidays, outOfOffice), start, random.Next(0, maxMinutes + 1));
        }
    }

    /// <summary>Minutes since midnight, often on the DST-sensitive hours 0–4 and 22–24, sometimes any minute.</summary>
    private static int RandomBoundary(Random random) => random.Next(4) switch
    {
        0 => random.Next(0, 5 * 60 + 1),
        1 => random.Next(21 * 60, 1441),
        2 => random.Next(0, 1441),
        _ => 30 * random.Next(14, 40),
    };

    private static DateTimeOffset RandomStart(Random random, TimeZoneInfo zone)
    {
        var baseInstant = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(random.Next(0, 2 * 365 * 1440));
        if (random.NextDouble() < 0.6)
        {
            // Near a DST change of this zone, when it has one.
            var changes = Transitions(zone, 2026).Concat(Transitions(zone, 2027)).ToList();
            if (changes.Count > 0)
                baseInstant = changes[random.Next(changes.Count)].AddMinutes(random.Next(-3 * 1440, 3 * 1440));
        }
        return baseInstant.ToOffset(TimeSpan.FromHours(random.Next(-3, 4)));
    }

    private static IEnumerable<DateTimeOffset> Transitions(TimeZoneInfo zone, int year)
    {
        var t = new DateTimeOffset(year, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var offset = zone.GetUtcOffset(t);
        for (var h = 0; h < 366 * 24; h++, t = t.AddHours(1))
        {
            var next = zone.GetUtcOffset(t);
            if (next != offset)
                yield return t;
            offset = next;
        }
    }

    private static void ForAll(IEnumerable<Case> cases, Action<Case> property)
    {
        var n = 0;
        foreach (var c in cases)
        {
            try
            {
                property(c);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException($"{c}\n{e.Message}", e);
            }
            n++;
        }
        Assert.True(n >= Cases);
    }

    [Fact]
    public void BusinessTimeBetweenStartAndResultIsTheDuration() =>
        ForAll(Generate(1, 5000), c =>
        {
            var result = BusinessTime.AddBusinessMinutes(c.Start, c.Minutes, c.Calendar);
            Assert.Equal(c.Minutes, BusinessTime.BusinessMinutesBetween(c.Start, result, c.Calendar));
            Assert.Equal(-c.Minutes, BusinessTime.BusinessMinutesBetween(result, c.Start, c.Calendar));
            Assert.True(result >= c.Start);
        });

    [Fact]
    public void BusinessTimeBetweenAddsUpOverConsecutiveRanges() =>
        ForAll(Generate(7, 0), c =>
        {
            var a = c.Start;
            var b = a.AddMinutes(c.Index * 7 % 4000).AddSeconds(c.Index % 60);
            var d = b.AddMinutes(c.Index * 13 % 6000);
            Assert.Equal(BusinessTime.BusinessTimeBetween(a, d, c.Calendar), BusinessTime.BusinessTimeBetween(a, b, c.Calendar) + BusinessTime.BusinessTimeBetween(b, d, c.Calendar));
        });

    [Fact]
    public void ResultIsMonotonicInMinutes() =>
        ForAll(Generate(2, 3000), c =>
        {
            var previous = BusinessTime.AddBusinessMinutes(c.Start, c.Minutes, c.Calendar);
            foreach (var more in new[] { 1, 7, 60, 601 })
            {
                var next = BusinessTime.AddBusinessMinutes(c.Start, c.Minutes + more, c.Calendar);
                Assert.True(next >= previous + TimeSpan.FromMinutes(more - 1) + Minute, $"+{more}: {next:O} after {previous:O}");
            }
        });

    [Fact]
    public void ResultIsWorkingTimeOrTheEndOfAnInterval() =>
        ForAll(Generate(3, 5000), c =>
        {
            var result = BusinessTime.AddBusinessMinutes(c.Start, c.Minutes, c.Calendar);
            var working = BusinessTime.IsWorking(result, c.Calendar);
            if (c.Minutes == 0)
                Assert.True(working, $"{result:O} should be working");
            else
                Assert.True(working || BusinessTime.IsWorking(result.AddTicks(-1), c.Calendar), $"{result:O} is neither working nor an interval end");
            Assert.Equal(BusinessTime.NextWorkingMoment(result, c.Calendar) == result, working);
        });

    [Fact]
    public void AddingInTwoStepsEqualsAddingOnce() =>
        ForAll(Generate(4, 3000), c =>
        {
            var split = c.Index % (c.Minutes + 1);
            var rest = c.Minutes - split;
            if (rest == 0)
                rest = 1;
            var once = BusinessTime.AddBusinessMinutes(c.Start, split + rest, c.Calendar);
            var twice = BusinessTime.AddBusinessMinutes(BusinessTime.AddBusinessMinutes(c.Start, split, c.Calendar), rest, c.Calendar);
            Assert.Equal(once, twice);
        });

    [Fact]
    public void IsWorkingAgreesWithTheSegmentsMinuteByMinute() =>
        ForAll(Generate(5, 0), c =>
        {
            var t = new DateTimeOffset(c.Start.UtcTicks / Minute.Ticks * Minute.Ticks, TimeSpan.Zero);
            for (var k = 0; k < 24 * 60; k += 13)
            {
                var at = t.AddMinutes(k);
                Assert.Equal(BusinessTime.BusinessMinutesBetween(at, at + Minute, c.Calendar) == 1, BusinessTime.IsWorking(at, c.Calendar));
            }
        });

    [Fact]
    public void AgreesWithAMinuteByMinuteReference()
    {
        var compared = 0;
        ForAll(Generate(6, 600), c =>
        {
            var start = new DateTimeOffset(c.Start.UtcTicks / Minute.Ticks * Minute.Ticks, TimeSpan.Zero);
            var reference = new ReferenceCalendar(c.Calendar);
            if (reference.Add(start, c.Minutes, maxDays: 20) is not { } expected)
                return;
            compared++;
            Assert.Equal(expected, BusinessTime.AddBusinessMinutes(start, c.Minutes, c.Calendar));
            var end = start.AddMinutes(c.Index % 5000);
            Assert.Equal(reference.MinutesBetween(start, end), BusinessTime.BusinessMinutesBetween(start, end, c.Calendar));
            for (var t = start; t < end; t = t.AddMinutes(37))
                Assert.True(reference.IsWorking(t) == BusinessTime.IsWorking(t, c.Calendar), $"IsWorking({t:O})");
        });
        Assert.True(compared > Cases * 3 / 4, $"only {compared} cases compared");
    }

    /// <summary>
    /// The slow, obvious definition: a UTC minute is working when the rep's wall clock (ConvertTimeFromUtc only) shows
    /// a working date and time, widened over the repeated hour to the span from the first to the last minute showing
    /// the interval on that date; minus out-of-office.
    /// </summary>
    private sealed class ReferenceCalendar(WorkCalendar calendar)
    {
        private readonly TimeZoneInfo _zone = TimeZoneInfo.FindSystemTimeZoneById(calendar.TimeZoneId);
        private readonly Dictionary<(DateOnly, int), (DateTimeOffset First, DateTimeOffset End)?> _spans = [];
        private readonly ILookup<DayOfWeek, WorkingHours> _byDay = calendar.Hours.ToLookup(h => h.Day);

        private DateTime Wall(DateTimeOffset utcMinute) => TimeZoneInfo.ConvertTimeFromUtc(utcMinute.UtcDateTime, _zone);

        private (DateTimeOffset First, DateTimeOffset End)? Span(DateOnly date, int index)
        {
            if (_spans.TryGetValue((date, index), out var span))
                return span;
            var h = _byDay[date.DayOfWeek].ElementAt(index);
            var from = h.Start.ToTimeSpan();
            var to = h.End == TimeOnly.MinValue ? TimeSpan.FromDays(1) : h.End.ToTimeSpan();
            var nominal = new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) - _zone.BaseUtcOffset;
            DateTimeOffset? first = null, last = null;
            for (var t = nominal + from - TimeSpan.FromHours(4); t < nominal + to + TimeSpan.FromHours(4); t += Minute)
            {
                var wall = Wall(t);
                if (DateOnly.FromDateTime(wall) == date && wall.TimeOfDay >= from && wall.TimeOfDay < to)
                {
                    first ??= t;
                    last = t;
                }
            }
            span = first is null ? null : (first.Value, last!.Value + Minute);
            _spans[(date, index)] = span;
            return span;
        }

        public bool IsWorking(DateTimeOffset t)
        {
            if ((calendar.OutOfOffice ?? []).Any(o => o.From <= t && t < o.To))
                return false;
            var date = DateOnly.FromDateTime(Wall(t));
            for (var d = date.AddDays(-1); d <= date.AddDays(1); d = d.AddDays(1))
            {
                if ((calendar.Holidays ?? []).Contains(d))
                    continue;
                var count = _byDay[d.DayOfWeek].Count();
                for (var i = 0; i < count; i++)
                    if (Span(d, i) is { } s && s.First <= t && t < s.End)
                        return true;
            }
            return false;
        }

        public DateTimeOffset? Add(DateTimeOffset start, int minutes, int maxDays)
        {
            var t = start;
            var counted = 0;
            for (; t < start.AddDays(maxDays); t += Minute)
            {
                if (!IsWorking(t))
                    continue;
                if (counted == minutes)
                    return t;
                if (++counted == minutes)
                    return t + Minute;
            }
            return null;
        }

        public double MinutesBetween(DateTimeOffset from, DateTimeOffset to)
        {
            var n = 0;
            for (var t = from; t < to; t += Minute)
                if (IsWorking(t))
                    n++;
            return n;
        }
    }
}
