using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform;

public static class AuthSchemes
{
    public const string ApiKey = "ApiKey";
    /// <summary>Chooses ApiKey when the request carries a key, the Identity cookie otherwise.</summary>
    public const string Api = "Api";
}

public static class Policies
{
    public const string ScopeIngest = "scope:ingest";
    public const string ScopeRead = "scope:read";
    public const string ScopeAdmin = "scope:admin";
    public const string AdminUi = "ui:admin";
    /// <summary>Personas: Admin, Marketing and Sales managers by cookie; keys with the admin scope.</summary>
    public const string PersonaEdit = "qualification:personas";
    /// <summary>Qualification drafts and approvals: every role by cookie (both teams draft); keys with the admin scope.</summary>
    public const string DefinitionDraft = "qualification:draft";
    /// <summary>Lifecycle moves of a lead (recycle, disqualify, reopen, accept): every role by cookie; keys with the ingest scope.</summary>
    public const string LeadStage = "leads:stage";
    public const string ScopeClaim = "scope";
}

/// <summary>Authenticates <c>Authorization: Bearer tdm_...</c> or <c>X-Api-Key: tdm_...</c>.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyService keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public static bool HasKey(HttpRequest request) =>
        request.Headers.ContainsKey("X-Api-Key") ||
        request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = Request.Headers["X-Api-Key"].ToString();
        if (string.IsNullOrEmpty(presented))
        {
            var auth = Request.Headers.Authorization.ToString();
            if (!auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                return AuthenticateResult.NoResult();
            presented = auth["Bearer ".Length..].Trim();
        }
        var key = await keys.VerifyAsync(presented.Trim(), Context.RequestAborted);
        if (key is null)
            return AuthenticateResult.Fail("Invalid, revoked or expired API key.");

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, $"apikey:{key.Id}"),
            new(ClaimTypes.Name, $"API key '{key.Name}'"),
            new("api_key_id", key.Id.ToString()),
        };
        claims.AddRange(key.Scopes.Select(s => new Claim(Policies.ScopeClaim, s)));
        var identity = new ClaimsIdentity(claims, AuthSchemes.ApiKey);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), AuthSchemes.ApiKey));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer realm=\"tandem\"";
        return Task.CompletedTask;
    }
}

/// <summary>
/// A scope granted by an API key's scopes, or by one of the signed-in user's roles. When <paramref name="UserRoles"/> is given,
/// a signed-in user needs one of those roles instead of the scope (for actions whose owners are not the scope's usual holders).
/// </summary>
public sealed record ScopeRequirement(string Scope, IReadOnlyList<string>? UserRoles = null) : IAuthorizationRequirement;

public sealed class ScopeRequirementHandler : AuthorizationHandler<ScopeRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopeRequirement requirement)
    {
        var user = context.User;
        if (user.Identity?.IsAuthenticated != true)
            return Task.CompletedTask;
        var isKey = user.Identity.AuthenticationType == AuthSchemes.ApiKey;
        if (isKey ? user.HasClaim(Policies.ScopeClaim, requirement.Scope)
            : requirement.UserRoles is { } roles ? roles.Any(user.IsInRole)
            : Roles.All.Any(r => user.IsInRole(r) && Scopes.GrantedByRole(r).Contains(requirement.Scope)))
            context.Succeed(requirement);
        return Task.CompletedTask;
    }
}

