using System.Diagnostics;
using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;

namespace Tandem.Bench;

/// <summary>
/// The feedback loop at scale on PostgreSQL (issue #14), in process against Tandem's own code:
/// (a) the lead-quality scorecard per campaign (<see cref="LeadQualityScorecard.ComputeAsync"/>, what the page and the API call)
///     over C campaigns, N leads and D dispositions, against the raw ceiling: one hand-written SQL statement computing the same
///     per-campaign counts;
/// (b) the campaign guard's evaluation as a disposition runs it (<see cref="FeedbackService.EvaluateAsync"/>), against the raw
///     ceiling of one primary-key read round trip.
/// Data is generated once with INSERT … SELECT generate_series and reused by later runs on the same database.
/// </summary>
public static class FeedbackBench
{
    public static async Task<int> RunAsync(string pg, int campaigns, int leads, int dispositions, int runs, int guardRuns)
    {
        var options = new DbContextOptionsBuilder<PostgresTandemDb>()
            .UseNpgsql(pg, n => n.MigrationsHistoryTable("__ef_migrations_history")).Options;
        await using (var db = new PostgresTandemDb(options))
            await db.Database.MigrateAsync();
        await using var source = NpgsqlDataSource.Create(pg);
        if (await ScalarAsync(source, """SELECT count(*) FROM "Leads" """) == 0)
            await GenerateAsync(source, options, campaigns, leads, dispositions);
        var counts = $"{await ScalarAsync(source, """SELECT count(*) FROM "Campaigns" """):N0} campaigns, {await ScalarAsync(source, """SELECT count(*) FROM "Leads" """):N0} leads, " +
            $"{await ScalarAsync(source, """SELECT count(*) FROM "StageTransitions" WHERE "ByRule" = 'manual:accept' OR "ByRule" LIKE 'handoff:reject:%'"""):N0} dispositions, " +
            $"{await ScalarAsync(source, """SELECT count(*) FROM "LeadRating" """):N0} ratings";
        Console.WriteLine("data: " + counts);

        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var from = today.AddDays(-89);
        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(today.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

        // (a) scorecard: one warm-up of each, then alternating runs so both see the same cache state.
        var service = new List<double>();
        var raw = new List<double>();
        var rawMilestones = new List<double>();
        var rows = 0;
        for (var i = -1; i < runs; i++)
        {
            var watch = Stopwatch.StartNew();
            await using (var db = new PostgresTandemDb(options))
                rows = (await LeadQualityScorecard.ComputeAsync(db, ScorecardBy.Campaign, from, today, null, default)).Rows.Count;
            if (i >= 0)
                service.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            await RawScorecardAsync(source, start, end);
            if (i >= 0)
                raw.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            await RawMilestoneScorecardAsync(source, start, end);
            if (i >= 0)
                rawMilestones.Add(watch.Elapsed.TotalMilliseconds);
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scorecard: {rows} rows; service p50 {P(service, 50):F0} ms p95 {P(service, 95):F0} ms; raw SQL p50 {P(raw, 50):F0} ms p95 {P(raw, 95):F0} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| raw SQL of the same aggregation over the raw transitions | {runs} | {P(raw, 50):F0} | {P(raw, 95):F0} | {P(raw, 50) / P(rawMilestones, 50):F1}× |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| raw SQL of the same aggregation over the milestones (ceiling) | {runs} | {P(rawMilestones, 50):F0} | {P(rawMilestones, 95):F0} | 1.00 |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **scorecard by campaign, 90 days (LeadQualityScorecard)** | {runs} | **{P(service, 50):F0}** | **{P(service, 95):F0}** | {P(service, 50) / P(rawMilestones, 50):F1}× |"));

        // (b) the guard's evaluation for random campaigns, as a disposition runs it (reads the window, ratings and state; no save).
        var feedback = new FeedbackService(new NotificationSignal(), TimeProvider.System, new FixedOptions(new FeedbackOptions()), new NoWebhooks());
        var ids = new List<Guid>();
        await using (var db = new PostgresTandemDb(options))
            ids = await db.Campaigns.AsNoTracking().Select(c => c.Id).ToListAsync();
        var random = new Random(14);
        var guard = new List<double>();
        var ceiling = new List<double>();
        for (var i = -200; i < guardRuns; i++)
        {
            var id = ids[random.Next(ids.Count)];
            await using var db = new PostgresTandemDb(options);
            var campaign = await db.Campaigns.FirstAsync(c => c.Id == id);
            var watch = Stopwatch.StartNew();
            await feedback.EvaluateAsync(db, campaign, newDisposition: true, default);
            if (i >= 0)
                guard.Add(watch.Elapsed.TotalMilliseconds);
            watch.Restart();
            await using (var cmd = source.CreateCommand("""SELECT "Status" FROM "Campaigns" WHERE "Id" = $1"""))
            {
                cmd.Parameters.AddWithValue(id);
                await cmd.ExecuteScalarAsync();
            }
            if (i >= 0)
                ceiling.Add(watch.Elapsed.TotalMilliseconds);
        }
        // (c) what the rollup triggers add to writing one disposition: the same INSERT of a verdict transition with the triggers on
        // and off (session_replication_role), alternating, each rolled back.
        var withTriggers = new List<double>();
        var withoutTriggers = new List<double>();
        var mqlLeads = new List<Guid>();
        await using (var cmd = source.CreateCommand("""SELECT "LeadId" FROM "LeadMilestones" WHERE "MqlAt" IS NOT NULL LIMIT 5000"""))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                mqlLeads.Add(reader.GetGuid(0));
        await using (var conn = source.CreateConnection())
        {
            await conn.OpenAsync();
            for (var i = -200; i < guardRuns; i++)
            {
                foreach (var on in new[] { true, false })
                {
                    await using var tx = await conn.BeginTransactionAsync();
                    if (!on)
                        await new NpgsqlCommand("SET LOCAL session_replication_role = replica", conn, tx).ExecuteNonQueryAsync();
                    await using var insert = new NpgsqlCommand("""
                        INSERT INTO "StageTransitions" ("Id","LeadId","From","To","At","ByRule","Reason") VALUES ($1, $2, 'Mql', 'Recycled', now(), 'handoff:reject:Student', 'bench')
                        """, conn, tx);
                    insert.Parameters.AddWithValue(Guid.CreateVersion7());
                    insert.Parameters.AddWithValue(mqlLeads[random.Next(mqlLeads.Count)]);
                    var watch = Stopwatch.StartNew();
                    await insert.ExecuteNonQueryAsync();
                    if (i >= 0)
                        (on ? withTriggers : withoutTriggers).Add(watch.Elapsed.TotalMilliseconds);
                    await tx.RollbackAsync();
                }
            }
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| one disposition INSERT without the rollup triggers (ceiling) | {guardRuns} | {P(withoutTriggers, 50):F2} | {P(withoutTriggers, 99):F2} | 1.00 |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **one disposition INSERT with the rollup triggers** | {guardRuns} | **{P(withTriggers, 50):F2}** | **{P(withTriggers, 99):F2}** | {P(withTriggers, 50) / P(withoutTriggers, 50):F1}× |"));

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"guard: p50 {P(guard, 50):F2} ms p99 {P(guard, 99):F2} ms; one-row read p50 {P(ceiling, 50):F2} ms p99 {P(ceiling, 99):F2} ms"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| one primary-key read round trip (ceiling) | {guardRuns} | {P(ceiling, 50):F2} | {P(ceiling, 99):F2} | 1.00 |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| **guard evaluation of one disposition** | {guardRuns} | **{P(guard, 50):F2}** | **{P(guard, 99):F2}** | {P(guard, 50) / P(ceiling, 50):F1}× |"));
        return P(service, 95) < 1000 && P(guard, 99) + P(withTriggers, 99) - P(withoutTriggers, 99) < 5 ? 0 : 1;
    }

    private static double P(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Clamp((int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    /// <summary>Per campaign: leads, MQLs, accepted, rejected (never accepted), SQLs, mean rating; one statement, no ORM.</summary>
    private static async Task RawScorecardAsync(NpgsqlDataSource source, DateTimeOffset start, DateTimeOffset end)
    {
        await using var cmd = source.CreateCommand("""
            WITH l AS (SELECT "Id", "FirstCampaignId" FROM "Leads" WHERE "CreatedAt" >= $1 AND "CreatedAt" < $2),
            t AS (
                SELECT t."LeadId",
                       bool_or(t."To" = 'Mql') AS mql, bool_or(t."ByRule" = 'manual:accept') AS acc,
                       bool_or(t."ByRule" LIKE 'handoff:reject:%') AS rej, bool_or(t."To" = 'Sql') AS sq
                FROM "StageTransitions" t JOIN l ON l."Id" = t."LeadId" GROUP BY t."LeadId"),
            r AS (SELECT "LeadId", avg("LeadQuality") AS q FROM "LeadRating" GROUP BY "LeadId")
            SELECT l."FirstCampaignId", count(*), count(*) FILTER (WHERE t.mql), count(*) FILTER (WHERE t.acc),
                   count(*) FILTER (WHERE t.rej AND NOT t.acc), count(*) FILTER (WHERE t.sq), avg(r.q)
            FROM l LEFT JOIN t ON t."LeadId" = l."Id" LEFT JOIN r ON r."LeadId" = l."Id"
            GROUP BY l."FirstCampaignId"
            """);
        cmd.Parameters.AddWithValue(start);
        cmd.Parameters.AddWithValue(end);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    }

    /// <summary>The same per-campaign counts over the trigger-maintained milestones; one statement, no ORM.</summary>
    private static async Task RawMilestoneScorecardAsync(NpgsqlDataSource source, DateTimeOffset start, DateTimeOffset end)
    {
        await using var cmd = source.CreateCommand("""
            WITH r AS (SELECT "LeadId", avg("LeadQuality") AS q FROM "LeadRating" GROUP BY "LeadId")
            SELECT l."FirstCampaignId", count(*), count(m."MqlAt"), count(m."AcceptedAt"),
                   count(*) FILTER (WHERE m."RejectedAt" IS NOT NULL AND m."AcceptedAt" IS NULL), count(m."SqlAt"), avg(r.q)
            FROM "Leads" l LEFT JOIN "LeadMilestones" m ON m."LeadId" = l."Id" LEFT JOIN r ON r."LeadId" = l."Id"
            WHERE l."CreatedAt" >= $1 AND l."CreatedAt" < $2
            GROUP BY l."FirstCampaignId"
            """);
        cmd.Parameters.AddWithValue(start);
        cmd.Parameters.AddWithValue(end);
        await using var reader = await cmd.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
        }
    }

    private static async Task GenerateAsync(NpgsqlDataSource source, DbContextOptions<PostgresTandemDb> options, int campaigns, int leads, int dispositions)
    {
        var watch = Stopwatch.StartNew();
        var rep = Guid.CreateVersion7();
        await using (var db = new PostgresTandemDb(options))
        {
            db.Users.Add(new AppUser { Id = rep, UserName = "rep@bench.example", NormalizedUserName = "REP@BENCH.EXAMPLE", Email = "rep@bench.example", DisplayName = "Bench rep" });
            var channels = Enum.GetValues<Channel>();
            for (var i = 0; i < campaigns; i++)
                db.Campaigns.Add(new Campaign { Name = $"Campaign {i:D3}", Channel = channels[i % channels.Length], Status = CampaignStatus.Active, CreatedAt = DateTimeOffset.UtcNow.AddDays(-120) });
            await db.SaveChangesAsync();
        }
        // One connection throughout: the MQL list is a temporary table.
        await using var conn = source.CreateConnection();
        await conn.OpenAsync();
        // Bulk load without the rollup triggers, then one rebuild of the milestones and verdicts from the raw rows (decision 021).
        await ExecAsync(conn, "SET session_replication_role = replica");
        // Leads spread over 90 days and the campaigns; 40 % became MQLs; the first D MQLs got a verdict (35 % accepted, the rest
        // rejected with a reason); half the verdicts carry a rating.
        await ExecAsync(conn, $$"""
            INSERT INTO "Leads" ("Id","Email","FirstName","LastName","JobTitle","Company","Country","Language","DoNotEmail","DoNotCall","ManualFields",
                                 "Stage","WorkStatus","StageChangedAt","FitScore","EngagementScore","CreatedAt","UpdatedAt","FirstCampaignId","FirstChannel")
            SELECT gen_random_uuid(), 'p' || i || '@firm' || (i % 50000) || '.example', 'First' || i, 'Last' || i,
                   (ARRAY['CFO','Student','Head of finance','Intern','DAF'])[1 + i % 5], 'Firm ' || (i % 50000), 'FR', 'fr', false, false, '{}',
                   'Lead', 'None', now() - ((i % 89) || ' days')::interval, 0, 0, now() - ((i % 89) || ' days')::interval - ((i % 1440) || ' minutes')::interval, now(),
                   c."Id", c."Channel"
            FROM generate_series(1, {{leads}}) i
            JOIN (SELECT "Id", "Channel", row_number() OVER (ORDER BY "Id") - 1 AS n FROM "Campaigns") c ON c.n = i % {{campaigns}}
            """);
        await ExecAsync(conn, """
            CREATE TEMP TABLE bench_mql AS
            SELECT "Id", "CreatedAt", row_number() OVER (ORDER BY "Id") AS n FROM "Leads" WHERE abs(hashtext("Id"::text)) % 10 < 4
            """);
        await ExecAsync(conn, """
            INSERT INTO "StageTransitions" ("Id","LeadId","From","To","At","ByRule")
            SELECT gen_random_uuid(), "Id", 'Lead', 'Mql', "CreatedAt" + interval '1 hour', 'bench MQL rule' FROM bench_mql
            """);
        await ExecAsync(conn, $"""
            INSERT INTO "StageTransitions" ("Id","LeadId","From","To","At","ByUserId","ByRule","Reason")
            SELECT gen_random_uuid(), "Id", 'Mql', CASE WHEN n % 20 < 7 THEN 'Sql' ELSE 'Recycled' END, "CreatedAt" + interval '5 hours', '{rep}',
                   CASE WHEN n % 20 < 7 THEN 'manual:accept' ELSE 'handoff:reject:' || (ARRAY['Student','BadFit','NoBudget','BadTiming','Unreachable'])[1 + n % 5] END,
                   CASE WHEN n % 20 < 7 THEN NULL ELSE 'bench' END
            FROM bench_mql WHERE n <= {dispositions}
            """);
        await ExecAsync(conn, $"""
            INSERT INTO "LeadRating" ("Id","LeadId","ByUserId","ByName","LeadQuality","MeetingQuality","CampaignId","CreatedAt","UpdatedAt")
            SELECT gen_random_uuid(), m."Id", '{rep}', 'Bench rep', 1 + m.n % 5, NULL, l."FirstCampaignId", m."CreatedAt" + interval '6 hours', m."CreatedAt" + interval '6 hours'
            FROM bench_mql m JOIN "Leads" l ON l."Id" = m."Id" WHERE m.n <= {dispositions} AND m.n % 2 = 0
            """);
        await ExecAsync(conn, """UPDATE "Leads" SET "Stage" = 'Mql' WHERE "Id" IN (SELECT "Id" FROM bench_mql)""");
        await ExecAsync(conn, "SET session_replication_role = origin");
        foreach (var sql in Tandem.Features.Leads.LeadRollups.RebuildSql())
            await ExecAsync(conn, sql);
        await ExecAsync(conn, """VACUUM ANALYZE "LeadMilestones" """);
        await ExecAsync(conn, """VACUUM ANALYZE "CampaignVerdicts" """);
        await ExecAsync(conn, """VACUUM ANALYZE "Leads" """);
        await ExecAsync(conn, """VACUUM ANALYZE "StageTransitions" """);
        await ExecAsync(conn, """VACUUM ANALYZE "LeadRating" """);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"generated in {watch.Elapsed.TotalSeconds:F0} s"));
    }

    private static async Task ExecAsync(NpgsqlConnection conn, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, conn) { CommandTimeout = 0 };
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource source, string sql)
    {
        await using var cmd = source.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private sealed class FixedOptions(FeedbackOptions value) : IOptionsMonitor<FeedbackOptions>
    {
        public FeedbackOptions CurrentValue => value;
        public FeedbackOptions Get(string? name) => value;
        public IDisposable? OnChange(Action<FeedbackOptions, string?> listener) => null;
    }

    /// <summary>No endpoint subscribes: the guard's cost without deliveries (a flag or pause adds one outbox row).</summary>
    private sealed class NoWebhooks : IWebhookPublisher
    {
        public ValueTask<bool> HasSubscribersAsync(string eventType, CancellationToken ct) => ValueTask.FromResult(false);
        public Task<int> PublishAsync(TandemDb db, string eventType, object data, CancellationToken ct) => Task.FromResult(0);
        public ValueTask<IReadOnlyList<WebhookDelivery>> CreateDeliveriesAsync(string eventType, object data, DateTimeOffset at, CancellationToken ct) =>
            ValueTask.FromResult<IReadOnlyList<WebhookDelivery>>([]);
        public void Wake()
        {
        }

        public void Invalidate()
        {
        }
    }
}
