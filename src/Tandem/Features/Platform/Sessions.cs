using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.AspNetCore.Components.Server;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform;

/// <summary>Settings under <c>Tandem:Auth</c> for sessions and sign-in throttling.</summary>
public sealed class SessionOptions
{
    /// <summary>How long one instance trusts its last look at a session (stamp, active flag, session row). 0 = every request asks the database.</summary>
    public double CheckCacheSeconds { get; set; } = 2;
    /// <summary>How often an open Blazor circuit re-checks its session; a revoked one is sent to the sign-in page.</summary>
    public double CircuitRevalidateSeconds { get; set; } = 5;
    /// <summary>A session ends this long after sign-in even if it is used every day (sliding cookie or not).</summary>
    public double MaxSessionDays { get; set; } = 14;
    /// <summary>Failed sign-ins of one account from one address before each further attempt must wait.</summary>
    public int FreeFailedAttempts { get; set; } = 5;
    /// <summary>Longest wait the backoff asks for (1 s, 2 s, 4 s … up to this).</summary>
    public double BackoffCapSeconds { get; set; } = 60;
}

/// <summary>
/// Server-side sessions without a new table: each sign-in writes an <c>AspNetUserTokens</c> row
/// (<c>LoginProvider = "Tandem.Session"</c>, <c>Name</c> = the session id carried in the cookie, <c>Value</c> = sign-in time)
/// and every request checks that the row still exists, the security stamp still matches and the user is still active.
/// Logout deletes its own row (other devices stay signed in); deactivation rotates the stamp and deletes every row.
/// One instance caches a positive answer for <see cref="SessionOptions.CheckCacheSeconds"/> so a busy page costs no
/// database round trip per request; revocations made on this instance evict the cache at once, others within that window.
/// </summary>
public sealed class SessionGuard(IOptions<SessionOptions> options, TimeProvider clock)
{
    public const string LoginProvider = "Tandem.Session";
    public const string SessionClaim = "tandem:sid";

    private readonly ConcurrentDictionary<(Guid User, string Sid), (string Stamp, long CheckedAt)> _valid = new();
    private long _queries;

    /// <summary>Database look-ups made by the check (for the test that proves the cache holds).</summary>
    public long Queries => Interlocked.Read(ref _queries);

    public static string? SessionId(ClaimsPrincipal user) => user.FindFirstValue(SessionClaim);

    /// <summary>True while the principal's session row exists, its stamp is current and the user is active.</summary>
    public async Task<bool> IsValidAsync(ClaimsPrincipal principal, TandemDb db, string stampClaimType, CancellationToken ct)
    {
        if (!Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var userId)
            || SessionId(principal) is not { Length: > 0 } sid
            || principal.FindFirstValue(stampClaimType) is not { Length: > 0 } stamp)
            return false;

        var now = clock.GetTimestamp();
        var ttl = options.Value.CheckCacheSeconds;
        if (ttl > 0 && _valid.TryGetValue((userId, sid), out var hit) && hit.Stamp == stamp
            && clock.GetElapsedTime(hit.CheckedAt, now).TotalSeconds < ttl)
            return true;

