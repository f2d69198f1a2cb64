using System.Collections.Concurrent;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Localization;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;

namespace Tandem.Features.Platform;

/// <summary>What <c>GET /api/v1/me/profile</c> answers: my own account.</summary>
public sealed record ProfileDto(Guid Id, string Email, string DisplayName, string? Language, string TimeZone, IReadOnlyList<string> Roles);

/// <summary>What <c>PUT /api/v1/me/profile</c> takes; fields left out keep theirs. Language "" follows the browser.</summary>
public sealed record ProfileInput(string? DisplayName, string? Language, string? TimeZone);

public sealed record PasswordChangeInput(string? CurrentPassword, string? NewPassword);

/// <summary>
/// My own account (issue #18): display name, language (en, fr, or none = the browser's), time zone (IANA id; used for my working
/// hours, my digest and my dates), and a password change that needs the current password. Decision 021d.
/// </summary>
public sealed class ProfileService(TandemDb db, UserManager<AppUser> users, UserLanguages languages)
{
    public static readonly string[] Languages = ["en", "fr"];
    public const int MaxDisplayName = 200;

    public async Task<ProfileDto?> GetAsync(Guid userId, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId && u.IsActive, ct);
        if (user is null)
            return null;
        var roles = await (from ur in db.UserRoles join r in db.Roles on ur.RoleId equals r.Id where ur.UserId == userId select r.Name!).ToListAsync(ct);
        return new ProfileDto(user.Id, user.Email ?? "", user.DisplayName, string.IsNullOrEmpty(user.Language) ? null : user.Language, user.TimeZone,
            [.. roles.Order(StringComparer.Ordinal)]);
    }

    public static FieldErrors Validate(ProfileInput input)
    {
        var errors = new FieldErrors();
        if (input.DisplayName is { } name)
        {
            if (!SafeText.IsStorable(name))
                errors.Add("displayName", "Contains a NUL character or an unpaired surrogate.");
            else if (name.Trim().Length == 0)
                errors.Add("displayName", "Required: the name others see on leads, notes and notifications.");
            else if (name.Trim().Length > MaxDisplayName)
                errors.Add("displayName", $"At most {MaxDisplayName} characters.");
        }
        if (input.Language is { Length: > 0 } language && !Languages.Contains(language, StringComparer.Ordinal))
            errors.Add("language", "One of: en, fr (or empty to follow the browser).");
        if (input.TimeZone is { } zone && (zone.Length is 0 or > 64 || !SafeText.IsStorable(zone) || !TimeZoneInfo.TryFindSystemTimeZoneById(zone, out _)))
            errors.Add("timeZone", "An IANA time zone id, e.g. Europe/Paris or America/New_York.");
        return errors;
    }

    public async Task<(ProfileDto? Saved, FieldErrors? Errors)> SaveAsync(Guid userId, ProfileInput input, CancellationToken ct)
    {
        var errors = Validate(input);
        if (errors.Any)
            return (null, errors);
        var user = await db.Users.FirstOrDefaultAsync(u => u.Id == userId && u.IsActive, ct);
        if (user is null)
            return (null, null);
        if (input.DisplayName is { } name)
            user.DisplayName = name.Trim();
        if (input.Language is { } language)
            user.Language = language.Length == 0 ? null : language;
        if (input.TimeZone is { } zone)
        {
            // Stored as the canonical id the system knows (a Windows id given on Linux becomes its IANA id).
            TimeZoneInfo.TryConvertWindowsIdToIanaId(zone, out var iana);
            user.TimeZone = iana ?? zone;
        }
        await db.SaveChangesAsync(ct);
        languages.Forget(userId);
        return (await GetAsync(userId, ct), null);
    }

    public async Task<FieldErrors?> ChangePasswordAsync(Guid userId, PasswordChangeInput input, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(input.CurrentPassword))
            errors.Add("currentPassword", "Required.");
        if (string.IsNullOrEmpty(input.NewPassword))
            errors.Add("newPassword", "Required.");
        else if (!SafeText.IsStorable(input.NewPassword))
            errors.Add("newPassword", "Contains a NUL character or an unpaired surrogate.");
        if (errors.Any)
            return errors;
        var user = await users.FindByIdAsync(userId.ToString());
        if (user is null || !user.IsActive)
            return null;
        var result = await users.ChangePasswordAsync(user, input.CurrentPassword!, input.NewPassword!);
        if (result.Succeeded)
            return errors;
        foreach (var e in result.Errors)
            errors.Add(e.Code == "PasswordMismatch" ? "currentPassword" : "newPassword", e.Code == "PasswordMismatch" ? "The current password is not right." : e.Description);
        return errors;
    }

    public static IEnumerable<string> TimeZones() =>
        TimeZoneInfo.GetSystemTimeZones().Select(z => z.Id).Where(id => id.Contains('/', StringComparison.Ordinal) || id == "UTC").Order(StringComparer.Ordinal);
}

