using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

public sealed record MqlConditionView(int Index, string Condition, bool Holds, IReadOnlyList<MqlGap> Gaps);

/// <summary>A lead's live score under the active version and why it is, or is not, an MQL.</summary>
public sealed record LeadScoreView(Guid LeadId, int? Version, LifecycleStage Stage, int Fit, int Engagement, Grade Grade, PersonaMatch? Persona,
    bool MeetsMqlRule, IReadOnlyList<ScoreLine> Lines, IReadOnlyList<MqlConditionView> Mql, DateTimeOffset At);

public sealed record StageRequest(StageAction? Action, LifecycleStage? To, string? Reason);

public sealed record BacktestRequest(int? Days);

public static class LeadExplanations
{
    /// <summary>Scores the lead now with the active version (decay included); null when the lead or the active version is missing.</summary>
    public static async Task<LeadScoreView?> ExplainAsync(TandemDb db, ActiveDefinition active, Guid leadId, DateTimeOffset now, CancellationToken ct)
    {
        var scoring = await active.GetAsync(db, ct);
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null || scoring is null)
            return null;
        var activities = await ScoringFacts.ActivitiesAsync(db, [leadId], ScoringFacts.NeedsProperties(scoring.Definition), ct);
        var score = scoring.Scorer.Score(ScoringFacts.ForLead(lead), activities.GetValueOrDefault(leadId) ?? [], now);
        var conditions = score.Mql.Select(m => new MqlConditionView(m.Index, Describe.Condition(scoring.Definition.Mql.AnyOf[m.Index]), m.Holds, m.Gaps)).ToList();
        return new LeadScoreView(lead.Id, scoring.VersionNumber, lead.Stage, score.Fit, score.Engagement, score.Grade, score.Persona, score.IsMql,
            score.Lines, conditions, now);
    }
}

/// <summary>
/// Personas, the versioned qualified-lead definition (drafts, approvals, activation, diff, backtests), score explanations and
/// lifecycle moves.
/// </summary>
public static class QualificationApi
{
    public const int MaxBacktestDays = 365;

