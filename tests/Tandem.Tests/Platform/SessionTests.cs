using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>Sessions that really end, one answer for every failed sign-in, and throttling an outsider cannot turn against a user.</summary>
public abstract class SessionTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Signs in through the real form and returns the auth cookie as the browser received it.</summary>
    private static async Task<(HttpClient Client, string Cookie)> SignInAsync(TandemApp app, string email, string password, string? from = null)
    {
        var client = from is null ? app.CreateBrowserClient() : app.CreateBrowserClientFrom(from);
        var response = await TandemApp.TrySignInAsync(client, email, password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("tandem.auth=", StringComparison.Ordinal));
        return (client, cookie[..cookie.IndexOf(';', StringComparison.Ordinal)]);
    }

    private static HttpClient Replay(TandemApp app, string cookie)
    {
        var client = app.CreateApiClient();
        client.DefaultRequestHeaders.Add("Cookie", cookie);
        return client;
    }

    private static Task<HttpResponseMessage> LogoutAsync(HttpClient client) =>
        TandemApp.PostFormAsync(client, "/logout", "logout", new Dictionary<string, string>(), tokenFrom: "/");

    [Fact]
    public async Task ACookieCopiedBeforeLogoutStopsWorkingAtOnce()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (_, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (client, cookie) = await SignInAsync(app, "admin@example.com", password);
        var replay = Replay(app, cookie);
        Assert.Equal(HttpStatusCode.OK, (await replay.GetAsync("/api/v1/me", Ct)).StatusCode);

        var logout = await LogoutAsync(client);
        Assert.Equal(HttpStatusCode.Redirect, logout.StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await replay.GetAsync("/api/v1/me", Ct)).StatusCode);
        var page = await replay.GetAsync("/leads", Ct);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/login", TandemApp.RedirectPath(page), StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogoutOnOneDeviceLeavesTheOthersSignedIn()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (_, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (laptop, _) = await SignInAsync(app, "admin@example.com", password);
        var (_, phoneCookie) = await SignInAsync(app, "admin@example.com", password);

        Assert.Equal(HttpStatusCode.Redirect, (await LogoutAsync(laptop)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await Replay(app, phoneCookie).GetAsync("/api/v1/me", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, (await laptop.GetAsync("/leads", Ct)).StatusCode);
    }

    [Fact]
    public async Task DeactivationEndsEverySessionOfTheUserOnTheNextRequest()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (adminId, _) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (repId, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var (_, first) = await SignInAsync(app, "rep@example.com", password);
        var (_, second) = await SignInAsync(app, "rep@example.com", password);
        foreach (var cookie in new[] { first, second })
            Assert.Equal(HttpStatusCode.OK, (await Replay(app, cookie).GetAsync("/api/v1/me", Ct)).StatusCode);

        var result = await app.WithServiceAsync(sp => sp.GetRequiredService<UserAdmin>().SetActiveAsync(repId, false, "admin", adminId));
        Assert.True(result.Succeeded);

        foreach (var cookie in new[] { first, second })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await Replay(app, cookie).GetAsync("/api/v1/me", Ct)).StatusCode);
            Assert.Equal(HttpStatusCode.Redirect, (await Replay(app, cookie).GetAsync("/", Ct)).StatusCode);
        }
        // Reactivated, the user signs in again; the old cookies stay dead.
        await app.WithServiceAsync(sp => sp.GetRequiredService<UserAdmin>().SetActiveAsync(repId, true, "admin", adminId));
        Assert.Equal(HttpStatusCode.Unauthorized, (await Replay(app, first).GetAsync("/api/v1/me", Ct)).StatusCode);
        await SignInAsync(app, "rep@example.com", password);
    }

    [Fact]
    public async Task TheSessionCheckDoesNotAskTheDatabaseOnEveryRequest()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:Auth:CheckCacheSeconds"] = "30" });
        var (_, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (_, cookie) = await SignInAsync(app, "admin@example.com", password);
        var guard = app.Services.GetRequiredService<SessionGuard>();
        var replay = Replay(app, cookie);

        var before = guard.Queries;
        for (var i = 0; i < 20; i++)
            Assert.Equal(HttpStatusCode.OK, (await replay.GetAsync("/api/v1/me", Ct)).StatusCode);
        Assert.InRange(guard.Queries - before, 1, 1);
    }

    [Fact]
    public async Task EveryFailedSignInGetsTheSameAnswer()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (adminId, _) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (repId, repPassword) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        await app.WithServiceAsync(sp => sp.GetRequiredService<UserAdmin>().SetActiveAsync(repId, false, "admin", adminId));

        async Task<string> ErrorFor(string email, string password, string from)
        {
            var response = await TandemApp.TrySignInAsync(app.CreateBrowserClientFrom(from), email, password);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var html = await response.Content.ReadAsStringAsync(Ct);
            var start = html.IndexOf("data-testid=\"login-error\">", StringComparison.Ordinal);
            Assert.True(start >= 0, "no error shown");
            return html[start..html.IndexOf("</div>", start, StringComparison.Ordinal)];
        }

        var wrongPassword = await ErrorFor("admin@example.com", "wrong-password-1", "192.0.2.1");
        var unknown = await ErrorFor("nobody@example.com", "wrong-password-1", "192.0.2.2");
        var deactivatedRight = await ErrorFor("rep@example.com", repPassword, "192.0.2.3");
        var deactivatedWrong = await ErrorFor("rep@example.com", "wrong-password-1", "192.0.2.4");
        Assert.Equal(wrongPassword, unknown);
        Assert.Equal(wrongPassword, deactivatedRight);
        Assert.Equal(wrongPassword, deactivatedWrong);
    }

    [Fact]
    public async Task AnAttackerHammeringFromOneAddressIsThrottledWhileTheOwnerSignsInFromAnother()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:RateLimits:AuthAttemptsPerMinute"] = "10" });
        var (_, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var attacker = app.CreateBrowserClientFrom("203.0.113.7");

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? last = null;
        for (var i = 0; i < 25; i++)
        {
            last = await TandemApp.TrySignInAsync(attacker, "admin@example.com", $"guess-number-{i}");
            statuses.Add(last.StatusCode);
        }
        // The attacker's address is slowed by the account backoff, then cut off by the per-address limit.
        Assert.Equal(HttpStatusCode.TooManyRequests, last!.StatusCode);
        Assert.NotNull(last.Headers.RetryAfter);
        Assert.Equal("application/problem+json", last.Content.Headers.ContentType?.MediaType);
        Assert.True(statuses.Count(s => s == HttpStatusCode.TooManyRequests) >= 15);

        // The owner, elsewhere, signs in at once with the right password.
        var (owner, _) = await SignInAsync(app, "admin@example.com", password, from: "198.51.100.20");
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/", Ct)).StatusCode);
        // And the attacker's address gets nowhere even with the right password.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await TandemApp.TrySignInAsync(attacker, "admin@example.com", password)).StatusCode);
    }

    [Fact]
    public async Task ABrowserCutOffByTheAddressLimitReadsASentence()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:RateLimits:AuthAttemptsPerMinute"] = "2" });
        await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var browser = app.CreateBrowserClientFrom("203.0.113.8");
        browser.DefaultRequestHeaders.Add("Accept", "text/html,application/xhtml+xml");
        HttpResponseMessage? last = null;
        for (var i = 0; i < 3; i++)
            last = await TandemApp.TrySignInAsync(browser, "admin@example.com", "wrong-password-1");

        Assert.Equal(HttpStatusCode.TooManyRequests, last!.StatusCode);
        Assert.NotNull(last.Headers.RetryAfter);
        Assert.Equal("text/html", last.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Too many failed sign-ins", await last.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }
}

public sealed class SessionsOnSqlite() : SessionTests(DatabaseProvider.Sqlite);

public sealed class SessionsOnPostgres() : SessionTests(DatabaseProvider.Postgres);
