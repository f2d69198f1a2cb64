using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;

namespace Tandem.Features.Handoff;

public sealed class HandoffOptions
{
    public double PollMilliseconds { get; set; } = 1000;
    public int BatchSize { get; set; } = 50;
    public bool RunMonitor { get; set; } = true;
}

/// <summary>
/// One pass of the SLA monitor: claims due timers and acts on each inside one transaction, so the action, its
/// notifications and the timer's Done status commit together (exactly once), or not at all (retried next pass).
/// PostgreSQL claims with <c>FOR UPDATE SKIP LOCKED</c>: a second instance takes other rows instead of waiting.
/// </summary>
public sealed class SlaTimerProcessor(HandoffService handoff, TimeProvider clock, HandoffCounters counters, ILogger<SlaTimerProcessor> log)
{
    private const string Reminded = "reminded";
    private const string Escalated = "breach escalated";
    private const string Reassigned = "reassigned";
    private const string Recycled = "recycled by the cadence";

    private TandemDb Db => handoff.Db;

    /// <summary>Processes up to <paramref name="batch"/> due timers; returns how many were claimed.</summary>
    public async Task<int> ProcessDueAsync(int batch, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        // A cheap read first: most passes find nothing, and a transaction would take SQLite's write lock for nothing.
        if (!await Db.SlaTimers.AnyAsync(t => t.Status == TimerStatus.Pending && t.DueAt <= now, ct))
            return 0;
        await using var tx = await Db.Database.BeginTransactionAsync(ct);
        // The routing lock first, like every other routing transaction: taking it after row locks deadlocks with a manual reassign.
        await handoff.LockConfigAsync(ct);
        List<SlaTimer> timers;
        if (Db.Database.IsNpgsql())
            timers = await Db.SlaTimers.FromSqlRaw(
                "SELECT * FROM \"SlaTimers\" WHERE \"Status\" = 'Pending' AND \"DueAt\" <= {0} ORDER BY \"DueAt\" LIMIT {1} FOR UPDATE SKIP LOCKED",
                now, batch).ToListAsync(ct);
        else
            timers = await Db.SlaTimers.Where(t => t.Status == TimerStatus.Pending && t.DueAt <= now).OrderBy(t => t.DueAt).Take(batch).ToListAsync(ct);
        var breaches = 0;
        var reassigned = 0;
        var recycled = 0;
        foreach (var timer in timers)
        {
            if (timer.Status != TimerStatus.Pending)
                continue; // cancelled by an action earlier in this batch
            if (!Db.Database.IsNpgsql()
                && await Db.SlaTimers.Where(t => t.Id == timer.Id && t.Status == TimerStatus.Pending)
                    .ExecuteUpdateAsync(s => s.SetProperty(t => t.ClaimedBy, counters.InstanceId), ct) == 0)
                continue;
            var outcome = await ActAsync(timer, now, ct);
            if (outcome is Reminded or Escalated or Reassigned or Recycled)
            {
                // Done even when the action itself cancelled the assignment's other timers (a reassignment does).
                timer.Status = TimerStatus.Done;
                timer.DoneAt = now;
                timer.Outcome = outcome;
            }
            timer.ClaimedBy = counters.InstanceId;
            breaches += outcome == Escalated ? 1 : 0;
            reassigned += outcome == Reassigned ? 1 : 0;
            recycled += outcome == Recycled ? 1 : 0;
        }
        await Db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        for (var i = 0; i < breaches; i++)
            counters.CountBreach();
        for (var i = 0; i < reassigned; i++)
            counters.CountReassigned();
        for (var i = 0; i < recycled; i++)
            counters.CountRecycled();
        return timers.Count;
    }

