using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Localization;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

/// <summary>The closed-loop reports over HTTP: attribution and the KPI set (decision 017).</summary>
public static class RevenueReportsApi
{
    public static RouteGroupBuilder MapRevenueReportsApi(this RouteGroupBuilder api)
    {
        var reports = api.MapGroup("/reports").RequireAuthorization(Policies.ScopeRead).WithTags("Reports");
        reports.MapGet("/attribution", AttributionAsync).WithName("GetAttribution")
            .WithSummary("Credit of a conversion (lead | opportunity | won) over marketing touches by one of nine models, by campaign | channel | source | content, in the reporting currency.");
        reports.MapGet("/kpis", KpisAsync).WithName("GetKpis")
            .WithSummary("Every KPI of the glossary for a period (from, to as YYYY-MM-DD, in the workspace time zone), filterable by channel, campaignId, personaId, teamId, ownerId.");
        reports.MapGet("/dashboard", DashboardAsync).WithName("GetDashboard")
            .WithSummary("Everything the dashboard shows for a period: the KPI set and the comparison period's (compare=previous | lastYear), attribution of the won revenue by campaign (model), the weekly trend, every campaign's results and the goal forecasts; same filters as /kpis.");
        reports.MapGet("/sla", SlaAsync).WithName("GetSlaReport")
            .WithSummary("The two-sided SLA report for a period (from, to as YYYY-MM-DD in the workspace time zone): marketing's MQLs vs commitment and quality floor, sales' first touch within SLA, median speed to lead and attempts, in total and by week.");
        reports.MapGet("/sla/statement", SlaStatementAsync).WithName("GetSlaStatement")
            .WithSummary("The monthly SLA statement (month as YYYY-MM): both sides with a verdict per line; format=json (default), csv or html (printable).");
        reports.MapGet("/weekly", WeeklyAsync).WithName("GetWeeklyReport")
            .WithSummary("The weekly smarketing report of the week holding `week` (YYYY-MM-DD, default: last week; weeks run Monday to Sunday in the workspace time zone).");
        return api;
    }

