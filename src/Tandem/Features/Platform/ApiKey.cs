namespace Tandem.Features.Platform;

/// <summary>
/// An API key. Only a SHA-256 hash of the secret part is stored; the full key is shown once at creation.
/// Keys look like <c>tdm_{prefix}_{secret}</c>: the prefix finds the row, the hash proves the secret.
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public required string Prefix { get; set; }
    public required byte[] SecretHash { get; set; }
    public List<string> Scopes { get; set; } = [];
    public DateTimeOffset CreatedAt { get; set; }
    public Guid? CreatedById { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
}

/// <summary>Who did what, when: admin actions and other changes people must be able to trace.</summary>
public sealed class AuditEntry
{
    public Guid Id { get; set; } = Ids.New();
    public DateTimeOffset At { get; set; }
    public Guid? ActorId { get; set; }
    public required string Actor { get; set; }
    public required string Action { get; set; }
    public string? EntityType { get; set; }
    public string? EntityId { get; set; }
    public string? Details { get; set; }
}
