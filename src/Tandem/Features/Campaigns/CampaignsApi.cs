using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Features.Campaigns;

public sealed record SpendLine(DateOnly On, decimal Amount, string? Note);

public sealed record CampaignSummary(Guid Id, string Name, Channel Channel, CampaignStatus Status, DateOnly? StartsOn, DateOnly? EndsOn,
    decimal Budget, decimal Spent, string Currency, int Leads);

public sealed record CampaignDetail(Guid Id, string Name, Channel Channel, CampaignStatus Status, DateOnly? StartsOn, DateOnly? EndsOn,
    decimal Budget, decimal Spent, string Currency, string? UtmCampaign, int Leads, IReadOnlyList<SpendLine> Spend);

/// <summary>Read side of campaigns: <c>GET /api/v1/campaigns</c> and <c>GET /api/v1/campaigns/{id}</c>.</summary>
public static class CampaignsApi
{
    public static RouteGroupBuilder MapCampaignsApi(this RouteGroupBuilder api)
    {
        var campaigns = api.MapGroup("/campaigns").RequireAuthorization(Policies.ScopeRead).WithTags("Campaigns");
        campaigns.MapGet("/", ListAsync).WithSummary($"List campaigns with budget, spend and lead count. pageSize is at most {PageQuery.MaxPageSize}.");
        campaigns.MapGet("/{id:guid}", GetAsync).WithSummary("One campaign with its spend lines.");
        return api;
    }

    /// <summary>Campaign summaries with spend and first-touch lead counts. Money is summed in memory: SQLite has no decimal SUM.</summary>
    public static async Task<Page<CampaignSummary>> QueryAsync(TandemDb db, PageQuery page, CancellationToken ct)
    {
        var total = await db.Campaigns.CountAsync(ct);
        var rows = await db.Campaigns.AsNoTracking().OrderByDescending(c => c.StartsOn).ThenBy(c => c.Name)
            .Skip(page.Skip).Take(page.Size).ToListAsync(ct);
        var ids = rows.Select(r => r.Id).ToList();
        var spend = (await db.CampaignSpend.AsNoTracking().Where(s => ids.Contains(s.CampaignId)).Select(s => new { s.CampaignId, s.Amount }).ToListAsync(ct))
            .GroupBy(s => s.CampaignId).ToDictionary(g => g.Key, g => g.Sum(x => x.Amount));
        var leads = await db.Leads.AsNoTracking().Where(l => l.FirstCampaignId != null && ids.Contains(l.FirstCampaignId.Value))
            .GroupBy(l => l.FirstCampaignId!.Value).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        var items = rows.Select(c => new CampaignSummary(c.Id, c.Name, c.Channel, c.Status, c.StartsOn, c.EndsOn, c.Budget,
            spend.GetValueOrDefault(c.Id), c.Currency, leads.GetValueOrDefault(c.Id))).ToList();
        return new Page<CampaignSummary>(items, page.PageNumber, page.Size, total);
    }

    private static async Task<Ok<Page<CampaignSummary>>> ListAsync([AsParameters] PageQuery page, TandemDb db, CancellationToken ct) =>
        TypedResults.Ok(await QueryAsync(db, page, ct));

    private static async Task<Results<Ok<CampaignDetail>, ProblemHttpResult>> GetAsync(Guid id, TandemDb db, CancellationToken ct)
    {
        var c = await db.Campaigns.AsNoTracking().Include(x => x.Spend).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null)
            return ApiConventions.NotFoundProblem($"No campaign with id {id}.");
        var leads = await db.Leads.CountAsync(l => l.FirstCampaignId == id, ct);
        var spend = c.Spend.OrderBy(s => s.On).Select(s => new SpendLine(s.On, s.Amount, s.Note)).ToList();
        return TypedResults.Ok(new CampaignDetail(c.Id, c.Name, c.Channel, c.Status, c.StartsOn, c.EndsOn, c.Budget,
            spend.Sum(s => s.Amount), c.Currency, c.UtmCampaign, leads, spend));
    }
}
