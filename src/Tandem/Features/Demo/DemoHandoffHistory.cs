using System.Text.Json;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Demo;

/// <summary>The two demo teams, with ids known before the history is built.</summary>
internal sealed record DemoTeams(Guid FranceId, Guid WorldId)
{
    public Guid Of(DemoRep rep) => rep.Languages[0] == "fr" ? FranceId : WorldId;
}

internal sealed record DemoHandoff(List<Assignment> Assignments, List<SlaTimer> Timers);

/// <summary>
/// The handoff history of the demo, consistent with what the SLA monitor would have done: every worked MQL has its
/// assignment with the deadlines <see cref="SlaPlanner"/> computes for the rep's calendar as of the MQL time, and its
/// timers done or cancelled with their outcomes. Most first touches beat the deadline; late ones are breached and
/// escalated, and very late ones were reassigned from a team mate first. Open MQLs whose attempts cadence ran out
/// were recycled by it; every rep also gets a few fresh, untouched MQLs, so each inbox has live countdowns (on time,
/// at risk, breached: the monitor escalates the last ones when the app starts). Pure apart from the clock value.
/// </summary>
internal static class DemoHandoffHistory
{
    private static readonly ActivityType[] AttemptTypes = [ActivityType.Call, ActivityType.EmailSent, ActivityType.Meeting];

    public static WorkCalendar CalendarFor(TimeZoneInfo zone) => zone.Id == "America/New_York"
        ? WorkCalendar.Weekdays(zone.Id, ("08:30", "17:00"))
        : WorkCalendar.Weekdays(zone.Id, ("09:00", "12:30"), ("13:30", "18:00"));

    public static Grade GradeOf(int fit) => fit switch { >= 75 => Grade.A, >= 55 => Grade.B, >= 35 => Grade.C, _ => Grade.D };

