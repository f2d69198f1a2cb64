using System.ComponentModel.DataAnnotations;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;

namespace Tandem.Features.Platform;

/// <summary>A page of results. <see cref="TotalCount"/> counts every match, not just this page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, int PageNumber, int PageSize, int TotalCount);

/// <summary>Paging query parameters shared by every list endpoint: <c>?page=1&amp;pageSize=50</c>.</summary>
public sealed class PageQuery
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 200;

    [Range(1, int.MaxValue)]
    public int? Page { get; set; }

    [Range(1, MaxPageSize)]
    public int? PageSize { get; set; }

    public int PageNumber => Page ?? 1;
    public int Size => PageSize ?? DefaultPageSize;
    public int Skip => (PageNumber - 1) * Size;
}

/// <summary>Settings under <c>Tandem:Api</c> and <c>Tandem:RateLimits</c>.</summary>
public sealed class ApiOptions
{
    /// <summary>Largest request body accepted by /api (bytes); larger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;
    /// <summary>POSTs per minute and per client IP to the public sign-in and setup forms.</summary>
    public int AuthAttemptsPerMinute { get; set; } = 20;
    /// <summary>Requests per minute and per API key (or IP when anonymous) to /api.</summary>
    public int ApiRequestsPerMinute { get; set; } = 600_000;
}

/// <summary>Turns any unhandled exception into a ProblemDetails 500 (or the status a BadHttpRequestException carries).</summary>
public sealed class ProblemExceptionHandler(IProblemDetailsService problems, ILogger<ProblemExceptionHandler> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        // A JSON body that does not fit its type (an undefined enum value, a string for a number…): a field error naming the member.
        if (exception is BadHttpRequestException { InnerException: System.Text.Json.JsonException json } && JsonField(json.Path) is { } field)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                Exception = exception,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [JsonMessage(json)] })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "One or more validation errors occurred.",
                },
            });
        }
        if (DatabaseUnavailable(exception))
        {
            // An outage (refused connection, timeout, a full pool, a locked SQLite file): the client should come back, not give up.
            log.LogWarning(exception, "Database unavailable on {Method} {Path}", context.Request.Method, context.Request.Path);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return await problems.TryWriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                Exception = exception,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status503ServiceUnavailable,
                    Title = "Service unavailable",
                    Detail = $"The database cannot be reached right now; retry after {RetryAfterSeconds} seconds.",
                },
            });
        }
        var (status, title, detail) = exception switch
        {
            _ when UnstorableText(exception) => (StatusCodes.Status400BadRequest, "Text the database cannot store",
                "A text value contains a NUL character or invalid Unicode; remove it."),
            BadHttpRequestException bad => (bad.StatusCode, "Bad request", bad.Message),
            OperationCanceledException when context.RequestAborted.IsCancellationRequested => (499, "Client closed request", null),
            _ => (StatusCodes.Status500InternalServerError, "An unexpected error occurred", (string?)null),
        };
        if (status >= 500)
            log.LogError(exception, "Unhandled exception on {Method} {Path}", context.Request.Method, context.Request.Path);
        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new ProblemDetails { Status = status, Title = title, Detail = detail },
        });
    }

    public const int RetryAfterSeconds = 5;

    private static IEnumerable<Exception> Chain(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            yield return e;
            if (e is AggregateException aggregate)
                foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                    yield return inner;
        }
    }

    /// <summary>The database is down or saturated: a refused or dropped connection, a timeout, a server shutting down, SQLite busy.</summary>
    internal static bool DatabaseUnavailable(Exception exception) => Chain(exception).Any(e => e switch
    {
        Npgsql.PostgresException pg => pg.SqlState is "53300" or "57P01" or "57P02" or "57P03" or "08000" or "08001" or "08003" or "08004" or "08006",
        Npgsql.NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is System.Net.Sockets.SocketException or TimeoutException or IOException,
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 10 or 13 or 14,
        TimeoutException => true,
        _ => false,
    });

    /// <summary>PostgreSQL refused a text value (a NUL, a character with no UTF-8 form): the request's fault, whatever path let it through.</summary>
    internal static bool UnstorableText(Exception exception) =>
        Chain(exception).Any(e => e is Npgsql.PostgresException { SqlState: "22021" or "22P05" });

    /// <summary><c>$.items[2].type</c> → <c>items[2].type</c>; null for the root (no member to name).</summary>
    internal static string? JsonField(string? path) =>
        path is null || path == "$" ? null : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    /// <summary>The converter's own message (without the position System.Text.Json appends), or a generic one.</summary>
    private static string JsonMessage(System.Text.Json.JsonException json)
    {
        var message = json.Message;
        var at = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (at >= 0)
            message = message[..at];
        return message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal) || message.Length == 0
            ? "Not a valid value for this field." : message;
    }
}

public static class ApiConventions
{
    public const string RateLimitAuthForms = "auth-forms";

