using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture.Webhooks;

public sealed record ReplayAllResponse(int Replayed, int Failed);

/// <summary><c>POST /hooks/{key}</c> (public, signed when a secret is set) and the admin API <c>/api/v1/webhook-sources</c>.</summary>
public static class WebhookEndpoints
{
    public static void MapPublic(IEndpointRouteBuilder app) =>
        app.MapPost("/hooks/{key}", ReceiveAsync)
            .AllowAnonymous().DisableAntiforgery().RequireRateLimiting(CaptureChannels.WebhookRateLimit).ExcludeFromDescription();

    public static void MapApi(RouteGroupBuilder api)
    {
        var sources = api.MapGroup("/webhook-sources").RequireAuthorization(Policies.ScopeAdmin).WithTags("Webhooks");
        sources.MapGet("/", ListAsync).WithSummary("List inbound webhook sources.");
        sources.MapGet("/presets", () => TypedResults.Ok(WebhookPresets.All)).WithSummary("Ready-made mappings for Typeform, Webflow, Meta Lead Ads, HubSpot and Unbounce.");
        sources.MapGet("/{id:guid}", GetAsync).WithSummary("Get one webhook source.");
        sources.MapPost("/", CreateAsync).ProducesValidationProblem().WithSummary("Create a webhook source (optionally from a preset).");
        sources.MapPut("/{id:guid}", UpdateAsync).ProducesValidationProblem().WithSummary("Update a webhook source; secret null keeps it, \"\" removes it.");
        sources.MapDelete("/{id:guid}", DeactivateAsync).WithSummary("Deactivate a webhook source (its URL answers 404; dead letters are kept).");
        sources.MapGet("/{id:guid}/dead-letters", DeadLettersAsync).WithSummary("Deliveries that could not become leads, newest first (?status=Pending).");
        sources.MapPost("/{id:guid}/dead-letters/replay", ReplayAllAsync).WithSummary("Replay every pending dead letter with the current mapping.");

        var letters = api.MapGroup("/webhook-dead-letters").RequireAuthorization(Policies.ScopeAdmin).WithTags("Webhooks");
        letters.MapPost("/{id:guid}/replay", ReplayAsync).WithSummary("Replay one dead letter with the source's current mapping.");
        letters.MapPost("/{id:guid}/discard", DiscardAsync).WithSummary("Mark a pending dead letter as discarded.");
    }

    /// <summary>The URI HubSpot signs: as received, and with percent-escapes decoded (HubSpot's documentation decodes some of them).</summary>
    private static List<string> RequestUris(HttpRequest request)
    {
        var encoded = Microsoft.AspNetCore.Http.Extensions.UriHelper.GetEncodedUrl(request);
        var decoded = Uri.UnescapeDataString(encoded);
        return decoded == encoded ? [encoded] : [encoded, decoded];
    }

    private static string Actor(ClaimsPrincipal user) => user.Identity?.Name ?? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "api";

    private static async Task<IResult> ReceiveAsync(string key, HttpContext http, TandemDb db, WebhookIngest ingest, IOptions<CaptureChannelOptions> options, CancellationToken ct)
    {
        var source = await db.Set<WebhookSource>().AsNoTracking().FirstOrDefaultAsync(s => s.Key == key && s.Active, ct);
        if (source is null)
            return ApiConventions.NotFoundProblem("No active webhook source with this key.");
        var mediaType = CaptureChannels.MediaType(http.Request);
        var isForm = string.Equals(mediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        if (!CaptureChannels.IsJson(mediaType) && !isForm)
            return CaptureChannels.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"Post application/json (or a form with a {WebhookIngest.UnbounceJsonField} field, as Unbounce does).");
        var limit = options.Value.WebhookMaxBodyBytes;
        if (await CaptureChannels.ReadBodyAsync(http.Request, limit, ct) is not { } body)
            return CaptureChannels.TooLarge(limit);

        string? secret;
        try
        {
            secret = ingest.Unprotect(source.ProtectedSecret);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // The Data Protection key ring that encrypted the secret is gone (not persisted or not shared between instances).
            return CaptureChannels.Problem(StatusCodes.Status503ServiceUnavailable, "Webhook secret unavailable",
                "The signing secret of this source cannot be decrypted on this server; an admin must enter it again.");
        }
        if (secret is not null && WebhookSignature.Check(source.SignatureHeader, source.SignaturePrefix, source.SignatureEncoding, secret, body,
                name => http.Request.Headers.TryGetValue(name, out var v) ? v.ToString() : null, http.Request.Method, RequestUris(http.Request),
                http.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow()) is { } invalid)
            return CaptureChannels.Problem(StatusCodes.Status401Unauthorized, "Invalid signature", invalid);

        var text = Encoding.UTF8.GetString(body);
        if (isForm && WebhookIngest.ExtractJson(mediaType, text) is null)
            return CaptureChannels.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                $"A form-encoded delivery must carry the payload in a {WebhookIngest.UnbounceJsonField} field.");

