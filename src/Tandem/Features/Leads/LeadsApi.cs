using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Platform;

namespace Tandem.Features.Leads;

public sealed record LeadListItem(Guid Id, string? Email, string? FirstName, string? LastName, string? Company, string? JobTitle,
    string? Country, LifecycleStage Stage, int FitScore, int EngagementScore, Channel? FirstChannel, Guid? OwnerId, DateTimeOffset CreatedAt,
    bool? EmailOptIn = null, bool DoNotEmail = false, bool DoNotCall = false, DateTimeOffset? ErasedAt = null);

/// <summary>
/// A page of leads. <see cref="TotalCount"/> is exact up to <see cref="LeadsApi.CountCap"/>; above it the count stops there and
/// <see cref="TotalIsCapped"/> is true, so a broad filter over a million leads never scans them all just to print a number.
/// </summary>
public sealed record LeadPage(IReadOnlyList<LeadListItem> Items, int PageNumber, int PageSize, int TotalCount, bool TotalIsCapped);

public sealed record TimelineItem(Guid Id, ActivityType Type, DateTimeOffset OccurredAt, Channel? Channel, Guid? CampaignId, string? Url, string? Outcome);

public sealed record StageChange(LifecycleStage? From, LifecycleStage To, DateTimeOffset At, Guid? ByUserId, string? ByRule, string? Reason);

public sealed record LeadDetail(Guid Id, string? Email, string? Phone, string? ExternalSystem, string? ExternalId,
    string? FirstName, string? LastName, string? JobTitle, string? Company, int? CompanySize, string? Industry, string? Country,
    string? City, string? Language, Guid? AccountId, Guid? OwnerId, Guid? PersonaId, LifecycleStage Stage, WorkStatus WorkStatus,
    int FitScore, int EngagementScore, Channel? FirstChannel, string? FirstSource, Guid? FirstCampaignId,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<TimelineItem> Timeline, IReadOnlyList<StageChange> Stages,
    Privacy.LeadConsent? Consent = null, DateTimeOffset? ErasedAt = null, string? ErasedBy = null);

/// <summary>The orders the lead list offers; each ends on the id so pages are stable and every order is served by an index.</summary>
public enum LeadSort
{
    CreatedDesc,
    CreatedAsc,
    NameAsc,
    NameDesc,
    CompanyAsc,
    CompanyDesc,
    FitDesc,
    FitAsc,
    EngagementDesc,
    EngagementAsc,
    StageAsc,
    StageDesc,
}

/// <summary>Filters and order for <c>GET /api/v1/leads</c> (and the leads page).</summary>
public sealed class LeadQuery
{
    [FromQuery] public LifecycleStage? Stage { get; set; }
    /// <summary>First-touch channel.</summary>
    [FromQuery] public Channel? Channel { get; set; }
    [FromQuery] public Guid? OwnerId { get; set; }
    /// <summary>First-touch campaign.</summary>
    [FromQuery] public Guid? CampaignId { get; set; }
    [FromQuery] public Guid? PersonaId { get; set; }
    [FromQuery, System.ComponentModel.DataAnnotations.Range(-1000, 1000)] public int? MinFit { get; set; }
    [FromQuery, System.ComponentModel.DataAnnotations.Range(-1000, 100000)] public int? MinEngagement { get; set; }
    /// <summary>Case-insensitive prefix search on email, last name or company.</summary>
    [FromQuery, System.ComponentModel.DataAnnotations.MaxLength(100)] public string? Search { get; set; }
    [FromQuery] public DateTimeOffset? CreatedFrom { get; set; }
    [FromQuery] public DateTimeOffset? CreatedTo { get; set; }
    /// <summary><c>created</c>, <c>name</c>, <c>company</c>, <c>fit</c>, <c>engagement</c> or <c>stage</c>; a leading <c>-</c> sorts descending. Default <c>-created</c>.</summary>
    [FromQuery, System.ComponentModel.DataAnnotations.MaxLength(20)] public string? Sort { get; set; }
}

