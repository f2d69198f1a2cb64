using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Handoff;

public sealed class AccessOptions
{
    /// <summary>When true, sales reps read every lead (read-only); they still work only their own and their teams' queues.</summary>
    public bool RepsSeeAllLeads { get; set; }
}

/// <summary>The lead access policy (<see cref="LeadAccessScope"/>) computed from roles, team memberships and team management.</summary>
public sealed class LeadAccessService(IDbContextFactory<TandemDb> dbs, Microsoft.Extensions.Options.IOptionsMonitor<AccessOptions> options) : ILeadAccess
{
    public async Task<LeadAccessScope> ScopeAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        if (user.Identity?.IsAuthenticated != true)
            return new LeadAccessScope(false, false, false, false, false, new HashSet<Guid>(), new HashSet<Guid>());
        if (user.Identity.AuthenticationType == AuthSchemes.ApiKey || user.IsInRole(Roles.Admin))
            return LeadAccessScope.Everything;
        var userId = Actor.From(user).Id;
        var owners = new HashSet<Guid>();
        var teams = new HashSet<Guid>();
        var manager = user.IsInRole(Roles.SalesManager);
        var rep = user.IsInRole(Roles.Sales);
        if (userId is { } me && (manager || rep))
        {
            owners.Add(me);
            await using var db = await dbs.CreateDbContextAsync(ct);
            if (manager)
            {
                var managed = await db.Set<SalesTeam>().AsNoTracking().Where(t => t.ManagerUserId == me).Select(t => t.Id).ToListAsync(ct);
                teams.UnionWith(managed);
                owners.UnionWith(await db.Set<SalesTeamMember>().AsNoTracking().Where(m => managed.Contains(m.TeamId)).Select(m => m.UserId).ToListAsync(ct));
            }
            teams.UnionWith(await db.Set<SalesTeamMember>().AsNoTracking().Where(m => m.UserId == me).Select(m => m.TeamId).ToListAsync(ct));
        }
        var marketing = user.IsInRole(Roles.Marketing);
        return new LeadAccessScope(
            ReadAll: manager || marketing || (rep && options.CurrentValue.RepsSeeAllLeads),
            WorkAll: false,
            MoveStageAll: marketing,
            WorkUnowned: manager,
            CanWorkAtAll: manager || rep,
            Owners: owners,
            QueueTeams: teams);
    }

    public async Task<bool?> AllowsAsync(TandemDb db, LeadAccessScope scope, Guid leadId, LeadRight right, CancellationToken ct)
    {
        var lead = await db.Leads.AsNoTracking().Where(l => l.Id == leadId).Select(l => new { l.OwnerId }).FirstOrDefaultAsync(ct);
        if (lead is null)
            return null;
        // The queue matters only for a lead nobody owns, or one a queue membership could open to this caller.
        if (lead.OwnerId is not null && scope.Allows(right, lead.OwnerId, []))
            return true;
        if (lead.OwnerId is not null && scope.QueueTeams.Count == 0)
            return false;
        var queued = await db.Assignments.AsNoTracking()
            .Where(a => a.LeadId == leadId && a.RepId == null && a.TeamId != null && Assignment.OpenStates.Contains(a.State))
            .Select(a => a.TeamId!.Value).ToListAsync(ct);
        return scope.Allows(right, lead.OwnerId, queued);
    }

    public IQueryable<Lead> Readable(TandemDb db, LeadAccessScope scope, IQueryable<Lead> leads)
    {
        if (scope.ReadAll)
            return leads;
        var owners = scope.Owners.ToList();
        var teams = scope.QueueTeams.ToList();
        var unowned = scope.WorkUnowned;
        return leads.Where(l => (l.OwnerId != null && owners.Contains(l.OwnerId.Value)) || (unowned && l.OwnerId == null)
            || db.Assignments.Any(a => a.LeadId == l.Id && a.RepId == null && a.TeamId != null && teams.Contains(a.TeamId.Value)
                && Assignment.OpenStates.Contains(a.State)));
    }
}
