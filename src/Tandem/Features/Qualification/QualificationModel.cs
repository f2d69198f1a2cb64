using Microsoft.EntityFrameworkCore;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Qualification;

public enum VersionStatus
{
    Draft,
    Active,
    Retired,
}

/// <summary>
/// One version of the qualified-lead definition (scoring rules, MQL rule, SQL criteria) as JSON. Draft → Active → Retired;
/// at most one Active (a filtered unique index guarantees it even with two instances).
/// </summary>
public sealed class QualificationVersion
{
    public Guid Id { get; set; } = Ids.New();
    public int Number { get; set; }
    public VersionStatus Status { get; set; } = VersionStatus.Draft;
    public required string Definition { get; set; }
    public string? Summary { get; set; }
    public Guid? AuthorId { get; set; }
    public string? AuthorName { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? UpdatedByName { get; set; }
    public DateTimeOffset? ActivatedAt { get; set; }
    public string? ActivatedByName { get; set; }
    public DateTimeOffset? RetiredAt { get; set; }
    /// <summary>Optimistic concurrency: every save of a draft increments it; a save carrying an older revision is refused.</summary>
    public int Revision { get; set; } = 1;
}

public enum ApprovalSide
{
    Marketing,
    Sales,
}

/// <summary>A Marketing or Sales approval of a draft; one of each (or an Admin) activates it.</summary>
public sealed class VersionApproval
{
    public Guid Id { get; set; } = Ids.New();
    public Guid VersionId { get; set; }
    public Guid UserId { get; set; }
    public string? UserName { get; set; }
    public ApprovalSide Side { get; set; }
    /// <summary>The draft revision approved: an edit after approval voids it.</summary>
    public int Revision { get; set; }
    public DateTimeOffset At { get; set; }
}

public enum JobKind
{
    /// <summary>Rescore every lead with the active version (after an activation or a persona change).</summary>
    Rescore,
    /// <summary>Rescore the leads whose engagement can have decayed.</summary>
    Decay,
    /// <summary>Replay a draft over past leads and outcomes next to the active version.</summary>
    Backtest,
}

public enum JobStatus
{
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

/// <summary>A background qualification job with progress; claimed by one instance, reclaimed when its heartbeat stops.</summary>
public sealed class QualificationJob
{
    public Guid Id { get; set; } = Ids.New();
    public JobKind Kind { get; set; }
    public JobStatus Status { get; set; } = JobStatus.Queued;
    public Guid? VersionId { get; set; }
    public int? Days { get; set; }
    public string? Reason { get; set; }
    public long Total { get; set; }
    public long Processed { get; set; }
    public long Changed { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedByName { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? HeartbeatAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    public string? Result { get; set; }
    public string? Error { get; set; }
}

/// <summary>The BANT facts a rep confirmed when accepting a lead as SQL (one row per acceptance, never updated).</summary>
public sealed class BantAssessment
{
    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    public bool Budget { get; set; }
    public string? BudgetNote { get; set; }
    public bool Authority { get; set; }
    public string? AuthorityNote { get; set; }
    public bool Need { get; set; }
    public string? NeedNote { get; set; }
    public bool Timing { get; set; }
    public string? TimingNote { get; set; }
    public Guid? ByUserId { get; set; }
    public DateTimeOffset At { get; set; }
}

public static class QualificationModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<QualificationVersion>(e =>
        {
            e.Property(v => v.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(v => v.Summary).HasMaxLength(1000);
            e.Property(v => v.AuthorName).HasMaxLength(256);
            e.Property(v => v.UpdatedByName).HasMaxLength(256);
            e.Property(v => v.ActivatedByName).HasMaxLength(256);
            e.Property(v => v.Definition).HasMaxLength(200_000);
            e.Property(v => v.Revision).IsConcurrencyToken();
            e.HasIndex(v => v.Number).IsUnique();
            e.HasIndex(v => v.Status).IsUnique().HasFilter("\"Status\" = 'Active'").HasDatabaseName("IX_QualificationVersions_OneActive");
            e.HasOne<AppUser>().WithMany().HasForeignKey(v => v.AuthorId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<VersionApproval>(e =>
        {
            e.Property(a => a.Side).HasConversion<string>().HasMaxLength(16);
            e.Property(a => a.UserName).HasMaxLength(256);
            e.HasIndex(a => new { a.VersionId, a.UserId }).IsUnique();
            e.HasOne<QualificationVersion>().WithMany().HasForeignKey(a => a.VersionId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<AppUser>().WithMany().HasForeignKey(a => a.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<QualificationJob>(e =>
        {
            e.Property(j => j.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(j => j.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(j => j.Reason).HasMaxLength(500);
            e.Property(j => j.CreatedByName).HasMaxLength(256);
            e.Property(j => j.Error).HasMaxLength(4000);
            e.HasIndex(j => new { j.Status, j.CreatedAt });
            e.HasOne<QualificationVersion>().WithMany().HasForeignKey(j => j.VersionId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<BantAssessment>(e =>
        {
            e.Property(b => b.BudgetNote).HasMaxLength(1000);
            e.Property(b => b.AuthorityNote).HasMaxLength(1000);
            e.Property(b => b.NeedNote).HasMaxLength(1000);
            e.Property(b => b.TimingNote).HasMaxLength(1000);
            e.HasIndex(b => new { b.LeadId, b.At });
            e.HasOne<Lead>().WithMany().HasForeignKey(b => b.LeadId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<Lead>(e =>
        {
            e.Property(l => l.Grade).HasConversion<string>().HasMaxLength(1);
            // The scoring worker's queue: only leads waiting for a score are in this index.
            e.HasIndex(l => l.ScoreDirtyAt).HasFilter("\"ScoreDirtyAt\" IS NOT NULL").HasDatabaseName("IX_Leads_ScoreDirty");
        });
    }
}

public static class QualificationSetup
{
    public static IServiceCollection AddQualification(this IServiceCollection services)
    {
        services.AddSingleton<ActiveDefinition>();
        services.AddSingleton<ScoringSignal>();
        services.AddSingleton<QualificationJobSignal>();
        services.AddScoped<LeadQualifier>();
        services.AddScoped<DefinitionVersions>();
        services.AddScoped<QualificationJobExecutor>();
        services.AddHostedService<ScoringWorker>();
        services.AddHostedService<QualificationJobRunner>();
        return services;
    }
}
