using System.Net;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>First-run setup, sign-in, lockout and deactivation, through the real forms, on both databases.</summary>
public abstract class SetupAndSignInTests(DatabaseProvider provider)
{
    private static Dictionary<string, string> SetupForm(string email, string password = "Correct-horse-9", string? confirm = null) => new()
    {
        ["Input.DisplayName"] = "Ada Admin",
        ["Input.Email"] = email,
        ["Input.Password"] = password,
        ["Input.ConfirmPassword"] = confirm ?? password,
    };

    [Fact]
    public async Task MigrationsApplyToAnEmptyDatabase()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        _ = app.Server;
        var (applied, pending, all) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return ((await db.Database.GetAppliedMigrationsAsync()).ToList(), (await db.Database.GetPendingMigrationsAsync()).ToList(), db.Database.GetMigrations().ToList());
        });
        Assert.Empty(pending);
        Assert.NotEmpty(all);
        Assert.Equal(all, applied);
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.CountAsync()));
    }

    [Fact]
    public async Task FreshInstallRedirectsEveryPageToSetup()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateBrowserClient();
        foreach (var path in new[] { "/", "/leads", "/login", "/settings/users" })
        {
            var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
            Assert.Equal("/setup", TandemApp.RedirectPath(response));
        }
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/setup", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task SetupCreatesTheFirstAdminAndSignsThemIn()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateBrowserClient();

        var response = await TandemApp.PostFormAsync(client, "/setup", "setup", SetupForm("ada@example.com"));

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", TandemApp.RedirectPath(response));
        var (isAdmin, installation) = await app.WithServiceAsync(async sp =>
        {
            var users = sp.GetRequiredService<UserManager<AppUser>>();
            var user = await users.FindByEmailAsync("ada@example.com");
            Assert.NotNull(user);
            var db = sp.GetRequiredService<TandemDb>();
            return (await users.IsInRoleAsync(user, Roles.Admin), await db.Installations.SingleAsync());
        });
        Assert.True(isAdmin);
        Assert.NotEqual(Guid.Empty, installation.FirstAdminId);
        // The cookie set by setup signs the admin in: the dashboard renders instead of redirecting.
        var home = await client.GetAsync("/", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, home.StatusCode);
    }

    [Fact]
    public async Task SecondSetupIsRefusedAndCreatesNoUser()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var first = app.CreateBrowserClient();
        Assert.Equal(HttpStatusCode.Redirect, (await TandemApp.PostFormAsync(first, "/setup", "setup", SetupForm("ada@example.com"))).StatusCode);

        var attacker = app.CreateBrowserClient();
        var page = await attacker.GetStringAsync("/setup", TestContext.Current.CancellationToken);
        Assert.Contains("already set up", page, StringComparison.OrdinalIgnoreCase);
        // The form is gone, but a crafted post (token taken from the sign-in page) must be refused too.
        var response = await TandemApp.PostFormAsync(attacker, "/setup", "setup", SetupForm("mallory@example.com"), tokenFrom: "/login");
        Assert.NotEqual(HttpStatusCode.Redirect, response.StatusCode);

        var emails = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.Select(u => u.Email).ToListAsync());
        Assert.Equal(["ada@example.com"], emails);
    }

    [Fact]
    public async Task SetupWithBadInputShowsInlineErrorsAndCreatesNothing()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateBrowserClient();

        var mismatch = await TandemApp.PostFormAsync(client, "/setup", "setup", SetupForm("ada@example.com", "Correct-horse-9", "Other-horse-9"));
        Assert.Equal(HttpStatusCode.OK, mismatch.StatusCode);
        Assert.Contains("do not match", await mismatch.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        var badEmail = await TandemApp.PostFormAsync(client, "/setup", "setup", SetupForm("not-an-email"));
        Assert.Contains("valid email", await badEmail.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        // Long enough for the form but rejected by the password policy (no digit): the Identity error is shown inline.
        var weak = await TandemApp.PostFormAsync(client, "/setup", "setup", SetupForm("ada@example.com", "aaaaaaaaaaaa"));
        Assert.Contains("field-error", await weak.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);

        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.CountAsync()));
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Installations.CountAsync()));

        // Nothing half-written blocks a correct second attempt.
        var ok = await TandemApp.PostFormAsync(client, "/setup", "setup", SetupForm("ada@example.com"));
        Assert.Equal(HttpStatusCode.Redirect, ok.StatusCode);
    }

    [Fact]
    public async Task FrenchSetupPageShowsFrenchValidationMessages()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateBrowserClient();
        client.DefaultRequestHeaders.Add("Cookie", ".AspNetCore.Culture=c%3Dfr%7Cuic%3Dfr");
        var page = await client.GetStringAsync("/setup", TestContext.Current.CancellationToken);
        Assert.Contains("Configurer Tandem", page, StringComparison.Ordinal);
        var response = await TandemApp.PostFormAsync(client, "/setup", "setup", SetupForm("ada@example.com", "Correct-horse-9", "Other-horse-9"));
        Assert.Contains("Les mots de passe ne correspondent pas.", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignInWithTheRightPasswordOpensTheApp()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (_, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var client = app.CreateBrowserClient();

        Assert.Equal(HttpStatusCode.Redirect, (await client.GetAsync("/", TestContext.Current.CancellationToken)).StatusCode);
        await TandemApp.SignInAsync(client, "admin@example.com", password);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task RepeatedFailuresSlowThatClientDownWithoutLockingTheAccount()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (id, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var client = app.CreateBrowserClient();

        for (var i = 0; i < 5; i++)
        {
            var failed = await TandemApp.TrySignInAsync(client, "admin@example.com", "wrong-password-1");
            Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
            Assert.Contains("data-testid=\"login-error\"", await failed.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
        // The sixth failure asks this client to wait (1 s, then 2 s, 4 s …); even the right password waits its turn.
        var sixth = await TandemApp.TrySignInAsync(client, "admin@example.com", "wrong-password-1");
        Assert.Equal(HttpStatusCode.TooManyRequests, sixth.StatusCode);
        Assert.NotNull(sixth.Headers.RetryAfter);
        Assert.Contains("wait", await sixth.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await TandemApp.TrySignInAsync(client, "admin@example.com", password)).StatusCode);

        await Task.Delay(TimeSpan.FromSeconds(1.2), TestContext.Current.CancellationToken);
        await TandemApp.SignInAsync(client, "admin@example.com", password);
        // No hard lock is written on the account.
        var lockoutEnd = await app.WithServiceAsync(async sp => (await sp.GetRequiredService<UserManager<AppUser>>().FindByIdAsync(id.ToString()))!.LockoutEnd);
        Assert.Null(lockoutEnd);
    }

    [Fact]
    public async Task DeactivatedUserCannotSignInAndIsNotToldWhy()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (repId, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var result = await app.WithServiceAsync(sp => sp.GetRequiredService<UserAdmin>().SetActiveAsync(repId, false, "test", null));
        Assert.True(result.Succeeded);

        var response = await TandemApp.TrySignInAsync(app.CreateBrowserClient(), "rep@example.com", password);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("data-testid=\"login-error\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("deactivated", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task TheLastActiveAdminCannotBeDeactivatedOrDemoted()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (adminId, _) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var deactivate = await app.WithServiceAsync(sp => sp.GetRequiredService<UserAdmin>().SetActiveAsync(adminId, false, "test", null));
        Assert.False(deactivate.Succeeded);
        var demote = await app.WithServiceAsync(sp => sp.GetRequiredService<UserAdmin>().SetRolesAsync(adminId, [Roles.Sales], "test", null));
        Assert.False(demote.Succeeded);
    }

    [Fact]
    public async Task SignInFormIsRateLimitedPerClient()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:RateLimits:AuthAttemptsPerMinute"] = "3" });
        await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var client = app.CreateBrowserClient();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 4; i++)
            last = await TandemApp.TrySignInAsync(client, "admin@example.com", "wrong-password-1");

        Assert.Equal(HttpStatusCode.TooManyRequests, last!.StatusCode);
        Assert.True(last.Headers.RetryAfter is not null);
        Assert.Equal("application/problem+json", last.Content.Headers.ContentType?.MediaType);
    }
}

public sealed class SetupAndSignInOnSqlite() : SetupAndSignInTests(DatabaseProvider.Sqlite);

public sealed class SetupAndSignInOnPostgres() : SetupAndSignInTests(DatabaseProvider.Postgres);
