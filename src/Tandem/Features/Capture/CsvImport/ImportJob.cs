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
    /// <summary>Rows imported with at least one value left out of its field (kept on the lead's activity, reported as warnings).</summary>
    public int RowsWithWarnings { get; set; }
    /// <summary>Warnings by column and field as JSON (<see cref="ImportWarnings"/>): exact counts, the first message and value of each.</summary>
    public string? Warnings { get; set; }
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
            e.Property(j => j.Warnings).HasMaxLength(64000);
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
    /// <summary>The row was imported without this value (a warning), rather than refused.</summary>
    public bool IsWarning { get; set; }
}

/// <summary>One line of an import's warning summary: a column whose values could not all be kept, reported once with a count.</summary>
public sealed record ImportWarningSummary(string? Column, string? Field, int Count, int FirstRow, string? Example, string Message);

/// <summary>
/// The warnings of an import counted by column and field (exact), with the first row, value and message of each, and how many rows
/// of each are stored in the error report (at most <see cref="StoredPerColumn"/>: a wrong column is reported once, not on every row).
/// </summary>
public sealed class ImportWarnings
{
    public const int StoredPerColumn = 10;
    private const int MaxEntries = 200;
    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web);

    private readonly Dictionary<(string?, string?), ImportWarningSummary> _entries = [];
    private readonly Dictionary<(string?, string?), int> _stored = [];

    public IReadOnlyList<ImportWarningSummary> Entries => [.. _entries.Values.OrderByDescending(e => e.Count).ThenBy(e => e.FirstRow)];

    public static ImportWarnings Parse(string? json)
    {
        var result = new ImportWarnings();
        if (string.IsNullOrEmpty(json))
            return result;
        foreach (var e in System.Text.Json.JsonSerializer.Deserialize<List<ImportWarningSummary>>(json, Json) ?? [])
        {
            result._entries[(e.Column, e.Field)] = e;
            result._stored[(e.Column, e.Field)] = StoredPerColumn;
        }
        return result;
    }

    /// <summary>True when this warning's row should be stored in the report (the first few of its column).</summary>
    public bool Reserve(RowProblem warning)
    {
        var key = (warning.Column, warning.Field);
        var stored = _stored.GetValueOrDefault(key);
        if (stored >= StoredPerColumn)
            return false;
        _stored[key] = stored + 1;
        return true;
    }

    /// <summary>A copy with the warnings of one more batch counted.</summary>
    public ImportWarnings With(IEnumerable<RowProblem> warnings)
    {
        var copy = new ImportWarnings();
        foreach (var (k, v) in _entries)
            copy._entries[k] = v;
        foreach (var (k, v) in _stored)
            copy._stored[k] = v;
        foreach (var w in warnings)
        {
            var key = (w.Column, w.Field);
            if (copy._entries.TryGetValue(key, out var e))
                copy._entries[key] = e with { Count = e.Count + 1, FirstRow = Math.Min(e.FirstRow, w.Row) };
            else if (copy._entries.Count < MaxEntries)
                copy._entries[key] = new ImportWarningSummary(w.Column, w.Field, 1, w.Row,
                    w.Value is { Length: > 200 } v ? v[..200] : w.Value, w.Message.Length > 500 ? w.Message[..500] : w.Message);
        }
        return copy;
    }

    public string? ToJson() => _entries.Count == 0 ? null : System.Text.Json.JsonSerializer.Serialize(Entries, Json);
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
