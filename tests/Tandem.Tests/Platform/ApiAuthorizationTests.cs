using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>
/// Every /api endpoint against every kind of caller: anonymous, each role through the UI cookie, and an API
/// key of each scope. The table below is the contract; a test fails when an endpoint is missing from it.
/// </summary>
public abstract class ApiAuthorizationTests(DatabaseProvider provider)
{
    /// <summary>Method, route template as mapped, the scope it requires.</summary>
    public static readonly (string Method, string Route, string Scope)[] Endpoints =
    [
        ("GET", "/api/v1/me", Scopes.Read),
        ("GET", "/api/v1/users/", Scopes.Admin),
        ("GET", "/api/v1/users/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/users/", Scopes.Admin),
        ("PUT", "/api/v1/users/{id:guid}/roles", Scopes.Admin),
        ("POST", "/api/v1/users/{id:guid}/deactivate", Scopes.Admin),
        ("POST", "/api/v1/users/{id:guid}/reactivate", Scopes.Admin),
        ("GET", "/api/v1/api-keys/", Scopes.Admin),
        ("POST", "/api/v1/api-keys/", Scopes.Admin),
        ("DELETE", "/api/v1/api-keys/{id:guid}", Scopes.Admin),
        ("GET", "/api/v1/leads/", Scopes.Read),
        ("POST", "/api/v1/leads/", Scopes.Ingest),
        ("POST", "/api/v1/leads/batch", Scopes.Ingest),
        ("POST", "/api/v1/activities/", Scopes.Ingest),
        ("POST", "/api/v1/activities/batch", Scopes.Ingest),
        ("GET", "/api/v1/leads/{id:guid}", Scopes.Read),
        ("GET", "/api/v1/campaigns/", Scopes.Read),
        ("GET", "/api/v1/campaigns/{id:guid}", Scopes.Read),
        ("GET", "/api/v1/leads/duplicates", Scopes.Read),
        ("POST", "/api/v1/leads/{id:guid}/merge", Scopes.Ingest),
        ("GET", "/api/v1/leads/{id:guid}/privacy-export", Scopes.Admin),
        ("POST", "/api/v1/leads/{id:guid}/erase", Scopes.Admin),
        ("GET", "/api/v1/privacy/subjects", Scopes.Admin),
        ("POST", "/api/v1/leads/{id:guid}/consent/withdraw", Scopes.Read),
        ("POST", "/api/v1/leads/{id:guid}/consent/grant", Scopes.Ingest),
        ("POST", "/api/v1/campaigns/", Scopes.Ingest),
        ("PUT", "/api/v1/campaigns/{id:guid}", Scopes.Ingest),
        ("POST", "/api/v1/campaigns/{id:guid}/spend", Scopes.Ingest),
        ("DELETE", "/api/v1/campaigns/{id:guid}/spend/{spendId:guid}", Scopes.Ingest),
        ("POST", "/api/v1/imports/", Scopes.Ingest),
        ("POST", "/api/v1/imports/preview", Scopes.Ingest),
        ("GET", "/api/v1/imports/", Scopes.Ingest),
        ("GET", "/api/v1/imports/{id:guid}", Scopes.Ingest),
        ("POST", "/api/v1/imports/{id:guid}/cancel", Scopes.Ingest),
        ("GET", "/api/v1/imports/{id:guid}/errors.csv", Scopes.Ingest),
        ("GET", "/api/v1/capture/settings/", Scopes.Admin),
        ("PUT", "/api/v1/capture/settings/", Scopes.Admin),
        ("GET", "/api/v1/forms/", Scopes.Read),
        ("GET", "/api/v1/forms/{id:guid}", Scopes.Read),
        ("GET", "/api/v1/forms/{id:guid}/snippet", Scopes.Read),
        ("POST", "/api/v1/forms/", Scopes.Ingest),
        ("PUT", "/api/v1/forms/{id:guid}", Scopes.Ingest),
        ("DELETE", "/api/v1/forms/{id:guid}", Scopes.Ingest),
        ("GET", "/api/v1/webhook-sources/", Scopes.Admin),
        ("GET", "/api/v1/webhook-sources/presets", Scopes.Admin),
        ("GET", "/api/v1/webhook-sources/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/webhook-sources/", Scopes.Admin),
        ("PUT", "/api/v1/webhook-sources/{id:guid}", Scopes.Admin),
        ("DELETE", "/api/v1/webhook-sources/{id:guid}", Scopes.Admin),
        ("GET", "/api/v1/webhook-sources/{id:guid}/dead-letters", Scopes.Admin),
        ("POST", "/api/v1/webhook-sources/{id:guid}/dead-letters/replay", Scopes.Admin),
        ("POST", "/api/v1/webhook-dead-letters/{id:guid}/replay", Scopes.Admin),
        ("POST", "/api/v1/webhook-dead-letters/{id:guid}/discard", Scopes.Admin),
        ("GET", "/api/v1/personas/", Scopes.Read),
        ("GET", "/api/v1/personas/{id:guid}", Scopes.Read),
        ("POST", "/api/v1/personas/", Scopes.Admin),
        ("PUT", "/api/v1/personas/{id:guid}", Scopes.Admin),
        ("DELETE", "/api/v1/personas/{id:guid}", Scopes.Admin),
        ("GET", "/api/v1/qualification/active", Scopes.Read),
        ("GET", "/api/v1/qualification/versions", Scopes.Read),
        ("GET", "/api/v1/qualification/versions/{id:guid}", Scopes.Read),
        ("GET", "/api/v1/qualification/versions/{id:guid}/diff", Scopes.Read),
        ("POST", "/api/v1/qualification/versions", Scopes.Admin),
        ("PUT", "/api/v1/qualification/versions/{id:guid}", Scopes.Admin),
        ("DELETE", "/api/v1/qualification/versions/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/qualification/versions/{id:guid}/approve", Scopes.Admin),
        ("POST", "/api/v1/qualification/versions/{id:guid}/activate", Scopes.Admin),
        ("POST", "/api/v1/qualification/versions/{id:guid}/backtests", Scopes.Admin),
        ("GET", "/api/v1/qualification/jobs", Scopes.Read),
        ("GET", "/api/v1/qualification/jobs/{id:guid}", Scopes.Read),
        ("POST", "/api/v1/qualification/jobs/{id:guid}/cancel", Scopes.Admin),
        ("GET", "/api/v1/leads/{id:guid}/score", Scopes.Read),
        ("POST", "/api/v1/leads/{id:guid}/stage", Scopes.Ingest),
        ("POST", "/api/v1/leads/{id:guid}/accept", Scopes.Ingest),
        ("GET", "/api/v1/notifications/settings", Scopes.Admin),
        ("PUT", "/api/v1/notifications/settings", Scopes.Admin),
        ("POST", "/api/v1/notifications/test", Scopes.Admin),
        ("GET", "/api/v1/notifications/deliveries", Scopes.Admin),
        ("POST", "/api/v1/notifications/deliveries/{id:guid}/retry", Scopes.Admin),
        ("GET", "/api/v1/webhook-endpoints/", Scopes.Admin),
        ("GET", "/api/v1/webhook-endpoints/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/webhook-endpoints/", Scopes.Admin),
        ("PUT", "/api/v1/webhook-endpoints/{id:guid}", Scopes.Admin),
        ("PATCH", "/api/v1/webhook-endpoints/{id:guid}", Scopes.Admin),
        ("DELETE", "/api/v1/webhook-endpoints/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/webhook-endpoints/{id:guid}/rotate-secret", Scopes.Admin),
        ("POST", "/api/v1/webhook-endpoints/{id:guid}/test", Scopes.Admin),
        ("GET", "/api/v1/webhook-endpoints/{id:guid}/deliveries", Scopes.Admin),
        ("POST", "/api/v1/webhook-deliveries/{id:guid}/redeliver", Scopes.Admin),
        ("GET", "/api/v1/me/notifications/", Scopes.Read),
        ("POST", "/api/v1/me/notifications/read", Scopes.Read),
        ("GET", "/api/v1/me/notification-preferences/", Scopes.Read),
        ("PUT", "/api/v1/me/notification-preferences/", Scopes.Read),
        ("GET", "/api/v1/me/profile", Scopes.Read),
        ("PUT", "/api/v1/me/profile", Scopes.Read),
        ("POST", "/api/v1/me/password", Scopes.Read),
        ("GET", "/api/v1/handoff/reps", Scopes.Admin),
        ("PUT", "/api/v1/handoff/reps/{userId:guid}", Scopes.Admin),
        ("GET", "/api/v1/handoff/teams", Scopes.Admin),
        ("POST", "/api/v1/handoff/teams", Scopes.Admin),
        ("PUT", "/api/v1/handoff/teams/{id:guid}", Scopes.Admin),
        ("DELETE", "/api/v1/handoff/teams/{id:guid}", Scopes.Admin),
        ("GET", "/api/v1/handoff/sla-policies", Scopes.Admin),
        ("PUT", "/api/v1/handoff/sla-policies", Scopes.Admin),
        ("GET", "/api/v1/handoff/queue", Scopes.Admin),
        ("GET", "/api/v1/handoff/speed", Scopes.Admin),
        ("GET", "/api/v1/routing/rules", Scopes.Admin),
        ("PUT", "/api/v1/routing/rules", Scopes.Admin),
        ("POST", "/api/v1/routing/simulate", Scopes.Admin),
        ("GET", "/api/v1/leads/{id:guid}/assignments", Scopes.Read),
        ("POST", "/api/v1/leads/{id:guid}/touches", Scopes.Ingest),
        ("POST", "/api/v1/leads/{id:guid}/reassign", Scopes.Admin),
        ("POST", "/api/v1/leads/{id:guid}/reject", Scopes.Ingest),
        ("POST", "/api/v1/leads/{id:guid}/work-status", Scopes.Ingest),
        ("POST", "/api/v1/leads/{id:guid}/rating", Scopes.Ingest),
        ("GET", "/api/v1/leads/{id:guid}/ratings", Scopes.Read),
        ("GET", "/api/v1/reports/lead-quality", Scopes.Read),
        ("GET", "/api/v1/reports/lead-quality.csv", Scopes.Read),
        ("GET", "/api/v1/reports/attribution", Scopes.Read),
        ("GET", "/api/v1/reports/kpis", Scopes.Read),
        ("GET", "/api/v1/reports/dashboard", Scopes.Read),
        ("GET", "/api/v1/reports/sla", Scopes.Read),
        ("GET", "/api/v1/reports/sla/statement", Scopes.Read),
        ("GET", "/api/v1/reports/weekly", Scopes.Read),
        ("GET", "/api/v1/campaigns/results", Scopes.Read),
        ("GET", "/api/v1/campaigns/{id:guid}/results", Scopes.Read),
        ("GET", "/api/v1/goals/", Scopes.Read),
        ("POST", "/api/v1/goals/", Scopes.Ingest),
        ("PUT", "/api/v1/goals/{id:guid}", Scopes.Ingest),
        ("DELETE", "/api/v1/goals/{id:guid}", Scopes.Ingest),
        ("GET", "/api/v1/goals/{id:guid}/plan", Scopes.Read),
        ("POST", "/api/v1/goals/{id:guid}/adopt-commitment", Scopes.Ingest),
        ("GET", "/api/v1/campaigns/{id:guid}/guard", Scopes.Read),
        ("PUT", "/api/v1/campaigns/{id:guid}/guard", Scopes.Ingest),
        ("DELETE", "/api/v1/campaigns/{id:guid}/guard", Scopes.Ingest),
        ("POST", "/api/v1/campaigns/{id:guid}/resume", Scopes.Ingest),
        ("GET", "/api/v1/opportunities/", Scopes.Read),
        ("GET", "/api/v1/opportunities/{id:guid}", Scopes.Read),
        ("POST", "/api/v1/opportunities/", Scopes.Ingest),
        ("PATCH", "/api/v1/opportunities/{id:guid}", Scopes.Ingest),
        ("POST", "/api/v1/opportunities/{id:guid}/stage", Scopes.Ingest),
        ("GET", "/api/v1/accounts/", Scopes.Read),
        ("GET", "/api/v1/accounts/{id:guid}", Scopes.Read),
        ("POST", "/api/v1/accounts/{id:guid}/churn", Scopes.Ingest),
        ("POST", "/api/v1/opportunities/import", Scopes.Ingest),
        ("GET", "/api/v1/settings/revenue", Scopes.Read),
        ("PUT", "/api/v1/settings/revenue", Scopes.Admin),
        ("GET", "/api/v1/exchange-rates", Scopes.Read),
        ("POST", "/api/v1/exchange-rates", Scopes.Admin),
        ("DELETE", "/api/v1/exchange-rates/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/exchange-rates/import", Scopes.Admin),
        ("GET", "/api/v1/sales-costs", Scopes.Read),
        ("POST", "/api/v1/sales-costs", Scopes.Admin),
        ("DELETE", "/api/v1/sales-costs/{id:guid}", Scopes.Admin),
        ("POST", "/api/v1/leads/{id:guid}/disputes", Scopes.Ingest),
        ("GET", "/api/v1/leads/{id:guid}/disputes", Scopes.Read),
        ("GET", "/api/v1/disputes/", Scopes.Read),
        ("POST", "/api/v1/disputes/{id:guid}/resolve", Scopes.Ingest),
        ("GET", "/api/v1/qualification/evidence", Scopes.Read),
        ("GET", "/api/v1/reports/lead-quality/trend", Scopes.Read),
        ("GET", "/api/v1/reports/lead-quality/trend.csv", Scopes.Read),
        ("GET", "/api/v1/leads/{id:guid}/notes", Scopes.Read),
        ("POST", "/api/v1/leads/{id:guid}/notes", Scopes.Ingest),
        ("GET", "/api/v1/leads/{id:guid}/tasks", Scopes.Read),
        ("POST", "/api/v1/leads/{id:guid}/tasks", Scopes.Ingest),
        ("GET", "/api/v1/accounts/{id:guid}/notes", Scopes.Read),
        ("POST", "/api/v1/accounts/{id:guid}/notes", Scopes.Ingest),
        ("GET", "/api/v1/accounts/{id:guid}/tasks", Scopes.Read),
        ("POST", "/api/v1/accounts/{id:guid}/tasks", Scopes.Ingest),
        ("PATCH", "/api/v1/notes/{id:guid}", Scopes.Ingest),
        ("DELETE", "/api/v1/notes/{id:guid}", Scopes.Ingest),
        ("PATCH", "/api/v1/tasks/{id:guid}", Scopes.Ingest),
        ("GET", "/api/v1/me/tasks", Scopes.Read),
    ];

