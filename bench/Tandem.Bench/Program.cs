using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Tandem.Bench;

/// <summary>
/// Tandem's load driver. Commands (all traffic stays on loopback, bounded in time):
///   serve-ceiling --pg CS --port P            the one-INSERT HTTP server (run as its own process)
///   ceiling-http  --url U [--seconds S] [--concurrency C]
///   ceiling-copy  --pg CS [--rows N]
///   leads         --url U --key K [--mode new|repeat] [--seconds S] [--concurrency C]
///   batch         --url U --key K [--seconds S] [--concurrency C] [--size 1000]
///   handoff       --url U --key K --pg CS [--rate 50] [--seconds 60]   submit → rep notification committed (open loop)
///   ceiling-rate  --url U [--rate 50] [--seconds 60]                 HTTP POST + 1 INSERT at the same rate (response time)
///   import        --url U --key K [--rows 1000000] [--file F] [--first-row 1]   CSV import through POST /api/v1/imports, polled to the end
///   webhooks      --url U --key K --pg CS [--count 20000] [--warmup-count 2000]   outbound webhook deliveries/s through the outbox
///   closedloop    --url U --key K --pg CS [--runs 20] [--only TEXT] [--budget SECONDS]   the closed-loop reports (#15) over HTTP, p50/p95, with their raw SQL in the same loop
///   feedback      --pg CS [--campaigns 500] [--leads 1000000] [--dispositions 200000] [--runs 20] [--guard-runs 2000]   scorecard and guard (in process)
///   micro         [BenchmarkDotNet arguments, e.g. --filter *Scoring*]   in-process micro-benchmarks (Release)
/// bench/run.sh orchestrates a full run and prints the markdown for docs/benchmarks.md.
/// </summary>
public static class Program
{
    private static int Int(Dictionary<string, string> o, string name, int fallback) =>
        o.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0)
        {
            Console.Error.WriteLine("usage: Tandem.Bench <serve-ceiling|ceiling-http|ceiling-copy|leads|batch> [options]");
            return 2;
        }
        if (args[0] == "micro")
        {
            BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args[1..]);
            return 0;
        }
        var o = Options(args[1..]);
        var seconds = TimeSpan.FromSeconds(double.Parse(o.GetValueOrDefault("seconds", "20"), CultureInfo.InvariantCulture));
        var warmup = TimeSpan.FromSeconds(double.Parse(o.GetValueOrDefault("warmup", "3"), CultureInfo.InvariantCulture));
        var concurrency = int.Parse(o.GetValueOrDefault("concurrency", "32"), CultureInfo.InvariantCulture);
        switch (args[0])
        {
            case "serve-ceiling":
                await Ceilings.PrepareAsync(o["pg"]);
                await Ceilings.ServeAsync(o["pg"], int.Parse(o["port"], CultureInfo.InvariantCulture));
                return 0;
            case "ceiling-copy":
                var rows = int.Parse(o.GetValueOrDefault("rows", "1000000"), CultureInfo.InvariantCulture);
                var perSecond = await Ceilings.CopyRowsPerSecondAsync(o["pg"], rows);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"COPY ceiling: {rows:N0} rows at {perSecond:N0} rows/s"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT ceiling-copy {perSecond:F0}"));
                return 0;
            case "ceiling-http":
                {
                    using var http = Client(o["url"], null, concurrency);
                    var result = await LoadDriver.RunAsync("HTTP POST + 1 INSERT (ceiling)", concurrency, seconds, warmup,
                        async (w, n) => await PostAsync(http, "/ingest", LeadJson(w, n, "ceiling")));
                    Report(result);
                    return 0;
                }
            case "handoff":
                return await HandoffLoad.RunAsync(o["url"], o["key"], o["pg"], double.Parse(o.GetValueOrDefault("rate", "50"), CultureInfo.InvariantCulture),
                    seconds, warmup);
            case "webhooks":
                return await WebhookBench.RunAsync(o["url"], o["key"], o["pg"], int.Parse(o.GetValueOrDefault("count", "20000"), CultureInfo.InvariantCulture),
                    int.Parse(o.GetValueOrDefault("warmup-count", "2000"), CultureInfo.InvariantCulture));
            case "feedback":
                return await FeedbackBench.RunAsync(o["pg"], Int(o, "campaigns", 500), Int(o, "leads", 1_000_000), Int(o, "dispositions", 200_000),
                    Int(o, "runs", 20), Int(o, "guard-runs", 2000));
            case "create-db" or "drop-db" or "pg-version":
                {
                    // For scripts run against an existing server (BENCH_PG) where psql may not be installed.
                    await using var conn = new Npgsql.NpgsqlConnection(o["pg"]);
                    await conn.OpenAsync();
                    if (args[0] == "pg-version")
                    {
                        Console.WriteLine(conn.PostgreSqlVersion);
                        return 0;
                    }
                    var name = o["name"];
                    if (!System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z0-9_]+$"))
                        return 2;
                    await using var cmd = new Npgsql.NpgsqlCommand(args[0] == "create-db" ? $"CREATE DATABASE {name}" : $"DROP DATABASE IF EXISTS {name} WITH (FORCE)", conn);
                    await cmd.ExecuteNonQueryAsync();
                    return 0;
                }
            case "ceiling-rate":
                return await HandoffLoad.CeilingAsync(o["url"], double.Parse(o.GetValueOrDefault("rate", "50"), CultureInfo.InvariantCulture), seconds, warmup);
            case "closedloop":
                return await ClosedLoopBench.RunAsync(o["url"], o["key"], o["pg"], int.Parse(o.GetValueOrDefault("runs", "20"), CultureInfo.InvariantCulture),
                    o.GetValueOrDefault("zone", "Europe/Paris"), o.GetValueOrDefault("only"),
                    double.Parse(o.GetValueOrDefault("budget", "0"), CultureInfo.InvariantCulture));
            case "import":
                return await ImportBench.RunAsync(o["url"], o["key"], int.Parse(o.GetValueOrDefault("rows", "1000000"), CultureInfo.InvariantCulture),
                    o.GetValueOrDefault("file", Path.Combine(Path.GetTempPath(), "tandem-bench-import.csv")),
                    int.Parse(o.GetValueOrDefault("first-row", "1"), CultureInfo.InvariantCulture));
            case "leads":
                {
                    var mode = o.GetValueOrDefault("mode", "new");
                    using var http = Client(o["url"], o["key"], concurrency);
                    // "invalid" sends bodies that fail validation: the HTTP, auth and parsing cost without any database write.
                    var result = await LoadDriver.RunAsync($"POST /api/v1/leads ({mode} identifiers)", concurrency, seconds, warmup,
                        async (w, n) => mode == "invalid"
                            ? await PostAsync(http, "/api/v1/leads", """{"firstName":"No identifier"}""", HttpStatusCode.BadRequest)
                            : await PostAsync(http, "/api/v1/leads", LeadJson(w, mode == "repeat" ? n % 500 : n, mode)));
                    Report(result);
                    return result.Errors > 0 ? 1 : 0;
                }
            case "batch":
                {
                    var size = int.Parse(o.GetValueOrDefault("size", "1000"), CultureInfo.InvariantCulture);
                    using var http = Client(o["url"], o["key"], concurrency);
                    var result = await LoadDriver.RunAsync($"POST /api/v1/leads/batch ({size} per request)", concurrency, seconds, warmup,
                        async (w, n) =>
                        {
                            var sb = new StringBuilder("{\"items\":[");
                            for (var i = 0; i < size; i++)
                                sb.Append(i == 0 ? "" : ",").Append(LeadJson(w, n * size + i, "batch"));
                            sb.Append("]}");
                            var (ok, _) = await PostAsync(http, "/api/v1/leads/batch", sb.ToString());
                            return (ok, ok ? size : 0);
                        });
                    Report(result);
                    return result.Errors > 0 ? 1 : 0;
                }
            default:
                Console.Error.WriteLine($"unknown command {args[0]}");
                return 2;
        }
    }

    private static void Report(LoadResult r)
    {
        Console.WriteLine(LoadResult.MarkdownHeader);
        Console.WriteLine(r.Markdown());
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"RESULT {r.Name.Split(' ')[0]} items_per_s={r.ItemsPerSecond:F0} req_per_s={r.PerSecond:F0} p50={r.P50Ms:F1} p99={r.P99Ms:F1} errors={r.Errors}"));
        Console.WriteLine("JSON " + JsonSerializer.Serialize(r));
    }

    private static HttpClient Client(string baseUrl, string? key, int concurrency)
    {
        var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(10) };
        var http = new HttpClient(handler) { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return http;
    }

    private static async Task<(bool, int)> PostAsync(HttpClient http, string path, string json, HttpStatusCode? expected = null)
    {
        try
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync(path, content);
            await response.Content.LoadIntoBufferAsync();
            return (expected is { } e ? response.StatusCode == e : response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Created, 1);
        }
        catch (HttpRequestException)
        {
            return (false, 0);
        }
        catch (TaskCanceledException)
        {
            return (false, 0);
        }
    }

    private static readonly string[] FirstNames = ["Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Manon", "Jules", "Inès", "Arthur"];
    private static readonly string[] Titles = ["CFO", "Directeur financier", "DAF", "Head of Finance", "Contrôleur de gestion", "Office manager"];

    /// <summary>A realistic lead body; worker w and sequence n make the identifier (negative n = warm-up).</summary>
    private static string LeadJson(int w, long n, string tag)
    {
        var id = n < 0 ? $"warm{w}x{-n}" : $"{tag}{w}x{n}";
        var company = $"company{Math.Abs(n) % 2000}";
        return $$"""{"email":"{{id}}@{{company}}.example","firstName":"{{FirstNames[Math.Abs(n) % FirstNames.Length]}}","lastName":"Martin{{Math.Abs(n)}}","company":"Company {{Math.Abs(n) % 2000}}","jobTitle":"{{Titles[Math.Abs(n) % Titles.Length]}}","country":"FR","utmSource":"google","utmMedium":"cpc","utmCampaign":"spring-{{Math.Abs(n) % 7}}","landingPage":"https://www.tandem.example/demo"}""";
    }

    private static Dictionary<string, string> Options(string[] args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < args.Length; i += 2)
            d[args[i].TrimStart('-')] = args[i + 1];
        return d;
    }
}
