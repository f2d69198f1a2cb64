using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;

namespace Tandem.Features.Handoff;

/// <summary>Where the attempts cadence of an assignment stands.</summary>
public enum CadenceVerdict
{
    /// <summary>Fewer than K attempts, window still open, no connection yet.</summary>
    Continue,
    /// <summary>The rep reached the person: the cadence is over, the lead stays with the rep.</summary>
    Connected,
    /// <summary>K attempts without a connection: recycle.</summary>
    RecycleAttempts,
    /// <summary>The attempts window ended without a connection: recycle.</summary>
    RecycleWindow,
}

public sealed record WorkStatusRequest(string? Status);

/// <summary>The lead's work status and its cadence: attempts made of K, and when the attempts window ends.</summary>
public sealed record CadenceView(Guid LeadId, LifecycleStage Stage, WorkStatus WorkStatus, Guid? AssignmentId, int AttemptsMade, int? Attempts,
    DateTimeOffset? WindowEndsAt, DateTimeOffset? ConnectedAt);

/// <summary>
/// The attempts cadence of the SLA: after the assignment the rep makes up to K attempts (logged call, email or meeting)
/// within D working days. A connection (a touch with outcome "connected", or the lead marked Connected) ends the
/// cadence; K attempts without one, or the end of the window (an <see cref="TimerKind.AttemptsEnd"/> timer row, claimed
/// by the monitor like the SLA timers), recycle the lead through <see cref="LeadStages.Record"/> and tell the rep and
/// the manager.
/// </summary>
public static class HandoffCadence
{
    public const string ConnectedOutcome = "connected";
    /// <summary>The activity property set on a touch that connected (whatever outcome the rep wrote).</summary>
    public const string ConnectedProperty = "connected";
    public const string Rule = "handoff:cadence";

    private static readonly ActivityType[] AttemptTypes = [ActivityType.Call, ActivityType.EmailSent, ActivityType.Meeting];

    public static bool IsConnection(string? outcome) => string.Equals(outcome?.Trim(), ConnectedOutcome, StringComparison.OrdinalIgnoreCase);

    /// <summary>The cadence rule itself: a connection wins, then K attempts, then the end of the window.</summary>
    public static CadenceVerdict Decide(int attemptsMade, int attempts, bool connected, bool windowEnded) =>
        connected ? CadenceVerdict.Connected
        : attemptsMade >= attempts ? CadenceVerdict.RecycleAttempts
        : windowEnded ? CadenceVerdict.RecycleWindow
        : CadenceVerdict.Continue;

    /// <summary>The recycle reason written on the stage transition (English, like every stored reason).</summary>
    public static string Reason(CadenceVerdict verdict, int attemptsMade, int attempts) => verdict switch
    {
        CadenceVerdict.RecycleAttempts => $"SLA cadence: {attempts} attempts without connection",
        CadenceVerdict.RecycleWindow => $"SLA cadence: attempts window ended without connection ({attemptsMade} of {attempts} attempts)",
        _ => "",
    };

    /// <summary>Attempts made on an assignment's lead since it was assigned (by anyone: the rep, a colleague, a dialer).</summary>
    private static IQueryable<Activity> AttemptsOf(TandemDb db, Assignment a) =>
        db.Activities.AsNoTracking().Where(x => x.LeadId == a.LeadId && x.OccurredAt >= a.AssignedAt && AttemptTypes.Contains(x.Type));

    public static async Task<(int Made, bool Connected)> StatusAsync(TandemDb db, Assignment a, Lead lead, CancellationToken ct)
    {
        var outcomes = await AttemptsOf(db, a).Select(x => x.Outcome).ToListAsync(ct);
        return (outcomes.Count, a.ConnectedAt is not null || lead.WorkStatus == WorkStatus.Connected || outcomes.Any(IsConnection));
    }