/// <summary>Read side of leads: <c>GET /api/v1/leads</c>, <c>GET /api/v1/leads/{id}</c>, duplicates and the manual merge.</summary>
public static class LeadsApi
{
    /// <summary>Counting stops here: beyond it the UI shows "10,000+" and the API sets <c>totalIsCapped</c>.</summary>
    public const int CountCap = 10_000;

    public static readonly IReadOnlyDictionary<string, (LeadSort Asc, LeadSort Desc)> SortKeys =
        new Dictionary<string, (LeadSort, LeadSort)>(StringComparer.OrdinalIgnoreCase)
        {
            ["created"] = (LeadSort.CreatedAsc, LeadSort.CreatedDesc),
            ["name"] = (LeadSort.NameAsc, LeadSort.NameDesc),
            ["company"] = (LeadSort.CompanyAsc, LeadSort.CompanyDesc),
            ["fit"] = (LeadSort.FitAsc, LeadSort.FitDesc),
            ["engagement"] = (LeadSort.EngagementAsc, LeadSort.EngagementDesc),
            ["stage"] = (LeadSort.StageAsc, LeadSort.StageDesc),
        };

    public static RouteGroupBuilder MapLeadsApi(this RouteGroupBuilder api)
    {
        var leads = api.MapGroup("/leads").RequireAuthorization(Policies.ScopeRead).WithTags("Leads");
        leads.MapGet("/", ListAsync).WithSummary(
            $"List leads (default newest first) with filters and sort. pageSize is at most {PageQuery.MaxPageSize}; totalCount stops at {CountCap} (totalIsCapped).");
        leads.MapGet("/{id:guid}", GetAsync).RequireLeadAccess(LeadRight.Read).WithSummary("One lead with its activity timeline and stage history.");
        leads.MapGet("/duplicates", DuplicatesAsync).WithSummary("Likely duplicates that identifiers cannot catch: same name and company, or same name and account.");
        api.MapGroup("/leads").RequireAuthorization(Policies.ScopeIngest).WithTags("Leads")
            .MapPost("/{id:guid}/merge", MergeLeads.MergeEndpointAsync).RequireLeadAccess(LeadRight.MoveStage)
            .WithSummary("Merge another lead into this one (the survivor): activities, stage history and deals move, the other lead is deleted.");
        return api;
    }

    /// <summary>Parses <c>sort</c>; null with an error message when it is not one of <see cref="SortKeys"/>.</summary>
    public static (LeadSort? Sort, string? Error) ParseSort(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return (LeadSort.CreatedDesc, null);
        var v = value.Trim();
        var desc = v.StartsWith('-');
        var key = desc || v.StartsWith('+') ? v[1..] : v;
        return SortKeys.TryGetValue(key, out var pair)
            ? (desc ? pair.Desc : pair.Asc, null)
            : (null, $"Unknown sort '{value}'. Use one of {string.Join(", ", SortKeys.Keys)}, with a leading '-' for descending.");
    }

    /// <summary>Field errors of a query that binding alone cannot catch (sort key, date order).</summary>
    public static Dictionary<string, string[]> Validate(LeadQuery f)
    {
        var errors = new Dictionary<string, string[]>();
        if (ParseSort(f.Sort).Error is { } sortError)
            errors["sort"] = [sortError];
        if (f.CreatedFrom is { } from && f.CreatedTo is { } to && to < from)
            errors["createdTo"] = ["createdTo is before createdFrom."];
        return errors;
    }

    /// <summary>The exclusive upper bound of a prefix range: "mar" → "mas".</summary>
    internal static string PrefixUpperBound(string prefix) =>
        prefix[..^1] + (char)(prefix[^1] + 1);

