using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Capture;

/// <summary>Inbound webhooks end to end: presets, signatures, dead letters and replay, limits, and the admin API.</summary>
public abstract class WebhooksTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonSerializerOptions JsonOptions => TandemApp.ApiJson;

    private static async Task<(TandemApp App, HttpClient Admin)> StartAsync(DatabaseProvider provider, IDictionary<string, string?>? settings = null)
    {
        var app = await TandemApp.CreateAsync(provider, settings);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin)));
    }

    private static async Task<WebhookSourceDto> CreateSourceAsync(HttpClient admin, object body)
    {
        var response = await admin.PostAsJsonAsync("/api/v1/webhook-sources", body, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<WebhookSourceDto>(JsonOptions, Ct))!;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Task<List<Lead>> LeadsAsync(TandemApp app) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().ToListAsync());

    private static Task<int> CountAsync<T>(TandemApp app) where T : class =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<T>().CountAsync());

    [Theory]
    [InlineData("typeform", "typeform.json", "laura.petit@acme-industrie.fr", "Laura")]
    [InlineData("webflow", "webflow.json", "marc.durand@globex.example", "Marc")]
    [InlineData("meta-lead-ads", "meta-lead-ads.json", "sophie.bernard@initech.example", "Sophie")]
    [InlineData("hubspot-forms-v3", "hubspot-forms-v3.json", "tom.leroy@umbrella.example", "Tom")]
    [InlineData("unbounce", "unbounce-data.json", "alan.turing@hooli.example", "Alan")]
    public async Task EachPresetTurnsItsProvidersPayloadIntoALead(string preset, string file, string email, string firstName)
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var source = await CreateSourceAsync(admin, new { name = preset + " source", preset });
        Assert.Equal(WebhookPresets.Find(preset)!.Mappings.Count, source.Mappings.Count);
        var payload = CaptureChannelRulesTests.Payload(file);
        HttpContent content = preset == "unbounce"
            ? new FormUrlEncodedContent(new Dictionary<string, string> { ["page_id"] = "a8b3c6d2", ["data.json"] = payload, ["data.xml"] = "<x/>" })
            : Json(payload);

        var response = await app.CreateApiClient().PostAsync(source.EndpointPath, content, Ct);

        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var lead = Assert.Single(await LeadsAsync(app));
        Assert.Equal((email, firstName), (lead.Email, lead.FirstName));
        var activity = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.AsNoTracking().SingleAsync());
        Assert.Equal(ActivityType.FormSubmission, activity.Type);
        Assert.Equal($"webhook:{preset} source", activity.Source);
        Assert.Equal(0, await CountAsync<WebhookDeadLetter>(app));
    }

    [Fact]
    public async Task SignedSourcesRefuseMissingOrWrongSignaturesAndStoreTheSecretEncrypted()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        const string secret = "typeform-shared-secret";
        var source = await CreateSourceAsync(admin, new { name = "Typeform", preset = "typeform", secret });
        Assert.True(source.HasSecret);
        Assert.Equal(("Typeform-Signature", "sha256="), (source.SignatureHeader, source.SignaturePrefix));
        var stored = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<WebhookSource>().AsNoTracking().SingleAsync());
        Assert.NotNull(stored.ProtectedSecret);
        Assert.DoesNotContain(secret, stored.ProtectedSecret, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await admin.GetStringAsync($"/api/v1/webhook-sources/{source.Id}", Ct), StringComparison.Ordinal);

        var body = CaptureChannelRulesTests.Payload("typeform.json");
        var client = app.CreateApiClient();
        var missing = await client.PostAsync(source.EndpointPath, Json(body), Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);

        var wrong = Json(body);
        wrong.Headers.Add("Typeform-Signature", WebhookSignature.Compute(Encoding.UTF8.GetBytes(body), "guessed-secret", SignatureEncoding.Base64, "sha256="));
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync(source.EndpointPath, wrong, Ct)).StatusCode);
        Assert.Equal(0, await CountAsync<Lead>(app));
        Assert.Equal(0, await CountAsync<WebhookDeadLetter>(app));

        var signed = Json(body);
        signed.Headers.Add("Typeform-Signature", WebhookSignature.Compute(Encoding.UTF8.GetBytes(body), secret, SignatureEncoding.Base64, "sha256="));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(source.EndpointPath, signed, Ct)).StatusCode);
        Assert.Single(await LeadsAsync(app));

        // Removing the secret turns verification off.
        var cleared = await admin.PutAsJsonAsync($"/api/v1/webhook-sources/{source.Id}", new { name = "Typeform", secret = "" }, Ct);
        Assert.False((await cleared.Content.ReadFromJsonAsync<WebhookSourceDto>(JsonOptions, Ct))!.HasSecret);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(source.EndpointPath, Json(body), Ct)).StatusCode);
    }

    [Fact]
    public async Task UnmappablePayloadsAreDeadLetteredThenReplayedOnceTheMappingIsFixed()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var source = await CreateSourceAsync(admin, new
        {
            name = "Custom CRM",
            signatureHeader = "X-Signature",
            mappings = new[] { new { target = "email", path = "$.contact.email" }, new { target = "firstName", path = "$.contact.first" } },
        });
        var client = app.CreateApiClient();

        var first = await client.PostAsync(source.EndpointPath, Json("""{"person":{"mail":"late@acme.example","first":"Lea"}}"""), Ct);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var problem = await first.Content.ReadFromJsonAsync<JsonElement>(JsonOptions, Ct);
        Assert.Equal("Delivery dead-lettered", problem.GetProperty("title").GetString());
        Assert.Contains("email", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var badEmail = await client.PostAsync(source.EndpointPath, Json("""{"contact":{"email":"not-an-email"}}"""), Ct);
        Assert.Equal(HttpStatusCode.Accepted, badEmail.StatusCode);
        var notJson = await client.PostAsync(source.EndpointPath, Json("""{"contact": """), Ct);
        Assert.Equal(HttpStatusCode.Accepted, notJson.StatusCode);
        Assert.Equal(0, await CountAsync<Lead>(app));

        var letters = await admin.GetFromJsonAsync<Page<DeadLetterDto>>($"/api/v1/webhook-sources/{source.Id}/dead-letters?status=Pending", JsonOptions, Ct);
        Assert.Equal(3, letters!.TotalCount);
        var late = letters.Items.Single(l => l.RawBody.Contains("late@", StringComparison.Ordinal));
        Assert.Equal(DeadLetterStatus.Pending, late.Status);
        Assert.Contains("application/json", late.Headers, StringComparison.Ordinal);

        var stillBroken = await admin.PostAsync($"/api/v1/webhook-dead-letters/{late.Id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, stillBroken.StatusCode);

        var fixedMapping = await admin.PutAsJsonAsync($"/api/v1/webhook-sources/{source.Id}", new
        {
            name = "Custom CRM",
            mappings = new[] { new { target = "email", path = "$.person.mail" }, new { target = "firstName", path = "$.person.first" } },
        }, Ct);
        Assert.Equal(HttpStatusCode.OK, fixedMapping.StatusCode);

        var replayed = await admin.PostAsync($"/api/v1/webhook-dead-letters/{late.Id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.OK, replayed.StatusCode);
        var again = await admin.PostAsync($"/api/v1/webhook-dead-letters/{late.Id}/replay", null, Ct);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        var lead = Assert.Single(await LeadsAsync(app));
        Assert.Equal(("late@acme.example", "Lea"), (lead.Email, lead.FirstName));
        Assert.Equal(1, await CountAsync<Activity>(app));

        var all = await admin.PostAsync($"/api/v1/webhook-sources/{source.Id}/dead-letters/replay", null, Ct);
        Assert.Equal(new ReplayAllResponse(0, 2), await all.Content.ReadFromJsonAsync<ReplayAllResponse>(JsonOptions, Ct));
        var after = await admin.GetFromJsonAsync<Page<DeadLetterDto>>($"/api/v1/webhook-sources/{source.Id}/dead-letters", JsonOptions, Ct);
        Assert.Equal(DeadLetterStatus.Replayed, after!.Items.Single(l => l.Id == late.Id).Status);
        Assert.Equal(lead.Id, after.Items.Single(l => l.Id == late.Id).LeadId);
        Assert.All(after.Items.Where(l => l.Id != late.Id), l => Assert.Equal((DeadLetterStatus.Pending, 1), (l.Status, l.ReplayAttempts)));

        var discard = after.Items.First(l => l.Id != late.Id);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PostAsync($"/api/v1/webhook-dead-letters/{discard.Id}/discard", null, Ct)).StatusCode);
        Assert.Equal(1, (await admin.GetFromJsonAsync<WebhookSourceDto>($"/api/v1/webhook-sources/{source.Id}", JsonOptions, Ct))!.PendingDeadLetters);
    }

    [Fact]
    public async Task TooLargeUnsupportedAndUnknownDeliveriesAreRefused()
    {
        var (app, admin) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:RateLimits:WebhookRequestsPerMinutePerSource"] = "6" });
        await using var _ = app;
        var source = await CreateSourceAsync(admin, new { name = "Webflow", preset = "webflow" });
        var client = app.CreateApiClient();

        var big = await client.PostAsync(source.EndpointPath, Json("""{"payload":{"data":{"Email":"a@acme.example","Message":" """ + new string('x', 300 * 1024) + "\"}}}"), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        var xml = await client.PostAsync(source.EndpointPath, new StringContent("<x/>", Encoding.UTF8, "text/xml"), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, xml.StatusCode);
        var formWithoutJson = await client.PostAsync(source.EndpointPath, new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "a@acme.example" }), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, formWithoutJson.StatusCode);
        var unknown = await client.PostAsync("/hooks/unknown-key", Json("{}"), Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await CountAsync<WebhookDeadLetter>(app));

        // Rate limited per source: three requests above were counted; three more pass, the next is refused.
        for (var i = 0; i < 3; i++)
            await client.PostAsync(source.EndpointPath, Json("{\"payload\":{\"data\":{\"Email\":\"r" + i + "@acme.example\"}}}"), Ct);
        var limited = await client.PostAsync(source.EndpointPath, Json("""{"payload":{"data":{"Email":"r9@acme.example"}}}"""), Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(limited.Headers.Contains("Retry-After"));
        Assert.Equal(3, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task ManagementApiValidatesMappingsHeadersAndPresetsAndIsAdminOnly()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;

        var presets = await admin.GetFromJsonAsync<List<WebhookPreset>>("/api/v1/webhook-sources/presets", JsonOptions, Ct);
        Assert.Equal(["typeform", "webflow", "meta-lead-ads", "hubspot-forms-v3", "unbounce"], presets!.Select(p => p.Id));

        var bad = await admin.PostAsJsonAsync("/api/v1/webhook-sources", new
        {
            name = "",
            signatureHeader = "X Bad Header:",
            secret = "short",
            mappings = new[] { new { target = "email", path = "$.a[" }, new { target = "shoeSize", path = "$.b" } },
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var keys = (await bad.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["mappings[0].path", "mappings[1].target", "name", "secret", "signatureHeader"], keys);

        var unknownPreset = await admin.PostAsJsonAsync("/api/v1/webhook-sources", new { name = "x", preset = "mailchimp" }, Ct);
        Assert.Contains("preset", (await unknownPreset.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys);

        var source = await CreateSourceAsync(admin, new { name = "Meta", preset = "meta-lead-ads" });
        Assert.Single(await admin.GetFromJsonAsync<List<WebhookSourceDto>>("/api/v1/webhook-sources", JsonOptions, Ct) ?? []);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/webhook-sources/{source.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await app.CreateApiClient().PostAsync(source.EndpointPath, Json("{}"), Ct)).StatusCode);

        var marketing = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        Assert.Equal(HttpStatusCode.Forbidden, (await marketing.GetAsync("/api/v1/webhook-sources", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateApiClient().GetAsync("/api/v1/webhook-sources", Ct)).StatusCode);
    }
    [Fact]
    public async Task SettingsPageShowsSourcesEndpointsAndDeadLettersToAdmins()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var (_, password) = await app.CreateUserAsync("admin@acme.example", Roles.Admin);
        var source = await CreateSourceAsync(admin, new { name = "Typeform <main>", preset = "typeform" });
        await app.CreateApiClient().PostAsync(source.EndpointPath, Json("""{"form_response":{"answers":[]},"note":"<script>x</script>"}"""), Ct);
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "admin@acme.example", password);

        var page = await browser.GetAsync("/settings/webhooks", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Typeform &lt;main&gt;", html, StringComparison.Ordinal);
        Assert.Contains(source.EndpointPath, html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>x", html, StringComparison.Ordinal);
    }
}

public sealed class WebhooksOnSqlite() : WebhooksTests(DatabaseProvider.Sqlite);

public sealed class WebhooksOnPostgres() : WebhooksTests(DatabaseProvider.Postgres);
