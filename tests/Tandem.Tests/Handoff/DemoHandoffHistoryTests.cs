using Tandem.Features.Demo;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;

namespace Tandem.Tests.Handoff;

/// <summary>The demo's handoff history is consistent with the SLA rules and gives every rep live countdowns (pure, no database).</summary>
public sealed class DemoHandoffHistoryTests
{
    private static string Shown(Assignment a, DateTimeOffset now) =>
        a.FirstTouchDueAt <= now ? (a.ReassignAt > now ? "Breached" : "Late")
        : now - a.AssignedAt >= 0.8 * (a.FirstTouchDueAt!.Value - a.AssignedAt) ? "AtRisk" : "OnTime";

    [Theory]
    [InlineData("2026-11-23T16:50:00Z", true)] // Monday afternoon in Paris, morning in New York
    [InlineData("2026-11-24T09:20:00Z", true)] // Tuesday morning
    [InlineData("2026-11-25T22:10:00Z", false)] // a weeknight: nobody works, so nothing can be at risk yet
    [InlineData("2026-11-28T12:00:00Z", false)] // Saturday
    public void EveryRepHasLiveMqlsAndTheHistoryHasBreachesReassignmentsAndRecycles(string at, bool working)
    {
        var now = DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture);
        var zones = new[] { "Europe/Paris", "Europe/Paris", "Europe/Brussels", "Europe/London", "America/New_York" };
        var users = new DemoUsers(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(),
            [.. zones.Select((z, i) => new DemoRep(Guid.NewGuid(), $"Rep {i}", TimeZoneInfo.FindSystemTimeZoneById(z), i < 3 ? ["fr"] : ["en", "fr"]))]);
        var data = new DemoDataBuilder(now, users).Build();
        var teams = new DemoTeams(Guid.NewGuid(), Guid.NewGuid());
        var history = DemoHandoffHistory.Build(data, users, teams, now);

        foreach (var rep in users.Reps)
        {
            var fresh = history.Assignments.Where(a => a.RepId == rep.Id && a.State == AssignmentState.Open && a.FirstTouchedAt is null && a.AssignedAt > now.AddDays(-4))
                .Select(a => Shown(a, now)).ToList();
            TestContext.Current.TestOutputHelper?.WriteLine($"{rep.TimeZone.Id}: {string.Join(", ", fresh)}");
            Assert.True(fresh.Count >= 3);
            Assert.Contains("OnTime", fresh);
            if (working && rep.TimeZone.Id != "America/New_York")
                Assert.Contains("AtRisk", fresh);
        }
        // Breached needs a deadline within the last grace period: only in working hours.
        if (working)
            Assert.Contains(history.Assignments, a => a.State == AssignmentState.Open && a.FirstTouchedAt is null && Shown(a, now) == "Breached");
        Assert.Contains(history.Assignments, a => a.State == AssignmentState.Reassigned);
        Assert.Contains(history.Assignments, a => a.BreachedAt is not null && a.FirstTouchedAt is not null);
        Assert.Contains(data.Transitions, t => t.ByRule == HandoffCadence.Rule);
        Assert.All(data.Transitions, t => Assert.True(t.At <= now));
        // Every first touch of an assignment is after it was made, and the timers are consistent with the state.
        Assert.All(history.Assignments.Where(a => a.FirstTouchedAt is not null), a => Assert.True(a.FirstTouchedAt >= a.AssignedAt));
        var timers = history.Timers.ToLookup(t => t.AssignmentId);
        Assert.All(history.Assignments.Where(a => !a.IsOpen), a => Assert.DoesNotContain(timers[a.Id], t => t.Status == TimerStatus.Pending));
        Assert.All(history.Assignments.Where(a => a.BreachedAt is not null),
            a => Assert.Equal(TimerStatus.Done, timers[a.Id].Single(t => t.Kind == TimerKind.Breach).Status));
        Assert.All(data.Leads.Where(l => l.Stage == LifecycleStage.Mql && l.OwnerId is not null),
            l => Assert.Single(history.Assignments, a => a.LeadId == l.Id && a.IsOpen));
    }
}
