using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// CSV import endpoints under <c>/api/v1/imports</c> (scope ingest). Uploads are multipart/form-data (a
/// <c>file</c> part and an optional <c>options</c> JSON part) or a raw text/csv body (options JSON in the
/// <c>options</c> query parameter). They stream to disk and are exempt from the 1 MiB /api body limit; their
/// own cap is <c>Tandem:Imports:MaxBytes</c>.
/// </summary>
public static class ImportsApi
{
    private const int MaxOptionsChars = 256 * 1024;

    private static readonly string[] CsvMediaTypes =
        ["text/csv", "application/csv", "text/plain", "text/tab-separated-values", "application/vnd.ms-excel", "text/comma-separated-values", "application/octet-stream"];

    /// <summary>Registers the import services and the background worker.</summary>
    public static IServiceCollection AddCsvImport(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ImportOptions>(configuration.GetSection("Tandem:Imports"));
        services.AddSingleton<ImportSignal>();
        services.AddScoped<ImportService>();
        services.AddScoped<ImportRunner>();
        services.AddSingleton<ImportWorker>();
        services.AddHostedService(sp => sp.GetRequiredService<ImportWorker>());
        return services;
    }

    /// <remarks>
    /// No <c>Accepts</c> metadata on the uploads: routing would answer 415 to a wrong content type before
    /// authorization runs, telling anonymous callers about the endpoint; the handlers check the type themselves.
    /// </remarks>
    public static RouteGroupBuilder MapImportsApi(this RouteGroupBuilder api)
    {
        var imports = api.MapGroup("/imports").RequireAuthorization(Policies.ScopeIngest).WithTags("Imports");
        imports.MapPost("/", CreateAsync)
            .WithMetadata(new DisableRequestSizeLimitAttribute())
            .Produces<ImportProgress>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithSummary("Upload a CSV and queue its import (or dry run, options.dryRun). Options: mapping, stageValues, placeholders, policy (Update, SkipExisting, CreateOnly), externalSystem, delimiter, encoding.");
        imports.MapPost("/preview", PreviewAsync)
            .WithMetadata(new DisableRequestSizeLimitAttribute())
            .Produces<ImportPreview>()
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .WithSummary($"Detect the delimiter and encoding, name the headers, show the first {ImportService.PreviewRows} rows and suggest a mapping. Reads only the first MiB.");
        imports.MapGet("/", ListAsync).WithSummary("Import history, newest first.");
        imports.MapGet("/{id:guid}", GetAsync).WithSummary("Progress of an import: status, row counts, rows per second, ETA.");
        imports.MapPost("/{id:guid}/cancel", CancelAsync).WithSummary("Cancel an import: at once when pending, after the current batch when running.");
        imports.MapGet("/{id:guid}/errors.csv", ErrorsAsync)
            .Produces(StatusCodes.Status200OK, contentType: "text/csv")
            .WithSummary("The error report: one line per problem (row, column, field, value, message); formulas neutralised.");
        return api;
    }

    private sealed record Upload(Stream Content, string? FileName, string? OptionsJson);

    private static ProblemHttpResult UnsupportedMediaType(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type", detail: detail);

    private static ProblemHttpResult TooLarge(long limit) =>
        TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "Request body too large",
            detail: $"The file is larger than the import limit of {limit} bytes (Tandem:Imports:MaxBytes).");