    private async Task<string> ActAsync(SlaTimer timer, DateTimeOffset now, CancellationToken ct)
    {
        var assignment = await Db.Assignments.FirstOrDefaultAsync(a => a.Id == timer.AssignmentId, ct);
        if (assignment is null || !assignment.IsOpen || assignment.RepId is not { } repId)
            return Cancel(timer, now, "assignment no longer open");
        if (timer.Kind == TimerKind.AttemptsEnd)
            return await AttemptsEndedAsync(timer, assignment, now, ct);
        // A touch logged as an activity (by the rep, or by an integration without a user) stops the clock too.
        if (assignment.FirstTouchedAt is null)
        {
            var touchedAt = await Db.Activities.AsNoTracking()
                .Where(a => a.LeadId == assignment.LeadId && a.OccurredAt >= assignment.AssignedAt
                    && (a.Type == ActivityType.Call || a.Type == ActivityType.EmailSent || a.Type == ActivityType.Meeting)
                    && (a.ActorUserId == null || a.ActorUserId == repId))
                .OrderBy(a => a.OccurredAt).Select(a => (DateTimeOffset?)a.OccurredAt).FirstOrDefaultAsync(ct);
            if (touchedAt is { } at)
            {
                await handoff.FirstTouchAsync(assignment.LeadId, at, ct);
                return Cancel(timer, now, "first touch");
            }
        }
        if (assignment.FirstTouchedAt is not null)
            return Cancel(timer, now, "first touch");
        var lead = await Db.Leads.FirstOrDefaultAsync(l => l.Id == assignment.LeadId, ct);
        if (lead is null || lead.Stage != LifecycleStage.Mql)
        {
            assignment.State = AssignmentState.Closed;
            assignment.ClosedAt = now;
            return Cancel(timer, now, "lead no longer MQL");
        }
        var config = await handoff.LockConfigAsync(ct);
        switch (timer.Kind)
        {
            case TimerKind.Reminder when assignment.BreachAt is { } breachAt && now >= breachAt:
                // Found late (after downtime): the breach alert says more than a stale "50 % used".
                return Cancel(timer, now, "reminder superseded by the breach");
            case TimerKind.Reminder:
                await handoff.NotifyAsync(repId, "handoff.reminder", $"{timer.Percent}% of the first-touch time used: {lead.DisplayName}",
                    $"First touch due {assignment.FirstTouchDueAt:u}.", lead.Id, assignment.Tier == SlaTier.Hot, $"handoff.reminder:{timer.Id}", ct);
                return Reminded;
            case TimerKind.Breach:
                assignment.State = AssignmentState.Breached;
                assignment.BreachedAt = timer.DueAt;
                await handoff.NotifyAsync(repId, "handoff.breach", $"SLA breached: {lead.DisplayName}",
                    $"The first touch was due {assignment.FirstTouchDueAt:u}; your manager has been told.", lead.Id, true, $"handoff.breach:{assignment.Id}:rep", ct);
                foreach (var manager in await handoff.ManagersAsync(config, assignment.TeamId, ct))
                    await handoff.NotifyAsync(manager, "handoff.breach", $"SLA breached: {lead.DisplayName}",
                        $"No first touch by the due time {assignment.FirstTouchDueAt:u}; reassignment at {assignment.ReassignAt:u} unless touched.",
                        lead.Id, true, $"handoff.breach:{assignment.Id}:{manager}", ct);
                await handoff.Webhooks.PublishAsync(Db, Platform.OutboundWebhooks.WebhookEvents.SlaBreached, new
                {
                    lead = LeadWebhookData.Of(lead),
                    assignment = new
                    {
                        id = assignment.Id,
                        repId,
                        tier = assignment.Tier,
                        assignedAt = assignment.AssignedAt,
                        firstTouchDueAt = assignment.FirstTouchDueAt,
                        breachedAt = assignment.BreachedAt,
                        reassignAt = assignment.ReassignAt
                    },
                }, ct);
                log.LogInformation("SLA breach on assignment {AssignmentId}", assignment.Id);
                return Escalated;
            case TimerKind.Reassign:
                var next = await handoff.AssignAsync(lead, new RouteRequest(assignment.MqlAt, ExcludeRepId: repId, Previous: assignment), ct);
                await handoff.NotifyAsync(repId, "handoff.reassigned", $"Reassigned: {lead.DisplayName}",
                    "No first touch within the grace period after the breach; the lead went to someone else.", lead.Id, false,
                    $"handoff.reassigned:{assignment.Id}", ct);
                log.LogInformation("Assignment {AssignmentId} reassigned as {NextId}", assignment.Id, next.Id);
                return Reassigned;
            default:
                return Cancel(timer, now, "unknown timer");
        }
    }

