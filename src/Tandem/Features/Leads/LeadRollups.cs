using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Migrations;
using Tandem.Data;

namespace Tandem.Features.Leads;

/// <summary>
/// A lead's milestones, derived from its stage transitions (decision 021): the first entry into each funnel stage, the first
/// acceptance by sales and the latest rejection. Written only by database triggers on <c>StageTransitions</c> (every writer —
/// EF, raw SQL, COPY, merges — is covered) so the scorecard and the KPIs read one narrow row per lead instead of probing the
/// transitions four times per lead. <see cref="LeadRollups.RebuildAsync"/> recomputes the whole table from the raw rows.
/// </summary>
public sealed class LeadMilestone
{
    public Guid LeadId { get; set; }
    public DateTimeOffset? MqlAt { get; set; }
    public DateTimeOffset? SqlAt { get; set; }
    public DateTimeOffset? OpportunityAt { get; set; }
    public DateTimeOffset? CustomerAt { get; set; }
    /// <summary>The first acceptance (<see cref="DispositionRules.Accept"/>).</summary>
    public DateTimeOffset? AcceptedAt { get; set; }
    /// <summary>The latest rejection (by time, then transition id), its rule and transition.</summary>
    public DateTimeOffset? RejectedAt { get; set; }
    public string? RejectRule { get; set; }
    public Guid? RejectTransitionId { get; set; }
}

/// <summary>
/// Sales' verdict on an MQL (a transition out of MQL by <see cref="DispositionRules.Accept"/> or a rejection), filed under the
/// lead's first-touch campaign: the campaign guard reads its window as an index range of this table. Trigger-maintained like
/// <see cref="LeadMilestone"/>, including when a merge moves transitions or a lead's first-touch campaign changes.
/// </summary>
public sealed class CampaignVerdict
{
    public Guid TransitionId { get; set; }
    public Guid CampaignId { get; set; }
    public Guid LeadId { get; set; }
    public DateTimeOffset At { get; set; }
    public bool Accepted { get; set; }
    public string Rule { get; set; } = "";
}

