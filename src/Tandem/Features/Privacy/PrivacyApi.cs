using System.Text;
using Microsoft.AspNetCore.Mvc;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Privacy;

/// <summary>
/// Privacy rights (decision 021b). Export, erasure and the subject search are the administrator's (scope <c>admin</c>: the Admin role,
/// or a key with that scope); recording a withdrawal is open to anyone who may read the lead (an opt-out must never wait), a grant
/// to those who capture leads (scope <c>ingest</c>).
/// </summary>
public static class PrivacyApi
{
    public static RouteGroupBuilder MapPrivacyApi(this RouteGroupBuilder api)
    {
        var admin = api.MapGroup("").RequireAuthorization(Policies.ScopeAdmin).WithTags("Privacy");
        admin.MapGet("/leads/{id:guid}/privacy-export", ExportAsync)
            .WithSummary("Everything held on the person: the lead, its consent ledger and the rows of every table that refer to it or carry its email. format=json (default) or csv (one file, one section per table).");
        admin.MapPost("/leads/{id:guid}/erase", EraseAsync)
            .WithSummary("Erases the person's data everywhere, keeping an anonymous tombstone (stage history, campaign, channel, dates, amounts). blockRecapture keeps a keyed hash of the email and phone so capture refuses them. Idempotent.");
        admin.MapGet("/privacy/subjects", SubjectsAsync).WithSummary("The leads whose email is this address, and whether re-capture of it is blocked.");

        var consent = api.MapGroup("/leads").WithTags("Privacy");
        consent.MapPost("/{id:guid}/consent/withdraw", (Guid id, ConsentChange? body, PrivacyService privacy, HttpContext http, CancellationToken ct) =>
                RecordAsync(id, body, ConsentAction.Withdrawn, privacy, http, ct))
            .RequireAuthorization(Policies.ScopeRead).RequireLeadAccess(LeadRight.Read)
            .WithSummary("Records a withdrawal of consent (purpose email or calls) in the append-only ledger and sets do-not-email / do-not-call.");
        consent.MapPost("/{id:guid}/consent/grant", (Guid id, ConsentChange? body, PrivacyService privacy, HttpContext http, CancellationToken ct) =>
                RecordAsync(id, body, ConsentAction.Granted, privacy, http, ct))
            .RequireAuthorization(Policies.ScopeIngest).RequireLeadAccess(LeadRight.MoveStage)
            .WithSummary("Records a grant of consent with the wording the person agreed to.");
        return api;
    }

    private static async Task<IResult> ExportAsync(Guid id, [FromQuery] string? format, PrivacyService privacy, HttpContext http, CancellationToken ct)
    {
        var kind = string.IsNullOrWhiteSpace(format) ? "json" : format.Trim().ToLowerInvariant();
        if (kind is not ("json" or "csv"))
            return ApiConventions.FieldError("format", "Use json or csv.");
        var export = await privacy.ExportAsync(id, Actor.From(http.User), ct);
        if (export is null)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        var name = $"lead-{id:N}-privacy-export";
        return kind == "csv"
            ? TypedResults.File(Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(PrivacyService.ToCsv(export))).ToArray(), "text/csv; charset=utf-8", name + ".csv")
            : TypedResults.File(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(export, Json), "application/json", name + ".json");
    }

    private static readonly System.Text.Json.JsonSerializerOptions Json = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    private static async Task<IResult> EraseAsync(Guid id, ErasureRequest? body, PrivacyService privacy, HttpContext http, CancellationToken ct)
    {
        var errors = PrivacyService.Validate(body);
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        var result = await privacy.EraseAsync(id, body!, Actor.From(http.User), ct);
        return result is null ? ApiConventions.NotFoundProblem($"No lead with id {id}.") : TypedResults.Ok(result);
    }

    private static async Task<IResult> SubjectsAsync([FromQuery] string? email, PrivacyService privacy, CancellationToken ct)
    {
        var (subjects, errors) = await privacy.FindSubjectsAsync(email, ct);
        return subjects is null ? TypedResults.ValidationProblem(errors.ToDictionary()) : TypedResults.Ok(subjects);
    }

    private static async Task<IResult> RecordAsync(Guid id, ConsentChange? body, ConsentAction action, PrivacyService privacy, HttpContext http, CancellationToken ct)
    {
        var (found, errors) = await privacy.RecordConsentAsync(id, body, action, Actor.From(http.User), http.Connection.RemoteIpAddress?.ToString(), ct);
        if (!found)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        var ledger = await PrivacyService.LedgerAsync(http.RequestServices.GetRequiredService<Data.TandemDb>(), id, ct);
        return TypedResults.Ok(ledger);
    }
}