    /// <summary>
    /// Finds the CSV in the request without buffering it: the raw body, or the <c>file</c> part of a multipart body
    /// (read with <see cref="MultipartReader"/>, so parts stream through). The <c>options</c> part is read wherever
    /// it is, unless <paramref name="stopAfterFile"/> (preview reads only the start of the file; send options first).
    /// </summary>
    private static async Task<IResult?> WithUploadAsync(HttpRequest request, bool stopAfterFile, Func<Upload, Task<IResult>> handle, CancellationToken ct)
    {
        var contentType = request.ContentType is { } header && MediaTypeHeaderValue.TryParse(header, out var parsed) ? parsed : null;
        var media = contentType?.MediaType.Value?.ToLowerInvariant();
        if (media is "multipart/form-data")
        {
            var boundary = HeaderUtilities.RemoveQuotes(contentType!.Boundary).Value;
            if (string.IsNullOrEmpty(boundary))
                return UnsupportedMediaType("multipart/form-data without a boundary.");
            var reader = new MultipartReader(boundary, request.Body);
            string? options = null;
            IResult? result = null;
            MultipartSection? section;
            while ((section = await NextSectionAsync(reader, ct)) is not null)
            {
                if (section == NotMultipart)
                    return UnsupportedMediaType("The body is not multipart/form-data as its Content-Type says (no valid parts); send a CSV file part or a text/csv body.");
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition))
                    continue;
                var name = HeaderUtilities.RemoveQuotes(disposition.Name).Value;
                if (name == "options")
                {
                    using var text = new StreamReader(section.Body);
                    var buffer = new char[MaxOptionsChars + 1];
                    var read = await text.ReadBlockAsync(buffer, ct);
                    if (read > MaxOptionsChars)
                        return ApiConventions.FieldError("options", $"At most {MaxOptionsChars} characters.");
                    options = new string(buffer, 0, read);
                }
                else if (result is null && (name == "file" || disposition.IsFileDisposition()))
                {
                    var partType = section.ContentType is { } pt && MediaTypeHeaderValue.TryParse(pt, out var p) ? p.MediaType.Value?.ToLowerInvariant() : null;
                    if (partType is not null && !CsvMediaTypes.Contains(partType))
                        return UnsupportedMediaType($"The file part is {partType}; send a CSV file (text/csv).");
                    var fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar.HasValue ? disposition.FileNameStar : disposition.FileName).Value;
                    result = await handle(new Upload(section.Body, fileName, options));
                    if (stopAfterFile || result is not IStatusCodeHttpResult { StatusCode: >= 200 and < 300 })
                        return result;
                }
            }
            request.HttpContext.Items[OptionsItem] = options;
            return result ?? ApiConventions.FieldError("file", "The multipart body has no 'file' part.");
        }
        if (media is null || !CsvMediaTypes.Contains(media))
            return UnsupportedMediaType("Send the CSV as multipart/form-data (a 'file' part) or as a text/csv body.");
        var query = request.Query["options"].ToString() is { Length: > 0 } o ? o : null;
        request.HttpContext.Items[OptionsItem] = query;
        return await handle(new Upload(request.Body, request.Headers["X-File-Name"].ToString() is { Length: > 0 } n ? n : null, query));
    }

    private const string OptionsItem = "tandem.import.options";

    private static readonly MultipartSection NotMultipart = new();

    /// <summary>The next part, or <see cref="NotMultipart"/> when the body does not follow the multipart format it announced.</summary>
    private static async Task<MultipartSection?> NextSectionAsync(MultipartReader reader, CancellationToken ct)
    {
        try
        {
            return await reader.ReadNextSectionAsync(ct);
        }
        catch (Exception ex) when (ex is IOException or InvalidDataException && !ct.IsCancellationRequested)
        {
            return NotMultipart;
        }
    }

    private static (ImportSettings? Settings, ValidationProblem? Error) ParseSettings(string? json, HttpRequest request)
    {
        ImportSettings settings;
        try
        {
            settings = string.IsNullOrWhiteSpace(json) ? new ImportSettings() : ImportService.DeserializeSettings(json) ?? new ImportSettings();
        }
        catch (JsonException ex)
        {
            return (null, ApiConventions.FieldError("options", $"Invalid options JSON: {ex.Message}"));
        }
        if (request.Query.TryGetValue("dryRun", out var dry) && bool.TryParse(dry, out var d))
            settings = settings with { DryRun = d };
        if (request.Query.TryGetValue("policy", out var policy))
        {
            if (!Enum.TryParse<MergePolicy>(policy, ignoreCase: true, out var p) || !Enum.IsDefined(p))
                return (null, ApiConventions.FieldError("policy", "Expected Update, SkipExisting or CreateOnly."));
            settings = settings with { Policy = p };
        }
        return (settings, null);
    }

    private static async Task<IResult> CreateAsync(HttpContext http, ImportService imports, CancellationToken ct)
    {
        var limit = imports.Options.MaxBytes;
        if (http.Request.ContentLength > limit + MaxOptionsChars + 16 * 1024)
            return TooLarge(limit);
        StagedFile? staged = null;
        try
        {
            var result = await WithUploadAsync(http.Request, stopAfterFile: false, async upload =>
            {
                staged = await imports.StageAsync(upload.Content, upload.FileName, ct);
                return TypedResults.Accepted((string?)null);
            }, ct);
            if (result is not Accepted)
                return result!;
            var (settings, error) = ParseSettings(http.Items[OptionsItem] as string, http.Request);
            if (error is not null)
                return error;
            var sample = new byte[4096];
            int length;
            await using (var stream = File.OpenRead(staged!.Path))
                length = await stream.ReadAtLeastAsync(sample, sample.Length, throwOnEndOfStream: false, ct);
            if (!ImportService.LooksLikeText(sample.AsSpan(0, length)))
                return UnsupportedMediaType("The file is not text; export it from your spreadsheet or CRM as CSV.");
            var (job, errors) = await imports.CreateAsync(staged, settings!, UserId(http.User), http.User.Identity?.Name ?? "api", ct);
            if (errors is not null)
                return TypedResults.ValidationProblem(errors);
            staged = null;
            return TypedResults.Accepted($"/api/v1/imports/{job!.Id}", ImportProgress.From(job));
        }
        catch (ImportTooLargeException ex)
        {
            return TooLarge(ex.Limit);
        }
        finally
        {
            if (staged is not null)
                ImportRunner.TryDelete(staged.Path);
        }
    }

    private static async Task<IResult> PreviewAsync(HttpContext http, ImportService imports, CancellationToken ct)
    {
        ImportPreview? preview = null;
        var result = await WithUploadAsync(http.Request, stopAfterFile: true, async upload =>
        {
            var sample = new byte[ImportService.PreviewBytes];
            var length = await upload.Content.ReadAtLeastAsync(sample, sample.Length, throwOnEndOfStream: false, ct);
            var whole = length < sample.Length;
            if (!ImportService.LooksLikeText(sample.AsSpan(0, Math.Min(length, 4096))))
                return UnsupportedMediaType("The file is not text; export it from your spreadsheet or CRM as CSV.");
            var (settings, error) = ParseSettings(upload.OptionsJson, http.Request);
            if (error is not null)
                return error;
            preview = await imports.PreviewAsync(sample, length, whole, settings, ct);
            // Only the start is needed: the rest of a large upload is not read.
            return TypedResults.Accepted((string?)null);
        }, ct);
        return preview is not null ? TypedResults.Ok(preview) : result!;
    }

    private static async Task<Ok<Page<ImportProgress>>> ListAsync([AsParameters] PageQuery page, ImportService imports, CancellationToken ct) =>
        TypedResults.Ok(await imports.ListAsync(page, ct));

    private static async Task<Results<Ok<ImportProgress>, ProblemHttpResult>> GetAsync(Guid id, ImportService imports, CancellationToken ct) =>
        await imports.GetAsync(id, ct) is { } progress ? TypedResults.Ok(progress) : ApiConventions.NotFoundProblem($"No import with id {id}.");

    private static async Task<Results<Accepted<ImportProgress>, ProblemHttpResult>> CancelAsync(Guid id, ImportService imports, CancellationToken ct)
    {
        if (await imports.CancelAsync(id, ct) is not { } progress)
            return ApiConventions.NotFoundProblem($"No import with id {id}.");
        if (progress.Status is ImportStatus.Completed or ImportStatus.Failed)
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Import already finished",
                detail: $"The import is {progress.Status}; there is nothing to cancel.");
        return TypedResults.Accepted($"/api/v1/imports/{id}", progress);
    }

    private static async Task<IResult> ErrorsAsync(Guid id, HttpContext http, ImportService imports, CancellationToken ct)
    {
        if (await imports.GetAsync(id, ct) is null)
            return ApiConventions.NotFoundProblem($"No import with id {id}.");
        return new CsvFileResult($"import-{id}-errors.csv", (stream, token) => imports.WriteErrorReportAsync(id, stream, token));
    }

    private static Guid? UserId(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null;

    /// <summary>Streams a CSV download straight to the response.</summary>
    private sealed class CsvFileResult(string fileName, Func<Stream, CancellationToken, Task> write) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.ContentType = "text/csv; charset=utf-8";
            httpContext.Response.Headers.ContentDisposition = $"attachment; filename=\"{fileName}\"";
            await write(httpContext.Response.Body, httpContext.RequestAborted);
        }
    }
}
