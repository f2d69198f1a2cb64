using System.Collections.Concurrent;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform;

public enum SignInOutcome
{
    SignedIn,
    /// <summary>Wrong password, unknown email, deactivated or locked account: one answer for all, so nobody learns which.</summary>
    Failed,
    /// <summary>Too many failures of this account from this address: wait <see cref="SignInAttempt.RetryAfter"/>.</summary>
    Throttled,
}

public sealed record SignInAttempt(SignInOutcome Outcome, TimeSpan RetryAfter = default);

/// <summary>
/// Per-account backoff that an outsider cannot turn against the account's owner: failures are counted per
/// (account, client address). After <see cref="SessionOptions.FreeFailedAttempts"/> failures from one address, each further
/// attempt from that address waits 1 s, 2 s, 4 s … up to <see cref="SessionOptions.BackoffCapSeconds"/>; the owner signing in
/// from another address is not slowed. The per-address request limit (<c>Tandem:RateLimits:AuthAttemptsPerMinute</c>,
/// ApiConventions) caps how fast one address can guess across accounts. State is per instance and in memory (like the rate limiter).
/// </summary>
public sealed class SignInBackoff(IOptions<SessionOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<(string Account, string Address), (int Failures, DateTimeOffset NotBefore, DateTimeOffset Last)> _state = new();

    public TimeSpan WaitFor(string account, string address)
    {
        if (!_state.TryGetValue(Key(account, address), out var s))
            return TimeSpan.Zero;
        var wait = s.NotBefore - clock.GetUtcNow();
        return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
    }

    public void Failed(string account, string address)
    {
        var now = clock.GetUtcNow();
        var o = options.Value;
        _state.AddOrUpdate(Key(account, address),
            _ => (1, 1 > o.FreeFailedAttempts ? now.AddSeconds(1) : now, now),
            (_, s) =>
            {
                // A quiet hour forgives the past.
                var failures = now - s.Last > TimeSpan.FromHours(1) ? 1 : s.Failures + 1;
                var over = failures - o.FreeFailedAttempts;
                var delay = over <= 0 ? 0 : Math.Min(o.BackoffCapSeconds, Math.Pow(2, Math.Min(over - 1, 30)));
                return (failures, now.AddSeconds(delay), now);
            });
        if (_state.Count > 50_000)
            foreach (var (key, value) in _state)
                if (now - value.Last > TimeSpan.FromHours(1))
                    _state.TryRemove(key, out _);
    }

    public void Succeeded(string account, string address) => _state.TryRemove(Key(account, address), out _);

    private static (string, string) Key(string account, string address) => (account.Trim().ToUpperInvariant(), address);
}

/// <summary>The sign-in form's rules: backoff, one generic failure, a server-side session on success.</summary>
public sealed class PasswordSignIn(
    UserManager<AppUser> users, SignInManager<AppUser> signIn, TandemDb db, SessionGuard sessions, SignInBackoff backoff,
    IPasswordHasher<AppUser> hasher)
{
    // Verifying against a throwaway hash when the email is unknown keeps the answer's timing the same as a wrong password.
    private static readonly Lazy<string> DummyHash = new(() => new PasswordHasher<AppUser>().HashPassword(new AppUser(), Guid.NewGuid().ToString("N")));

    public async Task<SignInAttempt> SignInAsync(string email, string password, bool persistent, string clientAddress)
    {
        email = email.Trim();
        var wait = backoff.WaitFor(email, clientAddress);
        if (wait > TimeSpan.Zero)
            return new SignInAttempt(SignInOutcome.Throttled, wait);

        var user = await users.FindByEmailAsync(email);
        if (user is null)
        {
            hasher.VerifyHashedPassword(new AppUser(), DummyHash.Value, password);
            return Fail();
        }
        // No Identity lockout counting (an outsider could lock the owner out); a lock set by an earlier version still holds.
        var check = await signIn.CheckPasswordSignInAsync(user, password, lockoutOnFailure: false);
        if (!check.Succeeded || !user.IsActive)
            return Fail();
        backoff.Succeeded(email, clientAddress);
        await sessions.StartAsync(signIn, db, user, persistent);
        return new SignInAttempt(SignInOutcome.SignedIn);

        SignInAttempt Fail()
        {
            backoff.Failed(email, clientAddress);
            var next = backoff.WaitFor(email, clientAddress);
            return next > TimeSpan.Zero ? new SignInAttempt(SignInOutcome.Throttled, next) : new SignInAttempt(SignInOutcome.Failed);
        }
    }
}
