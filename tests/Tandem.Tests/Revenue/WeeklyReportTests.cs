using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Revenue;

/// <summary>The weekly report's schedule as pure arithmetic: the report day and hour in the workspace time zone, across DST changes.</summary>
public sealed class WeeklyReportScheduleTests
{
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    private static DateTimeOffset Utc(int y, int m, int d, int h, int min = 0, int s = 0) => new(y, m, d, h, min, s, TimeSpan.Zero);

    [Fact]
    public void MondayEightIsLocalTimeOnBothSidesOfTheSpringChange()
    {
        // Paris moves to summer time on Sunday 29 March 2026: Monday 23 March 08:00 is 07:00 UTC, Monday 30 March 08:00 is 06:00 UTC.
        Assert.Equal(Utc(2026, 3, 23, 7), WeeklyReport.LastDue(Utc(2026, 3, 30, 5, 59, 59), DayOfWeek.Monday, 8, Paris));
        Assert.Equal(Utc(2026, 3, 30, 6), WeeklyReport.LastDue(Utc(2026, 3, 30, 6), DayOfWeek.Monday, 8, Paris));
        Assert.Equal(new DateOnly(2026, 3, 23), WeeklyReport.WeekCoveredBy(Utc(2026, 3, 30, 6), Paris));
        // Autumn: Monday 26 October 08:00 is 07:00 UTC again.
        Assert.Equal(Utc(2026, 10, 19, 6), WeeklyReport.LastDue(Utc(2026, 10, 26, 6, 59, 59), DayOfWeek.Monday, 8, Paris));
        Assert.Equal(Utc(2026, 10, 26, 7), WeeklyReport.LastDue(Utc(2026, 10, 26, 7), DayOfWeek.Monday, 8, Paris));
    }

    [Fact]
    public void AnHourSkippedOrRepeatedByDstIsTheFirstValidInstant()
    {
        // Sunday 29 March 02:00 does not exist in Paris: 03:00 summer time. Sunday 25 October 02:00 happens twice: the first one.
        Assert.Equal(Utc(2026, 3, 29, 1), WeeklyReport.At(new DateOnly(2026, 3, 29), 2, Paris));
        Assert.Equal(Utc(2026, 10, 25, 0), WeeklyReport.At(new DateOnly(2026, 10, 25), 2, Paris));
        Assert.Equal(Utc(2026, 3, 29, 1), WeeklyReport.LastDue(Utc(2026, 3, 29, 1), DayOfWeek.Sunday, 2, Paris));
        Assert.Equal(Utc(2026, 3, 22, 1), WeeklyReport.LastDue(Utc(2026, 3, 29, 0, 59), DayOfWeek.Sunday, 2, Paris));
    }

    [Fact]
    public void AnyDayAndHourInAnyZone()
    {
        // Wednesday 17:00 in New York: EDT (UTC−4) on 28 October, EST (UTC−5) on 4 November.
        Assert.Equal(Utc(2026, 10, 28, 21), WeeklyReport.LastDue(Utc(2026, 11, 4, 21, 59), DayOfWeek.Wednesday, 17, NewYork));
        Assert.Equal(Utc(2026, 11, 4, 22), WeeklyReport.LastDue(Utc(2026, 11, 4, 22), DayOfWeek.Wednesday, 17, NewYork));
        Assert.Equal(new DateOnly(2026, 10, 26), WeeklyReport.WeekCoveredBy(Utc(2026, 11, 4, 22), NewYork));
    }
}

