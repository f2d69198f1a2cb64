using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>The data-protection key ring is encrypted in the database with a key kept outside it.</summary>
public abstract class KeyRingTests(DatabaseProvider provider) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tandem-keys-").FullName;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }

    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";

    private string KeyFile(string name) => Path.Combine(_folder, name);

    private static Task<TandemApp> AppAsync(DatabaseProvider provider, string keyFile, string? connectionString = null, bool createDatabase = true)
    {
        var settings = new Dictionary<string, string?> { ["Tandem:DataProtection:KeyFile"] = keyFile };
        if (connectionString is not null)
            settings["ConnectionStrings:Tandem"] = connectionString;
        return TandemApp.CreateAsync(provider, settings, createDatabase);
    }

    private static Task<List<string>> KeyXmlAsync(TandemApp app) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().DataProtectionKeys.Select(k => k.Xml!).ToListAsync());

    private static async Task<string> SignedInCookieAsync(TandemApp app, string email)
    {
        var (_, password) = await app.CreateUserAsync(email, Roles.Admin);
        var response = await TandemApp.TrySignInAsync(app.CreateBrowserClient(), email, password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tandem.auth=", StringComparison.Ordinal));
        return cookie[..cookie.IndexOf(';', StringComparison.Ordinal)];
    }

    private static async Task<HttpStatusCode> MeAsync(TandemApp app, string cookie)
    {
        var client = app.CreateApiClient();
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        return (await client.GetAsync("/api/v1/me", Ct)).StatusCode;
    }

    [Fact]
    public async Task TheDatabaseHoldsNoKeyMaterialInClear()
    {
        var keyFile = KeyFile("keyring.key");
        await using var app = await AppAsync(provider, keyFile);
        await SignedInCookieAsync(app, "admin@example.com");

        var rows = await KeyXmlAsync(app);
        Assert.NotEmpty(rows);
        foreach (var xml in rows)
        {
            var key = XElement.Parse(xml);
            Assert.Empty(key.Descendants("masterKey"));
            var secret = Assert.Single(key.Descendants(DataProtection + "encryptedSecret"));
            Assert.Contains(nameof(KeyFileXmlDecryptor), (string?)secret.Attribute("decryptorType"), StringComparison.Ordinal);
        }
        // The key file was created on first start, readable by its owner only.
        Assert.Equal(32, Convert.FromBase64String(File.ReadAllText(keyFile).Trim()).Length);
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
    }

    [Fact]
    public async Task AnInstanceWithAnotherKeyFileCannotReadTheCookiesAndSaysWhyWhileTheRightKeyCan()
    {
        var right = KeyFile("right.key");
        await using var first = await AppAsync(provider, right);
        var cookie = await SignedInCookieAsync(first, "admin@example.com");
        Assert.Equal(HttpStatusCode.OK, await MeAsync(first, cookie));

        // Same database (a stolen backup), a different key file.
        var errors = new ConcurrentQueue<string>();
        await using (var thief = await AppAsync(provider, KeyFile("other.key"), first.ConnectionString, createDatabase: false))
        {
            thief.TestServices = s => s.AddSingleton<ILoggerProvider>(new CapturingLoggerProvider(errors));
            Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(thief, cookie));
            Assert.Equal(HttpStatusCode.OK, (await thief.CreateApiClient().GetAsync("/healthz", Ct)).StatusCode);
        }
        Assert.Contains(errors, e => e.Contains("encrypted with key file", StringComparison.Ordinal));

        await using var sameKey = await AppAsync(provider, right, first.ConnectionString, createDatabase: false);
        Assert.Equal(HttpStatusCode.OK, await MeAsync(sameKey, cookie));
    }

    [Fact]
    public async Task KeysWrittenBeforeEncryptionStayReadableAndNewKeysAreEncrypted()
    {
        // A key ring as an earlier version wrote it: plain XML.
        var legacyFolder = Directory.CreateDirectory(Path.Combine(_folder, "legacy"));
        using var legacy = new ServiceCollection().AddDataProtection().SetApplicationName("Tandem")
            .PersistKeysToFileSystem(legacyFolder).Services.BuildServiceProvider();
        var secret = legacy.GetRequiredService<IDataProtectionProvider>().CreateProtector(WebhookDispatcher.SecretPurpose).Protect("whsec_legacy");
        var legacyXml = File.ReadAllText(Assert.Single(legacyFolder.GetFiles("key-*.xml")).FullName);
        Assert.Contains("<masterKey", legacyXml, StringComparison.Ordinal);

        await using var app = await AppAsync(provider, KeyFile("keyring.key"));
        await app.WithServiceAsync(async sp =>
        {
            await sp.MigrateAsync();
            var db = sp.GetRequiredService<TandemDb>();
            db.DataProtectionKeys.Add(new DataProtectionKey { FriendlyName = "legacy", Xml = legacyXml });
            return await db.SaveChangesAsync();
        });

        var read = app.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector(WebhookDispatcher.SecretPurpose).Unprotect(secret);
        Assert.Equal("whsec_legacy", read);

        app.Services.GetRequiredService<IKeyManager>().CreateNewKey(DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(90));
        var rows = await KeyXmlAsync(app);
        Assert.True(rows.Count >= 2);
        // Only the legacy key is in clear; every key this version wrote is encrypted.
        Assert.Equal([legacyXml], rows.Where(x => x.Contains("<masterKey", StringComparison.Ordinal)));
        Assert.All(rows.Where(x => x != legacyXml), x => Assert.NotEmpty(XElement.Parse(x).Descendants(DataProtection + "encryptedSecret")));
    }

    [Fact]
    public async Task RotateSecretsRevokesOldKeysAndKeepsEverySecretReadable()
    {
        await using var app = await AppAsync(provider, KeyFile("keyring.key"));
        _ = app.Server;
        var protection = app.Services.GetRequiredService<IDataProtectionProvider>();
        var outbound = protection.CreateProtector(WebhookDispatcher.SecretPurpose);
        var settingsProtector = protection.CreateProtector(NotificationAdmin.SecretPurpose);
        var (endpointId, oldProtected) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var endpoint = new WebhookEndpoint { Url = "https://example.com/hook", Events = "lead.created", SecretProtected = outbound.Protect("whsec_one") };
            db.Add(endpoint);
            var settings = await db.Set<NotificationSettings>().FirstOrDefaultAsync();
            if (settings is null)
                db.Add(settings = new NotificationSettings());
            settings.SmtpPasswordProtected = settingsProtector.Protect("smtp-pass");
            await db.SaveChangesAsync();
            return (endpoint.Id, endpoint.SecretProtected);
        });
        var cookie = await SignedInCookieAsync(app, "admin@example.com");
        var keysBefore = app.Services.GetRequiredService<IKeyManager>().GetAllKeys().Select(k => k.KeyId).ToList();

        var output = new StringWriter();
        var error = new StringWriter();
        Assert.Equal(0, await AdminCli.RunAsync(app.Services, ["rotate-secrets"], output, error));
        Assert.Contains("Re-encrypted 1 outbound webhook secret", output.ToString(), StringComparison.Ordinal);

        var keys = app.Services.GetRequiredService<IKeyManager>().GetAllKeys();
        Assert.All(keys.Where(k => keysBefore.Contains(k.KeyId)), k => Assert.True(k.IsRevoked));
        Assert.Single(keys, k => !k.IsRevoked);
        var (newProtected, smtp) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return ((await db.Set<WebhookEndpoint>().SingleAsync(e => e.Id == endpointId)).SecretProtected,
                (await db.Set<NotificationSettings>().SingleAsync()).SmtpPasswordProtected);
        });
        Assert.NotEqual(oldProtected, newProtected);
        Assert.Equal("whsec_one", outbound.Unprotect(newProtected));
        Assert.Equal("smtp-pass", settingsProtector.Unprotect(smtp!));
        // A value protected with a revoked key is refused, so sessions from before the rotation end.
        Assert.ThrowsAny<CryptographicException>(() => outbound.Unprotect(oldProtected));
        Assert.Equal(HttpStatusCode.Unauthorized, await MeAsync(app, cookie));
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(sink);
        public void Dispose() { }

        private sealed class Logger(ConcurrentQueue<string> sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                    sink.Enqueue(formatter(state, exception));
            }
        }
    }
}

public sealed class KeyRingOnSqlite() : KeyRingTests(DatabaseProvider.Sqlite);

public sealed class KeyRingOnPostgres() : KeyRingTests(DatabaseProvider.Postgres);
