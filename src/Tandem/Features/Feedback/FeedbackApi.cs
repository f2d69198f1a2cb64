using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Feedback;

public sealed record ResumeRequest(string? Note);

public sealed record GuardView(Guid CampaignId, CampaignStatus Status, GuardRule Rule, bool RuleIsDefault, GuardFigures Figures, DateTimeOffset? FlaggedAt,
    DateTimeOffset? PausedAt, int DispositionsSinceFlag, string? LastDecision, DateTimeOffset? LastDecisionAt);

/// <summary>Ratings, the lead-quality scorecard and the campaign guard over HTTP.</summary>
public static class FeedbackApi
{
    public const int MaxScorecardDays = 3 * 366;

    public static IServiceCollection AddFeedback(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<FeedbackOptions>(configuration.GetSection("Tandem:Feedback"));
        services.AddSingleton<FeedbackService>();
        services.AddSingleton<IDispositionListener>(sp => sp.GetRequiredService<FeedbackService>());
        services.AddScoped<DisputeService>();
        return services;
    }

    public static RouteGroupBuilder MapFeedbackApi(this RouteGroupBuilder api)
    {
        var leads = api.MapGroup("/leads").WithTags("Feedback");
        leads.MapPost("/{id:guid}/rating", RateAsync).RequireAuthorization(HandoffApi.TouchPolicy).RequireLeadAccess(LeadRight.Work)
            .WithSummary("Rate a lead 1–5 (and the meeting 1–5) with an optional comment; the author may change it for 48 hours.");
        leads.MapGet("/{id:guid}/ratings", RatingsAsync).RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read)
            .WithSummary("The reps' ratings of a lead.");