    /// <summary>Attempts made per assignment (for lists such as the inbox).</summary>
    public static async Task<Dictionary<Guid, int>> AttemptCountsAsync(TandemDb db, IReadOnlyCollection<Guid> assignmentIds, CancellationToken ct)
    {
        if (assignmentIds.Count == 0)
            return [];
        return await (from a in db.Assignments.AsNoTracking()
                      where assignmentIds.Contains(a.Id)
                      join x in db.Activities.AsNoTracking() on a.LeadId equals x.LeadId
                      where x.OccurredAt >= a.AssignedAt && AttemptTypes.Contains(x.Type)
                      group x by a.Id into g
                      select new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
    }

    private static Task<Assignment?> OpenAssignmentAsync(TandemDb db, Guid leadId, CancellationToken ct) =>
        db.Assignments.Where(a => a.LeadId == leadId && a.RepId != null && Assignment.OpenStates.Contains(a.State))
            .OrderByDescending(a => a.AssignedAt).FirstOrDefaultAsync(ct);

    /// <summary>
    /// After a touch was saved in the caller's transaction: a connection ends the cadence, the K-th attempt without
    /// one recycles the lead. The caller saves and commits.
    /// </summary>
    public static async Task<CadenceVerdict> AfterTouchAsync(HandoffService handoff, Lead lead, Activity touch, bool connectedNow, DateTimeOffset now,
        CancellationToken ct)
    {
        if (lead.Stage != LifecycleStage.Mql || await OpenAssignmentAsync(handoff.Db, lead.Id, ct) is not { Attempts: { } attempts } a)
            return CadenceVerdict.Continue;
        if (connectedNow || IsConnection(touch.Outcome))
        {
            await ConnectAsync(handoff, a, lead, now, ct);
            return CadenceVerdict.Connected;
        }
        var (made, connected) = await StatusAsync(handoff.Db, a, lead, ct);
        var verdict = Decide(made, attempts, connected, windowEnded: false);
        if (verdict == CadenceVerdict.RecycleAttempts && !await RecycleAsync(handoff, a, lead, verdict, made, now, ct))
            return CadenceVerdict.Continue;
        return verdict;
    }

    /// <summary>The rep reached the person: the cadence timer is cancelled, the lead is Connected and stays with the rep.</summary>
    public static async Task ConnectAsync(HandoffService handoff, Assignment a, Lead lead, DateTimeOffset now, CancellationToken ct)
    {
        a.ConnectedAt ??= now;
        lead.WorkStatus = WorkStatus.Connected;
        lead.UpdatedAt = now;
        foreach (var t in await handoff.Db.SlaTimers.Where(t => t.AssignmentId == a.Id && t.Kind == TimerKind.AttemptsEnd && t.Status == TimerStatus.Pending).ToListAsync(ct))
        {
            t.Status = TimerStatus.Cancelled;
            t.DoneAt = now;
            t.Outcome = "connected";
        }
    }

    /// <summary>
    /// Recycles the lead and closes the assignment, at most once: the conditional close is the guard (a concurrent
    /// touch and window end, or two instances, find the assignment already closed and do nothing). Returns whether
    /// this call recycled. The caller saves and commits.
    /// </summary>
    public static async Task<bool> RecycleAsync(HandoffService handoff, Assignment a, Lead lead, CadenceVerdict verdict, int attemptsMade, DateTimeOffset now,
        CancellationToken ct)
    {
        var db = handoff.Db;
        if (LeadStages.Check(lead.Stage, StageAction.Recycle, null) is not null)
            return false;
        var closed = await db.Assignments.Where(x => x.Id == a.Id && Assignment.OpenStates.Contains(x.State))
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.State, AssignmentState.Closed).SetProperty(x => x.ClosedAt, now), ct);
        if (closed == 0)
            return false;
        a.State = AssignmentState.Closed;
        a.ClosedAt = now;
        await handoff.CancelTimersAsync(a.Id, now, "recycled by the cadence", ct);
        var reason = Reason(verdict, attemptsMade, a.Attempts ?? attemptsMade);
        LeadStages.Record(db, lead, LifecycleStage.Recycled, new Actor(null, "SLA cadence"), Rule, reason, now);
        lead.WorkStatus = WorkStatus.Rejected;
        var body = $"{reason}. The lead went back to marketing for nurturing.";
        await handoff.NotifyAsync(a.RepId!.Value, "handoff.recycled", $"Recycled: {lead.DisplayName}", body, lead.Id, false, $"handoff.recycled:{a.Id}:rep", ct);
        var config = await handoff.CurrentConfigAsync(ct);
        foreach (var manager in await handoff.ManagersAsync(config, a.TeamId, ct))
            await handoff.NotifyAsync(manager, "handoff.recycled", $"Recycled: {lead.DisplayName}", body, lead.Id, false, $"handoff.recycled:{a.Id}:{manager}", ct);
        return true;
    }

    /// <summary>The window ended (the monitor claimed the timer): recycle unless the rep connected. Returns the verdict acted on.</summary>
    public static async Task<CadenceVerdict> WindowEndedAsync(HandoffService handoff, Assignment a, Lead lead, DateTimeOffset now, CancellationToken ct)
    {
        var (made, connected) = await StatusAsync(handoff.Db, a, lead, ct);
        var verdict = Decide(made, a.Attempts ?? int.MaxValue, connected, windowEnded: true);
        if (verdict == CadenceVerdict.Connected)
            return verdict;
        return await RecycleAsync(handoff, a, lead, verdict, made, now, ct) ? verdict : CadenceVerdict.Continue;
    }

    /// <summary>Marks the MQL Attempting or Connected (API and inbox). Connected also counts as the first touch.</summary>
    public static async Task<WorkOutcome<CadenceView>> SetWorkStatusAsync(HandoffService handoff, Guid id, WorkStatusRequest body, DateTimeOffset now,
        CancellationToken ct)
    {
        var errors = new FieldErrors();
        WorkStatus status = default;
        if (body.Status is null || !Enum.TryParse(body.Status.Trim(), ignoreCase: true, out status) || status is not (WorkStatus.Attempting or WorkStatus.Connected)
            || int.TryParse(body.Status, out _))
            errors.Add("status", "One of: Attempting, Connected.");
        var db = handoff.Db;
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (lead is null)
            return new(NotFound: true);
        if (lead.Stage != LifecycleStage.Mql)
            errors.Add("lead", $"Only an MQL is worked by sales; this lead is {lead.Stage}.");
        else if (status == WorkStatus.Attempting && lead.WorkStatus == WorkStatus.Connected)
            errors.Add("status", "The rep already connected with this lead; the attempts cadence is over.");
        if (errors.Any)
            return new(Errors: errors.ToDictionary());
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var a = await OpenAssignmentAsync(db, id, ct);
        if (status == WorkStatus.Connected)
        {
            await handoff.FirstTouchAsync(id, now, ct);
            if (a is not null)
                await ConnectAsync(handoff, a, lead, now, ct);
            lead.WorkStatus = WorkStatus.Connected;
        }
        else
        {
            lead.WorkStatus = WorkStatus.Attempting;
        }
        lead.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new(await ViewAsync(db, lead, a, ct));
    }

    public static async Task<CadenceView> ViewAsync(TandemDb db, Lead lead, Assignment? a, CancellationToken ct)
    {
        var made = a is null ? 0 : (await StatusAsync(db, a, lead, ct)).Made;
        return new CadenceView(lead.Id, lead.Stage, lead.WorkStatus, a?.Id, made, a?.Attempts, a?.AttemptsDueAt, a?.ConnectedAt);
    }

    /// <summary>POST /api/v1/leads/{id}/work-status.</summary>
    public static async Task<Results<Ok<CadenceView>, ValidationProblem, ProblemHttpResult>> WorkStatusEndpointAsync(Guid id, WorkStatusRequest body,
        HandoffService handoff, TimeProvider clock, CancellationToken ct)
    {
        var outcome = await SetWorkStatusAsync(handoff, id, body, clock.GetUtcNow(), ct);
        if (outcome.NotFound)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (outcome.Errors is not null)
            return TypedResults.ValidationProblem(outcome.Errors);
        return TypedResults.Ok(outcome.Value!);
    }
}