    /// <summary>
    /// Every predicate hits an index: equality on indexed columns, score thresholds filter the rows the other predicates found, and the search as a
    /// range over the lower-cased email (already stored lower-case), lower(LastName) and lower(Company) expression indexes — a range
    /// rather than LIKE because SQLite only uses an index for LIKE on NOCASE columns.
    /// </summary>
    internal static IQueryable<Lead> Filter(IQueryable<Lead> q, LeadQuery f)
    {
        if (f.Stage is { } stage) q = q.Where(l => l.Stage == stage);
        if (f.Channel is { } channel) q = q.Where(l => l.FirstChannel == channel);
        if (f.OwnerId is { } owner) q = q.Where(l => l.OwnerId == owner);
        if (f.CampaignId is { } campaign) q = q.Where(l => l.FirstCampaignId == campaign);
        if (f.PersonaId is { } persona) q = q.Where(l => l.PersonaId == persona);
        if (f.MinFit is { } fit) q = q.Where(l => l.FitScore >= fit);
        if (f.MinEngagement is { } engagement) q = q.Where(l => l.EngagementScore >= engagement);
        if (f.CreatedFrom is { } from) q = q.Where(l => l.CreatedAt >= from);
        if (f.CreatedTo is { } to) q = q.Where(l => l.CreatedAt < to);
        if (!string.IsNullOrWhiteSpace(f.Search))
        {
            var lo = f.Search.Trim().ToLowerInvariant();
            var hi = PrefixUpperBound(lo);
            q = q.Where(l => (string.Compare(l.Email, lo) >= 0 && string.Compare(l.Email, hi) < 0) ||
                             (string.Compare(l.LastName!.ToLower(), lo) >= 0 && string.Compare(l.LastName!.ToLower(), hi) < 0) ||
                             (string.Compare(l.Company!.ToLower(), lo) >= 0 && string.Compare(l.Company!.ToLower(), hi) < 0));
        }
        return q;
    }

    internal static IQueryable<Lead> Order(IQueryable<Lead> q, LeadSort sort) => sort switch
    {
        LeadSort.CreatedAsc => q.OrderBy(l => l.CreatedAt).ThenBy(l => l.Id),
        // Names and companies sort case-insensitively, on the same lower() expressions the search indexes cover.
        LeadSort.NameAsc => q.OrderBy(l => l.LastName!.ToLower()).ThenBy(l => l.FirstName!.ToLower()).ThenBy(l => l.Id),
        LeadSort.NameDesc => q.OrderByDescending(l => l.LastName!.ToLower()).ThenByDescending(l => l.FirstName!.ToLower()).ThenByDescending(l => l.Id),
        LeadSort.CompanyAsc => q.OrderBy(l => l.Company!.ToLower()).ThenBy(l => l.Id),
        LeadSort.CompanyDesc => q.OrderByDescending(l => l.Company!.ToLower()).ThenByDescending(l => l.Id),
        LeadSort.FitDesc => q.OrderByDescending(l => l.FitScore).ThenByDescending(l => l.Id),
        LeadSort.FitAsc => q.OrderBy(l => l.FitScore).ThenBy(l => l.Id),
        LeadSort.EngagementDesc => q.OrderByDescending(l => l.EngagementScore).ThenByDescending(l => l.Id),
        LeadSort.EngagementAsc => q.OrderBy(l => l.EngagementScore).ThenBy(l => l.Id),
        LeadSort.StageAsc => q.OrderBy(l => l.Stage).ThenBy(l => l.CreatedAt).ThenBy(l => l.Id),
        LeadSort.StageDesc => q.OrderByDescending(l => l.Stage).ThenByDescending(l => l.CreatedAt).ThenByDescending(l => l.Id),
        _ => q.OrderByDescending(l => l.CreatedAt).ThenByDescending(l => l.Id),
    };

