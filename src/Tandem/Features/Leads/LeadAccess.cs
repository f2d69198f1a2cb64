using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Features.Leads;

/// <summary>What a caller wants to do to one lead.</summary>
public enum LeadRight
{
    /// <summary>See the lead, its timeline, score and assignments.</summary>
    Read,
    /// <summary>Sales work: log touches, set the work status, accept as SQL, reject, reassign.</summary>
    Work,
    /// <summary>Lifecycle moves (advance, recycle, disqualify, reopen): marketing's and the owner's.</summary>
    MoveStage,
    /// <summary>Add notes and tasks: whoever may work the lead or move its stage (marketing adds notes to every lead it reads).</summary>
    Annotate,
}

/// <summary>
/// Who may do what to which lead, computed once per caller (decision 010): the one policy the API and the pages ask.
/// <list type="bullet">
/// <item>Admins and API keys: everything (keys are already limited by their scopes).</item>
/// <item>Marketing: read every lead, move stages (nurture, recycle, disqualify); no sales work.</item>
/// <item>Sales managers: read every lead; work the leads owned by the members of the teams they manage (and their own), those
/// sitting in those teams' queues, and leads nobody owns.</item>
/// <item>Sales reps: read and work the leads they own and those sitting in their teams' queues; with
/// <c>Tandem:Access:RepsSeeAllLeads</c> they read (never work) every lead.</item>
/// </list>
/// </summary>
public sealed record LeadAccessScope(
    bool ReadAll,
    bool WorkAll,
    bool MoveStageAll,
    bool WorkUnowned,
    bool CanWorkAtAll,
    IReadOnlySet<Guid> Owners,
    IReadOnlySet<Guid> QueueTeams)
{
    public static readonly LeadAccessScope Everything = new(true, true, true, true, true, new HashSet<Guid>(), new HashSet<Guid>());

    /// <summary>The facts of one lead the rules look at: its owner and the team whose queue it waits in (if any).</summary>
    public bool Allows(LeadRight right, Guid? ownerId, IReadOnlyCollection<Guid> queuedInTeams)
    {
        // Nobody's lead is a manager's to work unless it waits in another team's queue (then it is that team's).
        var mine = ownerId is { } o ? Owners.Contains(o) : WorkUnowned && queuedInTeams.All(QueueTeams.Contains);
        var inMyQueue = queuedInTeams.Any(QueueTeams.Contains);
        return right switch
        {
            LeadRight.Read => ReadAll || mine || inMyQueue,
            LeadRight.Work => CanWorkAtAll && (WorkAll || mine || inMyQueue),
            LeadRight.MoveStage or LeadRight.Annotate => MoveStageAll || (CanWorkAtAll && (WorkAll || mine || inMyQueue)),
            _ => false,
        };
    }
}

/// <summary>Decides, per caller and per lead, what is allowed. Implemented by Handoff, which owns teams and queues.</summary>
public interface ILeadAccess
{
    Task<LeadAccessScope> ScopeAsync(ClaimsPrincipal user, CancellationToken ct);

    /// <summary>Whether <paramref name="scope"/> allows <paramref name="right"/> on the lead; null when the lead does not exist.</summary>
    Task<bool?> AllowsAsync(TandemDb db, LeadAccessScope scope, Guid leadId, LeadRight right, CancellationToken ct);

    /// <summary>Restricts a lead query to the leads the scope may read (no-op for those who read all).</summary>
    IQueryable<Lead> Readable(TandemDb db, LeadAccessScope scope, IQueryable<Lead> leads);
}

/// <summary>Endpoint filters that guard <c>/leads/{id}</c> routes with the lead access policy.</summary>
public static class LeadAccessFilter
{
    public static TBuilder RequireLeadAccess<TBuilder>(this TBuilder builder, LeadRight right) where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (http.GetRouteValue("id") is not string raw || !Guid.TryParse(raw, out var leadId))
                return await next(context);
            var access = http.RequestServices.GetRequiredService<ILeadAccess>();
            var db = http.RequestServices.GetRequiredService<TandemDb>();
            var scope = await access.ScopeAsync(http.User, http.RequestAborted);
            var allowed = await access.AllowsAsync(db, scope, leadId, right, http.RequestAborted);
            if (allowed is null)
                return ApiConventions.NotFoundProblem($"No lead with id {leadId}.");
            if (allowed == false)
                return Forbidden(right);
            return await next(context);
        });
        return builder;
    }

    public static ProblemHttpResult Forbidden(LeadRight right) => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
        detail: right switch
        {
            LeadRight.Read => "This lead belongs to another rep or team.",
            _ => "You may not act on this lead: it belongs to another rep or team, or this action is not part of your role.",
        });
}

public static class LeadAccessExtensions
{
    /// <summary>One check for a page: may this user do <paramref name="right"/> to this lead (false when it does not exist)?</summary>
    public static async Task<bool> MayAsync(this ILeadAccess access, TandemDb db, ClaimsPrincipal user, Guid leadId, LeadRight right, CancellationToken ct) =>
        await access.AllowsAsync(db, await access.ScopeAsync(user, ct), leadId, right, ct) == true;
}
