using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;

namespace Tandem.Features.Leads;

/// <summary>What a consent entry is about: email marketing, or being called.</summary>
public enum ConsentPurpose
{
    Email,
    Calls,
}

public enum ConsentAction
{
    Granted,
    Withdrawn,
}

/// <summary>
/// One grant or withdrawal of consent, with the wording the person saw, where it came from and who recorded it. Append-only: never
/// updated, never deleted (decision 021b); the lead's <see cref="Lead.EmailOptIn"/>/<see cref="Lead.DoNotEmail"/>/<see cref="Lead.DoNotCall"/>
/// are the current state the ledger leads to. An erasure keeps the entries (the proof of consent and withdrawal) without the IP address.
/// </summary>
public sealed class ConsentEntry
{
    public const int MaxWording = 2000;
    public const int MaxSource = 200;

    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    public ConsentPurpose Purpose { get; set; }
    public ConsentAction Action { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>The wording the person agreed to (a form's consent text, a webhook's legal text), if the channel gave it.</summary>
    public string? Wording { get; set; }
    /// <summary>Where it came from: <c>api</c>, <c>form:&lt;key&gt;</c>, <c>webhook:&lt;name&gt;</c>, <c>import:&lt;id&gt;</c>, <c>ui</c>.</summary>
    public string? Source { get; set; }
    public Guid? ActorUserId { get; set; }
    public string? ActorName { get; set; }
    public string? IpAddress { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// A keyed hash of an erased person's normalised email or phone, kept when the erasure asked to block re-capture: capture refuses a
/// submission whose identifier hashes to one of these. Nothing else about the person is kept.
/// </summary>
public sealed class ErasureBlock
{
    /// <summary>Hex HMAC-SHA256 of <c>kind:value</c> (see <see cref="ErasureHash"/>).</summary>
    public required string Hash { get; set; }
    /// <summary><c>email</c> or <c>phone</c>.</summary>
    public required string Kind { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>
/// The keyed hash behind <see cref="ErasureBlock"/>: HMAC-SHA256 with <c>Tandem:Privacy:HashKey</c> when configured (recommended: keep
/// it outside the database, so a copy of the database alone cannot test guessed addresses), else with a built-in application salt.
/// Changing the key forgets every block.
/// </summary>
public static class ErasureHash
{
    private static readonly byte[] DefaultKey = Encoding.UTF8.GetBytes("Tandem.ErasureBlock.v1:8f3c1e0a-5d7b-4b1e-9a52-2c6d0f9e7a13");
    private static byte[] _key = DefaultKey;

    /// <summary>Set once at start-up from configuration (null or empty keeps the built-in salt).</summary>
    public static void Configure(string? key) => _key = string.IsNullOrEmpty(key) ? DefaultKey : Encoding.UTF8.GetBytes(key);

    public static string Of(string kind, string normalisedValue) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(kind + ":" + normalisedValue)));

    /// <summary>The hashes to look up for a submission's identifiers (already normalised by capture).</summary>
    public static IEnumerable<string> For(string? email, string? phone)
    {
        if (!string.IsNullOrEmpty(email))
            yield return Of("email", email);
        if (!string.IsNullOrEmpty(phone))
            yield return Of("phone", phone);
    }
}

public static class ConsentModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<ConsentEntry>(e =>
        {
            e.ToTable("ConsentEntries");
            e.Property(c => c.Purpose).HasConversion<string>().HasMaxLength(16);
            e.Property(c => c.Action).HasConversion<string>().HasMaxLength(16);
            e.Property(c => c.Wording).HasMaxLength(ConsentEntry.MaxWording);
            e.Property(c => c.Source).HasMaxLength(ConsentEntry.MaxSource);
            e.Property(c => c.ActorName).HasMaxLength(256);
            e.Property(c => c.IpAddress).HasMaxLength(64);
            e.HasIndex(c => new { c.LeadId, c.At });
        });
        builder.Entity<ErasureBlock>(e =>
        {
            e.ToTable("ErasureBlocks");
            e.HasKey(b => b.Hash);
            e.Property(b => b.Hash).HasMaxLength(64);
            e.Property(b => b.Kind).HasMaxLength(16);
        });
    }

    /// <summary>The ledger entries one captured consent makes: one per flag it gives (an opt-in is a grant, an opt-out a withdrawal).</summary>
    public static List<ConsentEntry> EntriesFor(Guid leadId, bool? emailOptIn, bool? doNotEmail, bool? doNotCall, string? wording, string source,
        DateTimeOffset at, DateTimeOffset now, Guid? actorUserId, string? ip)
    {
        var entries = new List<ConsentEntry>();
        void Add(ConsentPurpose purpose, ConsentAction action) => entries.Add(new ConsentEntry
        {
            LeadId = leadId,
            Purpose = purpose,
            Action = action,
            At = at,
            Wording = Cut(wording, ConsentEntry.MaxWording),
            Source = Cut(source, ConsentEntry.MaxSource),
            ActorUserId = actorUserId,
            IpAddress = Cut(ip, 64),
            CreatedAt = now,
        });
        if (emailOptIn == true && doNotEmail != true)
            Add(ConsentPurpose.Email, ConsentAction.Granted);
        else if (emailOptIn == false || doNotEmail == true)
            Add(ConsentPurpose.Email, ConsentAction.Withdrawn);
        if (doNotCall == true)
            Add(ConsentPurpose.Calls, ConsentAction.Withdrawn);
        else if (doNotCall == false)
            Add(ConsentPurpose.Calls, ConsentAction.Granted);
        return entries;
    }

    private static string? Cut(string? value, int max) => value is null ? null : value.Length <= max ? value : value[..max];
}
