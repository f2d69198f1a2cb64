using System.Net;
using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;

namespace Tandem.Features.Work;

public sealed record OwnerChangeRequest(Guid? OwnerId, string? Reason);

/// <summary>
/// A manager or an admin gives a lead to another person from the lead page, with a reason (decision 021c). An MQL goes through the
/// handoff's reassignment (<see cref="HandoffSetup.ReassignAsync"/>: a new assignment with its SLA clock, the previous one closed, the
/// new rep notified); any other lead just changes owner. Either way the change is audited (<c>lead.owner-changed</c>) and recorded in
/// the lead's timeline as a note of kind <see cref="NoteKind.OwnerChange"/> (who, from whom to whom, why), all in one transaction.
/// </summary>
public sealed class LeadOwnerChange(TandemDb db, ILeadAccess leads, HandoffSetup handoff, WorkAccess access, Notifier notifier, TimeProvider clock)
{
    public const int MaxReason = 1000;

    /// <summary>Admins and sales managers (for the leads they may work); nobody else.</summary>
    public async Task<bool> MayChangeAsync(ClaimsPrincipal user, Guid leadId, CancellationToken ct) =>
        (user.IsInRole(Roles.Admin) || user.IsInRole(Roles.SalesManager)) && await leads.MayAsync(db, user, leadId, LeadRight.Work, ct);

    public async Task<WorkItemOutcome<Guid>> ChangeAsync(ClaimsPrincipal user, Guid leadId, OwnerChangeRequest body, CancellationToken ct)
    {
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return WorkItemOutcome<Guid>.Missing;
        if (!await MayChangeAsync(user, leadId, ct))
            return WorkItemOutcome<Guid>.Refused;
        var errors = new WorkErrors();
        var reason = body.Reason?.Trim();
        if (string.IsNullOrEmpty(reason))
            errors.Add("reason", "Work.Error.ReasonRequired");
        else if (!SafeText.IsStorable(reason))
            errors.Add("reason", "Work.Error.NotText");
        else if (reason.Length > MaxReason)
            errors.Add("reason", "Work.Error.ReasonTooLong", MaxReason);
        var owner = body.OwnerId is { } o ? await db.Users.AsNoTracking().Where(u => u.Id == o).Select(u => new { u.Id, u.DisplayName, u.Email, u.IsActive }).FirstOrDefaultAsync(ct) : null;
        if (body.OwnerId is null)
            errors.Add("ownerId", "Work.Error.OwnerRequired");
        else if (owner is null)
            errors.Add("ownerId", "Work.Error.AssigneeUnknown");
        else if (!owner.IsActive)
            errors.Add("ownerId", "Work.Error.AssigneeDeactivated");
        else if (owner.Id == lead.OwnerId)
            errors.Add("ownerId", "Work.Error.SameOwner");
        if (errors.Any)
            return WorkItemOutcome<Guid>.Invalid(errors);

        var actor = Actor.From(user);
        var now = clock.GetUtcNow();
        var previous = lead.OwnerId is { } p ? await db.Users.AsNoTracking().Where(u => u.Id == p).Select(u => u.DisplayName == "" ? u.Email : u.DisplayName).FirstOrDefaultAsync(ct) : null;
        var next = owner!.DisplayName == "" ? owner.Email ?? "" : owner.DisplayName;
        var note = new Note
        {
            LeadId = leadId,
            Kind = NoteKind.OwnerChange,
            Html = WebUtility.HtmlEncode($"{previous ?? "—"} → {next}: {reason}"),
            AuthorUserId = actor.Id,
            AuthorName = await access.DisplayNameAsync(actor, ct),
            CreatedAt = now,
        };
        var audit = new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = NotesService.Truncate(actor.Name, 256),
            Action = "lead.owner-changed",
            EntityType = nameof(Lead),
            EntityId = leadId.ToString(),
            Details = NotesService.Truncate($"from={lead.OwnerId}; to={owner.Id}; reason={reason}", 4000),
        };
        db.Notes.Add(note);
        db.AuditEntries.Add(audit);
        if (lead.Stage == LifecycleStage.Mql)
        {
            // The handoff's reassignment saves in its own transaction: the note and the audit entry, already tracked, commit with it.
            var r = await handoff.ReassignAsync(leadId, new ReassignRequest(owner.Id, reason), actor.Name, ct);
            if (!r.Ok)
            {
                db.Entry(note).State = EntityState.Detached;
                db.Entry(audit).State = EntityState.Detached;
                var failed = new WorkErrors();
                failed.Add("ownerId", "Work.Error.OwnerChangeFailed");
                return WorkItemOutcome<Guid>.Invalid(failed);
            }
            return new(owner.Id);
        }
        lead.OwnerId = owner.Id;
        lead.UpdatedAt = now;
        await notifier.EnqueueAsync(new NotificationRequest
        {
            Kind = "lead.owner-changed",
            RecipientUserId = owner.Id,
            Channels = [NotificationChannel.InApp],
            Subject = $"{note.AuthorName} gave you {lead.DisplayName}",
            Body = reason!,
            Link = $"/leads/{leadId}",
            DedupeKey = $"lead.owner-changed:{note.Id}",
        }, ct);
        await db.SaveChangesAsync(ct);
        return new(owner.Id);
    }
}
