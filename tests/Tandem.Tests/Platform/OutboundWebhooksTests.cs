using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using StandardWebhooks;
using StandardWebhooks.Diagnostics;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>
/// Outbound webhooks end to end: the real app over a real database, the real dispatcher, a real HTTP receiver, and
/// signatures checked with the StandardWebhooks package (the library integrators use).
/// </summary>
public abstract class OutboundWebhooksTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(TandemApp App, HttpClient Admin)> StartAsync(DatabaseProvider provider, bool allowPrivate = true)
    {
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Webhooks:AllowPrivateTargets"] = allowPrivate ? "true" : "false",
            ["Tandem:Webhooks:PollSeconds"] = "0.05",
            ["Tandem:Webhooks:BaseBackoffSeconds"] = "0.1",
            ["Tandem:Webhooks:MaxBackoffSeconds"] = "0.5",
            ["Tandem:Notifications:RunDispatcher"] = "false",
        });
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read)));
    }

    private static async Task<WebhookEndpointWithSecret> CreateEndpointAsync(HttpClient admin, string url, params string[] events)
    {
        var response = await admin.PostAsJsonAsync("/api/v1/webhook-endpoints", new { url, events }, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<WebhookEndpointWithSecret>(TandemApp.ApiJson, Ct))!;
    }

    private static async Task<WebhookDeliveryDto> TestAsync(HttpClient admin, Guid endpoint)
    {
        var response = await admin.PostAsync($"/api/v1/webhook-endpoints/{endpoint}/test", null, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<WebhookDeliveryDto>(TandemApp.ApiJson, Ct))!;
    }

    private static Task<WebhookDelivery[]> DeliveriesAsync(TandemApp app, Guid endpoint) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<WebhookDelivery>().AsNoTracking()
            .Where(d => d.EndpointId == endpoint).ToArrayAsync(Ct));

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(25, Ct);
        }
    }

    private static async Task<Guid> CaptureAsync(HttpClient client, string email)
    {
        var response = await client.PostAsync("/api/v1/leads",
            new StringContent($$"""{"email":"{{email}}","firstName":"Claire","lastName":"Martin","company":"Acme"}""", Encoding.UTF8, "application/json"), Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("id").GetGuid();
    }

    /// <summary>Verifies the request with the StandardWebhooks package; throws <see cref="WebhookVerificationException"/> when no signature matches.</summary>
    private static void Verify(string secret, ReceivedRequest request) => new StandardWebhook(secret).Verify(request.Body, request.Headers);

    [Fact]
    public async Task CreatedEndpointShowsItsSecretOnceAndTheTestEventIsSignedPerStandardWebhooks()
    {
        await using var sink = await HttpSink.StartAsync();
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;

        var endpoint = await CreateEndpointAsync(admin, sink.BaseUrl + "/hooks/tandem", "campaign.paused", "lead.created");
        Assert.StartsWith("whsec_", endpoint.Secret, StringComparison.Ordinal);
        Assert.Equal(32, Convert.FromBase64String(endpoint.Secret["whsec_".Length..]).Length);
        Assert.Equal(["lead.created", "campaign.paused"], endpoint.Events);
        var list = await admin.GetStringAsync("/api/v1/webhook-endpoints", Ct);
        Assert.DoesNotContain(endpoint.Secret, list, StringComparison.Ordinal);
        Assert.DoesNotContain(endpoint.Secret, await admin.GetStringAsync($"/api/v1/webhook-endpoints/{endpoint.Id}", Ct), StringComparison.Ordinal);
        var stored = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<WebhookEndpoint>().AsNoTracking().SingleAsync(Ct));
        Assert.DoesNotContain(endpoint.Secret["whsec_".Length..], stored.SecretProtected, StringComparison.Ordinal);

        var delivery = await TestAsync(admin, endpoint.Id);
        Assert.Equal(WebhookDeliveryStatus.Delivered, delivery.Status);
        Assert.Equal((1, 200), (delivery.Attempts, delivery.LastStatusCode));
        Assert.NotNull(delivery.LastDurationMs);
        var request = Assert.Single(sink.Received);
        Assert.Equal("/hooks/tandem", request.Path);
        Verify(endpoint.Secret, request);
        Assert.Equal(delivery.WebhookId, request.Headers["webhook-id"].ToString());
        Assert.Equal("msg_" + delivery.Id.ToString("N"), delivery.WebhookId);
        Assert.InRange(long.Parse(request.Headers["webhook-timestamp"].ToString(), System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.StartsWith("application/json", request.Headers.ContentType.ToString(), StringComparison.Ordinal);
        var payload = JsonDocument.Parse(request.Body).RootElement;
        Assert.Equal("test", payload.GetProperty("type").GetString());
        Assert.True(payload.GetProperty("timestamp").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.Equal(endpoint.Id, payload.GetProperty("data").GetProperty("endpointId").GetGuid());
        Assert.Throws<WebhookVerificationException>(() => Verify(WebhookSigning.NewSecret(), request));

        var log = await admin.GetFromJsonAsync<Page<WebhookDeliveryDto>>($"/api/v1/webhook-endpoints/{endpoint.Id}/deliveries", TandemApp.ApiJson, Ct);
        Assert.Equal(delivery.Id, Assert.Single(log!.Items).Id);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/v1/webhook-endpoints/{Guid.CreateVersion7()}/test", null, Ct)).StatusCode);
        var audit = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().AuditEntries.Select(a => a.Action).ToListAsync(Ct));
        Assert.Contains("webhook-endpoint.created", audit);
        Assert.Contains("webhook-endpoint.test", audit);
    }

    [Fact]
    public async Task ReceiverFailingWith500IsRetriedAndTheEventArrivesOnceWithTheSameWebhookId()
    {
        await using var sink = await HttpSink.StartAsync();
        sink.Respond = n => n <= 2 ? 500 : 200;
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var endpoint = await CreateEndpointAsync(admin, sink.Url, "lead.created");

        var lead = await CaptureAsync(admin, "claire@acme.example");
        await UntilAsync(async () => (await DeliveriesAsync(app, endpoint.Id)) is [{ Status: WebhookDeliveryStatus.Delivered }], "the delivery after two failures");

        var delivery = Assert.Single(await DeliveriesAsync(app, endpoint.Id));
        Assert.Equal((3, 200, (string?)null), (delivery.Attempts, delivery.LastStatusCode, delivery.LastError));
        var requests = sink.Received.ToArray();
        Assert.Equal([500, 500, 200], requests.Select(r => r.AnsweredWith));
        Assert.All(requests, r => Assert.Equal(delivery.WebhookId, r.Headers["webhook-id"].ToString()));
        Assert.All(requests, r => Verify(endpoint.Secret, r));
        Assert.Single(requests, r => r.AnsweredWith == 200);
        var payload = JsonDocument.Parse(requests[^1].Body).RootElement;
        Assert.Equal("lead.created", payload.GetProperty("type").GetString());
        var data = payload.GetProperty("data").GetProperty("lead");
        Assert.Equal(lead, data.GetProperty("id").GetGuid());
        Assert.Equal("claire@acme.example", data.GetProperty("email").GetString());

        // A repeat capture of the same person is not a new lead: no second event.
        await CaptureAsync(admin, "claire@acme.example");
        await Task.Delay(300, Ct);
        Assert.Single(await DeliveriesAsync(app, endpoint.Id));
    }

    [Theory]
    [InlineData(410)]
    [InlineData(400)]
    public async Task ClientErrorsAreFinalButRedeliveryResendsWithTheSameWebhookId(int status)
    {
        await using var sink = await HttpSink.StartAsync();
        sink.FailWith = status;
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var endpoint = await CreateEndpointAsync(admin, sink.Url, "lead.created");

        var delivery = await TestAsync(admin, endpoint.Id);
        Assert.Equal((WebhookDeliveryStatus.Failed, 1, status), (delivery.Status, delivery.Attempts, delivery.LastStatusCode));
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), delivery.LastError, StringComparison.Ordinal);
        await Task.Delay(400, Ct);
        Assert.Equal(1, sink.Requests);

        sink.FailWith = null;
        var again = await admin.PostAsync($"/api/v1/webhook-deliveries/{delivery.Id}/redeliver", null, Ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await UntilAsync(async () => (await DeliveriesAsync(app, endpoint.Id)).Single().Status == WebhookDeliveryStatus.Delivered, "the redelivery");
        Assert.Equal(2, sink.Requests);
        Assert.All(sink.Received, r => Assert.Equal(delivery.WebhookId, r.Headers["webhook-id"].ToString()));
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/v1/webhook-deliveries/{Guid.CreateVersion7()}/redeliver", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task TimeoutsAndServerErrorsAreRetriedUntilTheRetryWindowEnds()
    {
        await using var sink = await HttpSink.StartAsync();
        sink.Delay = TimeSpan.FromSeconds(2);
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptionsMonitor<WebhookOptions>>().CurrentValue.TimeoutSeconds = 0.3;
        var endpoint = await CreateEndpointAsync(admin, sink.Url, "lead.created");

        var delivery = await TestAsync(admin, endpoint.Id);
        Assert.Equal(WebhookDeliveryStatus.Pending, delivery.Status);
        Assert.Null(delivery.LastStatusCode);
        Assert.Contains("No answer within", delivery.LastError, StringComparison.Ordinal);
        Assert.True(delivery.NextAttemptAt > delivery.LastAttemptAt);

        // The retry window closes: the next failure is final.
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<WebhookDelivery>().Where(d => d.Id == delivery.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.RetryUntil, DateTimeOffset.UtcNow), Ct));
        sink.Delay = TimeSpan.Zero;
        sink.FailWith = 503;
        await UntilAsync(async () => (await DeliveriesAsync(app, endpoint.Id)).Single().Status == WebhookDeliveryStatus.Failed, "the final failure");
        Assert.Equal(503, (await DeliveriesAsync(app, endpoint.Id)).Single().LastStatusCode);
    }

    [Fact]
    public async Task RotationSignsWithBothSecretsDuringTheOverlapThenOnlyTheNewOne()
    {
        await using var sink = await HttpSink.StartAsync();
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var endpoint = await CreateEndpointAsync(admin, sink.Url, "lead.created");

        var rotated = await admin.PostAsJsonAsync($"/api/v1/webhook-endpoints/{endpoint.Id}/rotate-secret", new { overlapHours = 24 }, Ct);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        var second = (await rotated.Content.ReadFromJsonAsync<WebhookEndpointWithSecret>(TandemApp.ApiJson, Ct))!;
        Assert.NotEqual(endpoint.Secret, second.Secret);
        Assert.True(second.PreviousSecretUntil > DateTimeOffset.UtcNow.AddHours(23));
        await TestAsync(admin, endpoint.Id);
        Assert.True(sink.Received.TryDequeue(out var both));
        Assert.Equal(2, both.Headers["webhook-signature"].ToString().Split(' ').Distinct().Count());
        Verify(endpoint.Secret, both);
        Verify(second.Secret, both);

        var noOverlap = await admin.PostAsJsonAsync($"/api/v1/webhook-endpoints/{endpoint.Id}/rotate-secret", new { overlapHours = 0 }, Ct);
        var third = (await noOverlap.Content.ReadFromJsonAsync<WebhookEndpointWithSecret>(TandemApp.ApiJson, Ct))!;
        await TestAsync(admin, endpoint.Id);
        Assert.True(sink.Received.TryDequeue(out var one));
        Assert.Single(one.Headers["webhook-signature"].ToString().Split(' '));
        Verify(third.Secret, one);
        Assert.Throws<WebhookVerificationException>(() => Verify(second.Secret, one));
        Assert.Throws<WebhookVerificationException>(() => Verify(endpoint.Secret, one));
    }

    [Fact]
    public async Task OnlySubscribedActiveEndpointsReceiveAnEvent()
    {
        await using var leads = await HttpSink.StartAsync();
        await using var campaigns = await HttpSink.StartAsync();
        await using var disabled = await HttpSink.StartAsync();
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        await CreateEndpointAsync(admin, leads.Url, "lead.created");
        await CreateEndpointAsync(admin, campaigns.Url, "campaign.paused", "lead.mql");
        var off = await CreateEndpointAsync(admin, disabled.Url, "lead.created");
        var patched = await admin.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{off.Id}", new { active = false }, Ct);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        Assert.False((await patched.Content.ReadFromJsonAsync<WebhookEndpointDto>(TandemApp.ApiJson, Ct))!.Active);

        await CaptureAsync(admin, "first@acme.example");
        await UntilAsync(() => Task.FromResult(leads.Requests == 1), "the subscribed endpoint");
        await Task.Delay(400, Ct);
        Assert.Equal(0, campaigns.Requests);
        Assert.Equal(0, disabled.Requests);
        Assert.Empty(await DeliveriesAsync(app, off.Id));

        // A deleted endpoint receives nothing more and disappears from the list; its log stays.
        var first = (await admin.GetFromJsonAsync<List<WebhookEndpointDto>>("/api/v1/webhook-endpoints", TandemApp.ApiJson, Ct))!.First(e => e.Url == leads.Url);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/webhook-endpoints/{first.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/webhook-endpoints/{first.Id}", Ct)).StatusCode);
        await CaptureAsync(admin, "second@acme.example");
        await Task.Delay(400, Ct);
        Assert.Equal(1, leads.Requests);
        Assert.Single(await DeliveriesAsync(app, first.Id));
    }

    [Fact]
    public async Task PrivateTargetsAreRefusedWhenNotAllowedForWebhooksAndChat()
    {
        await using var sink = await HttpSink.StartAsync();
        var (app, admin) = await StartAsync(provider, allowPrivate: false);
        await using var _ = app;

        foreach (var url in new[] { sink.Url, "http://localhost:8080/x", "http://10.1.2.3/hook", "http://192.168.1.10/hook", "http://169.254.169.254/latest/meta-data",
                     "http://[::1]/hook", "http://[fd00::1]/hook", "http://0.0.0.0/hook", "http://[::ffff:127.0.0.1]/hook" })
        {
            var response = await admin.PostAsJsonAsync("/api/v1/webhook-endpoints", new { url, events = new[] { "lead.created" } }, Ct);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: {(int)response.StatusCode}");
            Assert.Contains("url", (await response.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
        }
        var chat = await admin.PutAsJsonAsync("/api/v1/notifications/settings", new { chatEnabled = true, chatWebhookUrl = sink.Url }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, chat.StatusCode);
        Assert.Contains("chatWebhookUrl", (await chat.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);

        // Checked again when connecting: an endpoint stored before the guard (or whose name now resolves inside) is not called.
        var id = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var endpoint = new WebhookEndpoint
            {
                Url = sink.Url,
                Events = "lead.created",
                SecretProtected = sp.GetRequiredService<Microsoft.AspNetCore.DataProtection.IDataProtectionProvider>()
                    .CreateProtector(WebhookDispatcher.SecretPurpose).Protect(WebhookSigning.NewSecret()),
                CreatedAt = DateTimeOffset.UtcNow,
                UpdatedAt = DateTimeOffset.UtcNow,
            };
            db.Add(endpoint);
            await db.SaveChangesAsync(Ct);
            return endpoint.Id;
        });
        var delivery = await TestAsync(admin, id);
        Assert.Equal(WebhookDeliveryStatus.Failed, delivery.Status);
        Assert.Contains("private", delivery.LastError, StringComparison.Ordinal);
        Assert.Equal(0, sink.Requests);
        Assert.Empty(await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<WebhookEndpoint>().Where(e => e.Id != id).ToListAsync(Ct)));
    }

    [Fact]
    public async Task BadInputGetsFieldErrorsAndWritesNothing()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;

        async Task ExpectAsync(HttpResponseMessage response, string field)
        {
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(Ct)}");
            var problem = (await response.Content.ReadFromJsonAsync<ProblemShape>(Ct))!;
            Assert.True(problem.Errors!.ContainsKey(field), $"expected an error on {field}: {string.Join(", ", problem.Errors.Keys)}");
        }
        Task<HttpResponseMessage> Post(object body) => admin.PostAsJsonAsync("/api/v1/webhook-endpoints", body, Ct);
        var events = new[] { "lead.created" };
        await ExpectAsync(await Post(new { url = "https://hooks.example.com/x", events = new[] { "lead.exploded" } }), "events");
        await ExpectAsync(await Post(new { url = "https://hooks.example.com/x", events = Array.Empty<string>() }), "events");
        await ExpectAsync(await Post(new { url = "https://hooks.example.com/x" }), "events");
        await ExpectAsync(await Post(new { url = "/relative", events }), "url");
        await ExpectAsync(await Post(new { url = "ftp://hooks.example.com/x", events }), "url");
        await ExpectAsync(await Post(new { url = "https://hooks.example.com/" + new string('a', 2100), events }), "url");
        await ExpectAsync(await Post(new { url = "https://hooks.example.com/x\0y", events }), "url");
        await ExpectAsync(await Post(new { url = "https://user:pw@hooks.example.com/x", events }), "url");
        await ExpectAsync(await Post(new { events }), "url");
        Assert.Empty(await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<WebhookEndpoint>().ToListAsync(Ct)));

        var endpoint = await CreateEndpointAsync(admin, "http://127.0.0.1:9/x", "lead.created");
        await ExpectAsync(await admin.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{endpoint.Id}", new { events = new[] { "nope" } }, Ct), "events");
        await ExpectAsync(await admin.PutAsJsonAsync($"/api/v1/webhook-endpoints/{endpoint.Id}", new { url = "http://127.0.0.1:9/y" }, Ct), "events");
        await ExpectAsync(await admin.PostAsJsonAsync($"/api/v1/webhook-endpoints/{endpoint.Id}/rotate-secret", new { overlapHours = -1 }, Ct), "overlapHours");
        var unchanged = (await admin.GetFromJsonAsync<WebhookEndpointDto>($"/api/v1/webhook-endpoints/{endpoint.Id}", TandemApp.ApiJson, Ct))!;
        Assert.Equal("http://127.0.0.1:9/x", unchanged.Url);
        Assert.Equal(["lead.created"], unchanged.Events);
        var put = await admin.PutAsJsonAsync($"/api/v1/webhook-endpoints/{endpoint.Id}", new { url = "http://127.0.0.1:9/y", events = new[] { "sla.breached", "lead.mql" } }, Ct);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(["lead.mql", "sla.breached"], (await put.Content.ReadFromJsonAsync<WebhookEndpointDto>(TandemApp.ApiJson, Ct))!.Events);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PatchAsJsonAsync($"/api/v1/webhook-endpoints/{Guid.CreateVersion7()}", new { active = true }, Ct)).StatusCode);
    }

    [Fact]
    public async Task TheSettingsPageListsEndpointsWithReadableEventNamesForAdminsOnly()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        await CreateEndpointAsync(admin, "http://127.0.0.1:9/automation", "campaign.paused", "sla.breached");
        var (_, adminPassword) = await app.CreateUserAsync("admin@example.com", Roles.Admin);
        var (_, salesPassword) = await app.CreateUserAsync("rep@example.com", Roles.Sales);

        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "admin@example.com", adminPassword);
        var page = await browser.GetAsync("/settings/outbound-webhooks", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("http://127.0.0.1:9/automation", html, StringComparison.Ordinal);
        Assert.Contains("Campaign paused", html, StringComparison.Ordinal);
        Assert.Contains("SLA breached", html, StringComparison.Ordinal);

        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rep@example.com", salesPassword);
        var denied = await rep.GetAsync("/settings/outbound-webhooks", Ct);
        Assert.DoesNotContain("http://127.0.0.1:9/automation", await denied.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APublishIsWrittenOnlyWhenTheCallersTransactionCommits()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var endpoint = await CreateEndpointAsync(admin, "http://127.0.0.1:9/x", "deal.won");

        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var publisher = sp.GetRequiredService<IWebhookPublisher>();
            Assert.False(await publisher.HasSubscribersAsync("lead.rated", Ct));
            Assert.Equal(0, await publisher.PublishAsync(db, "lead.rated", new { }, Ct));
            await using (var tx = await db.Database.BeginTransactionAsync(Ct))
            {
                Assert.Equal(1, await publisher.PublishAsync(db, "deal.won", new { amount = 1 }, Ct));
                await db.SaveChangesAsync(Ct);
                await tx.RollbackAsync(Ct);
            }
            db.ChangeTracker.Clear();
            await using (var tx = await db.Database.BeginTransactionAsync(Ct))
            {
                Assert.Equal(1, await publisher.PublishAsync(db, "deal.won", new { amount = 2 }, Ct));
                await db.SaveChangesAsync(Ct);
                await tx.CommitAsync(Ct);
            }
            await Assert.ThrowsAsync<ArgumentException>(() => publisher.PublishAsync(db, "no.such.event", new { }, Ct));
            return 0;
        });
        var rows = await DeliveriesAsync(app, endpoint.Id);
        var row = Assert.Single(rows);
        Assert.Equal(2, JsonDocument.Parse(row.Payload).RootElement.GetProperty("data").GetProperty("amount").GetInt32());
    }
}

public sealed class OutboundWebhooksOnSqlite() : OutboundWebhooksTests(DatabaseProvider.Sqlite);

public sealed class OutboundWebhooksOnPostgres() : OutboundWebhooksTests(DatabaseProvider.Postgres);
