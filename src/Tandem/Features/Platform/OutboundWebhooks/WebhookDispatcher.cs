using System.Diagnostics;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;
using Tandem.Data;
using Tandem.Features.Platform.Notifications;

namespace Tandem.Features.Platform.OutboundWebhooks;

/// <summary>The outcome of one attempt, as the log records it.</summary>
public sealed record AttemptResult(Guid Id, WebhookDeliveryStatus Status, DateTimeOffset NextAttemptAt, int? StatusCode, string? Error, int? DurationMs,
    DateTimeOffset At);

/// <summary>
/// The outbound webhook outbox loop of each instance, on the notification outbox's pattern: claims due deliveries
/// (<c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL, a conditional UPDATE on SQLite) by setting them Sending with a lease and
/// this round's claim token, so two instances never send the same row, and a lease that runs out (the sender died) makes
/// the row claimable again — a restart never loses a delivery. Sends a round's deliveries concurrently, signs each attempt
/// with a fresh <c>webhook-timestamp</c> and the same <c>webhook-id</c>, then records every outcome in one statement.
/// </summary>
public sealed class WebhookDispatcher(
    IServiceScopeFactory scopes,
    IOptionsMonitor<WebhookOptions> options,
    WebhookSignal signal,
    IHttpClientFactory clients,
    IDataProtectionProvider protection,
    TimeProvider clock,
    ILogger<WebhookDispatcher> log) : BackgroundService
{
    public const string HttpClientName = "Tandem.Webhooks";
    public const string SecretPurpose = "Tandem.OutboundWebhooks.Secret.v1";

    private readonly IDataProtector _protector = protection.CreateProtector(SecretPurpose);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.CurrentValue.RunDispatcher)
            return;
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await DispatchDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                log.LogWarning(ex, "Webhook dispatcher could not check for work; retrying");
                await signal.WaitAsync(TimeSpan.FromSeconds(Math.Max(0.02, options.CurrentValue.PollSeconds)), stoppingToken);
            }
            if (claimed == 0)
                await signal.WaitAsync(TimeSpan.FromSeconds(Math.Max(0.02, options.CurrentValue.PollSeconds)), stoppingToken);
        }
    }

    /// <summary>Claims one batch of due deliveries and sends it; returns how many were claimed.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken ct) => await DispatchAsync(null, ct);

    /// <summary>
    /// Sends the deliveries a caller stored already claimed with <paramref name="token"/> (the "send test event" action writes its
    /// row as Sending, so no background round can take it first).
    /// </summary>
    public async Task SendClaimedAsync(Guid token, CancellationToken ct) => await DispatchAsync(token, ct);

    private async Task<int> DispatchAsync(Guid? claimed, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var token = claimed ?? Ids.New();
        if (claimed is null && await ClaimAsync(db, token, ct) == 0)
            return 0;
        var rows = await db.Set<WebhookDelivery>().AsNoTracking().Where(d => d.ClaimToken == token).ToListAsync(ct);
        if (rows.Count == 0)
            return 0;
        var endpointIds = rows.Select(r => r.EndpointId).Distinct().ToList();
        var endpoints = await db.Set<WebhookEndpoint>().AsNoTracking().Where(e => endpointIds.Contains(e.Id)).ToDictionaryAsync(e => e.Id, ct);
        var now = clock.GetUtcNow();
        var keys = endpoints.Values.ToDictionary(e => e.Id, e => SigningKeys(e, now));
        var results = new AttemptResult[rows.Count];
        var opts = options.CurrentValue;
        await Parallel.ForEachAsync(Enumerable.Range(0, rows.Count), new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, opts.Concurrency), CancellationToken = ct },
            async (i, token) =>
            {
                var row = rows[i];
                results[i] = endpoints.TryGetValue(row.EndpointId, out var endpoint) && endpoint is { Active: true, DeletedAt: null }
                    ? await SendAsync(row, endpoint, keys[endpoint.Id], opts, token)
                    : new AttemptResult(row.Id, WebhookDeliveryStatus.Skipped, row.NextAttemptAt, null,
                        "The endpoint was disabled or deleted before this delivery was sent.", null, clock.GetUtcNow());
            });
        await FinishAsync(db, token, results, ct);
        return rows.Count;
    }

    private IReadOnlyList<byte[]>? SigningKeys(WebhookEndpoint endpoint, DateTimeOffset now)
    {
        try
        {
            var keys = new List<byte[]> { WebhookSigning.Key(_protector.Unprotect(endpoint.SecretProtected)) };
            if (endpoint.PreviousSecretProtected is { } previous && endpoint.PreviousSecretUntil > now)
                keys.Add(WebhookSigning.Key(_protector.Unprotect(previous)));
            return keys;
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // Data Protection keys lost (database restored without them): the secret must be rotated.
            return null;
        }
    }

    private async Task<AttemptResult> SendAsync(WebhookDelivery row, WebhookEndpoint endpoint, IReadOnlyList<byte[]>? keys, WebhookOptions opts, CancellationToken ct)
    {
        var started = clock.GetUtcNow();
        if (keys is null)
            return Final(row, started, null, "The signing secret cannot be decrypted on this server; rotate it.", null);
        var timestamp = started.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url)
        {
            Content = new StringContent(row.Payload, System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation(WebhookSigning.IdHeader, row.WebhookId);
        request.Headers.TryAddWithoutValidation(WebhookSigning.TimestampHeader, timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(WebhookSigning.SignatureHeader, WebhookSigning.SignatureHeaderValue(keys, row.WebhookId, timestamp, row.Payload));
        request.Headers.UserAgent.ParseAdd("Tandem-Webhooks/1");
        var watch = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(Math.Max(0.1, opts.TimeoutSeconds)));
        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var status = (int)response.StatusCode;
            var ms = (int)watch.ElapsedMilliseconds;
            if (response.IsSuccessStatusCode)
                return new AttemptResult(row.Id, WebhookDeliveryStatus.Delivered, row.NextAttemptAt, status, null, ms, started);
            var detail = await ReadShortAsync(response, timeout.Token);
            var error = NotificationRules.Truncate($"HTTP {status} {response.ReasonPhrase} {detail}".Trim(), WebhookDelivery.MaxErrorLength);
            // A 4xx is the receiver's definite answer (gone, bad request, unauthorised): the same request cannot succeed later.
            return status is >= 400 and < 500 and not 408 and not 429
                ? Final(row, started, status, error, ms)
                : Retry(row, started, status, error, ms, opts);
        }
        catch (HttpRequestException ex) when (ex is TargetRefusedException || ex.InnerException is TargetRefusedException)
        {
            return Final(row, started, null, NotificationRules.Truncate((ex as TargetRefusedException ?? (TargetRefusedException)ex.InnerException!).Message,
                WebhookDelivery.MaxErrorLength), (int)watch.ElapsedMilliseconds);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            var error = ex is OperationCanceledException ? $"No answer within {opts.TimeoutSeconds:0.#} s." : ex.Message;
            return Retry(row, started, null, NotificationRules.Truncate(error, WebhookDelivery.MaxErrorLength), (int)watch.ElapsedMilliseconds, opts);
        }
    }

    private static AttemptResult Final(WebhookDelivery row, DateTimeOffset at, int? status, string error, int? ms) =>
        new(row.Id, WebhookDeliveryStatus.Failed, row.NextAttemptAt, status, error, ms, at);

    private AttemptResult Retry(WebhookDelivery row, DateTimeOffset at, int? status, string error, int? ms, WebhookOptions opts)
    {
        var next = clock.GetUtcNow() + NotificationRules.Backoff(row.Attempts, TimeSpan.FromSeconds(opts.BaseBackoffSeconds),
            TimeSpan.FromSeconds(opts.MaxBackoffSeconds), Random.Shared.NextDouble());
        if (next > row.RetryUntil)
            return Final(row, at, status, error, ms);
        log.LogInformation("Webhook delivery {DeliveryId} attempt {Attempts} failed, next at {Next}: {Error}", row.Id, row.Attempts, next, error);
        return new AttemptResult(row.Id, WebhookDeliveryStatus.Pending, next, status, error, ms, at);
    }

    private static async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            return NotificationRules.Truncate(text.ReplaceLineEndings(" ").Replace('\0', ' '), 300);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            return "";
        }
    }

    private async Task<int> ClaimAsync(TandemDb db, Guid token, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var lease = now + TimeSpan.FromSeconds(options.CurrentValue.LeaseSeconds);
        var batch = Math.Max(1, options.CurrentValue.BatchSize);
        if (db.Database.IsNpgsql())
            return await db.Database.ExecuteSqlAsync($"""
                WITH due AS (
                    SELECT "Id" FROM "WebhookDeliveries"
                    WHERE ("Status" = 'Pending' AND "NextAttemptAt" <= {now}) OR ("Status" = 'Sending' AND "LeaseUntil" < {now})
                    ORDER BY "NextAttemptAt"
                    LIMIT {batch}
                    FOR UPDATE SKIP LOCKED)
                UPDATE "WebhookDeliveries" AS d
                SET "Status" = 'Sending', "LeaseUntil" = {lease}, "ClaimToken" = {token}, "Attempts" = d."Attempts" + 1
                FROM due WHERE d."Id" = due."Id"
                """, ct);
        // SQLite runs one writer at a time, so the conditional UPDATE is the whole claim.
        var due = db.Set<WebhookDelivery>()
            .Where(d => (d.Status == WebhookDeliveryStatus.Pending && d.NextAttemptAt <= now) || (d.Status == WebhookDeliveryStatus.Sending && d.LeaseUntil < now))
            .OrderBy(d => d.NextAttemptAt).Select(d => d.Id).Take(batch);
        return await db.Set<WebhookDelivery>()
            .Where(d => due.Contains(d.Id) &&
                ((d.Status == WebhookDeliveryStatus.Pending && d.NextAttemptAt <= now) || (d.Status == WebhookDeliveryStatus.Sending && d.LeaseUntil < now)))
            .ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Status, WebhookDeliveryStatus.Sending)
                .SetProperty(d => d.LeaseUntil, lease)
                .SetProperty(d => d.ClaimToken, token)
                .SetProperty(d => d.Attempts, d => d.Attempts + 1), ct);
    }

    /// <summary>
    /// Records the round's outcomes. Only rows still carrying this round's token are written: a row whose lease ran out and
    /// that another instance claimed meanwhile is that instance's now. PostgreSQL: one UPDATE over arrays; SQLite: one
    /// transaction of UPDATEs.
    /// </summary>
    private static async Task FinishAsync(TandemDb db, Guid token, AttemptResult[] results, CancellationToken ct)
    {
        if (db.Database.IsNpgsql())
        {
            var delivered = results.Select(r => r.Status == WebhookDeliveryStatus.Delivered ? r.At : (DateTimeOffset?)null).ToArray();
            await db.Database.ExecuteSqlRawAsync("""
                UPDATE "WebhookDeliveries" AS d
                SET "Status" = r.status, "NextAttemptAt" = r.next, "LastStatusCode" = r.code, "LastError" = r.error,
                    "LastDurationMs" = r.ms, "LastAttemptAt" = r.at, "DeliveredAt" = COALESCE(r.delivered, d."DeliveredAt"),
                    "LeaseUntil" = NULL, "ClaimToken" = NULL
                FROM unnest(@ids, @statuses, @nexts, @codes, @errors, @ms, @ats, @delivered) AS r(id, status, next, code, error, ms, at, delivered)
                WHERE d."Id" = r.id AND d."ClaimToken" = @token
                """,
                [
                    new NpgsqlParameter("ids", results.Select(r => r.Id).ToArray()),
                    new NpgsqlParameter("statuses", results.Select(r => r.Status.ToString()).ToArray()),
                    new NpgsqlParameter("nexts", results.Select(r => r.NextAttemptAt).ToArray()),
                    new NpgsqlParameter("codes", results.Select(r => r.StatusCode).ToArray()),
                    new NpgsqlParameter("errors", results.Select(r => r.Error).ToArray()),
                    new NpgsqlParameter("ms", results.Select(r => r.DurationMs).ToArray()),
                    new NpgsqlParameter("ats", results.Select(r => r.At).ToArray()),
                    new NpgsqlParameter("delivered", delivered),
                    new NpgsqlParameter("token", token),
                ], ct);
            return;
        }
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        foreach (var r in results)
        {
            DateTimeOffset? deliveredAt = r.Status == WebhookDeliveryStatus.Delivered ? r.At : null;
            await db.Set<WebhookDelivery>().Where(d => d.Id == r.Id && d.ClaimToken == token).ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Status, r.Status)
                .SetProperty(d => d.NextAttemptAt, r.NextAttemptAt)
                .SetProperty(d => d.LastStatusCode, r.StatusCode)
                .SetProperty(d => d.LastError, r.Error)
                .SetProperty(d => d.LastDurationMs, r.DurationMs)
                .SetProperty(d => d.LastAttemptAt, r.At)
                .SetProperty(d => d.DeliveredAt, d => deliveredAt ?? d.DeliveredAt)
                .SetProperty(d => d.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(d => d.ClaimToken, (Guid?)null), ct);
        }
        await tx.CommitAsync(ct);
    }
}
