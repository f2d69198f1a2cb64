using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Qualification;

namespace Tandem.Features.Handoff;

/// <summary>Result of a rep's action: a value, field errors, or not found.</summary>
public sealed record WorkOutcome<T>(T? Value = default, Dictionary<string, string[]>? Errors = null, bool NotFound = false);

/// <summary>A rep's actions on an MQL (log a touch, reject with a reason), shared by the API and the inbox; touches drive the <see cref="HandoffCadence"/>.</summary>
public static class LeadWork
{
    public const int MaxNote = 2000;

    private static readonly Dictionary<string, ActivityType> TouchTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["call"] = ActivityType.Call,
        ["email"] = ActivityType.EmailSent,
        ["meeting"] = ActivityType.Meeting,
        ["note"] = ActivityType.Note,
    };

    public static async Task<WorkOutcome<TouchView>> TouchAsync(HandoffService handoff, Guid id, TouchRequest body, Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var type = ActivityType.Note;
        if (body.Type is null || !TouchTypes.TryGetValue(body.Type.Trim(), out type))
            errors.Add("type", "One of: call, email, meeting, note.");
        if (body.Outcome?.Trim().Length > 100)
            errors.Add("outcome", "At most 100 characters.");
        if (body.Note?.Trim().Length > MaxNote)
            errors.Add("note", $"At most {MaxNote} characters.");
        var connected = body.Connected == true || HandoffCadence.IsConnection(body.Outcome);
        if (connected && !errors.HasAny("type") && !HandoffService.IsTouch(type))
            errors.Add("connected", "Only a call, an email or a meeting can connect with the lead; a note cannot.");
        if (errors.Any)
            return new(Errors: errors.ToDictionary());
        var db = handoff.Db;
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (lead is null)
            return new(NotFound: true);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var activity = new Activity
        {
            LeadId = id,
            Type = type,
            OccurredAt = now,
            Source = "sales",
            ActorUserId = actor.Id,
            Outcome = string.IsNullOrWhiteSpace(body.Outcome) ? null : body.Outcome.Trim(),
            Properties = TouchProperties(body.Note, connected),
            CreatedAt = now,
        };
        db.Activities.Add(activity);
        Assignment? touched = null;
        if (HandoffService.IsTouch(type))
        {
            touched = await handoff.FirstTouchAsync(id, now, ct);
            if (lead.WorkStatus is WorkStatus.New or WorkStatus.None && lead.Stage == LifecycleStage.Mql)
                lead.WorkStatus = WorkStatus.Attempting;
        }
        // Always written with the activity: a lead merged away meanwhile fails this update instead of keeping an orphan activity (decision 009).
        lead.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        var cadence = HandoffService.IsTouch(type) ? await HandoffCadence.AfterTouchAsync(handoff, lead, activity, connected, now, ct) : CadenceVerdict.Continue;
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        if (cadence == CadenceVerdict.RecycleAttempts)
            handoff.Counters.CountRecycled();
        return new(new TouchView(activity.Id, touched is not null, touched?.Id, now, connected));
    }

    /// <summary>The touch's note and whether it connected, stored with the activity (the outcome column keeps the rep's words).</summary>
    private static string? TouchProperties(string? note, bool connected)
    {
        var properties = new Dictionary<string, object>();
        if (!string.IsNullOrWhiteSpace(note))
            properties["note"] = note.Trim();
        if (connected)
            properties[HandoffCadence.ConnectedProperty] = true;
        return properties.Count == 0 ? null : JsonSerializer.Serialize(properties);
    }

    public static async Task<WorkOutcome<RejectView>> RejectAsync(HandoffService handoff, Guid id, RejectRequest body, Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var text = body.Text?.Trim();
        if (body.Reason is not { } reason || !Enum.IsDefined(reason))
        {
            errors.Add("reason", "Choose why the lead is rejected: one of " + string.Join(", ", Enum.GetNames<RejectReason>()) + ".");
            reason = RejectReason.Other;
        }
        else if (reason == RejectReason.Other && string.IsNullOrEmpty(text))
            errors.Add("text", "Say why when the reason is Other.");
        if (text?.Length > LeadStages.MaxReason)
            errors.Add("text", $"At most {LeadStages.MaxReason} characters.");
        var db = handoff.Db;
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == id, ct);
        if (lead is null)
            return new(NotFound: true);
        if (lead.Stage != LifecycleStage.Mql)
            errors.Add("lead", $"Only an MQL can be rejected; this lead is {lead.Stage}.");
        if (errors.Any)
            return new(Errors: errors.ToDictionary());
        var target = RejectReasons.Outcome(reason, body.Disqualify);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        foreach (var a in await db.Assignments.Where(a => a.LeadId == id
            && Assignment.OpenStates.Contains(a.State)).ToListAsync(ct))
        {
            await handoff.CancelTimersAsync(a.Id, now, "rejected", ct);
            a.State = AssignmentState.Closed;
            a.ClosedAt = now;
        }
        LeadStages.Record(db, lead, target, actor, DispositionRules.Reject(reason.ToString()), string.IsNullOrEmpty(text) ? reason.ToString() : $"{reason}: {text}", now);
        lead.WorkStatus = WorkStatus.Rejected;
        await handoff.Webhooks.PublishAsync(db, Platform.OutboundWebhooks.WebhookEvents.LeadRejected, new
        {
            lead = LeadWebhookData.Of(lead),
            reason,
            text = string.IsNullOrEmpty(text) ? null : text,
            disqualified = target == LifecycleStage.Disqualified,
            by = actor.Id,
            at = now,
        }, ct);
        await db.SaveChangesAsync(ct);
        await handoff.DispositionAsync(lead, new Disposition(id, false, reason.ToString(), text, actor.Id, now), ct);
        await tx.CommitAsync(ct);
        return new(new RejectView(id, target, reason));
    }
}
