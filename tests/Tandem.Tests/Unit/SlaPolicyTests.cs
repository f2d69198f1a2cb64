using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Tests.Unit;

public sealed class SlaPolicyTests
{
    private static readonly WorkCalendar Paris = WorkCalendar.Weekdays("Europe/Paris", ("09:00", "12:30"), ("13:30", "18:00"));
    private static readonly DateTimeOffset Now = At("2026-11-24T10:00:00+01:00");

    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    [Theory]
    [InlineData(Grade.A, null, SlaTier.Hot)]
    [InlineData(Grade.B, null, SlaTier.Standard)]
    [InlineData(Grade.C, null, SlaTier.Standard)]
    [InlineData(Grade.D, null, SlaTier.Low)]
    [InlineData(null, null, SlaTier.Standard)]
    [InlineData(Grade.C, 2, SlaTier.Hot)]
    [InlineData(null, 2, SlaTier.Standard)]
    [InlineData(Grade.D, 2, SlaTier.Low)]
    [InlineData(Grade.B, 8, SlaTier.Standard)]
    public void DefaultTierRuleClassifiesByGradeAndRecentDemoRequest(Grade? grade, int? demoDaysAgo, SlaTier expected)
    {
        LastActivity[] activities = demoDaysAgo is { } d ? [new LastActivity(ActivityType.DemoRequest, Now.AddDays(-d))] : [];
        Assert.Equal(expected, SlaTiers.Classify(grade, activities, Now, SlaTierRule.Default));
    }

    [Fact]
    public void TierRuleIsData()
    {
        var rule = new SlaTierRule(Grade.B, [ActivityType.Webinar, ActivityType.DemoRequest], 30, null, null);
        Assert.Equal(SlaTier.Hot, SlaTiers.Classify(Grade.B, [], Now, rule));
        Assert.Equal(SlaTier.Hot, SlaTiers.Classify(null, [new LastActivity(ActivityType.Webinar, Now.AddDays(-20))], Now, rule));
        Assert.Equal(SlaTier.Standard, SlaTiers.Classify(Grade.D, [new LastActivity(ActivityType.PageView, Now)], Now, rule));
    }

    [Fact]
    public void PlanCountsBusinessMinutesOfTheRepAndGraceOnTheWallClock()
    {
        var hot = new SlaPolicy(SlaTier.Hot, 60, [50, 80], 15, 6, 5);
        // Assigned at 12:10: 20 minutes before lunch, 40 after.
        var plan = SlaPlanner.Plan(hot, At("2026-11-24T12:10:00+01:00"), Paris);
        Assert.Equal(At("2026-11-24T12:10:00+01:00"), plan.ClockStartsAt);
        Assert.Equal([At("2026-11-24T13:40:00+01:00"), At("2026-11-24T13:58:00+01:00")], plan.Reminders.Select(r => r.DueAt));
        Assert.Equal([50, 80], plan.Reminders.Select(r => r.Percent));
        Assert.Equal(At("2026-11-24T14:10:00+01:00"), plan.FirstTouchDueAt);
        Assert.Equal(plan.FirstTouchDueAt, plan.BreachAt);
        Assert.Equal(At("2026-11-24T14:25:00+01:00"), plan.ReassignAt);
        // Tuesday to the 5th working day: Tue, Wed, Thu, Fri, Mon.
        Assert.Equal(At("2026-11-30T18:00:00+01:00"), plan.AttemptsDueAt);
        Assert.Equal(6, plan.Attempts);
    }

    [Fact]
    public void PlanOutsideHoursStartsTheClockAtTheNextShift()
    {
        var plan = SlaPlanner.Plan(new SlaPolicy(SlaTier.Hot, 45, [50], 30, 3, 1), At("2026-11-20T20:00:00+01:00"), Paris);
        Assert.Equal(At("2026-11-23T09:00:00+01:00"), plan.ClockStartsAt);
        // 50 % of 45 minutes is 22.5 minutes.
        Assert.Equal(At("2026-11-23T09:22:30+01:00"), plan.Reminders[0].DueAt);
        Assert.Equal(At("2026-11-23T09:45:00+01:00"), plan.FirstTouchDueAt);
        Assert.Equal(At("2026-11-23T10:15:00+01:00"), plan.ReassignAt);
        Assert.Equal(At("2026-11-23T18:00:00+01:00"), plan.AttemptsDueAt);
    }

