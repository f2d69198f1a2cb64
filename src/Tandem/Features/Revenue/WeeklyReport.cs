using System.Globalization;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;

namespace Tandem.Features.Revenue;

public sealed record WeeklyCampaign(Guid Id, string Name, CampaignStatus Status, string StatusLabel);

public sealed record WeeklyReason(string Reason, string Label, int Count);

public sealed record WeeklyBreach(Guid LeadId, string Lead, string? Rep, SlaTier Tier, string TierLabel, DateTimeOffset DueAt, DateTimeOffset BreachedAt);

public sealed record WeeklyCredit(string Key, string Name, decimal Credit);

/// <summary>A deal won in the week, its amount in the reporting currency (null when its currency has no rate), and the campaigns credited for it.</summary>
public sealed record WeeklyWin(Guid DealId, string Name, string? Account, decimal Amount, string Currency, decimal? Converted, DateTimeOffset ClosedAt,
    IReadOnlyList<WeeklyCredit> Campaigns);

/// <summary>
/// The weekly smarketing report (decision 017b): the week (Monday to Sunday, workspace time zone) against the goal and the SLA, campaigns flagged
/// or paused now, the top rejection reasons of the week, the leads whose first-touch SLA was breached in the week, and the wins with the
/// campaigns credited for them (linear model).
/// </summary>
public sealed record WeeklyReportData(DateOnly WeekOf, DateOnly To, string Currency, string AttributionModel, int NewLeads, int Mqls, int Sqls,
    int Opportunities, int WonDeals, decimal WonRevenue, decimal? RevenueGoal, decimal? GoalAttainment, SlaReportResult Sla,
    IReadOnlyList<SlaStatementLine> SlaLines, IReadOnlyList<WeeklyCampaign> FlaggedCampaigns, IReadOnlyList<WeeklyReason> RejectionReasons,
    IReadOnlyList<WeeklyBreach> Breaches, IReadOnlyList<WeeklyWin> Wins);

public sealed class WeeklyReportOptions
{
    public bool RunJob { get; set; } = true;
    public double PollSeconds { get; set; } = 60;
}

public static class WeeklyReport
{
    public const string Kind = "report.weekly";
    public const int TopReasons = 5;
    public const int MaxListed = 50;

    public static IServiceCollection AddWeeklyReport(this IServiceCollection services, IConfiguration config)
    {
        services.Configure<WeeklyReportOptions>(config.GetSection("Tandem:WeeklyReport"));
        services.AddScoped<WeeklyReportSender>();
        services.AddHostedService<WeeklyReportJob>();
        return services;
    }

