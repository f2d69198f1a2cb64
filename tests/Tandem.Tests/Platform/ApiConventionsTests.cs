using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>ProblemDetails for every error, paging limits, body limits, content types, OpenAPI and health endpoints.</summary>
public abstract class ApiConventionsTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<ProblemShape> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        await response.Content.LoadIntoBufferAsync(Ct);
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemShape>(Ct);
        Assert.Equal((int)status, problem!.Status);
        Assert.False(string.IsNullOrEmpty(problem.Title));
        Assert.False(string.IsNullOrEmpty(problem.Type));
        return problem;
    }

    [Fact]
    public async Task ApiWithoutKeyAnswers401ProblemDetailsNotARedirect()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var response = await app.CreateApiClient().GetAsync("/api/v1/leads", Ct);
        await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task UnknownApiRouteAnswers404ProblemDetailsNotHtml()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        await AssertProblemAsync(await client.GetAsync("/api/v1/does-not-exist", Ct), HttpStatusCode.NotFound);
        await AssertProblemAsync(await app.CreateApiClient().GetAsync("/api/nothing/here", Ct), HttpStatusCode.NotFound);
        await AssertProblemAsync(await client.GetAsync($"/api/v1/leads/{Guid.CreateVersion7()}", Ct), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task PageSizeOverTheMaximumIsAFieldError()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));

        var response = await client.GetAsync($"/api/v1/leads?pageSize={PageQuery.MaxPageSize + 1}", Ct);

        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(problem.Errors!.Keys, k => k.Equals("pageSize", StringComparison.OrdinalIgnoreCase));
        await AssertProblemAsync(await client.GetAsync("/api/v1/leads?page=0", Ct), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await client.GetAsync("/api/v1/leads?pageSize=abc", Ct), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task LeadsArePagedWithATotalCount()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow;
            for (var i = 0; i < 5; i++)
                db.Leads.Add(new Lead { Email = $"lead{i}@example.com", LastName = $"Name{i}", FirstChannel = Channel.Email, CreatedAt = now, UpdatedAt = now, StageChangedAt = now });
            db.Leads.Add(new Lead { Email = "other@example.com", FirstChannel = Channel.PaidSearch, CreatedAt = now, UpdatedAt = now, StageChangedAt = now });
            return await db.SaveChangesAsync();
        });
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));

        var page = await client.GetFromJsonAsync<JsonElement>("/api/v1/leads?pageSize=2&page=2", Ct);
        Assert.Equal(2, page.GetProperty("items").GetArrayLength());
        Assert.Equal(6, page.GetProperty("totalCount").GetInt32());
        Assert.Equal(2, page.GetProperty("pageNumber").GetInt32());
        Assert.Equal(2, page.GetProperty("pageSize").GetInt32());

        var filtered = await client.GetFromJsonAsync<JsonElement>("/api/v1/leads?channel=PaidSearch", Ct);
        Assert.Equal(1, filtered.GetProperty("totalCount").GetInt32());
        var searched = await client.GetFromJsonAsync<JsonElement>("/api/v1/leads?search=LEAD3", Ct);
        Assert.Equal("lead3@example.com", searched.GetProperty("items")[0].GetProperty("email").GetString());
    }

    [Fact]
    public async Task OversizedBodyIsRejectedWith413()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:Api:MaxRequestBodyBytes"] = "1024" });
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin));
        var big = JsonSerializer.Serialize(new { name = new string('x', 4000), scopes = new[] { "read" } });

        var response = await client.PostAsync("/api/v1/api-keys", new StringContent(big, Encoding.UTF8, "application/json"), Ct);

        await AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal(1, await app.WithServiceAsync(sp => Task.FromResult(sp.GetRequiredService<TandemDb>().ApiKeys.Count())));
    }

    [Fact]
    public async Task WrongContentTypeIsRejectedWith415()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin));
        var response = await client.PostAsync("/api/v1/api-keys", new StringContent("name=x", Encoding.UTF8, "text/plain"), Ct);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType);
    }

    [Fact]
    public async Task MalformedJsonAndMissingFieldsAreProblemDetailsAndWriteNothing()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin));

        await AssertProblemAsync(await client.PostAsync("/api/v1/api-keys", new StringContent("{\"name\": ", Encoding.UTF8, "application/json"), Ct), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await client.PostAsync("/api/v1/api-keys", new StringContent("{\"name\": 42, \"scopes\": \"read\"}", Encoding.UTF8, "application/json"), Ct), HttpStatusCode.BadRequest);

        var missing = await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "", scopes = Array.Empty<string>() }, Ct);
        var errors = (await AssertProblemAsync(missing, HttpStatusCode.BadRequest)).Errors!;
        Assert.Contains(errors.Keys, k => k.Equals("name", StringComparison.OrdinalIgnoreCase));

        var badScope = await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "x", scopes = new[] { "write" } }, Ct);
        Assert.Contains("scopes", (await AssertProblemAsync(badScope, HttpStatusCode.BadRequest)).Errors!.Keys);

        Assert.Equal(1, await app.WithServiceAsync(sp => Task.FromResult(sp.GetRequiredService<TandemDb>().ApiKeys.Count())));
    }

    [Fact]
    public async Task OpenApiDocumentIsOpenApi3AndListsTheApi()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var doc = await app.CreateApiClient().GetFromJsonAsync<JsonElement>("/openapi/v1.json", Ct);

        Assert.StartsWith("3.", doc.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = doc.GetProperty("paths");
        Assert.True(paths.TryGetProperty("/api/v1/leads", out _));
        Assert.True(paths.TryGetProperty("/api/v1/api-keys", out _));
        Assert.True(doc.GetProperty("components").GetProperty("securitySchemes").TryGetProperty("ApiKey", out _));

        var client = app.CreateApiClient();
        var reference = await client.GetAsync("/docs/api", Ct);
        if (reference.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.MovedPermanently)
            reference = await client.GetAsync("/docs/api/", Ct);
        Assert.Equal(HttpStatusCode.OK, reference.StatusCode);
        Assert.Contains("text/html", reference.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthAndReadinessAnswerWhenTheDatabaseIsUp()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz", Ct)).StatusCode);
    }

    [Fact]
    public async Task ReadinessFailsWhenTheDatabaseIsUnreachable()
    {
        var unreachable = provider == DatabaseProvider.Sqlite
            ? $"Data Source={Path.Combine(Path.GetTempPath(), "no-such-dir-" + Guid.NewGuid().ToString("N"), "tandem.db")};Mode=ReadWrite"
            : "Host=127.0.0.1;Port=1;Database=tandem;Username=nobody;Timeout=2";
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tandem"] = unreachable,
            ["Tandem:Database:MigrateOnStart"] = "false",
        }, createDatabase: false);
        var client = app.CreateApiClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz", Ct)).StatusCode);
        await AssertProblemAsync(await client.GetAsync("/readyz", Ct), HttpStatusCode.ServiceUnavailable);
    }
}

public sealed class ApiConventionsOnSqlite() : ApiConventionsTests(DatabaseProvider.Sqlite);

public sealed class ApiConventionsOnPostgres() : ApiConventionsTests(DatabaseProvider.Postgres);
