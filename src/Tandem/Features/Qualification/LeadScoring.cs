using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

/// <summary>Wakes the scoring worker as soon as a change commits (other instances poll).</summary>
public sealed class ScoringSignal : Platform.WakeSignal;

/// <summary>
/// Something that reacts, inside the same transaction, to a lead becoming MQL (the handoff routes it). It adds rows to
/// the given context; the caller saves and commits.
/// </summary>
public interface IMqlListener
{
    /// <summary>
    /// Called at the start of each scoring transaction, before any lead row is locked: the handoff takes its routing lock
    /// here, so every routing transaction takes its locks in the same order (routing lock, then rows) and none deadlock.
    /// </summary>
    Task PrepareAsync(TandemDb db, CancellationToken ct) => Task.CompletedTask;

    Task OnMqlAsync(TandemDb db, Lead lead, StageTransition transition, CancellationToken ct);

    /// <summary>
    /// Called with the leads of a scoring pass that were already MQL before it. A lead can enter MQL without the MQL rule (a source
    /// system or an import that gives the stage, data from before routing existed): the listener catches up on the ones it has not
    /// handled since they entered the stage, so every MQL is handled the same way whatever brought it there.
    /// </summary>
    Task OnStillMqlAsync(TandemDb db, IReadOnlyList<Lead> leads, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>Plain facts for the pure scorer, read from the database.</summary>
public static class ScoringFacts
{
    /// <summary>
    /// Flags the lead for the scoring worker with a value it has never had (a pass that read the old value cannot clear it),
    /// even when the clock has not moved since the last flag (coarse or frozen clocks).
    /// </summary>
    public static void RequestScore(Lead lead, DateTimeOffset now) =>
        lead.ScoreDirtyAt = lead.ScoreDirtyAt is { } previous && previous >= now ? previous.AddTicks(1) : now;

    public static LeadFacts ForLead(Lead l) => new(l.Id, l.Email, l.JobTitle, l.Company, l.CompanySize, l.Industry, l.Country, l.City,
        l.Language, l.CreatedAt, ParseCustomFields(l.CustomFields));

    public static IReadOnlyDictionary<string, string?>? ParseCustomFields(string? json)
    {
        if (string.IsNullOrEmpty(json))
            return null;
        try
        {
            using var doc = JsonDocument.Parse(json);
            var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return null;
            foreach (var p in doc.RootElement.EnumerateObject())
                result[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString(),
                    JsonValueKind.Null => null,
                    _ => p.Value.GetRawText(),
                };
            return result;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Activities of the given leads, oldest first, grouped by lead. Properties are parsed only when a rule needs them.</summary>
    /// <remarks><paramref name="orderedRange"/>: the ids are a run in the database's id order (bulk jobs), read as one range.</remarks>
    public static async Task<Dictionary<Guid, List<ActivityFacts>>> ActivitiesAsync(TandemDb db, IReadOnlyCollection<Guid> leadIds,
        bool withProperties, CancellationToken ct, bool orderedRange = false)
    {
        var result = new Dictionary<Guid, List<ActivityFacts>>(leadIds.Count);
        if (leadIds.Count == 0)
            return result;
        if (db.Database.IsNpgsql())
        {
            await ReadPostgresAsync(db, leadIds, withProperties, orderedRange, result, ct);
        }
        else
        {
            var rows = await db.Activities.AsNoTracking().Where(a => leadIds.Contains(a.LeadId))
                .Select(a => new { a.LeadId, a.Type, a.OccurredAt, a.CampaignId, a.Url, Properties = withProperties ? a.Properties : null })
                .ToListAsync(ct);
            foreach (var a in rows)
                Add(result, a.LeadId, new ActivityFacts(a.Type, a.OccurredAt, a.CampaignId, a.Url, ParseCustomFields(a.Properties)));
        }
        foreach (var list in result.Values)
            list.Sort((x, y) => x.OccurredAt.CompareTo(y.OccurredAt));
        return result;
    }

    private static void Add(Dictionary<Guid, List<ActivityFacts>> result, Guid leadId, ActivityFacts activity)
    {
        if (!result.TryGetValue(leadId, out var list))
            result[leadId] = list = [];
        list.Add(activity);
    }

    private static readonly Dictionary<string, ActivityType> ActivityTypes =
        Enum.GetValues<ActivityType>().ToDictionary(t => t.ToString(), StringComparer.Ordinal);

    /// <summary>
    /// PostgreSQL: a plain reader over one <c>= ANY(array)</c> query. The rescore of a million leads reads ten million activity rows,
    /// and EF's materialisation was most of its time.
    /// </summary>
    private static async Task ReadPostgresAsync(TandemDb db, IReadOnlyCollection<Guid> leadIds, bool withProperties, bool orderedRange,
        Dictionary<Guid, List<ActivityFacts>> result, CancellationToken ct)
    {
        var connection = (Npgsql.NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            var ids = leadIds as IReadOnlyList<Guid> ?? leadIds.ToList();
            var sql = SelectActivities(withProperties) + (orderedRange ? "\"LeadId\" BETWEEN $1 AND $2" : "\"LeadId\" = ANY($1)");
            // A batch (positional parameters allow one statement per command): the id list is a key lookup, kept on its index.
            await using var batch = orderedRange
                ? new Npgsql.NpgsqlBatch(connection) { BatchCommands = { new Npgsql.NpgsqlBatchCommand(sql) } }
                : Data.KeyLookup.Batch(connection, sql);
            batch.Transaction = db.Database.CurrentTransaction?.GetDbTransaction() as Npgsql.NpgsqlTransaction;
            var command = orderedRange ? batch.BatchCommands[0] : batch.BatchCommands[1];
            HashSet<Guid>? wanted = null;
            if (orderedRange)
            {
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids[0] });
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids[^1] });
                wanted = [.. ids];
            }
            else
            {
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = ids.ToArray() });
            }
            await using var reader = await batch.ExecuteReaderAsync(ct);
            await ReadActivitiesAsync(reader, withProperties, wanted, result, ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>PostgreSQL: the start of the activity-facts query (its columns and table) up to <c>WHERE</c>; read its rows with <see cref="ReadActivitiesAsync"/>.</summary>
    public static string SelectActivities(bool withProperties) =>
        "SELECT \"LeadId\", \"Type\", \"OccurredAt\", \"CampaignId\", \"Url\"" + (withProperties ? ", \"Properties\"" : "") + " FROM \"Activities\" WHERE ";

    /// <summary>Reads the rows of a <see cref="SelectActivities"/> query (the reader's current result set) into facts per lead, unsorted.</summary>
    public static async Task ReadActivitiesAsync(Npgsql.NpgsqlDataReader reader, bool withProperties, HashSet<Guid>? wanted,
        Dictionary<Guid, List<ActivityFacts>> result, CancellationToken ct)
    {
        while (await reader.ReadAsync(ct))
        {
            if (!ActivityTypes.TryGetValue(reader.GetString(1), out var type) || (wanted is not null && !wanted.Contains(reader.GetGuid(0))))
                continue;
            var at = new DateTimeOffset(reader.GetFieldValue<DateTime>(2), TimeSpan.Zero);
            Add(result, reader.GetGuid(0), new ActivityFacts(type, at, reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), withProperties && !reader.IsDBNull(5) ? ParseCustomFields(reader.GetString(5)) : null));
        }
    }

