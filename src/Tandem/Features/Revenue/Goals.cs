using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

public sealed record GoalRequest(GoalPeriod? Period, DateOnly? StartsOn, decimal? Amount, string? Currency, string? Segment, decimal? AverageDealSize,
    decimal? LeadToMqlRate, decimal? MqlToSqlRate, decimal? SqlToOpportunityRate, decimal? OpportunityToWonRate, int? CommittedMqls,
    decimal? AcceptanceFloor, decimal? RatingFloor, string? Note);

/// <summary>One rate of the reverse funnel: the figure used, whether it was measured or overridden, and the measured one.</summary>
public sealed record PlanRate(decimal? Value, bool Overridden, decimal? Measured);

/// <summary>
/// the reverse funnel of a revenue goal (decision 017): from the goal, the average deal size and the conversion rates, the won deals,
/// opportunities, SQLs, MQLs and leads it needs; the MQLs are marketing's proposed SLA commitment. Progress: what is done so far, a
/// run-rate forecast and the open pipeline weighted by stage probability.
/// </summary>
public sealed record GoalPlan(Guid Id, GoalPeriod Period, DateOnly StartsOn, DateOnly EndsOn, string? Segment, string Currency, decimal Goal,
    PlanRate AverageDealSize, PlanRate OpportunityToWon, PlanRate SqlToOpportunity, PlanRate MqlToSql, PlanRate LeadToMql,
    int? RequiredWonDeals, int? RequiredOpportunities, int? RequiredSqls, int? RequiredMqls, int? RequiredLeads, int? CommittedMqls,
    decimal? AcceptanceFloor, decimal? RatingFloor,
    decimal Won, decimal? Attainment, decimal RunRateForecast, decimal WeightedPipeline, int Leads, int Mqls, int Sqls, int Opportunities, int WonDeals,
    DateOnly MeasuredFrom, DateOnly MeasuredTo, string? Note);

/// <summary>Shared revenue goals and their reverse funnel: <c>/api/v1/goals</c>.</summary>
public static class Goals
{
    /// <summary>Both teams own the goal: Admin, marketing and sales managers by cookie; keys with the ingest scope.</summary>
    public const string GoalWritePolicy = "revenue:goals";
    /// <summary>Rates are measured over the six months before the goal's period.</summary>
    public const int LookbackMonths = 6;
    public const int MaxCommittedMqls = 10_000_000;

