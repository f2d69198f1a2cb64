using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform.OutboundWebhooks;

/// <summary>An endpoint as listed: never its secret.</summary>
public sealed record WebhookEndpointDto(Guid Id, string Url, IReadOnlyList<string> Events, bool Active, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt,
    DateTimeOffset? PreviousSecretUntil);

/// <summary>Returned once, at creation or rotation: the signing secret (<c>whsec_…</c>) is never shown again.</summary>
public sealed record WebhookEndpointWithSecret(Guid Id, string Url, IReadOnlyList<string> Events, bool Active, DateTimeOffset CreatedAt, string Secret,
    DateTimeOffset? PreviousSecretUntil);

/// <summary>One row of an endpoint's delivery log.</summary>
public sealed record WebhookDeliveryDto(Guid Id, string WebhookId, Guid EndpointId, string EventType, WebhookDeliveryStatus Status, int Attempts,
    DateTimeOffset NextAttemptAt, int? LastStatusCode, string? LastError, int? LastDurationMs, DateTimeOffset? LastAttemptAt, DateTimeOffset CreatedAt,
    DateTimeOffset? DeliveredAt, string Payload);

/// <summary><c>POST /api/v1/webhook-endpoints</c> and PUT/PATCH bodies. PATCH leaves a null member unchanged.</summary>
public sealed record WebhookEndpointInput(string? Url, string[]? Events, bool? Active);

public sealed record RotateSecretInput(double? OverlapHours);

public enum RedeliverOutcome
{
    Queued,
    NotFound,
    InProgress,
}