    public static DemoHandoff Build(DemoData data, DemoUsers users, DemoTeams teams, DateTimeOffset now)
    {
        var random = new Random(DemoSeeder.RandomSeed + 7);
        var result = new DemoHandoff([], []);
        var reps = users.Reps.ToDictionary(r => r.Id);
        var calendars = users.Reps.ToDictionary(r => r.Id, r => CalendarFor(r.TimeZone));
        var policies = SlaPolicy.Defaults.ToDictionary(p => p.Tier);
        var activities = data.Activities.ToLookup(a => a.LeadId);
        var transitions = data.Transitions.ToLookup(t => t.LeadId);

        foreach (var lead in data.Leads)
        {
            if (lead.OwnerId is not { } repId || !reps.TryGetValue(repId, out var rep)
                || transitions[lead.Id].FirstOrDefault(t => t.To == LifecycleStage.Mql) is not { } mql)
                continue;
            var exit = transitions[lead.Id].Where(t => t.From == LifecycleStage.Mql && t.At >= mql.At).MinBy(t => t.At);
            var touches = activities[lead.Id].Where(a => a.ActorUserId == repId && a.OccurredAt >= mql.At && AttemptTypes.Contains(a.Type))
                .OrderBy(a => a.OccurredAt).ToList();
            var tier = TierOf(lead, activities[lead.Id], mql.At);
            var policy = policies[tier];
            var assignedAt = mql.At.AddSeconds(1 + random.Next(40));
            var plan = SlaPlanner.Plan(policy, assignedAt, calendars[repId]);
            var firstTouch = touches.FirstOrDefault()?.OccurredAt;
            Assignment? previous = null;

            // Touched (or still untouched) after the grace: the monitor reassigned it from a team mate first.
            var mates = users.Reps.Where(r => r.Id != repId && teams.Of(r) == teams.Of(rep)).ToList();
            if ((firstTouch ?? exit?.At ?? now) > plan.ReassignAt && mates.Count > 0 && (firstTouch is not null || exit is null))
            {
                var late = mates[random.Next(mates.Count)];
                var latePlan = SlaPlanner.Plan(policy, assignedAt, calendars[late.Id]);
                if (latePlan.ReassignAt < (firstTouch ?? now))
                {
                    previous = NewAssignment(lead, late, teams, tier, mql.At, assignedAt, latePlan, null);
                    previous.State = AssignmentState.Reassigned;
                    previous.BreachedAt = latePlan.BreachAt;
                    previous.ClosedAt = latePlan.ReassignAt;
                    result.Assignments.Add(previous);
                    AddTimers(result, previous, latePlan, t => t.Kind switch
                    {
                        TimerKind.Reminder => (TimerStatus.Done, "reminded", t.DueAt),
                        TimerKind.Breach => (TimerStatus.Done, "breach escalated", t.DueAt),
                        TimerKind.Reassign => (TimerStatus.Done, "reassigned", t.DueAt),
                        _ => (TimerStatus.Cancelled, "superseded", latePlan.ReassignAt),
                    });
                    assignedAt = latePlan.ReassignAt;
                    plan = SlaPlanner.Plan(policy, assignedAt, calendars[repId]);
                    if (touches.Count > 0 && firstTouch > plan.ReassignAt)
                    {
                        // Picked up within the new rep's SLA (late sometimes): the first attempt moves, the later ones stay after it.
                        var span = plan.ReassignAt - plan.ClockStartsAt;
                        var at = plan.ClockStartsAt + span * (0.2 + 0.75 * random.NextDouble());
                        if (touches.Count > 1 && at > touches[1].OccurredAt)
                            at = touches[1].OccurredAt.AddMinutes(-5);
                        touches[0].OccurredAt = touches[0].CreatedAt = at;
                        firstTouch = at;
                    }
                }
            }

            var a = NewAssignment(lead, rep, teams, tier, mql.At, assignedAt, plan, previous);
            result.Assignments.Add(a);
            var stopAt = firstTouch ?? exit?.At;
            if (stopAt is null)
            {
                // Still untouched: the timers are pending and the monitor acts on the due ones when the app starts.
                AddTimers(result, a, plan, _ => (TimerStatus.Pending, null, null));
                continue;
            }
            a.FirstTouchedAt = firstTouch;
            if (stopAt > plan.FirstTouchDueAt)
                a.BreachedAt = plan.BreachAt;
            var connectedAt = touches.FirstOrDefault(t => HandoffCadence.IsConnection(t.Outcome) || t.Outcome == "Replied" || t.Type == ActivityType.Meeting)?.OccurredAt;
            a.ConnectedAt = connectedAt;
            a.State = exit is not null ? AssignmentState.Closed : AssignmentState.Touched;
            a.ClosedAt = exit?.At;

            // The attempts cadence of an MQL still open: K attempts or the end of the window without a connection recycle it.
            DateTimeOffset? recycleAt = null;
            var verdict = CadenceVerdict.Continue;
            if (exit is null && connectedAt is null)
            {
                var kth = touches.Count >= policy.Attempts ? touches[policy.Attempts - 1].OccurredAt : (DateTimeOffset?)null;
                if (kth is { } k && k <= plan.AttemptsDueAt)
                    (recycleAt, verdict) = (k, CadenceVerdict.RecycleAttempts);
                else if (plan.AttemptsDueAt <= now)
                    (recycleAt, verdict) = (plan.AttemptsDueAt, CadenceVerdict.RecycleWindow);
            }
            if (recycleAt is { } r)
            {
                var made = touches.Count(t => t.OccurredAt <= r);
                var reason = HandoffCadence.Reason(verdict, made, policy.Attempts);
                data.Transitions.Add(new StageTransition
                {
                    LeadId = lead.Id,
                    From = LifecycleStage.Mql,
                    To = LifecycleStage.Recycled,
                    At = r,
                    ByRule = HandoffCadence.Rule,
                    Reason = reason,
                });
                lead.Stage = LifecycleStage.Recycled;
                lead.StageChangedAt = r;
                lead.WorkStatus = WorkStatus.Rejected;
                if (lead.UpdatedAt < r)
                    lead.UpdatedAt = r;
                a.State = AssignmentState.Closed;
                a.ClosedAt = r;
            }
            AddTimers(result, a, plan, t => t.Kind switch
            {
                TimerKind.Reminder when t.DueAt <= stopAt => (TimerStatus.Done, "reminded", t.DueAt),
                TimerKind.Breach when t.DueAt < stopAt => (TimerStatus.Done, "breach escalated", t.DueAt),
                TimerKind.AttemptsEnd when connectedAt is { } c => (TimerStatus.Cancelled, "connected", c),
                TimerKind.AttemptsEnd when verdict == CadenceVerdict.RecycleWindow => (TimerStatus.Done, "recycled by the cadence", recycleAt),
                TimerKind.AttemptsEnd when recycleAt is { } rc => (TimerStatus.Cancelled, "recycled by the cadence", rc),
                TimerKind.AttemptsEnd when exit is { } e => (TimerStatus.Cancelled, "assignment no longer open", e.At),
                TimerKind.AttemptsEnd => (TimerStatus.Pending, null, null),
                _ => (TimerStatus.Cancelled, firstTouch is null ? "lead no longer MQL" : "first touch", stopAt),
            });
        }

        AddFreshMqls(data, users, teams, now, calendars, policies, result);
        return result;
    }

