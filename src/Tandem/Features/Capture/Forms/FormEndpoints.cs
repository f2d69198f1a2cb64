using System.Security.Claims;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture.Forms;

/// <summary>
/// <c>POST /f/{formKey}</c> (public, anonymous) and the form management API <c>/api/v1/forms</c>. The public endpoint
/// answers browsers with HTML or a 303, and scripts (JSON bodies or <c>Accept: application/json</c>) with JSON.
/// </summary>
public static class FormEndpoints
{
    public static void MapPublic(IEndpointRouteBuilder app)
    {
        app.MapPost("/f/{formKey}", SubmitAsync)
            .AllowAnonymous().DisableAntiforgery().RequireRateLimiting(CaptureChannels.FormRateLimit)
            .ExcludeFromDescription();
        app.MapMethods("/f/{formKey}", [HttpMethods.Options], PreflightAsync)
            .AllowAnonymous().DisableAntiforgery().ExcludeFromDescription();
    }

    public static void MapApi(RouteGroupBuilder api)
    {
        var forms = api.MapGroup("/forms").WithTags("Forms");
        forms.MapGet("/", ListAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("List web forms.");
        forms.MapGet("/{id:guid}", GetAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("Get one web form.");
        forms.MapGet("/{id:guid}/snippet", SnippetAsync).RequireAuthorization(Policies.ScopeRead).WithSummary("The HTML snippet to embed the form on a site.");
        forms.MapPost("/", CreateAsync).RequireAuthorization(Policies.ScopeIngest).ProducesValidationProblem().WithSummary("Create a web form.");
        forms.MapPut("/{id:guid}", UpdateAsync).RequireAuthorization(Policies.ScopeIngest).ProducesValidationProblem().WithSummary("Replace a web form's definition.");
        forms.MapDelete("/{id:guid}", DeactivateAsync).RequireAuthorization(Policies.ScopeIngest).WithSummary("Deactivate a web form (its URL answers 404; submissions already captured stay).");
    }

    private static string Actor(ClaimsPrincipal user) => user.Identity?.Name ?? user.FindFirstValue(ClaimTypes.NameIdentifier) ?? "api";

    private static async Task<Ok<List<FormDto>>> ListAsync(TandemDb db, CancellationToken ct)
    {
        var forms = await db.Set<LeadForm>().AsNoTracking().OrderBy(f => f.Name).ToListAsync(ct);
        return TypedResults.Ok(forms.Select(FormDto.From).ToList());
    }

    private static async Task<Results<Ok<FormDto>, ProblemHttpResult>> GetAsync(Guid id, TandemDb db, CancellationToken ct) =>
        await db.Set<LeadForm>().AsNoTracking().FirstOrDefaultAsync(f => f.Id == id, ct) is { } form
            ? TypedResults.Ok(FormDto.From(form))
            : ApiConventions.NotFoundProblem($"No form with id {id}.");

    private static async Task<Results<Ok<FormSnippetDto>, ProblemHttpResult>> SnippetAsync(Guid id, HttpRequest request, TandemDb db, IOptions<CaptureChannelOptions> options, CancellationToken ct)
    {
        if (await db.Set<LeadForm>().AsNoTracking().FirstOrDefaultAsync(f => f.Id == id, ct) is not { } form)
            return ApiConventions.NotFoundProblem($"No form with id {id}.");
        var baseUrl = options.Value.BaseUrl(request);
        return TypedResults.Ok(new FormSnippetDto(FormSnippet.ActionUrl(baseUrl, form.Key), FormSnippet.Build(form, baseUrl)));
    }

    private static async Task<Results<Created<FormDto>, ValidationProblem>> CreateAsync(FormDefinition body, FormService forms, ClaimsPrincipal user, CancellationToken ct)
    {
        var (form, errors) = await forms.CreateAsync(body, Actor(user), ct);
        return form is null ? TypedResults.ValidationProblem(errors!) : TypedResults.Created($"/api/v1/forms/{form.Id}", form);
    }

    private static async Task<Results<Ok<FormDto>, ValidationProblem, ProblemHttpResult>> UpdateAsync(Guid id, FormDefinition body, FormService forms, ClaimsPrincipal user, CancellationToken ct)
    {
        var (form, errors) = await forms.UpdateAsync(id, body, Actor(user), ct);
        return form is not null ? TypedResults.Ok(form)
            : errors is not null ? TypedResults.ValidationProblem(errors)
            : ApiConventions.NotFoundProblem($"No form with id {id}.");
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeactivateAsync(Guid id, FormService forms, ClaimsPrincipal user, CancellationToken ct) =>
        await forms.DeactivateAsync(id, Actor(user), ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No form with id {id}.");

    private static async Task<IResult> PreflightAsync(string formKey, HttpContext http, FormService forms, CancellationToken ct)
    {
        if (await forms.FindByKeyAsync(formKey, ct) is not { } form)
            return ApiConventions.NotFoundProblem("No active form with this key.");
        var origin = http.Request.Headers.Origin.ToString();
        if (!FormRules.IsOriginAllowed(form.AllowedOrigins, origin))
            return ForbiddenOrigin();
        AllowOrigin(http, origin);
        http.Response.Headers.AccessControlAllowMethods = "POST";
        http.Response.Headers.AccessControlAllowHeaders = "Content-Type, Accept";
        http.Response.Headers.AccessControlMaxAge = "600";
        return TypedResults.NoContent();
    }

    private static void AllowOrigin(HttpContext http, string origin)
    {
        if (string.IsNullOrEmpty(origin))
            return;
        http.Response.Headers.AccessControlAllowOrigin = origin;
        http.Response.Headers.Vary = "Origin";
    }

    private static IResult ForbiddenOrigin() =>
        CaptureChannels.Problem(StatusCodes.Status403Forbidden, "Origin not allowed", "This form does not accept submissions from this site.");

    private static async Task<IResult> SubmitAsync(string formKey, HttpContext http, FormService forms, IOptions<CaptureChannelOptions> options,
        IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var request = http.Request;
        var mediaType = CaptureChannels.MediaType(request);
        var isJson = CaptureChannels.IsJson(mediaType);
        var wantsJson = isJson || request.Headers.Accept.ToString().Contains("application/json", StringComparison.OrdinalIgnoreCase);

        if (await forms.FindByKeyAsync(formKey, ct) is not { } form)
            return ApiConventions.NotFoundProblem("No active form with this key.");
        var origin = request.Headers.Origin.ToString();
        if (!FormRules.IsOriginAllowed(form.AllowedOrigins, origin))
            return ForbiddenOrigin();
        AllowOrigin(http, origin);

        var isUrlEncoded = string.Equals(mediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);
        var isMultipart = string.Equals(mediaType, "multipart/form-data", StringComparison.OrdinalIgnoreCase);
        if (!isJson && !isUrlEncoded && !isMultipart)
            return CaptureChannels.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "Post application/x-www-form-urlencoded, multipart/form-data or application/json.");

        var limit = options.Value.FormMaxBodyBytes;
        if (await CaptureChannels.ReadBodyAsync(request, limit, ct) is not { } body)
            return CaptureChannels.TooLarge(limit);

        List<KeyValuePair<string, string?>> posted;
        if (isJson)
        {
            if (ParseJson(body) is not { } fields)
                return ApiConventions.FieldError("body", "Expected a JSON object of field names to text, number or boolean values.");
            posted = fields;
        }
        else if (isUrlEncoded)
        {
            posted = [.. QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body)).Select(p => new KeyValuePair<string, string?>(p.Key, p.Value.ToString()))];
        }
        else
        {
            request.Body = new MemoryStream(body);
            var multipart = await request.ReadFormAsync(ct);
            if (multipart.Files.Count > 0)
                return CaptureChannels.Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", "File uploads are not accepted by forms.");
            posted = [.. multipart.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value.ToString()))];
        }

