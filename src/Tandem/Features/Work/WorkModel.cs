using Microsoft.EntityFrameworkCore;
using Tandem.Features.Platform;

namespace Tandem.Features.Work;

/// <summary>What a note records: something a person wrote, or an owner change made from the lead page (kept as written, not editable).</summary>
public enum NoteKind
{
    Note,
    OwnerChange,
}

/// <summary>
/// A note on a lead or an account (exactly one of <see cref="LeadId"/>, <see cref="AccountId"/>). <see cref="Html"/> is the
/// sanitized body (decision 021c): plain text is stored encoded with line breaks, rich text keeps only a few inert tags.
/// </summary>
public sealed class Note
{
    public const int MaxBodyInput = 5000;
    public const int MaxStoredHtml = 20000;

    public Guid Id { get; set; } = Ids.New();
    public Guid? LeadId { get; set; }
    public Guid? AccountId { get; set; }
    public NoteKind Kind { get; set; }
    public required string Html { get; set; }
    public Guid? AuthorUserId { get; set; }
    public required string AuthorName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? EditedAt { get; set; }
}

public enum TaskItemStatus
{
    Open,
    Done,
}

/// <summary>A to-do on a lead or an account, for one person, due at a time (table <c>Tasks</c>).</summary>
public sealed class TaskItem
{
    public const int MaxTitle = 200;

    public Guid Id { get; set; } = Ids.New();
    public Guid? LeadId { get; set; }
    public Guid? AccountId { get; set; }
    public required string Title { get; set; }
    public DateTimeOffset DueAt { get; set; }
    public Guid AssigneeUserId { get; set; }
    public Guid? CreatedByUserId { get; set; }
    public required string CreatedByName { get; set; }
    public TaskItemStatus Status { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public static class WorkModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<Note>(e =>
        {
            e.ToTable("Notes");
            e.Property(n => n.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(n => n.Html).HasMaxLength(Note.MaxStoredHtml);
            e.Property(n => n.AuthorName).HasMaxLength(256);
            e.HasIndex(n => new { n.LeadId, n.CreatedAt }).HasFilter("\"LeadId\" IS NOT NULL");
            e.HasIndex(n => new { n.AccountId, n.CreatedAt }).HasFilter("\"AccountId\" IS NOT NULL");
            e.HasOne<AppUser>().WithMany().HasForeignKey(n => n.AuthorUserId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<TaskItem>(e =>
        {
            e.ToTable("Tasks");
            e.Property(t => t.Title).HasMaxLength(TaskItem.MaxTitle);
            e.Property(t => t.CreatedByName).HasMaxLength(256);
            e.Property(t => t.Status).HasConversion<string>().HasMaxLength(16);
            e.HasIndex(t => new { t.AssigneeUserId, t.Status, t.DueAt });
            e.HasIndex(t => new { t.LeadId, t.DueAt }).HasFilter("\"LeadId\" IS NOT NULL");
            e.HasIndex(t => new { t.AccountId, t.DueAt }).HasFilter("\"AccountId\" IS NOT NULL");
            e.HasOne<AppUser>().WithMany().HasForeignKey(t => t.AssigneeUserId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<AppUser>().WithMany().HasForeignKey(t => t.CreatedByUserId).OnDelete(DeleteBehavior.SetNull);
        });
    }
}