    public static bool NeedsProperties(QualificationDefinition d) => d.EngagementRules.Any(r => r.PropertyKey is not null);
}

/// <summary>
/// Applies scores to leads: stores fit, engagement, grade and persona, and moves a lead to MQL the moment the active rule holds
/// (recording the transition with the rule version and why, and telling the <see cref="IMqlListener"/>s in the same transaction).
/// </summary>
public sealed class LeadQualifier(TandemDb db, ActiveDefinition active, TimeProvider clock, IEnumerable<IMqlListener> listeners,
    Platform.OutboundWebhooks.IWebhookPublisher webhooks, ILogger<LeadQualifier> log)
{
    public const int BatchSize = 200;

    /// <summary>Stages from which the MQL rule moves a lead automatically.</summary>
    public static bool CanAutoQualify(LifecycleStage stage) => stage is LifecycleStage.Subscriber or LifecycleStage.Lead or LifecycleStage.Recycled;

    /// <summary>Scores up to <see cref="BatchSize"/> leads waiting for a score; returns how many were processed.</summary>
    public async Task<int> ProcessDirtyBatchAsync(CancellationToken ct)
    {
        var scoring = await active.GetAsync(db, ct);
        // A cheap read first (the partial index): an idle pass takes no transaction and no routing lock. Ordered with a limit so the
        // planner always walks the small partial index: a plain EXISTS was planned as a scan of the whole table (14 ms at 30k leads).
        if (await db.Leads.Where(l => l.ScoreDirtyAt != null).OrderBy(l => l.ScoreDirtyAt).Select(l => (Guid?)l.Id).FirstOrDefaultAsync(ct) is null)
            return 0;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        foreach (var listener in listeners)
            await listener.PrepareAsync(db, ct);
        List<Lead> leads;
        if (db.Database.IsNpgsql())
        {
            // Two instances never score the same lead at once, and capture waits (briefly) for the row rather than racing.
            leads = await db.Leads.FromSqlRaw(
                "SELECT * FROM \"Leads\" WHERE \"ScoreDirtyAt\" IS NOT NULL ORDER BY \"ScoreDirtyAt\" LIMIT {0} FOR UPDATE SKIP LOCKED", BatchSize)
                .ToListAsync(ct);
        }
        else
        {
            leads = await db.Leads.Where(l => l.ScoreDirtyAt != null).OrderBy(l => l.ScoreDirtyAt).Take(BatchSize).ToListAsync(ct);
        }
        if (leads.Count == 0)
            return 0;
        var now = clock.GetUtcNow();
        var alreadyMql = leads.Where(l => l.Stage == LifecycleStage.Mql).ToList();
        if (scoring is null)
        {
            // No active definition yet: nothing to score against; clear the queue so it does not grow forever.
            foreach (var lead in leads)
                lead.ScoreDirtyAt = null;
        }
        else
        {
            var activities = await ScoringFacts.ActivitiesAsync(db, leads.Select(l => l.Id).ToList(), ScoringFacts.NeedsProperties(scoring.Definition), ct);
            foreach (var lead in leads)
                await ApplyAsync(lead, activities.GetValueOrDefault(lead.Id) ?? [], scoring, now, byUserId: null, ct);
        }
        if (alreadyMql.Count > 0)
            foreach (var listener in listeners)
                await listener.OnStillMqlAsync(db, alreadyMql, ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return leads.Count;
    }

    /// <summary>Scores one tracked lead and, when the rule holds and the stage allows it, makes it an MQL.</summary>
    public async Task<LeadScore> ApplyAsync(Lead lead, IReadOnlyList<ActivityFacts> activities, ActiveScoring scoring, DateTimeOffset now,
        Guid? byUserId, CancellationToken ct)
    {
        var (score, verdict) = ScoreInto(lead, activities, scoring, now);
        lead.ScoreDirtyAt = null;
        if (verdict is { } holding)
        {
            var transition = LeadStages.Record(db, lead, LifecycleStage.Mql, new Actor(byUserId, "qualification"),
                $"qualification v{scoring.VersionNumber} · MQL condition {holding.Index + 1}",
                $"{Describe.Condition(scoring.Definition.Mql.AnyOf[holding.Index])} (fit {score.Fit}, grade {score.Grade}, engagement {score.Engagement})", now);
            lead.WorkStatus = WorkStatus.New;
            foreach (var listener in listeners)
                await listener.OnMqlAsync(db, lead, transition, ct);
            await webhooks.PublishAsync(db, Platform.OutboundWebhooks.WebhookEvents.LeadMql,
                new { lead = LeadWebhookData.Of(lead), rule = transition.ByRule, reason = transition.Reason, at = transition.At }, ct);
            log.LogInformation("Lead {LeadId} became MQL by version {Version}", lead.Id, scoring.VersionNumber);
        }
        return score;
    }

    /// <summary>
    /// Stores the score of a lead (fit, engagement, grade, persona, version) on it; returns the score and the MQL condition that
    /// now holds when the lead's stage lets the rule move it (the caller records the transition, or leaves it to the worker).
    /// </summary>
    public static (LeadScore Score, MqlConditionResult? Verdict) ScoreInto(Lead lead, IReadOnlyList<ActivityFacts> activities, ActiveScoring scoring,
        DateTimeOffset now)
    {
        var facts = ScoringFacts.ForLead(lead);
        var score = scoring.Scorer.Score(facts, activities, now);
        lead.FitScore = score.Fit;
        lead.EngagementScore = score.Engagement;
        lead.Grade = score.Grade;
        lead.PersonaId = score.Persona?.PersonaId;
        lead.PersonaMatch = score.Persona?.Percent;
        lead.ScoredVersion = scoring.VersionNumber;
        lead.ScoredAt = now;
        var verdict = CanAutoQualify(lead.Stage) ? MqlVerdict(lead.Stage, lead.StageChangedAt, facts, activities, score, scoring, now) : null;
        return (score, verdict);
    }

    /// <summary>
    /// The MQL condition that holds, if any. A recycled lead must earn it again: only activities after it was recycled count,
    /// otherwise the engagement that got it recycled would send it straight back to sales.
    /// </summary>
    public static MqlConditionResult? MqlVerdict(LifecycleStage stage, DateTimeOffset stageChangedAt, LeadFacts facts,
        IReadOnlyList<ActivityFacts> activities, LeadScore score, ActiveScoring scoring, DateTimeOffset now)
    {
        if (stage == LifecycleStage.Recycled)
        {
            var recent = activities.Where(a => a.OccurredAt > stageChangedAt).ToList();
            score = scoring.Scorer.Score(facts, recent, now);
        }
        return score.IsMql ? score.Mql.FirstOrDefault(m => m.Holds) : null;
    }
}

/// <summary>Runs <see cref="LeadQualifier.ProcessDirtyBatchAsync"/> whenever a change is signalled, and every few seconds anyway.</summary>
public sealed class ScoringWorker(IServiceScopeFactory scopes, ScoringSignal signal, ILogger<ScoringWorker> log, IConfiguration configuration)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromMilliseconds(configuration.GetValue("Tandem:Qualification:PollMilliseconds", 2000));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                int processed;
                do
                {
                    await using var scope = scopes.CreateAsyncScope();
                    processed = await scope.ServiceProvider.GetRequiredService<LeadQualifier>().ProcessDirtyBatchAsync(stoppingToken);
                }
                while (processed == LeadQualifier.BatchSize && !stoppingToken.IsCancellationRequested);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogError(ex, "Scoring pass failed; retrying");
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
}