    /// <summary>The attempts window ended: recycle the MQL unless the rep connected (the first touch does not stop this timer).</summary>
    private async Task<string> AttemptsEndedAsync(SlaTimer timer, Assignment assignment, DateTimeOffset now, CancellationToken ct)
    {
        var lead = await Db.Leads.FirstOrDefaultAsync(l => l.Id == assignment.LeadId, ct);
        if (lead is null || lead.Stage != LifecycleStage.Mql)
        {
            assignment.State = AssignmentState.Closed;
            assignment.ClosedAt = now;
            return Cancel(timer, now, "lead no longer MQL");
        }
        var verdict = await HandoffCadence.WindowEndedAsync(handoff, assignment, lead, now, ct);
        if (verdict is CadenceVerdict.RecycleAttempts or CadenceVerdict.RecycleWindow)
        {
            log.LogInformation("Assignment {AssignmentId} ended its attempts cadence: lead recycled ({Verdict})", assignment.Id, verdict);
            return Recycled;
        }
        return Cancel(timer, now, verdict == CadenceVerdict.Connected ? "connected" : "assignment no longer open");
    }

    private static string Cancel(SlaTimer timer, DateTimeOffset now, string why)
    {
        timer.Status = TimerStatus.Cancelled;
        timer.DoneAt = now;
        timer.Outcome = why;
        return why;
    }

    /// <summary>
    /// Re-routes the open assignments of deactivated reps (one at a time, each in its own transaction; PostgreSQL
    /// skips assignments another instance is handling). Returns how many were re-routed.
    /// </summary>
    public async Task<int> RerouteDeactivatedAsync(int batch, CancellationToken ct)
    {
        var done = 0;
        if (!await Db.Assignments.AnyAsync(x => (x.State == AssignmentState.Open || x.State == AssignmentState.Touched || x.State == AssignmentState.Breached)
            && Db.Users.Any(u => u.Id == x.RepId && !u.IsActive), ct))
            return 0;
        for (var i = 0; i < batch; i++)
        {
            await using var tx = await Db.Database.BeginTransactionAsync(ct);
            await handoff.LockConfigAsync(ct); // the routing lock before the row (see ProcessDueAsync)
            Assignment? a;
            if (Db.Database.IsNpgsql())
                a = await Db.Assignments.FromSqlRaw(
                    "SELECT a.* FROM \"Assignments\" a JOIN \"AspNetUsers\" u ON u.\"Id\" = a.\"RepId\" " +
                    "WHERE a.\"State\" IN ('Open', 'Touched', 'Breached') AND NOT u.\"IsActive\" LIMIT 1 FOR UPDATE OF a SKIP LOCKED").FirstOrDefaultAsync(ct);
            else
                a = await Db.Assignments.Where(x => (x.State == AssignmentState.Open || x.State == AssignmentState.Touched || x.State == AssignmentState.Breached)
                    && Db.Users.Any(u => u.Id == x.RepId && !u.IsActive)).FirstOrDefaultAsync(ct);
            if (a is null)
                return done;
            var lead = await Db.Leads.FirstOrDefaultAsync(l => l.Id == a.LeadId, ct);
            if (lead is null || lead.Stage != LifecycleStage.Mql)
            {
                a.State = AssignmentState.Closed;
                a.ClosedAt = clock.GetUtcNow();
                await handoff.CancelTimersAsync(a.Id, clock.GetUtcNow(), "lead no longer MQL", ct);
            }
            else
            {
                await handoff.AssignAsync(lead, new RouteRequest(a.MqlAt, ExcludeRepId: a.RepId, Previous: a), ct);
            }
            await Db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
            done++;
        }
        return done;
    }