/// <summary>Outbound webhook endpoints: validation, secrets, test event, delivery log, redelivery. Every change is audited.</summary>
public sealed class WebhookAdmin(TandemDb db, IWebhookPublisher publisher, WebhookDispatcher dispatcher, TargetGuard guard, IDataProtectionProvider protection,
    IOptionsMonitor<WebhookOptions> options, TimeProvider clock, IStringLocalizer<SharedResource> strings)
{
    public const double MaxOverlapHours = 24 * 7;

    private readonly IDataProtector _protector = protection.CreateProtector(WebhookDispatcher.SecretPurpose);

    private IQueryable<WebhookEndpoint> Live => db.Set<WebhookEndpoint>().Where(e => e.DeletedAt == null);

    private static WebhookEndpointDto ToDto(WebhookEndpoint e) =>
        new(e.Id, e.Url, e.EventList(), e.Active, e.CreatedAt, e.UpdatedAt, e.PreviousSecretUntil);

    public async Task<List<WebhookEndpointDto>> ListAsync(CancellationToken ct) =>
        (await Live.AsNoTracking().OrderBy(e => e.CreatedAt).ToListAsync(ct)).Select(ToDto).ToList();

    public async Task<WebhookEndpointDto?> GetAsync(Guid id, CancellationToken ct) =>
        await Live.AsNoTracking().FirstOrDefaultAsync(e => e.Id == id, ct) is { } e ? ToDto(e) : null;

    /// <summary>Field errors (localised) for a URL and an event list; a null member is not checked (PATCH).</summary>
    public async Task<Dictionary<string, string[]>> ValidateAsync(string? url, string[]? events, bool urlRequired, bool eventsRequired, CancellationToken ct)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string field, string key, params object[] args) => errors[field] = [string.Format(System.Globalization.CultureInfo.CurrentCulture, strings[key], args)];

        if (url is null)
        {
            if (urlRequired)
                Add("url", "OutboundWebhooks.Error.UrlRequired");
        }
        else if (string.IsNullOrWhiteSpace(url))
            Add("url", "OutboundWebhooks.Error.UrlRequired");
        else if (url.Length > WebhookEndpoint.MaxUrlLength)
            Add("url", "OutboundWebhooks.Error.UrlTooLong", WebhookEndpoint.MaxUrlLength);
        else if (url.Any(char.IsControl) || !Uri.TryCreate(url.Trim(), UriKind.Absolute, out var uri) ||
                 (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp) || string.IsNullOrEmpty(uri.Host) || !string.IsNullOrEmpty(uri.UserInfo))
            Add("url", "OutboundWebhooks.Error.UrlInvalid");
        else if (await guard.CheckAsync(uri, ct) is { } refused)
            Add("url", refused);

        if (events is null)
        {
            if (eventsRequired)
                Add("events", "OutboundWebhooks.Error.EventsRequired");
        }
        else if (events.Length == 0 || events.All(string.IsNullOrWhiteSpace))
            Add("events", "OutboundWebhooks.Error.EventsRequired");
        else if (events.Where(e => e is null || !WebhookEvents.Known.Contains(e.Trim())).ToList() is [var unknown, ..])
            Add("events", "OutboundWebhooks.Error.UnknownEvent", Printable(unknown), string.Join(", ", WebhookEvents.All));
        return errors;
    }

    // An unknown event name echoed in an error: no control characters, not too long.
    private static string Printable(string? value) =>
        value is null ? "null" : Notifications.NotificationRules.Truncate(new string(value.Where(c => !char.IsControl(c)).ToArray()), 64);

    private static string JoinEvents(IEnumerable<string> events) =>
        string.Join(',', events.Select(e => e.Trim()).Distinct(StringComparer.Ordinal).OrderBy(e => WebhookEvents.All.ToList().IndexOf(e)));

    public async Task<(WebhookEndpointWithSecret? Created, Dictionary<string, string[]>? Errors)> CreateAsync(WebhookEndpointInput input, string actor, CancellationToken ct)
    {
        var errors = await ValidateAsync(input.Url, input.Events, urlRequired: true, eventsRequired: true, ct);
        if (errors.Count > 0)
            return (null, errors);
        var now = clock.GetUtcNow();
        var secret = WebhookSigning.NewSecret();
        var endpoint = new WebhookEndpoint
        {
            Url = input.Url!.Trim(),
            Events = JoinEvents(input.Events!),
            Active = input.Active ?? true,
            SecretProtected = _protector.Protect(secret),
            CreatedAt = now,
            UpdatedAt = now,
            CreatedBy = Notifications.NotificationRules.Truncate(actor, 256),
        };
        db.Add(endpoint);
        Audit("webhook-endpoint.created", endpoint.Id, actor, $"{endpoint.Url} [{endpoint.Events}]");
        await db.SaveChangesAsync(ct);
        publisher.Invalidate();
        return (new WebhookEndpointWithSecret(endpoint.Id, endpoint.Url, endpoint.EventList(), endpoint.Active, endpoint.CreatedAt, secret, null), null);
    }

    /// <summary>PUT (<paramref name="replace"/>: url and events required) or PATCH (null members unchanged). Null result and null errors: not found.</summary>
    public async Task<(WebhookEndpointDto? Saved, Dictionary<string, string[]>? Errors)> UpdateAsync(Guid id, WebhookEndpointInput input, bool replace, string actor,
        CancellationToken ct)
    {
        var endpoint = await Live.FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
            return (null, null);
        var errors = await ValidateAsync(input.Url, input.Events, urlRequired: replace, eventsRequired: replace, ct);
        if (errors.Count > 0)
            return (null, errors);
        if (input.Url is { } url)
            endpoint.Url = url.Trim();
        if (input.Events is { } events)
            endpoint.Events = JoinEvents(events);
        if (input.Active is { } active)
            endpoint.Active = active;
        else if (replace)
            endpoint.Active = true;
        endpoint.UpdatedAt = clock.GetUtcNow();
        Audit("webhook-endpoint.updated", id, actor, $"{endpoint.Url} [{endpoint.Events}] active={endpoint.Active}");
        await db.SaveChangesAsync(ct);
        publisher.Invalidate();
        return (ToDto(endpoint), null);
    }

    /// <summary>Deletes the endpoint: it stops receiving at once; its delivery log is kept.</summary>
    public async Task<bool> DeleteAsync(Guid id, string actor, CancellationToken ct)
    {
        var endpoint = await Live.FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
            return false;
        endpoint.DeletedAt = endpoint.UpdatedAt = clock.GetUtcNow();
        endpoint.Active = false;
        Audit("webhook-endpoint.deleted", id, actor, endpoint.Url);
        await db.SaveChangesAsync(ct);
        publisher.Invalidate();
        return true;
    }

    /// <summary>
    /// A new secret signs from now on; the current one keeps signing alongside it for <paramref name="overlapHours"/> (default
    /// <see cref="WebhookOptions.SecretOverlapHours"/>), so receivers can switch without losing a delivery.
    /// </summary>
    public async Task<(WebhookEndpointWithSecret? Rotated, Dictionary<string, string[]>? Errors)> RotateAsync(Guid id, double? overlapHours, string actor, CancellationToken ct)
    {
        if (overlapHours is { } h && (double.IsNaN(h) || h < 0 || h > MaxOverlapHours))
            return (null, new() { ["overlapHours"] = [string.Format(System.Globalization.CultureInfo.CurrentCulture, strings["OutboundWebhooks.Error.Overlap"], MaxOverlapHours)] });
        var endpoint = await Live.FirstOrDefaultAsync(e => e.Id == id, ct);
        if (endpoint is null)
            return (null, null);
        var now = clock.GetUtcNow();
        var overlap = TimeSpan.FromHours(overlapHours ?? options.CurrentValue.SecretOverlapHours);
        var secret = WebhookSigning.NewSecret();
        endpoint.PreviousSecretProtected = overlap > TimeSpan.Zero ? endpoint.SecretProtected : null;
        endpoint.PreviousSecretUntil = overlap > TimeSpan.Zero ? now + overlap : null;
        endpoint.SecretProtected = _protector.Protect(secret);
        endpoint.UpdatedAt = now;
        Audit("webhook-endpoint.secret-rotated", id, actor, $"overlap {overlap.TotalHours:0.##} h");
        await db.SaveChangesAsync(ct);
        return (new WebhookEndpointWithSecret(endpoint.Id, endpoint.Url, endpoint.EventList(), endpoint.Active, endpoint.CreatedAt, secret, endpoint.PreviousSecretUntil), null);
    }

    /// <summary>Sends a <c>test</c> event to the endpoint now (whatever its filter) and returns the delivery as it stands after the attempt.</summary>
    public async Task<WebhookDeliveryDto?> SendTestAsync(Guid id, string actor, CancellationToken ct)
    {
        if (!await Live.AnyAsync(e => e.Id == id, ct))
            return null;
        var now = clock.GetUtcNow();
        var row = WebhookPublisher.Build([id], WebhookEvents.Test, new { endpointId = id, message = "Test event sent from Tandem.", by = actor }, now, options.CurrentValue)[0];
        // Stored already claimed by this request, so the attempt below is the first one and no background round takes it first;
        // if this process dies before finishing, the lease runs out and a dispatcher retries it.
        var token = Ids.New();
        row.Status = WebhookDeliveryStatus.Sending;
        row.ClaimToken = token;
        row.LeaseUntil = now + TimeSpan.FromSeconds(options.CurrentValue.LeaseSeconds);
        row.Attempts = 1;
        db.Add(row);
        Audit("webhook-endpoint.test", id, actor, row.WebhookId);
        await db.SaveChangesAsync(ct);
        await dispatcher.SendClaimedAsync(token, ct);
        return await DeliveryAsync(row.Id, ct);
    }

    public async Task<Page<WebhookDeliveryDto>?> DeliveriesAsync(Guid endpointId, WebhookDeliveryStatus? status, PageQuery page, CancellationToken ct)
    {
        if (!await db.Set<WebhookEndpoint>().AnyAsync(e => e.Id == endpointId, ct))
            return null;
        var query = db.Set<WebhookDelivery>().AsNoTracking().Where(d => d.EndpointId == endpointId);
        if (status is { } s)
            query = query.Where(d => d.Status == s);
        var total = await query.CountAsync(ct);
        var items = (await query.OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Skip(page.Skip).Take(page.Size).ToListAsync(ct))
            .Select(ToDto).ToList();
        return new Page<WebhookDeliveryDto>(items, page.PageNumber, page.Size, total);
    }

    public async Task<WebhookDeliveryDto?> DeliveryAsync(Guid id, CancellationToken ct) =>
        await db.Set<WebhookDelivery>().AsNoTracking().FirstOrDefaultAsync(d => d.Id == id, ct) is { } d ? ToDto(d) : null;

    private static WebhookDeliveryDto ToDto(WebhookDelivery d) =>
        new(d.Id, d.WebhookId, d.EndpointId, d.EventType, d.Status, d.Attempts, d.NextAttemptAt,
            d.LastStatusCode, d.LastError, d.LastDurationMs, d.LastAttemptAt, d.CreatedAt, d.DeliveredAt, d.Payload);

    /// <summary>
    /// Sends a delivery again with the same <c>webhook-id</c> and a fresh retry window (a delivered one too: the receiver asked for
    /// it again, or lost it). One being sent right now is left alone.
    /// </summary>
    public async Task<RedeliverOutcome> RedeliverAsync(Guid id, string actor, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var until = now + TimeSpan.FromHours(options.CurrentValue.RetryWindowHours);
        var updated = await db.Set<WebhookDelivery>().Where(d => d.Id == id && d.Status != WebhookDeliveryStatus.Sending)
            .ExecuteUpdateAsync(s => s
                .SetProperty(d => d.Status, WebhookDeliveryStatus.Pending)
                .SetProperty(d => d.Attempts, 0)
                .SetProperty(d => d.NextAttemptAt, now)
                .SetProperty(d => d.RetryUntil, until), ct);
        if (updated == 0)
            return await db.Set<WebhookDelivery>().AnyAsync(d => d.Id == id, ct) ? RedeliverOutcome.InProgress : RedeliverOutcome.NotFound;
        Audit("webhook-delivery.redeliver", id, actor, null);
        await db.SaveChangesAsync(ct);
        publisher.Wake();
        return RedeliverOutcome.Queued;
    }

    private void Audit(string action, Guid id, string actor, string? details) =>
        db.AuditEntries.Add(new AuditEntry
        {
            At = clock.GetUtcNow(),
            Actor = Notifications.NotificationRules.Truncate(actor, 256),
            Action = action,
            EntityType = action.StartsWith("webhook-delivery", StringComparison.Ordinal) ? "WebhookDelivery" : "WebhookEndpoint",
            EntityId = id.ToString(),
            Details = details is null ? null : Notifications.NotificationRules.Truncate(details, 4000),
        });

    /// <summary>For tests: the stored secret decrypted.</summary>
    internal async Task<string?> SecretOfAsync(Guid id, CancellationToken ct) =>
        await db.Set<WebhookEndpoint>().Where(e => e.Id == id).Select(e => e.SecretProtected).FirstOrDefaultAsync(ct) is { } s ? _protector.Unprotect(s) : null;
}