public static class AuthSetup
{
    public static IServiceCollection AddTandemAuth(this IServiceCollection services, IConfiguration configuration)
    {
        // Keys live in the database so every instance can read cookies, antiforgery tokens and encrypted secrets;
        // they are encrypted there with a certificate or key file kept outside it (KeyRing.cs).
        services.AddTandemDataProtection(configuration);
        services.AddScoped<ApiKeyService>();
        services.AddSingleton<ApiKeyCache>();
        services
            .AddIdentity<AppUser, IdentityRole<Guid>>(o =>
            {
                o.User.RequireUniqueEmail = true;
                o.Password.RequiredLength = 10;
                o.Password.RequireNonAlphanumeric = false;
                // No hard lockout: anyone knowing an email could lock its owner out. SignInBackoff slows guessing per address instead.
                o.Lockout.AllowedForNewUsers = false;
                o.SignIn.RequireConfirmedAccount = false;
            })
            .AddEntityFrameworkStores<TandemDb>()
            .AddDefaultTokenProviders();

        services.AddAntiforgery(o => o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest);

        services.Configure<SessionOptions>(o =>
        {
            var auth = configuration.GetSection("Tandem:Auth");
            auth.Bind(o);
            // The setting's earlier name (hard lockout threshold) now sets when the backoff starts.
            o.FreeFailedAttempts = auth.GetValue("MaxFailedAccessAttempts", o.FreeFailedAttempts);
        });
        services.AddSingleton<SessionGuard>();
        services.AddSingleton<SignInBackoff>();
        services.AddScoped<PasswordSignIn>();
        services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, SessionRevalidatingStateProvider>();

        services.ConfigureApplicationCookie(o =>
        {
            o.Cookie.Name = "tandem.auth";
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Lax;
            // Secure whenever the browser talks HTTPS, including through a TLS-terminating proxy (forwarded headers, ReverseProxy.cs).
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = "/login";
            o.LogoutPath = "/logout";
            o.AccessDeniedPath = "/access-denied";
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.SlidingExpiration = true;
            // Every request checks the session row, the security stamp and the active flag (cached a second or two per
            // instance, SessionGuard): a logged-out or deactivated user's cookie stops working at once. This replaces
            // Identity's SecurityStampValidator, which checks every 30 minutes and reissues the cookie when it does.
            o.Events.OnValidatePrincipal = SessionGuard.ValidatePrincipalAsync;
            // The API answers 401/403 ProblemDetails, never a redirect to the login page.
            o.Events.OnRedirectToLogin = ctx => ApiAwareRedirect(ctx, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = ctx => ApiAwareRedirect(ctx, StatusCodes.Status403Forbidden);
        });

        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AuthSchemes.ApiKey, null)
            .AddPolicyScheme(AuthSchemes.Api, "API key or cookie", o => o.ForwardDefaultSelector = ctx =>
                ApiKeyAuthenticationHandler.HasKey(ctx.Request) ? AuthSchemes.ApiKey : IdentityConstants.ApplicationScheme);

        services.AddSingleton<IAuthorizationHandler, ScopeRequirementHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.ScopeIngest, ApiPolicy(Scopes.Ingest))
            .AddPolicy(Policies.ScopeRead, ApiPolicy(Scopes.Read))
            .AddPolicy(Policies.ScopeAdmin, ApiPolicy(Scopes.Admin))
            .AddPolicy(Policies.AdminUi, p => p.RequireRole(Roles.Admin))
            .AddPolicy(Policies.PersonaEdit, ApiPolicy(Scopes.Admin, [Roles.Admin, Roles.Marketing, Roles.SalesManager]))
            .AddPolicy(Policies.DefinitionDraft, ApiPolicy(Scopes.Admin, Roles.All))
            .AddPolicy(Policies.LeadStage, ApiPolicy(Scopes.Ingest, Roles.All));
        return services;
    }

    private static Action<AuthorizationPolicyBuilder> ApiPolicy(string scope, IReadOnlyList<string>? userRoles = null) => p => p
        .AddAuthenticationSchemes(AuthSchemes.Api)
        .RequireAuthenticatedUser()
        .AddRequirements(new ScopeRequirement(scope, userRoles));

    private static Task ApiAwareRedirect(RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> ctx, int status)
    {
        if (ctx.Request.Path.StartsWithSegments("/api"))
        {
            ctx.Response.StatusCode = status;
            return Task.CompletedTask;
        }
        ctx.Response.Redirect(ctx.RedirectUri);
        return Task.CompletedTask;
    }
}
