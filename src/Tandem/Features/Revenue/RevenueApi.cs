using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

/// <summary>Opportunities and customers: <c>/api/v1/opportunities</c> and <c>/api/v1/accounts</c> (decision 010c).</summary>
public static class RevenueApi
{
    /// <summary>Sales work on deals: Admin, sales managers and reps by cookie (the record check narrows further); keys with the ingest scope.</summary>
    public const string DealWritePolicy = "revenue:deals";
    /// <summary>Customer status changes (churn): Admin and sales managers by cookie; keys with the ingest scope.</summary>
    public const string CustomerPolicy = "revenue:customers";

    public static IServiceCollection AddRevenue(this IServiceCollection services)
    {
        services.AddScoped<OpportunityService>();
        services.AddScoped<CustomerService>();
        services.AddAuthorizationBuilder()
            .AddPolicy(DealWritePolicy, p => p.AddAuthenticationSchemes(AuthSchemes.Api).RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(Scopes.Ingest, [Roles.Admin, Roles.SalesManager, Roles.Sales])))
            .AddPolicy(CustomerPolicy, p => p.AddAuthenticationSchemes(AuthSchemes.Api).RequireAuthenticatedUser()
                .AddRequirements(new ScopeRequirement(Scopes.Ingest, [Roles.Admin, Roles.SalesManager])));
        return services;
    }

    public static RouteGroupBuilder MapRevenueApi(this RouteGroupBuilder api)
    {
        var o = api.MapGroup("/opportunities").WithTags("Revenue");
        o.MapGet("/", ListAsync).RequireAuthorization(Policies.ScopeRead)
            .WithSummary("Opportunities the caller may read, newest first; filters stage, status (Open/Won/Lost), ownerId, accountId, leadId; paged.");
        o.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("One opportunity with its stage history.");
        o.MapPost("/", CreateAsync).RequireAuthorization(DealWritePolicy)
            .WithSummary("Open an opportunity for an SQL (the lead moves to Opportunity); renewals and upsells name their won parent deal.");
        o.MapPatch("/{id:guid}", UpdateAsync).RequireAuthorization(DealWritePolicy)
            .WithSummary("Change name, amount, currency, MRR, expected close, probability override or owner (null fields stay).");
        o.MapPost("/{id:guid}/stage", MoveAsync).RequireAuthorization(DealWritePolicy)
            .WithSummary("Move to a stage. Lost needs lossReason; reopening a closed deal needs a note; Won makes the account a customer.");

        var a = api.MapGroup("/accounts").WithTags("Revenue");
        a.MapGet("/", ListAccountsAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("Accounts the caller may read; customer=true for current customers.");
        a.MapGet("/{id:guid}", GetAccountAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("An account: people, deals, revenue per currency, customer status.");
        a.MapPost("/{id:guid}/churn", ChurnAsync).RequireAuthorization(CustomerPolicy).WithSummary("Mark a customer churned, with a reason and a date.");
        return api;
    }

    private static Results<Ok<DealView>, Created<DealView>, ProblemHttpResult, ValidationProblem> Result(DealOutcome r, bool created = false) =>
        r switch
        {
            { NotFound: true } => ApiConventions.NotFoundProblem("No opportunity with this id."),
            { Forbidden: true } => LeadAccessFilter.Forbidden(LeadRight.Work),
            { Errors: { } e } => TypedResults.ValidationProblem(e),
            _ when created => TypedResults.Created($"/api/v1/opportunities/{r.Deal!.Id}", r.Deal),
            _ => TypedResults.Ok(r.Deal!),
        };

    private static async Task<Results<Ok<Page<DealListItem>>, ValidationProblem>> ListAsync([FromQuery] DealStage? stage, [FromQuery] DealStatus? status,
        [FromQuery] Guid? ownerId, [FromQuery] Guid? accountId, [FromQuery] Guid? leadId, [AsParameters] PageQuery page, OpportunityService deals,
        HttpContext http, CancellationToken ct) =>
        TypedResults.Ok(await deals.ListAsync(http.User, new DealQuery { Stage = stage, Status = status, OwnerId = ownerId, AccountId = accountId, LeadId = leadId },
            page.PageNumber, page.Size, ct));

    private static async Task<Results<Ok<DealView>, ProblemHttpResult>> GetAsync(Guid id, OpportunityService deals, HttpContext http, CancellationToken ct)
    {
        var deal = await deals.GetAsync(id, ct);
        if (deal is null)
            return ApiConventions.NotFoundProblem($"No opportunity with id {id}.");
        if (!await deals.MayAsync(http.User, deal.OwnerId, deal.LeadId, LeadRight.Read, ct))
            return LeadAccessFilter.Forbidden(LeadRight.Read);
        return TypedResults.Ok(deal);
    }

    private static async Task<Results<Ok<DealView>, Created<DealView>, ProblemHttpResult, ValidationProblem>> CreateAsync(
        CreateOpportunityRequest body, OpportunityService deals, HttpContext http, CancellationToken ct) =>
        Result(await deals.CreateAsync(http.User, body, "api", ct), created: true);

    private static async Task<Results<Ok<DealView>, Created<DealView>, ProblemHttpResult, ValidationProblem>> UpdateAsync(
        Guid id, UpdateOpportunityRequest body, OpportunityService deals, HttpContext http, CancellationToken ct) =>
        Result(await deals.UpdateAsync(http.User, id, body, ct));

    private static async Task<Results<Ok<DealView>, Created<DealView>, ProblemHttpResult, ValidationProblem>> MoveAsync(
        Guid id, MoveStageRequest body, OpportunityService deals, HttpContext http, CancellationToken ct) =>
        Result(await deals.MoveAsync(http.User, id, body, ct));

    private static async Task<Ok<Page<AccountListItem>>> ListAccountsAsync([FromQuery] bool? customer,
        [FromQuery, System.ComponentModel.DataAnnotations.MaxLength(100)] string? search, [AsParameters] PageQuery page, CustomerService customers,
        HttpContext http, CancellationToken ct) =>
        TypedResults.Ok(await customers.ListAsync(http.User, customer, search, page.PageNumber, page.Size, ct));

    private static Results<Ok<AccountView>, ProblemHttpResult, ValidationProblem> Result(AccountOutcome r) => r switch
    {
        { NotFound: true } => ApiConventions.NotFoundProblem("No account with this id."),
        { Forbidden: true } => TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
            detail: "This account belongs to another rep or team."),
        { Errors: { } e } => TypedResults.ValidationProblem(e),
        _ => TypedResults.Ok(r.Account!),
    };

    private static async Task<Results<Ok<AccountView>, ProblemHttpResult, ValidationProblem>> GetAccountAsync(Guid id, CustomerService customers, HttpContext http,
        CancellationToken ct) => Result(await customers.GetAsync(http.User, id, ct));

    private static async Task<Results<Ok<AccountView>, ProblemHttpResult, ValidationProblem>> ChurnAsync(Guid id, ChurnRequest body, CustomerService customers,
        HttpContext http, CancellationToken ct) => Result(await customers.ChurnAsync(http.User, id, body, ct));
}
