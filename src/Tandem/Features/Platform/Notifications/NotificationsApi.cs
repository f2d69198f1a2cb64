using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Tandem.Features.Platform.Notifications;

public sealed record NotificationTestRequest(NotificationChannel Channel, string? To);

public sealed record NotificationTestResponse(Guid Id, NotificationChannel Channel);

public sealed record MarkReadRequest(Guid[]? Ids);

public sealed record MarkReadResponse(int Marked);

public sealed record DeliveryQuery(NotificationStatus? Status, NotificationChannel? Channel);

/// <summary>
/// <c>/api/v1/notifications</c> (scope admin): settings, test send, delivery log, retry.
/// <c>/api/v1/me/notifications</c> (any signed-in user): my in-app notifications.
/// </summary>
public static class NotificationsApi
{
    public static IServiceCollection AddNotifications(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<NotificationOptions>(configuration.GetSection("Tandem:Notifications"));
        services.Configure<NotificationOptions>(o => o.PublicBaseUrl ??= configuration["Tandem:PublicBaseUrl"]);
        services.AddSingleton<NotificationSignal>();
        services.AddSingleton<InAppNotifications>();
        services.AddScoped<Notifier>();
        services.AddScoped<NotificationAdmin>();
        services.AddSingleton<IEmailTransport, MailKitEmailTransport>();
        services.AddHttpClient(WebhookChatTransport.HttpClientName, (sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<NotificationOptions>>().Value.ChatTimeoutSeconds))
            // The SSRF guard of outbound webhooks covers chat webhooks too (no private targets, checked again at connect time).
            .ConfigurePrimaryHttpMessageHandler(sp => sp.GetRequiredService<OutboundWebhooks.TargetGuard>().CreateHandler());
        services.AddSingleton<IChatTransport, WebhookChatTransport>();
        services.AddSingleton<NotificationDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<NotificationDispatcher>());
        services.AddScoped<NotificationPreferencesService>();
        services.AddSingleton<NotificationDigest>();
        services.AddHostedService(sp => sp.GetRequiredService<NotificationDigest>());
        return services;
    }

    public static RouteGroupBuilder MapNotificationsApi(this RouteGroupBuilder api)
    {
        var admin = api.MapGroup("/notifications").RequireAuthorization(Policies.ScopeAdmin).WithTags("Notifications");
        admin.MapGet("/settings", async (NotificationAdmin n, CancellationToken ct) => TypedResults.Ok(await n.GetSettingsAsync(ct)))
            .WithSummary("SMTP, chat webhook, quiet hours and retry settings. The SMTP password and the webhook URL are never returned, only whether they are set.");
        admin.MapPut("/settings", SaveSettingsAsync)
            .WithSummary("Replace the settings. An empty smtpPassword or chatWebhookUrl keeps the stored one; clearSmtpPassword removes the password.");
        admin.MapPost("/test", TestAsync)
            .WithSummary("Send a real test message now: channel Email (to 'to', or to the caller's own address) or Chat. Follow it in the delivery log.");
        admin.MapGet("/deliveries", DeliveriesAsync)
            .WithSummary($"The delivery log, newest first; filter by status and channel. pageSize is at most {PageQuery.MaxPageSize}.");
        admin.MapPost("/deliveries/{id:guid}/retry", RetryAsync)
            .WithSummary("Send a failed or skipped message again with a fresh set of attempts (or a pending one now).");

        var mine = api.MapGroup("/me/notifications").RequireAuthorization(Policies.ScopeRead).WithTags("Notifications");
        mine.MapGet("/", MineAsync).WithSummary("My in-app notifications: unread count and the most recent (take, default 10).");
        mine.MapPost("/read", MarkReadAsync).WithSummary("Mark my in-app notifications read: the given ids, or all when none are given.");

        var prefs = api.MapGroup("/me/notification-preferences").RequireAuthorization(Policies.ScopeRead).WithTags("Notifications");
        prefs.MapGet("/", GetPreferencesAsync)
            .WithSummary("What reaches me per category (LeadFeedback, CampaignGuard, Disputes, Sla, Assignments): inApp, email (Off, Immediate, Digest), chat; and the hour of my daily digest in my time zone.");
        prefs.MapPut("/", SavePreferencesAsync)
            .WithSummary("Change my choices: categories given replace theirs (fields left out keep theirs), digestHour 0-23. Unknown categories or values are field errors.");
        return api;
    }

    private static async Task<Results<Ok<NotificationSettingsDto>, ValidationProblem>> SaveSettingsAsync(
        NotificationSettingsInput input, NotificationAdmin admin, ClaimsPrincipal who, CancellationToken ct)
    {
        var (saved, errors) = await admin.SaveSettingsAsync(input, PlatformApi.Actor(who).Actor, ct);
        return saved is null ? TypedResults.ValidationProblem(errors!) : TypedResults.Ok(saved);
    }

    private static async Task<Results<Accepted<NotificationTestResponse>, ValidationProblem>> TestAsync(
        NotificationTestRequest request, NotificationAdmin admin, ClaimsPrincipal who, CancellationToken ct)
    {
        if (!Enum.IsDefined(request.Channel))
            return ApiConventions.FieldError("channel", "Unknown channel; expected Email, Chat or InApp.");
        var (actor, actorId) = PlatformApi.Actor(who);
        var (id, errors) = await admin.TestAsync(request.Channel, actorId, request.To, actor, ct);
        return id is { } created
            ? TypedResults.Accepted("/api/v1/notifications/deliveries", new NotificationTestResponse(created, request.Channel))
            : TypedResults.ValidationProblem(errors!);
    }

    private static async Task<Ok<Page<DeliveryDto>>> DeliveriesAsync([AsParameters] PageQuery page, [AsParameters] DeliveryQuery filter,
        NotificationAdmin admin, CancellationToken ct) =>
        TypedResults.Ok(await admin.DeliveriesAsync(filter.Status, filter.Channel, page, ct));

    private static async Task<Results<Ok<DeliveryDto>, ProblemHttpResult>> RetryAsync(Guid id, NotificationAdmin admin, ClaimsPrincipal who, CancellationToken ct)
    {
        var outcome = await admin.RetryAsync(id, PlatformApi.Actor(who).Actor, ct);
        return outcome switch
        {
            RetryOutcome.Queued => TypedResults.Ok((await admin.DeliveryAsync(id, ct))!),
            RetryOutcome.NotFound => ApiConventions.NotFoundProblem($"No notification with id {id}."),
            RetryOutcome.AlreadySent => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already sent", detail: "This notification was delivered; it is not sent twice."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Being sent", detail: "This notification is being sent right now."),
        };
    }

    private static ProblemHttpResult NoInbox() =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "No inbox",
            detail: "In-app notifications belong to signed-in users; an API key has none.");

    private static async Task<Results<Ok<NotificationPreferencesDto>, NotFound, ProblemHttpResult>> GetPreferencesAsync(
        NotificationPreferencesService prefs, ClaimsPrincipal who, CancellationToken ct)
    {
        if (PlatformApi.Actor(who).ActorId is not { } user || who.Identity?.AuthenticationType == AuthSchemes.ApiKey)
            return NoInbox();
        return await prefs.GetAsync(user, ct) is { } dto ? TypedResults.Ok(dto) : TypedResults.NotFound();
    }

    private static async Task<Results<Ok<NotificationPreferencesDto>, ValidationProblem, NotFound, ProblemHttpResult>> SavePreferencesAsync(
        NotificationPreferencesInput input, NotificationPreferencesService prefs, ClaimsPrincipal who, CancellationToken ct)
    {
        if (PlatformApi.Actor(who).ActorId is not { } user || who.Identity?.AuthenticationType == AuthSchemes.ApiKey)
            return NoInbox();
        var (saved, errors) = await prefs.SaveAsync(user, input, ct);
        return errors is not null ? TypedResults.ValidationProblem(errors) : saved is null ? TypedResults.NotFound() : TypedResults.Ok(saved);
    }

    private static async Task<Results<Ok<MyNotifications>, ProblemHttpResult>> MineAsync(int? take, NotificationAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
        PlatformApi.Actor(who).ActorId is { } user && who.Identity?.AuthenticationType != AuthSchemes.ApiKey
            ? TypedResults.Ok(await admin.MineAsync(user, take ?? 10, ct))
            : NoInbox();

    private static async Task<Results<Ok<MarkReadResponse>, ProblemHttpResult>> MarkReadAsync(MarkReadRequest? request, NotificationAdmin admin, ClaimsPrincipal who, CancellationToken ct) =>
        PlatformApi.Actor(who).ActorId is { } user && who.Identity?.AuthenticationType != AuthSchemes.ApiKey
            ? TypedResults.Ok(new MarkReadResponse(await admin.MarkReadAsync(user, request?.Ids, ct)))
            : NoInbox();
}
