using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Platform;

/// <summary>
/// First-run setup: creates the first admin exactly once. There is no default password anywhere; until an
/// admin exists every UI page redirects to <c>/setup</c>.
/// </summary>
public sealed class SetupService(TandemDb db, UserAdmin userAdmin, TimeProvider clock, SetupState state)
{
    public async Task<bool> IsSetupDoneAsync(CancellationToken ct = default)
    {
        if (state.Done)
            return true;
        var done = await db.Installations.AnyAsync(ct) || await db.Users.AnyAsync(ct);
        if (done)
            state.Done = true;
        return done;
    }

    public async Task<UserResult<UserSummary>> CreateFirstAdminAsync(string? email, string? displayName, string? password, CancellationToken ct = default)
    {
        if (await IsSetupDoneAsync(ct))
            return UserResult<UserSummary>.Fail("", "Tandem is already set up; sign in instead.");
        if (string.IsNullOrEmpty(password))
            return UserResult<UserSummary>.Fail("password", "A password is required.");

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        try
        {
            // The installation row is the lock: a concurrent second setup fails on its primary key.
            db.Installations.Add(new Installation { Id = 1, InstalledAt = clock.GetUtcNow() });
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return UserResult<UserSummary>.Fail("", "Tandem is already set up; sign in instead.");
        }

        var result = await userAdmin.CreateAsync(email, displayName, [Roles.Admin], password, "setup", null);
        if (!result.Succeeded)
        {
            await tx.RollbackAsync(ct);
            db.ChangeTracker.Clear();
            return new UserResult<UserSummary>(null, result.Errors);
        }
        await db.Installations.Where(i => i.Id == 1).ExecuteUpdateAsync(s => s.SetProperty(i => i.FirstAdminId, result.Value.User.Id), ct);
        await tx.CommitAsync(ct);
        state.Done = true;
        return UserResult<UserSummary>.Ok(result.Value.User);
    }
}

/// <summary>Caches "setup is done" once true (it never becomes false again), to keep the check off the hot path.</summary>
public sealed class SetupState
{
    public volatile bool Done;
}
