using System.Globalization;
using Tandem.Features.Handoff;

namespace Tandem.Tests.Unit;

public sealed class BusinessTimeTests
{
    private static readonly WorkCalendar ParisNineToSix = WorkCalendar.Weekdays("Europe/Paris", ("09:00", "18:00"));
    private static readonly WorkCalendar ParisWithLunch = WorkCalendar.Weekdays("Europe/Paris", ("09:00", "12:30"), ("13:30", "18:00"));

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    private static WorkCalendar EveryDay(string zone, params (string Start, string End)[] intervals) =>
        new(zone, [.. from day in Enum.GetValues<DayOfWeek>() from i in intervals select new WorkingHours(day, TimeOnly.Parse(i.Start, CultureInfo.InvariantCulture), TimeOnly.Parse(i.End, CultureInfo.InvariantCulture))]);

    [Fact]
    public void FridayEveningHourLandsMondayMorning() =>
        Assert.Equal(At("2026-11-23T09:30:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-20T17:30:00+01:00"), 60, ParisNineToSix));

    [Fact]
    public void LunchBreakIsSkippedAndAnIntervalEndIsAValidDeadline()
    {
        Assert.Equal(At("2026-11-24T14:00:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-24T12:00:00+01:00"), 60, ParisWithLunch));
        Assert.Equal(At("2026-11-24T12:30:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-24T12:00:00+01:00"), 30, ParisWithLunch));
        Assert.Equal(At("2026-11-24T13:45:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-24T12:45:00+01:00"), 15, ParisWithLunch));
        Assert.Equal(8 * 60, BusinessTime.BusinessMinutesBetween(At("2026-11-24T00:00:00+01:00"), At("2026-11-25T00:00:00+01:00"), ParisWithLunch));
        Assert.False(BusinessTime.IsWorking(At("2026-11-24T13:00:00+01:00"), ParisWithLunch));
        Assert.Equal(At("2026-11-24T13:30:00+01:00"), BusinessTime.NextWorkingMoment(At("2026-11-24T13:00:00+01:00"), ParisWithLunch));
    }

    [Fact]
    public void ZeroMinutesIsTheNextWorkingMomentAndStartsOutsideHoursWaitForTheShift()
    {
        Assert.Equal(At("2026-11-24T10:00:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-24T10:00:00+01:00"), 0, ParisNineToSix));
        Assert.Equal(At("2026-11-23T09:00:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-21T10:00:00+01:00"), 0, ParisNineToSix));
        Assert.Equal(At("2026-11-24T09:10:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-24T06:00:00+01:00"), 10, ParisNineToSix));
        Assert.Throws<ArgumentOutOfRangeException>(() => BusinessTime.AddBusinessMinutes(At("2026-11-24T06:00:00+01:00"), -1, ParisNineToSix));
    }

    [Fact]
    public void ResultKeepsTheOffsetOfTheStart()
    {
        var result = BusinessTime.AddBusinessMinutes(At("2026-11-20T16:30:00Z"), 60, ParisNineToSix);
        Assert.Equal(TimeSpan.Zero, result.Offset);
        Assert.Equal(At("2026-11-23T08:30:00Z"), result);
    }

    [Fact]
    public void HolidayMondayMovesTheDeadlineToTuesday()
    {
        var calendar = ParisNineToSix with { Holidays = [new DateOnly(2026, 11, 23)] };
        Assert.Equal(At("2026-11-24T09:30:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-20T17:30:00+01:00"), 60, calendar));
        Assert.False(BusinessTime.IsWorking(At("2026-11-23T10:00:00+01:00"), calendar));
        Assert.Equal(WorkingState.Off, BusinessTime.StateAt(At("2026-11-23T10:00:00+01:00"), calendar));
    }

    [Fact]
    public void OutOfOfficeInTheMiddleIsSkipped()
    {
        var calendar = ParisNineToSix with { OutOfOffice = [new OutOfOfficePeriod(At("2026-11-24T10:00:00+01:00"), At("2026-11-24T11:00:00+01:00"), "Dentist")] };
        Assert.Equal(At("2026-11-24T14:00:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-24T09:00:00+01:00"), 240, calendar));
        Assert.Equal(WorkingState.OutOfOffice, BusinessTime.StateAt(At("2026-11-24T10:30:00+01:00"), calendar));
        Assert.Equal(At("2026-11-24T11:00:00+01:00"), BusinessTime.NextWorkingMoment(At("2026-11-24T10:30:00+01:00"), calendar));
        Assert.Equal(8 * 60, BusinessTime.BusinessMinutesBetween(At("2026-11-24T00:00:00+01:00"), At("2026-11-25T00:00:00+01:00"), calendar));
    }

    [Fact]
    public void WeekLongLeaveAcrossAWeekendResumesAfterIt()
    {
        var calendar = ParisNineToSix with { OutOfOffice = [new OutOfOfficePeriod(At("2026-11-20T12:00:00+01:00"), At("2026-11-30T00:00:00+01:00"))] };
        Assert.Equal(At("2026-11-30T09:30:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-11-20T11:30:00+01:00"), 60, calendar));
    }

    [Fact]
    public void ParisSpringForwardDayStillHasNineWorkingHours()
    {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST.
        var calendar = EveryDay("Europe/Paris", ("09:00", "18:00"));
        Assert.Equal(9 * 60, BusinessTime.BusinessMinutesBetween(At("2026-03-29T00:00:00+01:00"), At("2026-03-30T00:00:00+02:00"), calendar));
        Assert.Equal(At("2026-03-29T10:00:00+02:00"), BusinessTime.AddBusinessMinutes(At("2026-03-28T17:00:00+01:00"), 120, calendar));
        Assert.Equal(18 * 60, BusinessTime.BusinessMinutesBetween(At("2026-03-28T09:00:00+01:00"), At("2026-03-30T09:00:00+02:00"), calendar));
    }

    [Fact]
    public void IntervalsTouchingTheSkippedHourMapToTheJump()
    {
        var early = EveryDay("Europe/Paris", ("01:00", "02:30"));
        Assert.Equal(60, BusinessTime.BusinessMinutesBetween(At("2026-03-29T00:00:00+01:00"), At("2026-03-30T00:00:00+02:00"), early));
        Assert.Equal(At("2026-03-29T01:00:00Z"), BusinessTime.AddBusinessMinutes(At("2026-03-29T00:00:00+01:00"), 60, early));
        var late = EveryDay("Europe/Paris", ("02:30", "04:00"));
        Assert.Equal(60, BusinessTime.BusinessMinutesBetween(At("2026-03-29T00:00:00+01:00"), At("2026-03-30T00:00:00+02:00"), late));
        Assert.Equal(At("2026-03-29T03:00:00+02:00"), BusinessTime.NextWorkingMoment(At("2026-03-29T00:00:00+01:00"), late));
    }

    [Fact]
    public void ParisFallBackDayStillHasNineHoursAndTheRepeatedHourCountsOnce()
    {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET.
        Assert.Equal(9 * 60, BusinessTime.BusinessMinutesBetween(At("2026-10-25T00:00:00+02:00"), At("2026-10-26T00:00:00+01:00"), EveryDay("Europe/Paris", ("09:00", "18:00"))));
        // From the first 01:00 (CEST) to the second 02:30 (CET): 2.5 real hours.
        var early = EveryDay("Europe/Paris", ("01:00", "02:30"));
        Assert.Equal(150, BusinessTime.BusinessMinutesBetween(At("2026-10-25T00:00:00+02:00"), At("2026-10-26T00:00:00+01:00"), early));
        Assert.Equal(At("2026-10-25T02:30:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-10-25T00:00:00+02:00"), 150, early));
        // Adjacent intervals meeting inside the repeated hour are merged, never counted twice.
        var split = EveryDay("Europe/Paris", ("01:00", "02:30"), ("02:30", "04:00"));
        Assert.Equal(240, BusinessTime.BusinessMinutesBetween(At("2026-10-25T00:00:00+02:00"), At("2026-10-26T00:00:00+01:00"), split));
        Assert.True(BusinessTime.IsWorking(At("2026-10-25T02:15:00+01:00"), early));
        Assert.True(BusinessTime.IsWorking(At("2026-10-25T02:45:00+02:00"), early));
    }

    [Fact]
    public void NewYorkWeekendsAcrossBothDstChanges()
    {
        var ny = WorkCalendar.Weekdays("America/New_York", ("09:00", "17:00"));
        // DST starts Sunday 2026-03-08 and ends Sunday 2026-11-01.
        Assert.Equal(At("2026-03-09T09:30:00-04:00"), BusinessTime.AddBusinessMinutes(At("2026-03-06T16:30:00-05:00"), 60, ny));
        Assert.Equal(At("2026-11-02T09:30:00-05:00"), BusinessTime.AddBusinessMinutes(At("2026-10-30T16:30:00-04:00"), 60, ny));
        Assert.Equal(8 * 60, BusinessTime.BusinessMinutesBetween(At("2026-03-09T00:00:00-04:00"), At("2026-03-10T00:00:00-04:00"), ny));
        var everyDay = EveryDay("America/New_York", ("00:00", "00:00"));
        Assert.Equal(23 * 60, BusinessTime.BusinessMinutesBetween(At("2026-03-08T00:00:00-05:00"), At("2026-03-09T00:00:00-04:00"), everyDay));
        Assert.Equal(25 * 60, BusinessTime.BusinessMinutesBetween(At("2026-11-01T00:00:00-04:00"), At("2026-11-02T00:00:00-05:00"), everyDay));
    }

    [Fact]
    public void RepZoneDecidesWhenTheSameInstantIsWorking()
    {
        var instant = At("2026-11-24T02:30:00Z");
        var tokyo = WorkCalendar.Weekdays("Asia/Tokyo", ("09:00", "18:00"));
        var losAngeles = WorkCalendar.Weekdays("America/Los_Angeles", ("09:00", "18:00"));
        Assert.True(BusinessTime.IsWorking(instant, tokyo));
        Assert.False(BusinessTime.IsWorking(instant, losAngeles));
        Assert.Equal(At("2026-11-24T03:30:00Z"), BusinessTime.AddBusinessMinutes(instant, 60, tokyo));
        // 11:30 in Tokyo is 18:30 the day before in Los Angeles. From 17:30 there, half an hour is left that evening.
        Assert.Equal(At("2026-11-24T09:30:00-08:00"), BusinessTime.AddBusinessMinutes(At("2026-11-23T17:30:00-08:00"), 60, losAngeles));
        Assert.Equal(At("2026-11-24T09:00:00+09:00"), BusinessTime.NextWorkingMoment(At("2026-11-23T20:00:00+09:00"), tokyo));
    }

    [Fact]
    public void BetweenIsAntisymmetric()
    {
        var a = At("2026-11-20T10:00:00+01:00");
        var b = At("2026-11-23T10:00:00+01:00");
        Assert.Equal(9 * 60, BusinessTime.BusinessMinutesBetween(a, b, ParisNineToSix));
        Assert.Equal(-9 * 60, BusinessTime.BusinessMinutesBetween(b, a, ParisNineToSix));
        Assert.Equal(0, BusinessTime.BusinessMinutesBetween(a, a, ParisNineToSix));
    }

    [Fact]
    public void CalendarWithoutWorkingTimeThrowsInsteadOfLooping()
    {
        var none = new WorkCalendar("Europe/Paris", []);
        Assert.Throws<NoWorkingTimeException>(() => BusinessTime.AddBusinessMinutes(At("2026-11-20T10:00:00Z"), 60, none));
        Assert.Throws<NoWorkingTimeException>(() => BusinessTime.NextWorkingMoment(At("2026-11-20T10:00:00Z"), none));
        Assert.Throws<NoWorkingTimeException>(() => BusinessTime.EndOfWorkingDays(At("2026-11-20T10:00:00Z"), 3, none));
        Assert.False(BusinessTime.IsWorking(At("2026-11-20T10:00:00Z"), none));
        var sabbatical = ParisNineToSix with { OutOfOffice = [new OutOfOfficePeriod(At("2026-01-01T00:00:00Z"), At("2028-01-01T00:00:00Z"))] };
        Assert.Throws<NoWorkingTimeException>(() => BusinessTime.AddBusinessMinutes(At("2026-02-01T10:00:00Z"), 1, sabbatical));
        // A year-long leave is still within the search limit.
        var year = ParisNineToSix with { OutOfOffice = [new OutOfOfficePeriod(At("2026-01-01T00:00:00Z"), At("2027-01-01T00:00:00Z"))] };
        Assert.Equal(At("2027-01-01T10:00:00+01:00"), BusinessTime.AddBusinessMinutes(At("2026-01-01T10:00:00Z"), 60, year));
    }

    [Fact]
    public void EndOfWorkingDaysCountsDaysWithWorkingTimeLeft()
    {
        // Friday 10:00 counts as day 1, then Monday, Tuesday.
        Assert.Equal(At("2026-11-24T18:00:00+01:00"), BusinessTime.EndOfWorkingDays(At("2026-11-20T10:00:00+01:00"), 3, ParisNineToSix));
        // Friday 19:00 has nothing left: Monday is day 1.
        Assert.Equal(At("2026-11-23T18:00:00+01:00"), BusinessTime.EndOfWorkingDays(At("2026-11-20T19:00:00+01:00"), 1, ParisNineToSix));
    }

    [Fact]
    public void ValidationReportsFieldErrors()
    {
        Assert.False(ParisWithLunch.Validate().Any);
        Assert.False(EveryDay("America/New_York", ("00:00", "00:00")).Validate().Any);
        Assert.False(EveryDay("Asia/Tokyo", ("22:00", "00:00"), ("00:00", "06:00")).Validate().Any);

        var errors = new WorkCalendar("Mars/Olympus", [
            new WorkingHours(DayOfWeek.Monday, new TimeOnly(9, 0), new TimeOnly(12, 0)),
            new WorkingHours(DayOfWeek.Monday, new TimeOnly(11, 0), new TimeOnly(14, 0)),
            new WorkingHours(DayOfWeek.Tuesday, new TimeOnly(22, 0), new TimeOnly(6, 0)),
            new WorkingHours(DayOfWeek.Wednesday, new TimeOnly(9, 0), new TimeOnly(9, 0)),
            new WorkingHours((DayOfWeek)9, new TimeOnly(9, 0), new TimeOnly(10, 0)),
        ], OutOfOffice: [new OutOfOfficePeriod(At("2026-11-24T10:00:00Z"), At("2026-11-24T09:00:00Z"))]).Validate().ToDictionary();
        Assert.Contains("Unknown time zone", errors["timeZoneId"][0]);
        Assert.Contains("Overlaps", errors["hours[1].start"][0]);
        Assert.Contains("crossing midnight", errors["hours[2].end"][0]);
        Assert.Contains("empty", errors["hours[3].end"][0]);
        Assert.True(errors.ContainsKey("hours[4].day"));
        Assert.True(errors.ContainsKey("outOfOffice[0].to"));

        var empty = new WorkCalendar("", []).Validate().ToDictionary();
        Assert.True(empty.ContainsKey("timeZoneId"));
        Assert.True(empty.ContainsKey("hours"));
    }
}
