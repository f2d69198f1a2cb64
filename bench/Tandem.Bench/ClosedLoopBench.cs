using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Npgsql;

namespace Tandem.Bench;

/// <summary>
/// The closed-loop reports (#15) at scale: each report is requested over HTTP from a running Tandem server (one request at a time,
/// the time from sending the request to the last byte of the answer), and the raw SQL of the same figures is run on the same database
/// in the same loop, alternating, so both see the same caches and the same machine load. p50 and p95 over <c>runs</c> runs after one
/// warm-up run each.
/// </summary>
public static class ClosedLoopBench
{
    private sealed record Query(string Name, string Path, string[] RawSql, DateTimeOffset Start, DateTimeOffset End, double TargetMs);

    public static async Task<int> RunAsync(string url, string key, string pg, int runs, string zoneId, string? only = null, double budgetSeconds = 0)
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).DateTime);
        var quarterStart = new DateOnly(today.Year, (today.Month - 1) / 3 * 3 + 1, 1);
        var lastQuarter = (From: quarterStart.AddMonths(-3), To: quarterStart.AddDays(-1));
        var year = (From: today.AddDays(-364), To: today);
        DateTimeOffset At(DateOnly d) => new(d.ToDateTime(TimeOnly.MinValue), zone.GetUtcOffset(d.ToDateTime(TimeOnly.MinValue)));
        string Q(DateOnly from, DateOnly to) => string.Create(CultureInfo.InvariantCulture, $"from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}");

        var queries = new List<Query>();
        foreach (var (label, p) in new[] { ("last quarter", lastQuarter), ("last 12 months", year) })
        {
            var (s, e) = (At(p.From), At(p.To.AddDays(1)));
            queries.Add(new($"KPIs, {label}", $"/api/v1/reports/kpis?{Q(p.From, p.To)}", [RawKpis], s, e, 500));
            queries.Add(new($"Attribution linear / won / campaign, {label}", $"/api/v1/reports/attribution?model=linear&conversion=won&by=campaign&{Q(p.From, p.To)}",
                [RawAttribution("won", "\"CampaignId\"::text")], s, e, 500));
            queries.Add(new($"Attribution W-shaped / opportunity / channel, {label}", $"/api/v1/reports/attribution?model=w&conversion=opportunity&by=channel&{Q(p.From, p.To)}",
                [RawAttribution("opportunity", "\"Channel\"")], s, e, 500));
            queries.Add(new($"Attribution time decay / lead / source, {label}", $"/api/v1/reports/attribution?model=timedecay&conversion=lead&by=source&{Q(p.From, p.To)}",
                [RawAttribution("lead", "lower(trim(\"UtmSource\"))")], s, e, 500));
            // The raw dashboard: the KPI statements for the period and for the previous one are the same text with other bounds, run as
            // separate commands below (see Raw): here the period's KPIs, attribution, trend, campaigns, touches and pipeline.
            queries.Add(new($"Whole dashboard, {label}", $"/api/v1/reports/dashboard?{Q(p.From, p.To)}&compare=previous",
                [RawKpis, "PREV:" + RawKpis, RawAttribution("won", "\"CampaignId\"::text"), RawTrend, RawCampaigns, RawTouchesAndPipeline], s, e, 1000));
        }

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        await using var data = NpgsqlDataSource.Create(pg);

        Console.WriteLine($"| query | runs | Tandem p50 ms | Tandem p95 ms | raw SQL p50 ms | raw SQL p95 ms | p95 ratio | target | met |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        var failed = false;
        foreach (var q in queries.Where(q => only is null || q.Name.Contains(only, StringComparison.OrdinalIgnoreCase)))
        {
            var app = new List<double>();
            var raw = new List<double>();
            var clock = Stopwatch.StartNew();
            for (var i = -1; i < runs; i++)
            {
                // A time budget per query (0 = none) keeps the slow ones from running for an hour: at least 3 measured runs, then stop.
                if (budgetSeconds > 0 && app.Count >= 3 && clock.Elapsed.TotalSeconds > budgetSeconds)
                    break;
                var sw = Stopwatch.StartNew();
                using (var response = await http.GetAsync(q.Path))
                {
                    var body = await response.Content.ReadAsStringAsync();
                    if (!response.IsSuccessStatusCode)
                    {
                        Console.Error.WriteLine($"{q.Path}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 500)]}");
                        failed = true;
                        break;
                    }
                }
                var appMs = sw.Elapsed.TotalMilliseconds;
                sw.Restart();
                await RawAsync(data, q);
                var rawMs = sw.Elapsed.TotalMilliseconds;
                if (i < 0)
                    continue;
                app.Add(appMs);
                raw.Add(rawMs);
            }
            if (app.Count == 0)
                continue;
            var (a50, a95, r50, r95) = (Pct(app, 50), Pct(app, 95), Pct(raw, 50), Pct(raw, 95));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {q.Name} | {app.Count} | {a50:N0} | {a95:N0} | {r50:N0} | {r95:N0} | {a95 / r95:N1}× | < {q.TargetMs:N0} | {(a95 < q.TargetMs ? "yes" : "**no**")} |"));
        }
        return failed ? 1 : 0;
    }

    private static async Task RawAsync(NpgsqlDataSource data, Query q)
    {
        await using var conn = await data.OpenConnectionAsync();
        foreach (var text in q.RawSql)
        {
            var (s, e, sql) = (q.Start, q.End, text);
            if (sql.StartsWith("PREV:", StringComparison.Ordinal))
            {
                (s, e, sql) = (q.Start - (q.End - q.Start), q.Start, sql[5..]);
            }
            await using var cmd = new NpgsqlCommand(sql, conn);
            cmd.CommandTimeout = 300;
            cmd.Parameters.AddWithValue("s", s.UtcDateTime);
            cmd.Parameters.AddWithValue("e", e.UtcDateTime);
            cmd.Parameters.AddWithValue("ds", DateOnly.FromDateTime(s.UtcDateTime.AddHours(12)));
            cmd.Parameters.AddWithValue("de", DateOnly.FromDateTime(e.UtcDateTime.AddHours(12)).AddDays(-1));
            await using var reader = await cmd.ExecuteReaderAsync();
            do
            {
                while (await reader.ReadAsync())
                {
                }
            } while (await reader.NextResultAsync());
        }
    }

    private static double Pct(List<double> values, int p)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    private const string Rate = """
        coalesce((SELECT r."Rate" FROM "ExchangeRates" r WHERE r."FromCurrency" = {0} AND r."ToCurrency" = 'EUR' AND r."On" <= {1} ORDER BY r."On" DESC LIMIT 1),
                 CASE WHEN {0} = 'EUR' THEN 1 END)
        """;

    private static string RateOf(string currency, string on) => string.Format(CultureInfo.InvariantCulture, Rate, currency, on);

    /// <summary>Every KPI figure of the period in plain SQL (counts, medians, money converted at the dated rate), one round trip.</summary>
    private static readonly string RawKpis = $"""
        SELECT coalesce("FirstChannel", 'unknown'), lower(trim("FirstSource")), count(*) FROM "Leads" WHERE "CreatedAt" >= @s AND "CreatedAt" < @e GROUP BY 1, 2;
        WITH f AS (SELECT "LeadId", "To", min("At") AS at FROM "StageTransitions" WHERE "To" IN ('Lead', 'Mql', 'Sql', 'Opportunity', 'Customer') GROUP BY 1, 2)
        SELECT f."To", count(*),
          count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "StageTransitions" t WHERE t."LeadId" = f."LeadId" AND t."At" >= f.at AND t."To" = ANY (CASE f."To"
            WHEN 'Lead' THEN ARRAY['Mql','Sql','Opportunity','Customer','Advocate'] WHEN 'Mql' THEN ARRAY['Sql','Opportunity','Customer','Advocate']
            WHEN 'Sql' THEN ARRAY['Opportunity','Customer','Advocate'] ELSE ARRAY['Customer','Advocate'] END)))
        FROM f WHERE f.at >= @s AND f.at < @e AND f."To" <> 'Customer' GROUP BY 1;
        SELECT count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM f.at - l."CreatedAt"))
        FROM (SELECT "LeadId", min("At") AS at FROM "StageTransitions" WHERE "To" = 'Customer' GROUP BY 1) f JOIN "Leads" l ON l."Id" = f."LeadId" WHERE f.at >= @s AND f.at < @e;
        SELECT count(*), sum(a) FROM (SELECT "LeadId", max(CASE WHEN "ByRule" = 'manual:accept' THEN 1 ELSE 0 END) AS a FROM "StageTransitions"
          WHERE "At" >= @s AND "At" < @e AND ("ByRule" = 'manual:accept' OR "ByRule" LIKE 'handoff:reject:%') GROUP BY 1) v;
        SELECT count(*), avg("LeadQuality"), avg("MeetingQuality") FROM "LeadRating" WHERE "CreatedAt" >= @s AND "CreatedAt" < @e;
        SELECT count(*) FILTER (WHERE "CreatedAt" >= @s AND "CreatedAt" < @e), count(*) FILTER (WHERE "Status" = 'Won' AND "ClosedAt" >= @s AND "ClosedAt" < @e),
          count(*) FILTER (WHERE "Status" = 'Lost' AND "ClosedAt" >= @s AND "ClosedAt" < @e) FROM "Deals" WHERE "CreatedAt" >= @s OR "ClosedAt" >= @s;
        SELECT sum(round(d."Amount" * {RateOf("d.\"Currency\"", "(d.\"ClosedAt\" AT TIME ZONE 'Europe/Paris')::date")}, 2)) FROM "Deals" d
          WHERE d."Status" = 'Won' AND d."ClosedAt" >= @s AND d."ClosedAt" < @e;
        WITH moved AS (SELECT DISTINCT "LeadId" FROM "StageTransitions" WHERE "At" >= @s AND "At" < @e),
             s AS (SELECT t."To", t."At", lead(t."At") OVER (PARTITION BY t."LeadId" ORDER BY t."At", t."Id") AS exit
                   FROM "StageTransitions" t JOIN moved m ON m."LeadId" = t."LeadId" WHERE t."At" < @e)
        SELECT "To", percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM exit - "At")) FROM s WHERE exit >= @s GROUP BY 1;
        SELECT sum(round(s."Amount" * {RateOf("c.\"Currency\"", "s.\"On\"")}, 2)) FROM "CampaignSpend" s JOIN "Campaigns" c ON c."Id" = s."CampaignId"
          WHERE s."On" >= @ds AND s."On" <= @de;
        SELECT sum("Amount") FROM "SalesCosts" WHERE "Month" >= date_trunc('month', @ds::timestamp)::date AND "Month" <= @de;
        SELECT count(*) FILTER (WHERE "CustomerSince" >= @s AND "CustomerSince" < @e),
          count(*) FILTER (WHERE "CustomerSince" < @s AND ("ChurnedAt" IS NULL OR "ChurnedAt" >= @s)),
          count(*) FILTER (WHERE "CustomerSince" < @e AND ("ChurnedAt" IS NULL OR "ChurnedAt" >= @e)),
          count(*) FILTER (WHERE "ChurnedAt" >= @s AND "ChurnedAt" < @e),
          sum(coalesce("Mrr", round("ContractValue" / 12, 2)) * {RateOf("a.\"ContractCurrency\"", "@de")}) FILTER (WHERE "CustomerSince" < @e AND ("ChurnedAt" IS NULL OR "ChurnedAt" >= @e))
        FROM "Accounts" a WHERE "CustomerSince" IS NOT NULL;
        SELECT sum("Amount") FROM "RevenueGoals" WHERE "Segment" IS NULL AND "StartsOn" <= @de;
        """;

    /// <summary>Linear credit of a conversion over its marketing touches, grouped by a dimension (the other models differ only in weights).</summary>
    private static string RawAttribution(string conversion, string dimension)
    {
        var conversions = conversion switch
        {
            "lead" => """SELECT "Id" AS id, "Id" AS lead, "CreatedAt" AS at, 1::numeric AS v FROM "Leads" WHERE "CreatedAt" >= @s AND "CreatedAt" < @e""",
            "opportunity" => $"""SELECT d."Id", d."LeadId", d."CreatedAt", round(d."Amount" * {RateOf("d.\"Currency\"", "(d.\"CreatedAt\" AT TIME ZONE 'Europe/Paris')::date")}, 2) FROM "Deals" d WHERE d."CreatedAt" >= @s AND d."CreatedAt" < @e""",
            _ => $"""SELECT d."Id", d."LeadId", d."ClosedAt", round(d."Amount" * {RateOf("d.\"Currency\"", "(d.\"ClosedAt\" AT TIME ZONE 'Europe/Paris')::date")}, 2) FROM "Deals" d WHERE d."Status" = 'Won' AND d."ClosedAt" >= @s AND d."ClosedAt" < @e""",
        };
        return $"""
            WITH c(id, lead, at, v) AS ({conversions}),
                 t AS (SELECT c.id, c.v, {dimension} AS k, count(*) OVER (PARTITION BY c.id) AS n FROM c
                       JOIN "Activities" a ON a."LeadId" = c.lead AND a."OccurredAt" <= c.at AND a."Type" NOT IN ('Call', 'Meeting', 'EmailSent', 'Note'))
            SELECT k, sum(v / n), sum(1.0 / n) FROM t GROUP BY k
            UNION ALL SELECT 'none', sum(v), count(*) FROM c WHERE NOT EXISTS (SELECT 1 FROM t WHERE t.id = c.id);
            """;
    }

    private const string FirstEntry = """(SELECT "LeadId", min("At") AS at FROM "StageTransitions" WHERE "To" = '{0}' GROUP BY 1)""";

    private static readonly string RawTrend = $"""
        SELECT date_trunc('week', "CreatedAt" AT TIME ZONE 'Europe/Paris'), count(*) FROM "Leads" WHERE "CreatedAt" >= @s AND "CreatedAt" < @e GROUP BY 1;
        SELECT date_trunc('week', at AT TIME ZONE 'Europe/Paris'), count(*) FROM {string.Format(CultureInfo.InvariantCulture, FirstEntry, "Mql")} f WHERE at >= @s AND at < @e GROUP BY 1;
        SELECT date_trunc('week', at AT TIME ZONE 'Europe/Paris'), count(*) FROM {string.Format(CultureInfo.InvariantCulture, FirstEntry, "Sql")} f WHERE at >= @s AND at < @e GROUP BY 1;
        SELECT date_trunc('week', d."ClosedAt" AT TIME ZONE 'Europe/Paris'), sum(round(d."Amount" * {RateOf("d.\"Currency\"", "(d.\"ClosedAt\" AT TIME ZONE 'Europe/Paris')::date")}, 2))
        FROM "Deals" d WHERE d."Status" = 'Won' AND d."ClosedAt" >= @s AND d."ClosedAt" < @e GROUP BY 1;
        """;

    private static readonly string RawCampaigns = $"""
        SELECT "FirstCampaignId", count(*) FROM "Leads" WHERE "CreatedAt" >= @s AND "CreatedAt" < @e AND "FirstCampaignId" IS NOT NULL GROUP BY 1;
        SELECT l."FirstCampaignId", count(*) FROM {string.Format(CultureInfo.InvariantCulture, FirstEntry, "Mql")} f JOIN "Leads" l ON l."Id" = f."LeadId" WHERE f.at >= @s AND f.at < @e GROUP BY 1;
        SELECT l."FirstCampaignId", count(*) FROM {string.Format(CultureInfo.InvariantCulture, FirstEntry, "Sql")} f JOIN "Leads" l ON l."Id" = f."LeadId" WHERE f.at >= @s AND f.at < @e GROUP BY 1;
        SELECT l."FirstCampaignId", count(*) FILTER (WHERE d."CreatedAt" >= @s AND d."CreatedAt" < @e), count(*) FILTER (WHERE d."Status" = 'Won' AND d."ClosedAt" >= @s AND d."ClosedAt" < @e)
        FROM "Deals" d JOIN "Leads" l ON l."Id" = d."LeadId" GROUP BY 1;
        SELECT l."FirstCampaignId", count(*), sum(a) FROM (SELECT "LeadId", max(CASE WHEN "ByRule" = 'manual:accept' THEN 1 ELSE 0 END) AS a FROM "StageTransitions"
          WHERE "At" >= @s AND "At" < @e AND ("ByRule" = 'manual:accept' OR "ByRule" LIKE 'handoff:reject:%') GROUP BY 1) v JOIN "Leads" l ON l."Id" = v."LeadId" GROUP BY 1;
        SELECT l."FirstCampaignId", avg(r."LeadQuality") FROM "LeadRating" r JOIN "Leads" l ON l."Id" = r."LeadId" WHERE r."CreatedAt" >= @s AND r."CreatedAt" < @e GROUP BY 1;
        SELECT "CampaignId", sum("Amount") FROM "CampaignSpend" WHERE "On" >= @ds AND "On" <= @de GROUP BY 1;
        """;

    private const string RawTouchesAndPipeline = """
        SELECT count(*) FROM "Activities" WHERE "OccurredAt" >= @s AND "OccurredAt" < @e AND "Type" NOT IN ('Call', 'Meeting', 'EmailSent', 'Note');
        SELECT "Currency", sum("Amount" * coalesce("Probability", 50) / 100) FROM "Deals" WHERE "Status" = 'Open' AND ("ExpectedCloseOn" IS NULL OR "ExpectedCloseOn" BETWEEN @ds AND @de) GROUP BY 1;
        """;
}
