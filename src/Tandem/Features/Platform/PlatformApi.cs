using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Platform;

public sealed record MeResponse(string Name, string Kind, IReadOnlyList<string> Roles, IReadOnlyList<string> Scopes);

public sealed record CreateUserRequest(
    [property: Required, EmailAddress, MaxLength(254)] string Email,
    [property: MaxLength(200)] string? DisplayName,
    [property: Required, MinLength(1)] string[] Roles,
    [property: MaxLength(200)] string? Password);

public sealed record CreateUserResponse(UserSummary User, string? GeneratedPassword);

public sealed record SetRolesRequest([property: Required, MinLength(1)] string[] Roles);

public sealed record CreateApiKeyRequest(
    [property: Required, MinLength(1), MaxLength(100)] string Name,
    [property: Required, MinLength(1)] string[] Scopes);

public sealed record ApiKeySummary(Guid Id, string Name, string Prefix, IReadOnlyList<string> Scopes, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

/// <summary>Who am I, users and API keys: <c>/api/v1/me</c>, <c>/api/v1/users</c>, <c>/api/v1/api-keys</c>.</summary>
public static class PlatformApi
{
    public static RouteGroupBuilder MapPlatformApi(this RouteGroupBuilder api)
    {
        api.MapGet("/me", Me).RequireAuthorization(Policies.ScopeRead)
            .WithSummary("Who is calling: the signed-in user or the API key, with roles and scopes.");

        var users = api.MapGroup("/users").RequireAuthorization(Policies.ScopeAdmin).WithTags("Users");
        users.MapGet("/", async (UserAdmin admin, CancellationToken ct) => TypedResults.Ok(await admin.ListAsync(ct)))
            .WithSummary("List users.");
        users.MapGet("/{id:guid}", GetUser).WithSummary("Get one user.");
        users.MapPost("/", CreateUser).WithSummary("Create a user; when no password is given one is generated and returned once.");
        users.MapPut("/{id:guid}/roles", SetRoles).WithSummary("Replace a user's roles.");
        users.MapPost("/{id:guid}/deactivate", (Guid id, UserAdmin admin, ClaimsPrincipal who) => SetActive(id, false, admin, who))
            .WithSummary("Deactivate a user: they can no longer sign in and their sessions end.");
        users.MapPost("/{id:guid}/reactivate", (Guid id, UserAdmin admin, ClaimsPrincipal who) => SetActive(id, true, admin, who))
            .WithSummary("Reactivate a user.");

        var keys = api.MapGroup("/api-keys").RequireAuthorization(Policies.ScopeAdmin).WithTags("API keys");
        keys.MapGet("/", ListKeys).WithSummary("List API keys (never the secrets).");
        keys.MapPost("/", CreateKey).WithSummary("Create an API key; the key is in the response and never shown again.");
        keys.MapDelete("/{id:guid}", RevokeKey).WithSummary("Revoke an API key.");
        return api;
    }

    private static Ok<MeResponse> Me(ClaimsPrincipal user)
    {
        var isKey = user.Identity?.AuthenticationType == AuthSchemes.ApiKey;
        var roles = Roles.All.Where(user.IsInRole).ToList();
        var scopes = isKey
            ? user.FindAll(Policies.ScopeClaim).Select(c => c.Value).ToList()
            : roles.SelectMany(Scopes.GrantedByRole).Distinct().ToList();
        return TypedResults.Ok(new MeResponse(user.Identity?.Name ?? "", isKey ? "apiKey" : "user", roles, scopes));
    }

    private static async Task<Results<Ok<UserSummary>, ProblemHttpResult>> GetUser(Guid id, UserAdmin admin, CancellationToken ct) =>
        await admin.GetAsync(id, ct) is { } user ? TypedResults.Ok(user) : ApiConventions.NotFoundProblem($"No user with id {id}.");

    private static async Task<Results<Created<CreateUserResponse>, ValidationProblem>> CreateUser(CreateUserRequest request, UserAdmin admin, ClaimsPrincipal who)
    {
        var (actor, actorId) = Actor(who);
        var result = await admin.CreateAsync(request.Email, request.DisplayName, request.Roles, request.Password, actor, actorId);
        if (!result.Succeeded)
            return TypedResults.ValidationProblem(result.Errors);
        var (user, password) = result.Value;
        return TypedResults.Created($"/api/v1/users/{user.Id}", new CreateUserResponse(user, password));
    }

    private static async Task<Results<Ok<UserSummary>, ValidationProblem, ProblemHttpResult>> SetRoles(Guid id, SetRolesRequest request, UserAdmin admin, ClaimsPrincipal who)
    {
        var (actor, actorId) = Actor(who);
        var result = await admin.SetRolesAsync(id, request.Roles, actor, actorId);
        return Map(id, result);
    }

    private static async Task<Results<Ok<UserSummary>, ValidationProblem, ProblemHttpResult>> SetActive(Guid id, bool active, UserAdmin admin, ClaimsPrincipal who)
    {
        var (actor, actorId) = Actor(who);
        return Map(id, await admin.SetActiveAsync(id, active, actor, actorId));
    }

    private static Results<Ok<UserSummary>, ValidationProblem, ProblemHttpResult> Map(Guid id, UserResult<UserSummary> result)
    {
        if (result.Succeeded)
            return TypedResults.Ok(result.Value!);
        if (result.Errors.TryGetValue("id", out var idErrors) && idErrors.Contains("No such user."))
            return ApiConventions.NotFoundProblem($"No user with id {id}.");
        return TypedResults.ValidationProblem(result.Errors);
    }

    private static async Task<Ok<List<ApiKeySummary>>> ListKeys(TandemDb db, CancellationToken ct)
    {
        var keys = await db.ApiKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).ToListAsync(ct);
        return TypedResults.Ok(keys.Select(k => new ApiKeySummary(k.Id, k.Name, k.Prefix, k.Scopes, k.CreatedAt, k.LastUsedAt, k.RevokedAt)).ToList());
    }

    private static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateKey(CreateApiKeyRequest request, ApiKeyService keys, ClaimsPrincipal who, CancellationToken ct)
    {
        var (scopes, invalid) = Scopes.Parse(string.Join(',', request.Scopes));
        if (scopes is null)
            return ApiConventions.FieldError("scopes", $"Unknown scope '{invalid}'. Known scopes: {string.Join(", ", Scopes.All)}.");
        if (scopes.Count == 0)
            return ApiConventions.FieldError("scopes", "At least one scope is required.");
        var (actor, actorId) = Actor(who);
        var created = await keys.CreateAsync(request.Name, scopes, actorId, actor, ct);
        return TypedResults.Created($"/api/v1/api-keys/{created.Id}", created);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(Guid id, ApiKeyService keys, ClaimsPrincipal who, CancellationToken ct)
    {
        var (actor, actorId) = Actor(who);
        return await keys.RevokeAsync(id, actorId, actor, ct) ? TypedResults.NoContent() : ApiConventions.NotFoundProblem($"No API key with id {id}.");
    }

    internal static (string Actor, Guid? ActorId) Actor(ClaimsPrincipal who)
    {
        var id = who.FindFirstValue(ClaimTypes.NameIdentifier);
        return (who.Identity?.Name ?? "unknown", Guid.TryParse(id, out var g) ? g : null);
    }
}
