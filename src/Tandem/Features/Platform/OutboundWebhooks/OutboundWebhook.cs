using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore;

namespace Tandem.Features.Platform.OutboundWebhooks;

/// <summary>The event types an endpoint can subscribe to. Names are part of the public contract: never rename one.</summary>
public static class WebhookEvents
{
    public const string LeadCreated = "lead.created";
    public const string LeadMql = "lead.mql";
    public const string LeadAssigned = "lead.assigned";
    public const string SlaBreached = "sla.breached";
    public const string LeadAccepted = "lead.accepted";
    public const string LeadRejected = "lead.rejected";
    public const string LeadRated = "lead.rated";
    public const string CampaignFlagged = "campaign.flagged";
    public const string CampaignPaused = "campaign.paused";
    public const string DisputeOpened = "dispute.opened";
    public const string DisputeResolved = "dispute.resolved";
    public const string DealWon = "deal.won";
    /// <summary>Sent by the "send test event" action (to one endpoint, whatever its filter).</summary>
    public const string Test = "test";

    public static readonly IReadOnlyList<string> All =
    [
        LeadCreated, LeadMql, LeadAssigned, SlaBreached, LeadAccepted, LeadRejected, LeadRated,
        CampaignFlagged, CampaignPaused, DisputeOpened, DisputeResolved, DealWon, Test,
    ];

    public static readonly FrozenSet<string> Known = All.ToFrozenSet(StringComparer.Ordinal);
}

public enum WebhookDeliveryStatus
{
    /// <summary>Waiting for its <see cref="WebhookDelivery.NextAttemptAt"/>.</summary>
    Pending,
    /// <summary>Claimed by a dispatcher until <see cref="WebhookDelivery.LeaseUntil"/>; an expired lease is claimed again.</summary>
    Sending,
    /// <summary>The receiver answered 2xx.</summary>
    Delivered,
    /// <summary>Final: a 4xx other than 408/429, a refused target, or still failing when the retry window ended.</summary>
    Failed,
    /// <summary>Not sent: the endpoint was disabled or deleted before its turn came.</summary>
    Skipped,
}

/// <summary>
/// An admin-configured receiver of outbound webhooks. Never deleted (a DELETE sets <see cref="DeletedAt"/>): deliveries
/// keep their endpoint, and a producer that still holds the endpoint in its cached subscription set never writes a
/// delivery that points at nothing.
/// </summary>
public sealed class WebhookEndpoint
{
    public const int MaxUrlLength = 2000;

    public Guid Id { get; set; } = Ids.New();
    public required string Url { get; set; }
    /// <summary>Subscribed event types, comma-separated (e.g. <c>lead.created,campaign.paused</c>).</summary>
    public required string Events { get; set; }
    public bool Active { get; set; } = true;
    /// <summary>The <c>whsec_…</c> signing secret, encrypted with Data Protection.</summary>
    public required string SecretProtected { get; set; }
    /// <summary>The secret before the last rotation; it keeps signing alongside the new one until <see cref="PreviousSecretUntil"/>.</summary>
    public string? PreviousSecretProtected { get; set; }
    public DateTimeOffset? PreviousSecretUntil { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? DeletedAt { get; set; }

    public IReadOnlyList<string> EventList() => Events.Split(',', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>
/// One event to one endpoint: the outbox row and its delivery log at once. <see cref="Id"/> gives the <c>webhook-id</c>
/// header (<c>msg_…</c>), the same on every attempt and on a manual redelivery, so receivers can drop duplicates.
/// The body is fixed when the event is published, so every attempt sends (and signs) the same bytes.
/// </summary>
public sealed class WebhookDelivery
{
    public const int MaxErrorLength = 2000;

    public Guid Id { get; set; } = Ids.New();
    public Guid EndpointId { get; set; }
    public required string EventType { get; set; }
    /// <summary>The JSON body: <c>{"type":…,"timestamp":…,"data":{…}}</c>.</summary>
    public required string Payload { get; set; }
    public WebhookDeliveryStatus Status { get; set; }
    /// <summary>Attempts started (a claim counts).</summary>
    public int Attempts { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    /// <summary>No retry is scheduled after this instant (24 h after the event, or after a manual redelivery).</summary>
    public DateTimeOffset RetryUntil { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
    public Guid? ClaimToken { get; set; }
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public int? LastDurationMs { get; set; }
    public DateTimeOffset? LastAttemptAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? DeliveredAt { get; set; }

    public string WebhookId => MessageId(Id);

    public static string MessageId(Guid id) => "msg_" + id.ToString("N");
}

/// <summary>Settings under <c>Tandem:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    /// <summary>Allows targets on loopback, private and link-local networks (also for chat webhooks). Off in production.</summary>
    public bool AllowPrivateTargets { get; set; }
    public bool RunDispatcher { get; set; } = true;
    /// <summary>How often an idle dispatcher looks for due deliveries (it also wakes at once after a publish on this instance).</summary>
    public double PollSeconds { get; set; } = 1;
    public double LeaseSeconds { get; set; } = 120;
    /// <summary>Deliveries claimed per round.</summary>
    public int BatchSize { get; set; } = 200;
    /// <summary>Requests in flight at once per dispatcher round.</summary>
    public int Concurrency { get; set; } = 64;
    public double TimeoutSeconds { get; set; } = 10;
    /// <summary>First retry after this; each next one waits twice as long (±20 %), up to <see cref="MaxBackoffSeconds"/>.</summary>
    public double BaseBackoffSeconds { get; set; } = 10;
    public double MaxBackoffSeconds { get; set; } = 3 * 3600;
    /// <summary>Retries stop this long after the event (or after a manual redelivery).</summary>
    public double RetryWindowHours { get; set; } = 24;
    /// <summary>After a rotation the old secret keeps signing this long unless the request says otherwise.</summary>
    public double SecretOverlapHours { get; set; } = 24;
    /// <summary>How long a cached subscription set is trusted before another instance's changes are read.</summary>
    public double SubscriptionCacheSeconds { get; set; } = 5;
}

public static class OutboundWebhookModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<WebhookEndpoint>(e =>
        {
            e.ToTable("WebhookEndpoints");
            e.Property(x => x.Url).HasMaxLength(WebhookEndpoint.MaxUrlLength);
            e.Property(x => x.Events).HasMaxLength(1000);
            e.Property(x => x.SecretProtected).HasMaxLength(2000);
            e.Property(x => x.PreviousSecretProtected).HasMaxLength(2000);
            e.Property(x => x.CreatedBy).HasMaxLength(256);
        });
        builder.Entity<WebhookDelivery>(e =>
        {
            e.ToTable("WebhookDeliveries");
            e.Ignore(x => x.WebhookId);
            e.Property(x => x.EventType).HasMaxLength(64);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(x => x.LastError).HasMaxLength(WebhookDelivery.MaxErrorLength);
            // The dispatcher's claim: due pending rows, and sending rows whose lease ran out.
            e.HasIndex(x => new { x.Status, x.NextAttemptAt });
            e.HasIndex(x => x.ClaimToken).HasFilter("\"ClaimToken\" IS NOT NULL");
            e.HasIndex(x => new { x.EndpointId, x.CreatedAt });
            e.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(x => x.EndpointId).OnDelete(DeleteBehavior.Restrict);
        });
    }
}