        var result = await forms.SubmitAsync(form, posted, checkBots: true, ct, http.Connection.RemoteIpAddress?.ToString());
        if (result.Verdict == SubmissionVerdict.Invalid)
        {
            return wantsJson
                ? TypedResults.ValidationProblem(result.Errors!)
                : Html(StatusCodes.Status400BadRequest, ErrorPage(form, posted, result.Errors!, request.Headers.Referer.ToString(), l));
        }
        // Accepted and Dropped answer alike so a bot cannot tell its trap fired.
        if (wantsJson)
            return TypedResults.Ok(new { ok = true });
        if (form.RedirectUrl is { } redirect)
        {
            http.Response.Headers.Location = redirect;
            return TypedResults.StatusCode(StatusCodes.Status303SeeOther);
        }
        return Html(StatusCodes.Status200OK, Page(l["Forms.Public.ThanksTitle"], $"<p>{HtmlEncoder.Default.Encode(l["Forms.Public.ThanksText"])}</p>"));
    }

    private static List<KeyValuePair<string, string?>>? ParseJson(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return null;
            var fields = new List<KeyValuePair<string, string?>>();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                string? value = p.Value.ValueKind switch
                {
                    JsonValueKind.String => SafeText.GetString(p.Value, out _),
                    JsonValueKind.Number => p.Value.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    JsonValueKind.Null => null,
                    _ => throw new JsonException(),
                };
                fields.Add(new(p.Name, value));
            }
            return fields;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static ContentHttpResult Html(int status, string html)
    {
        return TypedResults.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }

    private static string Page(string title, string body)
    {
        var h = HtmlEncoder.Default;
        return $"<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><meta name=\"robots\" content=\"noindex\">" +
               $"<title>{h.Encode(title)}</title><style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}</style></head>" +
               $"<body><h1>{h.Encode(title)}</h1>{body}</body></html>";
    }

    private static string ErrorPage(LeadForm form, IReadOnlyList<KeyValuePair<string, string?>> posted, IReadOnlyDictionary<string, string[]> errors, string referer, IStringLocalizer l)
    {
        var h = HtmlEncoder.Default;
        var sb = new StringBuilder("<ul>");
        foreach (var (field, messages) in errors)
        {
            var label = form.Fields.FirstOrDefault(f => f.Name == field)?.Label ?? field;
            var value = posted.FirstOrDefault(p => p.Key == field).Value;
            sb.Append("<li><strong>").Append(h.Encode(label)).Append("</strong>: ").Append(h.Encode(string.Join(" ", messages)));
            if (!string.IsNullOrEmpty(value))
                sb.Append(" <q>").Append(h.Encode(value.Length > 200 ? value[..200] : value)).Append("</q>");
            sb.Append("</li>");
        }
        sb.Append("</ul>");
        var back = FormRules.IsHttpUrl(referer) ? h.Encode(referer) : "javascript:history.back()";
        sb.Append("<p><a href=\"").Append(back).Append("\">").Append(h.Encode(l["Forms.Public.Back"])).Append("</a></p>");
        return Page(l["Forms.Public.ErrorsTitle"], sb.ToString());
    }
}
