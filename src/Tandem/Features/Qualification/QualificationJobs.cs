using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;
using Tandem.Features.Revenue;

namespace Tandem.Features.Qualification;

/// <summary>Wakes the job runner when a job is queued on this instance (others poll).</summary>
public sealed class QualificationJobSignal : Platform.WakeSignal;

public sealed record JobView(Guid Id, JobKind Kind, JobStatus Status, Guid? VersionId, int? Days, string? Reason, long Total, long Processed,
    long Changed, int Percent, double? RowsPerSecond, DateTimeOffset CreatedAt, string? CreatedByName, DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt, string? Error, BacktestResult? Backtest)
{
    public static JobView From(QualificationJob j)
    {
        double? rate = j.StartedAt is { } s && (j.FinishedAt ?? j.HeartbeatAt) is { } e && e > s ? j.Processed / (e - s).TotalSeconds : null;
        return new(j.Id, j.Kind, j.Status, j.VersionId, j.Days, j.Reason, j.Total, j.Processed, j.Changed, DefinitionVersions.Percent(j), rate,
            j.CreatedAt, j.CreatedByName, j.StartedAt, j.FinishedAt, j.Error,
            j.Kind == JobKind.Backtest && j.Result is { } r ? JsonSerializer.Deserialize<BacktestResult>(r, BacktestJson) : null);
    }

    internal static readonly JsonSerializerOptions BacktestJson = new(JsonSerializerDefaults.Web);
}

public sealed record WeekCount(DateOnly WeekStart, int Active, int Draft);

public sealed record LeadChange(Guid LeadId, string Name, string? Company, DateTimeOffset? ActiveMqlAt, DateTimeOffset? DraftMqlAt);

/// <summary>
/// A draft replayed over the leads created in the last <c>Days</c> days, next to the active version replayed the same way.
/// Won = the lead has a won deal; rejected = sales sent the MQL back (recycled or disqualified by a person).
/// </summary>
public sealed record BacktestResult(int Days, DateTimeOffset From, DateTimeOffset To, int? ActiveVersion, int DraftVersion, long Leads,
    IReadOnlyList<WeekCount> MqlsPerWeek, long MqlsActive, long MqlsDraft,
    long Won, long WonMqlActive, long WonMqlDraft, long Rejected, long RejectedNotMqlActive, long RejectedNotMqlDraft,
    long BecomeMql, long NoLongerMql, IReadOnlyList<LeadChange> Changes);

/// <summary>
/// Claims queued qualification jobs (one instance per job: a conditional claim, reclaimed when the heartbeat stops) and runs
/// them; also queues the periodic decay pass.
/// </summary>
public sealed class QualificationJobRunner(IServiceScopeFactory scopes, QualificationJobSignal signal, TimeProvider clock, IConfiguration configuration,
    ILogger<QualificationJobRunner> log) : BackgroundService
{
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromMilliseconds(configuration.GetValue("Tandem:Qualification:JobPollMilliseconds", 3000));
        var decayEvery = TimeSpan.FromMinutes(configuration.GetValue("Tandem:Qualification:DecayMinutes", 60));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
                if (decayEvery > TimeSpan.Zero)
                    await QueueDecayIfDueAsync(db, decayEvery, stoppingToken);
                if (await ClaimAsync(db, stoppingToken) is { } job)
                {
                    await scope.ServiceProvider.GetRequiredService<QualificationJobExecutor>().RunAsync(job, stoppingToken);
                    continue;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogError(ex, "Qualification job loop failed; retrying");
            }
            try
            {
                await signal.WaitAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task QueueDecayIfDueAsync(TandemDb db, TimeSpan every, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (!await db.QualificationVersions.AnyAsync(v => v.Status == VersionStatus.Active, ct))
            return;
        var last = await db.QualificationJobs.Where(j => j.Kind == JobKind.Decay).OrderByDescending(j => j.CreatedAt).Select(j => (DateTimeOffset?)j.CreatedAt)
            .FirstOrDefaultAsync(ct);
        if (last is { } l && now - l < every)
            return;
        db.QualificationJobs.Add(new QualificationJob { Kind = JobKind.Decay, Reason = "Scheduled decay pass", CreatedAt = now, CreatedByName = "Tandem" });
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Claims the oldest queued job, or one whose runner stopped sending heartbeats, with a conditional update.</summary>
    public async Task<QualificationJob?> ClaimAsync(TandemDb db, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var stale = now - StaleAfter;
        var candidates = await db.QualificationJobs.AsNoTracking()
            .Where(j => j.Status == JobStatus.Queued || (j.Status == JobStatus.Running && j.HeartbeatAt < stale))
            .OrderBy(j => j.CreatedAt).Take(5).ToListAsync(ct);
        foreach (var c in candidates)
        {
            var claimed = await db.QualificationJobs
                .Where(j => j.Id == c.Id && j.Status == c.Status && j.HeartbeatAt == c.HeartbeatAt)
                .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Running).SetProperty(j => j.HeartbeatAt, now)
                    .SetProperty(j => j.StartedAt, j => j.StartedAt ?? now), ct);
            if (claimed == 1)
                return await db.QualificationJobs.AsNoTracking().FirstAsync(j => j.Id == c.Id, ct);
        }
        return null;
    }
}

