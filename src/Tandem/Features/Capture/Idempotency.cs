using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Capture;

/// <summary>
/// <c>Idempotency-Key</c> support for write endpoints: for 24 hours the same caller, key and body get the stored
/// answer again; the same key with a different body gets 422. Keys are scoped per caller (API key or user).
/// </summary>
public sealed class IdempotencyStore(TandemDb db, TimeProvider clock)
{
    public const string Header = "Idempotency-Key";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(24);
    private static long _lastPurgeTicks;

    public sealed record Stored(int StatusCode, string? Body, string? Location, bool SameRequest);

    public static string? CallerKey(ClaimsPrincipal user, string clientKey)
    {
        var caller = user.FindFirstValue("api_key_id") ?? user.FindFirstValue(ClaimTypes.NameIdentifier);
        return caller is null ? null : $"{caller}:{clientKey}";
    }

    public static byte[] Hash(string method, string path, ReadOnlySpan<byte> body)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{method} {path}\n"));
        sha.AppendData(body);
        return sha.GetHashAndReset();
    }

    public async Task<Stored?> FindAsync(string key, byte[] hash, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var record = await db.IdempotencyRecords.AsNoTracking().FirstOrDefaultAsync(r => r.Key == key && r.ExpiresAt > now, ct);
        return record is null ? null : new Stored(record.StatusCode, record.ResponseBody, record.Location, record.RequestHash.AsSpan().SequenceEqual(hash));
    }

    /// <summary>Remembers an answer. Returns false when a concurrent request with the same key stored one first.</summary>
    public async Task<bool> SaveAsync(string key, byte[] hash, int status, string? body, string? location, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await PurgeExpiredAsync(now, ct);
        await db.IdempotencyRecords.Where(r => r.Key == key && r.ExpiresAt <= now).ExecuteDeleteAsync(ct);
        db.IdempotencyRecords.Add(new IdempotencyRecord
        {
            Key = key,
            RequestHash = hash,
            StatusCode = status,
            ResponseBody = body,
            Location = location,
            CreatedAt = now,
            ExpiresAt = now + Lifetime,
        });
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException ex) when (CaptureService.IsUniqueViolation(ex))
        {
            db.ChangeTracker.Clear();
            return false;
        }
    }

    private async Task PurgeExpiredAsync(DateTimeOffset now, CancellationToken ct)
    {
        var last = Interlocked.Read(ref _lastPurgeTicks);
        if (now.UtcTicks - last < TimeSpan.FromMinutes(10).Ticks || Interlocked.CompareExchange(ref _lastPurgeTicks, now.UtcTicks, last) != last)
            return;
        await db.IdempotencyRecords.Where(r => r.ExpiresAt <= now).ExecuteDeleteAsync(ct);
    }
}