/// <summary>Each signed-in user's chosen language, cached for a minute (the request culture is decided on every request).</summary>
public sealed class UserLanguages(IServiceScopeFactory scopes, TimeProvider clock)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<Guid, (string? Language, DateTimeOffset Until)> _cache = new();

    public async Task<string?> GetAsync(Guid userId)
    {
        var now = clock.GetUtcNow();
        if (_cache.TryGetValue(userId, out var hit) && hit.Until > now)
            return hit.Language;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var language = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.Language).FirstOrDefaultAsync();
        _cache[userId] = (language, now + Ttl);
        return language;
    }

    public void Forget(Guid userId) => _cache.TryRemove(userId, out _);

    /// <summary>Stores a signed-in user's choice from the app bar's language menu.</summary>
    public async Task SetAsync(Guid userId, string language)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        await db.Users.Where(u => u.Id == userId).ExecuteUpdateAsync(s => s.SetProperty(u => u.Language, language));
        Forget(userId);
    }
}

/// <summary>The signed-in user's language wins over the cookie and the browser's languages.</summary>
public sealed class UserLanguageCultureProvider : RequestCultureProvider
{
    public override async Task<ProviderCultureResult?> DetermineProviderCultureResult(HttpContext httpContext)
    {
        if (httpContext.User.Identity?.IsAuthenticated != true || httpContext.User.Identity.AuthenticationType == AuthSchemes.ApiKey
            || !Guid.TryParse(httpContext.User.FindFirstValue(ClaimTypes.NameIdentifier), out var id))
            return null;
        var language = await httpContext.RequestServices.GetRequiredService<UserLanguages>().GetAsync(id);
        return string.IsNullOrEmpty(language) ? null : new ProviderCultureResult(language);
    }
}

public static class ProfileApi
{
    public static IServiceCollection AddProfiles(this IServiceCollection services)
    {
        services.AddScoped<ProfileService>();
        services.AddSingleton<UserLanguages>();
        return services;
    }

    public static RouteGroupBuilder MapProfileApi(this RouteGroupBuilder api)
    {
        var me = api.MapGroup("/me").RequireAuthorization(Policies.ScopeRead).WithTags("My account");
        me.MapGet("/profile", GetAsync).WithName("getMyProfile")
            .WithSummary("My account: email, display name, language (en, fr, or null to follow the browser), time zone (IANA id) and roles.");
        me.MapPut("/profile", SaveAsync).WithName("updateMyProfile")
            .WithSummary("Change my display name, language (\"\" to follow the browser) or time zone; fields left out keep theirs. Bad values are field errors.");
        me.MapPost("/password", ChangePasswordAsync).WithName("changeMyPassword")
            .WithSummary("Change my password: the current one is required; a wrong one or a new one the policy refuses is a field error. 204 when changed.");
        return api;
    }

    private static Guid? Me(ClaimsPrincipal who) =>
        who.Identity?.AuthenticationType == AuthSchemes.ApiKey ? null : PlatformApi.Actor(who).ActorId;

    private static ProblemHttpResult NoAccount() =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No account",
            detail: "A profile belongs to a signed-in user; an API key has none.");

    private static async Task<Results<Ok<ProfileDto>, NotFound, ProblemHttpResult>> GetAsync(ProfileService profiles, ClaimsPrincipal who, CancellationToken ct)
    {
        if (Me(who) is not { } id)
            return NoAccount();
        return await profiles.GetAsync(id, ct) is { } dto ? TypedResults.Ok(dto) : TypedResults.NotFound();
    }

    private static async Task<Results<Ok<ProfileDto>, ValidationProblem, NotFound, ProblemHttpResult>> SaveAsync(ProfileInput input, ProfileService profiles,
        ClaimsPrincipal who, CancellationToken ct)
    {
        if (Me(who) is not { } id)
            return NoAccount();
        var (saved, errors) = await profiles.SaveAsync(id, input, ct);
        return errors is not null ? TypedResults.ValidationProblem(errors.ToDictionary()) : saved is null ? TypedResults.NotFound() : TypedResults.Ok(saved);
    }

    private static async Task<Results<NoContent, ValidationProblem, NotFound, ProblemHttpResult>> ChangePasswordAsync(PasswordChangeInput input,
        ProfileService profiles, SignInManager<AppUser> signIn, SessionGuard sessions, TandemDb db, ClaimsPrincipal who, CancellationToken ct)
    {
        if (Me(who) is not { } id)
            return NoAccount();
        var errors = await profiles.ChangePasswordAsync(id, input, ct);
        if (errors is null)
            return TypedResults.NotFound();
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        // A new password ends every session of mine (new security stamp); a browser session that asked gets a new one, so I stay
        // signed in here.
        if (who.Identity?.AuthenticationType == IdentityConstants.ApplicationScheme && await signIn.UserManager.FindByIdAsync(id.ToString()) is { } user)
            await sessions.StartAsync(signIn, db, user, persistent: false);
        return TypedResults.NoContent();
    }
}
