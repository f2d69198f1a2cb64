using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Platform;

public sealed record CreatedApiKey(Guid Id, string Name, string Key, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt);

/// <summary>Creates, verifies and revokes API keys. Keys are random (256 bits) so a plain SHA-256 hash is a safe store.</summary>
public sealed class ApiKeyService(TandemDb db, TimeProvider clock, ApiKeyCache cache)
{
    public const string KeyPrefix = "tdm_";
    private const int PrefixLength = 12;

    public async Task<CreatedApiKey> CreateAsync(string name, IReadOnlyList<string> scopes, Guid? createdById, string actor, CancellationToken ct = default)
    {
        var prefix = RandomToken(PrefixLength / 2);
        var secret = RandomToken(32);
        var now = clock.GetUtcNow();
        var key = new ApiKey
        {
            Name = name.Trim(),
            Prefix = prefix,
            SecretHash = Hash(secret),
            Scopes = [.. scopes],
            CreatedAt = now,
            CreatedById = createdById,
        };
        db.ApiKeys.Add(key);
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = createdById,
            Actor = actor,
            Action = "api-key.created",
            EntityType = nameof(ApiKey),
            EntityId = key.Id.ToString(),
            Details = $"name={key.Name}; scopes={string.Join(',', key.Scopes)}",
        });
        await db.SaveChangesAsync(ct);
        return new CreatedApiKey(key.Id, key.Name, $"{KeyPrefix}{prefix}_{secret}", key.Scopes, now);
    }

    /// <summary>Returns the active key matching <paramref name="presented"/>, or null. Constant-time on the secret.</summary>
    public async Task<ApiKey?> VerifyAsync(string presented, CancellationToken ct = default)
    {
        if (!TrySplit(presented, out var prefix, out var secret))
            return null;
        var now = clock.GetUtcNow();
        var key = cache.Get(prefix, now);
        if (key is null)
        {
            key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Prefix == prefix, ct);
            if (key is null)
                return null;
            cache.Set(key, now);
        }
        if (key.RevokedAt is not null)
            return null;
        if (key.ExpiresAt is { } expires && expires <= now)
            return null;
        if (!CryptographicOperations.FixedTimeEquals(key.SecretHash, Hash(secret)))
            return null;
        // Touch last-used at most once a minute, to keep verification read-mostly under load.
        if (key.LastUsedAt is null || now - key.LastUsedAt > TimeSpan.FromMinutes(1))
        {
            key.LastUsedAt = now;
            await db.ApiKeys.Where(k => k.Id == key.Id).ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), ct);
        }
        return key;
    }

    public async Task<bool> RevokeAsync(Guid id, Guid? actorId, string actor, CancellationToken ct = default)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, ct);
        if (key is null)
            return false;
        cache.Remove(key.Prefix);
        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.GetUtcNow();
            db.AuditEntries.Add(new AuditEntry
            {
                At = key.RevokedAt.Value,
                ActorId = actorId,
                Actor = actor,
                Action = "api-key.revoked",
                EntityType = nameof(ApiKey),
                EntityId = key.Id.ToString(),
                Details = $"name={key.Name}",
            });
            await db.SaveChangesAsync(ct);
        }
        return true;
    }

    internal static bool TrySplit(string presented, out string prefix, out string secret)
    {
        prefix = secret = "";
        if (string.IsNullOrEmpty(presented) || presented.Length > 200 || !presented.StartsWith(KeyPrefix, StringComparison.Ordinal))
            return false;
        var rest = presented.AsSpan(KeyPrefix.Length);
        var sep = rest.IndexOf('_');
        if (sep <= 0 || sep == rest.Length - 1)
            return false;
        prefix = rest[..sep].ToString();
        secret = rest[(sep + 1)..].ToString();
        return true;
    }

    internal static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    private static string RandomToken(int bytes) =>
        Convert.ToHexString(RandomNumberGenerator.GetBytes(bytes)).ToLowerInvariant();
}

/// <summary>
/// Verified keys by prefix, for <see cref="MaxAge"/>: the key check on every API call then costs no query.
/// Revoking removes the entry on this instance at once; other instances stop accepting the key within MaxAge.
/// </summary>
public sealed class ApiKeyCache
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(30);
    private const int MaxEntries = 10_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (ApiKey Key, DateTimeOffset At)> _entries = new(StringComparer.Ordinal);

    public ApiKey? Get(string prefix, DateTimeOffset now) =>
        _entries.TryGetValue(prefix, out var e) && now - e.At < MaxAge ? e.Key : null;

    public void Set(ApiKey key, DateTimeOffset now)
    {
        if (_entries.Count >= MaxEntries)
            _entries.Clear();
        _entries[key.Prefix] = (key, now);
    }

    public void Remove(string prefix) => _entries.TryRemove(prefix, out _);
}