    /// <summary>One page of leads for the API and the leads page; the count is capped (see <see cref="LeadPage"/>).</summary>
    public static async Task<LeadPage> QueryAsync(TandemDb db, LeadQuery filter, LeadSort sort, int pageNumber, int pageSize, CancellationToken ct,
        ILeadAccess? access = null, LeadAccessScope? scope = null)
    {
        var q = Filter(db.Leads.AsNoTracking(), filter);
        if (access is not null && scope is not null)
            q = access.Readable(db, scope, q);
        var counted = await q.Select(l => l.Id).Take(CountCap + 1).CountAsync(ct);
        var items = await Order(q, sort).Skip((pageNumber - 1) * pageSize).Take(pageSize)
            .Select(l => new LeadListItem(l.Id, l.Email, l.FirstName, l.LastName, l.Company, l.JobTitle, l.Country, l.Stage,
                l.FitScore, l.EngagementScore, l.FirstChannel, l.OwnerId, l.CreatedAt, l.EmailOptIn, l.DoNotEmail, l.DoNotCall, l.ErasedAt))
            .ToListAsync(ct);
        return new LeadPage(items, pageNumber, pageSize, Math.Min(counted, CountCap), counted > CountCap);
    }

    private static async Task<Results<Ok<LeadPage>, ValidationProblem>> ListAsync([AsParameters] LeadQuery filter, [AsParameters] PageQuery page, TandemDb db,
        ILeadAccess access, HttpContext http, CancellationToken ct)
    {
        var errors = Validate(filter);
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        var scope = await access.ScopeAsync(http.User, ct);
        return TypedResults.Ok(await QueryAsync(db, filter, ParseSort(filter.Sort).Sort!.Value, page.PageNumber, page.Size, ct, access, scope));
    }

    private static async Task<Results<Ok<LeadDetail>, ProblemHttpResult>> GetAsync(Guid id, TandemDb db, CancellationToken ct)
    {
        var l = await db.Leads.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (l is null)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        var timeline = await db.Activities.AsNoTracking().Where(a => a.LeadId == id).OrderByDescending(a => a.OccurredAt).Take(500)
            .Select(a => new TimelineItem(a.Id, a.Type, a.OccurredAt, a.Channel, a.CampaignId, a.Url, a.Outcome)).ToListAsync(ct);
        var stages = await db.StageTransitions.AsNoTracking().Where(t => t.LeadId == id).OrderBy(t => t.At)
            .Select(t => new StageChange(t.From, t.To, t.At, t.ByUserId, t.ByRule, t.Reason)).ToListAsync(ct);
        return TypedResults.Ok(new LeadDetail(l.Id, l.Email, l.Phone, l.ExternalSystem, l.ExternalId, l.FirstName, l.LastName, l.JobTitle,
            l.Company, l.CompanySize, l.Industry, l.Country, l.City, l.Language, l.AccountId, l.OwnerId, l.PersonaId, l.Stage, l.WorkStatus,
            l.FitScore, l.EngagementScore, l.FirstChannel, l.FirstSource, l.FirstCampaignId, l.CreatedAt, l.UpdatedAt, timeline, stages,
            Privacy.PrivacyService.ConsentOf(l, await Privacy.PrivacyService.LedgerAsync(db, id, ct)), l.ErasedAt, l.ErasedBy));
    }

    /// <summary>Groups of likely duplicates, limited to the leads the caller may read (a group needs two of them).</summary>
    private static async Task<Ok<IReadOnlyList<DuplicateGroup>>> DuplicatesAsync(TandemDb db, ILeadAccess access, HttpContext http, CancellationToken ct)
    {
        var groups = await MergeLeads.FindDuplicatesAsync(db, 100, ct);
        var scope = await access.ScopeAsync(http.User, ct);
        if (scope.ReadAll)
            return TypedResults.Ok(groups);
        var ids = groups.SelectMany(g => g.Leads).Select(l => l.Id).ToList();
        var readable = (await access.Readable(db, scope, db.Leads.AsNoTracking().Where(l => ids.Contains(l.Id))).Select(l => l.Id).ToListAsync(ct)).ToHashSet();
        IReadOnlyList<DuplicateGroup> visible = [.. groups.Select(g => g with { Leads = [.. g.Leads.Where(l => readable.Contains(l.Id))] }).Where(g => g.Leads.Count > 1)];
        return TypedResults.Ok(visible);
    }
}
