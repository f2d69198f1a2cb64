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
    public async Task BadCommandsExitNonZeroWithAMessage(string[] args, int expected)
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (code, output, error) = await RunAsync(app, args);
        Assert.Equal(expected, code);
        Assert.Contains("error:", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Password", output, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"Key \(shown once, store it now\): (\S+)")]
    private static partial Regex KeyLine();

    [GeneratedRegex(@"Password \(shown once, store it now\): (\S+)")]
    private static partial Regex PasswordLine();
}

public sealed class AdminCliOnSqlite() : AdminCliTests(DatabaseProvider.Sqlite);

public sealed class AdminCliOnPostgres() : AdminCliTests(DatabaseProvider.Postgres);