/// <summary>
/// The weekly smarketing report on real databases: its figures, the schedule driven by the job's clock (due at Monday 08:00 Paris time the
/// day after the autumn DST change, not a second before), exactly one send per week with the job run twice or by two instances at once, and
/// the HTML email through the outbox and MailKit to a real SMTP sink, with every user value encoded.
/// </summary>
public abstract class WeeklyReportTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");

    private static DateTimeOffset Local(int m, int d, int h, int min = 0) =>
        new(TimeZoneInfo.ConvertTimeToUtc(new DateTime(2026, m, d, h, min, 0, DateTimeKind.Unspecified), Paris), TimeSpan.Zero);

    private static Task<DateOnly?> RunOnceAsync(TandemApp app) => app.WithServiceAsync(sp => sp.GetRequiredService<WeeklyReportSender>().RunOnceAsync(Ct));

    private static Task<List<Notification>> ReportRowsAsync(TandemApp app) => app.WithServiceAsync(sp =>
        sp.GetRequiredService<TandemDb>().Set<Notification>().AsNoTracking().Where(n => n.Kind == WeeklyReport.Kind).ToListAsync(Ct));

    private static Task SeedAsync(TandemApp app, Guid rep) => app.WithServiceAsync(async sp =>
    {
        var db = sp.GetRequiredService<TandemDb>();
        db.RevenueSettings.Add(new RevenueSettings { TimeZone = "Europe/Paris" });
        db.RevenueGoals.Add(new RevenueGoal { Period = GoalPeriod.Quarter, StartsOn = new DateOnly(2026, 10, 1), Amount = 92_000m, CreatedAt = Local(10, 1, 9) });
        var flagged = new Campaign { Name = "<b>Spring & Co</b>", Channel = Channel.Email, Status = CampaignStatus.Flagged, CreatedAt = Local(9, 1, 9) };
        var paused = new Campaign { Name = "Paused fair", Channel = Channel.Events, Status = CampaignStatus.Paused, CreatedAt = Local(9, 1, 9) };
        var webinar = new Campaign { Name = "Webinar Q4", Channel = Channel.OrganicSocial, Status = CampaignStatus.Active, CreatedAt = Local(9, 1, 9) };
        db.Campaigns.AddRange(flagged, paused, webinar);
        var leads = Enumerable.Range(0, 5).Select(i => new Lead { Email = $"w{i}@example.com", CreatedAt = Local(10, 1, 9), UpdatedAt = Local(10, 1, 9), StageChangedAt = Local(10, 1, 9) }).ToList();
        leads[0].FirstName = "Zoe";
        leads[0].LastName = "<i>Durand</i>";
        db.Leads.AddRange(leads);
        db.StageTransitions.AddRange(
            new StageTransition { LeadId = leads[0].Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = Local(10, 20, 10), ByRule = "scoring" },
            new StageTransition { LeadId = leads[0].Id, From = LifecycleStage.Mql, To = LifecycleStage.Recycled, At = Local(10, 21, 10), ByRule = DispositionRules.Reject("NoBudget") },
            new StageTransition { LeadId = leads[1].Id, From = LifecycleStage.Mql, To = LifecycleStage.Recycled, At = Local(10, 22, 10), ByRule = DispositionRules.Reject("NoBudget") },
            new StageTransition { LeadId = leads[2].Id, From = LifecycleStage.Mql, To = LifecycleStage.Disqualified, At = Local(10, 23, 10), ByRule = DispositionRules.Reject("BadFit") },
            new StageTransition { LeadId = leads[3].Id, From = LifecycleStage.Mql, To = LifecycleStage.Recycled, At = Local(10, 25, 2, 30), ByRule = DispositionRules.Reject("Weird") },
            // The week before: not in the report.
            new StageTransition { LeadId = leads[3].Id, From = LifecycleStage.Mql, To = LifecycleStage.Recycled, At = Local(10, 18, 23, 59), ByRule = DispositionRules.Reject("Spam") });
        db.Assignments.Add(new Assignment
        {
            LeadId = leads[0].Id,
            RepId = rep,
            Tier = SlaTier.Hot,
            State = AssignmentState.Breached,
            MqlAt = Local(10, 20, 10),
            AssignedAt = Local(10, 20, 10, 1),
            FirstTouchDueAt = Local(10, 20, 11, 1),
            BreachedAt = Local(10, 20, 11, 1),
            Reason = "test",
        });
        var account = new Account { Name = "Acme & Sons", CreatedAt = Local(10, 1, 9) };
        db.Accounts.Add(account);
        leads[4].AccountId = account.Id;
        db.Activities.AddRange(
            new Activity { LeadId = leads[4].Id, Type = ActivityType.PageView, OccurredAt = Local(10, 1, 9), CampaignId = webinar.Id, Channel = webinar.Channel, CreatedAt = Local(10, 1, 9) },
            new Activity { LeadId = leads[4].Id, Type = ActivityType.FormSubmission, OccurredAt = Local(10, 5, 9), CampaignId = flagged.Id, Channel = flagged.Channel, CreatedAt = Local(10, 5, 9) });
        db.Deals.Add(new Deal
        {
            Name = "Deal <Acme>",
            LeadId = leads[4].Id,
            AccountId = account.Id,
            Amount = 12_000m,
            Currency = "EUR",
            Stage = DealStage.Won,
            Status = DealStatus.Won,
            CreatedAt = Local(10, 10, 9),
            UpdatedAt = Local(10, 24, 9),
            StageChangedAt = Local(10, 24, 9),
            ClosedAt = Local(10, 24, 9),
        });
        await db.SaveChangesAsync(Ct);
        return 0;
    });

    [Fact]
    public async Task SentOnceAtMondayEightLocalTimeAsAnHtmlEmailToBothTeamsWithTheWeeksFigures()
    {
        await using var sink = SmtpSink.Start();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 10, 26, 6, 59, 59, TimeSpan.Zero)); // Monday 07:59:59 in Paris (CET)
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:RunMonitor"] = "false",
            ["Tandem:Webhooks:RunDispatcher"] = "false",
            ["Tandem:WeeklyReport:RunJob"] = "false",
            ["Tandem:PublicBaseUrl"] = "https://tandem.example.com",
        });
        await using var _ = app;
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Read));
        var marketer = (await app.CreateUserAsync("marketer@example.com", Roles.Marketing)).Item1;
        var rep = (await app.CreateUserAsync("rep@example.com", Roles.Sales)).Item1;
        var manager = (await app.CreateUserAsync("manager@example.com", Roles.SalesManager)).Item1;
        var gone = (await app.CreateUserAsync("gone@example.com", Roles.Sales)).Item1;
        await app.CreateUserAsync("admin2@example.com", Roles.Admin);
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.Where(u => u.Id == gone).ExecuteUpdateAsync(s => s.SetProperty(u => u.IsActive, false), Ct));
        // The manager reads Tandem in French: their report comes in French, the others' in English.
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Users.Where(u => u.Id == manager).ExecuteUpdateAsync(s => s.SetProperty(u => u.Language, "fr"), Ct));
        await SeedAsync(app, rep);
        var put = await admin.PutAsJsonAsync("/api/v1/notifications/settings", new
        {
            emailEnabled = true,
            smtpHost = "127.0.0.1",
            smtpPort = sink.Port,
            smtpSecurity = "None",
            fromAddress = "tandem@example.com",
            fromName = "Tandem",
        }, Ct);
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync(Ct));

        // The report's figures for the week of 19 October (the week the clocks went back).
        var data = await admin.GetFromJsonAsync<WeeklyReportData>("/api/v1/reports/weekly?week=2026-10-21", JsonOptions, Ct);
        Assert.NotNull(data);
        Assert.Equal((new DateOnly(2026, 10, 19), new DateOnly(2026, 10, 25)), (data.WeekOf, data.To));
        Assert.Equal((1, 1, 12_000m, 7_000m, 1.7143m), (data.Mqls, data.WonDeals, data.WonRevenue, data.RevenueGoal!.Value, data.GoalAttainment!.Value));
        Assert.Equal([("<b>Spring & Co</b>", "Flagged"), ("Paused fair", "Paused")], data.FlaggedCampaigns.Select(c => (c.Name, c.StatusLabel)));
        Assert.Equal([("No budget", 2), ("Bad fit", 1), ("Other", 1)], data.RejectionReasons.Select(r => (r.Label, r.Count)));
        var breach = Assert.Single(data.Breaches);
        Assert.Equal(("Zoe <i>Durand</i>", "Hot"), (breach.Lead, breach.TierLabel));
        var win = Assert.Single(data.Wins);
        Assert.Equal(("Deal <Acme>", "Acme & Sons", 12_000m), (win.Name, win.Account, win.Converted!.Value));
        Assert.Equal([("<b>Spring & Co</b>", 6_000m), ("Webinar Q4", 6_000m)], win.Campaigns.Select(c => (c.Name, c.Credit)).OrderBy(c => c.Item2).ThenBy(c => c.Name, StringComparer.Ordinal));
        Assert.Equal(6, data.SlaLines.Count);

        // A second before Monday 08:00 local: nothing (the first pass only sets the baseline).
        Assert.Null(await RunOnceAsync(app));
        Assert.Null(await RunOnceAsync(app));
        Assert.Empty(await ReportRowsAsync(app));
        // At 08:00: sent for last week, to marketing and both sales roles (active only, not admins); running again sends nothing.
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(new DateOnly(2026, 10, 19), await RunOnceAsync(app));
        Assert.Null(await RunOnceAsync(app));
        var rows = await ReportRowsAsync(app);
        Assert.Equal(6, rows.Count);
        Assert.Equal(new[] { marketer, rep, manager }.Order(), rows.Where(r => r.Channel == NotificationChannel.Email).Select(r => r.RecipientUserId!.Value).Order());
        Assert.All(rows, r => Assert.Equal(r.RecipientUserId == manager ? "Semaine smarketing du 19/10/2026 au 25/10/2026" : "Smarketing week 10/19/2026 – 10/25/2026", r.Subject));
        var french = rows.First(r => r.RecipientUserId == manager && r.Channel == NotificationChannel.Email).HtmlBody!;
        Assert.Contains("<td>Nouveaux MQL</td><td class=\"num\">1</td>", french, StringComparison.Ordinal);
        Assert.Contains("12 000 €", french.Replace('\u202F', ' ').Replace('\u00A0', ' '), StringComparison.Ordinal);
        Assert.DoesNotContain("New MQLs", french, StringComparison.Ordinal);
        Assert.Equal(new DateTimeOffset(2026, 10, 26, 7, 0, 0, TimeSpan.Zero),
            (await app.WithServiceAsync(sp => RevenueSettingsStore.GetAsync(sp.GetRequiredService<TandemDb>(), Ct))).WeeklyReportLastSentFor);

        // Through the outbox and MailKit to the SMTP server: an HTML email with a text alternative, user values encoded.
        for (var pass = 0; pass < 5 && sink.Messages.Count < 3; pass++)
            await app.Services.GetRequiredService<NotificationDispatcher>().DispatchDueAsync(Ct);
        Assert.Equal(3, sink.Messages.Count);
        var mimes = sink.Messages.Select(m => MimeMessage.Load(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(m.Data)), Ct)).ToList();
        Assert.Single(mimes, m => m.Subject == "Semaine smarketing du 19/10/2026 au 25/10/2026");
        var mime = mimes.First(m => m.Subject == "Smarketing week 10/19/2026 – 10/25/2026");
        var html = mime.HtmlBody;
        Assert.NotNull(html);
        Assert.NotNull(mime.TextBody);
        Assert.Contains("<td>New MQLs</td><td class=\"num\">1</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>Won revenue</td><td class=\"num\">€12,000</td>", html, StringComparison.Ordinal);
        Assert.Contains("<td>Revenue goal for the week</td><td class=\"num\">€7,000</td>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;Spring &amp; Co&lt;/b&gt; — Flagged", html, StringComparison.Ordinal);
        Assert.Contains("<td>No budget</td><td class=\"num\">2</td>", html, StringComparison.Ordinal);
        Assert.Contains("Zoe &lt;i&gt;Durand&lt;/i&gt;", html, StringComparison.Ordinal);
        Assert.Contains("Deal &lt;Acme&gt;", html, StringComparison.Ordinal);
        Assert.Contains("Acme &amp; Sons", html, StringComparison.Ordinal);
        Assert.Contains("Webinar Q4 (€6,000)", html, StringComparison.Ordinal);
        Assert.Contains("https://tandem.example.com/reports/weekly?week=2026-10-19", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>Spring", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<i>Durand", html, StringComparison.Ordinal);
        Assert.DoesNotContain("NoBudget", html, StringComparison.Ordinal);

        // Next Monday, a second early: nothing. At 08:00, two instances at once: one sends, the other finds it sent.
        clock.SetUtcNow(new DateTimeOffset(2026, 11, 2, 6, 59, 59, TimeSpan.Zero));
        Assert.Null(await RunOnceAsync(app));
        clock.Advance(TimeSpan.FromSeconds(1));
        var results = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            try
            {
                return await RunOnceAsync(app);
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                return null; // a failed pass is retried by the next one, which finds the week sent
            }
        }));
        Assert.Single(results, r => r is not null);
        Assert.Null(await RunOnceAsync(app));
        Assert.Equal(6, (await ReportRowsAsync(app)).Count(r => r.DedupeKey.StartsWith(WeeklyReport.Kind + ":2026-10-26:", StringComparison.Ordinal)));

        // Disabled: not sent even when due.
        await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().RevenueSettings.ExecuteUpdateAsync(s => s.SetProperty(x => x.WeeklyReportEnabled, false), Ct));
        clock.SetUtcNow(new DateTimeOffset(2026, 11, 9, 7, 0, 0, TimeSpan.Zero));
        Assert.Null(await RunOnceAsync(app));
        Assert.Equal(12, (await ReportRowsAsync(app)).Count);
    }
}

public sealed class WeeklyReportOnSqlite() : WeeklyReportTests(DatabaseProvider.Sqlite);

public sealed class WeeklyReportOnPostgres() : WeeklyReportTests(DatabaseProvider.Postgres);