    public static IServiceCollection AddGoals(this IServiceCollection services)
    {
        services.AddAuthorizationBuilder()
            .AddPolicy(GoalWritePolicy, p => p.AddAuthenticationSchemes(AuthSchemes.Api).RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(Scopes.Ingest, [Roles.Admin, Roles.Marketing, Roles.SalesManager])));
        return services;
    }

    public static RouteGroupBuilder MapGoalsApi(this RouteGroupBuilder api)
    {
        var g = api.MapGroup("/goals").WithTags("Revenue goals");
        g.MapGet("/", ListAsync).RequireAuthorization(Policies.ScopeRead).WithName("ListGoals").WithSummary("Revenue goals, newest period first.");
        g.MapPost("/", CreateAsync).RequireAuthorization(GoalWritePolicy).WithName("CreateGoal")
            .WithSummary("A revenue goal for a month or a quarter (startsOn is its first day), optionally per segment, with optional overrides of the planner's rates.");
        g.MapPut("/{id:guid}", UpdateAsync).RequireAuthorization(GoalWritePolicy).WithName("UpdateGoal").WithSummary("Change a goal (every field is replaced).");
        g.MapDelete("/{id:guid}", DeleteAsync).RequireAuthorization(GoalWritePolicy).WithName("DeleteGoal").WithSummary("Delete a goal.");
        g.MapPost("/{id:guid}/adopt-commitment", AdoptEndpointAsync).RequireAuthorization(GoalWritePolicy).WithName("AdoptGoalCommitment")
            .WithSummary("Make the planner's MQL number the goal's committed MQLs (marketing's side of the SLA); 400 when the planner has no number.");
        g.MapGet("/{id:guid}/plan", PlanAsync).RequireAuthorization(Policies.ScopeRead).WithName("GetGoalPlan")
            .WithSummary("The reverse funnel: won deals, opportunities, SQLs, MQLs and leads the goal needs, the proposed MQL commitment, and progress.");
        return api;
    }

    private static async Task<Ok<List<RevenueGoal>>> ListAsync(TandemDb db, CancellationToken ct) =>
        TypedResults.Ok(await db.RevenueGoals.AsNoTracking().OrderByDescending(x => x.StartsOn).ThenBy(x => x.Segment).ToListAsync(ct));

    private static async Task<Results<Created<RevenueGoal>, ValidationProblem>> CreateAsync(GoalRequest body, HttpContext http, TandemDb db, TimeProvider clock,
        CancellationToken ct)
    {
        var (goal, errors) = await SaveAsync(db, null, body, Leads.Actor.From(http.User).Id, clock.GetUtcNow(), ct);
        return errors is not null ? TypedResults.ValidationProblem(errors) : TypedResults.Created($"/api/v1/goals/{goal!.Id}", goal);
    }

    private static async Task<Results<Ok<RevenueGoal>, ValidationProblem, ProblemHttpResult>> UpdateAsync(Guid id, GoalRequest body, TandemDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var (goal, errors) = await SaveAsync(db, id, body, null, clock.GetUtcNow(), ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        return goal is null ? ApiConventions.NotFoundProblem($"No goal with id {id}.") : TypedResults.Ok(goal);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, TandemDb db, CancellationToken ct) =>
        await DeleteGoalAsync(db, id, ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No goal with id {id}.");

    private static async Task<Results<Ok<RevenueGoal>, ValidationProblem, ProblemHttpResult>> AdoptEndpointAsync(Guid id, TandemDb db, TimeProvider clock,
        IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var (goal, errors) = await AdoptCommitmentAsync(db, id, clock.GetUtcNow(), k => l[k], ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        return goal is null ? ApiConventions.NotFoundProblem($"No goal with id {id}.") : TypedResults.Ok(goal);
    }

    /// <summary>
    /// Creates (<paramref name="id"/> null) or replaces a goal. Returns the goal and no errors; the field errors (nothing written); or neither
    /// when the goal to change does not exist. The page and the API both call it; the caller has checked <see cref="GoalWritePolicy"/>.
    /// </summary>
    public static async Task<(RevenueGoal? Goal, Dictionary<string, string[]>? Errors)> SaveAsync(TandemDb db, Guid? id, GoalRequest body, Guid? by,
        DateTimeOffset now, CancellationToken ct)
    {
        RevenueGoal? goal;
        if (id is { } existing)
        {
            goal = await db.RevenueGoals.FirstOrDefaultAsync(x => x.Id == existing, ct);
            if (goal is null)
                return (null, null);
        }
        else
        {
            goal = new RevenueGoal { CreatedAt = now, CreatedBy = by };
        }
        if (Apply(goal, body, now) is { } errors)
            return (null, errors);
        if (id is null)
            db.RevenueGoals.Add(goal);
        await db.SaveChangesAsync(ct);
        return (goal, null);
    }

    public static async Task<bool> DeleteGoalAsync(TandemDb db, Guid id, CancellationToken ct) =>
        await db.RevenueGoals.Where(x => x.Id == id).ExecuteDeleteAsync(ct) > 0;

    /// <summary>
    /// Adopts the planner's MQL number as the goal's committed MQLs. A field error on <c>committedMqls</c> when the planner has no number
    /// (a rate or the deal size unknown); neither goal nor errors when the goal does not exist.
    /// </summary>
    public static async Task<(RevenueGoal? Goal, Dictionary<string, string[]>? Errors)> AdoptCommitmentAsync(TandemDb db, Guid id, DateTimeOffset now,
        Func<string, string> label, CancellationToken ct)
    {
        var goal = await db.RevenueGoals.FirstOrDefaultAsync(x => x.Id == id, ct);
        if (goal is null)
            return (null, null);
        var plan = await PlanOfAsync(db, goal, now, label, ct);
        if (plan.RequiredMqls is not { } mqls)
            return (null, new Dictionary<string, string[]> { ["committedMqls"] = ["The planner has no MQL number: a conversion rate or the average deal size is unknown."] });
        if (mqls > MaxCommittedMqls)
            return (null, new Dictionary<string, string[]> { ["committedMqls"] = ["A number of MQLs from 0."] });
        goal.CommittedMqls = mqls;
        goal.UpdatedAt = now;
        await db.SaveChangesAsync(ct);
        return (goal, null);
    }

    private static async Task<Results<Ok<GoalPlan>, ProblemHttpResult>> PlanAsync(Guid id, TandemDb db, TimeProvider clock, IStringLocalizer<SharedResource> l,
        CancellationToken ct)
    {
        var goal = await db.RevenueGoals.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        return goal is null ? ApiConventions.NotFoundProblem($"No goal with id {id}.") : TypedResults.Ok(await PlanOfAsync(db, goal, clock.GetUtcNow(), k => l[k], ct));
    }

    /// <summary>Validates and copies a request onto a goal; the field errors, or null when it is valid.</summary>
    public static Dictionary<string, string[]>? Apply(RevenueGoal goal, GoalRequest body, DateTimeOffset now)
    {
        var errors = new FieldErrors();
        var period = body.Period ?? GoalPeriod.Quarter;
        if (body.StartsOn is not { } starts)
            errors.Add("startsOn", "The first day of the month or quarter, as YYYY-MM-DD.");
        else if (starts.Day != 1 || (period == GoalPeriod.Quarter && (starts.Month - 1) % 3 != 0))
            errors.Add("startsOn", period == GoalPeriod.Quarter ? "A quarter starts on 1 January, 1 April, 1 July or 1 October." : "A month starts on its first day.");
        if (body.Amount is not { } amount || amount <= 0 || amount > 1_000_000_000_000m || decimal.Round(amount, 2) != amount)
            errors.Add("amount", "An amount above 0 with at most two decimals.");
        var currency = Currencies.Normalize(body.Currency ?? "EUR");
        if (currency is null)
            errors.Add("currency", "An ISO 4217 currency code such as EUR.");
        var segment = string.IsNullOrWhiteSpace(body.Segment) ? null : body.Segment.Trim();
        if (segment is { Length: > 100 } || (segment is not null && !SafeText.IsStorable(segment)))
            errors.Add("segment", "At most 100 characters of text.");
        if (body.AverageDealSize is { } size && (size <= 0 || size > 1_000_000_000m))
            errors.Add("averageDealSize", "An amount above 0.");
        Rate(body.LeadToMqlRate, "leadToMqlRate");
        Rate(body.MqlToSqlRate, "mqlToSqlRate");
        Rate(body.SqlToOpportunityRate, "sqlToOpportunityRate");
        Rate(body.OpportunityToWonRate, "opportunityToWonRate");
        if (body.CommittedMqls is < 0 or > MaxCommittedMqls)
            errors.Add("committedMqls", "A number of MQLs from 0.");
        if (body.AcceptanceFloor is < 0 or > 1)
            errors.Add("acceptanceFloor", "A share from 0 to 1.");
        if (body.RatingFloor is { } r && (r < 1 || r > 5))
            errors.Add("ratingFloor", "A rating from 1 to 5.");
        var note = string.IsNullOrWhiteSpace(body.Note) ? null : body.Note.Trim();
        if (note is { Length: > 2000 } || (note is not null && !SafeText.IsStorable(note)))
            errors.Add("note", "At most 2,000 characters of text.");
        if (errors.Any)
            return errors.ToDictionary();

        goal.Period = period;
        goal.StartsOn = body.StartsOn!.Value;
        goal.Amount = body.Amount!.Value;
        goal.Currency = currency!;
        goal.Segment = segment;
        goal.AverageDealSize = body.AverageDealSize;
        goal.LeadToMqlRate = body.LeadToMqlRate;
        goal.MqlToSqlRate = body.MqlToSqlRate;
        goal.SqlToOpportunityRate = body.SqlToOpportunityRate;
        goal.OpportunityToWonRate = body.OpportunityToWonRate;
        goal.CommittedMqls = body.CommittedMqls;
        goal.AcceptanceFloor = body.AcceptanceFloor;
        goal.RatingFloor = body.RatingFloor;
        goal.Note = note;
        goal.UpdatedAt = now;
        return null;

        void Rate(decimal? value, string field)
        {
            if (value is { } v && (v <= 0 || v > 1))
                errors.Add(field, "A conversion rate above 0 and at most 1 (0.25 = 25 %).");
        }
    }

    /// <summary>The reverse funnel and the progress of a goal.</summary>
    public static async Task<GoalPlan> PlanOfAsync(TandemDb db, RevenueGoal goal, DateTimeOffset now, Func<string, string> label, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var zone = ReportPeriod.FindZone(settings.TimeZone);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var amount = converter.TryConvert(goal.Amount, goal.Currency, goal.StartsOn, out var converted) ? converted : goal.Amount;
        var currency = converter.TryConvert(goal.Amount, goal.Currency, goal.StartsOn, out _) ? converter.ReportingCurrency : goal.Currency;

        // Measured over the six months before the goal's period.
        var lookback = new ReportPeriod(goal.StartsOn.AddMonths(-LookbackMonths), goal.StartsOn.AddDays(-1), zone);
        var measured = await Kpis.ComputeAsync(db, lookback, new KpiFilter(), AttributionModel.Linear, label, ct);
        decimal? measuredSize = measured.WonDeals == 0 ? null : Math.Round(measured.WonRevenue / measured.WonDeals, 2, MidpointRounding.AwayFromZero);
        var size = new PlanRate(goal.AverageDealSize ?? measuredSize, goal.AverageDealSize is not null, measuredSize);
        var oppToWon = new PlanRate(goal.OpportunityToWonRate ?? measured.CloseRatio, goal.OpportunityToWonRate is not null, measured.CloseRatio);
        var sqlToOpp = new PlanRate(goal.SqlToOpportunityRate ?? measured.StageConversion.SqlToOpportunity, goal.SqlToOpportunityRate is not null,
            measured.StageConversion.SqlToOpportunity);
        var mqlToSql = new PlanRate(goal.MqlToSqlRate ?? measured.StageConversion.MqlToSql, goal.MqlToSqlRate is not null, measured.StageConversion.MqlToSql);
        var leadToMql = new PlanRate(goal.LeadToMqlRate ?? measured.StageConversion.LeadToMql, goal.LeadToMqlRate is not null, measured.StageConversion.LeadToMql);

        var (wonDeals, opps, sqls, mqls, leads) = Reverse(amount, size.Value, oppToWon.Value, sqlToOpp.Value, mqlToSql.Value, leadToMql.Value);

        // Progress in the goal's period so far.
        var period = new ReportPeriod(goal.StartsOn, goal.EndsOn.AddDays(-1), zone);
        var today = ReportPeriod.LocalDateOf(now, zone);
        var progress = await Kpis.ComputeAsync(db, period, new KpiFilter(), AttributionModel.Linear, label, ct);
        var elapsed = Math.Clamp(today.DayNumber - period.From.DayNumber + 1, 1, period.Days);
        var runRate = today < period.From ? 0m : Math.Round(progress.WonRevenue / elapsed * period.Days, 2, MidpointRounding.AwayFromZero);
        var weighted = await RevenueForecast.WeightedPipelineAsync(db, period, null, ct);
        return new GoalPlan(goal.Id, goal.Period, goal.StartsOn, goal.EndsOn, goal.Segment, currency, amount, size, oppToWon, sqlToOpp, mqlToSql, leadToMql,
            wonDeals, opps, sqls, mqls, leads, goal.CommittedMqls ?? mqls, goal.AcceptanceFloor, goal.RatingFloor,
            progress.WonRevenue, amount == 0 ? null : Math.Round(progress.WonRevenue / amount, Kpis.RateDecimals, MidpointRounding.AwayFromZero), runRate, weighted,
            progress.NewLeads, progress.Mqls, progress.Sqls, progress.Opportunities, progress.WonDeals, lookback.From, lookback.To, goal.Note);
    }

    /// <summary>
    /// The reverse funnel, each step rounded up (a fraction of a deal is a whole deal to find): won deals = goal / deal size,
    /// opportunities = won / close ratio, SQLs = opportunities / SQL→opportunity, MQLs = SQLs / MQL→SQL, leads = MQLs / lead→MQL.
    /// A step is null when its rate is unknown or zero (nothing measured and no override).
    /// </summary>
    public static (int? Won, int? Opportunities, int? Sqls, int? Mqls, int? Leads) Reverse(decimal goal, decimal? dealSize, decimal? oppToWon,
        decimal? sqlToOpp, decimal? mqlToSql, decimal? leadToMql)
    {
        int? won = dealSize is > 0 ? Up(goal / dealSize.Value) : null;
        int? opps = won is { } w && oppToWon is > 0 ? Up(w / oppToWon.Value) : null;
        int? sqls = opps is { } o && sqlToOpp is > 0 ? Up(o / sqlToOpp.Value) : null;
        int? mqls = sqls is { } s && mqlToSql is > 0 ? Up(s / mqlToSql.Value) : null;
        int? leads = mqls is { } m && leadToMql is > 0 ? Up(m / leadToMql.Value) : null;
        return (won, opps, sqls, mqls, leads);

        static int Up(decimal value) => (int)Math.Min(int.MaxValue, Math.Ceiling(value));
    }
}