    public static RouteGroupBuilder MapQualificationApi(this RouteGroupBuilder api)
    {
        var personas = api.MapGroup("/personas").WithTags("Personas");
        personas.MapGet("/", async (TandemDb db, CancellationToken ct) => TypedResults.Ok(await Personas.ListAsync(db, ct)))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("Buyer personas with their fit criteria and how many leads match each.");
        personas.MapGet("/{id:guid}", GetPersonaAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("One persona.");
        personas.MapPost("/", CreatePersonaAsync).RequireAuthorization(Policies.PersonaEdit)
            .WithSummary("Create a persona. Every lead is re-matched in the background.");
        personas.MapPut("/{id:guid}", UpdatePersonaAsync).RequireAuthorization(Policies.PersonaEdit)
            .WithSummary("Replace a persona. Every lead is re-matched in the background.");
        personas.MapDelete("/{id:guid}", DeletePersonaAsync).RequireAuthorization(Policies.PersonaEdit).WithSummary("Delete a persona.");

        var q = api.MapGroup("/qualification").WithTags("Qualification");
        q.MapGet("/active", async (DefinitionVersions versions, CancellationToken ct) =>
                await versions.GetActiveAsync(ct) is { } d ? (Results<Ok<VersionDetail>, ProblemHttpResult>)TypedResults.Ok(d)
                    : ApiConventions.NotFoundProblem("No version is active yet."))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("The active qualified-lead definition.");
        q.MapGet("/versions", async (DefinitionVersions versions, CancellationToken ct) => TypedResults.Ok(await versions.ListAsync(ct)))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("Every version, newest first (Draft, Active, Retired).");
        q.MapGet("/versions/{id:guid}", async (Guid id, DefinitionVersions versions, CancellationToken ct) =>
                await versions.GetAsync(id, ct) is { } d ? (Results<Ok<VersionDetail>, ProblemHttpResult>)TypedResults.Ok(d)
                    : ApiConventions.NotFoundProblem($"No version with id {id}."))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("One version with its definition, approvals and (for drafts) validation issues.");
        q.MapGet("/versions/{id:guid}/diff", DiffAsync).RequireAuthorization(Policies.ScopeRead)
            .WithSummary("Readable changes from version `against` (default: the active one) to this version.");
        q.MapPost("/versions", CreateDraftAsync).RequireAuthorization(Policies.DefinitionDraft)
            .WithSummary("Create a draft, copied from `copyFrom` or from the active version.");
        q.MapPut("/versions/{id:guid}", UpdateDraftAsync).RequireAuthorization(Policies.DefinitionDraft)
            .WithSummary("Save a draft. `revision` must be the revision you edited (409 when someone saved in between).");
        q.MapDelete("/versions/{id:guid}", DeleteDraftAsync).RequireAuthorization(Policies.DefinitionDraft).WithSummary("Delete a draft.");
        q.MapPost("/versions/{id:guid}/approve", ApproveAsync).RequireAuthorization(Policies.DefinitionDraft)
            .WithSummary("Approve a draft as Marketing or as Sales (by the caller's role).");
        q.MapPost("/versions/{id:guid}/activate", ActivateAsync).RequireAuthorization(Policies.DefinitionDraft)
            .WithSummary("Activate a draft (Admin, or after one Marketing and one Sales approval). Retires the active version and rescores every lead.");
        q.MapPost("/versions/{id:guid}/backtests", BacktestAsync).RequireAuthorization(Policies.DefinitionDraft)
            .WithSummary($"Replay this version over the leads of the last `days` days (1–{MaxBacktestDays}, default 90) next to the active one.");
        q.MapGet("/jobs", async (TandemDb db, CancellationToken ct) => TypedResults.Ok((await db.QualificationJobs.AsNoTracking()
                .OrderByDescending(j => j.CreatedAt).Take(50).ToListAsync(ct)).Select(JobView.From).ToList()))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("The 50 latest rescore, decay and backtest jobs.");
        q.MapGet("/jobs/{id:guid}", async (Guid id, TandemDb db, CancellationToken ct) =>
                await db.QualificationJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct) is { } j
                    ? (Results<Ok<JobView>, ProblemHttpResult>)TypedResults.Ok(JobView.From(j)) : ApiConventions.NotFoundProblem($"No job with id {id}."))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("One job with its progress (and the backtest result when done).");
        q.MapPost("/jobs/{id:guid}/cancel", CancelJobAsync).RequireAuthorization(Policies.DefinitionDraft).WithSummary("Cancel a queued or running job.");

        var leads = api.MapGroup("/leads").WithTags("Leads");
        leads.MapGet("/{id:guid}/score", ScoreAsync).RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read)
            .WithSummary("The lead's score now (fit, engagement with decay, grade, persona), each line explained, and why it is or is not an MQL.");
        leads.MapPost("/{id:guid}/stage", MoveStageAsync).RequireAuthorization(Policies.LeadStage).RequireLeadAccess(LeadRight.MoveStage)
            .WithSummary("Move a lead: advance (forward only), recycle, disqualify or reopen — always with a reason.");
        leads.MapPost("/{id:guid}/accept", AcceptAsync).RequireAuthorization(Policies.LeadStage).RequireLeadAccess(LeadRight.Work)
            .WithSummary("Accept an MQL as SQL with the BANT facts the active definition requires (each with a note).");
        return api;
    }

    private static Actor Who(HttpContext http) => Actor.From(http.User);

    private static bool IsAdmin(ClaimsPrincipal user) => user.Identity?.AuthenticationType == AuthSchemes.ApiKey
        ? user.HasClaim(Policies.ScopeClaim, Scopes.Admin) : user.IsInRole(Roles.Admin);

    private static async Task<Results<Ok<PersonaView>, ProblemHttpResult>> GetPersonaAsync(Guid id, TandemDb db, CancellationToken ct)
    {
        var p = await db.Personas.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (p is null)
            return ApiConventions.NotFoundProblem($"No persona with id {id}.");
        return TypedResults.Ok(PersonaView.From(p, await db.Leads.CountAsync(l => l.PersonaId == id, ct)));
    }

    private static async Task<Results<Created<PersonaView>, ValidationProblem>> CreatePersonaAsync(PersonaRequest body, HttpContext http, TandemDb db,
        TimeProvider clock, QualificationJobSignal signal, CancellationToken ct)
    {
        var (view, errors, _) = await Personas.SaveAsync(db, null, body, Who(http).Name, clock.GetUtcNow(), signal, ct);
        return errors is not null ? TypedResults.ValidationProblem(errors) : TypedResults.Created($"/api/v1/personas/{view!.Id}", view);
    }

    private static async Task<Results<Ok<PersonaView>, ValidationProblem, ProblemHttpResult>> UpdatePersonaAsync(Guid id, PersonaRequest body, HttpContext http,
        TandemDb db, TimeProvider clock, QualificationJobSignal signal, CancellationToken ct)
    {
        var (view, errors, notFound) = await Personas.SaveAsync(db, id, body, Who(http).Name, clock.GetUtcNow(), signal, ct);
        if (notFound)
            return ApiConventions.NotFoundProblem($"No persona with id {id}.");
        return errors is not null ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(view!);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeletePersonaAsync(Guid id, HttpContext http, TandemDb db, TimeProvider clock,
        QualificationJobSignal signal, CancellationToken ct) =>
        await Personas.DeleteAsync(db, id, Who(http).Name, clock.GetUtcNow(), signal, ct) ? TypedResults.NoContent()
            : ApiConventions.NotFoundProblem($"No persona with id {id}.");

    /// <summary>Maps a versioning outcome to HTTP: 404, 400 field errors, 403 (approval rules), 409 (state or concurrency).</summary>
    private static Results<Ok<VersionDetail>, Created<VersionDetail>, NoContent, ValidationProblem, ProblemHttpResult> ToHttp(VersionOutcome o, bool created = false)
    {
        if (o.NotFound)
            return ApiConventions.NotFoundProblem("No such version.");
        if (o.Errors is not null)
            return TypedResults.ValidationProblem(o.Errors);
        if (o.Forbidden is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Not allowed", detail: o.Forbidden);
        if (o.Conflict is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: o.Conflict);
        if (o.Detail is null)
            return TypedResults.NoContent();
        return created ? TypedResults.Created($"/api/v1/qualification/versions/{o.Detail.Version.Id}", o.Detail) : TypedResults.Ok(o.Detail);
    }

    private static async Task<Results<Ok<VersionDetail>, Created<VersionDetail>, NoContent, ValidationProblem, ProblemHttpResult>> CreateDraftAsync(
        CreateDraftRequest? body, HttpContext http, DefinitionVersions versions, CancellationToken ct) =>
        ToHttp(await versions.CreateDraftAsync(body ?? new CreateDraftRequest(null, null), Who(http), ct), created: true);

    private static async Task<Results<Ok<VersionDetail>, Created<VersionDetail>, NoContent, ValidationProblem, ProblemHttpResult>> UpdateDraftAsync(
        Guid id, DraftRequest body, HttpContext http, DefinitionVersions versions, CancellationToken ct) =>
        ToHttp(await versions.UpdateDraftAsync(id, body, Who(http), ct));

    private static async Task<Results<Ok<VersionDetail>, Created<VersionDetail>, NoContent, ValidationProblem, ProblemHttpResult>> DeleteDraftAsync(
        Guid id, DefinitionVersions versions, CancellationToken ct) =>
        ToHttp(await versions.DeleteDraftAsync(id, ct));

    private static async Task<Results<Ok<VersionDetail>, Created<VersionDetail>, NoContent, ValidationProblem, ProblemHttpResult>> ApproveAsync(
        Guid id, HttpContext http, DefinitionVersions versions, CancellationToken ct)
    {
        var roles = Roles.All.Where(http.User.IsInRole).ToList();
        return ToHttp(await versions.ApproveAsync(id, Who(http), roles, ct));
    }

    private static async Task<Results<Ok<VersionDetail>, Created<VersionDetail>, NoContent, ValidationProblem, ProblemHttpResult>> ActivateAsync(
        Guid id, HttpContext http, DefinitionVersions versions, CancellationToken ct) =>
        ToHttp(await versions.ActivateAsync(id, Who(http), IsAdmin(http.User), ct));

    private static async Task<Results<Ok<IReadOnlyList<DefinitionChange>>, ProblemHttpResult>> DiffAsync(Guid id, Guid? against, TandemDb db,
        DefinitionVersions versions, CancellationToken ct)
    {
        var baseline = against ?? await db.QualificationVersions.Where(v => v.Status == VersionStatus.Active).Select(v => (Guid?)v.Id).FirstOrDefaultAsync(ct);
        if (baseline is null)
            return ApiConventions.NotFoundProblem("No version to compare with: give `against`, or activate a version first.");
        var (changes, notFound) = await versions.DiffAsync(baseline.Value, id, ct);
        return notFound ? ApiConventions.NotFoundProblem("No such version.") : TypedResults.Ok(changes!);
    }

    private static async Task<Results<Accepted<JobView>, ValidationProblem, ProblemHttpResult>> BacktestAsync(Guid id, BacktestRequest? body, HttpContext http,
        TandemDb db, TimeProvider clock, QualificationJobSignal signal, CancellationToken ct)
    {
        var days = body?.Days ?? 90;
        if (days is < 1 or > MaxBacktestDays)
            return ApiConventions.FieldError("days", $"Between 1 and {MaxBacktestDays}.");
        if (!await db.QualificationVersions.AnyAsync(v => v.Id == id, ct))
            return ApiConventions.NotFoundProblem($"No version with id {id}.");
        var job = new QualificationJob
        {
            Kind = JobKind.Backtest,
            VersionId = id,
            Days = days,
            Reason = $"Backtest over {days} days",
            CreatedAt = clock.GetUtcNow(),
            CreatedByName = Who(http).Name,
        };
        db.QualificationJobs.Add(job);
        await db.SaveChangesAsync(ct);
        signal.Wake();
        return TypedResults.Accepted($"/api/v1/qualification/jobs/{job.Id}", JobView.From(job));
    }

    /// <summary>
    /// Jobs are cancelled only by who may start them: a rescore or decay pass (started by an activation or a persona change) by an
    /// Admin, a marketer or a sales manager; a backtest also by the person who asked for it. Never by a rep for someone else.
    /// </summary>
    public static bool MayCancel(ClaimsPrincipal user, QualificationJob job)
    {
        if (user.Identity?.AuthenticationType == AuthSchemes.ApiKey || user.IsInRole(Roles.Admin) || user.IsInRole(Roles.Marketing)
            || user.IsInRole(Roles.SalesManager))
            return true;
        return job.Kind == JobKind.Backtest && job.CreatedByName is { } by && by == Actor.From(user).Name;
    }

    private static async Task<Results<Ok<JobView>, ProblemHttpResult>> CancelJobAsync(Guid id, HttpContext http, TandemDb db, TimeProvider clock,
        CancellationToken ct)
    {
        var found = await db.QualificationJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct);
        if (found is null)
            return ApiConventions.NotFoundProblem($"No job with id {id}.");
        if (!MayCancel(http.User, found))
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: "Only an Admin, a marketer or a sales manager cancels this job (a backtest also by the person who started it).");
        var updated = await db.QualificationJobs.Where(j => j.Id == id && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, JobStatus.Cancelled).SetProperty(j => j.FinishedAt, clock.GetUtcNow()), ct);
        var job = await db.QualificationJobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, ct);
        if (job is null)
            return ApiConventions.NotFoundProblem($"No job with id {id}.");
        if (updated == 0)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: $"The job is already {job.Status}.");
        return TypedResults.Ok(JobView.From(job));
    }

    private static async Task<Results<Ok<LeadScoreView>, ProblemHttpResult>> ScoreAsync(Guid id, TandemDb db, ActiveDefinition active, TimeProvider clock,
        CancellationToken ct)
    {
        var view = await LeadExplanations.ExplainAsync(db, active, id, clock.GetUtcNow(), ct);
        if (view is not null)
            return TypedResults.Ok(view);
        return await db.Leads.AnyAsync(l => l.Id == id, ct) ? ApiConventions.NotFoundProblem("No version is active yet, so leads are not scored.")
            : ApiConventions.NotFoundProblem($"No lead with id {id}.");
    }

    private static async Task<Results<Ok<StageChange>, ValidationProblem, ProblemHttpResult>> MoveStageAsync(Guid id, StageRequest body, HttpContext http,
        TandemDb db, TimeProvider clock, ScoringSignal signal, IEnumerable<IMqlListener> listeners, Platform.OutboundWebhooks.IWebhookPublisher webhooks,
        CancellationToken ct)
    {
        if (body.Action is null)
            return ApiConventions.FieldError("action", "One of: advance, recycle, disqualify, reopen.");
        var outcome = await LeadStages.MoveAsync(db, id, body.Action.Value, body.To, body.Reason, Who(http), listeners, webhooks, clock.GetUtcNow(), ct);
        signal.Wake();
        return await StageResultAsync(db, id, outcome, ct);
    }

    private static async Task<Results<Ok<StageChange>, ValidationProblem, ProblemHttpResult>> AcceptAsync(Guid id, BantInput body, HttpContext http, TandemDb db,
        ActiveDefinition active, Platform.OutboundWebhooks.IWebhookPublisher webhooks, TimeProvider clock, IEnumerable<IDispositionListener> listeners,
        CancellationToken ct) =>
        await StageResultAsync(db, id, await LeadStages.AcceptAsync(db, active, webhooks, id, body, Who(http), clock.GetUtcNow(), listeners, ct), ct);

    private static async Task<Results<Ok<StageChange>, ValidationProblem, ProblemHttpResult>> StageResultAsync(TandemDb db, Guid id, StageOutcome outcome,
        CancellationToken ct)
    {
        if (outcome.NotFound)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (outcome.Errors is not null)
            return TypedResults.ValidationProblem(outcome.Errors);
        if (outcome.Conflict is not null)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: outcome.Conflict);
        var last = await db.StageTransitions.AsNoTracking().Where(t => t.LeadId == id).OrderByDescending(t => t.At).ThenByDescending(t => t.Id)
            .Select(t => new StageChange(t.From, t.To, t.At, t.ByUserId, t.ByRule, t.Reason)).FirstAsync(ct);
        return TypedResults.Ok(last);
    }
}
