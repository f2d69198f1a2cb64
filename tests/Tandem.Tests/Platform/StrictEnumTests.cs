using System.Net;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>
/// Enums accept only their defined names (any case) or defined numeric values, in JSON bodies and in query parameters:
/// <c>{"action":-1}</c> once moved a Customer back to Lead. An undefined value is a 400 field error naming the member, and
/// nothing changes.
/// </summary>
public abstract class StrictEnumTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(TandemApp App, HttpClient Client, Guid LeadId)> StartAsync(DatabaseProvider provider)
    {
        var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var id = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow;
            var lead = new Lead { Email = "customer@example.com", Stage = LifecycleStage.Customer, FirstChannel = Channel.Email, CreatedAt = now, UpdatedAt = now, StageChangedAt = now };
            db.Leads.Add(lead);
            await db.SaveChangesAsync();
            return lead.Id;
        });
        return (app, client, id);
    }

    /// <summary>What an accepted request would change: the lead's stage, its history, teams and the audit trail.</summary>
    private static Task<string> SnapshotAsync(TandemApp app, Guid leadId) => app.WithServiceAsync(async sp =>
    {
        var db = sp.GetRequiredService<TandemDb>();
        var lead = await db.Leads.AsNoTracking().SingleAsync(l => l.Id == leadId);
        return $"{lead.Stage} {lead.UpdatedAt:O} transitions={await db.StageTransitions.CountAsync()} teams={await db.Set<Features.Handoff.SalesTeam>().CountAsync()} " +
            $"audit={await db.AuditEntries.CountAsync()} campaigns={await db.Campaigns.CountAsync()}";
    });

    [Theory]
    [InlineData("POST", "/api/v1/leads/{id}/stage", """{"action":-1,"reason":"x"}""", "action")]
    [InlineData("POST", "/api/v1/leads/{id}/stage", """{"action":4,"reason":"x"}""", "action")]
    [InlineData("POST", "/api/v1/leads/{id}/stage", """{"action":"advance","to":99,"reason":"x"}""", "to")]
    [InlineData("POST", "/api/v1/leads/{id}/stage", """{"action":"1, 2","reason":"x"}""", "action")]
    [InlineData("POST", "/api/v1/leads/{id}/reject", """{"reason":77,"text":"x"}""", "reason")]
    [InlineData("POST", "/api/v1/handoff/teams", """{"name":"T","strategy":42}""", "strategy")]
    [InlineData("POST", "/api/v1/handoff/teams", """{"name":"T","strategy":"RoundRobin","overflow":-3}""", "overflow")]
    [InlineData("PUT", "/api/v1/handoff/sla-policies", """{"policies":[{"tier":99,"firstTouchMinutes":5,"reminderPercents":[],"graceMinutes":0,"attempts":1,"attemptWindowDays":1}]}""", "policies[0].tier")]
    [InlineData("GET", "/api/v1/leads?stage=99", null, "stage")]
    [InlineData("GET", "/api/v1/leads?channel=-1", null, "channel")]
    public async Task UndefinedEnumValuesAreFieldErrorsAndChangeNothing(string method, string path, string? body, string field)
    {
        var (app, client, id) = await StartAsync(provider);
        await using var _ = app;
        var before = await SnapshotAsync(app, id);

        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{id}", id.ToString(), StringComparison.Ordinal));
        if (body is not null)
            request.Content = Json(body);
        var response = await client.SendAsync(request, Ct);

        var text = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemShape>(Ct);
        Assert.NotNull(problem!.Errors);
        Assert.Contains(field, problem.Errors.Keys);
        Assert.Equal(before, await SnapshotAsync(app, id));
    }

    [Fact]
    public async Task DefinedNamesInAnyCaseAndDefinedNumbersStillWork()
    {
        var (app, client, id) = await StartAsync(provider);
        await using var _ = app;

        foreach (var query in new[] { "stage=Customer", $"stage={(int)LifecycleStage.Customer}", "channel=Email" })
        {
            var list = await client.GetAsync($"/api/v1/leads?{query}", Ct);
            Assert.True(list.StatusCode == HttpStatusCode.OK, $"{query}: {(int)list.StatusCode} {await list.Content.ReadAsStringAsync(Ct)}");
        }

        // Advance (0) to Advocate (6), by their numbers.
        var moved = await client.PostAsync($"/api/v1/leads/{id}/stage", Json($$"""{"action":0,"to":{{(int)LifecycleStage.Advocate}},"reason":"referral"}"""), Ct);
        Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync(Ct));
        var team = await client.PostAsync("/api/v1/handoff/teams", Json("""{"name":"Inside","strategy":"roundrobin"}"""), Ct);
        Assert.True(team.IsSuccessStatusCode, await team.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public void ConverterRefusesUndefinedValuesAndKeepsNamesCaseInsensitive()
    {
        var options = new System.Text.Json.JsonSerializerOptions { Converters = { new StrictEnumConverter() } };
        Assert.Equal(LifecycleStage.Mql, System.Text.Json.JsonSerializer.Deserialize<LifecycleStage>("\"mql\"", options));
        Assert.Equal(LifecycleStage.Lead, System.Text.Json.JsonSerializer.Deserialize<LifecycleStage>(((int)LifecycleStage.Lead).ToString(System.Globalization.CultureInfo.InvariantCulture), options));
        Assert.Equal("\"Mql\"", System.Text.Json.JsonSerializer.Serialize(LifecycleStage.Mql, options));
        var ex = Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<LifecycleStage>("-1", options));
        Assert.Contains("Use one of", ex.Message, StringComparison.Ordinal);
        Assert.Throws<System.Text.Json.JsonException>(() => System.Text.Json.JsonSerializer.Deserialize<Dictionary<LifecycleStage, int>>("""{"42":1}""", options));
    }
}

public sealed class StrictEnumsOnSqlite() : StrictEnumTests(DatabaseProvider.Sqlite);

public sealed class StrictEnumsOnPostgres() : StrictEnumTests(DatabaseProvider.Postgres);
