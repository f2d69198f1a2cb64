using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;

namespace Tandem.Features.Platform;

/// <summary>
/// The Data Protection key ring lives in the database (every instance reads it) but is encrypted with a key that does not:
/// an X.509 certificate (<c>Tandem:DataProtection:CertificatePath</c> + <c>CertificatePassword</c>) or, by default, a key file
/// (<c>Tandem:DataProtection:KeyFile</c>, 32 random bytes in base64, created with mode 0600 at <c>data/keyring.key</c> on
/// first start). A database backup alone therefore cannot forge a session or read a stored secret.
/// Keys written before encryption stay readable (plain XML); keys written from now on are encrypted.
/// </summary>
public static class KeyRing
{
    public const string DefaultKeyFile = "data/keyring.key";

    public static IServiceCollection AddTandemDataProtection(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection("Tandem:DataProtection");
        var builder = services.AddDataProtection().SetApplicationName("Tandem").PersistKeysToDbContext<TandemDb>();

        var keyFile = section["KeyFile"];
        var previous = section.GetSection("PreviousKeyFiles").Get<string[]>() ?? [];
        var certificatePath = section["CertificatePath"];
        if (!string.IsNullOrWhiteSpace(certificatePath))
        {
            var password = section["CertificatePassword"];
            builder.ProtectKeysWithCertificate(X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password));
            var previousCertificates = (section.GetSection("PreviousCertificatePaths").Get<string[]>() ?? [])
                .Select(p => X509CertificateLoader.LoadPkcs12FromFile(p, section["PreviousCertificatePassword"] ?? password)).ToArray();
            if (previousCertificates.Length > 0)
                builder.UnprotectKeysWithAnyCertificate(previousCertificates);
            // Keys encrypted with a key file before the switch to a certificate stay readable when the file is still configured.
            services.AddSingleton(_ => KeyFileKeys.Load(keyFile, previous, create: false));
        }
        else
        {
            services.AddSingleton(_ => KeyFileKeys.Load(keyFile ?? DefaultKeyFile, previous, create: true));
            services.AddOptions<KeyManagementOptions>().Configure<KeyFileKeys>((o, keys) => o.XmlEncryptor = new KeyFileXmlEncryptor(keys));
        }
        return services;
    }

    /// <summary>
    /// <c>admin rotate-secrets</c>: reads every stored secret with the current key ring, creates a new key (encrypted with the
    /// configured certificate or key file), stores the secrets again under it, then revokes every older key. Everyone signs in again.
    /// </summary>
    public static async Task<int> RotateAsync(IServiceProvider services, TextWriter output)
    {
        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        var db = sp.GetRequiredService<TandemDb>();
        var protection = sp.GetRequiredService<IDataProtectionProvider>();
        var outbound = protection.CreateProtector(WebhookDispatcher.SecretPurpose);
        var inbound = protection.CreateProtector(Capture.Webhooks.WebhookIngest.SecretPurpose);
        var settings = protection.CreateProtector(NotificationAdmin.SecretPurpose);

        // 1. Everything in clear, in memory, before any key is revoked.
        var endpoints = await db.Set<WebhookEndpoint>().ToListAsync();
        var sources = await db.WebhookSources.Where(s => s.ProtectedSecret != null).ToListAsync();
        var notification = await db.Set<NotificationSettings>().FirstOrDefaultAsync();
        var clearEndpoints = endpoints.Select(e => (e, Secret: outbound.Unprotect(e.SecretProtected),
            Previous: e.PreviousSecretProtected is { } p ? outbound.Unprotect(p) : null)).ToList();
        var clearSources = sources.Select(s => (s, Secret: inbound.Unprotect(s.ProtectedSecret!))).ToList();
        var smtp = notification?.SmtpPasswordProtected is { } sp1 ? settings.Unprotect(sp1) : null;
        var chat = notification?.ChatWebhookUrlProtected is { } c ? settings.Unprotect(c) : null;

        var oldProbe = outbound.Protect([2]);

        // 2. A new key, default at once.
        var keys = sp.GetRequiredService<IKeyManager>();
        var key = keys.CreateNewKey(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(90));
        await WaitUntilAsync(() => outbound.Protect([1]) is { Length: >= 20 } p && new Guid(p.AsSpan(4, 16)) == key.KeyId,
            $"The new data-protection key {key.KeyId} did not become the default key within 30 s; nothing was changed but the new key.");

        // 3. The secrets again, under the new key.
        foreach (var (e, secret, prev) in clearEndpoints)
        {
            e.SecretProtected = outbound.Protect(secret);
            e.PreviousSecretProtected = prev is null ? null : outbound.Protect(prev);
        }
        foreach (var (s, secret) in clearSources)
            s.ProtectedSecret = inbound.Protect(secret);
        if (notification is not null)
        {
            notification.SmtpPasswordProtected = smtp is null ? null : settings.Protect(smtp);
            notification.ChatWebhookUrlProtected = chat is null ? null : settings.Protect(chat);
        }
        await db.SaveChangesAsync();

        // 4. Every older key revoked: cookies, antiforgery tokens and anything protected before the rotation stop working.
        keys.RevokeAllKeys(key.CreationDate.AddMilliseconds(-1), "admin rotate-secrets");
        await WaitUntilAsync(() => !CanUnprotect(outbound, oldProbe), "The old data-protection keys were revoked but this process still reads them.");
        output.WriteLine($"New data-protection key {key.KeyId}; every older key is revoked (everyone signs in again).");
        output.WriteLine($"Re-encrypted {clearEndpoints.Count} outbound webhook secret(s), {clearSources.Count} inbound webhook secret(s), " +
            $"the SMTP password ({(smtp is null ? "none set" : "set")}) and the chat webhook URL ({(chat is null ? "none set" : "set")}).");
        return 0;
    }

    /// <summary>
    /// The key ring is cached and refreshed in the background, so right after a key is created or revoked a protector may still
    /// use the old ring. A payload starts with a 4-byte magic header and the 16-byte id of the key that protected it.
    /// </summary>
    private static async Task WaitUntilAsync(Func<bool> done, string failure)
    {
        for (var attempt = 0; attempt < 300; attempt++)
        {
            if (done())
                return;
            await Task.Delay(100);
        }
        throw new InvalidOperationException(failure);
    }

    private static bool CanUnprotect(IDataProtector protector, byte[] payload)
    {
        try
        {
            protector.Unprotect(payload);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
    }
}

