using Microsoft.EntityFrameworkCore;

namespace Tandem.Features.Capture.CsvImport;

public enum ImportStatus
{
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

/// <summary>
/// One CSV import (or dry run). The file waits on disk under <see cref="ImportOptions.Folder"/>; everything else
/// — options, progress, checkpoint, cancellation — lives in this row so any instance can report on it, and the
/// instance that can read the file runs it.
/// </summary>
public sealed class ImportJob
{
    public Guid Id { get; set; } = Ids.New();
    public required string FileName { get; set; }
    public required string FilePath { get; set; }
    public long SizeBytes { get; set; }
    public required string Encoding { get; set; }
    public required string Delimiter { get; set; }
    /// <summary>The <see cref="ImportSettings"/> as JSON, with the mapping resolved (suggestions applied).</summary>
    public required string Settings { get; set; }
    public MergePolicy Policy { get; set; }
    public bool DryRun { get; set; }

    public ImportStatus Status { get; set; }
    public bool CancelRequested { get; set; }
    public string? Error { get; set; }

    /// <summary>Data rows read so far (the header is row 1, the first data row is row 2).</summary>
    public int RowsRead { get; set; }
    public int RowsCreated { get; set; }
    public int RowsMerged { get; set; }
    public int RowsSkipped { get; set; }
    public int RowsFailed { get; set; }
    public long BytesRead { get; set; }
    /// <summary>File row number up to which every row is committed: a restarted job resumes after it.</summary>
    public int LastCommittedRow { get; set; }
    /// <summary>
    /// Row ranges committed beyond <see cref="LastCommittedRow"/> (<c>"36-42,50-56"</c>): batches are written by several writers
    /// at once, so a later batch can commit before an earlier one; a restarted job skips these rows too.
    /// </summary>
    public string? CommittedAhead { get; set; }

    public Guid? CreatedByUserId { get; set; }
    public required string CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? FinishedAt { get; set; }
    /// <summary>Renewed after each batch by the instance running the job; a stale one is claimed again.</summary>
    public DateTimeOffset? HeartbeatAt { get; set; }
    public string? RunningOn { get; set; }
    /// <summary>Seconds spent running, summed over every run (a resumed job keeps its earlier time).</summary>
    public double RunSeconds { get; set; }

    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<ImportJob>(e =>
        {
            e.ToTable("ImportJobs");
            e.Property(j => j.FileName).HasMaxLength(255);
            e.Property(j => j.FilePath).HasMaxLength(1000);
            e.Property(j => j.Encoding).HasMaxLength(20);
            e.Property(j => j.Delimiter).HasMaxLength(1);
            e.Property(j => j.Settings).HasMaxLength(64000);
            e.Property(j => j.Policy).HasConversion<string>().HasMaxLength(16);
            e.Property(j => j.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(j => j.Error).HasMaxLength(2000);
            e.Property(j => j.CommittedAhead).HasMaxLength(4000);
            e.Property(j => j.CreatedBy).HasMaxLength(256);
            e.Property(j => j.RunningOn).HasMaxLength(200);
            e.HasIndex(j => new { j.Status, j.CreatedAt });
            e.HasIndex(j => j.CreatedAt);
        });
        builder.Entity<ImportRowError>(e =>
        {
            e.ToTable("ImportRowErrors");
            e.Property(r => r.Column).HasMaxLength(200);
            e.Property(r => r.Field).HasMaxLength(200);
            e.Property(r => r.Value).HasMaxLength(ImportRowError.MaxValueLength);
            e.Property(r => r.Message).HasMaxLength(1000);
            e.HasIndex(r => new { r.ImportJobId, r.Row });
            e.HasOne<ImportJob>().WithMany().HasForeignKey(r => r.ImportJobId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}

/// <summary>One problem of one row of an import: the rows of the downloadable error report.</summary>
public sealed class ImportRowError
{
    public const int MaxValueLength = 1000;

    public Guid Id { get; set; } = Ids.New();
    public Guid ImportJobId { get; set; }
    public int Row { get; set; }
    public string? Column { get; set; }
    public string? Field { get; set; }
    public string? Value { get; set; }
    public required string Message { get; set; }
}

/// <summary>Settings under <c>Tandem:Imports</c>.</summary>
public sealed class ImportOptions
{
    /// <summary>Largest CSV accepted (bytes); larger uploads get 413.</summary>
    public long MaxBytes { get; set; } = 1L << 30;
    /// <summary>Where uploads wait for their import; relative to the working directory. Share it between instances, or the instance that received a file runs it.</summary>
    public string Folder { get; set; } = "data/imports";
    /// <summary>Rows per <c>CaptureManyAsync</c> call and per checkpoint.</summary>
    public int BatchSize { get; set; } = 2500;
    /// <summary>
    /// Batches written at once on PostgreSQL, each in its own transaction, so the database works on one batch while Tandem prepares
    /// the next (SQLite has a single writer: always 1; dry runs write nothing: 1).
    /// </summary>
    public int Writers { get; set; } = 3;
    /// <summary>How often an idle worker looks for pending imports.</summary>
    public double PollSeconds { get; set; } = 2;
    /// <summary>A running import whose heartbeat is older than this is considered crashed and is resumed.</summary>
    public double StaleAfterSeconds { get; set; } = 120;
    /// <summary>Error rows kept per import (the counts stay exact beyond it).</summary>
    public int MaxStoredErrors { get; set; } = 100_000;
    /// <summary>Hours a finished import's file is kept (a dry run's file is reused by the import that follows it).</summary>
    public double KeepFilesHours { get; set; } = 24;
    /// <summary>Start the background worker (tests turn it off to drive jobs step by step).</summary>
    public bool RunWorker { get; set; } = true;
}
