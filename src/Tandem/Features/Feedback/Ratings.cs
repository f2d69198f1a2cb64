using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Feedback;

public sealed record RatingRequest(int? LeadQuality, int? MeetingQuality, string? Comment);

public sealed record RatingView(Guid Id, Guid LeadId, Guid ByUserId, string ByName, int LeadQuality, int? MeetingQuality, string? Comment, Guid? CampaignId,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, bool Locked)
{
    public static RatingView From(LeadRating r, DateTimeOffset now) => new(r.Id, r.LeadId, r.ByUserId, r.ByName, r.LeadQuality, r.MeetingQuality, r.Comment,
        r.CampaignId, r.CreatedAt, r.UpdatedAt, Ratings.IsLocked(r, now));
}

public sealed record RatingOutcome(RatingView? Value = null, Dictionary<string, string[]>? Errors = null, bool NotFound = false, bool Created = false);

/// <summary>A rep rates a lead (and the meeting): one rating per lead and author, editable by its author for 48 hours, then locked.</summary>
public static class Ratings
{
    public static readonly TimeSpan EditWindow = TimeSpan.FromHours(48);

    public static bool IsLocked(LeadRating r, DateTimeOffset now) => now - r.CreatedAt > EditWindow;

    public static FieldErrors Validate(RatingRequest body)
    {
        var errors = new FieldErrors();
        if (body.LeadQuality is not (>= 1 and <= 5))
            errors.Add("leadQuality", "Rate the lead from 1 (poor) to 5 (excellent).");
        if (body.MeetingQuality is { } m && m is < 1 or > 5)
            errors.Add("meetingQuality", "Rate the meeting from 1 (poor) to 5 (excellent), or leave it empty when there was no meeting.");
        if (body.Comment?.Trim().Length > LeadRating.MaxComment)
            errors.Add("comment", $"At most {LeadRating.MaxComment} characters.");
        return errors;
    }

    /// <summary>Creates or edits the caller's rating of the lead and tells marketing (low rating, guard) in the same transaction.</summary>
    public static async Task<RatingOutcome> RateAsync(TandemDb db, FeedbackService feedback, Guid leadId, RatingRequest body, Actor actor, DateTimeOffset now,
        CancellationToken ct)
    {
        var errors = Validate(body);
        if (actor.Id is null)
            errors.Add("leadQuality", "Only a person rates a lead (an API key acts for nobody).");
        if (errors.Any)
            return new(Errors: errors.ToDictionary());
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return new(NotFound: true);
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var rating = await db.Set<LeadRating>().Where(r => r.LeadId == leadId && r.ByUserId == actor.Id).OrderByDescending(r => r.CreatedAt)
            .FirstOrDefaultAsync(ct);
        var created = rating is null;
        if (rating is not null && IsLocked(rating, now))
            return new(Errors: new Dictionary<string, string[]> { ["leadQuality"] = [$"Your rating of {rating.CreatedAt:yyyy-MM-dd HH:mm} UTC is locked: a rating can be changed for 48 hours."] });
        rating ??= new LeadRating { LeadId = leadId, ByUserId = actor.Id!.Value, CreatedAt = now, CampaignId = lead.FirstCampaignId };
        var before = created ? null : $"lead {rating.LeadQuality}, meeting {rating.MeetingQuality?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}";
        rating.ByName = actor.Name;
        rating.LeadQuality = body.LeadQuality!.Value;
        rating.MeetingQuality = body.MeetingQuality;
        rating.Comment = string.IsNullOrWhiteSpace(body.Comment) ? null : body.Comment.Trim();
        rating.UpdatedAt = now;
        if (created)
            db.Add(rating);
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name,
            Action = created ? "lead.rated" : "lead.rating-changed",
            EntityType = nameof(Lead),
            EntityId = leadId.ToString(),
            Details = $"{(before is null ? "" : $"was {before}; ")}lead {rating.LeadQuality}, meeting {rating.MeetingQuality?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}",
        });
        // Written with the rating: a lead merged away meanwhile fails this update instead of keeping an orphan rating (decision 009).
        lead.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        await feedback.OnRatedAsync(db, lead, rating, ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new(RatingView.From(rating, now), Created: created);
    }

    public static async Task<List<RatingView>> ListAsync(TandemDb db, Guid leadId, DateTimeOffset now, CancellationToken ct) =>
        [.. (await db.Set<LeadRating>().AsNoTracking().Where(r => r.LeadId == leadId).ToListAsync(ct))
            .OrderByDescending(r => r.UpdatedAt).Select(r => RatingView.From(r, now))];
}
