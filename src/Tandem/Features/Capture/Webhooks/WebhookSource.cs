using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.Webhooks;

public enum SignatureEncoding
{
    Hex,
    Base64,
}

public enum DeadLetterStatus
{
    Pending,
    Replayed,
    Discarded,
}

/// <summary>One mapping rule: the value found at <see cref="Path"/> (JSON path subset, or a quoted constant) goes into <see cref="Target"/>.</summary>
public sealed record FieldMapping(string Target, string Path);

/// <summary>
/// A system that posts leads to <c>/hooks/{Key}</c> (Typeform, Webflow, Meta Lead Ads relays, HubSpot, Unbounce…).
/// The key in the URL identifies the source; an optional HMAC-SHA256 secret authenticates each delivery.
/// </summary>
public sealed class WebhookSource
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    /// <summary>Random, URL-safe, unique; part of the public URL.</summary>
    public required string Key { get; set; }
    /// <summary>The HMAC secret encrypted with Data Protection (it is needed in clear to verify signatures, so it cannot be hashed).</summary>
    public string? ProtectedSecret { get; set; }
    public string SignatureHeader { get; set; } = "X-Hub-Signature-256";
    /// <summary>Text before the digest in the header, e.g. <c>sha256=</c>; empty for none.</summary>
    public string SignaturePrefix { get; set; } = "";
    public SignatureEncoding SignatureEncoding { get; set; } = SignatureEncoding.Hex;
    public List<FieldMapping> Mappings { get; set; } = [];
    public ActivityType ActivityType { get; set; } = ActivityType.FormSubmission;
    public Guid? CampaignId { get; set; }
    public string? Preset { get; set; }
    /// <summary>Region (ISO alpha-2) of phone numbers sent without a country code; null uses the workspace default.</summary>
    public string? PhoneRegion { get; set; }
    public bool Active { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }
}

/// <summary>A delivery that could not become a lead, kept verbatim so it can be replayed once the mapping is fixed.</summary>
public sealed class WebhookDeadLetter
{
    public Guid Id { get; set; } = Ids.New();
    public Guid SourceId { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public string? ContentType { get; set; }
    public required string RawBody { get; set; }
    /// <summary>A JSON object of the few headers worth keeping (never credentials).</summary>
    public string? Headers { get; set; }
    public required string Error { get; set; }
    public DeadLetterStatus Status { get; set; } = DeadLetterStatus.Pending;
    public int ReplayAttempts { get; set; }
    public DateTimeOffset? ResolvedAt { get; set; }
    public string? ResolvedBy { get; set; }
    public Guid? LeadId { get; set; }
}

public static class WebhookModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<WebhookSource>(e =>
        {
            e.Property(s => s.Name).HasMaxLength(100);
            e.Property(s => s.Key).HasMaxLength(40);
            e.Property(s => s.ProtectedSecret).HasMaxLength(1000);
            e.Property(s => s.SignatureHeader).HasMaxLength(100);
            e.Property(s => s.SignaturePrefix).HasMaxLength(20);
            e.Property(s => s.SignatureEncoding).HasConversion<string>().HasMaxLength(16);
            e.Property(s => s.Preset).HasMaxLength(40);
            e.Property(s => s.PhoneRegion).HasMaxLength(2);
            e.Property(s => s.CreatedBy).HasMaxLength(256);
            e.Property(s => s.UpdatedBy).HasMaxLength(256);
            e.Property(s => s.Mappings).HasConversion(JsonConversion.Converter<List<FieldMapping>>(), JsonConversion.Comparer<List<FieldMapping>>())
                .HasMaxLength(16000);
            e.HasIndex(s => s.Key).IsUnique();
            e.HasOne<Campaign>().WithMany().HasForeignKey(s => s.CampaignId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<WebhookDeadLetter>(e =>
        {
            e.Property(d => d.ContentType).HasMaxLength(200);
            e.Property(d => d.Headers).HasMaxLength(8000);
            e.Property(d => d.Error).HasMaxLength(4000);
            e.Property(d => d.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(d => d.ResolvedBy).HasMaxLength(256);
            e.HasIndex(d => new { d.SourceId, d.Status, d.ReceivedAt });
            e.HasOne<WebhookSource>().WithMany().HasForeignKey(d => d.SourceId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}

/// <summary>Stores small lists as one JSON text column: they are always read and written whole with their owner.</summary>
internal static class JsonConversion
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public static Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<T, string> Converter<T>() where T : new() =>
        new(v => JsonSerializer.Serialize(v, Options), s => JsonSerializer.Deserialize<T>(s, Options) ?? new T());

    public static ValueComparer<T> Comparer<T>() => new(
        (a, b) => JsonSerializer.Serialize(a, Options) == JsonSerializer.Serialize(b, Options),
        v => JsonSerializer.Serialize(v, Options).GetHashCode(StringComparison.Ordinal),
        v => JsonSerializer.Deserialize<T>(JsonSerializer.Serialize(v, Options), Options)!);
}
