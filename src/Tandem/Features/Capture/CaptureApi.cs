using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture;

public sealed record CaptureLeadResponse(Guid Id, bool Created);

public sealed record BatchItemResult(int Index, string Status, Guid? Id, IReadOnlyDictionary<string, string[]>? Errors);

/// <param name="Blocked">Items refused because their person was erased with re-capture blocked (status <c>blocked</c>).</param>
public sealed record BatchResponse(int Created, int Merged, int Invalid, IReadOnlyList<BatchItemResult> Items, int Blocked = 0);

public sealed record CaptureActivityResponse(Guid Id);

/// <summary>Documentation shape of a lead submission (the endpoint parses the JSON itself to report every field error).</summary>
public sealed record LeadSubmission(string? Email, string? Phone, string? ExternalId, string? ExternalSystem, string? FirstName, string? LastName,
    string? Company, string? JobTitle, int? CompanySize, string? Industry, string? Country, string? City, string? Language,
    string? UtmSource, string? UtmMedium, string? UtmCampaign, string? UtmTerm, string? UtmContent, string? Referrer, string? LandingPage,
    Guid? CampaignId, ConsentInput? Consent, Dictionary<string, string?>? CustomFields, DateTimeOffset? OccurredAt);

public sealed record LeadBatchSubmission(IReadOnlyList<LeadSubmission> Items);

public sealed record ActivitySubmission(Guid? LeadId, string? Email, string? Phone, string? ExternalSystem, string? ExternalId, string Type,
    DateTimeOffset? OccurredAt, Guid? CampaignId, string? Channel, string? UtmSource, string? UtmMedium, string? UtmCampaign,
    string? UtmTerm, string? UtmContent, string? Url, string? Referrer, string? Outcome, Dictionary<string, object?>? Properties);

public sealed record ActivityBatchSubmission(IReadOnlyList<ActivitySubmission> Items);

/// <summary>
/// Capture endpoints: <c>POST /api/v1/leads</c>, <c>/leads/batch</c>, <c>/activities</c>, <c>/activities/batch</c>.
/// Bodies are parsed by hand so every field error is reported at once, unknown fields are refused by name, and
/// the raw body can be hashed for <c>Idempotency-Key</c>.
/// </summary>
public static class CaptureApi
{
    public const int MaxBatchItems = 1000;

    public static RouteGroupBuilder MapCaptureApi(this RouteGroupBuilder api)
    {
        var leads = api.MapGroup("/leads").RequireAuthorization(Policies.ScopeIngest).WithTags("Capture");
        leads.MapPost("/", CaptureLeadAsync)
            .Accepts<LeadSubmission>("application/json")
            .Produces<CaptureLeadResponse>(StatusCodes.Status201Created)
            .Produces<CaptureLeadResponse>(StatusCodes.Status200OK)
            .ProducesValidationProblem()
            .WithSummary("Create a lead, or merge into the lead with the same email, phone or external id (201 created, 200 merged). Honours Idempotency-Key.");
        leads.MapPost("/batch", CaptureLeadBatchAsync)
            .Accepts<LeadBatchSubmission>("application/json")
            .Produces<BatchResponse>()
            .ProducesValidationProblem()
            .WithSummary($"Create or merge up to {MaxBatchItems} leads; one result per item, a bad item never rejects the others.");

        var activities = api.MapGroup("/activities").RequireAuthorization(Policies.ScopeIngest).WithTags("Capture");
        activities.MapPost("/", CaptureActivityAsync)
            .Accepts<ActivitySubmission>("application/json")
            .Produces<CaptureActivityResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .WithSummary("Record an activity (touchpoint) of an existing lead, identified by leadId, email, phone or external id.");
        activities.MapPost("/batch", CaptureActivityBatchAsync)
            .Accepts<ActivityBatchSubmission>("application/json")
            .Produces<BatchResponse>()
            .ProducesValidationProblem()
            .WithSummary($"Record up to {MaxBatchItems} activities; one result per item.");
        return api;
    }

