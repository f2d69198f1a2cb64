using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Tests.Infrastructure;

/// <summary>
/// The real Tandem app in-process over a real database: a fresh SQLite file, or a fresh database on the
/// PostgreSQL server started by ./test.sh (connection string in TANDEM_TEST_POSTGRES). Disposing drops it.
/// </summary>
public sealed partial class TandemApp : WebApplicationFactory<Program>
{
    public const string PostgresVariable = "TANDEM_TEST_POSTGRES";

    private readonly Dictionary<string, string?> _settings;
    private readonly string? _sqliteDirectory;
    private readonly string? _postgresDatabase;

    /// <summary>The API's JSON conventions (camelCase, enums as strings), for reading responses in tests.</summary>
    public static readonly System.Text.Json.JsonSerializerOptions ApiJson =
        new(System.Text.Json.JsonSerializerDefaults.Web) { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };

    public DatabaseProvider Provider { get; }

    /// <summary>Replaces services before the app starts (e.g. a FakeTimeProvider); set it before first use.</summary>
    public Action<IServiceCollection>? TestServices { get; set; }
    public string ConnectionString { get; }

    private TandemApp(DatabaseProvider provider, string connectionString, Dictionary<string, string?> settings, string? sqliteDirectory, string? postgresDatabase)
    {
        Provider = provider;
        ConnectionString = connectionString;
        _settings = settings;
        _sqliteDirectory = sqliteDirectory;
        _postgresDatabase = postgresDatabase;
    }