    /// <summary>A few untouched MQLs per rep, assigned so the inbox shows one on time, one at risk and one breached.</summary>
    private static void AddFreshMqls(DemoData data, DemoUsers users, DemoTeams teams, DateTimeOffset now,
        Dictionary<Guid, WorkCalendar> calendars, Dictionary<SlaTier, SlaPolicy> policies, DemoHandoff result)
    {
        var used = new HashSet<Guid>(data.Leads.Where(l => l.OwnerId is not null).Select(l => l.Id));
        var candidates = data.Leads.Where(l => l.Stage == LifecycleStage.Lead && l.OwnerId is null && l.FitScore >= 55 && l.StageChangedAt < now.AddDays(-3))
            .OrderByDescending(l => l.StageChangedAt).ToList();
        // Minute steps first (a hot MQL is at risk or breached only for minutes), coarser further back (up to four days).
        var minutesBack = Enumerable.Range(1, 180).Concat(Enumerable.Range(37, 540).Select(i => i * 5)).ToArray();
        foreach (var rep in users.Reps)
        {
            var wanted = new Queue<string>(["OnTime", "AtRisk", "Breached"]);
            while (wanted.Count > 0)
            {
                var lead = candidates.FirstOrDefault(l => !used.Contains(l.Id) && rep.Languages.Contains(l.Language ?? "en"))
                    ?? candidates.FirstOrDefault(l => !used.Contains(l.Id));
                if (lead is null)
                    return;
                used.Add(lead.Id);
                var state = wanted.Dequeue();
                var tier = SlaTiers.Classify(GradeOf(lead.FitScore), [], now, SlaTierRule.Default);
                var policy = policies[tier];
                // The first assignment time that shows the wanted state now (fallback: a few minutes ago, on time).
                var assignedAt = now.AddMinutes(-5);
                foreach (var back in minutesBack)
                {
                    var at = now.AddMinutes(-back);
                    var p = SlaPlanner.Plan(policy, at, calendars[rep.Id]);
                    var shown = p.FirstTouchDueAt <= now ? (p.ReassignAt > now ? "Breached" : "Late")
                        : now - at >= 0.8 * (p.FirstTouchDueAt - at) ? "AtRisk" : "OnTime";
                    if (shown == state)
                    {
                        assignedAt = at;
                        break;
                    }
                }
                var mqlAt = assignedAt.AddSeconds(-20);
                data.Transitions.Add(new StageTransition
                {
                    LeadId = lead.Id,
                    From = LifecycleStage.Lead,
                    To = LifecycleStage.Mql,
                    At = mqlAt,
                    ByRule = DemoSeeder.MqlRule,
                    Reason = $"Fit grade {GradeOf(lead.FitScore)} and engagement ≥ 50",
                });
                lead.Stage = LifecycleStage.Mql;
                lead.StageChangedAt = mqlAt;
                lead.OwnerId = rep.Id;
                lead.WorkStatus = WorkStatus.New;
                if (lead.UpdatedAt < mqlAt)
                    lead.UpdatedAt = mqlAt;
                var plan = SlaPlanner.Plan(policy, assignedAt, calendars[rep.Id]);
                var a = NewAssignment(lead, rep, teams, tier, mqlAt, assignedAt, plan, null);
                result.Assignments.Add(a);
                AddTimers(result, a, plan, _ => (TimerStatus.Pending, null, null));
            }
        }
    }