        Interlocked.Increment(ref _queries);
        var row = await db.Users.AsNoTracking().Where(u => u.Id == userId)
            .Select(u => new
            {
                u.SecurityStamp,
                u.IsActive,
                Started = db.UserTokens.Where(t => t.UserId == userId && t.LoginProvider == LoginProvider && t.Name == sid)
                    .Select(t => t.Value).FirstOrDefault(),
            })
            .FirstOrDefaultAsync(ct);
        var valid = row is { IsActive: true } && row.SecurityStamp == stamp && row.Started is not null && !Expired(row.Started);
        if (valid)
            _valid[(userId, sid)] = (stamp, now);
        else
            _valid.TryRemove((userId, sid), out _);
        if (_valid.Count > 10_000)
            foreach (var (key, value) in _valid)
                if (clock.GetElapsedTime(value.CheckedAt, now).TotalSeconds >= ttl)
                    _valid.TryRemove(key, out _);
        return valid;
    }

    /// <summary>Forgets what this instance knew about a user's sessions (after logout, deactivation, a new stamp).</summary>
    public void Forget(Guid userId)
    {
        foreach (var key in _valid.Keys)
            if (key.User == userId)
                _valid.TryRemove(key, out _);
    }

    /// <summary>Writes the session row and signs the user in with a cookie that names it; prunes the user's ended sessions.</summary>
    public async Task StartAsync(SignInManager<AppUser> signIn, TandemDb db, AppUser user, bool persistent)
    {
        var sid = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var old = await db.UserTokens.Where(t => t.UserId == user.Id && t.LoginProvider == LoginProvider).ToListAsync();
        db.UserTokens.RemoveRange(old.Where(t => t.Value is null || Expired(t.Value)));
        db.UserTokens.Add(new IdentityUserToken<Guid>
        {
            UserId = user.Id,
            LoginProvider = LoginProvider,
            Name = sid,
            Value = clock.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
        });
        await db.SaveChangesAsync();
        await signIn.SignInWithClaimsAsync(user, new AuthenticationProperties { IsPersistent = persistent }, [new Claim(SessionClaim, sid)]);
    }

    /// <summary>Ends the session the principal carries (this device only) and signs the cookie out.</summary>
    public async Task EndAsync(ClaimsPrincipal principal, SignInManager<AppUser> signIn, TandemDb db)
    {
        if (Guid.TryParse(principal.FindFirstValue(ClaimTypes.NameIdentifier), out var userId) && SessionId(principal) is { } sid)
        {
            await db.UserTokens.Where(t => t.UserId == userId && t.LoginProvider == LoginProvider && t.Name == sid).ExecuteDeleteAsync();
            Forget(userId);
        }
        await signIn.SignOutAsync();
    }

    /// <summary>Ends every session of a user (deactivation, password reset); the caller rotates the stamp too.</summary>
    public async Task EndAllAsync(Guid userId, TandemDb db)
    {
        await db.UserTokens.Where(t => t.UserId == userId && t.LoginProvider == LoginProvider).ExecuteDeleteAsync();
        Forget(userId);
    }

    private bool Expired(string started) =>
        !DateTimeOffset.TryParse(started, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at)
        || clock.GetUtcNow() - at > TimeSpan.FromDays(options.Value.MaxSessionDays);

    /// <summary>The cookie's OnValidatePrincipal: a revoked session is rejected on the very request that presents it.</summary>
    public static async Task ValidatePrincipalAsync(CookieValidatePrincipalContext context)
    {
        if (context.Principal is not { } principal)
            return;
        var services = context.HttpContext.RequestServices;
        var guard = services.GetRequiredService<SessionGuard>();
        var stampClaim = services.GetRequiredService<IOptions<IdentityOptions>>().Value.ClaimsIdentity.SecurityStampClaimType;
        if (await guard.IsValidAsync(principal, services.GetRequiredService<TandemDb>(), stampClaim, context.HttpContext.RequestAborted))
            return;
        context.RejectPrincipal();
        await context.HttpContext.SignOutAsync(IdentityConstants.ApplicationScheme);
    }
}

/// <summary>
/// Re-checks an open Blazor circuit's session every few seconds; when it was revoked (logout elsewhere did not end it, but
/// deactivation, a new stamp or an expired session does) the circuit's user becomes anonymous and the router sends the
/// page to the sign-in form with a full reload, which closes the circuit.
/// </summary>
public sealed class SessionRevalidatingStateProvider(
    ILoggerFactory loggers, IServiceScopeFactory scopes, SessionGuard guard, IOptions<SessionOptions> options, IOptions<IdentityOptions> identity)
    : RevalidatingServerAuthenticationStateProvider(loggers)
{
    protected override TimeSpan RevalidationInterval => TimeSpan.FromSeconds(Math.Max(1, options.Value.CircuitRevalidateSeconds));

    protected override async Task<bool> ValidateAuthenticationStateAsync(AuthenticationState authenticationState, CancellationToken cancellationToken)
    {
        if (authenticationState.User.Identity?.IsAuthenticated != true)
            return true;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        return await guard.IsValidAsync(authenticationState.User, db, identity.Value.ClaimsIdentity.SecurityStampClaimType, cancellationToken);
    }
}