/// <summary>The key file's key and any previous ones (for reading keys written before a rotation), by fingerprint.</summary>
public sealed class KeyFileKeys
{
    private KeyFileKeys(string? currentId, byte[]? current, IReadOnlyDictionary<string, byte[]> all, string? path)
    {
        CurrentId = currentId;
        Current = current;
        All = all;
        Path = path;
    }

    public string? CurrentId { get; }
    public byte[]? Current { get; }
    public IReadOnlyDictionary<string, byte[]> All { get; }
    public string? Path { get; }

    public static string Fingerprint(byte[] key) => Convert.ToHexString(SHA256.HashData(key))[..16].ToLowerInvariant();

    public static KeyFileKeys Load(string? path, IEnumerable<string> previous, bool create)
    {
        var all = new Dictionary<string, byte[]>();
        byte[]? current = null;
        string? full = null;
        if (!string.IsNullOrWhiteSpace(path))
        {
            full = System.IO.Path.GetFullPath(path);
            if (!File.Exists(full) && create)
                CreateKeyFile(full);
            if (File.Exists(full))
            {
                current = Read(full);
                all[Fingerprint(current)] = current;
            }
        }
        foreach (var old in previous)
        {
            var key = Read(System.IO.Path.GetFullPath(old));
            all.TryAdd(Fingerprint(key), key);
        }
        return new KeyFileKeys(current is null ? null : Fingerprint(current), current, all, full);
    }

    private static byte[] Read(string path)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(File.ReadAllText(path).Trim());
        }
        catch (FormatException)
        {
            throw new InvalidOperationException($"The key file {path} does not hold base64 text (expected 32 random bytes, e.g. `openssl rand -base64 32`).");
        }
        return key.Length == 32 ? key
            : throw new InvalidOperationException($"The key file {path} holds {key.Length} bytes; it must hold 32 (e.g. `openssl rand -base64 32`).");
    }

    /// <summary>Written to a temporary file and moved into place, so two instances starting together agree on one key.</summary>
    private static void CreateKeyFile(string path)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using (var stream = new FileStream(temp, options))
        using (var writer = new StreamWriter(stream))
            writer.WriteLine(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        try
        {
            File.Move(temp, path, overwrite: false);
        }
        catch (IOException) when (File.Exists(path))
        {
            File.Delete(temp);
        }
    }
}

/// <summary>Encrypts a key's XML with AES-256-GCM under the key file's key; the fingerprint names which file it needs.</summary>
public sealed class KeyFileXmlEncryptor(KeyFileKeys keys) : IXmlEncryptor
{
    internal static readonly byte[] Context = "Tandem.DataProtection.KeyFile.v1"u8.ToArray();

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var key = keys.Current ?? throw new InvalidOperationException("No key file is configured to encrypt the data-protection key ring.");
        var plain = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        var cipher = new byte[plain.Length];
        using (var aes = new AesGcm(key, tag.Length))
            aes.Encrypt(nonce, plain, cipher, tag, Context);
        CryptographicOperations.ZeroMemory(plain);
        var element = new XElement("encryptedKey",
            new XAttribute("keyFile", keys.CurrentId!),
            new XAttribute("algorithm", "AES-256-GCM"),
            new XElement("nonce", Convert.ToBase64String(nonce)),
            new XElement("tag", Convert.ToBase64String(tag)),
            new XElement("value", Convert.ToBase64String(cipher)));
        return new EncryptedXmlInfo(element, typeof(KeyFileXmlDecryptor));
    }
}

/// <summary>Created by Data Protection's activator (constructor taking the service provider).</summary>
public sealed class KeyFileXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement)
    {
        var keys = services.GetRequiredService<KeyFileKeys>();
        var fingerprint = (string?)encryptedElement.Attribute("keyFile") ?? "";
        if (!keys.All.TryGetValue(fingerprint, out var key))
        {
            services.GetService<ILoggerFactory>()?.CreateLogger("Tandem.KeyRing").LogError(
                "A data-protection key in the database was encrypted with key file {Fingerprint}, which this instance does not have " +
                "(its key file {Path} is {Current}). Sessions, antiforgery tokens and secrets protected with that key cannot be read. " +
                "Configure Tandem:DataProtection:KeyFile (or PreviousKeyFiles) with the file the other instances use.",
                fingerprint, keys.Path ?? "not configured", keys.CurrentId ?? "missing");
            throw new CryptographicException($"The data-protection key ring needs key file {fingerprint}, which is not configured.");
        }
        var nonce = Convert.FromBase64String((string?)encryptedElement.Element("nonce") ?? "");
        var tag = Convert.FromBase64String((string?)encryptedElement.Element("tag") ?? "");
        var cipher = Convert.FromBase64String((string?)encryptedElement.Element("value") ?? "");
        var plain = new byte[cipher.Length];
        using (var aes = new AesGcm(key, tag.Length))
            aes.Decrypt(nonce, cipher, tag, plain, KeyFileXmlEncryptor.Context);
        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plain));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plain);
        }
    }
}