    private static bool IsAuthForm(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && (request.Path.StartsWithSegments("/login") || request.Path.StartsWithSegments("/setup"));

    public static IServiceCollection AddTandemApiConventions(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ApiOptions>(configuration.GetSection("Tandem:Api"));
        services.Configure<ApiOptions>(o =>
        {
            var limits = configuration.GetSection("Tandem:RateLimits");
            o.AuthAttemptsPerMinute = limits.GetValue("AuthAttemptsPerMinute", o.AuthAttemptsPerMinute);
            o.ApiRequestsPerMinute = limits.GetValue("ApiRequestsPerMinute", o.ApiRequestsPerMinute);
        });
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ctx =>
        {
            ctx.ProblemDetails.Instance ??= ctx.HttpContext.Request.Path;
            ctx.ProblemDetails.Extensions.TryAdd("traceId", ctx.HttpContext.TraceIdentifier);
        });
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddValidation();
        // Binding failures reach ProblemExceptionHandler, which names the JSON member at fault (the default answers a bare 400).
        services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.Converters.Add(new StrictEnumConverter());
            o.SerializerOptions.AllowTrailingCommas = false;
        });

        var limits = new ApiOptions();
        configuration.GetSection("Tandem:Api").Bind(limits);
        limits.AuthAttemptsPerMinute = configuration.GetValue("Tandem:RateLimits:AuthAttemptsPerMinute", limits.AuthAttemptsPerMinute);
        limits.ApiRequestsPerMinute = configuration.GetValue("Tandem:RateLimits:ApiRequestsPerMinute", limits.ApiRequestsPerMinute);
        services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(ctx =>
            {
                var ip = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
                if (IsAuthForm(ctx.Request))
                    return RateLimitPartition.GetFixedWindowLimiter($"auth:{ip}", _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = Math.Max(1, limits.AuthAttemptsPerMinute),
                        Window = TimeSpan.FromMinutes(1),
                    });
                if (ctx.Request.Path.StartsWithSegments("/api"))
                {
                    var who = ctx.Request.Headers["X-Api-Key"].ToString() is { Length: > 0 } k ? k
                        : ctx.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : ip;
                    return RateLimitPartition.GetFixedWindowLimiter($"api:{who}", _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = Math.Max(1, limits.ApiRequestsPerMinute),
                        Window = TimeSpan.FromMinutes(1),
                    });
                }
                return RateLimitPartition.GetNoLimiter("none");
            });
            o.OnRejected = async (ctx, ct) =>
            {
                var retryAfter = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMinutes(1);
                ctx.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (IsAuthForm(ctx.HttpContext.Request) && ctx.HttpContext.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase))
                {
                    // A person at the sign-in or setup form reads a sentence, not JSON.
                    var text = ctx.HttpContext.RequestServices.GetRequiredService<Microsoft.Extensions.Localization.IStringLocalizer<SharedResource>>();
                    var message = System.Net.WebUtility.HtmlEncode(string.Format(System.Globalization.CultureInfo.CurrentCulture,
                        text["Login.Throttled"], ctx.HttpContext.Response.Headers.RetryAfter.ToString()));
                    ctx.HttpContext.Response.ContentType = "text/html; charset=utf-8";
                    await ctx.HttpContext.Response.WriteAsync(
                        $"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Tandem</title></head><body><p role=\"alert\">{message}</p>" +
                        $"<p><a href=\"{ctx.HttpContext.Request.Path}\">{System.Net.WebUtility.HtmlEncode(text["Login.Title"])}</a></p></body></html>", ct);
                    return;
                }
                var problems = ctx.HttpContext.RequestServices.GetRequiredService<IProblemDetailsService>();
                await problems.WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = ctx.HttpContext,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "Too many requests",
                        Detail = $"Rate limit reached; retry after {ctx.HttpContext.Response.Headers.RetryAfter} seconds.",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>
    /// Rejects /api bodies over the configured limit with 413 before they are read (by Content-Length),
    /// and caps chunked bodies through the server's body-size feature. Endpoints with their own
    /// <c>IRequestSizeLimitMetadata</c> (uploads) get that limit instead and enforce it while streaming.
    /// </summary>
    public static IApplicationBuilder UseApiBodyLimit(this IApplicationBuilder app) => app.Use(async (ctx, next) =>
    {
        if (ctx.Request.Path.StartsWithSegments("/api"))
        {
            // Endpoints that declare their own limit (uploads) get it; a null limit lifts the server's cap too.
            long? limit = ctx.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata>() is { } own
                ? own.MaxRequestBodySize
                : ctx.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<ApiOptions>>().Value.MaxRequestBodyBytes;
            if (ctx.Request.ContentLength > limit)
            {
                ctx.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
                await ctx.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = ctx,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status413PayloadTooLarge,
                        Title = "Request body too large",
                        Detail = $"The request body is {ctx.Request.ContentLength} bytes; the limit is {limit} bytes.",
                    },
                });
                return;
            }
            if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } feature)
                feature.MaxRequestBodySize = limit;
        }
        await next(ctx);
    });

    /// <summary>
    /// A body whose Content-Type names a charset .NET does not know (<c>charset=nonsense</c>) gets a 415 ProblemDetails before any
    /// endpoint tries to decode it (reading it as JSON threw, which answered 500).
    /// </summary>
    public static IApplicationBuilder UseCharsetCheck(this IApplicationBuilder app) => app.Use(async (ctx, next) =>
    {
        if (ctx.Request.ContentType is { } header && header.Contains("charset", StringComparison.OrdinalIgnoreCase)
            && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(header, out var media) && media.Charset.HasValue && !KnownCharset(media.Charset.Value!))
        {
            ctx.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            await ctx.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = ctx,
                ProblemDetails = new ProblemDetails
                {
                    Status = StatusCodes.Status415UnsupportedMediaType,
                    Title = "Unsupported charset",
                    Detail = "The Content-Type names a charset this server does not know; send the body as UTF-8 (charset=utf-8).",
                },
            });
            return;
        }
        await next(ctx);
    });

    private static bool KnownCharset(string charset)
    {
        try
        {
            System.Text.Encoding.GetEncoding(charset.Trim('"'));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    public static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult NotFoundProblem(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: detail);

    /// <summary>A ValidationProblem with one field error.</summary>
    public static Microsoft.AspNetCore.Http.HttpResults.ValidationProblem FieldError(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] });
}
