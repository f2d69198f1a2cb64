using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Runs one claimed import: streams the file, turns rows into leads, and captures them in batches. Each batch —
/// leads, activities, error rows, counters and checkpoint — commits in one transaction, so a job restarted after
/// a crash resumes after its last committed row and never records a row twice. Error rows never stop the import.
/// Parsing runs one batch ahead of the writes (a bounded hand-off of two batches), so the CSV work of batch N+1
/// overlaps the database work of batch N and memory stays flat.
/// </summary>
public sealed class ImportRunner(TandemDb db, CaptureService capture, CaptureCatalog catalog, IOptions<ImportOptions> options, TimeProvider clock, ILogger<ImportRunner> log)
{
    private sealed class Batch
    {
        public List<LeadInput> Inputs { get; } = [];
        public List<(int Row, string[] Record)> Sources { get; } = [];
        public List<RowProblem> Problems { get; } = [];
        public int Rows { get; set; }
        public int Failed { get; set; }
        public int Skipped { get; set; }
        /// <summary>Rows a dry run found valid (a real import counts created rows from the capture outcomes).</summary>
        public int Valid { get; set; }
        /// <summary>The checkpoint after this batch: the last row read and how far into the file.</summary>
        public int LastRow { get; set; }
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
        catch (Exception ex) when (ex is IOException or InvalidDataException or DbUpdateException or InvalidOperationException or CsvHelper.CsvFormatException)
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

        var context = new CaptureContext($"import:{job.Id}", ActivityType.LeadCaptured, job.CreatedByUserId, plan.Policy);
        var counters = (job.RowsRead, job.RowsCreated, job.RowsMerged, job.RowsSkipped, job.RowsFailed, Stored: 0);
        // Rows after the checkpoint may have been half-reported by a run that crashed outside a transaction (dry runs): start clean.
        await db.Set<ImportRowError>().Where(e => e.ImportJobId == job.Id && e.Row > job.LastCommittedRow).ExecuteDeleteAsync(ct);
        counters.Stored = await db.Set<ImportRowError>().CountAsync(e => e.ImportJobId == job.Id, ct);

        var batchSize = Math.Max(1, options.Value.BatchSize);
        var clockAtStart = Stopwatch.StartNew();
        var runSecondsBefore = job.RunSeconds;

        async Task<bool> CommitAsync(Batch batch)
        {
            await using var tx = job.DryRun ? null : await db.Database.BeginTransactionAsync(ct);
            counters.RowsCreated += batch.Valid;
            if (batch.Inputs.Count > 0)
            {
                var outcomes = await capture.CaptureManyAsync(batch.Inputs, context, ct);
                for (var i = 0; i < outcomes.Count; i++)
                {
                    var outcome = outcomes[i];
                    if (!outcome.Succeeded)
                    {
                        var (row, record) = batch.Sources[i];
                        batch.Problems.AddRange(ImportMapping.Problems(plan, row, record, outcome.Errors!));
                        batch.Failed++;
                    }
                    else if (outcome.Created)
                        counters.RowsCreated++;
                    else if (plan.Policy == MergePolicy.SkipExisting)
                        counters.RowsSkipped++;
                    else
                        counters.RowsMerged++;
                }
            }
            counters.RowsRead += batch.Rows;
            counters.RowsFailed += batch.Failed;
            counters.RowsSkipped += batch.Skipped;
            var room = Math.Max(0, options.Value.MaxStoredErrors - counters.Stored);
            if (room > 0 && batch.Problems.Count > 0)
            {
                db.Set<ImportRowError>().AddRange(batch.Problems.Take(room).Select(p => new ImportRowError
                {
                    ImportJobId = job.Id,
                    Row = p.Row,
                    Column = Cut(p.Column, 200),
                    Field = Cut(p.Field, 200),
                    Value = Cut(p.Value, ImportRowError.MaxValueLength),
                    Message = Cut(p.Message, 1000)!,
                }));
                counters.Stored += Math.Min(room, batch.Problems.Count);
                await db.SaveChangesAsync(ct);
                db.ChangeTracker.Clear();
            }
            var now = clock.GetUtcNow();
            var seconds = runSecondsBefore + clockAtStart.Elapsed.TotalSeconds;
            var c = counters;
            await db.Set<ImportJob>().Where(j => j.Id == job.Id).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.RowsRead, c.RowsRead)
                .SetProperty(j => j.RowsCreated, c.RowsCreated)
                .SetProperty(j => j.RowsMerged, c.RowsMerged)
                .SetProperty(j => j.RowsSkipped, c.RowsSkipped)
                .SetProperty(j => j.RowsFailed, c.RowsFailed)
                .SetProperty(j => j.BytesRead, batch.Position)
                .SetProperty(j => j.LastCommittedRow, batch.LastRow)
                .SetProperty(j => j.HeartbeatAt, now)
                .SetProperty(j => j.RunSeconds, seconds), ct);
            if (tx is not null)
                await tx.CommitAsync(ct);
            return await db.Set<ImportJob>().Where(j => j.Id == job.Id).Select(j => j.CancelRequested).SingleAsync(ct);
        }

        // The reader (CSV parsing and mapping, no database) hands full batches to the writer below; the last batch may be empty.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var handOff = System.Threading.Channels.Channel.CreateBounded<Batch>(
            new System.Threading.Channels.BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        var parsing = Task.Run(async () =>
        {
            try
            {
                var batch = new Batch();
                while (reader.Read())
                {
                    var row = reader.RecordNumber;
                    if (row <= job.LastCommittedRow)
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
                        var found = CheckAgainstCatalog(input, snapshot);
                        if (found.Any)
                        {
                            batch.Problems.AddRange(ImportMapping.Problems(plan, row, record, found.ToDictionary()));
                            batch.Failed++;
                        }
                        else
                            batch.Valid++;
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
                        batch = new Batch();
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
        try
        {
            await foreach (var batch in handOff.Reader.ReadAllAsync(ct))
                if (await CommitAsync(batch))
                    return ImportStatus.Cancelled;
            return ImportStatus.Completed;
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