    /// <summary>
    /// Tries the queued MQLs again, oldest first (a rep came on shift, capacity freed up, a team was created): the ones
    /// routing would now give to someone are assigned; the others stay queued without a new alert. Returns how many
    /// were assigned.
    /// </summary>
    public async Task<int> DrainQueueAsync(int batch, CancellationToken ct)
    {
        if (!await Db.Assignments.AnyAsync(a => a.State == AssignmentState.Open && a.RepId == null, ct))
            return 0;
        await using var tx = await Db.Database.BeginTransactionAsync(ct);
        // The routing lock before the queued rows (see ProcessDueAsync).
        var config = await handoff.LockConfigAsync(ct);
        List<Assignment> queued;
        if (Db.Database.IsNpgsql())
            queued = await Db.Assignments.FromSqlRaw(
                "SELECT * FROM \"Assignments\" WHERE \"State\" = 'Open' AND \"RepId\" IS NULL ORDER BY \"AssignedAt\" LIMIT {0} FOR UPDATE SKIP LOCKED", batch)
                .ToListAsync(ct);
        else
            queued = await Db.Assignments.Where(a => a.State == AssignmentState.Open && a.RepId == null).OrderBy(a => a.AssignedAt).Take(batch).ToListAsync(ct);
        if (queued.Count == 0)
            return 0;
        var now = clock.GetUtcNow();
        var assigned = 0;
        foreach (var a in queued)
        {
            var lead = await Db.Leads.FirstOrDefaultAsync(l => l.Id == a.LeadId, ct);
            if (lead is null || lead.Stage != LifecycleStage.Mql)
            {
                a.State = AssignmentState.Closed;
                a.ClosedAt = now;
                continue;
            }
            var (decision, _, _) = await handoff.DecideAsync(config, lead, null, now, ct);
            if (decision.Outcome != RoutingOutcome.Assigned)
                continue;
            await handoff.AssignAsync(lead, new RouteRequest(a.MqlAt, Previous: a), ct);
            assigned++;
        }
        await Db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return assigned;
    }

    /// <summary>Closes open assignments whose lead left MQL another way (accepted as SQL, recycled, disqualified, merged).</summary>
    public async Task<int> CloseFinishedAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        return await Db.Assignments
            .Where(a => Assignment.OpenStates.Contains(a.State)
                && Db.Leads.Any(l => l.Id == a.LeadId && l.Stage != LifecycleStage.Mql))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, AssignmentState.Closed).SetProperty(a => a.ClosedAt, now), ct);
    }
}

/// <summary>Runs <see cref="SlaTimerProcessor"/> every poll interval on every instance.</summary>
public sealed class SlaMonitor(IServiceScopeFactory scopes, Microsoft.Extensions.Options.IOptions<HandoffOptions> options, ILogger<SlaMonitor> log)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.RunMonitor)
            return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                int claimed;
                do
                {
                    await using var scope = scopes.CreateAsyncScope();
                    claimed = await scope.ServiceProvider.GetRequiredService<SlaTimerProcessor>().ProcessDueAsync(o.BatchSize, stoppingToken);
                }
                while (claimed == o.BatchSize && !stoppingToken.IsCancellationRequested);
                await using (var scope = scopes.CreateAsyncScope())
                {
                    var processor = scope.ServiceProvider.GetRequiredService<SlaTimerProcessor>();
                    await processor.CloseFinishedAsync(stoppingToken);
                }
                await using (var scope = scopes.CreateAsyncScope())
                    await scope.ServiceProvider.GetRequiredService<SlaTimerProcessor>().RerouteDeactivatedAsync(o.BatchSize, stoppingToken);
                await using (var scope = scopes.CreateAsyncScope())
                    await scope.ServiceProvider.GetRequiredService<SlaTimerProcessor>().DrainQueueAsync(o.BatchSize, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogWarning(ex, "SLA monitor pass failed; retrying");
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(o.PollMilliseconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