    /// <summary>
    /// Endpoints whose signed-in users are chosen by role rather than by the scopes roles grant (keys still need the scope):
    /// both teams draft the definition and move leads; personas belong to Admin, Marketing and Sales managers.
    /// </summary>
    public static readonly Dictionary<string, string[]> CookieRoles = new()
    {
        ["POST /api/v1/personas/"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["POST /api/v1/goals/"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["PUT /api/v1/goals/{id:guid}"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["DELETE /api/v1/goals/{id:guid}"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["POST /api/v1/goals/{id:guid}/adopt-commitment"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["PUT /api/v1/personas/{id:guid}"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["DELETE /api/v1/personas/{id:guid}"] = [Roles.Admin, Roles.Marketing, Roles.SalesManager],
        ["POST /api/v1/qualification/versions"] = [.. Roles.All],
        ["PUT /api/v1/qualification/versions/{id:guid}"] = [.. Roles.All],
        ["DELETE /api/v1/qualification/versions/{id:guid}"] = [.. Roles.All],
        ["POST /api/v1/qualification/versions/{id:guid}/approve"] = [.. Roles.All],
        ["POST /api/v1/qualification/versions/{id:guid}/activate"] = [.. Roles.All],
        ["POST /api/v1/qualification/versions/{id:guid}/backtests"] = [.. Roles.All],
        ["POST /api/v1/qualification/jobs/{id:guid}/cancel"] = [.. Roles.All],
        ["POST /api/v1/leads/{id:guid}/stage"] = [.. Roles.All],
        ["POST /api/v1/leads/{id:guid}/accept"] = [.. Roles.All],
        ["GET /api/v1/handoff/reps"] = [Roles.Admin, Roles.SalesManager],
        ["PUT /api/v1/handoff/reps/{userId:guid}"] = [Roles.Admin, Roles.SalesManager],
        ["GET /api/v1/handoff/teams"] = [Roles.Admin, Roles.SalesManager],
        ["POST /api/v1/handoff/teams"] = [Roles.Admin, Roles.SalesManager],
        ["PUT /api/v1/handoff/teams/{id:guid}"] = [Roles.Admin, Roles.SalesManager],
        ["DELETE /api/v1/handoff/teams/{id:guid}"] = [Roles.Admin, Roles.SalesManager],
        ["GET /api/v1/handoff/sla-policies"] = [Roles.Admin, Roles.SalesManager],
        ["PUT /api/v1/handoff/sla-policies"] = [Roles.Admin, Roles.SalesManager],
        ["GET /api/v1/handoff/queue"] = [Roles.Admin, Roles.SalesManager],
        ["GET /api/v1/handoff/speed"] = [Roles.Admin, Roles.SalesManager],
        ["GET /api/v1/routing/rules"] = [Roles.Admin, Roles.SalesManager],
        ["PUT /api/v1/routing/rules"] = [Roles.Admin, Roles.SalesManager],
        ["POST /api/v1/routing/simulate"] = [Roles.Admin, Roles.SalesManager],
        ["POST /api/v1/leads/{id:guid}/touches"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["POST /api/v1/leads/{id:guid}/reassign"] = [Roles.Admin, Roles.SalesManager],
        ["POST /api/v1/leads/{id:guid}/reject"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["POST /api/v1/leads/{id:guid}/work-status"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["POST /api/v1/leads/{id:guid}/rating"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["POST /api/v1/opportunities/"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["PATCH /api/v1/opportunities/{id:guid}"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["POST /api/v1/opportunities/{id:guid}/stage"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        ["POST /api/v1/accounts/{id:guid}/churn"] = [Roles.Admin, Roles.SalesManager],
        ["POST /api/v1/opportunities/import"] = [Roles.Admin, Roles.SalesManager, Roles.Sales],
        // Both teams open disputes and resolve the other side's (which side is checked per dispute).
        ["POST /api/v1/leads/{id:guid}/disputes"] = [.. Roles.All],
        ["POST /api/v1/disputes/{id:guid}/resolve"] = [.. Roles.All],
        // Everyone writes notes and tasks; which record and which note or task is checked per record (decision 021c).
        ["POST /api/v1/leads/{id:guid}/notes"] = [.. Roles.All],
        ["POST /api/v1/leads/{id:guid}/tasks"] = [.. Roles.All],
        ["POST /api/v1/accounts/{id:guid}/notes"] = [.. Roles.All],
        ["POST /api/v1/accounts/{id:guid}/tasks"] = [.. Roles.All],
        ["PATCH /api/v1/notes/{id:guid}"] = [.. Roles.All],
        ["DELETE /api/v1/notes/{id:guid}"] = [.. Roles.All],
        ["PATCH /api/v1/tasks/{id:guid}"] = [.. Roles.All],
    };

    [Fact]
    public async Task EveryApiEndpointIsInTheAuthorizationTable()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var mapped = app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api/v1", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.HttpMethodMetadata>()?.HttpMethods ?? ["*"])
                .Select(m => $"{m} {e.RoutePattern.RawText}"))
            .Order(StringComparer.Ordinal).ToList();
        var table = Endpoints.Select(e => $"{e.Method} {e.Route}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(table, mapped);
    }

    [Fact]
    public async Task EachRoleAndEachKeyScopeGetsExactlyTheAccessItsScopesGrant()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var callers = new List<(string Name, HttpClient Client, IReadOnlyList<string> Scopes, string? Role)>
        {
            ("anonymous", app.CreateApiClient(), [], null),
        };
        foreach (var role in Roles.All)
        {
            var email = $"{role.ToLowerInvariant()}@example.com";
            var (_, password) = await app.CreateUserAsync(email, role);
            var client = app.CreateBrowserClient();
            await TandemApp.SignInAsync(client, email, password);
            callers.Add(($"{role} (cookie)", client, Scopes.GrantedByRole(role), role));
        }
        foreach (var scope in Scopes.All)
            callers.Add(($"key[{scope}]", app.CreateApiClient(await app.CreateApiKeyAsync(scope)), [scope], null));

        var failures = new List<string>();
        foreach (var (method, route, scope) in Endpoints)
        {
            var path = System.Text.RegularExpressions.Regex.Replace(route, @"\{\w+:guid\}", _ => Guid.CreateVersion7().ToString());
            CookieRoles.TryGetValue($"{method} {route}", out var roles);
            foreach (var (name, client, scopes, role) in callers)
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path);
                if (method is "POST" or "PUT" or "PATCH")
                    request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
                using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);
                var status = (int)response.StatusCode;
                var allowed = role is not null && roles is not null ? roles.Contains(role) : scopes.Contains(scope);
                var expected = name == "anonymous" ? "401" : allowed ? "allowed" : "403";
                var actual = status is 401 or 403 ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : "allowed";
                if (expected != actual)
                    failures.Add($"{method} {route} as {name}: expected {expected}, got {status}");
                if (status is 401 or 403)
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.NotEqual(500, status);
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    [Fact]
    public async Task KeyWithTheWrongScopeGets403ProblemDetails()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest));

        var response = await client.GetAsync("/api/v1/leads", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<ProblemShape>(TestContext.Current.CancellationToken);
        Assert.Equal(403, problem!.Status);
        Assert.False(string.IsNullOrEmpty(problem.Title));
    }

    [Fact]
    public async Task KeyWorksInEitherHeaderAndStopsWorkingWhenRevoked()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var key = await app.CreateApiKeyAsync(Scopes.Read);

        var bearer = app.CreateApiClient(key);
        Assert.Equal(HttpStatusCode.OK, (await bearer.GetAsync("/api/v1/me", TestContext.Current.CancellationToken)).StatusCode);
        var header = app.CreateApiClient();
        header.DefaultRequestHeaders.Add("X-Api-Key", key);
        var me = await header.GetFromJsonAsync<MeResponse>("/api/v1/me", TestContext.Current.CancellationToken);
        Assert.Equal("apiKey", me!.Kind);
        Assert.Equal([Scopes.Read], me.Scopes);

        var id = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().ApiKeys.Select(k => k.Id).SingleAsync());
        await app.WithServiceAsync(sp => sp.GetRequiredService<ApiKeyService>().RevokeAsync(id, null, "test"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await bearer.GetAsync("/api/v1/me", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task TamperedOrUnknownKeysAreRejected()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var key = await app.CreateApiKeyAsync(Scopes.Read);
        foreach (var bad in new[] { key[..^1] + (key[^1] == 'a' ? 'b' : 'a'), "tdm_000000000000_abc", "not-a-key", key + "x" })
        {
            var response = await app.CreateApiClient(bad).GetAsync("/api/v1/me", TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    [Fact]
    public async Task KeysAreStoredOnlyAsHashes()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var key = await app.CreateApiKeyAsync(Scopes.Admin);
        var secret = key[(key.LastIndexOf('_') + 1)..];

        var stored = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().ApiKeys.AsNoTracking().SingleAsync());

        Assert.Equal(32, stored.SecretHash.Length);
        Assert.DoesNotContain(secret, Convert.ToHexString(stored.SecretHash), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(secret, stored.Prefix, StringComparison.Ordinal);
        Assert.Equal(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(secret)), stored.SecretHash);
    }

    [Fact]
    public async Task AdminKeyCanCreateAKeyThatIsShownOnceAndAuthenticates()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin));

        var created = await admin.PostAsJsonAsync("/api/v1/api-keys", new { name = "Typeform", scopes = new[] { "ingest", "read" } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<CreatedApiKey>(TestContext.Current.CancellationToken);
        Assert.StartsWith("tdm_", body!.Key, StringComparison.Ordinal);

        var list = await admin.GetStringAsync("/api/v1/api-keys", TestContext.Current.CancellationToken);
        Assert.DoesNotContain(body.Key, list, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await app.CreateApiClient(body.Key).GetAsync("/api/v1/leads", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task AdminKeyManagesUsersWithFieldErrorsForBadInput()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin));

        var bad = await admin.PostAsJsonAsync("/api/v1/users", new { email = "nope", roles = new[] { "Pilot" } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<ProblemShape>(TestContext.Current.CancellationToken);
        Assert.Contains(problem!.Errors!.Keys, k => k.Equals("Email", StringComparison.OrdinalIgnoreCase));

        var unknownRole = await admin.PostAsJsonAsync("/api/v1/users", new { email = "rep@example.com", roles = new[] { "Pilot" } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, unknownRole.StatusCode);
        Assert.Contains("roles", (await unknownRole.Content.ReadFromJsonAsync<ProblemShape>(TestContext.Current.CancellationToken))!.Errors!.Keys);

        var created = await admin.PostAsJsonAsync("/api/v1/users", new { email = "rep@example.com", displayName = "Rita Rep", roles = new[] { "Sales" } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var user = await created.Content.ReadFromJsonAsync<CreateUserResponse>(TestContext.Current.CancellationToken);
        Assert.False(string.IsNullOrEmpty(user!.GeneratedPassword));

        var duplicate = await admin.PostAsJsonAsync("/api/v1/users", new { email = "REP@example.com", roles = new[] { "Sales" } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, duplicate.StatusCode);

        var promoted = await admin.PutAsJsonAsync($"/api/v1/users/{user.User.Id}/roles", new { roles = new[] { "SalesManager" } }, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        Assert.Equal(["SalesManager"], (await promoted.Content.ReadFromJsonAsync<UserSummary>(TestContext.Current.CancellationToken))!.Roles);

        var deactivated = await admin.PostAsync($"/api/v1/users/{user.User.Id}/deactivate", null, TestContext.Current.CancellationToken);
        Assert.False((await deactivated.Content.ReadFromJsonAsync<UserSummary>(TestContext.Current.CancellationToken))!.IsActive);
        var audit = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().AuditEntries.Select(a => a.Action).ToListAsync());
        Assert.Contains("user.created", audit);
        Assert.Contains("user.roles-set", audit);
        Assert.Contains("user.deactivated", audit);

        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/v1/users/{Guid.CreateVersion7()}/deactivate", null, TestContext.Current.CancellationToken)).StatusCode);
    }
}

public sealed record ProblemShape(string? Type, string? Title, int? Status, string? Detail, string? Instance, Dictionary<string, string[]>? Errors);

public sealed class ApiAuthorizationOnSqlite() : ApiAuthorizationTests(DatabaseProvider.Sqlite);

public sealed class ApiAuthorizationOnPostgres() : ApiAuthorizationTests(DatabaseProvider.Postgres);
