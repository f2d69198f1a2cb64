using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Platform;

public sealed record UserSummary(Guid Id, string Email, string DisplayName, IReadOnlyList<string> Roles, bool IsActive, DateTimeOffset CreatedAt, DateTimeOffset? LockedOutUntil);

/// <summary>Outcome of a user operation: either the value, or field errors keyed by field name.</summary>
public sealed record UserResult<T>(T? Value, IReadOnlyDictionary<string, string[]> Errors)
{
    public bool Succeeded => Errors.Count == 0;
    public static UserResult<T> Ok(T value) => new(value, new Dictionary<string, string[]>());
    public static UserResult<T> Fail(string field, params string[] messages) => new(default, new Dictionary<string, string[]> { [field] = messages });
}

/// <summary>Creates users, sets roles, deactivates and reactivates; the same rules for the UI, the API and the CLI.</summary>
public sealed class UserAdmin(UserManager<AppUser> users, RoleManager<IdentityRole<Guid>> roles, TandemDb db, TimeProvider clock, SessionGuard sessions)
{
    public async Task EnsureRolesAsync()
    {
        foreach (var role in Roles.All)
            if (!await roles.RoleExistsAsync(role))
                await roles.CreateAsync(new IdentityRole<Guid>(role) { Id = Ids.New() });
    }

    public async Task<bool> AnyUserAsync(CancellationToken ct = default) => await db.Users.AnyAsync(ct);

    public async Task<IReadOnlyList<UserSummary>> ListAsync(CancellationToken ct = default)
    {
        var list = await db.Users.AsNoTracking().OrderBy(u => u.Email).ToListAsync(ct);
        var roleRows = await (from ur in db.UserRoles
                              join r in db.Roles on ur.RoleId equals r.Id
                              select new { ur.UserId, r.Name }).ToListAsync(ct);
        var byUser = roleRows.ToLookup(x => x.UserId, x => x.Name!);
        var now = clock.GetUtcNow();
        return [.. list.Select(u => ToSummary(u, [.. byUser[u.Id].Order(StringComparer.Ordinal)], now))];
    }

    public async Task<UserSummary?> GetAsync(Guid id, CancellationToken ct = default)
    {
        var user = await users.FindByIdAsync(id.ToString());
        if (user is null)
            return null;
        return ToSummary(user, [.. (await users.GetRolesAsync(user)).Order(StringComparer.Ordinal)], clock.GetUtcNow());
    }

    /// <summary>Creates a user. When <paramref name="password"/> is null a strong one is generated and returned (shown once).</summary>
    public async Task<UserResult<(UserSummary User, string? GeneratedPassword)>> CreateAsync(
        string? email, string? displayName, IEnumerable<string> roleNames, string? password, string actor, Guid? actorId)
    {
        email = email?.Trim();
        if (string.IsNullOrWhiteSpace(email) || !new System.ComponentModel.DataAnnotations.EmailAddressAttribute().IsValid(email) || email.Length > 254)
            return Fail("email", "A valid email address is required.");
        var roleList = new List<string>();
        foreach (var name in roleNames)
        {
            var role = Roles.Parse(name);
            if (role is null)
                return Fail("roles", $"Unknown role '{name}'. Known roles: {string.Join(", ", Roles.All)}.");
            if (!roleList.Contains(role))
                roleList.Add(role);
        }
        if (roleList.Count == 0)
            return Fail("roles", "At least one role is required.");
        if (await users.FindByEmailAsync(email) is not null)
            return Fail("email", "A user with this email already exists.");

        var generated = password is null ? GeneratePassword() : null;
        var user = new AppUser
        {
            UserName = email,
            Email = email,
            EmailConfirmed = true,
            DisplayName = string.IsNullOrWhiteSpace(displayName) ? email.Split('@')[0] : displayName.Trim(),
            CreatedAt = clock.GetUtcNow(),
        };
        if (user.DisplayName.Length > 200)
            return Fail("displayName", "The display name is limited to 200 characters.");

        await EnsureRolesAsync();
        // Joins the caller's transaction when there is one (first-admin setup), else opens its own.
        await using var tx = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync() : null;
        var created = await users.CreateAsync(user, password ?? generated!);
        if (!created.Succeeded)
            return FromIdentity(created);
        var added = await users.AddToRolesAsync(user, roleList);
        if (!added.Succeeded)
            return FromIdentity(added);
        Audit(actor, actorId, "user.created", user.Id, $"email={email}; roles={string.Join(',', roleList)}");
        await db.SaveChangesAsync();
        if (tx is not null)
            await tx.CommitAsync();
        return UserResult<(UserSummary, string?)>.Ok((ToSummary(user, roleList, clock.GetUtcNow()), generated));

        static UserResult<(UserSummary, string?)> Fail(string field, string message) => UserResult<(UserSummary, string?)>.Fail(field, message);
    }

    public async Task<UserResult<UserSummary>> SetRolesAsync(Guid id, IEnumerable<string> roleNames, string actor, Guid? actorId)
    {
        var user = await users.FindByIdAsync(id.ToString());
        if (user is null)
            return UserResult<UserSummary>.Fail("id", "No such user.");
        var wanted = new List<string>();
        foreach (var name in roleNames)
        {
            var role = Roles.Parse(name);
            if (role is null)
                return UserResult<UserSummary>.Fail("roles", $"Unknown role '{name}'. Known roles: {string.Join(", ", Roles.All)}.");
            if (!wanted.Contains(role))
                wanted.Add(role);
        }
        if (wanted.Count == 0)
            return UserResult<UserSummary>.Fail("roles", "At least one role is required.");
        var current = await users.GetRolesAsync(user);
        if (current.Contains(Roles.Admin) && !wanted.Contains(Roles.Admin) && await IsLastActiveAdminAsync(user.Id))
            return UserResult<UserSummary>.Fail("roles", "This is the last active admin; give another user the Admin role first.");

        await EnsureRolesAsync();
        await using var tx = await db.Database.BeginTransactionAsync();
        await users.RemoveFromRolesAsync(user, current.Except(wanted));
        await users.AddToRolesAsync(user, wanted.Except(current));
        await users.UpdateSecurityStampAsync(user);
        Audit(actor, actorId, "user.roles-set", user.Id, $"roles={string.Join(',', wanted)}");
        await db.SaveChangesAsync();
        await tx.CommitAsync();
        sessions.Forget(user.Id);
        return UserResult<UserSummary>.Ok(ToSummary(user, wanted, clock.GetUtcNow()));
    }

