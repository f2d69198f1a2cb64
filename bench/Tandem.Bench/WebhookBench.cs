using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Tandem.Bench;

/// <summary>
/// Outbound webhook deliveries per second through the outbox: a local receiver (Kestrel, answers 204), one endpoint created
/// through the API, N outbox rows written at once as producers would write them, then the time until every row is Delivered.
/// The receiver also checks that each webhook-id arrived exactly once.
/// </summary>
public static class WebhookBench
{
    public static async Task<int> RunAsync(string url, string key, string pg, int count, int warmup)
    {
        var seen = new ConcurrentDictionary<string, int>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpContext ctx) =>
        {
            await ctx.Request.Body.CopyToAsync(Stream.Null);
            seen.AddOrUpdate(ctx.Request.Headers["webhook-id"].ToString(), 1, (_, n) => n + 1);
            return Results.NoContent();
        });
        await receiver.StartAsync();
        var receiverUrl = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/hook";

        using var http = new HttpClient { BaseAddress = new Uri(url) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        var created = await http.PostAsJsonAsync("/api/v1/webhook-endpoints", new { url = receiverUrl, events = new[] { "deal.won" } });
        if (!created.IsSuccessStatusCode)
        {
            Console.Error.WriteLine($"could not create the endpoint: {(int)created.StatusCode} {await created.Content.ReadAsStringAsync()}");
            return 1;
        }
        var endpointId = (await created.Content.ReadFromJsonAsync<Created>())!.Id;

        await using var source = NpgsqlDataSource.Create(pg);
        if (warmup > 0)
        {
            await InsertAsync(source, endpointId, warmup);
            await WaitDeliveredAsync(source, warmup);
        }
        var watch = Stopwatch.StartNew();
        await InsertAsync(source, endpointId, count);
        var enqueued = watch.Elapsed;
        await WaitDeliveredAsync(source, warmup + count);
        var elapsed = watch.Elapsed;
        var duplicates = seen.Values.Count(n => n > 1);
        var failed = await ScalarAsync(source, """SELECT count(*) FROM "WebhookDeliveries" WHERE "Status" <> 'Delivered'""");
        var rate = count / elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{count:N0} deliveries enqueued in {enqueued.TotalSeconds:F2} s, all delivered after {elapsed.TotalSeconds:F2} s: {rate:N0} deliveries/s; " +
            $"{seen.Count:N0} distinct webhook-ids received, {duplicates} received twice, {failed} not delivered"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| outbound webhooks → local receiver | {count:N0} | {elapsed.TotalSeconds:F2} | {rate:N0} | {duplicates} |"));
        return duplicates == 0 && failed == 0 ? 0 : 1;
    }

    private sealed record Created(Guid Id);

    /// <summary>Rows as <c>IWebhookPublisher</c> writes them: one per event, due now, with a realistic lead payload.</summary>
    private static async Task InsertAsync(NpgsqlDataSource source, Guid endpoint, int count)
    {
        await using var cmd = source.CreateCommand("""
            INSERT INTO "WebhookDeliveries" ("Id", "EndpointId", "EventType", "Payload", "Status", "Attempts", "NextAttemptAt", "RetryUntil", "CreatedAt")
            SELECT gen_random_uuid(), $1, 'deal.won',
                   '{"type":"deal.won","timestamp":"' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') ||
                   '","data":{"lead":{"id":"' || gen_random_uuid() || '","email":"buyer' || i || '@bench.example","firstName":"Claire","lastName":"Martin",' ||
                   '"company":"Acme","jobTitle":"CFO","country":"FR","stage":"Customer","fitScore":72,"engagementScore":41},"amount":12500,"currency":"EUR"}}',
                   'Pending', 0, now(), now() + interval '24 hours', now()
            FROM generate_series(1, $2) AS i
            """);
        cmd.Parameters.AddWithValue(endpoint);
        cmd.Parameters.AddWithValue(count);
        await cmd.ExecuteNonQueryAsync();
    }

    private static async Task<long> ScalarAsync(NpgsqlDataSource source, string sql)
    {
        await using var cmd = source.CreateCommand(sql);
        return (long)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task WaitDeliveredAsync(NpgsqlDataSource source, int total)
    {
        var deadline = DateTime.UtcNow.AddMinutes(10);
        while (await ScalarAsync(source, """SELECT count(*) FROM "WebhookDeliveries" WHERE "Status" = 'Delivered'""") < total)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("Deliveries did not finish within 10 minutes.");
            await Task.Delay(50);
        }
    }
}
