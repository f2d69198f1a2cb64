using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;

namespace Tandem.Features.Work;

public sealed record NoteRequest(string? Body, List<Guid>? Mentions = null);

public sealed record NoteView(Guid Id, Guid? LeadId, Guid? AccountId, NoteKind Kind, string Html, string Text, Guid? AuthorUserId, string AuthorName,
    DateTimeOffset CreatedAt, DateTimeOffset? EditedAt)
{
    public static NoteView From(Note n) =>
        new(n.Id, n.LeadId, n.AccountId, n.Kind, n.Html, NoteText.ToPlainText(n.Html), n.AuthorUserId, n.AuthorName, n.CreatedAt, n.EditedAt);
}

/// <summary>
/// Notes on a lead or an account: written by whoever may annotate the record, edited and deleted by their author or an admin (audited),
/// with @mentions that notify the people named in-app (decision 021c).
/// </summary>
public sealed class NotesService(TandemDb db, WorkAccess access, Notifier notifier, TimeProvider clock)
{
    public const int MaxListed = 500;

    public async Task<WorkItemOutcome<List<NoteView>>> ListAsync(ClaimsPrincipal user, WorkTarget target, CancellationToken ct)
    {
        var verdict = await access.CheckAsync(user, target, write: false, ct);
        if (verdict != AccessVerdict.Allowed)
            return new(null, verdict);
        var q = target.Kind == RecordKind.Lead ? db.Notes.Where(n => n.LeadId == target.Id) : db.Notes.Where(n => n.AccountId == target.Id);
        var rows = await q.AsNoTracking().OrderByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id).Take(MaxListed).ToListAsync(ct);
        return new([.. rows.Select(NoteView.From)]);
    }

    public async Task<WorkItemOutcome<NoteView>> AddAsync(ClaimsPrincipal user, WorkTarget target, NoteRequest body, CancellationToken ct)
    {
        var verdict = await access.CheckAsync(user, target, write: true, ct);
        if (verdict != AccessVerdict.Allowed)
            return new(default, verdict);
        var errors = new WorkErrors();
        var html = Validate(body, errors);
        var mentioned = html is null ? [] : await MentionsAsync(html, body.Mentions, errors, ct);
        if (errors.Any)
            return WorkItemOutcome<NoteView>.Invalid(errors);
        var actor = Actor.From(user);
        var now = clock.GetUtcNow();
        var note = new Note
        {
            LeadId = target.Kind == RecordKind.Lead ? target.Id : null,
            AccountId = target.Kind == RecordKind.Account ? target.Id : null,
            Html = html!,
            AuthorUserId = actor.Id,
            AuthorName = await access.DisplayNameAsync(actor, ct),
            CreatedAt = now,
        };
        db.Notes.Add(note);
        Audit(actor, "note.created", note, now);
        await NotifyAsync(note, target, mentioned, actor, ct);
        await db.SaveChangesAsync(ct);
        return new(NoteView.From(note));
    }

    public async Task<WorkItemOutcome<NoteView>> EditAsync(ClaimsPrincipal user, Guid noteId, NoteRequest body, CancellationToken ct)
    {
        var note = await db.Notes.FirstOrDefaultAsync(n => n.Id == noteId, ct);
        if (note is null)
            return WorkItemOutcome<NoteView>.Missing;
        if (!await MayChangeAsync(user, note, ct))
            return WorkItemOutcome<NoteView>.Refused;
        var errors = new WorkErrors();
        if (note.Kind != NoteKind.Note)
            errors.Add("body", "Work.Error.NoteNotEditable");
        var html = errors.Any ? null : Validate(body, errors);
        var mentioned = html is null ? [] : await MentionsAsync(html, body.Mentions, errors, ct);
        if (errors.Any)
            return WorkItemOutcome<NoteView>.Invalid(errors);
        var actor = Actor.From(user);
        var now = clock.GetUtcNow();
        note.Html = html!;
        note.EditedAt = now;
        Audit(actor, "note.edited", note, now);
        // Only people newly named get a message: the dedupe key (note, person) was used by the first one.
        await NotifyAsync(note, WorkTarget.Of(note.LeadId, note.AccountId), mentioned, actor, ct);
        await db.SaveChangesAsync(ct);
        return new(NoteView.From(note));
    }

    public async Task<WorkItemOutcome<bool>> DeleteAsync(ClaimsPrincipal user, Guid noteId, CancellationToken ct)
    {
        var note = await db.Notes.FirstOrDefaultAsync(n => n.Id == noteId, ct);
        if (note is null)
            return WorkItemOutcome<bool>.Missing;
        if (!await MayChangeAsync(user, note, ct))
            return WorkItemOutcome<bool>.Refused;
        if (note.Kind != NoteKind.Note)
        {
            var errors = new WorkErrors();
            errors.Add("id", "Work.Error.NoteNotEditable");
            return WorkItemOutcome<bool>.Invalid(errors);
        }
        var now = clock.GetUtcNow();
        db.Notes.Remove(note);
        Audit(Actor.From(user), "note.deleted", note, now, NoteText.ToPlainText(note.Html));
        await db.SaveChangesAsync(ct);
        return new(true);
    }

    /// <summary>The author, or an admin who may still read the record.</summary>
    public async Task<bool> MayChangeAsync(ClaimsPrincipal user, Note note, CancellationToken ct)
    {
        if (!WorkAccess.IsAdmin(user) && (note.AuthorUserId is null || note.AuthorUserId != Actor.From(user).Id))
            return false;
        return await access.CheckAsync(user, WorkTarget.Of(note.LeadId, note.AccountId), write: false, ct) == AccessVerdict.Allowed;
    }

    /// <summary>The sanitized HTML of the body, or null with field errors (missing, too long, not storable, empty once sanitized).</summary>
    public static string? Validate(NoteRequest body, WorkErrors errors)
    {
        var text = body.Body;
        if (string.IsNullOrWhiteSpace(text))
        {
            errors.Add("body", "Work.Error.NoteRequired");
            return null;
        }
        if (!SafeText.IsStorable(text))
        {
            errors.Add("body", "Work.Error.NotText");
            return null;
        }
        if (text.Trim().Length > Note.MaxBodyInput)
        {
            errors.Add("body", "Work.Error.NoteTooLong", Note.MaxBodyInput);
            return null;
        }
        var html = NoteText.ToSafeHtml(text);
        if (string.IsNullOrWhiteSpace(NoteText.ToPlainText(html)))
        {
            errors.Add("body", "Work.Error.NoteEmptyAfterCleaning");
            return null;
        }
        if (html.Length > Note.MaxStoredHtml)
        {
            errors.Add("body", "Work.Error.NoteTooLong", Note.MaxBodyInput);
            return null;
        }
        return html;
    }

    /// <summary>The people the note names (written @Name, or picked by id): every one must be a known, active user.</summary>
    private async Task<HashSet<Guid>> MentionsAsync(string html, List<Guid>? picked, WorkErrors errors, CancellationToken ct)
    {
        var text = NoteText.ToPlainText(html);
        var ids = new HashSet<Guid>();
        if (text.Contains('@', StringComparison.Ordinal))
        {
            var candidates = await db.Users.AsNoTracking().Select(u => new MentionCandidate(u.Id, u.DisplayName, u.IsActive)).Take(10_000).ToListAsync(ct);
            foreach (var m in NoteText.FindMentions(text, candidates))
            {
                if (m.UserId is null)
                    errors.Add("body", "Work.Error.MentionUnknown", m.Written);
                else if (!m.Active)
                    errors.Add("body", "Work.Error.MentionDeactivated", m.Written);
                else
                    ids.Add(m.UserId.Value);
            }
        }
        if (picked is { Count: > 0 })
        {
            if (picked.Count > 50)
            {
                errors.Add("mentions", "Work.Error.TooManyMentions", 50);
                return ids;
            }
            var distinct = picked.Distinct().ToList();
            var found = await db.Users.AsNoTracking().Where(u => distinct.Contains(u.Id)).Select(u => new { u.Id, u.IsActive }).ToListAsync(ct);
            foreach (var id in distinct)
            {
                var u = found.FirstOrDefault(f => f.Id == id);
                if (u is null)
                    errors.Add("mentions", "Work.Error.MentionUnknownId");
                else if (!u.IsActive)
                    errors.Add("mentions", "Work.Error.MentionDeactivatedId");
                else
                    ids.Add(id);
            }
        }
        return ids;
    }

    private async Task NotifyAsync(Note note, WorkTarget target, HashSet<Guid> mentioned, Actor author, CancellationToken ct)
    {
        mentioned.Remove(author.Id ?? Guid.Empty);
        if (mentioned.Count == 0)
            return;
        var name = await access.NameAsync(target, ct) ?? "";
        var by = await access.DisplayNameAsync(author, ct);
        var text = NoteText.ToPlainText(note.Html);
        foreach (var userId in mentioned)
            await notifier.EnqueueAsync(new NotificationRequest
            {
                Kind = "note.mention",
                RecipientUserId = userId,
                Channels = [NotificationChannel.InApp],
                Subject = $"{by} mentioned you on {name}",
                Body = text.Length > 500 ? text[..500] + "…" : text,
                Link = target.Link,
                DedupeKey = $"note.mention:{note.Id}:{userId}",
            }, ct);
    }

    private void Audit(Actor actor, string action, Note note, DateTimeOffset now, string? removedText = null) =>
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = Truncate(actor.Name, 256),
            Action = action,
            EntityType = nameof(Note),
            EntityId = note.Id.ToString(),
            Details = Truncate((note.LeadId is { } l ? $"lead={l}" : $"account={note.AccountId}")
                + (removedText is null ? "" : $"; text={removedText}"), 4000),
        });

    internal static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
