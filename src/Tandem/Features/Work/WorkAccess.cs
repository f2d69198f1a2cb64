using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;

namespace Tandem.Features.Work;

public enum RecordKind
{
    Lead,
    Account,
}

/// <summary>The record a note or a task hangs on.</summary>
public sealed record WorkTarget(RecordKind Kind, Guid Id)
{
    public static WorkTarget Of(Guid? leadId, Guid? accountId) =>
        leadId is { } l ? new(RecordKind.Lead, l) : new(RecordKind.Account, accountId ?? Guid.Empty);

    public string Link => Kind == RecordKind.Lead ? $"/leads/{Id}" : $"/accounts/{Id}";
}

public sealed record PersonOption(Guid Id, string Name);

public enum AccessVerdict
{
    Allowed,
    NotFound,
    Forbidden,
}

/// <summary>
/// Who may read and annotate (add notes and tasks to) a lead or an account (decision 021c). Leads: the lead access policy
/// (<see cref="LeadRight.Read"/>, <see cref="LeadRight.Annotate"/>). Accounts: readers as the account page
/// (<see cref="CustomerService.ReadableAsync"/>); writers are admins, keys and marketing, and the sales people (reps, managers for
/// their teams) who own the account or one of its people.
/// </summary>
public sealed class WorkAccess(TandemDb db, ILeadAccess leads, CustomerService customers)
{
    public static bool IsKey(ClaimsPrincipal user) => user.Identity?.AuthenticationType == AuthSchemes.ApiKey;

    /// <summary>Admins and API keys (already limited by their scopes) act on every note and task.</summary>
    public static bool IsAdmin(ClaimsPrincipal user) => IsKey(user) || user.IsInRole(Roles.Admin);

    public async Task<AccessVerdict> CheckAsync(ClaimsPrincipal user, WorkTarget target, bool write, CancellationToken ct)
    {
        if (target.Kind == RecordKind.Lead)
        {
            var scope = await leads.ScopeAsync(user, ct);
            return await leads.AllowsAsync(db, scope, target.Id, write ? LeadRight.Annotate : LeadRight.Read, ct) switch
            {
                null => AccessVerdict.NotFound,
                true => AccessVerdict.Allowed,
                false => AccessVerdict.Forbidden,
            };
        }
        var account = await db.Accounts.AsNoTracking().Where(a => a.Id == target.Id).Select(a => new { a.OwnerId }).FirstOrDefaultAsync(ct);
        if (account is null)
            return AccessVerdict.NotFound;
        if (!await (await customers.ReadableAsync(user, ct)).AnyAsync(a => a.Id == target.Id, ct))
            return AccessVerdict.Forbidden;
        if (!write)
            return AccessVerdict.Allowed;
        var s = await leads.ScopeAsync(user, ct);
        if (s.MoveStageAll)
            return AccessVerdict.Allowed;
        if (!s.CanWorkAtAll)
            return AccessVerdict.Forbidden;
        if (account.OwnerId is { } owner && s.Owners.Contains(owner))
            return AccessVerdict.Allowed;
        var owners = s.Owners.ToList();
        return await db.Leads.AnyAsync(l => l.AccountId == target.Id && l.OwnerId != null && owners.Contains(l.OwnerId.Value), ct)
            ? AccessVerdict.Allowed
            : AccessVerdict.Forbidden;
    }

    /// <summary>The users <paramref name="user"/> may give a task to: anyone (admin, key), their teams' members (sales manager), or only themselves.</summary>
    public async Task<bool> MayAssignToAsync(ClaimsPrincipal user, Guid assignee, CancellationToken ct)
    {
        if (IsAdmin(user))
            return true;
        var me = Actor.From(user).Id;
        if (me == assignee)
            return true;
        if (me is null || !user.IsInRole(Roles.SalesManager))
            return false;
        return await ManagesAsync(me.Value, assignee, ct);
    }

    /// <summary>Active people, by name: whom a note may mention.</summary>
    public async Task<List<PersonOption>> ActiveUsersAsync(CancellationToken ct) =>
        [.. (await db.Users.AsNoTracking().Where(u => u.IsActive).Select(u => new { u.Id, u.DisplayName, u.Email }).Take(5000).ToListAsync(ct))
            .Select(u => new PersonOption(u.Id, string.IsNullOrWhiteSpace(u.DisplayName) ? u.Email ?? "" : u.DisplayName))
            .OrderBy(u => u.Name, StringComparer.CurrentCultureIgnoreCase)];

    /// <summary>The people <paramref name="user"/> may give a task to (themselves first).</summary>
    public async Task<List<PersonOption>> AssignableAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var me = Actor.From(user).Id;
        var all = await ActiveUsersAsync(ct);
        List<PersonOption> allowed;
        if (IsAdmin(user))
            allowed = all;
        else if (me is { } m && user.IsInRole(Roles.SalesManager))
        {
            var members = await db.Set<SalesTeamMember>().AsNoTracking()
                .Where(x => db.Set<SalesTeam>().Any(t => t.Id == x.TeamId && t.ManagerUserId == m)).Select(x => x.UserId).ToListAsync(ct);
            allowed = [.. all.Where(p => p.Id == m || members.Contains(p.Id))];
        }
        else
            allowed = [.. all.Where(p => p.Id == me)];
        return [.. allowed.OrderBy(p => p.Id == me ? 0 : 1)];
    }

    /// <summary>Whether <paramref name="manager"/> manages a team <paramref name="member"/> belongs to.</summary>
    public Task<bool> ManagesAsync(Guid manager, Guid member, CancellationToken ct) =>
        db.Set<SalesTeamMember>().AnyAsync(m => m.UserId == member && db.Set<SalesTeam>().Any(t => t.Id == m.TeamId && t.ManagerUserId == manager), ct);

    /// <summary>How a person is shown: their display name, else the name they signed in with (an API key's name).</summary>
    public async Task<string> DisplayNameAsync(Actor actor, CancellationToken ct)
    {
        var name = actor.Id is { } id ? await db.Users.AsNoTracking().Where(u => u.Id == id).Select(u => u.DisplayName).FirstOrDefaultAsync(ct) : null;
        var shown = string.IsNullOrWhiteSpace(name) ? actor.Name : name;
        return shown.Length <= 256 ? shown : shown[..256];
    }

    /// <summary>The record's name for lists and notifications (the lead's display name, the account's name).</summary>
    public async Task<string?> NameAsync(WorkTarget target, CancellationToken ct)
    {
        if (target.Kind == RecordKind.Account)
            return await db.Accounts.AsNoTracking().Where(a => a.Id == target.Id).Select(a => a.Name).FirstOrDefaultAsync(ct);
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Id == target.Id, ct);
        return lead?.DisplayName;
    }
}