public static class LeadRollups
{
    /// <summary>Marks an entity written only by the database's triggers: a merge does not re-point it (the triggers follow the moved
    /// transitions), and nothing else writes it.</summary>
    public const string DerivedAnnotation = "Tandem:DerivedByTriggers";

    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<LeadMilestone>(e =>
        {
            e.HasAnnotation(DerivedAnnotation, true);
            e.HasKey(m => m.LeadId);
            e.Property(m => m.RejectRule).HasMaxLength(200);
            e.HasIndex(m => m.MqlAt);
        });
        builder.Entity<CampaignVerdict>(e =>
        {
            e.HasAnnotation(DerivedAnnotation, true);
            e.HasKey(v => v.TransitionId);
            e.Property(v => v.Rule).HasMaxLength(200);
            e.HasIndex(v => new { v.CampaignId, v.At, v.TransitionId });
            e.HasIndex(v => v.LeadId);
        });
    }

    private const string Accept = "'" + DispositionRules.Accept + "'";
    private static readonly string RejectPrefixLength = DispositionRules.RejectPrefix.Length.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static string IsReject(string t) => $"substr({t}.\"ByRule\", 1, {RejectPrefixLength}) = '{DispositionRules.RejectPrefix}'";

    /// <summary>A transition that changes a milestone: entry into a funnel stage, an acceptance or a rejection.</summary>
    private static string Relevant(string t) =>
        $"({t}.\"To\" IN ('Mql', 'Sql', 'Opportunity', 'Customer') OR {t}.\"ByRule\" = {Accept} OR {IsReject(t)})";

    /// <summary>A verdict as the guard counts it: out of MQL, accepted or rejected.</summary>
    private static string IsVerdict(string t) => $"({t}.\"From\" = 'Mql' AND ({t}.\"ByRule\" = {Accept} OR {IsReject(t)}))";

    private const string MilestoneColumns =
        "\"LeadId\", \"MqlAt\", \"SqlAt\", \"OpportunityAt\", \"CustomerAt\", \"AcceptedAt\", \"RejectedAt\", \"RejectRule\", \"RejectTransitionId\"";

    private const string VerdictColumns = "\"TransitionId\", \"CampaignId\", \"LeadId\", \"At\", \"Accepted\", \"Rule\"";

    /// <summary>One lead's milestones from its transitions (always one row; all nulls when it has none).</summary>
    private static string MilestoneOf(string lead)
    {
        string Latest(string column) =>
            $"(SELECT x.\"{column}\" FROM \"StageTransitions\" x WHERE x.\"LeadId\" = {lead} AND {IsReject("x")} ORDER BY x.\"At\" DESC, x.\"Id\" DESC LIMIT 1)";
        return $"""
            SELECT {lead},
                min(CASE WHEN t."To" = 'Mql' THEN t."At" END),
                min(CASE WHEN t."To" = 'Sql' THEN t."At" END),
                min(CASE WHEN t."To" = 'Opportunity' THEN t."At" END),
                min(CASE WHEN t."To" = 'Customer' THEN t."At" END),
                min(CASE WHEN t."ByRule" = {Accept} THEN t."At" END),
                {Latest("At")}, {Latest("ByRule")}, {Latest("Id")}
            FROM "StageTransitions" t WHERE t."LeadId" = {lead}
            """;
    }

    private const string Upsert = """
        ON CONFLICT ("LeadId") DO UPDATE SET "MqlAt" = excluded."MqlAt", "SqlAt" = excluded."SqlAt", "OpportunityAt" = excluded."OpportunityAt",
            "CustomerAt" = excluded."CustomerAt", "AcceptedAt" = excluded."AcceptedAt", "RejectedAt" = excluded."RejectedAt",
            "RejectRule" = excluded."RejectRule", "RejectTransitionId" = excluded."RejectTransitionId"
        """;

    /// <summary>The verdict row of transition <paramref name="t"/> when it is one and its lead has a first-touch campaign.</summary>
    private static string VerdictOf(string t) => $"""
        SELECT {t}."Id", l."FirstCampaignId", {t}."LeadId", {t}."At", {t}."ByRule" = {Accept}, {t}."ByRule"
        FROM "Leads" l WHERE l."Id" = {t}."LeadId" AND l."FirstCampaignId" IS NOT NULL AND {IsVerdict(t)}
        """;

    /// <summary>Recomputes both tables from the raw rows (migration backfill, demo seeding, benchmarks, repair).</summary>
    public static IReadOnlyList<string> RebuildSql() =>
    [
        "DELETE FROM \"LeadMilestones\"",
        $"""
        INSERT INTO "LeadMilestones" ({MilestoneColumns})
        SELECT a."LeadId", a.mql, a.sqlat, a.opp, a.cust, a.acc, r."At", r."ByRule", r."Id"
        FROM (SELECT t."LeadId",
                min(CASE WHEN t."To" = 'Mql' THEN t."At" END) AS mql,
                min(CASE WHEN t."To" = 'Sql' THEN t."At" END) AS sqlat,
                min(CASE WHEN t."To" = 'Opportunity' THEN t."At" END) AS opp,
                min(CASE WHEN t."To" = 'Customer' THEN t."At" END) AS cust,
                min(CASE WHEN t."ByRule" = {Accept} THEN t."At" END) AS acc
              FROM "StageTransitions" t WHERE {Relevant("t")} GROUP BY t."LeadId") a
        LEFT JOIN (SELECT x."LeadId", x."At", x."ByRule", x."Id",
                          ROW_NUMBER() OVER (PARTITION BY x."LeadId" ORDER BY x."At" DESC, x."Id" DESC) AS rn
                   FROM "StageTransitions" x WHERE {IsReject("x")}) r ON r."LeadId" = a."LeadId" AND r.rn = 1
        """,
        "DELETE FROM \"CampaignVerdicts\"",
        $"""
        INSERT INTO "CampaignVerdicts" ({VerdictColumns})
        SELECT t."Id", l."FirstCampaignId", t."LeadId", t."At", t."ByRule" = {Accept}, t."ByRule"
        FROM "StageTransitions" t JOIN "Leads" l ON l."Id" = t."LeadId"
        WHERE l."FirstCampaignId" IS NOT NULL AND {IsVerdict("t")}
        """,
    ];

    /// <summary>Recomputes both tables in one transaction.</summary>
    public static async Task RebuildAsync(TandemDb db, CancellationToken ct)
    {
        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            foreach (var sql in RebuildSql())
                await db.Database.ExecuteSqlRawAsync(sql, ct);
            await tx.CommitAsync(ct);
        });
    }

    /// <summary>The triggers that keep both tables equal to the raw rows, for PostgreSQL or SQLite.</summary>
    public static IReadOnlyList<string> InstallSql(bool postgres) => postgres ? PostgresTriggers() : SqliteTriggers();

    public static IReadOnlyList<string> UninstallSql(bool postgres) => postgres
        ?
        [
            "DROP TRIGGER IF EXISTS tandem_rollup_transition_insert ON \"StageTransitions\"",
            "DROP TRIGGER IF EXISTS tandem_rollup_transition_change ON \"StageTransitions\"",
            "DROP TRIGGER IF EXISTS tandem_rollup_lead_campaign ON \"Leads\"",
            "DROP TRIGGER IF EXISTS tandem_rollup_lead_delete ON \"Leads\"",
            "DROP FUNCTION IF EXISTS tandem_rollup_transition()",
            "DROP FUNCTION IF EXISTS tandem_rollup_lead()",
            "DROP FUNCTION IF EXISTS tandem_refresh_milestone(uuid)",
        ]
        :
        [
            "DROP TRIGGER IF EXISTS tandem_rollup_transition_insert",
            "DROP TRIGGER IF EXISTS tandem_rollup_transition_update",
            "DROP TRIGGER IF EXISTS tandem_rollup_transition_delete",
            "DROP TRIGGER IF EXISTS tandem_rollup_lead_campaign",
            "DROP TRIGGER IF EXISTS tandem_rollup_lead_delete",
        ];

    private static IReadOnlyList<string> PostgresTriggers() =>
    [
        $"""
        CREATE OR REPLACE FUNCTION tandem_refresh_milestone(p_lead uuid) RETURNS void LANGUAGE sql AS $fn$
        INSERT INTO "LeadMilestones" ({MilestoneColumns})
        {MilestoneOf("p_lead")}
        {Upsert};
        $fn$
        """,
        $"""
        CREATE OR REPLACE FUNCTION tandem_rollup_transition() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                PERFORM tandem_refresh_milestone(NEW."LeadId");
                INSERT INTO "CampaignVerdicts" ({VerdictColumns}) {VerdictOf("NEW")} ON CONFLICT DO NOTHING;
                RETURN NULL;
            END IF;
            DELETE FROM "CampaignVerdicts" WHERE "TransitionId" = OLD."Id";
            IF EXISTS (SELECT 1 FROM "Leads" WHERE "Id" = OLD."LeadId") THEN
                PERFORM tandem_refresh_milestone(OLD."LeadId");
            ELSE
                DELETE FROM "LeadMilestones" WHERE "LeadId" = OLD."LeadId";
            END IF;
            IF TG_OP = 'UPDATE' THEN
                IF NEW."LeadId" <> OLD."LeadId" THEN
                    PERFORM tandem_refresh_milestone(NEW."LeadId");
                END IF;
                INSERT INTO "CampaignVerdicts" ({VerdictColumns}) {VerdictOf("NEW")} ON CONFLICT DO NOTHING;
            END IF;
            RETURN NULL;
        END
        $fn$
        """,
        $"""
        CREATE OR REPLACE FUNCTION tandem_rollup_lead() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                DELETE FROM "LeadMilestones" WHERE "LeadId" = OLD."Id";
                DELETE FROM "CampaignVerdicts" WHERE "LeadId" = OLD."Id";
                RETURN NULL;
            END IF;
            DELETE FROM "CampaignVerdicts" WHERE "LeadId" = NEW."Id";
            INSERT INTO "CampaignVerdicts" ({VerdictColumns})
            SELECT t."Id", NEW."FirstCampaignId", t."LeadId", t."At", t."ByRule" = {Accept}, t."ByRule"
            FROM "StageTransitions" t WHERE t."LeadId" = NEW."Id" AND NEW."FirstCampaignId" IS NOT NULL AND {IsVerdict("t")};
            RETURN NULL;
        END
        $fn$
        """,
        $"""
        CREATE TRIGGER tandem_rollup_transition_insert AFTER INSERT ON "StageTransitions" FOR EACH ROW
        WHEN {Relevant("NEW")} EXECUTE FUNCTION tandem_rollup_transition()
        """,
        """
        CREATE TRIGGER tandem_rollup_transition_change AFTER UPDATE OR DELETE ON "StageTransitions" FOR EACH ROW
        EXECUTE FUNCTION tandem_rollup_transition()
        """,
        """
        CREATE TRIGGER tandem_rollup_lead_campaign AFTER UPDATE OF "FirstCampaignId" ON "Leads" FOR EACH ROW
        WHEN (OLD."FirstCampaignId" IS DISTINCT FROM NEW."FirstCampaignId") EXECUTE FUNCTION tandem_rollup_lead()
        """,
        """
        CREATE TRIGGER tandem_rollup_lead_delete AFTER DELETE ON "Leads" FOR EACH ROW EXECUTE FUNCTION tandem_rollup_lead()
        """,
    ];

    private static IReadOnlyList<string> SqliteTriggers()
    {
        string Refresh(string lead) => $"INSERT INTO \"LeadMilestones\" ({MilestoneColumns}) {MilestoneOf(lead)} {Upsert};";
        string RefreshIfLeadExists(string lead) =>
            $"INSERT INTO \"LeadMilestones\" ({MilestoneColumns}) {MilestoneOf(lead)} AND EXISTS (SELECT 1 FROM \"Leads\" WHERE \"Id\" = {lead}) {Upsert};"
            + $" DELETE FROM \"LeadMilestones\" WHERE \"LeadId\" = {lead} AND NOT EXISTS (SELECT 1 FROM \"Leads\" WHERE \"Id\" = {lead});";
        return
        [
            $"""
            CREATE TRIGGER tandem_rollup_transition_insert AFTER INSERT ON "StageTransitions"
            WHEN {Relevant("NEW")}
            BEGIN
                {Refresh("NEW.\"LeadId\"")}
                INSERT OR IGNORE INTO "CampaignVerdicts" ({VerdictColumns}) {VerdictOf("NEW")};
            END
            """,
            $"""
            CREATE TRIGGER tandem_rollup_transition_update AFTER UPDATE ON "StageTransitions"
            BEGIN
                DELETE FROM "CampaignVerdicts" WHERE "TransitionId" = OLD."Id";
                {RefreshIfLeadExists("OLD.\"LeadId\"")}
                {Refresh("NEW.\"LeadId\"")}
                INSERT OR IGNORE INTO "CampaignVerdicts" ({VerdictColumns}) {VerdictOf("NEW")};
            END
            """,
            $"""
            CREATE TRIGGER tandem_rollup_transition_delete AFTER DELETE ON "StageTransitions"
            BEGIN
                DELETE FROM "CampaignVerdicts" WHERE "TransitionId" = OLD."Id";
                {RefreshIfLeadExists("OLD.\"LeadId\"")}
            END
            """,
            $"""
            CREATE TRIGGER tandem_rollup_lead_campaign AFTER UPDATE OF "FirstCampaignId" ON "Leads"
            WHEN OLD."FirstCampaignId" IS NOT NEW."FirstCampaignId"
            BEGIN
                DELETE FROM "CampaignVerdicts" WHERE "LeadId" = NEW."Id";
                INSERT INTO "CampaignVerdicts" ({VerdictColumns})
                SELECT t."Id", NEW."FirstCampaignId", t."LeadId", t."At", t."ByRule" = {Accept}, t."ByRule"
                FROM "StageTransitions" t WHERE t."LeadId" = NEW."Id" AND NEW."FirstCampaignId" IS NOT NULL AND {IsVerdict("t")};
            END
            """,
            """
            CREATE TRIGGER tandem_rollup_lead_delete AFTER DELETE ON "Leads"
            BEGIN
                DELETE FROM "LeadMilestones" WHERE "LeadId" = OLD."Id";
                DELETE FROM "CampaignVerdicts" WHERE "LeadId" = OLD."Id";
            END
            """,
        ];
    }

    /// <summary>How many triggers <see cref="InstallSql"/> creates, per provider.</summary>
    public static int TriggerCount(bool postgres) => postgres ? 4 : 5;

    /// <summary>The rollup triggers present in the database.</summary>
    public static async Task<int> InstalledTriggersAsync(TandemDb db, CancellationToken ct)
    {
        var sql = db.Database.IsNpgsql()
            ? "SELECT count(*)::int AS \"Value\" FROM pg_trigger WHERE tgname LIKE 'tandem_rollup_%' AND NOT tgisinternal"
            : "SELECT count(*) AS \"Value\" FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'tandem_rollup_%'";
        return await db.Database.SqlQueryRaw<int>(sql).SingleAsync(ct);
    }

    /// <summary>
    /// Re-installs the triggers and rebuilds both tables when a trigger is missing (SQLite drops a table's triggers when a migration
    /// rebuilds it). Run after the migrations at every start; a no-op when all are there.
    /// </summary>
    public static async Task EnsureInstalledAsync(TandemDb db, CancellationToken ct)
    {
        var postgres = db.Database.IsNpgsql();
        if (await InstalledTriggersAsync(db, ct) == TriggerCount(postgres))
            return;
        var strategy = db.Database.CreateExecutionStrategy();
        await strategy.ExecuteAsync(async () =>
        {
            await using var tx = await db.Database.BeginTransactionAsync(ct);
            foreach (var sql in UninstallSql(postgres).Concat(InstallSql(postgres)).Concat(RebuildSql()))
                await db.Database.ExecuteSqlRawAsync(sql, ct);
            await tx.CommitAsync(ct);
        });
    }

    /// <summary>Installs the triggers and backfills both tables (used by the migrations of both providers).</summary>
    public static void Install(MigrationBuilder migration, bool postgres)
    {
        foreach (var sql in InstallSql(postgres))
            migration.Sql(sql);
        foreach (var sql in RebuildSql())
            migration.Sql(sql);
    }

    public static void Uninstall(MigrationBuilder migration, bool postgres)
    {
        foreach (var sql in UninstallSql(postgres))
            migration.Sql(sql);
    }
}
