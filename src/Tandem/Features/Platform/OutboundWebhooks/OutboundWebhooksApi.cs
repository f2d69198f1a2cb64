using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Tandem.Features.Platform.OutboundWebhooks;

public sealed record DeliveryLogQuery(WebhookDeliveryStatus? Status);

/// <summary><c>/api/v1/webhook-endpoints</c> and <c>/api/v1/webhook-deliveries</c> (scope admin).</summary>
public static class OutboundWebhooksApi
{
    public static IServiceCollection AddOutboundWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<WebhookOptions>(configuration.GetSection("Tandem:Webhooks"));
        services.AddSingleton<TargetGuard>();
        services.AddSingleton<WebhookSignal>();
        services.AddSingleton<IWebhookPublisher, WebhookPublisher>();
        services.AddScoped<WebhookAdmin>();
        services.AddHttpClient(WebhookDispatcher.HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<TargetGuard>().CreateHandler())
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddSingleton<WebhookDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookDispatcher>());
        return services;
    }

    public static RouteGroupBuilder MapOutboundWebhooksApi(this RouteGroupBuilder api)
    {
        var endpoints = api.MapGroup("/webhook-endpoints").RequireAuthorization(Policies.ScopeAdmin).WithTags("Outbound webhooks");
        endpoints.MapGet("/", async (WebhookAdmin admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)))
            .WithSummary("Outbound webhook endpoints (never their secret).");
        endpoints.MapGet("/{id:guid}", GetAsync).WithSummary("One outbound webhook endpoint.");
        endpoints.MapPost("/", CreateAsync).ProducesValidationProblem()
            .WithSummary("Add an endpoint: { url, events[] }. The answer carries the signing secret (whsec_…), shown this once.");
        endpoints.MapPut("/{id:guid}", (Guid id, WebhookEndpointInput body, WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
            UpdateAsync(id, body, replace: true, admin, who, ct)).ProducesValidationProblem()
            .WithSummary("Replace url, events and active (active defaults to true).");
        endpoints.MapPatch("/{id:guid}", (Guid id, WebhookEndpointInput body, WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
            UpdateAsync(id, body, replace: false, admin, who, ct)).ProducesValidationProblem()
            .WithSummary("Change some of url, events, active.");
        endpoints.MapDelete("/{id:guid}", DeleteAsync).WithSummary("Delete an endpoint: it receives nothing more; its delivery log is kept.");
        endpoints.MapPost("/{id:guid}/rotate-secret", RotateAsync).ProducesValidationProblem()
            .WithSummary("New signing secret (shown once). The old one keeps signing alongside it for overlapHours (default 24).");
        endpoints.MapPost("/{id:guid}/test", TestAsync).WithSummary("Send a test event to this endpoint now; returns the delivery after the attempt.");
        endpoints.MapGet("/{id:guid}/deliveries", DeliveriesAsync)
            .WithSummary($"The endpoint's delivery log, newest first; filter by status. pageSize is at most {PageQuery.MaxPageSize}.");

        var deliveries = api.MapGroup("/webhook-deliveries").RequireAuthorization(Policies.ScopeAdmin).WithTags("Outbound webhooks");
        deliveries.MapPost("/{id:guid}/redeliver", RedeliverAsync)
            .WithSummary("Send a delivery again (same webhook-id, fresh 24 h of retries).");
        return api;
    }

    private static string Actor(ClaimsPrincipal who) => PlatformApi.Actor(who).Actor;

    private static ProblemHttpResult NotFound(Guid id) => ApiConventions.NotFoundProblem($"No webhook endpoint with id {id}.");

    private static async Task<Results<Ok<WebhookEndpointDto>, ProblemHttpResult>> GetAsync(Guid id, WebhookAdmin admin, CancellationToken ct) =>
        await admin.GetAsync(id, ct) is { } e ? TypedResults.Ok(e) : NotFound(id);

    private static async Task<Results<Created<WebhookEndpointWithSecret>, ValidationProblem>> CreateAsync(WebhookEndpointInput body, WebhookAdmin admin,
        ClaimsPrincipal who, CancellationToken ct)
    {
        var (created, errors) = await admin.CreateAsync(body, Actor(who), ct);
        return created is null ? TypedResults.ValidationProblem(errors!) : TypedResults.Created($"/api/v1/webhook-endpoints/{created.Id}", created);
    }

    private static async Task<Results<Ok<WebhookEndpointDto>, ValidationProblem, ProblemHttpResult>> UpdateAsync(Guid id, WebhookEndpointInput body, bool replace,
        WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct)
    {
        var (saved, errors) = await admin.UpdateAsync(id, body, replace, Actor(who), ct);
        return saved is not null ? TypedResults.Ok(saved) : errors is not null ? TypedResults.ValidationProblem(errors) : NotFound(id);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(Guid id, WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
        await admin.DeleteAsync(id, Actor(who), ct) ? TypedResults.NoContent() : NotFound(id);

    private static async Task<Results<Ok<WebhookEndpointWithSecret>, ValidationProblem, ProblemHttpResult>> RotateAsync(Guid id, RotateSecretInput? body,
        WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct)
    {
        var (rotated, errors) = await admin.RotateAsync(id, body?.OverlapHours, Actor(who), ct);
        return rotated is not null ? TypedResults.Ok(rotated) : errors is not null ? TypedResults.ValidationProblem(errors) : NotFound(id);
    }

    private static async Task<Results<Ok<WebhookDeliveryDto>, ProblemHttpResult>> TestAsync(Guid id, WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
        await admin.SendTestAsync(id, Actor(who), ct) is { } delivery ? TypedResults.Ok(delivery) : NotFound(id);

    private static async Task<Results<Ok<Page<WebhookDeliveryDto>>, ProblemHttpResult>> DeliveriesAsync(Guid id, [AsParameters] PageQuery page,
        [AsParameters] DeliveryLogQuery filter, WebhookAdmin admin, CancellationToken ct) =>
        await admin.DeliveriesAsync(id, filter.Status, page, ct) is { } log ? TypedResults.Ok(log) : NotFound(id);

    private static async Task<Results<Ok<WebhookDeliveryDto>, ProblemHttpResult>> RedeliverAsync(Guid id, WebhookAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
        await admin.RedeliverAsync(id, Actor(who), ct) switch
        {
            RedeliverOutcome.Queued => TypedResults.Ok((await admin.DeliveryAsync(id, ct))!),
            RedeliverOutcome.NotFound => ApiConventions.NotFoundProblem($"No webhook delivery with id {id}."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Being sent", detail: "This delivery is being sent right now."),
        };
}