    /// <summary>Creates an empty database for <paramref name="provider"/> and an app over it (not started until first use).</summary>
    public static async Task<TandemApp> CreateAsync(DatabaseProvider provider, IDictionary<string, string?>? settings = null, bool createDatabase = true)
    {
        var all = new Dictionary<string, string?>
        {
            ["Tandem:RateLimits:AuthAttemptsPerMinute"] = "10000",
            ["Tandem:Auth:MaxFailedAccessAttempts"] = "5",
            // Tests that set up revenue settings insert the row themselves; the job's first pass would insert it too (its
            // baseline). WeeklyReportTests drive the sender directly.
            ["Tandem:WeeklyReport:RunJob"] = "false",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            all[k] = v;

        if (provider == DatabaseProvider.Sqlite)
        {
            var dir = Directory.CreateTempSubdirectory("tandem-test-").FullName;
            var cs = $"Data Source={Path.Combine(dir, "tandem.db")}";
            all["Tandem:Database:Provider"] = "Sqlite";
            all.TryAdd("ConnectionStrings:Tandem", cs);
            return new TandemApp(provider, all["ConnectionStrings:Tandem"]!, all, dir, null);
        }

        var server = PostgresServer();
        var name = $"tandem_t_{Guid.NewGuid():N}";
        if (createDatabase)
        {
            await using var conn = new NpgsqlConnection(server);
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", conn);
            await cmd.ExecuteNonQueryAsync();
        }
        var builder = new NpgsqlConnectionStringBuilder(server) { Database = name };
        all["Tandem:Database:Provider"] = "Postgres";
        all.TryAdd("ConnectionStrings:Tandem", builder.ConnectionString);
        return new TandemApp(provider, all["ConnectionStrings:Tandem"]!, all, null, createDatabase ? name : null);
    }

    public static string PostgresServer() =>
        Environment.GetEnvironmentVariable(PostgresVariable) is { Length: > 0 } cs
            ? cs
            : throw new InvalidOperationException(
                $"{PostgresVariable} is not set. Run the tests with ./test.sh, which starts a throwaway PostgreSQL server, " +
                $"or set {PostgresVariable}=\"Host=127.0.0.1;Port=5432;Username=postgres\" to a server you can create databases on.");

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (k, v) in _settings)
            builder.UseSetting(k, v);
        // TANDEM_TEST_LOGS=1 keeps the server's console log (errors behind a 500) when debugging a test.
        if (Environment.GetEnvironmentVariable("TANDEM_TEST_LOGS") != "1")
            builder.ConfigureLogging(l => l.ClearProviders().SetMinimumLevel(LogLevel.Warning));
        // Like a real socket from the same machine: the peer is loopback, so X-Forwarded-For from a test is believed (ReverseProxy.cs).
        builder.ConfigureTestServices(s => s.AddSingleton<Microsoft.AspNetCore.Hosting.IStartupFilter, LoopbackPeer>());
        if (TestServices is { } configure)
            builder.ConfigureTestServices(configure);
    }

    public HttpClient CreateBrowserClient() =>
        CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = true });

    /// <summary>A browser client whose requests arrive through the local proxy from <paramref name="address"/> (X-Forwarded-For).</summary>
    public HttpClient CreateBrowserClientFrom(string address)
    {
        var client = CreateBrowserClient();
        client.DefaultRequestHeaders.Add("X-Forwarded-For", address);
        return client;
    }

    public HttpClient CreateApiClient(string? key = null)
    {
        var client = CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false, HandleCookies = false });
        if (key is not null)
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public async Task<T> WithServiceAsync<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Services.CreateAsyncScope();
        return await action(scope.ServiceProvider);
    }

    /// <summary>Creates a user directly (as an admin would) and returns the password.</summary>
    public Task<(Guid Id, string Password)> CreateUserAsync(string email, string role, string? password = null) =>
        WithServiceAsync(async sp =>
        {
            var result = await sp.GetRequiredService<UserAdmin>().CreateAsync(email, null, [role], password, "test", null);
            Assert.True(result.Succeeded, string.Join("; ", result.Errors.SelectMany(e => e.Value)));
            if (role == Roles.Admin)
                sp.GetRequiredService<SetupState>().Done = true;
            return (result.Value.User.Id, password ?? result.Value.GeneratedPassword!);
        });

    public Task<string> CreateApiKeyAsync(params string[] scopes) =>
        WithServiceAsync(async sp => (await sp.GetRequiredService<ApiKeyService>().CreateAsync("test key", scopes, null, "test")).Key);

    /// <summary>Posts a static server-rendered Blazor form like a browser would (antiforgery token and handler name included).</summary>
    public static async Task<HttpResponseMessage> PostFormAsync(HttpClient client, string path, string handler, IDictionary<string, string> fields, string? tokenFrom = null)
    {
        var page = await client.GetAsync(tokenFrom ?? path);
        var html = await page.Content.ReadAsStringAsync();
        var token = AntiforgeryToken().Match(html);
        Assert.True(token.Success, $"No antiforgery token on {path} (status {(int)page.StatusCode}).");
        var form = new Dictionary<string, string>(fields)
        {
            ["_handler"] = handler,
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token.Groups[1].Value),
        };
        return await client.PostAsync(path, new FormUrlEncodedContent(form));
    }

    /// <summary>Signs a browser client in through the real /login form; asserts it worked.</summary>
    public static async Task SignInAsync(HttpClient client, string email, string password)
    {
        var response = await TrySignInAsync(client, email, password);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect,
            $"Sign-in of {email} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The path of a redirect's Location, whether the server wrote it absolute or relative.</summary>
    public static string? RedirectPath(HttpResponseMessage response) =>
        response.Headers.Location is not { } location ? null
            : location.IsAbsoluteUri ? location.PathAndQuery : location.OriginalString;

    public static Task<HttpResponseMessage> TrySignInAsync(HttpClient client, string email, string password) =>
        PostFormAsync(client, "/login", "login", new Dictionary<string, string> { ["Input.Email"] = email, ["Input.Password"] = password });

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_sqliteDirectory is not null)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(_sqliteDirectory, recursive: true); } catch (IOException) { }
        }
        if (_postgresDatabase is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await using var conn = new NpgsqlConnection(PostgresServer());
            await conn.OpenAsync();
            await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_postgresDatabase} WITH (FORCE)", conn);
            await cmd.ExecuteNonQueryAsync();
        }
    }

    private sealed class LoopbackPeer : Microsoft.AspNetCore.Hosting.IStartupFilter
    {
        public Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> Configure(Action<Microsoft.AspNetCore.Builder.IApplicationBuilder> next) => app =>
        {
            app.Use((ctx, nextMiddleware) =>
            {
                ctx.Connection.RemoteIpAddress ??= IPAddress.Loopback;
                return nextMiddleware(ctx);
            });
            next(app);
        };
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryToken();
}
