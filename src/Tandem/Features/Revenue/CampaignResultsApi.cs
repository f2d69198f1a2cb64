using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

/// <summary>Every campaign's results in a period, in the reporting currency, credited by one attribution model.</summary>
public sealed record CampaignResultsReport(DateOnly From, DateOnly To, string Currency, string Model, IReadOnlyList<CampaignResult> Campaigns);

/// <summary>One campaign's results in a period and its weekly trend (the weeks' won revenue adds up to the campaign's).</summary>
public sealed record CampaignResultsDetail(DateOnly From, DateOnly To, string Currency, string Model, CampaignResult Campaign, IReadOnlyList<TrendWeek> Weeks);

/// <summary>Campaign results over HTTP: <c>GET /api/v1/campaigns/results</c> and <c>GET /api/v1/campaigns/{id}/results</c> (scope read).</summary>
public static class CampaignResultsApi
{
    public static RouteGroupBuilder MapCampaignResultsApi(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/campaigns").RequireAuthorization(Policies.ScopeRead).WithTags("Campaigns");
        g.MapGet("/results", ListAsync).WithName("GetCampaignResults")
            .WithSummary("Every campaign's leads, MQLs, SQLs, opportunities, won revenue credited by the model, spend, cost per lead / MQL / SQL, CAC, ROI, "
                + "acceptance rate and mean lead rating for a period (from, to as YYYY-MM-DD; model as in /reports/attribution, default linear), "
                + "sorted by sort=name|roi|quality|acceptance|revenue|leads and order=asc|desc.");
        g.MapGet("/{id:guid}/results", GetAsync).WithName("GetCampaignResult")
            .WithSummary("One campaign's results for a period and its weekly trend (leads, MQLs, SQLs, won revenue credited by the model).");
        return api;
    }

    private static async Task<Results<Ok<CampaignResultsReport>, ValidationProblem>> ListAsync(string? from, string? to, string? model, string? sort,
        string? order, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var m = RevenueReportsApi.ParseModel(model, errors);
        var by = CampaignSort.Name;
        if (!string.IsNullOrWhiteSpace(sort) && !RevenueReportsApi.TryParseName(sort, out by))
            errors.Add("sort", "One of: name, roi, quality, acceptance, revenue, leads.");
        var descending = by != CampaignSort.Name;
        if (!string.IsNullOrWhiteSpace(order))
        {
            if (string.Equals(order.Trim(), "asc", StringComparison.OrdinalIgnoreCase))
                descending = false;
            else if (string.Equals(order.Trim(), "desc", StringComparison.OrdinalIgnoreCase))
                descending = true;
            else
                errors.Add("order", "One of: asc, desc.");
        }
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var period = ReportPeriod.Parse(from, to, ReportPeriod.FindZone(settings.TimeZone), clock.GetUtcNow(), errors);
        if (errors.Any || period is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        var rows = await RevenueDashboard.CampaignResultsAsync(db, period, m, null, ct);
        return TypedResults.Ok(new CampaignResultsReport(period.From, period.To, settings.ReportingCurrency, Attribution.NameOf(m),
            [.. RevenueDashboard.Sort(rows, by, descending)]));
    }

    private static async Task<Results<Ok<CampaignResultsDetail>, ValidationProblem, ProblemHttpResult>> GetAsync(Guid id, string? from, string? to,
        string? model, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var m = RevenueReportsApi.ParseModel(model, errors);
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var period = ReportPeriod.Parse(from, to, ReportPeriod.FindZone(settings.TimeZone), clock.GetUtcNow(), errors);
        if (errors.Any || period is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        if (!await db.Campaigns.AnyAsync(c => c.Id == id, ct))
            return ApiConventions.NotFoundProblem($"No campaign with id {id}.");
        return TypedResults.Ok(await DetailAsync(db, id, period, m, ct));
    }

    /// <summary>One campaign's results and weekly trend (the page and the API both call it).</summary>
    public static async Task<CampaignResultsDetail> DetailAsync(TandemDb db, Guid id, ReportPeriod period, AttributionModel model, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var result = (await RevenueDashboard.CampaignResultsAsync(db, period, model, [id], ct)).Single();
        var weeks = await RevenueDashboard.CampaignTrendAsync(db, period, model, id, ct);
        return new CampaignResultsDetail(period.From, period.To, settings.ReportingCurrency, Attribution.NameOf(model), result, weeks);
    }
}
