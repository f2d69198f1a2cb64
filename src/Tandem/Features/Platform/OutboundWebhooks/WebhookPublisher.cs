using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform.OutboundWebhooks;

/// <summary>
/// Producer API of the outbound webhooks: feature code calls it inside its own unit of work, so an event is emitted if and
/// only if the change that caused it commits (one outbox row per subscribed endpoint).
/// </summary>
public interface IWebhookPublisher
{
    /// <summary>Whether any active endpoint subscribes to <paramref name="eventType"/> (cached; no query on the hot path).</summary>
    ValueTask<bool> HasSubscribersAsync(string eventType, CancellationToken ct);

    /// <summary>
    /// Adds one delivery per subscribed endpoint to <paramref name="db"/> (not saved: the caller's SaveChanges commits them with
    /// its change). <paramref name="data"/> is serialised as the payload's <c>data</c> (camelCase). Returns the number of rows added;
    /// 0 without a query when nobody subscribes. The dispatcher of this instance is woken when the context saves.
    /// </summary>
    Task<int> PublishAsync(TandemDb db, string eventType, object data, CancellationToken ct);

    /// <summary>
    /// The rows <see cref="PublishAsync"/> would add, for writers that insert without the change tracker (capture's COPY path).
    /// Call <see cref="Wake"/> after they commit.
    /// </summary>
    ValueTask<IReadOnlyList<WebhookDelivery>> CreateDeliveriesAsync(string eventType, object data, DateTimeOffset at, CancellationToken ct);

    /// <summary>Wakes this instance's dispatcher (after a commit of rows from <see cref="CreateDeliveriesAsync"/>).</summary>
    void Wake();

    /// <summary>Forget the cached subscription set (after this instance changed an endpoint).</summary>
    void Invalidate();
}

/// <summary>Wakes this instance's webhook dispatcher right after a producer commits.</summary>
public sealed class WebhookSignal : WakeSignal;

public sealed class WebhookPublisher(IDbContextFactory<TandemDb> dbFactory, WebhookSignal signal, IOptionsMonitor<WebhookOptions> options, TimeProvider clock)
    : IWebhookPublisher
{
    /// <summary>The payload's JSON conventions: camelCase, enums by name, ISO 8601 times.</summary>
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private sealed record Snapshot(FrozenDictionary<string, Guid[]> ByEvent, long LoadedAt);

    private volatile Snapshot? _snapshot;
    private readonly SemaphoreSlim _loading = new(1, 1);
    // Contexts whose SavedChanges already wakes the dispatcher (the publisher is a singleton; contexts are per scope).
    private readonly ConditionalWeakTable<TandemDb, object> _hooked = [];

    public void Invalidate() => _snapshot = null;

    public void Wake() => signal.Wake();

    private async ValueTask<Snapshot> SnapshotAsync(CancellationToken ct)
    {
        // Real elapsed time, not the injected clock: a frozen test clock must not freeze the cache.
        var maxAge = (long)(options.CurrentValue.SubscriptionCacheSeconds * 1000);
        var current = _snapshot;
        if (current is not null && Environment.TickCount64 - current.LoadedAt < maxAge)
            return current;
        await _loading.WaitAsync(ct);
        try
        {
            current = _snapshot;
            if (current is not null && Environment.TickCount64 - current.LoadedAt < maxAge)
                return current;
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var endpoints = await db.Set<WebhookEndpoint>().AsNoTracking()
                .Where(e => e.Active && e.DeletedAt == null)
                .Select(e => new { e.Id, e.Events })
                .ToListAsync(ct);
            var byEvent = endpoints
                .SelectMany(e => e.Events.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(ev => (Event: ev, e.Id)))
                .GroupBy(x => x.Event, StringComparer.Ordinal)
                .ToFrozenDictionary(g => g.Key, g => g.Select(x => x.Id).Distinct().ToArray(), StringComparer.Ordinal);
            _snapshot = current = new Snapshot(byEvent, Environment.TickCount64);
            return current;
        }
        finally
        {
            _loading.Release();
        }
    }

    public async ValueTask<bool> HasSubscribersAsync(string eventType, CancellationToken ct) =>
        (await SnapshotAsync(ct)).ByEvent.ContainsKey(eventType);

    public async ValueTask<IReadOnlyList<WebhookDelivery>> CreateDeliveriesAsync(string eventType, object data, DateTimeOffset at, CancellationToken ct)
    {
        if (!WebhookEvents.Known.Contains(eventType))
            throw new ArgumentException($"Unknown webhook event type '{eventType}'.", nameof(eventType));
        if (!(await SnapshotAsync(ct)).ByEvent.TryGetValue(eventType, out var endpoints))
            return [];
        return Build(endpoints, eventType, data, at, options.CurrentValue);
    }

    /// <summary>The rows for one event to the given endpoints, due now.</summary>
    public static List<WebhookDelivery> Build(IReadOnlyList<Guid> endpoints, string eventType, object data, DateTimeOffset at, WebhookOptions options)
    {
        var payload = Payload(eventType, data, at);
        var rows = new List<WebhookDelivery>(endpoints.Count);
        foreach (var endpoint in endpoints)
            rows.Add(new WebhookDelivery
            {
                EndpointId = endpoint,
                EventType = eventType,
                Payload = payload,
                Status = WebhookDeliveryStatus.Pending,
                NextAttemptAt = at,
                RetryUntil = at + TimeSpan.FromHours(options.RetryWindowHours),
                CreatedAt = at,
            });
        return rows;
    }

    /// <summary>The Standard Webhooks payload: <c>{"type":…,"timestamp":…,"data":{…}}</c>.</summary>
    public static string Payload(string eventType, object data, DateTimeOffset at) =>
        JsonSerializer.Serialize(new PayloadShape(eventType, at.ToUniversalTime(), data), Json);

    private sealed record PayloadShape(string Type, DateTimeOffset Timestamp, object Data);

    public async Task<int> PublishAsync(TandemDb db, string eventType, object data, CancellationToken ct)
    {
        var rows = await CreateDeliveriesAsync(eventType, data, clock.GetUtcNow(), ct);
        if (rows.Count == 0)
            return 0;
        db.Set<WebhookDelivery>().AddRange(rows);
        if (!_hooked.TryGetValue(db, out _))
        {
            _hooked.AddOrUpdate(db, this);
            db.SavedChanges += (_, _) => signal.Wake();
        }
        return rows.Count;
    }
}