    private static async Task<Results<Ok<WeeklyReportData>, ValidationProblem>> WeeklyAsync(string? week, TandemDb db, TimeProvider clock,
        IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var zone = ReportPeriod.FindZone(settings.TimeZone);
        var now = clock.GetUtcNow();
        var monday = RevenueDashboard.WeekOf(ReportPeriod.LocalDateOf(now, zone)).AddDays(-7);
        if (!string.IsNullOrWhiteSpace(week))
        {
            if (!DateOnly.TryParseExact(week.Trim(), "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None,
                    out var day) || day.Year is < 1900 or > 2999)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["week"] = ["A date as YYYY-MM-DD."] });
            monday = RevenueDashboard.WeekOf(day);
        }
        return TypedResults.Ok(await WeeklyReport.ComputeAsync(db, monday, now, k => l[k], ct));
    }

    private static async Task<Results<Ok<SlaReportResult>, ValidationProblem>> SlaAsync(string? from, string? to, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var period = ReportPeriod.Parse(from, to, ReportPeriod.FindZone(settings.TimeZone), clock.GetUtcNow(), errors);
        if (errors.Any || period is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        return TypedResults.Ok(await SlaReport.ComputeAsync(db, period, clock.GetUtcNow(), ct));
    }

    private static async Task<Results<Ok<SlaStatement>, FileContentHttpResult, ContentHttpResult, ValidationProblem>> SlaStatementAsync(string? month,
        string? format, TandemDb db, TimeProvider clock, IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var zone = ReportPeriod.FindZone(settings.TimeZone);
        var now = clock.GetUtcNow();
        DateOnly first;
        if (string.IsNullOrWhiteSpace(month))
        {
            var today = ReportPeriod.LocalDateOf(now, zone);
            first = new DateOnly(today.Year, today.Month, 1);
        }
        else if (!DateOnly.TryParseExact(month.Trim() + "-01", "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                     System.Globalization.DateTimeStyles.None, out first) || first.Year is < 1900 or > 2999)
        {
            errors.Add("month", "A month as YYYY-MM.");
        }
        var kind = (format ?? "json").Trim().ToLowerInvariant();
        if (kind is not ("json" or "csv" or "html"))
            errors.Add("format", "One of: json, csv, html.");
        if (errors.Any)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        var statement = await SlaReport.StatementAsync(db, first.Year, first.Month, zone, now, ct);
        var culture = System.Globalization.CultureInfo.CurrentUICulture;
        string Label(string key) => l[key];
        return kind switch
        {
            "csv" => TypedResults.File(System.Text.Encoding.UTF8.GetPreamble().Concat(System.Text.Encoding.UTF8.GetBytes(SlaExport.Csv(statement, culture, Label))).ToArray(),
                "text/csv; charset=utf-8", $"sla-statement-{first:yyyy-MM}.csv"),
            "html" => TypedResults.Content(SlaExport.Html(statement, culture, Label), "text/html; charset=utf-8"),
            _ => TypedResults.Ok(statement),
        };
    }

    private static async Task<Results<Ok<AttributionResult>, ValidationProblem>> AttributionAsync(string? model, string? conversion, string? from, string? to,
        string? by, TandemDb db, TimeProvider clock, IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var m = ParseModel(model, errors);
        var kind = ConversionKind.Won;
        if (!string.IsNullOrWhiteSpace(conversion) && !TryParseName(conversion, out kind))
            errors.Add("conversion", "One of: lead, opportunity, won.");
        var group = AttributionBy.Campaign;
        if (!string.IsNullOrWhiteSpace(by) && !TryParseName(by, out group))
            errors.Add("by", "One of: campaign, channel, source, content.");
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var period = ReportPeriod.Parse(from, to, ReportPeriod.FindZone(settings.TimeZone), clock.GetUtcNow(), errors);
        if (errors.Any || period is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        return TypedResults.Ok(await AttributionReport.ComputeAsync(db, m, kind, group, period, k => l[k], ct));
    }

    private static async Task<Results<Ok<KpiSet>, ValidationProblem>> KpisAsync(string? from, string? to, string? channel, string? campaignId, string? personaId,
        string? teamId, string? ownerId, string? model, TandemDb db, TimeProvider clock, IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var filter = ParseFilter(channel, campaignId, personaId, teamId, ownerId, errors);
        var m = string.IsNullOrWhiteSpace(model) ? AttributionModel.Linear : ParseModel(model, errors);
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var period = ReportPeriod.Parse(from, to, ReportPeriod.FindZone(settings.TimeZone), clock.GetUtcNow(), errors);
        if (errors.Any || period is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        return TypedResults.Ok(await Kpis.ComputeAsync(db, period, filter, m, k => l[k], ct));
    }

    private static async Task<Results<Ok<DashboardReport>, ValidationProblem>> DashboardAsync(string? from, string? to, string? compare, string? channel,
        string? campaignId, string? personaId, string? teamId, string? ownerId, string? model, TandemDb db, TimeProvider clock,
        IStringLocalizer<SharedResource> l, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var filter = ParseFilter(channel, campaignId, personaId, teamId, ownerId, errors);
        var m = ParseModel(model, errors);
        var lastYear = false;
        if (!string.IsNullOrWhiteSpace(compare))
        {
            if (string.Equals(compare.Trim(), "lastYear", StringComparison.OrdinalIgnoreCase))
                lastYear = true;
            else if (!string.Equals(compare.Trim(), "previous", StringComparison.OrdinalIgnoreCase))
                errors.Add("compare", "One of: previous, lastYear.");
        }
        var settings = await RevenueSettingsStore.GetAsync(db, ct);
        var period = ReportPeriod.Parse(from, to, ReportPeriod.FindZone(settings.TimeZone), clock.GetUtcNow(), errors);
        if (errors.Any || period is null)
            return TypedResults.ValidationProblem(errors.ToDictionary());
        return TypedResults.Ok(await RevenueDashboard.ComputeAsync(db, period, lastYear, filter, m, clock.GetUtcNow(), k => l[k], ct));
    }

    public static AttributionModel ParseModel(string? model, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(model))
            return AttributionModel.Linear;
        if (Attribution.ModelNames.TryGetValue(model.Trim(), out var m))
            return m;
        errors.Add("model", "One of: " + string.Join(", ", Attribution.ModelNames.Keys) + ".");
        return AttributionModel.Linear;
    }

    public static KpiFilter ParseFilter(string? channel, string? campaignId, string? personaId, string? teamId, string? ownerId, FieldErrors errors)
    {
        Channel? ch = null;
        if (!string.IsNullOrWhiteSpace(channel))
        {
            if (TryParseName<Channel>(channel, out var c))
                ch = c;
            else
                errors.Add("channel", "One of: " + string.Join(", ", Enum.GetNames<Channel>().Select(n => char.ToLowerInvariant(n[0]) + n[1..])) + ".");
        }
        return new KpiFilter(ch, Id(campaignId, "campaignId"), Id(personaId, "personaId"), Id(teamId, "teamId"), Id(ownerId, "ownerId"));

        Guid? Id(string? value, string field)
        {
            if (string.IsNullOrWhiteSpace(value))
                return null;
            if (Guid.TryParse(value.Trim(), out var id))
                return id;
            errors.Add(field, "An id (GUID).");
            return null;
        }
    }

    /// <summary>An enum member by name (case-insensitive); numbers and undefined names are refused.</summary>
    public static bool TryParseName<T>(string value, out T result) where T : struct, Enum =>
        Enum.TryParse(value.Trim(), true, out result) && Enum.IsDefined(result) && !value.Trim().Any(char.IsDigit);
}
