using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Runs one claimed import: streams the file, turns rows into leads, and captures them in batches. Each batch —
/// leads, activities, error rows, counters and checkpoint — commits in one transaction, so a job restarted after
/// a crash resumes after its committed rows and never records a row twice. Error rows never stop the import.
/// Parsing runs ahead of the writes (a bounded hand-off), and on PostgreSQL <see cref="ImportOptions.Writers"/> batches are
/// written at once, each by its own connection: the database inserts one batch while Tandem prepares the next, and memory
/// stays flat. Batches may then commit out of order: the checkpoint is the row up to which everything is committed plus the
/// ranges committed beyond it (<see cref="ImportJob.CommittedAhead"/>), and a restarted job skips both.
/// </summary>
public sealed class ImportRunner(TandemDb db, CaptureService capture, CaptureCatalog catalog, IOptions<ImportOptions> options, TimeProvider clock,
    ILogger<ImportRunner> log, IServiceScopeFactory scopes)
{
    private sealed class Batch
    {
        public List<LeadInput> Inputs { get; } = [];
        public List<(int Row, string[] Record)> Sources { get; } = [];
        public List<RowProblem> Problems { get; } = [];
        /// <summary>Rows imported with at least one value left out (dry runs: found valid with one).</summary>
        public int WithWarnings { get; set; }
        /// <summary>Warnings of this batch by column and field (exact counts; only the first few rows of each are stored).</summary>
        public List<RowProblem> Warnings { get; } = [];
        public int Rows { get; set; }
        public int Failed { get; set; }
        public int Skipped { get; set; }
        /// <summary>Rows a dry run found valid (a real import counts created rows from the capture outcomes).</summary>
        public int Valid { get; set; }
        /// <summary>The file rows this batch covers (rows in it that were committed before are skipped, not re-read).</summary>
        public int FirstRow { get; set; }
        public int LastRow { get; set; }
        /// <summary>How far into the file the batch ends (progress).</summary>
        public long Position { get; set; }
    }

    /// <summary>Runs the job to its end (Completed, Failed or Cancelled). On shutdown it puts the job back to Pending.</summary>
    public async Task RunAsync(Guid jobId, CancellationToken ct)
    {
        var job = await db.Set<ImportJob>().AsNoTracking().SingleAsync(j => j.Id == jobId, ct);
        try
        {
            var status = await ProcessAsync(job, ct);
            await FinishAsync(job, status, null);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The host stops: leave the job for the next start (or another instance) to resume at its checkpoint.
            await db.Set<ImportJob>().Where(j => j.Id == jobId && j.Status == ImportStatus.Running)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, ImportStatus.Pending).SetProperty(j => j.RunningOn, (string?)null), CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException or DbUpdateException or InvalidOperationException or CsvHelper.CsvFormatException
            or System.Data.Common.DbException)
        {
            log.LogError(ex, "Import {ImportId} failed", jobId);
            db.ChangeTracker.Clear();
            await FinishAsync(job, ImportStatus.Failed, ex.Message);
        }
    }

    private async Task FinishAsync(ImportJob job, ImportStatus status, string? error)
    {
        var now = clock.GetUtcNow();
        if (error?.Length > 2000)
            error = error[..2000];
        await db.Set<ImportJob>().Where(j => j.Id == job.Id)
            .ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, status)
                .SetProperty(j => j.FinishedAt, now)
                .SetProperty(j => j.Error, error)
                .SetProperty(j => j.RunningOn, (string?)null), CancellationToken.None);
        // A dry run's file waits for the import that usually follows it; the worker sweeps it later.
        if (!job.DryRun && status != ImportStatus.Failed)
            TryDelete(job.FilePath);
    }

    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// The job's progress as this run knows it: counters and the checkpoint. Writers change it under a lock that also covers their
    /// job UPDATE and COMMIT, so the last commit always carries the newest state; a writer whose commit fails leaves it unchanged.
    /// </summary>
    private sealed class Progress(ImportJob job)
    {
        public readonly Lock Gate = new();
        /// <summary>Held from a writer's job UPDATE to its COMMIT.</summary>
        public readonly SemaphoreSlim CommitGate = new(1, 1);
        public volatile bool Cancelled;
        public int RowsRead = job.RowsRead, RowsCreated = job.RowsCreated, RowsMerged = job.RowsMerged, RowsSkipped = job.RowsSkipped,
            RowsFailed = job.RowsFailed, StoredErrors;
        public long BytesRead = job.BytesRead;
        public int RowsWithWarnings = job.RowsWithWarnings;
        public ImportWarnings Warnings = ImportWarnings.Parse(job.Warnings);
        public Checkpoint Committed = Checkpoint.Parse(job.LastCommittedRow, job.CommittedAhead);
    }

    private async Task<ImportStatus> ProcessAsync(ImportJob job, CancellationToken ct)
    {
        var settings = ImportService.DeserializeSettings(job.Settings) ?? new ImportSettings();
        var snapshot = await catalog.GetAsync(ct);
        var customKeys = snapshot.CustomFields.Keys.ToHashSet(StringComparer.Ordinal);
        var delimiter = CsvSniffer.ParseDelimiter(job.Delimiter) ?? ',';

        await using var file = new FileStream(job.FilePath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        using var reader = new CsvRecordReader(file, job.Encoding, delimiter);
        if (!reader.Read())
            throw new InvalidDataException("The file is empty.");
        var headers = CsvSniffer.NameHeaders(reader.Record);
        var errors = new FieldErrors();
        var plan = ImportMapping.Plan(headers, settings, customKeys, errors)
            ?? throw new InvalidDataException($"The mapping no longer fits: {errors.Summary()}");
        plan = plan with { PhoneRegion = plan.PhoneRegion ?? snapshot.DefaultPhoneRegion };

        var context = new CaptureContext($"import:{job.Id}", ActivityType.LeadCaptured, job.CreatedByUserId, plan.Policy, Import: true);
        var progress = new Progress(job);
        // Rows after the checkpoint may have been half-reported by a run that crashed outside a transaction (dry runs): start clean.
        if (job.DryRun || job.CommittedAhead is null)
            await db.Set<ImportRowError>().Where(e => e.ImportJobId == job.Id && e.Row > job.LastCommittedRow).ExecuteDeleteAsync(ct);
        progress.StoredErrors = await db.Set<ImportRowError>().CountAsync(e => e.ImportJobId == job.Id, ct);

        var batchSize = Math.Max(1, options.Value.BatchSize);
        var writers = job.DryRun || !db.Database.IsNpgsql() ? 1 : Math.Clamp(options.Value.Writers, 1, 8);
        var clockAtStart = Stopwatch.StartNew();
        var runSecondsBefore = job.RunSeconds;

        // One writer: its own database context and capture service (the first uses this runner's), one transaction per batch.
        async Task<bool> CommitAsync(TandemDb wdb, CaptureService wcapture, Batch batch)
        {
            await using var tx = job.DryRun ? null : await wdb.Database.BeginTransactionAsync(ct);
            int created = batch.Valid, merged = 0, skipped = batch.Skipped, failed = batch.Failed;
            if (batch.Inputs.Count > 0)
            {
                var outcomes = await wcapture.CaptureManyAsync(batch.Inputs, context, ct);
                var outcomesToRecord = new List<(Guid LeadId, ImportedHistory History, DateTimeOffset? CreatedAt)>();
                for (var i = 0; i < outcomes.Count; i++)
                {
                    var outcome = outcomes[i];
                    if (!outcome.Succeeded)
                    {
                        var (row, record) = batch.Sources[i];
                        var problems = ImportMapping.Problems(plan, row, record, outcome.Errors!);
                        // An erased person (re-capture blocked): the row is reported as refused, without its value (decision 021b).
                        batch.Problems.AddRange(outcome.Blocked ? problems.Select(p => p with { Value = null }) : problems);
                        failed++;
                        continue;
                    }
                    var input = batch.Inputs[i];
                    if (input.Warnings.Count > 0)
                    {
                        batch.WithWarnings++;
                        batch.Warnings.AddRange(ImportMapping.Warnings(plan, batch.Sources[i].Row, input));
                    }
                    if (input.History is { HasOutcome: true } history && plan.Policy != MergePolicy.SkipExisting)
                        outcomesToRecord.Add((outcome.LeadId!.Value, history, input.OccurredAt));
                    if (outcome.Created)
                        created++;
                    else if (plan.Policy == MergePolicy.SkipExisting)
                        skipped++;
                    else
                        merged++;
                }
                if (outcomesToRecord.Count > 0)
                    await ImportOutcomes.RecordAsync(wdb, outcomesToRecord, plan.ExternalSystem, clock.GetUtcNow(), ct);
            }
            // Warnings: every one counted; the first rows of each column kept for the report.
            List<RowProblem> keptWarnings;
            lock (progress.Gate)
                keptWarnings = [.. batch.Warnings.Where(w => progress.Warnings.Reserve(w))];
            batch.Problems.AddRange(keptWarnings);
            int room;
            lock (progress.Gate)
            {
                room = Math.Clamp(options.Value.MaxStoredErrors - progress.StoredErrors, 0, batch.Problems.Count);
                progress.StoredErrors += room;
            }
            if (room > 0)
            {
                wdb.Set<ImportRowError>().AddRange(batch.Problems.Take(room).Select(p => new ImportRowError
                {
                    ImportJobId = job.Id,
                    Row = p.Row,
                    Column = Platform.SafeText.CleanOrNull(Cut(p.Column, 200)),
                    Field = Cut(p.Field, 200),
                    Value = Platform.SafeText.CleanOrNull(Cut(p.Value, ImportRowError.MaxValueLength)),
                    Message = Platform.SafeText.Clean(Cut(p.Message, 1000)!),
                    IsWarning = p.Warning,
                }));
                await wdb.SaveChangesAsync(ct);
                wdb.ChangeTracker.Clear();
            }

            // The job row: counters and checkpoint as they will be once this batch is committed. The lock keeps the UPDATE and the
            // COMMIT of every writer in the same order as their changes to the progress, so the row always ends with the newest state.
            await progress.CommitGate.WaitAsync(ct);
            try
            {
                var c = (Read: progress.RowsRead + batch.Rows, Created: progress.RowsCreated + created, Merged: progress.RowsMerged + merged,
                    Skipped: progress.RowsSkipped + skipped, Failed: progress.RowsFailed + failed, Bytes: Math.Max(progress.BytesRead, batch.Position));
                var withWarnings = progress.RowsWithWarnings + batch.WithWarnings;
                var warnings = progress.Warnings.With(batch.Warnings);
                var warningsJson = warnings.ToJson();
                var committed = progress.Committed.With(batch.FirstRow, batch.LastRow);
                var now = clock.GetUtcNow();
                var seconds = runSecondsBefore + clockAtStart.Elapsed.TotalSeconds;
                var (last, ahead) = (committed.Contiguous, committed.AheadText);
                await wdb.Set<ImportJob>().Where(j => j.Id == job.Id).ExecuteUpdateAsync(s => s
                    .SetProperty(j => j.RowsRead, c.Read)
                    .SetProperty(j => j.RowsCreated, c.Created)
                    .SetProperty(j => j.RowsMerged, c.Merged)
                    .SetProperty(j => j.RowsSkipped, c.Skipped)
                    .SetProperty(j => j.RowsFailed, c.Failed)
                    .SetProperty(j => j.RowsWithWarnings, withWarnings)
                    .SetProperty(j => j.Warnings, warningsJson)
                    .SetProperty(j => j.BytesRead, c.Bytes)
                    .SetProperty(j => j.LastCommittedRow, last)
                    .SetProperty(j => j.CommittedAhead, ahead)
                    .SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.RunSeconds, seconds), ct);
                if (tx is not null)
                    await tx.CommitAsync(ct);
                (progress.RowsRead, progress.RowsCreated, progress.RowsMerged, progress.RowsSkipped, progress.RowsFailed, progress.BytesRead) = c;
                progress.Committed = committed;
                lock (progress.Gate)
                {
                    progress.RowsWithWarnings = withWarnings;
                    progress.Warnings = warnings;
                }
            }
            finally
            {
                progress.CommitGate.Release();
            }
            return await wdb.Set<ImportJob>().Where(j => j.Id == job.Id).Select(j => j.CancelRequested).SingleAsync(ct);
        }

        // The reader (CSV parsing and mapping, no database) hands full batches to the writers below; the last batch may be empty.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var handOff = System.Threading.Channels.Channel.CreateBounded<Batch>(
            new System.Threading.Channels.BoundedChannelOptions(writers + 1) { SingleReader = writers == 1, SingleWriter = true });
        var skip = progress.Committed;
        var parsing = Task.Run(async () =>
        {
            try
            {
                var batch = new Batch { FirstRow = job.LastCommittedRow + 1 };
                while (reader.Read())
                {
                    var row = reader.RecordNumber;
                    if (skip.Contains(row))
                        continue;
                    var record = reader.Record;
                    batch.Rows++;
                    var (input, problems) = ImportMapping.ToInput(plan, row, record, customKeys);
                    if (problems is not null)
                    {
                        batch.Problems.AddRange(problems);
                        batch.Failed++;
                    }
                    else if (input is null)
                        batch.Skipped++;
                    else if (job.DryRun)
                    {
                        // What capture would keep out of its field (unknown campaign, custom value of the wrong type) is a warning too.
                        foreach (var (field, messages) in CheckAgainstCatalog(input, snapshot).ToDictionary())
                            input.NotKept(field, input.CustomFields.GetValueOrDefault(field.Replace(ImportMapping.CustomPrefix, "", StringComparison.Ordinal)),
                                string.Join(" ", messages));
                        batch.Valid++;
                        if (input.Warnings.Count > 0)
                        {
                            batch.WithWarnings++;
                            batch.Warnings.AddRange(ImportMapping.Warnings(plan, row, input));
                        }
                    }
                    else
                    {
                        batch.Inputs.Add(input);
                        batch.Sources.Add((row, record));
                    }
                    if (batch.Rows >= batchSize)
                    {
                        (batch.LastRow, batch.Position) = (reader.RecordNumber, file.Position);
                        await handOff.Writer.WriteAsync(batch, stop.Token);
                        batch = new Batch { FirstRow = reader.RecordNumber + 1 };
                    }
                }
                (batch.LastRow, batch.Position) = (Math.Max(reader.RecordNumber, job.LastCommittedRow), file.Position);
                await handOff.Writer.WriteAsync(batch, stop.Token);
                handOff.Writer.Complete();
            }
            catch (Exception ex)
            {
                handOff.Writer.TryComplete(ex);
            }
        }, CancellationToken.None);

        async Task WriteAsync(int writer)
        {
            // Every writer has its own context (a connection and a transaction of its own); the first uses this runner's.
            await using var scope = scopes.CreateAsyncScope();
            var (wdb, wcapture) = writer == 0 ? (db, capture)
                : (scope.ServiceProvider.GetRequiredService<TandemDb>(), scope.ServiceProvider.GetRequiredService<CaptureService>());
            try
            {
                while (!progress.Cancelled && await handOff.Reader.WaitToReadAsync(stop.Token))
                    if (handOff.Reader.TryRead(out var batch) && await CommitAsync(wdb, wcapture, batch))
                    {
                        // Cancelled by a user: the batches already being written finish, nothing new starts.
                        progress.Cancelled = true;
                        await stop.CancelAsync();
                    }
            }
            catch (OperationCanceledException) when (progress.Cancelled && !ct.IsCancellationRequested)
            {
            }
            catch
            {
                // One writer failed: the others stop at once (their open batch rolls back), and the error is the job's.
                await stop.CancelAsync();
                throw;
            }
        }

        try
        {
            var running = Enumerable.Range(0, writers).Select(WriteAsync).ToList();
            await Task.WhenAll(running).ContinueWith(_ => { }, TaskScheduler.Default);
            if (running.FirstOrDefault(t => t.IsFaulted && t.Exception!.InnerException is not OperationCanceledException) is { } failedWriter)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failedWriter.Exception!.InnerException!);
            ct.ThrowIfCancellationRequested();
            if (running.FirstOrDefault(t => t.IsFaulted || t.IsCanceled) is { } other)
                await other;
            return progress.Cancelled ? ImportStatus.Cancelled : ImportStatus.Completed;
        }
        finally
        {
            await stop.CancelAsync();
            await parsing;
        }
    }

    /// <summary>What capture would refuse beyond the row's own fields: unknown campaigns and bad custom-field values (dry run only).</summary>
    private static FieldErrors CheckAgainstCatalog(LeadInput input, CaptureCatalog.Snapshot snapshot)
    {
        var errors = new FieldErrors();
        if (input.CampaignId is { } id && !snapshot.CampaignsById.ContainsKey(id))
            errors.Add("campaignId", $"No campaign with id {id}.");
        foreach (var (key, raw) in input.CustomFields)
        {
            if (!snapshot.CustomFields.TryGetValue(key, out var definition))
                errors.Add($"customFields.{key}", $"Unknown custom field '{key}'.");
            else if (!CaptureService.ConvertCustom(definition, raw, out _, out var error))
                errors.Add($"customFields.{key}", error!);
        }
        return errors;
    }

    private static string? Cut(string? value, int max) => value is null || value.Length <= max ? value : value[..max];
}

