using Microsoft.EntityFrameworkCore;
using Tandem.Features.Campaigns;

namespace Tandem.Features.Feedback;

/// <summary>
/// A rep's rating of a lead (1–5) and, when they met, of the meeting (1–5), with an optional comment. One per lead and author
/// (after a merge, the survivor may hold two: the newest is the author's): the author edits it for <see cref="Ratings.EditWindow"/>,
/// then it is locked. Every change is audited.
/// </summary>
public sealed class LeadRating
{
    public const int MaxComment = 2000;

    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    public Guid ByUserId { get; set; }
    public string ByName { get; set; } = "";
    public int LeadQuality { get; set; }
    public int? MeetingQuality { get; set; }
    public string? Comment { get; set; }
    /// <summary>The lead's first-touch campaign when it was rated (the campaign the verdict is about).</summary>
    public Guid? CampaignId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A campaign's guard: its own rule (null = the workspace default) and the state of its last decision.</summary>
public sealed class CampaignGuardState
{
    public Guid CampaignId { get; set; }
    /// <summary>The <see cref="GuardRule"/> override as JSON; null uses the default.</summary>
    public string? Rule { get; set; }
    public DateTimeOffset? FlaggedAt { get; set; }
    /// <summary>Dispositions counted since the campaign was flagged (pause after <see cref="GuardRule.PauseAfter"/> more).</summary>
    public int DispositionsSinceFlag { get; set; }
    public DateTimeOffset? PausedAt { get; set; }
    /// <summary>The last decision in words, with the figures and the rule that fired (shown on the campaign banner).</summary>
    public string? LastDecision { get; set; }
    public DateTimeOffset? LastDecisionAt { get; set; }
    /// <summary>After a marketer resumes a paused campaign, only dispositions after this time count.</summary>
    public DateTimeOffset? CountFrom { get; set; }
}

/// <summary>Which verdict a dispute contests: marketing contests sales' rejection, sales contests marketing's MQL.</summary>
public enum DisputeKind
{
    MarketingContestsRejection,
    SalesContestsMql,
}

public enum DisputeStatus
{
    Open,
    /// <summary>The contested verdict stands.</summary>
    Upheld,
    /// <summary>The contested verdict is reversed: a rejected lead goes back to the inbox, a contested MQL is recycled.</summary>
    Overturned,
}

/// <summary>
/// One team contests the other's verdict on a lead (glossary: dispute) with a comment; the other side resolves it as upheld or
/// overturned with a note. At most one open dispute per lead.
/// </summary>
public sealed class Dispute
{
    public const int MaxText = 2000;

    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    public DisputeKind Kind { get; set; }
    public DisputeStatus Status { get; set; }
    /// <summary>The lead's first-touch campaign when the dispute was opened (the scorecard counts disputes per lead's group).</summary>
    public Guid? CampaignId { get; set; }
    /// <summary>The reject reason contested (catalogue name), for a marketing dispute.</summary>
    public string? ContestedReason { get; set; }
    public string Comment { get; set; } = "";
    public Guid? OpenedByUserId { get; set; }
    public string OpenedByName { get; set; } = "";
    public DateTimeOffset OpenedAt { get; set; }
    public Guid? ResolvedByUserId { get; set; }
    public string? ResolvedByName { get; set; }
    public DateTimeOffset? ResolvedAt { get; set; }
    public string? ResolutionNote { get; set; }
}

public static class FeedbackModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<LeadRating>(e =>
        {
            e.Property(r => r.ByName).HasMaxLength(256);
            e.Property(r => r.Comment).HasMaxLength(LeadRating.MaxComment);
            // Not unique: a merge moves the merged lead's ratings to the survivor, so one author may hold two ratings of one person (history).
            e.HasIndex(r => new { r.LeadId, r.ByUserId });
            e.HasIndex(r => new { r.CampaignId, r.CreatedAt });
        });
        builder.Entity<Dispute>(e =>
        {
            e.Property(d => d.Kind).HasConversion<string>().HasMaxLength(32);
            e.Property(d => d.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(d => d.ContestedReason).HasMaxLength(32);
            e.Property(d => d.Comment).HasMaxLength(Dispute.MaxText);
            e.Property(d => d.OpenedByName).HasMaxLength(256);
            e.Property(d => d.ResolvedByName).HasMaxLength(256);
            e.Property(d => d.ResolutionNote).HasMaxLength(Dispute.MaxText);
            e.HasIndex(d => new { d.LeadId, d.OpenedAt });
            e.HasIndex(d => new { d.Status, d.OpenedAt });
        });
        builder.Entity<CampaignGuardState>(e =>
        {
            e.HasKey(g => g.CampaignId);
            e.Property(g => g.Rule).HasMaxLength(4000);
            e.Property(g => g.LastDecision).HasMaxLength(4000);
            e.HasOne<Campaign>().WithOne().HasForeignKey<CampaignGuardState>(g => g.CampaignId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