        leads.MapPost("/{id:guid}/disputes", OpenDisputeAsync).RequireAuthorization(Policies.LeadStage).RequireLeadAccess(LeadRight.Read)
            .WithSummary("Contest the last verdict on a lead with a comment: marketing a rejection, sales an MQL it received (the kind follows from the caller's side).");
        leads.MapGet("/{id:guid}/disputes", LeadDisputesAsync).RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read)
            .WithSummary("The disputes on a lead, newest first.");
        var disputes = api.MapGroup("/disputes").WithTags("Feedback");
        disputes.MapGet("/", DisputesAsync).RequireAuthorization(Policies.ScopeRead)
            .WithSummary("Disputes, newest first (status = open | upheld | overturned; take up to 500).");
        disputes.MapPost("/{id:guid}/resolve", ResolveDisputeAsync).RequireAuthorization(Policies.LeadStage)
            .WithSummary("Resolve a dispute as upheld or overturned with a note: a sales manager resolves marketing's, marketing resolves sales'.");

        api.MapGroup("/qualification").WithTags("Feedback").MapGet("/evidence", EvidenceAsync).RequireAuthorization(Policies.ScopeRead)
            .WithSummary("Evidence per scoring rule of the active definition: the dispositioned leads (last 10,000 verdicts) each rule scored, their acceptance rate and mean lead rating, against those it did not score.");

        var reports = api.MapGroup("/reports").RequireAuthorization(Policies.ScopeRead).WithTags("Feedback");
        reports.MapGet("/lead-quality", ScorecardAsync)
            .WithSummary("Lead-quality scorecard: leads created in the period, by campaign | channel | source | persona | campaignOwner (from, to as YYYY-MM-DD; campaignIds to compare).");
        reports.MapGet("/lead-quality.csv", ScorecardCsvAsync).WithSummary("The lead-quality scorecard as CSV.");
        reports.MapGet("/lead-quality/trend", TrendAsync)
            .WithSummary("Weekly trend (ISO weeks) per campaign: leads, MQLs, verdicts and acceptance rate, ratings and mean rating (from, to; campaignIds: up to five, none = all leads).");
        reports.MapGet("/lead-quality/trend.csv", TrendCsvAsync).WithSummary("The weekly trend as CSV.");

        var campaigns = api.MapGroup("/campaigns").WithTags("Feedback");
        campaigns.MapGet("/{id:guid}/guard", GuardAsync).RequireAuthorization(Policies.ScopeRead)
            .WithSummary("The campaign guard: rule, current figures, status and the last decision.");
        campaigns.MapPut("/{id:guid}/guard", PutGuardAsync).RequireAuthorization(Policies.ScopeIngest)
            .WithSummary("Set the campaign's own guard rule (a body of null fields uses the defaults); a rule that can never fire is refused.");
        campaigns.MapDelete("/{id:guid}/guard", DeleteGuardAsync).RequireAuthorization(Policies.ScopeIngest)
            .WithSummary("Go back to the workspace's default guard rule.");
        campaigns.MapPost("/{id:guid}/resume", ResumeAsync).RequireAuthorization(Policies.ScopeIngest)
            .WithSummary("Resume a paused or flagged campaign with a note (marketing); held MQLs are routed again by the next routing pass.");
        return api;
    }

    private static async Task<Results<Created<RatingView>, Ok<RatingView>, ValidationProblem, ProblemHttpResult>> RateAsync(Guid id, RatingRequest body,
        HttpContext http, TandemDb db, FeedbackService feedback, TimeProvider clock, CancellationToken ct)
    {
        var o = await Ratings.RateAsync(db, feedback, id, body, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (o.NotFound)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (o.Errors is not null)
            return TypedResults.ValidationProblem(o.Errors);
        return o.Created ? TypedResults.Created($"/api/v1/leads/{id}/ratings", o.Value!) : TypedResults.Ok(o.Value!);
    }

    private static async Task<Ok<List<RatingView>>> RatingsAsync(Guid id, TandemDb db, TimeProvider clock, CancellationToken ct) =>
        TypedResults.Ok(await Ratings.ListAsync(db, id, clock.GetUtcNow(), ct));

    private static Results<Created<DisputeView>, Ok<DisputeView>, ValidationProblem, ProblemHttpResult> DisputeResult(DisputeOutcome o, string what, bool created)
    {
        if (o.NotFound)
            return ApiConventions.NotFoundProblem(what);
        if (o.Forbidden is { } why)
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden", detail: why);
        if (o.Errors is not null)
            return TypedResults.ValidationProblem(o.Errors);
        return created ? TypedResults.Created($"/api/v1/leads/{o.Value!.LeadId}/disputes", o.Value) : TypedResults.Ok(o.Value!);
    }

    private static async Task<Results<Created<DisputeView>, Ok<DisputeView>, ValidationProblem, ProblemHttpResult>> OpenDisputeAsync(Guid id, DisputeRequest body,
        HttpContext http, DisputeService disputes, CancellationToken ct) =>
        DisputeResult(await disputes.OpenAsync(id, body, http.User, ct), $"No lead with id {id}.", created: true);

    private static async Task<Results<Created<DisputeView>, Ok<DisputeView>, ValidationProblem, ProblemHttpResult>> ResolveDisputeAsync(Guid id,
        ResolveDisputeRequest body, HttpContext http, DisputeService disputes, CancellationToken ct) =>
        DisputeResult(await disputes.ResolveAsync(id, body, http.User, ct), $"No dispute with id {id}.", created: false);

    private static async Task<Ok<List<DisputeView>>> LeadDisputesAsync(Guid id, TandemDb db, CancellationToken ct) =>
        TypedResults.Ok(await DisputeService.ListAsync(db, id, null, 500, ct));

    private static async Task<Results<Ok<List<DisputeView>>, ValidationProblem>> DisputesAsync(string? status, int? take, TandemDb db, CancellationToken ct)
    {
        DisputeStatus? s = null;
        var errors = new FieldErrors();
        if (!string.IsNullOrWhiteSpace(status))
        {
            if (Enum.TryParse<DisputeStatus>(status.Trim(), true, out var parsed) && Enum.IsDefined(parsed) && !int.TryParse(status, out _))
                s = parsed;
            else
                errors.Add("status", "One of: open, upheld, overturned.");
        }
        if (take is < 1 or > 500)
            errors.Add("take", "From 1 to 500.");
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        return TypedResults.Ok(await DisputeService.ListAsync(db, null, s, take ?? 100, ct));
    }

    private static async Task<Results<Ok<LeadQualityTrendReport>, ValidationProblem>> TrendAsync(string? from, string? to, string? campaignIds, TandemDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var q = ParseQuery(null, from, to, campaignIds, clock.GetUtcNow());
        if (q.Errors is not null)
            return TypedResults.ValidationProblem(q.Errors);
        return TypedResults.Ok(await LeadQualityTrend.ComputeAsync(db, q.From, q.To, q.Campaigns, ct));
    }

    private static async Task<Results<FileContentHttpResult, ValidationProblem>> TrendCsvAsync(string? from, string? to, string? campaignIds, TandemDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var q = ParseQuery(null, from, to, campaignIds, clock.GetUtcNow());
        if (q.Errors is not null)
            return TypedResults.ValidationProblem(q.Errors);
        var report = await LeadQualityTrend.ComputeAsync(db, q.From, q.To, q.Campaigns, ct);
        return TypedResults.File(System.Text.Encoding.UTF8.GetBytes(LeadQualityTrend.ToCsv(report)), "text/csv; charset=utf-8",
            $"lead-quality-trend-{report.From:yyyyMMdd}-{report.To:yyyyMMdd}.csv");
    }

    private static async Task<Ok<RuleEvidenceReport>> EvidenceAsync(TandemDb db, Qualification.ActiveDefinition active, CancellationToken ct) =>
        TypedResults.Ok(await RuleEvidence.ComputeAsync(db, active, ct));

    /// <summary>Parses the scorecard's query; field errors for an unknown grouping, a bad or reversed or too long period.</summary>
    public static (ScorecardBy By, DateOnly From, DateOnly To, List<Guid> Campaigns, Dictionary<string, string[]>? Errors) ParseQuery(string? by, string? from,
        string? to, string? campaignIds, DateTimeOffset now)
    {
        var errors = new FieldErrors();
        var group = ScorecardBy.Campaign;
        if (!string.IsNullOrWhiteSpace(by) && (!Enum.TryParse(by.Trim(), true, out group) || !Enum.IsDefined(group) || int.TryParse(by, out _)))
            errors.Add("by", "One of: campaign, channel, source, persona, campaignOwner.");
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var end = today;
        var start = today.AddDays(-89);
        if (!string.IsNullOrWhiteSpace(to) && !DateOnly.TryParseExact(to.Trim(), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.None, out end))
            errors.Add("to", "A date as YYYY-MM-DD.");
        if (!string.IsNullOrWhiteSpace(from) && !DateOnly.TryParseExact(from.Trim(), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.None, out start))
            errors.Add("from", "A date as YYYY-MM-DD.");
        else if (string.IsNullOrWhiteSpace(from))
            start = end.AddDays(-89);
        if (!errors.Any && end < start)
            errors.Add("to", "The period ends before it starts.");
        if (!errors.Any && end.DayNumber - start.DayNumber > MaxScorecardDays)
            errors.Add("from", $"At most {MaxScorecardDays} days.");
        var campaigns = new List<Guid>();
        foreach (var part in (campaignIds ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Guid.TryParse(part, out var g))
                campaigns.Add(g);
            else
                errors.Add("campaignIds", $"'{(part.Length > 40 ? part[..40] : part)}' is not a campaign id.");
        }
        if (campaigns.Count > 5)
            errors.Add("campaignIds", "Compare at most five campaigns.");
        return (group, start, end, campaigns, errors.Any ? errors.ToDictionary() : null);
    }

    private static async Task<Results<Ok<Scorecard>, ValidationProblem>> ScorecardAsync(string? by, string? from, string? to, string? campaignIds, TandemDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var q = ParseQuery(by, from, to, campaignIds, clock.GetUtcNow());
        if (q.Errors is not null)
            return TypedResults.ValidationProblem(q.Errors);
        return TypedResults.Ok(await LeadQualityScorecard.ComputeAsync(db, q.By, q.From, q.To, q.Campaigns, ct));
    }

    private static async Task<Results<FileContentHttpResult, ValidationProblem>> ScorecardCsvAsync(string? by, string? from, string? to, string? campaignIds,
        TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var q = ParseQuery(by, from, to, campaignIds, clock.GetUtcNow());
        if (q.Errors is not null)
            return TypedResults.ValidationProblem(q.Errors);
        var card = await LeadQualityScorecard.ComputeAsync(db, q.By, q.From, q.To, q.Campaigns, ct);
        return TypedResults.File(System.Text.Encoding.UTF8.GetBytes(LeadQualityScorecard.ToCsv(card)), "text/csv; charset=utf-8",
            $"lead-quality-{q.By.ToString().ToLowerInvariant()}-{q.From:yyyyMMdd}-{q.To:yyyyMMdd}.csv");
    }

    private static async Task<GuardView?> ViewAsync(Guid id, TandemDb db, FeedbackService feedback, CancellationToken ct)
    {
        var campaign = await db.Campaigns.AsNoTracking().FirstOrDefaultAsync(c => c.Id == id, ct);
        if (campaign is null)
            return null;
        var (rule, figures, state) = await feedback.FiguresAsync(db, id, ct);
        return new GuardView(id, campaign.Status, rule, state?.Rule is null, figures, state?.FlaggedAt, state?.PausedAt, state?.DispositionsSinceFlag ?? 0,
            state?.LastDecision, state?.LastDecisionAt);
    }

    private static async Task<Results<Ok<GuardView>, ProblemHttpResult>> GuardAsync(Guid id, TandemDb db, FeedbackService feedback, CancellationToken ct) =>
        await ViewAsync(id, db, feedback, ct) is { } view ? TypedResults.Ok(view) : ApiConventions.NotFoundProblem($"No campaign with id {id}.");

    private static async Task<Results<Ok<GuardView>, ValidationProblem, ProblemHttpResult>> SavedAsync(Guid id, Dictionary<string, string[]>? errors, TandemDb db,
        FeedbackService feedback, CancellationToken ct)
    {
        if (errors is null)
            return ApiConventions.NotFoundProblem($"No campaign with id {id}.");
        if (errors.Count > 0)
            return TypedResults.ValidationProblem(errors);
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok((await ViewAsync(id, db, feedback, ct))!);
    }

    private static async Task<Results<Ok<GuardView>, ValidationProblem, ProblemHttpResult>> PutGuardAsync(Guid id, GuardRule body, HttpContext http, TandemDb db,
        FeedbackService feedback, CancellationToken ct) =>
        await SavedAsync(id, await feedback.SetRuleAsync(db, id, body, Actor.From(http.User), ct), db, feedback, ct);

    private static async Task<Results<Ok<GuardView>, ValidationProblem, ProblemHttpResult>> DeleteGuardAsync(Guid id, HttpContext http, TandemDb db,
        FeedbackService feedback, CancellationToken ct) =>
        await SavedAsync(id, await feedback.SetRuleAsync(db, id, null, Actor.From(http.User), ct), db, feedback, ct);

    private static async Task<Results<Ok<GuardView>, ValidationProblem, ProblemHttpResult>> ResumeAsync(Guid id, ResumeRequest body, HttpContext http,
        TandemDb db, FeedbackService feedback, HandoffSetup setup, CancellationToken ct)
    {
        var result = await SavedAsync(id, await feedback.ResumeAsync(db, id, body.Note, Actor.From(http.User), ct), db, feedback, ct);
        if (result.Result is Ok<GuardView>)
            await setup.RouteHeldAsync(id, ct);
        return result;
    }
}