/// <summary>Runs one job: full or decay rescore with the active version, or a backtest of a draft.</summary>
public sealed class QualificationJobExecutor(IServiceScopeFactory scopes, TandemDb db, ActiveDefinition active, ScoringSignal scoringSignal,
    TimeProvider clock, IConfiguration configuration, ILogger<QualificationJobExecutor> log)
{
    public const int ChunkSize = 2000;
    public const int MaxChanges = 200;

    /// <summary>A struct: a full rescore holds one per lead until the write phase.</summary>
    private readonly record struct ScoreUpdate(Guid Id, int Fit, int Engagement, Grade Grade, Guid? PersonaId, int? PersonaMatch, bool MarkDirty, long Page, int Slot);

    /// <summary>
    /// PostgreSQL writes the updates in this many sweeps over the table, each taking every n-th row of a page. An updated row stays
    /// on its page (a HOT update: no index to touch) only if the page has room for the new version; a page has about 15 % free
    /// (fill factor 85), and rows replaced in an earlier sweep have been pruned by the next.
    /// </summary>
    private const int Sweeps = 8;

    public async Task RunAsync(QualificationJob job, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        log.LogInformation("Qualification job {JobId} ({Kind}) started", job.Id, job.Kind);
        try
        {
            var outcome = job.Kind == JobKind.Backtest ? await BacktestAsync(job, ct) : await RescoreAsync(job, ct);
            await db.QualificationJobs.Where(j => j.Id == job.Id && j.Status == JobStatus.Running).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, outcome.Cancelled ? JobStatus.Cancelled : JobStatus.Succeeded)
                .SetProperty(j => j.FinishedAt, clock.GetUtcNow())
                .SetProperty(j => j.Processed, outcome.Processed)
                .SetProperty(j => j.Total, outcome.Total)
                .SetProperty(j => j.Changed, outcome.Changed)
                .SetProperty(j => j.Result, outcome.Result), CancellationToken.None);
            log.LogInformation("Qualification job {JobId} ({Kind}) finished: {Processed} leads, {Changed} changed, in {Seconds:0.0} s",
                job.Id, job.Kind, outcome.Processed, outcome.Changed, (clock.GetUtcNow() - started).TotalSeconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            log.LogError(ex, "Qualification job {JobId} failed", job.Id);
            var message = ex.Message.Length > 4000 ? ex.Message[..4000] : ex.Message;
            await db.QualificationJobs.Where(j => j.Id == job.Id).ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Failed)
                .SetProperty(j => j.FinishedAt, clock.GetUtcNow()).SetProperty(j => j.Error, message), CancellationToken.None);
        }
    }

    private sealed record Outcome(long Total, long Processed, long Changed, bool Cancelled, string? Result);

    /// <summary>Progress is written about once a second; a job cancelled in the database stops at the next chunk.</summary>
    private sealed class Progress(IServiceScopeFactory scopes, Guid jobId, TimeProvider clock)
    {
        private long _processed;
        private long _changed;
        private DateTimeOffset _last = DateTimeOffset.MinValue;
        private readonly SemaphoreSlim _gate = new(1, 1);

        public long Processed => Interlocked.Read(ref _processed);
        public long Changed => Interlocked.Read(ref _changed);
        public long Total { get; private set; }
        public bool Cancelled { get; private set; }

        public async Task AddAsync(long processed, long changed, long total, bool force, CancellationToken ct)
        {
            Total = total;
            Interlocked.Add(ref _processed, processed);
            Interlocked.Add(ref _changed, changed);
            var now = clock.GetUtcNow();
            if (!force && now - _last < TimeSpan.FromSeconds(1))
                return;
            if (!await _gate.WaitAsync(0, ct))
                return;
            try
            {
                _last = now;
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
                var p = Processed;
                var c = Changed;
                var updated = await db.QualificationJobs.Where(j => j.Id == jobId && j.Status == JobStatus.Running)
                    .ExecuteUpdateAsync(s => s.SetProperty(j => j.Processed, p).SetProperty(j => j.Changed, c).SetProperty(j => j.Total, total)
                        .SetProperty(j => j.HeartbeatAt, now), ct);
                if (updated == 0)
                    Cancelled = true;
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>Handles one chunk of leads with their activities; returns how many are done (for progress) and how many changed.</summary>
    private delegate Task<(long Done, long Changed)> ChunkHandler(TandemDb db, List<LeadRow> leads, Func<Guid, IReadOnlyList<ActivityFacts>> activities, CancellationToken ct);

    /// <summary>Seconds summed over the parallel workers: where a bulk job spends its time, for operators tuning a large installation.</summary>
    private sealed class Phases
    {
        private long _readActivities;
        private long _readLeads;
        private long _handle;

        public void Add(ref long phase, long since) => Interlocked.Add(ref phase, System.Diagnostics.Stopwatch.GetTimestamp() - since);

        public ref long ReadActivities => ref _readActivities;
        public ref long ReadLeads => ref _readLeads;
        public ref long Handle => ref _handle;

        public static double Seconds(long ticks) => ticks / (double)System.Diagnostics.Stopwatch.Frequency;
    }

    /// <summary>
    /// Runs <paramref name="handle"/> over every lead in scope, chunk by chunk, on <see cref="Workers"/> workers. PostgreSQL reads
    /// the activities once in heap order and streams the leads (see <see cref="BulkScan"/>); SQLite, and rules that need activity
    /// properties, read lead ranges.
    /// </summary>
    private async Task ForEachChunkAsync(LeadScope scope, Progress progress, bool withUrls, bool withProperties, Phases phases, ChunkHandler handle,
        CancellationToken ct)
    {
        if (db.Database.IsNpgsql() && !withProperties)
        {
            await ForEachStreamedAsync(scope, progress, withUrls, phases, handle, ct);
            return;
        }
        var query = db.Leads.AsNoTracking();
        if (scope.Linq is not null)
            query = query.Where(scope.Linq);
        var ids = await query.OrderBy(l => l.Id).Select(l => l.Id).ToListAsync(ct);
        await progress.AddAsync(0, 0, ids.Count, true, ct);
        await Parallel.ForEachAsync(ids.Chunk(ChunkSize), new ParallelOptions { MaxDegreeOfParallelism = Workers, CancellationToken = ct }, async (chunk, token) =>
        {
            if (progress.Cancelled)
                return;
            await using var chunkScope = scopes.CreateAsyncScope();
            var chunkDb = chunkScope.ServiceProvider.GetRequiredService<TandemDb>();
            var list = chunk.ToList();
            var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
            var leads = await LoadLeadsAsync(chunkDb, list, token);
            phases.Add(ref phases.ReadLeads, t0);
            var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
            var activities = await ScoringFacts.ActivitiesAsync(chunkDb, list, withProperties, token, orderedRange: true);
            phases.Add(ref phases.ReadActivities, t1);
            var t2 = System.Diagnostics.Stopwatch.GetTimestamp();
            var (done, changed) = await handle(chunkDb, leads, id => (IReadOnlyList<ActivityFacts>?)activities.GetValueOrDefault(id) ?? [], token);
            phases.Add(ref phases.Handle, t2);
            await progress.AddAsync(done, changed, ids.Count, false, token);
        });
    }

    private async Task ForEachStreamedAsync(LeadScope scope, Progress progress, bool withUrls, Phases phases, ChunkHandler handle, CancellationToken ct)
    {
        await using var readScope = scopes.CreateAsyncScope();
        var readDb = readScope.ServiceProvider.GetRequiredService<TandemDb>();
        await using var connection = new NpgsqlConnection(readDb.Database.GetConnectionString());
        await connection.OpenAsync(ct);
        // One snapshot for the count, the activities and the leads: a lead captured between two of the reads would otherwise be
        // scored without its activities (and capture scores in its own write, so that stale score could replace a correct one).
        // Read-only and closed when the reads end, before any write (see BulkScan.StreamLeadsAsync).
        await using var snapshotTransaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, ct);
        var total = await BulkScan.CountAsync(connection, scope, ct);
        await progress.AddAsync(0, 0, total, true, ct);
        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
        var snapshot = await ActivitySnapshot.ReadAsync(connection, scope, withUrls, ct);
        phases.Add(ref phases.ReadActivities, t0);
        log.LogInformation("Read {Activities} activities of {Leads} leads in heap order", snapshot.Count, total);

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var chunks = Channel.CreateBounded<List<LeadRow>>(Workers * 2);
        var producer = Task.Run(async () =>
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await BulkScan.StreamLeadsAsync(connection, scope, ChunkSize, chunks.Writer, stop.Token);
                chunks.Writer.Complete();
            }
            catch (Exception ex)
            {
                chunks.Writer.Complete(ex);
            }
            phases.Add(ref phases.ReadLeads, started);
        }, CancellationToken.None);
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(async () =>
        {
            await using var workerScope = scopes.CreateAsyncScope();
            var workerDb = workerScope.ServiceProvider.GetRequiredService<TandemDb>();
            await foreach (var chunk in chunks.Reader.ReadAllAsync(stop.Token))
            {
                if (progress.Cancelled)
                    break;
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                var (done, changed) = await handle(workerDb, chunk, snapshot.For, stop.Token);
                phases.Add(ref phases.Handle, started);
                await progress.AddAsync(done, changed, total, false, stop.Token);
            }
        }, CancellationToken.None)).ToList();
        try
        {
            await Task.WhenAll(workers);
        }
        finally
        {
            // Cancelled, failed or done: the producer must not wait on a channel nobody reads.
            await stop.CancelAsync();
            try
            {
                await producer;
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    /// <param name="ordered">The ids are a run in the database's id order (read as one range on PostgreSQL).</param>
    private static async Task<List<LeadRow>> LoadLeadsAsync(TandemDb db, List<Guid> ids, CancellationToken ct, bool ordered = true)
    {
        if (db.Database.IsNpgsql() && ordered)
            return await LoadLeadsPostgresAsync(db, ids, ct);
        return await db.Leads.AsNoTracking().Where(l => ids.Contains(l.Id))
            .Select(l => new LeadRow(l.Id, l.Email, l.FirstName, l.LastName, l.JobTitle, l.Company, l.CompanySize, l.Industry, l.Country, l.City,
                l.Language, l.CustomFields, l.CreatedAt, l.Stage, l.StageChangedAt, l.FitScore, l.EngagementScore, l.Grade, l.PersonaId, l.PersonaMatch,
                l.ScoredVersion))
            .ToListAsync(ct);
    }

    /// <summary>A plain reader over one id range (rules reading activity properties take this path on PostgreSQL).</summary>
    private static async Task<List<LeadRow>> LoadLeadsPostgresAsync(TandemDb db, List<Guid> ids, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT {LeadRow.Columns} FROM \"Leads\" WHERE \"Id\" BETWEEN $1 AND $2", connection);
            // The chunk is a run of ids in PostgreSQL's uuid order: one range scan of the primary key, not 2,000 probes.
            command.Parameters.Add(new NpgsqlParameter { Value = ids[0] });
            command.Parameters.Add(new NpgsqlParameter { Value = ids[^1] });
            await using var reader = await command.ExecuteReaderAsync(ct);
            return await BulkScan.ReadRowsAsync(reader, ids.ToHashSet(), ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static bool NeedsUrls(params QualificationDefinition?[] definitions) =>
        definitions.Any(d => d is not null && d.EngagementRules.Any(r => !string.IsNullOrWhiteSpace(r.UrlContains)));

    private async Task<Outcome> RescoreAsync(QualificationJob job, CancellationToken ct)
    {
        active.Invalidate();
        var scoring = await active.GetAsync(db, ct);
        if (scoring is null)
            return new Outcome(0, 0, 0, false, null);
        if (job.VersionId is { } v && v != scoring.VersionId)
            return new Outcome(0, 0, 0, false, "A newer version was activated before this rescore ran; its own rescore covers every lead.");
        // Only engagement decays: leads with none keep their score.
        var scope = job.Kind == JobKind.Decay ? LeadScope.WithEngagement() : LeadScope.All;
        var progress = new Progress(scopes, job.Id, clock);
        var now = clock.GetUtcNow();
        var phases = new Phases();
        var pending = new List<ScoreUpdate>();
        ChunkHandler rescore = (_, leads, activitiesOf, _) =>
            {
                var updates = new List<ScoreUpdate>();
                foreach (var lead in leads)
                {
                    var facts = lead.Facts;
                    var acts = activitiesOf(lead.Id);
                    var score = scoring.Scorer.Score(facts, acts, now);
                    var becomesMql = LeadQualifier.CanAutoQualify(lead.Stage)
                        && LeadQualifier.MqlVerdict(lead.Stage, lead.StageChangedAt, facts, acts, score, scoring, now) is not null;
                    // The version is stored too, so a lead says truthfully which definition scored it.
                    if (becomesMql || lead.ScoredVersion != scoring.VersionNumber || score.Fit != lead.FitScore || score.Engagement != lead.EngagementScore
                        || score.Grade != lead.Grade || score.Persona?.PersonaId != lead.PersonaId || score.Persona?.Percent != lead.PersonaMatch)
                        updates.Add(new ScoreUpdate(lead.Id, score.Fit, score.Engagement, score.Grade, score.Persona?.PersonaId, score.Persona?.Percent,
                            becomesMql, lead.Page, lead.Slot));
                }
                lock (pending)
                    pending.AddRange(updates);
                return Task.FromResult(((long)(leads.Count - updates.Count), 0L));
            };
        // Read and score everything first, then write: see BulkScan.StreamLeadsAsync for why the two do not overlap.
        await ForEachChunkAsync(scope, progress, NeedsUrls(scoring.Definition), ScoringFacts.NeedsProperties(scoring.Definition), phases, rescore, ct);
        var written = await WriteAllAsync(pending, scoring.VersionNumber, now, progress, ct);
        if (job.Kind == JobKind.Rescore && !progress.Cancelled)
        {
            // Leads another instance scored with the previous version in the moment before it saw the activation: caught up here.
            var missed = await db.Leads.AsNoTracking().Where(l => l.ScoredVersion != scoring.VersionNumber || l.ScoredVersion == null)
                .Select(l => l.Id).ToListAsync(ct);
            pending.Clear();
            foreach (var ids in missed.Chunk(ChunkSize))
            {
                var list = ids.ToList();
                var leads = await LoadLeadsAsync(db, list, ct, ordered: false);
                var activities = await ScoringFacts.ActivitiesAsync(db, list, ScoringFacts.NeedsProperties(scoring.Definition), ct);
                await rescore(db, leads, id => (IReadOnlyList<ActivityFacts>?)activities.GetValueOrDefault(id) ?? [], ct);
            }
            written += await WriteAllAsync(pending, scoring.VersionNumber, now, null, ct);
            if (missed.Count > 0)
                log.LogInformation("Rescore caught up {Missed} leads not scored by version {Version} after the pass", missed.Count, scoring.VersionNumber);
        }
        var marked = written.Marked;
        log.LogInformation("Rescore phases (worker-seconds): read activities {Activities:0.0}, read leads {Leads:0.0}, score {Handle:0.0}, write {Write:0.0}; {Marked} leads now meet the MQL rule",
            Phases.Seconds(phases.ReadActivities), Phases.Seconds(phases.ReadLeads), Phases.Seconds(phases.Handle), Phases.Seconds(written.Ticks), marked);
        if (marked > 0)
            scoringSignal.Wake(); // the scoring worker moves them to MQL (and the handoff routes them) one by one
        return new Outcome(progress.Total, progress.Processed, progress.Changed, progress.Cancelled, null);
    }

    private readonly record struct Written(long Marked, long Ticks)
    {
        public static Written operator +(Written a, Written b) => new(a.Marked + b.Marked, a.Ticks + b.Ticks);
    }

    /// <summary>Writes the updates in chunks on <see cref="Workers"/> workers; PostgreSQL in HOT-friendly sweeps (see <see cref="Sweeps"/>).</summary>
    private async Task<Written> WriteAllAsync(List<ScoreUpdate> updates, int version, DateTimeOffset now, Progress? progress, CancellationToken ct)
    {
        if (updates.Count == 0 || progress?.Cancelled == true)
            return default;
        if (db.Database.IsNpgsql())
            updates.Sort(static (a, b) => a.Slot % Sweeps != b.Slot % Sweeps ? (a.Slot % Sweeps).CompareTo(b.Slot % Sweeps) : a.Page.CompareTo(b.Page));
        long marked = 0, ticks = 0;
        await Parallel.ForEachAsync(updates.Chunk(ChunkSize), new ParallelOptions { MaxDegreeOfParallelism = Workers, CancellationToken = ct }, async (chunk, token) =>
        {
            if (progress?.Cancelled == true)
                return;
            await using var chunkScope = scopes.CreateAsyncScope();
            var chunkDb = chunkScope.ServiceProvider.GetRequiredService<TandemDb>();
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await WriteAsync(chunkDb, [.. chunk], version, now, token);
            Interlocked.Add(ref ticks, System.Diagnostics.Stopwatch.GetTimestamp() - started);
            Interlocked.Add(ref marked, chunk.Count(u => u.MarkDirty));
            if (progress is not null)
                await progress.AddAsync(chunk.Length, chunk.Length, progress.Total, false, token);
        });
        if (progress is not null)
            await progress.AddAsync(0, 0, progress.Total, true, ct);
        return new Written(marked, ticks);
    }

    private int Workers => Math.Clamp(configuration.GetValue("Tandem:Qualification:Workers", 2), 1, 8);

    /// <summary>
    /// Stores new scores. PostgreSQL: binary COPY into a temporary table and one UPDATE … FROM; SQLite: one transaction of small
    /// UPDATEs. A lead that now meets the MQL rule is flagged for the scoring worker, which records the transition and hands it off.
    /// A lead the scoring worker scored with this version after the job started keeps that fresher score.
    /// </summary>
    private static async Task WriteAsync(TandemDb db, List<ScoreUpdate> updates, int version, DateTimeOffset now, CancellationToken ct)
    {
        if (updates.Count == 0)
            return;
        if (db.Database.IsNpgsql())
        {
            var connection = (NpgsqlConnection)db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync(ct);
            try
            {
                await using var tx = await connection.BeginTransactionAsync(ct);
                await using (var create = new NpgsqlCommand(
                    "CREATE TEMP TABLE IF NOT EXISTS score_updates (id uuid, fit int, eng int, grade text, persona uuid, pmatch int, dirty bool) ON COMMIT DELETE ROWS",
                    connection, tx))
                    await create.ExecuteNonQueryAsync(ct);
                await using (var writer = await connection.BeginBinaryImportAsync("COPY score_updates FROM STDIN (FORMAT BINARY)", ct))
                {
                    foreach (var u in updates)
                    {
                        await writer.StartRowAsync(ct);
                        await writer.WriteAsync(u.Id, NpgsqlDbType.Uuid, ct);
                        await writer.WriteAsync(u.Fit, NpgsqlDbType.Integer, ct);
                        await writer.WriteAsync(u.Engagement, NpgsqlDbType.Integer, ct);
                        await writer.WriteAsync(u.Grade.ToString(), NpgsqlDbType.Text, ct);
                        if (u.PersonaId is { } p)
                            await writer.WriteAsync(p, NpgsqlDbType.Uuid, ct);
                        else
                            await writer.WriteNullAsync(ct);
                        if (u.PersonaMatch is { } m)
                            await writer.WriteAsync(m, NpgsqlDbType.Integer, ct);
                        else
                            await writer.WriteNullAsync(ct);
                        await writer.WriteAsync(u.MarkDirty, NpgsqlDbType.Boolean, ct);
                    }
                    await writer.CompleteAsync(ct);
                }
                await using (var update = new NpgsqlCommand("""
                    UPDATE "Leads" l SET "FitScore" = u.fit, "EngagementScore" = u.eng, "Grade" = u.grade, "PersonaId" = u.persona,
                        "PersonaMatch" = u.pmatch, "ScoredVersion" = $1, "ScoredAt" = $2,
                        "ScoreDirtyAt" = CASE WHEN u.dirty THEN COALESCE(l."ScoreDirtyAt", $2) ELSE l."ScoreDirtyAt" END
                    FROM score_updates u
                    WHERE l."Id" = u.id AND NOT (l."ScoredVersion" IS NOT DISTINCT FROM $1 AND l."ScoredAt" > $2)
                    """, connection, tx))
                {
                    update.Parameters.Add(new NpgsqlParameter { Value = version });
                    update.Parameters.Add(new NpgsqlParameter { Value = now, NpgsqlDbType = NpgsqlDbType.TimestampTz });
                    await update.ExecuteNonQueryAsync(ct);
                }
                await tx.CommitAsync(ct);
            }
            finally
            {
                await db.Database.CloseConnectionAsync();
            }
            return;
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        foreach (var u in updates)
        {
            var dirty = u.MarkDirty;
            await db.Leads.Where(l => l.Id == u.Id).ExecuteUpdateAsync(s => s
                .SetProperty(l => l.FitScore, u.Fit).SetProperty(l => l.EngagementScore, u.Engagement).SetProperty(l => l.Grade, u.Grade)
                .SetProperty(l => l.PersonaId, u.PersonaId).SetProperty(l => l.PersonaMatch, u.PersonaMatch)
                .SetProperty(l => l.ScoredVersion, version).SetProperty(l => l.ScoredAt, now)
                .SetProperty(l => l.ScoreDirtyAt, l => dirty ? (l.ScoreDirtyAt ?? now) : l.ScoreDirtyAt), ct);
        }
        await transaction.CommitAsync(ct);
    }

    private async Task<Outcome> BacktestAsync(QualificationJob job, CancellationToken ct)
    {
        var draft = await db.QualificationVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == job.VersionId, ct)
            ?? throw new InvalidOperationException("The version to backtest no longer exists.");
        var personas = await ActiveDefinition.LoadPersonasAsync(db, ct);
        var draftScorer = new LeadScorer(DefinitionTools.FromJson(draft.Definition), personas);
        active.Invalidate();
        var current = await active.GetAsync(db, ct);
        var now = clock.GetUtcNow();
        var days = job.Days ?? 90;
        var from = now.AddDays(-days);
        var won = (await db.Deals.AsNoTracking().Where(d => d.Status == DealStatus.Won).Select(d => d.LeadId).Distinct().ToListAsync(ct)).ToHashSet();
        var rejected = (await db.StageTransitions.AsNoTracking()
            .Where(t => t.From == LifecycleStage.Mql && (t.To == LifecycleStage.Recycled || t.To == LifecycleStage.Disqualified) && t.ByUserId != null)
            .Select(t => t.LeadId).Distinct().ToListAsync(ct)).ToHashSet();
        var withProperties = ScoringFacts.NeedsProperties(draftScorer.Definition) || (current is not null && ScoringFacts.NeedsProperties(current.Definition));

        var weeks = new ConcurrentDictionary<DateOnly, (int Active, int Draft)>();
        long mqlsActive = 0, mqlsDraft = 0, wonTotal = 0, wonActive = 0, wonDraft = 0, rejTotal = 0, rejNotActive = 0, rejNotDraft = 0, become = 0, noLonger = 0;
        var changes = new ConcurrentBag<LeadChange>();
        var progress = new Progress(scopes, job.Id, clock);
        var phases = new Phases();
        await ForEachChunkAsync(LeadScope.CreatedSince(from), progress, NeedsUrls(draftScorer.Definition, current?.Definition), withProperties, phases,
            (_, leads, activitiesOf, _) =>
            {
                long changed = 0;
                foreach (var lead in leads)
                {
                    var facts = lead.Facts;
                    var acts = activitiesOf(lead.Id);
                    var a = current?.Scorer.FirstMqlAt(facts, acts, now);
                    var d = draftScorer.FirstMqlAt(facts, acts, now);
                    if (a is { } at)
                    {
                        Interlocked.Increment(ref mqlsActive);
                        weeks.AddOrUpdate(WeekOf(at), (1, 0), (_, w) => (w.Active + 1, w.Draft));
                    }
                    if (d is { } dt)
                    {
                        Interlocked.Increment(ref mqlsDraft);
                        weeks.AddOrUpdate(WeekOf(dt), (0, 1), (_, w) => (w.Active, w.Draft + 1));
                    }
                    if (won.Contains(lead.Id))
                    {
                        Interlocked.Increment(ref wonTotal);
                        if (a is not null) Interlocked.Increment(ref wonActive);
                        if (d is not null) Interlocked.Increment(ref wonDraft);
                    }
                    if (rejected.Contains(lead.Id))
                    {
                        Interlocked.Increment(ref rejTotal);
                        if (a is null) Interlocked.Increment(ref rejNotActive);
                        if (d is null) Interlocked.Increment(ref rejNotDraft);
                    }
                    if ((a is null) != (d is null))
                    {
                        changed++;
                        Interlocked.Increment(ref d is null ? ref noLonger : ref become);
                        if (changes.Count < MaxChanges)
                            changes.Add(new LeadChange(lead.Id, lead.DisplayName, lead.Company, a, d));
                    }
                }
                return Task.FromResult(((long)leads.Count, changed));
            }, ct);
        log.LogInformation("Backtest phases (worker-seconds): read activities {Activities:0.0}, read leads {Leads:0.0}, replay {Handle:0.0}",
            Phases.Seconds(phases.ReadActivities), Phases.Seconds(phases.ReadLeads), Phases.Seconds(phases.Handle));
        var firstWeek = WeekOf(from);
        var perWeek = new List<WeekCount>();
        for (var w = firstWeek; w <= WeekOf(now); w = w.AddDays(7))
        {
            var c = weeks.GetValueOrDefault(w);
            perWeek.Add(new WeekCount(w, c.Active, c.Draft));
        }
        var total = progress.Total;
        var result = new BacktestResult(days, from, now, current?.VersionNumber, draft.Number, total, perWeek, mqlsActive, mqlsDraft,
            wonTotal, wonActive, wonDraft, rejTotal, rejNotActive, rejNotDraft, become, noLonger,
            [.. changes.OrderBy(c => c.LeadId).Take(MaxChanges)]);
        await progress.AddAsync(0, 0, total, true, ct);
        return new Outcome(total, progress.Processed, progress.Changed, progress.Cancelled, JsonSerializer.Serialize(result, JobView.BacktestJson));
    }

    /// <summary>Monday of the (UTC) week.</summary>
    public static DateOnly WeekOf(DateTimeOffset at)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        return day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
    }

    internal static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