    private static Task<IResult> CaptureLeadAsync(HttpContext http, CaptureQueue capture, IdempotencyStore idempotency, CancellationToken ct) =>
        WithJsonBodyAsync(http, idempotency, async json =>
        {
            var errors = new FieldErrors();
            var input = LeadInputParser.Parse(json, errors);
            if (errors.Any)
                return TypedResults.ValidationProblem(errors.ToDictionary());
            var outcome = await capture.CaptureAsync(input, CaptureContext.Api with { ActorUserId = UserId(http.User) }, ct);
            if (!outcome.Succeeded)
                return TypedResults.ValidationProblem(outcome.Errors!);
            var body = new CaptureLeadResponse(outcome.LeadId!.Value, outcome.Created);
            return outcome.Created ? TypedResults.Created($"/api/v1/leads/{body.Id}", body) : TypedResults.Ok(body);
        }, ct);

    private static Task<IResult> CaptureLeadBatchAsync(HttpContext http, CaptureService capture, IdempotencyStore idempotency, CancellationToken ct) =>
        WithJsonBodyAsync(http, idempotency, json => RunBatchAsync(json, "leads",
            (item, errors) => LeadInputParser.Parse(item, errors),
            inputs => capture.CaptureManyAsync(inputs, CaptureContext.Api with { ActorUserId = UserId(http.User) }, ct),
            o => o.Created ? "created" : "merged"), ct);

    private static Task<IResult> CaptureActivityAsync(HttpContext http, ActivityCapture activities, IdempotencyStore idempotency, CancellationToken ct) =>
        WithJsonBodyAsync(http, idempotency, async json =>
        {
            var errors = new FieldErrors();
            var input = ActivityCapture.Parse(json, errors);
            if (errors.Any)
                return TypedResults.ValidationProblem(errors.ToDictionary());
            var outcome = (await activities.StoreAsync([input], "api", ct))[0];
            if (!outcome.Succeeded)
                return TypedResults.ValidationProblem(outcome.Errors!);
            return TypedResults.Created($"/api/v1/leads/{input.LeadId}", new CaptureActivityResponse(outcome.LeadId!.Value));
        }, ct);

    private static Task<IResult> CaptureActivityBatchAsync(HttpContext http, ActivityCapture activities, IdempotencyStore idempotency, CancellationToken ct) =>
        WithJsonBodyAsync(http, idempotency, json => RunBatchAsync(json, "activities",
            (item, errors) => ActivityCapture.Parse(item, errors),
            inputs => activities.StoreAsync(inputs, "api", ct),
            _ => "created"), ct);

    /// <summary>
    /// The batch contract shared by leads and activities: 1 to <see cref="MaxBatchItems"/> items, each parsed on its
    /// own (an invalid item is reported and skipped), the valid ones stored in one call, one result per item in order.
    /// </summary>
    private static async Task<IResult> RunBatchAsync<TInput>(JsonElement json, string noun, Func<JsonElement, FieldErrors, TInput> parse,
        Func<IReadOnlyList<TInput>, Task<IReadOnlyList<CaptureOutcome>>> store, Func<CaptureOutcome, string> status)
    {
        if (BatchItems(json) is not { } items)
            return ApiConventions.FieldError("items", $"Expected {{ \"items\": [ ... ] }} with 1 to {MaxBatchItems} {noun}.");
        if (items.Count > MaxBatchItems)
            return ApiConventions.FieldError("items", $"At most {MaxBatchItems} items per batch; this one has {items.Count}.");
        var results = new BatchItemResult?[items.Count];
        var valid = new List<(int Index, TInput Input)>();
        for (var i = 0; i < items.Count; i++)
        {
            var errors = new FieldErrors();
            var input = parse(items[i], errors);
            if (errors.Any)
                results[i] = new BatchItemResult(i, "invalid", null, errors.ToDictionary());
            else
                valid.Add((i, input));
        }
        var outcomes = valid.Count == 0 ? [] : await store([.. valid.Select(v => v.Input)]);
        for (var k = 0; k < valid.Count; k++)
        {
            var o = outcomes[k];
            results[valid[k].Index] = o.Succeeded
                ? new BatchItemResult(valid[k].Index, status(o), o.LeadId, null)
                : new BatchItemResult(valid[k].Index, o.Blocked ? "blocked" : "invalid", null, o.Errors);
        }
        return TypedResults.Ok(Summarise(results!));
    }