    [Fact]
    public void PlanBreachLateFridayReassignsTheSameEvening()
    {
        var plan = SlaPlanner.Plan(new SlaPolicy(SlaTier.Hot, 60, [], 30, 3, 2), At("2026-11-20T17:00:00+01:00"), Paris);
        Assert.Equal(At("2026-11-20T18:00:00+01:00"), plan.BreachAt);
        Assert.Equal(At("2026-11-20T18:30:00+01:00"), plan.ReassignAt);
        Assert.Empty(plan.Reminders);
    }

    [Fact]
    public void DefaultPoliciesAreValid()
    {
        Assert.False(SlaPolicy.ValidateSet(SlaPolicy.Defaults).Any);
        Assert.False(SlaTierRule.Default.Validate().Any);
    }

    [Fact]
    public void InvalidPoliciesGetFieldErrors()
    {
        var errors = new SlaPolicy((SlaTier)7, 0, [80, 50, 100], -1, 0, 0).Validate().ToDictionary();
        Assert.Equal(
            ["attemptWindowDays", "attempts", "firstTouchMinutes", "graceMinutes", "reminderPercents[1]", "reminderPercents[2]", "tier"],
            errors.Keys.Order(StringComparer.Ordinal));

        var set = SlaPolicy.ValidateSet([SlaPolicy.Defaults[0], SlaPolicy.Defaults[0] with { FirstTouchMinutes = 30 }]).ToDictionary();
        Assert.Contains("already", set["[1].tier"][0]);
        Assert.Equal(2, set["tiers"].Length);

        var rule = new SlaTierRule(Grade.C, [(ActivityType)99], 0, null, Grade.B).Validate().ToDictionary();
        Assert.Equal(["hotActivities[0]", "hotActivityWithinDays", "lowGrade"], rule.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void PlainRecordsRoundTripThroughJson()
    {
        var json = new JsonSerializerOptions(JsonSerializerOptions.Web) { Converters = { new JsonStringEnumConverter() } };
        var calendar = Paris with
        {
            Holidays = [new DateOnly(2026, 12, 25)],
            OutOfOffice = [new OutOfOfficePeriod(At("2026-12-01T00:00:00+01:00"), At("2026-12-05T00:00:00+01:00"), "Leave")],
        };
        var rule = new RoutingRule(Guid.NewGuid(), 3, "France", [new RoutingCondition(LeadField.Country, ConditionOperator.In, ["FR"])], RoutingTarget.Team(Guid.NewGuid()));
        var team = new Team(Guid.NewGuid(), "Inside sales", Guid.NewGuid(), RoutingStrategy.WeightedRoundRobin, [new TeamMember(Guid.NewGuid(), 2, 14, At("2026-11-24T10:00:00Z"))], OverflowPolicy.NextRep);
        object[] values = [calendar, rule, team, SlaPolicy.Defaults[0], SlaTierRule.Default, SlaPlanner.Plan(SlaPolicy.Defaults[0], At("2026-11-24T10:00:00Z"), calendar)];
        foreach (var value in values)
        {
            var text = JsonSerializer.Serialize(value, value.GetType(), json);
            Assert.Equal(text, JsonSerializer.Serialize(JsonSerializer.Deserialize(text, value.GetType(), json), value.GetType(), json));
        }
        var restored = JsonSerializer.Deserialize<WorkCalendar>(JsonSerializer.Serialize(calendar, json), json)!;
        Assert.Contains("\"timeZoneId\":\"Europe/Paris\"", JsonSerializer.Serialize(calendar, json));
        Assert.Equal(BusinessTime.AddBusinessMinutes(At("2026-11-30T17:00:00+01:00"), 120, calendar), BusinessTime.AddBusinessMinutes(At("2026-11-30T17:00:00+01:00"), 120, restored));
    }
}