/// <summary>
/// The rows of an import that are committed: every row up to <see cref="Contiguous"/>, plus ranges beyond it committed by writers
/// that finished before an earlier batch. Immutable: a writer builds the next value and keeps it once its commit succeeded.
/// </summary>
internal sealed record Checkpoint(int Contiguous, IReadOnlyList<(int First, int Last)> Ahead)
{
    public static Checkpoint Parse(int contiguous, string? ahead)
    {
        var ranges = new List<(int, int)>();
        foreach (var part in (ahead ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var dash = part.IndexOf('-', StringComparison.Ordinal);
            if (dash > 0 && int.TryParse(part[..dash], System.Globalization.CultureInfo.InvariantCulture, out var first) &&
                int.TryParse(part[(dash + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var last))
                ranges.Add((first, last));
        }
        return Normalize(contiguous, ranges);
    }

    public bool Contains(int row) => row <= Contiguous || Ahead.Any(r => row >= r.First && row <= r.Last);

    /// <summary>With the rows <paramref name="first"/>..<paramref name="last"/> committed too.</summary>
    public Checkpoint With(int first, int last) => first > last ? this : Normalize(Contiguous, [.. Ahead, (first, last)]);

    /// <summary>The ranges beyond <see cref="Contiguous"/> as stored in <see cref="ImportJob.CommittedAhead"/>, or null when there are none.</summary>
    public string? AheadText => Ahead.Count == 0 ? null
        : string.Join(",", Ahead.Select(r => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{r.First}-{r.Last}")));

    private static Checkpoint Normalize(int contiguous, List<(int First, int Last)> ranges)
    {
        var merged = new List<(int First, int Last)>();
        foreach (var (first, last) in ranges.Where(r => r.First <= r.Last).OrderBy(r => r.First))
        {
            if (last <= contiguous)
                continue;
            if (first <= contiguous + 1)
            {
                contiguous = last;
                while (merged.Count > 0 && merged[0].First <= contiguous + 1)
                {
                    contiguous = Math.Max(contiguous, merged[0].Last);
                    merged.RemoveAt(0);
                }
                continue;
            }
            if (merged.Count > 0 && first <= merged[^1].Last + 1)
                merged[^1] = (merged[^1].First, Math.Max(merged[^1].Last, last));
            else
                merged.Add((first, last));
        }
        return new Checkpoint(contiguous, merged);
    }
}