    public async Task<UserResult<UserSummary>> SetActiveAsync(Guid id, bool active, string actor, Guid? actorId)
    {
        var user = await users.FindByIdAsync(id.ToString());
        if (user is null)
            return UserResult<UserSummary>.Fail("id", "No such user.");
        if (!active && actorId == id)
            return UserResult<UserSummary>.Fail("id", "You cannot deactivate yourself.");
        if (!active && await users.IsInRoleAsync(user, Roles.Admin) && await IsLastActiveAdminAsync(user.Id))
            return UserResult<UserSummary>.Fail("id", "This is the last active admin; it cannot be deactivated.");
        if (user.IsActive != active)
        {
            user.IsActive = active;
            user.DeactivatedAt = active ? null : clock.GetUtcNow();
            // A new stamp and no session rows: every cookie and open page of the user stops working at once (SessionGuard).
            await users.UpdateSecurityStampAsync(user);
            Audit(actor, actorId, active ? "user.reactivated" : "user.deactivated", user.Id, $"email={user.Email}");
            await db.SaveChangesAsync();
            await sessions.EndAllAsync(user.Id, db);
        }
        return UserResult<UserSummary>.Ok(ToSummary(user, [.. await users.GetRolesAsync(user)], clock.GetUtcNow()));
    }

    /// <summary>
    /// Sets a new generated password (returned once), signs the user out everywhere (new security stamp) and clears a lockout.
    /// For the operator CLI when nobody can sign in as an admin any more.
    /// </summary>
    public async Task<UserResult<(UserSummary User, string Password)>> ResetPasswordAsync(string? email, string actor, Guid? actorId)
    {
        email = email?.Trim();
        var user = string.IsNullOrEmpty(email) ? null : await users.FindByEmailAsync(email);
        if (user is null)
            return UserResult<(UserSummary, string)>.Fail("email", "No user with this email.");
        var password = GeneratePassword();
        var token = await users.GeneratePasswordResetTokenAsync(user);
        var reset = await users.ResetPasswordAsync(user, token, password);
        if (!reset.Succeeded)
            return new(default, FromIdentity(reset).Errors);
        await users.SetLockoutEndDateAsync(user, null);
        await users.ResetAccessFailedCountAsync(user);
        await users.UpdateSecurityStampAsync(user);
        Audit(actor, actorId, "user.password-reset", user.Id, $"email={user.Email}");
        await db.SaveChangesAsync();
        await sessions.EndAllAsync(user.Id, db);
        return UserResult<(UserSummary, string)>.Ok((ToSummary(user, [.. await users.GetRolesAsync(user)], clock.GetUtcNow()), password));
    }

    private async Task<bool> IsLastActiveAdminAsync(Guid userId)
    {
        var admins = await users.GetUsersInRoleAsync(Roles.Admin);
        return !admins.Any(a => a.Id != userId && a.IsActive);
    }

    private void Audit(string actor, Guid? actorId, string action, Guid userId, string details) =>
        db.AuditEntries.Add(new AuditEntry
        {
            At = clock.GetUtcNow(),
            Actor = actor,
            ActorId = actorId,
            Action = action,
            EntityType = "User",
            EntityId = userId.ToString(),
            Details = details,
        });

    private static UserSummary ToSummary(AppUser u, IReadOnlyList<string> roleNames, DateTimeOffset now) =>
        new(u.Id, u.Email ?? "", u.DisplayName, roleNames, u.IsActive, u.CreatedAt,
            u.LockoutEnd is { } end && end > now ? end : null);

    private static UserResult<(UserSummary, string?)> FromIdentity(IdentityResult result) =>
        new(default, result.Errors
            .GroupBy(e => e.Code.StartsWith("Password", StringComparison.Ordinal) ? "password"
                : e.Code.Contains("Email", StringComparison.Ordinal) || e.Code.Contains("UserName", StringComparison.Ordinal) ? "email" : "user")
            .ToDictionary(g => g.Key, g => g.Select(e => e.Description).ToArray()));

    /// <summary>20 characters from an unambiguous alphabet, always with lower, upper and digit.</summary>
    public static string GeneratePassword()
    {
        const string lower = "abcdefghijkmnpqrstuvwxyz";
        const string upper = "ABCDEFGHJKLMNPQRSTUVWXYZ";
        const string digits = "23456789";
        const string all = lower + upper + digits;
        var chars = new char[20];
        for (var i = 0; i < chars.Length; i++)
            chars[i] = all[RandomNumberGenerator.GetInt32(all.Length)];
        chars[RandomNumberGenerator.GetInt32(0, 6)] = lower[RandomNumberGenerator.GetInt32(lower.Length)];
        chars[RandomNumberGenerator.GetInt32(7, 13)] = upper[RandomNumberGenerator.GetInt32(upper.Length)];
        chars[RandomNumberGenerator.GetInt32(14, 20)] = digits[RandomNumberGenerator.GetInt32(digits.Length)];
        return new string(chars);
    }
}