        var result = await ingest.ReceiveAsync(source, mediaType, text, WebhookIngest.KeptHeaders(http.Request.Headers, source.SignatureHeader), ct);
        if (result.Captured)
            return TypedResults.Ok(new
            {
                ok = true,
                created = result.Created,
                // Values kept on the activity but not in their field (a country or phone that could not be read).
                warnings = result.Warnings?.Select(w => new { field = w.Field, value = w.Value, message = w.Message }),
            });
        // An erased person: 200 with status "blocked", so the sender does not retry; nothing is kept (decision 021b).
        if (result.Blocked)
            return TypedResults.Ok(new { ok = false, status = "blocked", detail = result.Error });
        // 202 so the sender does not retry a payload that will never map; it waits in the dead-letter list.
        return TypedResults.Json(new
        {
            type = "https://tandem.example/problems/webhook-dead-lettered",
            title = "Delivery dead-lettered",
            status = StatusCodes.Status202Accepted,
            detail = result.Error,
            deadLetterId = result.DeadLetterId,
        }, statusCode: StatusCodes.Status202Accepted, contentType: "application/problem+json");
    }

    private static async Task<Ok<List<WebhookSourceDto>>> ListAsync(WebhookSourceService sources, CancellationToken ct) =>
        TypedResults.Ok(await sources.ListAsync(ct));

    private static async Task<Results<Ok<WebhookSourceDto>, ProblemHttpResult>> GetAsync(Guid id, WebhookSourceService sources, CancellationToken ct) =>
        await sources.GetAsync(id, ct) is { } source ? TypedResults.Ok(source) : ApiConventions.NotFoundProblem($"No webhook source with id {id}.");

    private static async Task<Results<Created<WebhookSourceDto>, ValidationProblem>> CreateAsync(WebhookSourceDefinition body, WebhookSourceService sources, ClaimsPrincipal user, CancellationToken ct)
    {
        var (source, errors) = await sources.CreateAsync(body, Actor(user), ct);
        return source is null ? TypedResults.ValidationProblem(errors!) : TypedResults.Created($"/api/v1/webhook-sources/{source.Id}", source);
    }

    private static async Task<Results<Ok<WebhookSourceDto>, ValidationProblem, ProblemHttpResult>> UpdateAsync(Guid id, WebhookSourceDefinition body, WebhookSourceService sources, ClaimsPrincipal user, CancellationToken ct)
    {
        var (source, errors) = await sources.UpdateAsync(id, body, Actor(user), ct);
        return source is not null ? TypedResults.Ok(source)
            : errors is not null ? TypedResults.ValidationProblem(errors)
            : ApiConventions.NotFoundProblem($"No webhook source with id {id}.");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeactivateAsync(Guid id, WebhookSourceService sources, ClaimsPrincipal user, CancellationToken ct) =>
        await sources.DeactivateAsync(id, Actor(user), ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No webhook source with id {id}.");

    private static async Task<Results<Ok<Page<DeadLetterDto>>, ProblemHttpResult>> DeadLettersAsync(Guid id, DeadLetterStatus? status, [AsParameters] PageQuery page,
        WebhookSourceService sources, TandemDb db, CancellationToken ct)
    {
        if (!await db.Set<WebhookSource>().AnyAsync(s => s.Id == id, ct))
            return ApiConventions.NotFoundProblem($"No webhook source with id {id}.");
        var total = await db.Set<WebhookDeadLetter>().CountAsync(d => d.SourceId == id && (status == null || d.Status == status), ct);
        var items = await sources.DeadLettersAsync(id, status, page.Skip, page.Size, ct);
        return TypedResults.Ok(new Page<DeadLetterDto>(items, page.PageNumber, page.Size, total));
    }

    private static async Task<Results<Ok<ReplayAllResponse>, ProblemHttpResult>> ReplayAllAsync(Guid id, WebhookIngest ingest, TandemDb db, ClaimsPrincipal user, CancellationToken ct)
    {
        if (!await db.Set<WebhookSource>().AnyAsync(s => s.Id == id, ct))
            return ApiConventions.NotFoundProblem($"No webhook source with id {id}.");
        var (replayed, failed) = await ingest.ReplayAllAsync(id, Actor(user), ct);
        return TypedResults.Ok(new ReplayAllResponse(replayed, failed));
    }

    private static async Task<IResult> ReplayAsync(Guid id, WebhookIngest ingest, ClaimsPrincipal user, CancellationToken ct)
    {
        var result = await ingest.ReplayAsync(id, Actor(user), ct);
        return result.Status switch
        {
            ReplayStatus.Replayed => TypedResults.Ok(result),
            ReplayStatus.NotFound => ApiConventions.NotFoundProblem($"No dead letter with id {id}."),
            ReplayStatus.NotPending => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Already resolved",
                detail: "This dead letter was already replayed or discarded; replaying it again would duplicate the submission."),
            _ => TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Replay failed", detail: result.Error,
                extensions: new Dictionary<string, object?> { ["error"] = result.Error }),
        };
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DiscardAsync(Guid id, WebhookIngest ingest, ClaimsPrincipal user, CancellationToken ct) =>
        await ingest.DiscardAsync(id, Actor(user), ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No pending dead letter with id {id}.");
}
