using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Notifications;

/// <summary>The outbox end to end: real SMTP and HTTP sinks, real databases, the real dispatcher.</summary>
public abstract class NotificationsTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(TandemApp App, HttpClient Admin)> StartAsync(DatabaseProvider provider, bool runDispatcher = true,
        FakeTimeProvider? clock = null, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Tandem:Notifications:PollSeconds"] = "0.05",
            ["Tandem:Notifications:RunDispatcher"] = runDispatcher ? "true" : "false",
            ["Tandem:PublicBaseUrl"] = "https://tandem.example.com",
            ["Tandem:Webhooks:AllowPrivateTargets"] = "true",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            all[k] = v;
        var app = await TandemApp.CreateAsync(provider, all);
        if (clock is not null)
            app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin)));
    }

    private static object SmtpSettings(SmtpSink sink, int maxAttempts = 6, int baseBackoff = 30) => new
    {
        emailEnabled = true,
        smtpHost = "127.0.0.1",
        smtpPort = sink.Port,
        smtpSecurity = "None",
        fromAddress = "tandem@example.com",
        fromName = "Tandem",
        maxAttempts,
        baseBackoffSeconds = baseBackoff,
    };

    private static async Task PutSettingsAsync(HttpClient admin, object settings)
    {
        var response = await admin.PutAsJsonAsync("/api/v1/notifications/settings", settings, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
    }

    private static Task<Notification[]> EnqueueAsync(TandemApp app, NotificationRequest request) =>
        app.WithServiceAsync(async sp => (await sp.GetRequiredService<Notifier>().EnqueueAndSaveAsync(request, Ct)).ToArray());

    private static Task<Notification> RowAsync(TandemApp app, Guid id) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>().AsNoTracking().SingleAsync(n => n.Id == id));

    private static Task<int> DispatchAsync(TandemApp app) => app.Services.GetRequiredService<NotificationDispatcher>().DispatchDueAsync(Ct);

    private static async Task UntilAsync(Func<Task<bool>> condition, string what, double seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(25, Ct);
        }
    }

    private static NotificationRequest Email(Guid user, string subject = "New MQL: Claire Martin", bool urgent = false, string? key = null) => new()
    {
        Kind = "lead.assigned",
        RecipientUserId = user,
        Channels = [NotificationChannel.Email],
        Subject = subject,
        Body = "Claire Martin (Acme) is yours. Call within the hour.",
        Link = "/leads/0193",
        Urgent = urgent,
        DedupeKey = key,
    };

    [Fact]
    public async Task EmailReachesTheSmtpServerWithSubjectBodyLinkAndAStableMessageId()
    {
        await using var sink = SmtpSink.Start();
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var (rep, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales, "Sales-Password-1");
        await PutSettingsAsync(admin, SmtpSettings(sink));

        var rows = await EnqueueAsync(app, Email(rep) with { Channels = [NotificationChannel.Email, NotificationChannel.InApp], DedupeKey = "lead.assigned:1:rep" });
        await UntilAsync(() => Task.FromResult(!sink.Messages.IsEmpty), "the email");

        var email = rows.Single(r => r.Channel == NotificationChannel.Email);
        Assert.Equal("lead.assigned:1:rep:email", email.DedupeKey);
        Assert.True(sink.Messages.TryDequeue(out var received));
        Assert.Equal(["rep@example.com"], received.To);
        Assert.Equal("tandem@example.com", received.From);
        var mime = MimeMessage.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(received.Data)), Ct);
        Assert.Equal("New MQL: Claire Martin", mime.Subject);
        Assert.Equal($"{email.Id:N}@example.com", mime.MessageId);
        Assert.Contains("Claire Martin (Acme) is yours.", mime.TextBody, StringComparison.Ordinal);
        Assert.Contains("https://tandem.example.com/leads/0193", mime.TextBody, StringComparison.Ordinal);
        await UntilAsync(async () => (await RowAsync(app, email.Id)).Status == NotificationStatus.Sent, "the Sent status");
        var sent = await RowAsync(app, email.Id);
        Assert.Equal(1, sent.Attempts);
        Assert.NotNull(sent.SentAt);

        // The in-app copy is in the rep's inbox until read.
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "rep@example.com", password);
        var mine = await browser.GetFromJsonAsync<MyNotifications>("/api/v1/me/notifications", TandemApp.ApiJson, Ct);
        Assert.Equal(1, mine!.UnreadCount);
        Assert.Equal("/leads/0193", Assert.Single(mine.Items).Link);
        var read = await browser.PostAsJsonAsync("/api/v1/me/notifications/read", new { }, Ct);
        Assert.Equal(1, (await read.Content.ReadFromJsonAsync<MarkReadResponse>(Ct))!.Marked);
        Assert.Equal(0, (await browser.GetFromJsonAsync<MyNotifications>("/api/v1/me/notifications", TandemApp.ApiJson, Ct))!.UnreadCount);
        var key = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        Assert.Equal(HttpStatusCode.BadRequest, (await key.GetAsync("/api/v1/me/notifications", Ct)).StatusCode);
    }

    [Fact]
    public async Task InAppMessagesArePublishedLiveToSubscribers()
    {
        var (app, _) = await StartAsync(provider);
        await using var __ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var received = new TaskCompletionSource<InAppMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var subscription = app.Services.GetRequiredService<InAppNotifications>().Subscribe(rep, m => { received.TrySetResult(m); return Task.CompletedTask; });

        await EnqueueAsync(app, Email(rep) with { Channels = [NotificationChannel.InApp] });

        var message = await received.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);
        Assert.Equal("New MQL: Claire Martin", message.Subject);
    }

    [Fact]
    public async Task ChatMessagesArePostedAsSlackWebhookJsonAndTheApiTestSendWorks()
    {
        await using var hook = await HttpSink.StartAsync();
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        await PutSettingsAsync(admin, new { chatEnabled = true, chatWebhookUrl = hook.Url });

        await EnqueueAsync(app, new NotificationRequest
        {
            Kind = "routing.overflow",
            Channels = [NotificationChannel.Chat],
            Subject = "No eligible rep for <Acme & Co>",
            Body = "Lead went to the overflow queue.",
            Link = "/inbox",
        });
        await UntilAsync(() => Task.FromResult(!hook.Bodies.IsEmpty), "the chat post");
        Assert.True(hook.Bodies.TryDequeue(out var body));
        var text = JsonDocument.Parse(body).RootElement.GetProperty("text").GetString()!;
        Assert.Contains("*No eligible rep for &lt;Acme &amp; Co&gt;*", text, StringComparison.Ordinal);
        Assert.Contains("<https://tandem.example.com/inbox|Open in Tandem>", text, StringComparison.Ordinal);

        var test = await admin.PostAsJsonAsync("/api/v1/notifications/test", new { channel = "Chat" }, Ct);
        Assert.Equal(HttpStatusCode.Accepted, test.StatusCode);
        await UntilAsync(() => Task.FromResult(!hook.Bodies.IsEmpty), "the test chat post");
        var noAddress = await admin.PostAsJsonAsync("/api/v1/notifications/test", new { channel = "Email" }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, noAddress.StatusCode);
        Assert.Contains("to", (await noAddress.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
    }

    [Fact]
    public async Task SmtpDownIsRetriedWithBackoffThenFailsVisiblyAndRetryNowDeliversIt()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var sink = SmtpSink.Start();
        var (app, admin) = await StartAsync(provider, runDispatcher: false, clock: clock);
        await using var _ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        await PutSettingsAsync(admin, SmtpSettings(sink, maxAttempts: 3, baseBackoff: 10));
        await sink.StopAsync();

        var id = (await EnqueueAsync(app, Email(rep))).Single().Id;
        Assert.Equal(1, await DispatchAsync(app));
        var first = await RowAsync(app, id);
        Assert.Equal((NotificationStatus.Pending, 1), (first.Status, first.Attempts));
        Assert.NotNull(first.LastError);
        var wait = first.NextAttemptAt - clock.GetUtcNow();
        Assert.InRange(wait.TotalSeconds, 8, 12);
        Assert.Equal(0, await DispatchAsync(app));

        clock.Advance(TimeSpan.FromSeconds(13));
        Assert.Equal(1, await DispatchAsync(app));
        var second = await RowAsync(app, id);
        Assert.Equal(2, second.Attempts);
        Assert.InRange((second.NextAttemptAt - clock.GetUtcNow()).TotalSeconds, 16, 24);

        clock.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(1, await DispatchAsync(app));
        var failed = await RowAsync(app, id);
        Assert.Equal((NotificationStatus.Failed, 3), (failed.Status, failed.Attempts));
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await DispatchAsync(app));

        var log = await admin.GetFromJsonAsync<Page<DeliveryDto>>("/api/v1/notifications/deliveries?status=Failed", TandemApp.ApiJson, Ct);
        var entry = Assert.Single(log!.Items);
        Assert.Equal(id, entry.Id);
        Assert.False(string.IsNullOrEmpty(entry.LastError));

        sink.Restart();
        var retry = await admin.PostAsync($"/api/v1/notifications/deliveries/{id}/retry", null, Ct);
        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(1, await DispatchAsync(app));
        Assert.Equal(NotificationStatus.Sent, (await RowAsync(app, id)).Status);
        Assert.Single(sink.Messages);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync($"/api/v1/notifications/deliveries/{id}/retry", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync($"/api/v1/notifications/deliveries/{Guid.CreateVersion7()}/retry", null, Ct)).StatusCode);
    }

    [Fact]
    public async Task PermanentRefusalsFailAtOnceAndTemporaryOnesAreRetried()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var sink = SmtpSink.Start();
        await using var hook = await HttpSink.StartAsync();
        var (app, admin) = await StartAsync(provider, runDispatcher: false, clock: clock);
        await using var _ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        await PutSettingsAsync(admin, new
        {
            emailEnabled = true,
            smtpHost = "127.0.0.1",
            smtpPort = sink.Port,
            smtpSecurity = "None",
            fromAddress = "tandem@example.com",
            chatEnabled = true,
            chatWebhookUrl = hook.Url,
        });

        sink.RejectWith = "451 4.3.0 Try again later";
        hook.FailWith = 500;
        var temporary = await EnqueueAsync(app, Email(rep) with { Channels = [NotificationChannel.Email, NotificationChannel.Chat] });
        Assert.Equal(2, await DispatchAsync(app));
        foreach (var row in temporary)
        {
            var stored = await RowAsync(app, row.Id);
            Assert.Equal(NotificationStatus.Pending, stored.Status);
            Assert.Contains(row.Channel == NotificationChannel.Email ? "451" : "500", stored.LastError, StringComparison.Ordinal);
        }

        sink.RejectWith = "550 5.7.1 Relay denied";
        hook.FailWith = 404;
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, await DispatchAsync(app));
        foreach (var row in temporary)
            Assert.Equal(NotificationStatus.Failed, (await RowAsync(app, row.Id)).Status);
        Assert.Empty(hook.Bodies);
    }

    [Fact]
    public async Task TheDedupeKeyStoresAndSendsAMessageOnce()
    {
        await using var sink = SmtpSink.Start();
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        await PutSettingsAsync(admin, SmtpSettings(sink));
        var request = Email(rep, key: "sla.breach:42:rep");

        Assert.Single(await EnqueueAsync(app, request));
        Assert.Empty(await EnqueueAsync(app, request));
        // Twice in one unit of work, then committed with the business change.
        await app.WithServiceAsync(async sp =>
        {
            var notifier = sp.GetRequiredService<Notifier>();
            Assert.Single(await notifier.EnqueueAsync(request with { DedupeKey = "sla.breach:43:rep" }, Ct));
            Assert.Empty(await notifier.EnqueueAsync(request with { DedupeKey = "sla.breach:43:rep" }, Ct));
            return await sp.GetRequiredService<TandemDb>().SaveChangesAsync(Ct);
        });
        // Concurrent producers of the same event.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => EnqueueAsync(app, request with { DedupeKey = "sla.breach:44:rep" })));

        await UntilAsync(async () => await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .AllAsync(n => n.Status == NotificationStatus.Sent)), "every message sent");
        Assert.Equal(3, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>().CountAsync()));
        await Task.Delay(300, Ct);
        Assert.Equal(3, sink.Messages.Count);
    }

    [Fact]
    public async Task TwoInstancesOverOneDatabaseSendEachMessageExactlyOnce()
    {
        await using var sink = SmtpSink.Start();
        var (first, admin) = await StartAsync(provider, settings: new Dictionary<string, string?> { ["Tandem:Notifications:BatchSize"] = "7" });
        await using var _ = first;
        var (rep, _) = await first.CreateUserAsync("rep@example.com", Roles.Sales);
        await PutSettingsAsync(admin, SmtpSettings(sink));
        await using var second = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["ConnectionStrings:Tandem"] = first.ConnectionString,
            ["Tandem:Notifications:PollSeconds"] = "0.05",
            ["Tandem:Notifications:BatchSize"] = "7",
        }, createDatabase: false);
        Assert.NotNull(second.Services); // starts its dispatcher

        const int count = 200;
        var ids = new List<Guid>();
        for (var i = 0; i < count; i += 20)
            ids.AddRange(await first.WithServiceAsync(async sp =>
            {
                var notifier = sp.GetRequiredService<Notifier>();
                var added = new List<Guid>();
                for (var j = i; j < i + 20; j++)
                    added.AddRange((await notifier.EnqueueAsync(Email(rep, subject: $"Lead {j}", key: $"bulk:{j}"), Ct)).Select(n => n.Id));
                await sp.GetRequiredService<TandemDb>().SaveChangesAsync(Ct);
                return added;
            }));
        // Help the race along: both instances also claim in tight loops.
        var racers = new[] { first, second }.Select(app => Task.Run(async () =>
        {
            for (var k = 0; k < 50; k++)
                await DispatchAsync(app);
        }, Ct)).ToArray();
        await Task.WhenAll(racers);

        await UntilAsync(async () => await first.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .CountAsync(n => n.Status == NotificationStatus.Sent)) == count, "every message sent", 60);
        await Task.Delay(300, Ct);
        var messageIds = sink.Messages.Select(m => MimeMessage.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(m.Data)), Ct).MessageId).ToList();
        Assert.Equal(count, messageIds.Count);
        Assert.Equal(ids.Select(id => $"{id:N}@example.com").Order(StringComparer.Ordinal), messageIds.Order(StringComparer.Ordinal));
        Assert.All(await first.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>().Select(n => n.Attempts).ToListAsync()), a => Assert.Equal(1, a));
    }

    [Fact]
    public async Task AnExpiredLeaseIsClaimedAgainButALiveOneIsLeftAlone()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 10, 0, 0, TimeSpan.Zero));
        await using var sink = SmtpSink.Start();
        var (app, admin) = await StartAsync(provider, runDispatcher: false, clock: clock);
        await using var _ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        await PutSettingsAsync(admin, SmtpSettings(sink));
        var id = (await EnqueueAsync(app, Email(rep))).Single().Id;
        // Another instance claimed it and died mid-send.
        var lease = clock.GetUtcNow().AddSeconds(60);
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>().Where(n => n.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(n => n.Status, NotificationStatus.Sending).SetProperty(n => n.LeaseUntil, lease)
            .SetProperty(n => n.ClaimToken, Guid.CreateVersion7()).SetProperty(n => n.Attempts, 1), Ct));

        Assert.Equal(0, await DispatchAsync(app));
        Assert.Empty(sink.Messages);
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(1, await DispatchAsync(app));
        var row = await RowAsync(app, id);
        Assert.Equal((NotificationStatus.Sent, 2), (row.Status, row.Attempts));
        Assert.Single(sink.Messages);
    }

    [Fact]
    public async Task QuietHoursHoldNonUrgentMessagesUntilTheyEndAndLetUrgentOnesThrough()
    {
        // 23:00 UTC is midnight in Paris (UTC+1 in November): inside 22:00-07:00, which ends at 06:00 UTC.
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 23, 0, 0, TimeSpan.Zero));
        await using var sink = SmtpSink.Start();
        var (app, admin) = await StartAsync(provider, runDispatcher: false, clock: clock);
        await using var _ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        await PutSettingsAsync(admin, new
        {
            emailEnabled = true,
            smtpHost = "127.0.0.1",
            smtpPort = sink.Port,
            smtpSecurity = "None",
            fromAddress = "tandem@example.com",
            quietHoursEnabled = true,
            quietHoursStart = "22:00:00",
            quietHoursEnd = "07:00:00",
            quietHoursTimeZone = "Europe/Paris",
        });
        var normal = (await EnqueueAsync(app, Email(rep, subject: "Reminder"))).Single().Id;
        var urgent = (await EnqueueAsync(app, Email(rep, subject: "SLA breached", urgent: true))).Single().Id;

        Assert.Equal(2, await DispatchAsync(app));
        Assert.Equal(NotificationStatus.Sent, (await RowAsync(app, urgent)).Status);
        var held = await RowAsync(app, normal);
        Assert.Equal((NotificationStatus.Pending, 0), (held.Status, held.Attempts));
        Assert.Equal(new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero), held.NextAttemptAt);
        Assert.Single(sink.Messages);

        clock.Advance(TimeSpan.FromHours(6.5));
        Assert.Equal(0, await DispatchAsync(app));
        clock.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(1, await DispatchAsync(app));
        Assert.Equal(NotificationStatus.Sent, (await RowAsync(app, normal)).Status);
        Assert.Equal(2, sink.Messages.Count);
    }

    [Fact]
    public async Task BadSettingsGetFieldErrorsAndChangeNothing()
    {
        var (app, admin) = await StartAsync(provider, runDispatcher: false);
        await using var _ = app;

        var response = await admin.PutAsJsonAsync("/api/v1/notifications/settings", new
        {
            emailEnabled = true,
            smtpHost = " ",
            smtpPort = 70000,
            fromAddress = "not-an-email",
            chatEnabled = true,
            chatWebhookUrl = "/services/relative",
            maxAttempts = 0,
            quietHoursTimeZone = "Mars/Olympus",
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<ProblemShape>(Ct);
        Assert.Equal(["chatWebhookUrl", "fromAddress", "maxAttempts", "quietHoursTimeZone", "smtpHost", "smtpPort"], problem!.Errors!.Keys.Order(StringComparer.Ordinal));
        Assert.Contains("between 1 and 65535", problem.Errors["smtpPort"][0], StringComparison.Ordinal);

        var ftp = await admin.PutAsJsonAsync("/api/v1/notifications/settings", new { chatEnabled = true, chatWebhookUrl = "ftp://hooks.example.com/x" }, Ct);
        Assert.Equal(["chatWebhookUrl"], (await ftp.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!.Keys);
        var noHook = await admin.PutAsJsonAsync("/api/v1/notifications/settings", new { chatEnabled = true }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, noHook.StatusCode);

        var stored = await admin.GetFromJsonAsync<NotificationSettingsDto>("/api/v1/notifications/settings", TandemApp.ApiJson, Ct);
        Assert.False(stored!.EmailEnabled);
        Assert.Null(stored.UpdatedAt);
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<NotificationSettings>().CountAsync()));
    }

    [Fact]
    public async Task ThePasswordAndWebhookUrlAreStoredEncryptedAndNeverReturned()
    {
        var (app, admin) = await StartAsync(provider, runDispatcher: false);
        await using var _ = app;
        const string password = "Sup3r-Secret-Smtp-Pass";
        const string webhook = "https://hooks.slack.com/services/T0001/B0002/SECRETTOKEN123";

        await PutSettingsAsync(admin, new
        {
            emailEnabled = true,
            smtpHost = "smtp.example.com",
            smtpPort = 587,
            smtpUsername = "tandem",
            smtpPassword = password,
            fromAddress = "tandem@example.com",
            chatEnabled = true,
            chatWebhookUrl = webhook,
        });
        var json = await admin.GetStringAsync("/api/v1/notifications/settings", Ct);
        Assert.DoesNotContain(password, json, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETTOKEN123", json, StringComparison.Ordinal);
        var dto = JsonSerializer.Deserialize<NotificationSettingsDto>(json, TandemApp.ApiJson)!;
        Assert.True(dto.PasswordSet);
        Assert.True(dto.ChatWebhookUrlSet);
        Assert.Equal("https://hooks.slack.com", dto.ChatWebhookHost);

        var row = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<NotificationSettings>().AsNoTracking().SingleAsync());
        Assert.DoesNotContain(password, row.SmtpPasswordProtected!, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRETTOKEN123", row.ChatWebhookUrlProtected!, StringComparison.Ordinal);
        Assert.True(await app.WithServiceAsync(sp => Task.FromResult(sp.GetRequiredService<NotificationAdmin>().IsProtectedValueOf(row.SmtpPasswordProtected, password))));

        // Saving without a password keeps it; clearing removes it.
        await PutSettingsAsync(admin, new { emailEnabled = true, smtpHost = "smtp.example.com", fromAddress = "tandem@example.com", chatEnabled = true });
        var kept = await admin.GetFromJsonAsync<NotificationSettingsDto>("/api/v1/notifications/settings", TandemApp.ApiJson, Ct);
        Assert.True(kept!.PasswordSet && kept.ChatWebhookUrlSet);
        var sending = await app.WithServiceAsync(sp => sp.GetRequiredService<NotificationAdmin>().LoadForSendingAsync(Ct));
        Assert.Equal(password, sending.Smtp!.Endpoint.Password);
        Assert.Equal(webhook, sending.ChatWebhook!.ToString());
        await PutSettingsAsync(admin, new { clearSmtpPassword = true });
        Assert.False((await admin.GetFromJsonAsync<NotificationSettingsDto>("/api/v1/notifications/settings", TandemApp.ApiJson, Ct))!.PasswordSet);
    }

    [Fact]
    public async Task TheSettingsPageNeverRendersTheSecretsAndTheBellShowsTheUnreadCount()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var (adminId, password) = await app.CreateUserAsync("admin@example.com", Roles.Admin, "Admin-Password-1");
        await PutSettingsAsync(admin, new
        {
            emailEnabled = true,
            smtpHost = "smtp.example.com",
            smtpPassword = "Never-Render-Me-42",
            fromAddress = "tandem@example.com",
            chatEnabled = true,
            chatWebhookUrl = "https://hooks.slack.com/services/T1/B2/NEVERRENDER",
        });
        await EnqueueAsync(app, Email(adminId) with { Channels = [NotificationChannel.InApp], Subject = "Lead <script>alert(1)</script> assigned" });
        await UntilAsync(async () => await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .AllAsync(n => n.Status == NotificationStatus.Sent)), "the in-app message");
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "admin@example.com", password);

        var page = await browser.GetAsync("/settings/notifications", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("data-testid=\"smtp-settings\"", html, StringComparison.Ordinal);
        Assert.Contains("smtp.example.com", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Never-Render-Me-42", html, StringComparison.Ordinal);
        Assert.DoesNotContain("NEVERRENDER", html, StringComparison.Ordinal);
        Assert.Contains("data-testid=\"notification-count\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>alert(1)</script>", html, StringComparison.Ordinal);

        var (_, salesPassword) = await app.CreateUserAsync("rep@example.com", Roles.Sales, "Sales-Password-1");
        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rep@example.com", salesPassword);
        var denied = await rep.GetAsync("/settings/notifications", Ct);
        Assert.NotEqual(HttpStatusCode.OK, denied.StatusCode);
        Assert.DoesNotContain("smtp.example.com", await denied.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MessagesForAChannelThatIsOffAreSkippedVisiblyAndCanBeRetriedLater()
    {
        await using var sink = SmtpSink.Start();
        var (app, admin) = await StartAsync(provider, runDispatcher: false);
        await using var _ = app;
        var (rep, _) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var id = (await EnqueueAsync(app, Email(rep))).Single().Id;

        Assert.Equal(1, await DispatchAsync(app));
        var skipped = await RowAsync(app, id);
        Assert.Equal(NotificationStatus.Skipped, skipped.Status);
        Assert.Contains("off", skipped.LastError, StringComparison.Ordinal);

        await PutSettingsAsync(admin, SmtpSettings(sink));
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/api/v1/notifications/deliveries/{id}/retry", null, Ct)).StatusCode);
        Assert.Equal(1, await DispatchAsync(app));
        Assert.Equal(NotificationStatus.Sent, (await RowAsync(app, id)).Status);
    }
}

public sealed class NotificationsOnSqlite() : NotificationsTests(DatabaseProvider.Sqlite);

public sealed class NotificationsOnPostgres() : NotificationsTests(DatabaseProvider.Postgres);
