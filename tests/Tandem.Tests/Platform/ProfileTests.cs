using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>My profile (issue #18): name, language (which then decides the pages' language), time zone, password change.</summary>
public abstract class ProfileTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AUserChangesTheirNameLanguageAndTimeZoneAndBadValuesAreFieldErrorsWithNothingWritten()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (id, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "rep@example.com", password);

        var mine = await browser.GetFromJsonAsync<ProfileDto>("/api/v1/me/profile", TandemApp.ApiJson, Ct);
        Assert.Equal((id, "rep@example.com", (string?)null, "UTC"), (mine!.Id, mine.Email, mine.Language, mine.TimeZone));
        Assert.Equal([Roles.Sales], mine.Roles);

        // Pages follow the browser until a language is chosen.
        Assert.Contains("My profile", await browser.GetStringAsync("/account/profile", Ct), StringComparison.Ordinal);

        var saved = await browser.PutAsJsonAsync("/api/v1/me/profile", new { displayName = "  Julie Bernard ", language = "fr", timeZone = "Europe/Paris" }, Ct);
        Assert.True(saved.StatusCode == HttpStatusCode.OK, await saved.Content.ReadAsStringAsync(Ct));
        var dto = await saved.Content.ReadFromJsonAsync<ProfileDto>(TandemApp.ApiJson, Ct);
        Assert.Equal(("Julie Bernard", "fr", "Europe/Paris"), (dto!.DisplayName, dto.Language, dto.TimeZone));
        // The user's language now wins over the browser's (no culture cookie was set).
        Assert.Contains("Mon profil", await browser.GetStringAsync("/account/profile", Ct), StringComparison.Ordinal);

        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { language = "de" }, "language"),
            (new { timeZone = "Mars/Olympus" }, "timeZone"),
            (new { timeZone = "" }, "timeZone"),
            (new { displayName = "" }, "displayName"),
            (new { displayName = "a\0b" }, "displayName"),
            (new { displayName = new string('x', 201) }, "displayName"),
            (new { displayName = "Ok", language = "xx" }, "language"),
        })
        {
            var refused = await browser.PutAsJsonAsync("/api/v1/me/profile", body, Ct);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{field}: {refused.StatusCode} {await refused.Content.ReadAsStringAsync(Ct)}");
            var problem = await refused.Content.ReadFromJsonAsync<ValidationProblemDetails>(Ct);
            Assert.True(problem!.Errors.ContainsKey(field), $"{field} expected in {string.Join(", ", problem.Errors.Keys)}");
        }
        var unchanged = await browser.GetFromJsonAsync<ProfileDto>("/api/v1/me/profile", TandemApp.ApiJson, Ct);
        Assert.Equal(("Julie Bernard", "fr", "Europe/Paris"), (unchanged!.DisplayName, unchanged.Language, unchanged.TimeZone));

        // Back to following the browser.
        var reset = await browser.PutAsJsonAsync("/api/v1/me/profile", new { language = "" }, Ct);
        Assert.Null((await reset.Content.ReadFromJsonAsync<ProfileDto>(TandemApp.ApiJson, Ct))!.Language);
        Assert.Contains("My profile", await browser.GetStringAsync("/account/profile", Ct), StringComparison.Ordinal);

        // The app bar's language menu stores the choice on the account too.
        var switched = await browser.GetAsync("/culture?c=fr&returnUrl=%2F", Ct);
        Assert.Equal(HttpStatusCode.Redirect, switched.StatusCode);
        Assert.Equal("fr", await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.Where(u => u.Id == id).Select(u => u.Language).SingleAsync(Ct)));

        // An API key has no account.
        var key = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        Assert.Equal(HttpStatusCode.BadRequest, (await key.GetAsync("/api/v1/me/profile", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateApiClient().GetAsync("/api/v1/me/profile", Ct)).StatusCode);
    }

    [Fact]
    public async Task APasswordChangeNeedsTheCurrentPasswordAndThenOnlyTheNewOneSignsIn()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var (_, password) = await app.CreateUserAsync("marketer@example.com", Roles.Marketing);
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "marketer@example.com", password);

        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { currentPassword = "wrong-Password-1", newPassword = "Another-Password-2" }, "currentPassword"),
            (new { currentPassword = "", newPassword = "Another-Password-2" }, "currentPassword"),
            (new { currentPassword = password, newPassword = "" }, "newPassword"),
            (new { currentPassword = password, newPassword = "short" }, "newPassword"),
            (new { currentPassword = password, newPassword = "Nul\0-Password-2" }, "newPassword"),
        })
        {
            var refused = await browser.PostAsJsonAsync("/api/v1/me/password", body, Ct);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{field}: {refused.StatusCode} {await refused.Content.ReadAsStringAsync(Ct)}");
            var problem = await refused.Content.ReadFromJsonAsync<ValidationProblemDetails>(Ct);
            Assert.True(problem!.Errors.ContainsKey(field), $"{field} expected in {string.Join(", ", problem.Errors.Keys)}");
        }

        var changed = await browser.PostAsJsonAsync("/api/v1/me/password", new { currentPassword = password, newPassword = "Another-Password-2" }, Ct);
        Assert.Equal(HttpStatusCode.NoContent, changed.StatusCode);
        // This session was re-issued and goes on.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/v1/me/profile", Ct)).StatusCode);

        Assert.NotEqual(HttpStatusCode.Redirect, (await TandemApp.TrySignInAsync(app.CreateBrowserClient(), "marketer@example.com", password)).StatusCode);
        await TandemApp.SignInAsync(app.CreateBrowserClient(), "marketer@example.com", "Another-Password-2");
    }
}

public sealed class ProfileOnSqlite() : ProfileTests(DatabaseProvider.Sqlite);

public sealed class ProfileOnPostgres() : ProfileTests(DatabaseProvider.Postgres);