    /// <summary>
    /// The instant of a local day and hour in the zone: a time skipped by a DST change moves to the first valid instant after it; a repeated
    /// time takes its first occurrence.
    /// </summary>
    public static DateTimeOffset At(DateOnly day, int hour, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(new TimeOnly(hour, 0), DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
            local = local.AddMinutes(15);
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }

    /// <summary>The latest scheduled send at or before <paramref name="now"/> (the report day at the report hour, local time).</summary>
    public static DateTimeOffset LastDue(DateTimeOffset now, DayOfWeek day, int hour, TimeZoneInfo zone)
    {
        var date = ReportPeriod.LocalDateOf(now, zone);
        date = date.AddDays(-(((int)date.DayOfWeek - (int)day + 7) % 7));
        var due = At(date, hour, zone);
        return due <= now ? due : At(date.AddDays(-7), hour, zone);
    }

    /// <summary>The week a send covers: the last full week (Monday to Sunday) before the send's local date.</summary>
    public static DateOnly WeekCoveredBy(DateTimeOffset due, TimeZoneInfo zone) => RevenueDashboard.WeekOf(ReportPeriod.LocalDateOf(due, zone)).AddDays(-7);

    public static async Task<WeeklyReportData> ComputeAsync(TandemDb db, DateOnly weekOf, DateTimeOffset now, Func<string, string> label, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var zone = ReportPeriod.FindZone(settings.TimeZone);
        var converter = await CurrencyConverter.LoadAsync(db, settings.ReportingCurrency, ct);
        var period = new ReportPeriod(weekOf, weekOf.AddDays(6), zone);
        var (start, end) = (period.Start, period.End);
        var kpis = await Kpis.ComputeAsync(db, period, new KpiFilter(), Revenue.AttributionModel.Linear, label, ct);
        var sla = await SlaReport.ComputeAsync(db, period, now, ct);

        var flagged = (await db.Campaigns.AsNoTracking().Where(c => c.Status == CampaignStatus.Flagged || c.Status == CampaignStatus.Paused)
                .Select(c => new { c.Id, c.Name, c.Status }).ToListAsync(ct))
            .OrderBy(c => c.Status).ThenBy(c => c.Name, StringComparer.CurrentCulture).Take(MaxListed)
            .Select(c => new WeeklyCampaign(c.Id, c.Name, c.Status, label($"CampaignStatus.{c.Status}"))).ToList();

        var rules = await db.StageTransitions.AsNoTracking().Where(t => t.At >= start && t.At < end && t.ByRule!.StartsWith(DispositionRules.RejectPrefix))
            .Select(t => t.ByRule).ToListAsync(ct);
        var reasons = rules.Select(r => DispositionRules.RejectReasonOf(r) is { } code && Enum.TryParse<RejectReason>(code, out var known) && Enum.IsDefined(known)
                ? known : RejectReason.Other)
            .GroupBy(r => r).Select(g => new WeeklyReason(g.Key.ToString(), label($"Reject.{g.Key}"), g.Count()))
            .OrderByDescending(r => r.Count).ThenBy(r => r.Label, StringComparer.CurrentCulture).Take(TopReasons).ToList();

        var breaches = (await (from a in db.Assignments.AsNoTracking()
                               where a.BreachedAt >= start && a.BreachedAt < end
                               join l in db.Leads.AsNoTracking() on a.LeadId equals l.Id
                               join u in db.Users.AsNoTracking() on a.RepId equals u.Id into reps
                               from u in reps.DefaultIfEmpty()
                               select new { a.LeadId, l.FirstName, l.LastName, l.Email, l.Phone, Rep = u == null ? null : u.DisplayName, a.Tier, a.FirstTouchDueAt, a.BreachedAt })
                .ToListAsync(ct))
            .OrderBy(b => b.BreachedAt).Take(MaxListed)
            .Select(b => new WeeklyBreach(b.LeadId, LeadName(b.FirstName, b.LastName, b.Email, b.Phone, label), b.Rep, b.Tier, label($"Sla.Tier.{b.Tier}"),
                b.FirstTouchDueAt ?? b.BreachedAt!.Value, b.BreachedAt!.Value)).ToList();

        var wonRows = await (from d in db.Deals.AsNoTracking()
                             where d.Status == DealStatus.Won && d.ClosedAt >= start && d.ClosedAt < end
                             join x in db.Accounts.AsNoTracking() on d.AccountId equals x.Id into accounts
                             from x in accounts.DefaultIfEmpty()
                             select new { d.Id, d.Name, Account = x == null ? null : x.Name, d.Amount, d.Currency, d.ClosedAt }).ToListAsync(ct);
        var (conversions, touches, _) = await AttributionReport.LoadAsync(db, ConversionKind.Won, period, converter, ct);
        var byDeal = conversions.ToDictionary(c => c.Id);
        var campaignIds = touches.SelectMany(g => g).Where(t => t.CampaignId is not null).Select(t => t.CampaignId!.Value).Distinct().ToList();
        var names = await db.Campaigns.AsNoTracking().Where(c => campaignIds.Contains(c.Id)).ToDictionaryAsync(c => c.Id.ToString(), c => c.Name, ct);
        names[AttributionReport.NoneKey] = label("Attribution.None");
        names[AttributionReport.UnknownKey] = label("Attribution.NoCampaign");
        var wins = wonRows.OrderBy(w => w.ClosedAt).Take(MaxListed).Select(w =>
        {
            decimal? converted = byDeal.TryGetValue(w.Id, out var c) ? c.Value : null;
            var credits = c is null ? [] : AttributionReport.Credit(Revenue.AttributionModel.Linear, ConversionKind.Won, AttributionBy.Campaign, [c], touches)
                .Select(r => new WeeklyCredit(r.Key, names.GetValueOrDefault(r.Key, label("Attribution.NoCampaign")), r.Value.Credit))
                .OrderByDescending(r => r.Credit).ThenBy(r => r.Name, StringComparer.CurrentCulture).ToList();
            return new WeeklyWin(w.Id, w.Name, w.Account, w.Amount, w.Currency, converted, w.ClosedAt!.Value, credits);
        }).ToList();

        return new WeeklyReportData(weekOf, period.To, converter.ReportingCurrency, Attribution.NameOf(Revenue.AttributionModel.Linear), kpis.NewLeads, kpis.Mqls,
            kpis.Sqls, kpis.Opportunities, kpis.WonDeals, kpis.WonRevenue, kpis.RevenueGoal, kpis.GoalAttainment, sla, SlaReport.Lines(sla), flagged,
            reasons, breaches, wins);
    }

    private static string LeadName(string? first, string? last, string? email, string? phone, Func<string, string> label)
    {
        var name = $"{first} {last}".Trim();
        return name.Length > 0 ? name : email ?? phone ?? label("Weekly.UnnamedLead");
    }

    /// <summary>The report as an HTML email body: every user value (names, campaigns, accounts) HTML-encoded.</summary>
    public static string Html(WeeklyReportData r, CultureInfo culture, Func<string, string> label, string? baseUrl)
    {
        string E(string? v) => SlaExport.E(v);
        string Money(decimal v) => RevenueDashboard.Format(v, r.Currency, culture);
        var sb = new StringBuilder();
        var title = string.Format(culture, label("Weekly.Subject"), r.WeekOf.ToString("d", culture), r.To.ToString("d", culture));
        sb.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(E(title)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;color:#222}table{border-collapse:collapse;margin:.5rem 0 1rem}")
            .Append("th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}td.num{text-align:right}.Met{color:#1b5e20}.Missed{color:#b71c1c}")
            .Append("</style></head><body>");
        sb.Append("<h1>").Append(E(title)).Append("</h1>");

        sb.Append("<h2>").Append(E(label("Weekly.Goal"))).Append("</h2><table><tbody>");
        Row(label("Dashboard.NewLeads"), r.NewLeads.ToString("N0", culture));
        Row(label("Dashboard.NewMqls"), r.Mqls.ToString("N0", culture));
        Row(label("Dash.Sqls"), r.Sqls.ToString("N0", culture));
        Row(label("Weekly.Opportunities"), r.Opportunities.ToString("N0", culture));
        Row(label("Weekly.WonDeals"), r.WonDeals.ToString("N0", culture));
        Row(label("Dashboard.WonRevenue"), Money(r.WonRevenue));
        Row(label("Weekly.GoalForWeek"), r.RevenueGoal is { } g ? Money(g) : "–");
        Row(label("Weekly.Attainment"), r.GoalAttainment?.ToString("P1", culture) ?? "–");
        sb.Append("</tbody></table>");

        sb.Append("<h2>").Append(E(label("Sla.Title"))).Append("</h2>");
        SlaExport.AppendLines(sb, r.SlaLines, culture, label);

        sb.Append("<h2>").Append(E(label("Weekly.Flagged"))).Append("</h2>");
        if (r.FlaggedCampaigns.Count == 0)
            sb.Append("<p>").Append(E(label("Weekly.None"))).Append("</p>");
        else
        {
            sb.Append("<ul>");
            foreach (var c in r.FlaggedCampaigns)
                sb.Append("<li>").Append(E(c.Name)).Append(" — ").Append(E(c.StatusLabel)).Append("</li>");
            sb.Append("</ul>");
        }

        sb.Append("<h2>").Append(E(label("Weekly.Reasons"))).Append("</h2>");
        if (r.RejectionReasons.Count == 0)
            sb.Append("<p>").Append(E(label("Weekly.None"))).Append("</p>");
        else
        {
            sb.Append("<table><tbody>");
            foreach (var x in r.RejectionReasons)
                Row(x.Label, x.Count.ToString("N0", culture));
            sb.Append("</tbody></table>");
        }

        sb.Append("<h2>").Append(E(label("Weekly.Breaches"))).Append("</h2>");
        if (r.Breaches.Count == 0)
            sb.Append("<p>").Append(E(label("Weekly.None"))).Append("</p>");
        else
        {
            sb.Append("<table><thead><tr><th>").Append(E(label("Weekly.Lead"))).Append("</th><th>").Append(E(label("Weekly.Rep"))).Append("</th><th>")
                .Append(E(label("Weekly.Tier"))).Append("</th></tr></thead><tbody>");
            foreach (var b in r.Breaches)
            {
                sb.Append("<tr><td>").Append(Link($"/leads/{b.LeadId}", b.Lead)).Append("</td><td>").Append(E(b.Rep ?? label("Weekly.Queue")))
                    .Append("</td><td>").Append(E(b.TierLabel)).Append("</td></tr>");
            }
            sb.Append("</tbody></table>");
        }

        sb.Append("<h2>").Append(E(label("Weekly.Wins"))).Append("</h2>");
        if (r.Wins.Count == 0)
            sb.Append("<p>").Append(E(label("Weekly.None"))).Append("</p>");
        else
        {
            sb.Append("<table><thead><tr><th>").Append(E(label("Weekly.Deal"))).Append("</th><th>").Append(E(label("Weekly.Account"))).Append("</th><th>")
                .Append(E(label("Weekly.Amount"))).Append("</th><th>").Append(E(label("Weekly.EarnedBy"))).Append("</th></tr></thead><tbody>");
            foreach (var w in r.Wins)
            {
                sb.Append("<tr><td>").Append(Link($"/opportunities/{w.DealId}", w.Name)).Append("</td><td>").Append(E(w.Account ?? "–"))
                    .Append("</td><td class=\"num\">").Append(E(w.Converted is { } v ? Money(v) : $"{w.Amount.ToString("N2", culture)} {w.Currency}"))
                    .Append("</td><td>").Append(E(string.Join(", ", w.Campaigns.Select(c => $"{c.Name} ({Money(c.Credit)})")))).Append("</td></tr>");
            }
            sb.Append("</tbody></table>");
        }
        sb.Append("<p>").Append(Link($"/reports/weekly?week={r.WeekOf:yyyy-MM-dd}", label("Weekly.OpenInTandem"))).Append("</p>");
        sb.Append("</body></html>");
        return sb.ToString();

        void Row(string name, string value) => sb.Append("<tr><td>").Append(E(name)).Append("</td><td class=\"num\">").Append(E(value)).Append("</td></tr>");

        string Link(string path, string text) =>
            NotificationRules.AbsoluteLink(path, baseUrl) is { } url ? $"<a href=\"{E(url)}\">{E(text)}</a>" : E(text);
    }

    /// <summary>The plain-text alternative of the email (figures only, a link to the page).</summary>
    public static string Text(WeeklyReportData r, CultureInfo culture, Func<string, string> label)
    {
        string Money(decimal v) => RevenueDashboard.Format(v, r.Currency, culture);
        var sb = new StringBuilder();
        sb.AppendLine(string.Format(culture, label("Weekly.Subject"), r.WeekOf.ToString("d", culture), r.To.ToString("d", culture)));
        sb.AppendLine($"{label("Dashboard.NewMqls")}: {r.Mqls.ToString("N0", culture)}");
        sb.AppendLine($"{label("Dashboard.WonRevenue")}: {Money(r.WonRevenue)}");
        foreach (var l in r.SlaLines)
            sb.AppendLine($"{label($"Sla.Side.{l.Side}")} · {label($"Sla.Line.{l.Line}")}: {SlaExport.Value(l.Line, l.Actual, culture, label)} / {SlaExport.Value(l.Line, l.Target, culture, label)} — {label($"Sla.Verdict.{l.Verdict}")}");
        return sb.ToString();
    }
}

/// <summary>
/// Sends the weekly report when it is due, exactly once: the claim is a conditional update of <see cref="RevenueSettings.WeeklyReportLastSentFor"/>
/// (only the instance that moves it forward sends) in the same transaction as the outbox rows, whose dedupe key names the week and the recipient.
/// </summary>
public sealed class WeeklyReportSender(TandemDb db, Notifier notifier, TimeProvider clock, IStringLocalizerFactory localizers,
    IOptions<NotificationOptions> notificationOptions, ILogger<WeeklyReportSender> log)
{
    /// <summary>One pass: returns the week sent, or null when nothing was due (disabled, already sent, or another instance sent it).</summary>
    public async Task<DateOnly?> RunOnceAsync(CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        if (!settings.WeeklyReportEnabled)
            return null;
        var zone = ReportPeriod.FindZone(settings.TimeZone);
        var now = clock.GetUtcNow();
        var due = WeeklyReport.LastDue(now, settings.WeeklyReportDay, Math.Clamp(settings.WeeklyReportHour, 0, 23), zone);
        if (settings.WeeklyReportLastSentFor is { } last && last >= due)
            return null;
        if (settings.WeeklyReportLastSentFor is null)
        {
            // The first pass after install (or after the row was created) only sets the baseline: the first report goes at the next
            // scheduled time, not at once for a week nobody was waiting for.
            await EnsureSettingsRowAsync(ct);
            await db.RevenueSettings.Where(s => s.Id == RevenueSettings.SingletonId && s.WeeklyReportLastSentFor == null)
                .ExecuteUpdateAsync(s => s.SetProperty(x => x.WeeklyReportLastSentFor, due), ct);
            return null;
        }
        var week = WeeklyReport.WeekCoveredBy(due, zone);

        // Each recipient gets the report in their own language (their profile's; English when they follow the browser).
        var recipients = await db.Users.AsNoTracking()
            .Where(u => u.IsActive && db.UserRoles.Any(ur => ur.UserId == u.Id && db.Roles.Any(r => r.Id == ur.RoleId
                && (r.Name == Roles.Marketing || r.Name == Roles.Sales || r.Name == Roles.SalesManager))))
            .Select(u => new { u.Id, u.Language }).ToListAsync(ct);
        var rendered = new Dictionary<string, (string Subject, string Html, string Text)>(StringComparer.Ordinal);
        foreach (var language in recipients.Select(r => LanguageOf(r.Language)).Append("en").Distinct(StringComparer.Ordinal))
            rendered[language] = await RenderAsync(week, now, CultureInfo.GetCultureInfo(language), ct);

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var claimed = await db.RevenueSettings
            .Where(s => s.Id == RevenueSettings.SingletonId && (s.WeeklyReportLastSentFor == null || s.WeeklyReportLastSentFor < due))
            .ExecuteUpdateAsync(s => s.SetProperty(x => x.WeeklyReportLastSentFor, due), ct);
        if (claimed == 0)
            return null;
        foreach (var recipient in recipients)
        {
            var (subject, html, text) = rendered[LanguageOf(recipient.Language)];
            await notifier.EnqueueAsync(new NotificationRequest
            {
                Kind = WeeklyReport.Kind,
                RecipientUserId = recipient.Id,
                Channels = [NotificationChannel.InApp, NotificationChannel.Email],
                Subject = subject,
                Body = text,
                HtmlBody = html,
                Link = $"/reports/weekly?week={week:yyyy-MM-dd}",
                DedupeKey = $"{WeeklyReport.Kind}:{week:yyyy-MM-dd}:{recipient.Id:N}",
            }, ct);
        }
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        log.LogInformation("Weekly report for the week of {Week} queued for {Count} recipients", week, recipients.Count);
        return week;
    }

    private static string LanguageOf(string? language) => language is "fr" ? "fr" : "en";

    /// <summary>The report's subject, HTML and text in one language (labels, dates and numbers).</summary>
    private async Task<(string Subject, string Html, string Text)> RenderAsync(DateOnly week, DateTimeOffset now, CultureInfo culture, CancellationToken ct)
    {
        var previous = (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture);
        CultureInfo.CurrentUICulture = culture;
        CultureInfo.CurrentCulture = culture;
        try
        {
            var l = localizers.Create(typeof(SharedResource));
            string Label(string key) => l[key];
            var data = await WeeklyReport.ComputeAsync(db, week, now, Label, ct);
            var subject = string.Format(culture, Label("Weekly.Subject"), data.WeekOf.ToString("d", culture), data.To.ToString("d", culture));
            return (subject, WeeklyReport.Html(data, culture, Label, notificationOptions.Value.PublicBaseUrl), WeeklyReport.Text(data, culture, Label));
        }
        finally
        {
            (CultureInfo.CurrentCulture, CultureInfo.CurrentUICulture) = previous;
        }
    }

    private async Task EnsureSettingsRowAsync(CancellationToken ct)
    {
        if (await db.RevenueSettings.AnyAsync(s => s.Id == RevenueSettings.SingletonId, ct))
            return;
        db.RevenueSettings.Add(new RevenueSettings());
        await db.SaveChangesAsync(ct);
    }
}

/// <summary>Checks every poll interval, on every instance, whether the weekly report is due (the sender makes sure it goes once).</summary>
public sealed class WeeklyReportJob(IServiceScopeFactory scopes, IOptions<WeeklyReportOptions> options, ILogger<WeeklyReportJob> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var o = options.Value;
        if (!o.RunJob)
            return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<WeeklyReportSender>().RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                log.LogWarning(ex, "Weekly report pass failed; retrying");
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(o.PollSeconds), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
