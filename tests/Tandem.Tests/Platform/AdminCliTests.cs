using System.Net;
using System.Text.RegularExpressions;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>The operator CLI (<c>admin ...</c>) against a real database.</summary>
public abstract partial class AdminCliTests(DatabaseProvider provider)
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(TandemApp app, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var code = await AdminCli.RunAsync(app.Services, args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task CreateApiKeyPrintsAKeyThatAuthenticates()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (code, output, _) = await RunAsync(app, "create-api-key", "--name", "ci", "--scopes", "ingest,read");
        Assert.Equal(0, code);
        var key = KeyLine().Match(output).Groups[1].Value;
        Assert.StartsWith("tdm_", key, StringComparison.Ordinal);

        var response = await app.CreateApiClient(key).GetAsync("/api/v1/me", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task CreateUserPrintsAPasswordThatSignsIn()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (code, output, _) = await RunAsync(app, "create-user", "--email", "ops@example.com", "--role", "Admin");
        Assert.Equal(0, code);
        var password = PasswordLine().Match(output).Groups[1].Value;
        Assert.True(password.Length >= 16);

        await TandemApp.SignInAsync(app.CreateBrowserClient(), "ops@example.com", password);
    }

    [Fact]
    public async Task MigrateSucceedsOnAnUpToDateDatabase()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (code, output, _) = await RunAsync(app, "migrate");
        Assert.Equal(0, code);
        Assert.Contains("up to date", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, 2)]
    [InlineData(new string[0], 2)]
    [InlineData(new[] { "create-user", "--email", "x@example.com" }, 2)]
    [InlineData(new[] { "create-user", "--email", "x@example.com", "--role", "Pilot" }, 1)]
    [InlineData(new[] { "create-user", "--email", "not-an-email", "--role", "Sales" }, 1)]
    [InlineData(new[] { "create-api-key", "--name", "x", "--scopes", "write" }, 2)]
    [InlineData(new[] { "create-api-key", "--scopes", "read" }, 2)]
    [InlineData(new[] { "create-api-key", "--name" }, 2)]
    [InlineData(new[] { "reset-password" }, 2)]
    [InlineData(new[] { "reset-password", "--email", "nobody@example.com" }, 1)]
    [InlineData(new[] { "backup" }, 2)]
    public async Task BadCommandsExitNonZeroWithAMessage(string[] args, int expected)
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (code, output, error) = await RunAsync(app, args);
        Assert.Equal(expected, code);
        Assert.Contains("error:", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResetPasswordPrintsANewPasswordThatSignsInAndTheOldOneNoLonger()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (_, oldPassword) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var (code, output, _) = await RunAsync(app, "reset-password", "--email", "rep@example.com");
        Assert.Equal(0, code);
        var password = NewPasswordLine().Match(output).Groups[1].Value;
        Assert.True(password.Length >= 16);
        Assert.NotEqual(oldPassword, password);

        await TandemApp.SignInAsync(app.CreateBrowserClient(), "rep@example.com", password);
        var refused = await TandemApp.TrySignInAsync(app.CreateBrowserClient(), "rep@example.com", oldPassword);
        Assert.NotEqual(HttpStatusCode.Redirect, refused.StatusCode);
    }

    [Fact]
    public async Task BackupWritesAConsistentCopyOfASqliteDatabaseAndPointsPostgresToPgDump()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        await app.CreateUserAsync("kept@example.com", Roles.Marketing);
        var target = Path.Combine(Path.GetTempPath(), $"tandem-backup-{Guid.NewGuid():N}", "copy.db");
        var (code, output, error) = await RunAsync(app, "backup", "--to", target);
        if (provider == DatabaseProvider.Postgres)
        {
            Assert.Equal(2, code);
            Assert.Contains("pg_dump", error, StringComparison.Ordinal);
            return;
        }
        Assert.True(code == 0, error);
        Assert.Contains("Backed up", output, StringComparison.Ordinal);
        // The restore test: the copy opens as a Tandem database holding the same users and tables.
        await using (var copy = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={target};Pooling=False"))
        {
            await copy.OpenAsync(TestContext.Current.CancellationToken);
            await using var users = copy.CreateCommand();
            users.CommandText = "SELECT COUNT(*) FROM AspNetUsers WHERE Email = 'kept@example.com'";
            Assert.Equal(1L, (long)(await users.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
            await using var migrations = copy.CreateCommand();
            migrations.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('Leads', 'Activities', 'Campaigns')";
            Assert.Equal(3L, (long)(await migrations.ExecuteScalarAsync(TestContext.Current.CancellationToken))!);
        }
        // Never overwrites an existing file.
        var (again, _, refused) = await RunAsync(app, "backup", "--to", target);
        Assert.Equal(2, again);
        Assert.Contains("already exists", refused, StringComparison.Ordinal);
        Directory.Delete(Path.GetDirectoryName(target)!, recursive: true);
    }

    [GeneratedRegex(@"Key \(shown once, store it now\): (\S+)")]
    private static partial Regex KeyLine();

    [GeneratedRegex(@"Password \(shown once, store it now\): (\S+)")]
    private static partial Regex PasswordLine();

    [GeneratedRegex(@"New password for \S+ \(shown once, store it now\): (\S+)")]
    private static partial Regex NewPasswordLine();
}

public sealed class AdminCliOnSqlite() : AdminCliTests(DatabaseProvider.Sqlite);

public sealed class AdminCliOnPostgres() : AdminCliTests(DatabaseProvider.Postgres);
