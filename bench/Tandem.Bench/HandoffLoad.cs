using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Npgsql;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Qualification;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Bench;

/// <summary>
/// Speed to lead under load: leads arrive at a fixed rate (open loop: a slow server does not slow the arrivals), each one
/// meets the MQL rule on capture, and the time from the client sending it to the rep's notification being committed is
/// read from PostgreSQL's commit timestamps (<c>track_commit_timestamp = on</c>), so nothing in Tandem reports on itself.
/// </summary>
public static class HandoffLoad
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>Reps on duty around the clock in one round-robin team, and a definition that makes every finance lead an MQL.</summary>
    public static async Task SetUpAsync(HttpClient http)
    {
        var reps = (await http.GetFromJsonAsync<List<RepView>>("/api/v1/handoff/reps", Json))!;
        var always = new WorkCalendar("UTC", [.. Enum.GetValues<DayOfWeek>().Select(d => new WorkingHours(d, TimeOnly.MinValue, TimeOnly.MaxValue))]);
        foreach (var rep in reps)
            Ensure(await http.PutAsJsonAsync($"/api/v1/handoff/reps/{rep.UserId}", new RepRequest(always, 100000, 100000), Json));
        var team = await http.PostAsJsonAsync("/api/v1/handoff/teams", new TeamRequest("Bench", null, RoutingStrategy.RoundRobin, OverflowPolicy.TeamQueue,
            [.. reps.Select(r => new MemberRequest(r.UserId, 1))]), Json);
        Ensure(team);
        var teamId = (await team.Content.ReadFromJsonAsync<TeamView>(Json))!.Id;
        Ensure(await http.PutAsJsonAsync("/api/v1/routing/rules", new RulesRequest(teamId, []), Json));

        var definition = new QualificationDefinition(
            FitRules: [new FitRule("finance", "Finance title", FitField.JobTitle, FitOperator.Contains, ["CFO", "financ", "DAF", "gestion", "manager"], null, null, 40)],
            EngagementRules: [new EngagementRule("capture", "Capture", ActivityType.LeadCaptured, null, null, null, null, 5, 10, false)],
            Decay: new DecayPolicy(DecayKind.None, 0), FitCap: null, EngagementCap: 100, Grades: new GradeBands(50, 30, 10),
            Mql: new MqlRule([new MqlCondition(Grade.C, null, null, null, null)]), CompetitorDomains: [], Sql: new SqlCriteria(true, true, true, true));
        var created = await http.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "bench" }, Json);
        Ensure(created);
        var draft = (await created.Content.ReadFromJsonAsync<VersionDetail>(Json))!;
        Ensure(await http.PutAsJsonAsync($"/api/v1/qualification/versions/{draft.Version.Id}", new DraftRequest(definition, "bench", draft.Version.Revision), Json));
        Ensure(await http.PostAsync($"/api/v1/qualification/versions/{draft.Version.Id}/activate", null));
        Console.WriteLine($"Set up {reps.Count} reps in one round-robin team; every lead with a finance title becomes an MQL on capture");
    }

    private static void Ensure(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} "
                + response.Content.ReadAsStringAsync().GetAwaiter().GetResult());
    }

    /// <summary>Sends <paramref name="rate"/> leads a second for <paramref name="duration"/>; returns each email with its send time.</summary>
    public static async Task<(List<(string Email, DateTime SentAt)> Sent, int Errors, List<double> ResponseMs)> SendAsync(HttpClient http, string path,
        string tag, double rate, TimeSpan duration)
    {
        var count = (int)(rate * duration.TotalSeconds);
        var sent = new (string, DateTime)[count];
        var responseMs = new double[count];
        var errors = 0;
        var tasks = new List<Task>(count);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / rate);
            if (due > clock.Elapsed)
                await Task.Delay(due - clock.Elapsed);
            var n = i;
            var email = $"{tag}{n}@firm{n % 500}.example";
            tasks.Add(Task.Run(async () =>
            {
                var body = $$"""{"email":"{{email}}","firstName":"Camille","lastName":"Bench{{n}}","company":"Firm {{n % 500}}","jobTitle":"CFO","country":"FR"}""";
                sent[n] = (email, DateTime.UtcNow);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var content = new StringContent(body, Encoding.UTF8, "application/json");
                    using var response = await http.PostAsync(path, content);
                    if (!response.IsSuccessStatusCode)
                        Interlocked.Increment(ref errors);
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref errors);
                }
                responseMs[n] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            }));
        }
        await Task.WhenAll(tasks);
        return ([.. sent], errors, [.. responseMs]);
    }

    /// <summary>Commit time of each lead's "new MQL" notification to its rep, from PostgreSQL.</summary>
    public static async Task<Dictionary<string, DateTime>> NotifiedAtAsync(string connectionString, string tag)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT l."Email", min(pg_xact_commit_timestamp(n.xmin))
            FROM "Notifications" n
            JOIN "Assignments" a ON n."DedupeKey" = 'handoff.assigned:' || a."Id"::text || ':inapp'
            JOIN "Leads" l ON l."Id" = a."LeadId"
            WHERE l."Email" LIKE $1 AND n."Channel" = 'InApp'
            GROUP BY l."Email"
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tag + "%" });
        var result = new Dictionary<string, DateTime>(StringComparer.OrdinalIgnoreCase);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            result[reader.GetString(0)] = reader.GetFieldValue<DateTime>(1);
        return result;
    }

    /// <summary>The raw floor at the same rate: HTTP POST + one committed INSERT, response time.</summary>
    public static async Task<int> CeilingAsync(string url, double rate, TimeSpan duration, TimeSpan warmup)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        await SendAsync(http, "/ingest", "warm", rate, warmup);
        var (sent, errors, responseMs) = await SendAsync(http, "/ingest", "ceiling", rate, duration);
        var responses = responseMs.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| HTTP POST + 1 committed INSERT (raw ceiling, {rate:0} req/s) | {sent.Count:N0} | {errors} errors | {P(responses, 0.5):F1} | {P(responses, 0.99):F1} | {responses.LastOrDefault():F1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT ceiling-rate p50={P(responses, 0.5):F1} p99={P(responses, 0.99):F1}"));
        return errors > 0 ? 1 : 0;
    }

    private static double P(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    public static async Task<int> RunAsync(string url, string key, string connectionString, double rate, TimeSpan duration, TimeSpan warmup)
    {
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256 }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        await SetUpAsync(http);
        await Task.Delay(TimeSpan.FromSeconds(3)); // the activation's (empty) rescore and the config cache
        if (warmup > TimeSpan.Zero)
            await SendAsync(http, "/api/v1/leads", "warm", rate, warmup);
        var (sent, errors, responseMs) = await SendAsync(http, "/api/v1/leads", "bench", rate, duration);
        await Task.Delay(TimeSpan.FromSeconds(5)); // stragglers
        var notified = await NotifiedAtAsync(connectionString, "bench");
        var latencies = sent.Where(s => notified.ContainsKey(s.Email)).Select(s => (notified[s.Email] - s.SentAt).TotalMilliseconds).Order().ToList();
        var missing = sent.Count - latencies.Count;
        var responses = responseMs.Order().ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| submit → rep notification committed ({rate:0} leads/s for {duration.TotalSeconds:0} s) | {sent.Count:N0} | {missing} | {P(latencies, 0.5):F1} | {P(latencies, 0.99):F1} | {latencies.LastOrDefault():F1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| POST /api/v1/leads response (same run) | {sent.Count:N0} | {errors} errors | {P(responses, 0.5):F1} | {P(responses, 0.99):F1} | {responses.LastOrDefault():F1} |"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT handoff p50={P(latencies, 0.5):F1} p99={P(latencies, 0.99):F1} max={latencies.LastOrDefault():F1} missing={missing} errors={errors}"));
        if (missing > 0)
            await DiagnoseAsync(connectionString);
        return missing > 0 || errors > 0 ? 1 : 0;
    }

    /// <summary>Where leads stopped when some never produced a notification.</summary>
    private static async Task DiagnoseAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            "SELECT 'stage ' || \"Stage\", count(*) FROM \"Leads\" GROUP BY 1",
            "SELECT 'scored ' || coalesce(\"Grade\", '-') || ' v' || coalesce(\"ScoredVersion\"::text, '-'), count(*) FROM \"Leads\" GROUP BY 1",
            "SELECT 'assignment ' || \"State\" || ' ' || \"Path\", count(*) FROM \"Assignments\" GROUP BY 1",
            "SELECT 'notification ' || \"Kind\" || ' ' || \"Channel\", count(*) FROM \"Notifications\" GROUP BY 1",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                Console.WriteLine($"  {reader.GetString(0)}: {reader.GetInt64(1)}");
        }
    }
}
