using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Platform;

namespace Tandem.Features.Leads;

public sealed record LeadListItem(Guid Id, string? Email, string? FirstName, string? LastName, string? Company, string? JobTitle,
    string? Country, LifecycleStage Stage, int FitScore, int EngagementScore, Channel? FirstChannel, Guid? OwnerId, DateTimeOffset CreatedAt);

public sealed record TimelineItem(Guid Id, ActivityType Type, DateTimeOffset OccurredAt, Channel? Channel, Guid? CampaignId, string? Url, string? Outcome);

public sealed record StageChange(LifecycleStage? From, LifecycleStage To, DateTimeOffset At, Guid? ByUserId, string? ByRule, string? Reason);

public sealed record LeadDetail(Guid Id, string? Email, string? Phone, string? ExternalSystem, string? ExternalId,
    string? FirstName, string? LastName, string? JobTitle, string? Company, int? CompanySize, string? Industry, string? Country,
    string? City, string? Language, Guid? AccountId, Guid? OwnerId, Guid? PersonaId, LifecycleStage Stage, WorkStatus WorkStatus,
    int FitScore, int EngagementScore, Channel? FirstChannel, string? FirstSource, Guid? FirstCampaignId,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<TimelineItem> Timeline, IReadOnlyList<StageChange> Stages);

/// <summary>Filters for <c>GET /api/v1/leads</c>.</summary>
public sealed class LeadQuery
{
    [FromQuery] public LifecycleStage? Stage { get; set; }
    [FromQuery] public Channel? Channel { get; set; }
    [FromQuery] public Guid? OwnerId { get; set; }
    [FromQuery] public Guid? CampaignId { get; set; }
    /// <summary>Case-insensitive prefix search on email, last name or company.</summary>
    [FromQuery, System.ComponentModel.DataAnnotations.MaxLength(100)] public string? Search { get; set; }
    [FromQuery] public DateTimeOffset? CreatedFrom { get; set; }
    [FromQuery] public DateTimeOffset? CreatedTo { get; set; }
}

/// <summary>Read side of leads: <c>GET /api/v1/leads</c> and <c>GET /api/v1/leads/{id}</c>.</summary>
public static class LeadsApi
{
    public static RouteGroupBuilder MapLeadsApi(this RouteGroupBuilder api)
    {
        var leads = api.MapGroup("/leads").RequireAuthorization(Policies.ScopeRead).WithTags("Leads");
        leads.MapGet("/", ListAsync).WithSummary($"List leads, newest first. pageSize is at most {PageQuery.MaxPageSize}.");
        leads.MapGet("/{id:guid}", GetAsync).WithSummary("One lead with its activity timeline and stage history.");
        return api;
    }

    internal static IQueryable<Lead> Filter(IQueryable<Lead> q, LeadQuery f)
    {
        if (f.Stage is { } stage) q = q.Where(l => l.Stage == stage);
        if (f.Channel is { } channel) q = q.Where(l => l.FirstChannel == channel);
        if (f.OwnerId is { } owner) q = q.Where(l => l.OwnerId == owner);
        if (f.CampaignId is { } campaign) q = q.Where(l => l.FirstCampaignId == campaign || l.LatestCampaignId == campaign);
        if (f.CreatedFrom is { } from) q = q.Where(l => l.CreatedAt >= from);
        if (f.CreatedTo is { } to) q = q.Where(l => l.CreatedAt < to);
        if (!string.IsNullOrWhiteSpace(f.Search))
        {
            var s = f.Search.Trim().ToLowerInvariant();
            q = q.Where(l => (l.Email != null && l.Email.StartsWith(s)) ||
                             (l.LastName != null && l.LastName.ToLower().StartsWith(s)) ||
                             (l.Company != null && l.Company.ToLower().StartsWith(s)));
        }
        return q;
    }

    private static async Task<Ok<Page<LeadListItem>>> ListAsync([AsParameters] LeadQuery filter, [AsParameters] PageQuery page, TandemDb db, CancellationToken ct)
    {
        var q = Filter(db.Leads.AsNoTracking(), filter);
        var total = await q.CountAsync(ct);
        var items = await q.OrderByDescending(l => l.Id).Skip(page.Skip).Take(page.Size)
            .Select(l => new LeadListItem(l.Id, l.Email, l.FirstName, l.LastName, l.Company, l.JobTitle, l.Country, l.Stage,
                l.FitScore, l.EngagementScore, l.FirstChannel, l.OwnerId, l.CreatedAt))
            .ToListAsync(ct);
        return TypedResults.Ok(new Page<LeadListItem>(items, page.PageNumber, page.Size, total));
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
            l.FitScore, l.EngagementScore, l.FirstChannel, l.FirstSource, l.FirstCampaignId, l.CreatedAt, l.UpdatedAt, timeline, stages));
    }
}
