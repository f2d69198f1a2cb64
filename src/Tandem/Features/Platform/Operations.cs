using System.Security.Claims;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.EntityFrameworkCore;
using Microsoft.OpenApi;
using Tandem.Data;

namespace Tandem.Features.Platform;

public static class OperationsEndpoints
{
    /// <summary><c>/healthz</c>: the process answers. <c>/readyz</c>: the database answers too (503 ProblemDetails if not).</summary>
    public static IEndpointRouteBuilder MapOperationsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => TypedResults.Text("ok")).AllowAnonymous().ExcludeFromDescription();
        app.MapGet("/readyz", async (IServiceProvider services, CancellationToken ct) =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            string? error = null;
            try
            {
                await using var scope = services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
                if (!await db.Database.CanConnectAsync(timeout.Token))
                    error = "The database cannot be reached.";
                else
                    await db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                error = $"The database cannot be reached: {ex.GetType().Name}.";
            }
            return error is null
                ? Results.Text("ready")
                : Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "Not ready", detail: error);
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    /// <summary><c>GET /culture?c=fr&amp;returnUrl=/leads</c> stores the language choice in a cookie for a year.</summary>
    public static IEndpointRouteBuilder MapCultureEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/culture", async (HttpContext ctx, UserLanguages languages, string? c, string? returnUrl) =>
        {
            var culture = c is "fr" ? "fr" : "en";
            // A signed-in user's choice is kept on their account, so it follows them to every browser and into their emails.
            if (ctx.User.Identity?.IsAuthenticated == true && ctx.User.Identity.AuthenticationType != AuthSchemes.ApiKey
                && Guid.TryParse(ctx.User.FindFirstValue(ClaimTypes.NameIdentifier), out var userId))
                await languages.SetAsync(userId, culture);
            ctx.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                new CookieOptions { Expires = DateTimeOffset.UtcNow.AddYears(1), IsEssential = true, SameSite = SameSiteMode.Lax, HttpOnly = false });
            return Results.LocalRedirect(IsLocal(returnUrl) ? returnUrl! : "/");
        }).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    /// <summary><c>POST /logout</c> (antiforgery-protected form post from the app bar).</summary>
    public static IEndpointRouteBuilder MapAccountEndpoints(this IEndpointRouteBuilder app)
    {
        // Ends this browser's session for real (its server-side row is deleted, so a copy of the cookie stops working);
        // the user's other devices stay signed in.
        app.MapPost("/logout", async (HttpContext ctx, SignInManager<AppUser> signIn, SessionGuard sessions, TandemDb db, [FromForm] string? returnUrl) =>
        {
            await sessions.EndAsync(ctx.User, signIn, db);
            return Results.LocalRedirect("/login");
        }).ExcludeFromDescription();
        return app;
    }

    /// <summary>Until the first admin exists, every UI page redirects to <c>/setup</c>.</summary>
    public static IApplicationBuilder UseSetupRedirect(this IApplicationBuilder app) => app.Use(async (ctx, next) =>
    {
        var path = ctx.Request.Path;
        var isUiPage = HttpMethods.IsGet(ctx.Request.Method) &&
            !path.StartsWithSegments("/setup") && !path.StartsWithSegments("/api") && !path.StartsWithSegments("/_framework") &&
            !path.StartsWithSegments("/_content") && !path.StartsWithSegments("/_blazor") && !path.StartsWithSegments("/healthz") &&
            !path.StartsWithSegments("/readyz") && !path.StartsWithSegments("/openapi") && !path.StartsWithSegments("/docs") &&
            !path.StartsWithSegments("/culture") && !Path.HasExtension(path.Value);
        if (isUiPage && !await ctx.RequestServices.GetRequiredService<SetupService>().IsSetupDoneAsync(ctx.RequestAborted))
        {
            ctx.Response.Redirect("/setup");
            return;
        }
        await next(ctx);
    });

    internal static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal);
}

/// <summary>Documents the API-key security scheme in the OpenAPI document.</summary>
public sealed class ApiKeySecurityTransformer : IOpenApiDocumentTransformer
{
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info.Title = "Tandem API";
        document.Info.Description = "Smarketing platform API. Authenticate with `Authorization: Bearer <key>` or `X-Api-Key: <key>`. " +
            "Errors are RFC 9457 ProblemDetails. Lists are paged with `page` and `pageSize` (at most 200).";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes["ApiKey"] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "An API key created by an admin (scopes: ingest, read, admin).",
        };
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("ApiKey", document)] = [] });
        return Task.CompletedTask;
    }
}
