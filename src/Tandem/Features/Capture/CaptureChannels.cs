using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Capture.Webhooks;

namespace Tandem.Features.Capture;

/// <summary>Settings of the public capture channels (<c>Tandem:RateLimits:*</c>, <c>Tandem:PublicBaseUrl</c>).</summary>
public sealed class CaptureChannelOptions
{
    public int FormSubmissionsPerMinutePerIp { get; set; } = 10;
    public int FormSubmissionsPerMinutePerForm { get; set; } = 600;
    public int WebhookRequestsPerMinutePerSource { get; set; } = 600;
    public long FormMaxBodyBytes { get; set; } = 64 * 1024;
    public long WebhookMaxBodyBytes { get; set; } = 256 * 1024;
    /// <summary>Base URL embedded in snippets and shown for webhooks; the request's scheme and host when empty.</summary>
    public string? PublicBaseUrl { get; set; }

    public string BaseUrl(HttpRequest? request) =>
        !string.IsNullOrWhiteSpace(PublicBaseUrl) ? PublicBaseUrl.TrimEnd('/') : request is null ? "" : $"{request.Scheme}://{request.Host}";
}

/// <summary>Composition of the public capture channels: web forms (<c>/f/{key}</c>) and inbound webhooks (<c>/hooks/{key}</c>).</summary>
public static class CaptureChannels
{
    public const string FormRateLimit = "capture-forms";
    public const string WebhookRateLimit = "capture-webhooks";

    public static void ConfigureModel(Microsoft.EntityFrameworkCore.ModelBuilder builder)
    {
        FormModel.Configure(builder);
        WebhookModel.Configure(builder);
    }

    public static IServiceCollection AddCaptureChannels(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<CaptureChannelOptions>(o =>
        {
            var limits = configuration.GetSection("Tandem:RateLimits");
            o.FormSubmissionsPerMinutePerIp = limits.GetValue("FormSubmissionsPerMinutePerIp", o.FormSubmissionsPerMinutePerIp);
            o.FormSubmissionsPerMinutePerForm = limits.GetValue("FormSubmissionsPerMinutePerForm", o.FormSubmissionsPerMinutePerForm);
            o.WebhookRequestsPerMinutePerSource = limits.GetValue("WebhookRequestsPerMinutePerSource", o.WebhookRequestsPerMinutePerSource);
            o.FormMaxBodyBytes = configuration.GetValue("Tandem:Forms:MaxBodyBytes", o.FormMaxBodyBytes);
            o.WebhookMaxBodyBytes = configuration.GetValue("Tandem:Webhooks:MaxBodyBytes", o.WebhookMaxBodyBytes);
            o.PublicBaseUrl = configuration["Tandem:PublicBaseUrl"];
        });
        services.AddScoped<FormService>();
        services.AddScoped<WebhookIngest>();
        services.AddScoped<WebhookSourceService>();
        var options = new CaptureChannelOptions
        {
            FormSubmissionsPerMinutePerIp = configuration.GetValue("Tandem:RateLimits:FormSubmissionsPerMinutePerIp", 10),
            FormSubmissionsPerMinutePerForm = configuration.GetValue("Tandem:RateLimits:FormSubmissionsPerMinutePerForm", 600),
            WebhookRequestsPerMinutePerSource = configuration.GetValue("Tandem:RateLimits:WebhookRequestsPerMinutePerSource", 600),
        };
        // Endpoint policies run after the global limiter of ApiConventions (which leaves /f and /hooks alone) and
        // reuse its OnRejected: 429 ProblemDetails with Retry-After.
        services.Configure<RateLimiterOptions>(o =>
        {
            o.AddPolicy(FormRateLimit, new FormRateLimitPolicy(options.FormSubmissionsPerMinutePerIp, options.FormSubmissionsPerMinutePerForm));
            o.AddPolicy(WebhookRateLimit, ctx => RateLimitPartition.GetFixedWindowLimiter(
                "hook:" + (ctx.Request.RouteValues["key"] as string ?? ""),
                _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, options.WebhookRequestsPerMinutePerSource), Window = TimeSpan.FromMinutes(1) }));
        });
        return services;
    }

    /// <summary>Maps the public endpoints (anonymous, outside /api) and the management API under <paramref name="api"/>.</summary>
    public static IEndpointRouteBuilder MapCaptureChannels(this IEndpointRouteBuilder app, RouteGroupBuilder api)
    {
        FormEndpoints.MapPublic(app);
        WebhookEndpoints.MapPublic(app);
        FormEndpoints.MapApi(api);
        WebhookEndpoints.MapApi(api);
        return app;
    }

    /// <summary>Reads the body up to <paramref name="limit"/> bytes; null when it is larger (also when chunked without a length).</summary>
    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken ct)
    {
        if (request.ContentLength > limit)
            return null;
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > limit)
                return null;
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    internal static IResult Problem(int status, string title, string detail, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail, extensions: extensions);

    internal static IResult TooLarge(long limit) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The limit is {limit} bytes.");

    internal static string ClientIp(HttpContext ctx) => ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    internal static bool IsJson(string? mediaType) =>
        mediaType is not null && (mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) ||
                                  mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase));

    internal static string? MediaType(HttpRequest request) =>
        Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(request.ContentType, out var parsed) ? parsed.MediaType.Value : null;
}

/// <summary>
/// Limits form posts per client IP and per form at once: one partition per (ip, form) whose limiter asks both shared
/// windows, so a busy form and a noisy client are each capped without one key per combination owning the budget.
/// </summary>
internal sealed class FormRateLimitPolicy(int perIp, int perForm) : IRateLimiterPolicy<string>
{
    private readonly PartitionedRateLimiter<(string Ip, string Form)> _shared = PartitionedRateLimiter.CreateChained(
        PartitionedRateLimiter.Create<(string Ip, string Form), string>(k => RateLimitPartition.GetFixedWindowLimiter("ip:" + k.Ip,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, perIp), Window = TimeSpan.FromMinutes(1) })),
        PartitionedRateLimiter.Create<(string Ip, string Form), string>(k => RateLimitPartition.GetFixedWindowLimiter("form:" + k.Form,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = Math.Max(1, perForm), Window = TimeSpan.FromMinutes(1) })));

    public Func<OnRejectedContext, CancellationToken, ValueTask>? OnRejected => null;

    public RateLimitPartition<string> GetPartition(HttpContext httpContext)
    {
        var key = (CaptureChannels.ClientIp(httpContext), httpContext.Request.RouteValues["formKey"] as string ?? "");
        return RateLimitPartition.Get($"{key.Item1}|{key.Item2}", _ => new KeyedLimiter(_shared, key));
    }

    /// <summary>Adapts the shared limiter to one key; state lives in the shared windows, so dropping an idle adapter loses nothing.</summary>
    private sealed class KeyedLimiter(PartitionedRateLimiter<(string, string)> inner, (string, string) key) : RateLimiter
    {
        private long _lastUsed = Environment.TickCount64;

        public override TimeSpan? IdleDuration => TimeSpan.FromMilliseconds(Environment.TickCount64 - Interlocked.Read(ref _lastUsed));

        public override RateLimiterStatistics? GetStatistics() => inner.GetStatistics(key);

        protected override RateLimitLease AttemptAcquireCore(int permitCount)
        {
            Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
            return inner.AttemptAcquire(key, permitCount);
        }

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
        {
            Interlocked.Exchange(ref _lastUsed, Environment.TickCount64);
            return inner.AcquireAsync(key, permitCount, cancellationToken);
        }
    }
}
