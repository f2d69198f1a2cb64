using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Tandem.Data;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Notifications;

/// <summary>Per-user notification preferences and the daily digest: real databases, a real SMTP sink, the real dispatcher and digest.</summary>
public abstract class NotificationPreferencesTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // Monday 7 December 2026, 10:00 UTC = 11:00 in Paris: today's 08:00 digest (07:00 UTC) has passed.
    private static readonly DateTimeOffset Monday10 = new(2026, 12, 7, 10, 0, 0, TimeSpan.Zero);

    private static async Task<(TandemApp App, FakeTimeProvider Clock)> StartAsync(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(Monday10);
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Notifications:RunDigest"] = "false",
            ["Tandem:PublicBaseUrl"] = "https://tandem.example.com",
        });
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        return (app, clock);
    }

    private static async Task SmtpAsync(TandemApp app, SmtpSink sink)
    {
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin));
        var response = await admin.PutAsJsonAsync("/api/v1/notifications/settings", new
        {
            emailEnabled = true,
            smtpHost = "127.0.0.1",
            smtpPort = sink.Port,
            smtpSecurity = "None",
            fromAddress = "tandem@example.com",
            fromName = "Tandem",
        }, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
    }

    private static Task<IReadOnlyList<Notification>> NotifyAsync(TandemApp app, Guid user, string kind, string subject, string body, Guid lead) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<Notifier>().EnqueueAndSaveAsync(new NotificationRequest
        {
            Kind = kind,
            RecipientUserId = user,
            Channels = [NotificationChannel.InApp, NotificationChannel.Email],
            Subject = subject,
            Body = body,
            Link = $"/leads/{lead}",
            DedupeKey = $"{kind}:{lead}:{user}",
        }, Ct));

    private static Task<List<Notification>> RowsAsync(TandemApp app, Guid user) =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>().AsNoTracking().Where(n => n.RecipientUserId == user).ToListAsync(Ct));

    private static async Task DrainAsync(TandemApp app)
    {
        var dispatcher = app.Services.GetRequiredService<NotificationDispatcher>();
        while (await dispatcher.DispatchDueAsync(Ct) > 0)
        {
        }
    }

    [Fact]
    public async Task ADigestUserGetsNoImmediateEmailAndOneHtmlDigestADayWithTheItemsEvenWhenTheJobRunsTwice()
    {
        await using var sink = SmtpSink.Start();
        var (app, clock) = await StartAsync(provider);
        await using var _ = app;
        var (marketer, _) = await app.CreateUserAsync("owner@example.com", Roles.Marketing);
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.Where(u => u.Id == marketer)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.TimeZone, "Europe/Paris"), Ct));
        await SmtpAsync(app, sink);
        Guid leadA = Guid.CreateVersion7(), leadB = Guid.CreateVersion7(), leadC = Guid.CreateVersion7();

        // Defaults: rejections and low ratings wait for the digest, a guard decision is emailed at once.
        await NotifyAsync(app, marketer, "feedback.rejected", "Lead rejected: Léa Student (student)",
            "Campaign \"Campus ads\": Léa Student was rejected by sales as student. Comment: Still at university", leadA);
        await NotifyAsync(app, marketer, "feedback.low-rating", "Low rating: Bob <b>Tag</b> (lead 1/5)",
            "Campaign \"Campus ads\": Rita rated Bob 1/5. Comment: no budget at all", leadB);
        await NotifyAsync(app, marketer, "campaign.paused", "Campaign paused: Campus ads", "Acceptance 10 % over the last 20 verdicts.", leadC);
        await DrainAsync(app);

        var mail = Assert.Single(sink.Messages);
        Assert.Contains("Subject: Campaign paused: Campus ads", mail.Data, StringComparison.Ordinal);
        var rows = await RowsAsync(app, marketer);
        Assert.Equal(3, rows.Count(r => r.Channel == NotificationChannel.InApp && r.Status == NotificationStatus.Sent));
        Assert.Equal(2, rows.Count(r => r.Channel == NotificationChannel.Email && r.Status == NotificationStatus.Held));

        var digest = app.Services.GetRequiredService<NotificationDigest>();
        // Held since 11:00 Paris time: today's 08:00 digest has gone by, so they wait for tomorrow's.
        Assert.Equal(0, await digest.RunAsync(Ct));
        clock.Advance(TimeSpan.FromHours(20.5)); // Tuesday 06:30 UTC = 07:30 Paris
        Assert.Equal(0, await digest.RunAsync(Ct));
        clock.Advance(TimeSpan.FromHours(1)); // 08:30 Paris

        // Two instances at once, then a second round: one digest.
        var runs = await Task.WhenAll(digest.RunAsync(Ct), digest.RunAsync(Ct));
        Assert.Equal(1, runs.Sum());
        Assert.Equal(0, await digest.RunAsync(Ct));
        await DrainAsync(app);

        Assert.Equal(2, sink.Messages.Count);
        var received = sink.Messages.Last();
        Assert.Equal(["owner@example.com"], received.To);
        var mime = MimeMessage.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(received.Data)), Ct);
        Assert.Equal("Tandem daily digest, 8 Dec 2026: 2 updates", mime.Subject);
        Assert.NotNull(mime.HtmlBody);
        var html = WebUtility.HtmlDecode(mime.HtmlBody);
        Assert.Contains("Lead rejected: Léa Student (student)", html, StringComparison.Ordinal);
        Assert.Contains("Comment: Still at university", html, StringComparison.Ordinal);
        // Text from the rows is escaped, never markup.
        Assert.Contains("Bob &lt;b&gt;Tag&lt;/b&gt;", mime.HtmlBody, StringComparison.Ordinal);
        Assert.Contains($"https://tandem.example.com/leads/{leadA}", mime.HtmlBody, StringComparison.Ordinal);
        Assert.Contains($"https://tandem.example.com/leads/{leadB}", mime.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("Campaign paused", mime.TextBody, StringComparison.Ordinal);

        rows = await RowsAsync(app, marketer);
        var digestRow = Assert.Single(rows, r => r.Kind == NotificationDigest.Kind);
        Assert.Equal(NotificationStatus.Sent, digestRow.Status);
        Assert.All(rows.Where(r => r.Kind.StartsWith("feedback.", StringComparison.Ordinal) && r.Channel == NotificationChannel.Email),
            r => Assert.Equal((NotificationStatus.Digested, (Guid?)digestRow.Id), (r.Status, r.DigestId)));

        // The next day's digest carries only what came after.
        await NotifyAsync(app, marketer, "feedback.rejected", "Lead rejected: Max (bad fit)", "Comment: agency", Guid.CreateVersion7());
        Assert.Equal(0, await digest.RunAsync(Ct));
        clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(1, await digest.RunAsync(Ct));
        await DrainAsync(app);
        Assert.Equal(3, sink.Messages.Count);
        Assert.Contains("1 update", sink.Messages.Last().Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreferencesAreReadAndChangedByTheirOwnerRefusingUnknownValuesAndDecideTheChannels()
    {
        var (app, _) = await StartAsync(provider);
        await using var _app = app;
        var (rep, password) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var browser = app.CreateBrowserClient();
        await TandemApp.SignInAsync(browser, "rep@example.com", password);

        var defaults = await browser.GetFromJsonAsync<NotificationPreferencesDto>("/api/v1/me/notification-preferences", TandemApp.ApiJson, Ct);
        Assert.Equal(EmailDelivery.Digest, defaults!.Categories.Single(c => c.Category == NotificationCategory.LeadFeedback).Email);
        Assert.Equal(EmailDelivery.Immediate, defaults.Categories.Single(c => c.Category == NotificationCategory.Sla).Email);
        Assert.Equal(8, defaults.DigestHour);

        var saved = await browser.PutAsJsonAsync("/api/v1/me/notification-preferences", new
        {
            categories = new object[] { new { category = "Sla", email = "Off" }, new { category = "assignments", email = "Digest", inApp = false } },
            digestHour = 7,
        }, Ct);
        Assert.True(saved.StatusCode == HttpStatusCode.OK, await saved.Content.ReadAsStringAsync(Ct));

        // Numeric enum values, unknown names, bad hours and duplicates: field errors, nothing written.
        foreach (var (body, field) in new (object Body, string Field)[]
        {
            (new { categories = new object[] { new { category = "Sla", email = 1 } } }, "categories[0].email"),
            (new { categories = new object[] { new { category = 3, email = "Off" } } }, "categories[0].category"),
            (new { categories = new object[] { new { category = "Everything", email = "Off" } } }, "categories[0].category"),
            (new { categories = new object[] { new { category = "Sla", email = "Weekly" } } }, "categories[0].email"),
            (new { categories = new object[] { new { category = "Sla" }, new { category = "Sla" } } }, "categories[1].category"),
            (new { digestHour = 24 }, "digestHour"),
        })
        {
            var refused = await browser.PutAsJsonAsync("/api/v1/me/notification-preferences", body, Ct);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{field}: {refused.StatusCode} {await refused.Content.ReadAsStringAsync(Ct)}");
            var problem = await refused.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ValidationProblemDetails>(Ct);
            Assert.True(problem!.Errors.ContainsKey(field), $"{field} expected in {string.Join(", ", problem.Errors.Keys)}");
        }
        var now = await browser.GetFromJsonAsync<NotificationPreferencesDto>("/api/v1/me/notification-preferences", TandemApp.ApiJson, Ct);
        Assert.Equal(7, now!.DigestHour);
        Assert.Equal(new CategoryChoice(NotificationCategory.Sla, true, EmailDelivery.Off, false), now.Categories.Single(c => c.Category == NotificationCategory.Sla));
        Assert.Equal(new CategoryChoice(NotificationCategory.Assignments, false, EmailDelivery.Digest, false), now.Categories.Single(c => c.Category == NotificationCategory.Assignments));

        // An API key has no person behind it, so no preferences.
        var key = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        Assert.Equal(HttpStatusCode.BadRequest, (await key.GetAsync("/api/v1/me/notification-preferences", Ct)).StatusCode);

        // The choices decide the channels: SLA in-app only, assignments as a held email only, unknown kinds untouched.
        Guid breach = Guid.CreateVersion7(), assigned = Guid.CreateVersion7(), other = Guid.CreateVersion7();
        var sla = await NotifyAsync(app, rep, "handoff.breach", "SLA breached: Claire", "", breach);
        Assert.Equal([NotificationChannel.InApp], sla.Select(r => r.Channel));
        var assignment = await NotifyAsync(app, rep, "handoff.assigned", "New MQL: Claire", "", assigned);
        Assert.Equal([(NotificationChannel.Email, NotificationStatus.Held)], assignment.Select(r => (r.Channel, r.Status)));
        var untuned = await NotifyAsync(app, rep, "lead.assigned", "Something else", "", other);
        Assert.Equal(2, untuned.Count);
    }
}

public sealed class NotificationPreferencesOnSqlite() : NotificationPreferencesTests(DatabaseProvider.Sqlite);

public sealed class NotificationPreferencesOnPostgres() : NotificationPreferencesTests(DatabaseProvider.Postgres);
