using Tandem.Features.Handoff;
using Tandem.Features.Leads;

namespace Tandem.Tests.Unit;

public sealed class SpeedToLeadTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly Guid Ann = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly Guid Bob = Guid.Parse("00000000-0000-0000-0000-00000000000b");
    private static readonly Guid Team = Guid.Parse("00000000-0000-0000-0000-0000000000f1");

    private static AssignmentFacts Row(Guid? rep, double mqlToAssign, double? toTouch, double dueAfter, double assignedAfterT0 = 0) =>
        new(rep, Team, T0.AddMinutes(assignedAfterT0 - mqlToAssign), T0.AddMinutes(assignedAfterT0),
            rep is null ? null : T0.AddMinutes(assignedAfterT0 + dueAfter), toTouch is { } t ? T0.AddMinutes(assignedAfterT0 + t) : null);

    [Fact]
    public void MedianP90AndComplianceMatchAHandComputation()
    {
        // Ann: touched after 10, 30 and 90 minutes, due after 60 → 2 of 3 in time.
        // Bob: touched after 20 minutes (due 60, in time); one untouched, due after 60 (passed by now) → 1 of 2.
        var rows = new List<AssignmentFacts>
        {
            Row(Ann, 0.5, 10, 60),
            Row(Ann, 1.5, 30, 60, 100),
            Row(Ann, 2.5, 90, 60, 200),
            Row(Bob, 1, 20, 60, 300),
            Row(Bob, 3, null, 60, 400),
        };
        var now = T0.AddDays(1);
        var report = SpeedToLead.Compute(rows, T0.AddHours(-1), T0.AddDays(1), now);

        // System: 0.5, 1, 1.5, 2.5, 3 → median 1.5; p90 rank 0.9 × 4 = 3.6 → 2.5 + 0.6 × 0.5 = 2.8.
        Assert.Equal(new DurationStats(5, 1.5, 2.8), report.Overall.MqlToAssignment);
        // Human: 10, 20, 30, 90 → median (20 + 30) / 2 = 25; p90 rank 2.7 → 30 + 0.7 × 60 = 72.
        Assert.Equal(new DurationStats(4, 25, 72), report.Overall.AssignmentToFirstTouch);
        Assert.Equal((5, 3, 60.0), (report.Overall.DueInPeriod, report.Overall.TouchedInTime, report.Overall.CompliancePercent));

        var ann = report.Reps.Single(r => r.Id == Ann).Stats;
        Assert.Equal((3, 2, 66.7), (ann.DueInPeriod, ann.TouchedInTime, ann.CompliancePercent));
        Assert.Equal(new DurationStats(3, 30, 78), ann.AssignmentToFirstTouch);
        var bob = report.Reps.Single(r => r.Id == Bob).Stats;
        Assert.Equal((2, 1, 50.0), (bob.DueInPeriod, bob.TouchedInTime, bob.CompliancePercent));
        Assert.Equal(60.0, Assert.Single(report.Teams).Stats.CompliancePercent);
    }

    [Fact]
    public void AnUntouchedAssignmentWhoseDeadlineIsStillAheadIsNotCountedYet()
    {
        var rows = new List<AssignmentFacts> { Row(Ann, 1, null, 60) };
        var stats = SpeedToLead.Stats(rows, T0.AddHours(-1), T0.AddDays(1), T0.AddMinutes(30));
        Assert.Equal(0, stats.DueInPeriod);
        Assert.Null(stats.CompliancePercent);
        Assert.Equal(new DurationStats(0, null, null), stats.AssignmentToFirstTouch);
    }

    [Theory]
    [InlineData(RejectReason.BadFit, LifecycleStage.Disqualified)]
    [InlineData(RejectReason.Student, LifecycleStage.Disqualified)]
    [InlineData(RejectReason.Spam, LifecycleStage.Disqualified)]
    [InlineData(RejectReason.Duplicate, LifecycleStage.Disqualified)]
    [InlineData(RejectReason.Competitor, LifecycleStage.Disqualified)]
    [InlineData(RejectReason.NoBudget, LifecycleStage.Recycled)]
    [InlineData(RejectReason.NoAuthority, LifecycleStage.Recycled)]
    [InlineData(RejectReason.NoNeed, LifecycleStage.Recycled)]
    [InlineData(RejectReason.BadTiming, LifecycleStage.Recycled)]
    [InlineData(RejectReason.Unreachable, LifecycleStage.Recycled)]
    [InlineData(RejectReason.Other, LifecycleStage.Recycled)]
    public void RejectReasonsRecycleOrDisqualify(RejectReason reason, LifecycleStage expected) =>
        Assert.Equal(expected, RejectReasons.Outcome(reason));

    [Fact]
    public void OtherDisqualifiesOnlyWhenAsked() =>
        Assert.Equal(LifecycleStage.Disqualified, RejectReasons.Outcome(RejectReason.Other, disqualify: true));
}
