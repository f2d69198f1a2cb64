using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

/// <summary>Opportunities and customers: <c>/api/v1/opportunities</c> and <c>/api/v1/accounts</c> (decision 018).</summary>
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
        services.AddScoped<RevenueSetup>();
        services.AddScoped<OpportunityImport>();
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

        o.MapPost("/import", ImportAsync).RequireAuthorization(DealWritePolicy)
            .WithSummary("Import opportunity history from a CSV (multipart 'file' or text/csv): per-row errors, idempotent on externalId.");

        var a = api.MapGroup("/accounts").WithTags("Revenue");
        a.MapGet("/", ListAccountsAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("Accounts the caller may read; customer=true for current customers.");
        a.MapGet("/{id:guid}", GetAccountAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("An account: people, deals, revenue per currency, customer status.");
        a.MapPost("/{id:guid}/churn", ChurnAsync).RequireAuthorization(CustomerPolicy).WithSummary("Mark a customer churned, with a reason and a date.");

        var s = api.MapGroup("").WithTags("Revenue settings");
        s.MapGet("/settings/revenue", async (RevenueSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.GetSettingsAsync(ct)))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("Reporting currency, workspace time zone, gross margin, weekly report schedule.");
        s.MapPut("/settings/revenue", SaveSettingsAsync).RequireAuthorization(Policies.ScopeAdmin).WithSummary("Change the revenue settings (null fields stay).");
        s.MapGet("/exchange-rates", async ([FromQuery] string? from, [FromQuery] string? to, [AsParameters] PageQuery page, RevenueSetup setup, CancellationToken ct) =>
                TypedResults.Ok(await setup.ListRatesAsync(from, to, page.PageNumber, page.Size, ct)))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("Dated exchange rates, newest first; filters from, to.");
        s.MapPost("/exchange-rates", AddRateAsync).RequireAuthorization(Policies.ScopeAdmin).WithSummary("Add a rate: one unit of 'from' is worth 'rate' units of 'to' from 'on'.");
        s.MapDelete("/exchange-rates/{id:guid}", DeleteRateAsync).RequireAuthorization(Policies.ScopeAdmin).WithSummary("Delete a rate.");
        s.MapPost("/exchange-rates/import", ImportRatesAsync).RequireAuthorization(Policies.ScopeAdmin)
            .WithSummary("Import rates from a CSV with the columns date, from, to, rate (multipart 'file' or text/csv): per-row errors; an existing pair and date is replaced.");
        s.MapGet("/sales-costs", async (RevenueSetup setup, CancellationToken ct) => TypedResults.Ok(await setup.ListCostsAsync(ct)))
            .RequireAuthorization(Policies.ScopeRead).WithSummary("Monthly sales cost lines (counted in CAC).");
        s.MapPost("/sales-costs", AddCostAsync).RequireAuthorization(Policies.ScopeAdmin).WithSummary("Add a sales cost line for a month.");
        s.MapDelete("/sales-costs/{id:guid}", DeleteCostAsync).RequireAuthorization(Policies.ScopeAdmin).WithSummary("Delete a sales cost line.");
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

    // ---- settings, rates, costs, imports ----

    private static Results<Ok<T>, Created<T>, ValidationProblem> Setup<T>(SetupOutcome<T> r, string? created = null) => r switch
    {
        { Errors: { } e } => TypedResults.ValidationProblem(e),
        _ when created is not null => TypedResults.Created(created, r.Value!),
        _ => TypedResults.Ok(r.Value!),
    };

    private static async Task<Results<Ok<RevenueSettingsView>, Created<RevenueSettingsView>, ValidationProblem>> SaveSettingsAsync(RevenueSettingsRequest body,
        RevenueSetup setup, HttpContext http, CancellationToken ct) => Setup(await setup.SaveSettingsAsync(body, Actor.From(http.User).Name, ct));

    private static async Task<Results<Ok<ExchangeRateView>, Created<ExchangeRateView>, ValidationProblem>> AddRateAsync(ExchangeRateRequest body,
        RevenueSetup setup, CancellationToken ct)
    {
        var r = await setup.AddRateAsync(body, ct);
        return Setup(r, r.Value is { } v ? $"/api/v1/exchange-rates/{v.Id}" : null);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteRateAsync(Guid id, RevenueSetup setup, CancellationToken ct) =>
        await setup.DeleteRateAsync(id, ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No exchange rate with id {id}.");

    private static async Task<Results<Ok<SalesCostView>, Created<SalesCostView>, ValidationProblem>> AddCostAsync(SalesCostRequest body,
        RevenueSetup setup, CancellationToken ct)
    {
        var r = await setup.AddCostAsync(body, ct);
        return Setup(r, r.Value is { } v ? $"/api/v1/sales-costs/{v.Id}" : null);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteCostAsync(Guid id, RevenueSetup setup, CancellationToken ct) =>
        await setup.DeleteCostAsync(id, ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No sales cost with id {id}.");

    /// <summary>The CSV of an upload: the <c>file</c> part of a multipart form, or the raw body; null with a field error otherwise.</summary>
    private static async Task<(byte[]? Csv, ValidationProblem? Error)> CsvAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.HasFormContentType)
        {
            IFormCollection form;
            try
            {
                form = await request.ReadFormAsync(ct);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                return (null, ApiConventions.FieldError("file", "The multipart body is malformed."));
            }
            if (form.Files.GetFile("file") is not { } file)
                return (null, ApiConventions.FieldError("file", "The multipart body has no 'file' part."));
            using var part = new MemoryStream();
            await file.CopyToAsync(part, ct);
            return (part.ToArray(), null);
        }
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, ct);
        return body.Length == 0 ? (null, ApiConventions.FieldError("file", "Send a CSV file (multipart 'file' part or a text/csv body).")) : (body.ToArray(), null);
    }

    private static async Task<Results<Ok<CsvImportResult>, Created<CsvImportResult>, ValidationProblem>> ImportRatesAsync(HttpRequest request, RevenueSetup setup,
        CancellationToken ct)
    {
        var (csv, error) = await CsvAsync(request, ct);
        if (error is not null)
            return error;
        return Setup(await setup.ImportRatesAsync(csv!, ct));
    }

    private static async Task<Results<Ok<CsvImportResult>, Created<CsvImportResult>, ValidationProblem>> ImportAsync(HttpRequest request, OpportunityImport import,
        HttpContext http, CancellationToken ct)
    {
        var (csv, error) = await CsvAsync(request, ct);
        if (error is not null)
            return error;
        return Setup(await import.ImportAsync(http.User, csv!, ct));
    }
}