    private static BatchResponse Summarise(BatchItemResult[] results) => new(
        results.Count(r => r.Status == "created"), results.Count(r => r.Status == "merged"), results.Count(r => r.Status == "invalid"), results,
        results.Count(r => r.Status == "blocked"));

    private static List<JsonElement>? BatchItems(JsonElement json) =>
        json.ValueKind == JsonValueKind.Object && json.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array && items.GetArrayLength() > 0
            ? [.. items.EnumerateArray()]
            : null;

    private static Guid? UserId(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;

    /// <summary>
    /// Reads a JSON body (415 unless application/json, 400 for invalid UTF-8 or JSON), applies Idempotency-Key, and
    /// runs <paramref name="handle"/>.
    /// </summary>
    private static async Task<IResult> WithJsonBodyAsync(HttpContext http, IdempotencyStore idempotency, Func<JsonElement, Task<IResult>> handle, CancellationToken ct)
    {
        var request = http.Request;
        if (!request.HasJsonContentType())
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type",
                detail: "Send the body as application/json (UTF-8).");
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, ct);
        var raw = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);

        string? idemKey = null;
        byte[]? hash = null;
        if (request.Headers.TryGetValue(IdempotencyStore.Header, out var header) && header.ToString() is { Length: > 0 } clientKey)
        {
            if (clientKey.Length > 200)
                return ApiConventions.FieldError(IdempotencyStore.Header, "At most 200 characters.");
            idemKey = IdempotencyStore.CallerKey(http.User, clientKey);
            hash = IdempotencyStore.Hash(request.Method, request.Path, raw.Span);
            if (idemKey is not null && await idempotency.FindAsync(idemKey, hash, ct) is { } stored)
                return Replay(stored);
        }

        if (!System.Text.Unicode.Utf8.IsValid(raw.Span))
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid UTF-8",
                detail: "The body contains bytes that are not valid UTF-8. Send JSON encoded as UTF-8.");
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(raw, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid JSON",
                detail: $"The body is not valid UTF-8 JSON: {ex.Message}");
        }
        using (document)
        {
            var result = await handle(document.RootElement);
            if (idemKey is null || hash is null)
                return result;
            var (status, body, location) = Describe(result);
            if (status is >= 200 and < 300 or 400 or 422 && !await idempotency.SaveAsync(idemKey, hash, status, body, location, ct) &&
                await idempotency.FindAsync(idemKey, hash, ct) is { } raced)
                return Replay(raced);
            return result;
        }
    }

    private static IResult Replay(IdempotencyStore.Stored stored)
    {
        if (!stored.SameRequest)
            return TypedResults.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "Idempotency key reused",
                detail: "This Idempotency-Key was already used with a different request body in the last 24 hours.");
        return new ReplayResult(stored.StatusCode, stored.Body, stored.Location);
    }

    private static (int Status, string? Body, string? Location) Describe(IResult result) => result switch
    {
        Created<CaptureLeadResponse> c => (201, JsonSerializer.Serialize(c.Value, JsonSerializerOptions.Web), c.Location),
        Ok<CaptureLeadResponse> o => (200, JsonSerializer.Serialize(o.Value, JsonSerializerOptions.Web), null),
        Created<CaptureActivityResponse> c => (201, JsonSerializer.Serialize(c.Value, JsonSerializerOptions.Web), c.Location),
        Ok<BatchResponse> o => (200, JsonSerializer.Serialize(o.Value, JsonSerializerOptions.Web), null),
        ValidationProblem v => (400, JsonSerializer.Serialize(v.ProblemDetails, JsonSerializerOptions.Web), null),
        IStatusCodeHttpResult s => (s.StatusCode ?? 500, null, null),
        _ => (500, null, null),
    };

    /// <summary>Writes a stored answer again, byte for byte, with <c>Idempotent-Replayed: true</c>.</summary>
    private sealed class ReplayResult(int status, string? body, string? location) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            httpContext.Response.Headers["Idempotent-Replayed"] = "true";
            if (location is not null)
                httpContext.Response.Headers.Location = location;
            if (body is not null)
            {
                httpContext.Response.ContentType = status >= 400 ? "application/problem+json" : "application/json; charset=utf-8";
                await httpContext.Response.WriteAsync(body);
            }
        }
    }
}
