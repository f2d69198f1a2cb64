using System.Diagnostics;
using System.Globalization;

namespace Tandem.Bench;

/// <summary>Result of one closed-loop load run: throughput and latency percentiles.</summary>
public sealed record LoadResult(string Name, int Concurrency, double Seconds, long Requests, long Errors, double PerSecond, double P50Ms, double P90Ms, double P99Ms, double MaxMs, long Items)
{
    public double ItemsPerSecond => Items / Seconds;

    public string Markdown(double? ceiling = null) => string.Create(CultureInfo.InvariantCulture,
        $"| {Name} | {Concurrency} | {Requests:N0} | {Errors} | {PerSecond:N0} | {ItemsPerSecond:N0} | {P50Ms:N1} | {P99Ms:N1} | {MaxMs:N0} | {(ceiling is { } c ? $"{ItemsPerSecond / c:P0}" : "–")} |");

    public const string MarkdownHeader = "| run | concurrency | requests | errors | req/s | items/s | p50 ms | p99 ms | max ms | ratio to ceiling |\n|---|---|---|---|---|---|---|---|---|---|";
}

/// <summary>
/// A closed-loop load generator: <c>concurrency</c> workers each send the next request as soon as the previous
/// answers, for a fixed duration (bounded in time and count; loopback only).
/// </summary>
public static class LoadDriver
{
    public static async Task<LoadResult> RunAsync(string name, int concurrency, TimeSpan duration, TimeSpan warmup,
        Func<int, long, Task<(bool Ok, int Items)>> send, long maxRequests = 10_000_000)
    {
        // Warm-up: JIT, connection pools, database caches. Not measured.
        var warmupEnd = Stopwatch.GetTimestamp() + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            long i = 0;
            while (Stopwatch.GetTimestamp() < warmupEnd)
                await send(w, -(++i));
        }));

        var latencies = new List<double>[concurrency];
        long requests = 0, errors = 0, items = 0;
        var start = Stopwatch.GetTimestamp();
        var end = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async w =>
        {
            var mine = latencies[w] = new List<double>(100_000);
            while (Stopwatch.GetTimestamp() < end)
            {
                var n = Interlocked.Increment(ref requests);
                if (n > maxRequests)
                    break;
                var t0 = Stopwatch.GetTimestamp();
                var (ok, count) = await send(w, n);
                mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                if (ok)
                    Interlocked.Add(ref items, count);
                else
                    Interlocked.Increment(ref errors);
            }
        }));
        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Pct(double p) => all.Length == 0 ? 0 : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        return new LoadResult(name, concurrency, seconds, all.Length, errors, all.Length / seconds, Pct(0.50), Pct(0.90), Pct(0.99), all.Length == 0 ? 0 : all[^1], items);
    }
}