    private static SlaTier TierOf(Lead lead, IEnumerable<Activity> activities, DateTimeOffset mqlAt) =>
        SlaTiers.Classify(GradeOf(lead.FitScore), [.. activities.Where(a => a.Type == ActivityType.DemoRequest && a.OccurredAt <= mqlAt)
            .Select(a => new LastActivity(a.Type, a.OccurredAt))], mqlAt, SlaTierRule.Default);

    private static Assignment NewAssignment(Lead lead, DemoRep rep, DemoTeams teams, SlaTier tier, DateTimeOffset mqlAt, DateTimeOffset assignedAt, SlaPlan plan,
        Assignment? previous)
    {
        var teamId = teams.Of(rep);
        var strategy = teamId == teams.FranceId ? RoutingStrategy.RoundRobin : RoutingStrategy.LeastLoaded;
        var reason = previous is null
            ? $"{(teamId == teams.FranceId ? "Inside sales — France & Benelux" : "International")}: {strategy} picked {rep.Name}."
            : $"Reassigned after the SLA breach of the previous rep: {strategy} picked {rep.Name}.";
        var decision = new RoutingDecision(RoutingOutcome.Assigned, rep.Id, teamId, RoutingPath.TeamStrategy, null, null, teamId == teams.FranceId, strategy,
            false, reason, []);
        return new Assignment
        {
            LeadId = lead.Id,
            RepId = rep.Id,
            TeamId = teamId,
            Tier = tier,
            State = AssignmentState.Open,
            MqlAt = mqlAt,
            AssignedAt = assignedAt,
            FirstTouchDueAt = plan.FirstTouchDueAt,
            BreachAt = plan.BreachAt,
            ReassignAt = plan.ReassignAt,
            Attempts = plan.Attempts,
            AttemptsDueAt = plan.AttemptsDueAt,
            PreviousAssignmentId = previous?.Id,
            Path = RoutingPath.TeamStrategy,
            Strategy = strategy,
            Reason = reason,
            Decision = JsonSerializer.Serialize(decision, HandoffJson.Options),
        };
    }

    private static void AddTimers(DemoHandoff result, Assignment a, SlaPlan plan, Func<SlaTimer, (TimerStatus Status, string? Outcome, DateTimeOffset? DoneAt)> fate)
    {
        var timers = plan.Reminders.Select(r => new SlaTimer { AssignmentId = a.Id, Kind = TimerKind.Reminder, Percent = r.Percent, DueAt = r.DueAt })
            .Append(new SlaTimer { AssignmentId = a.Id, Kind = TimerKind.Breach, DueAt = plan.BreachAt })
            .Append(new SlaTimer { AssignmentId = a.Id, Kind = TimerKind.Reassign, DueAt = plan.ReassignAt })
            .Append(new SlaTimer { AssignmentId = a.Id, Kind = TimerKind.AttemptsEnd, DueAt = plan.AttemptsDueAt });
        foreach (var t in timers)
        {
            (t.Status, t.Outcome, t.DoneAt) = fate(t);
            if (t.Status != TimerStatus.Pending)
                t.ClaimedBy = "demo";
            result.Timers.Add(t);
        }
    }
}
