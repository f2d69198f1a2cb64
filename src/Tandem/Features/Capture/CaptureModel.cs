namespace Tandem.Features.Capture;

public enum CustomFieldType
{
    Text,
    Number,
    Date,
    Bool,
}

/// <summary>An admin-defined lead field. Leads keep values under <see cref="Key"/> in their custom-fields JSON.</summary>
public sealed class CustomFieldDefinition
{
    public Guid Id { get; set; } = Ids.New();
    /// <summary>camelCase key used in the API (<c>customFields.{key}</c>), forms and mappings.</summary>
    public required string Key { get; set; }
    public required string Label { get; set; }
    public CustomFieldType Type { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A remembered answer to a request sent with an <c>Idempotency-Key</c> header, per caller, for 24 hours:
/// the same key and body get the same answer; the same key with another body gets 422.
/// </summary>
public sealed class IdempotencyRecord
{
    public Guid Id { get; set; } = Ids.New();
    /// <summary>Caller (API key id or user id) + ':' + the client's key.</summary>
    public required string Key { get; set; }
    public required byte[] RequestHash { get; set; }
    public int StatusCode { get; set; }
    public string? ResponseBody { get; set; }
    public string? Location { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}
