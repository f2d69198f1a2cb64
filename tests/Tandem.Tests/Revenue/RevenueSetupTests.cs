using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Revenue;

/// <summary>Revenue settings, exchange rates (by hand and CSV), sales costs and the opportunity history import, on both databases.</summary>
public abstract class RevenueSetupTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static MultipartFormDataContent Csv(string text)
    {
        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
        file.Headers.ContentType = new MediaTypeHeaderValue("text/csv");
        return new MultipartFormDataContent { { file, "file", "data.csv" } };
    }

    private static async Task<Dictionary<string, string[]>> FieldErrorsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ProblemShape>(Ct))!.Errors!;
    }

    [Fact]
    public async Task AnAdminKeepsSettingsRatesAndCostsWithFieldErrorsForBadInput()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Read));
        var reader = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));

        var settings = await reader.GetFromJsonAsync<RevenueSettingsView>("/api/v1/settings/revenue", TandemApp.ApiJson, Ct);
        Assert.Equal("EUR", settings!.ReportingCurrency);
        var bad = await FieldErrorsAsync(await admin.PutAsJsonAsync("/api/v1/settings/revenue",
            new { reportingCurrency = "EURO", timeZone = "Mars/Olympus", grossMarginPercent = 120, weeklyReportHour = 24 }, Ct));
        Assert.Equal(["grossMarginPercent", "reportingCurrency", "timeZone", "weeklyReportHour"], bad.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().RevenueSettings.CountAsync(Ct)));
        var saved = await admin.PutAsJsonAsync("/api/v1/settings/revenue",
            new { reportingCurrency = "usd", timeZone = "America/New_York", grossMarginPercent = 72.5m, weeklyReportDay = "Tuesday", weeklyReportHour = 9 }, Ct);
        Assert.Equal(HttpStatusCode.OK, saved.StatusCode);
        settings = await reader.GetFromJsonAsync<RevenueSettingsView>("/api/v1/settings/revenue", TandemApp.ApiJson, Ct);
        Assert.Equal(("USD", "America/New_York", 72.5m, DayOfWeek.Tuesday, 9),
            (settings!.ReportingCurrency, settings.TimeZone, settings.GrossMarginPercent, settings.WeeklyReportDay, settings.WeeklyReportHour));

        // Rates by hand: bad input, then one rate, then its duplicate refused.
        var rateErrors = await FieldErrorsAsync(await admin.PostAsJsonAsync("/api/v1/exchange-rates", new { from = "GBP", to = "GBP", on = "2026-11-02", rate = -1 }, Ct));
        Assert.Equal(["rate", "to"], rateErrors.Keys.Order(StringComparer.Ordinal));
        var created = await admin.PostAsJsonAsync("/api/v1/exchange-rates", new { from = "gbp", to = "EUR", on = "2026-11-02", rate = 1.1712345m }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var rate = (await created.Content.ReadFromJsonAsync<ExchangeRateView>(TandemApp.ApiJson, Ct))!;
        Assert.Contains("on", (await FieldErrorsAsync(await admin.PostAsJsonAsync("/api/v1/exchange-rates", new { from = "GBP", to = "EUR", on = "2026-11-02", rate = 1.2m }, Ct))).Keys);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.DeleteAsync($"/api/v1/exchange-rates/{rate.Id}", Ct)).StatusCode);

        // CSV import: good rows written, bad rows reported with their row number, an existing pair and date replaced.
        var import = await admin.PostAsync("/api/v1/exchange-rates/import", Csv(
            "date;from;to;rate\n2026-11-02;GBP;EUR;1.18\n2026-11-09;GBP;EUR;1.175\n2026-11-09;USD;EUR;0.93\n09/11/2026;USD;EUR;0.93\n2026-11-16;XXX;EUR;1\n2026-11-16;USD;EUR;abc\n2026-11-16;CHF;EUR;0\n"), Ct);
        Assert.Equal(HttpStatusCode.OK, import.StatusCode);
        var result = (await import.Content.ReadFromJsonAsync<CsvImportResult>(TandemApp.ApiJson, Ct))!;
        Assert.Equal((2, 1), (result.Created, result.Updated));
        Assert.Equal([(5, "date"), (6, "from"), (7, "rate"), (8, "rate")], result.Errors.Select(e => (e.Row, e.Field)).Order());
        var rates = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<ExchangeRate>().AsNoTracking()
            .OrderBy(r => r.On).ThenBy(r => r.FromCurrency).Select(r => new { r.FromCurrency, r.On, r.Rate }).ToListAsync(Ct));
        Assert.Equal([("GBP", 1.18m), ("GBP", 1.175m), ("USD", 0.93m)], rates.Select(r => (r.FromCurrency, r.Rate)));
        Assert.Contains("file", (await FieldErrorsAsync(await admin.PostAsync("/api/v1/exchange-rates/import", Csv("day,from,to,rate\n"), Ct))).Keys);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/exchange-rates/{rate.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/v1/exchange-rates/{rate.Id}", Ct)).StatusCode);

        // Sales costs.
        var costErrors = await FieldErrorsAsync(await admin.PostAsJsonAsync("/api/v1/sales-costs", new { month = "2026-11-15", amount = -3, currency = "ZZZ", note = "a\u0000b" }, Ct));
        Assert.Equal(["amount", "currency", "month", "note"], costErrors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsJsonAsync("/api/v1/sales-costs", new { month = "2026-11-01", amount = 42000, currency = "EUR", note = "Salaries" }, Ct)).StatusCode);
        var costs = await reader.GetFromJsonAsync<List<SalesCostView>>("/api/v1/sales-costs", TandemApp.ApiJson, Ct);
        Assert.Equal([(new DateOnly(2026, 11, 1), 42000m, "EUR")], costs!.Select(c => (c.Month, c.Amount, c.Currency)));
    }

    [Fact]
    public async Task OpportunityHistoryImportsRowByRowWithPerRowErrorsAndIsIdempotent()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?> { ["Tandem:Notifications:RunDispatcher"] = "false" });
        var ingest = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        var (won, lost, open) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var at = DateTimeOffset.UtcNow.AddDays(-200);
            Lead Make(string email, string? external = null) => new()
            {
                Email = email,
                ExternalSystem = external is null ? null : "crm",
                ExternalId = external,
                FirstName = email[..3],
                Company = "Globex " + email[..3],
                Stage = LifecycleStage.Mql,
                CreatedAt = at,
                UpdatedAt = at,
            };
            var a = Make("won@globex.example");
            var b = Make("lost@globex.example", "CRM-2");
            var c = Make("open@globex.example");
            db.Leads.AddRange(a, b, c);
            await db.SaveChangesAsync(Ct);
            return (a.Id, b.Id, c.Id);
        });
        var csv = """
            externalId,leadEmail,leadExternalId,name,amount,currency,stage,created,closed,kind,reason
            H-1,WON@globex.example,,Globex licence,24000,EUR,Won,2026-01-10,2026-02-20,NewBusiness,ProductFit
            H-2,,CRM-2,Globex pilot,5000.50,GBP,lost,2026-01-15,2026-03-01,,Competitor
            H-3,open@globex.example,,Globex expansion,8000,USD,Proposal,2026-03-01,,,
            H-4,nobody@globex.example,,Ghost,1,EUR,Won,2026-01-01,2026-01-02,,
            H-5,open@globex.example,,Bad,-1,EUR,Lost,2026-01-01,,,
            H-6,open@globex.example,,Bad stage,10,EUR,3,2026-01-01,,,
            H-7,open@globex.example,,Bad currency,10,EURO,Qualification,2026-01-01,,,
            """;
        var response = await ingest.PostAsync("/api/v1/opportunities/import", Csv(csv), Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var result = (await response.Content.ReadFromJsonAsync<CsvImportResult>(TandemApp.ApiJson, Ct))!;
        Assert.Equal(3, result.Created);
        Assert.Equal([(5, "leadEmail"), (6, "amount"), (6, "closed"), (6, "reason"), (7, "stage"), (8, "currency")],
            result.Errors.Select(e => (e.Row, e.Field)).Order());

        var facts = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var deals = await db.Deals.AsNoTracking().OrderBy(d => d.CreatedAt).ToListAsync(Ct);
            var stages = await db.Leads.AsNoTracking().ToDictionaryAsync(l => l.Id, l => l.Stage, Ct);
            var transitions = await db.StageTransitions.AsNoTracking().Where(t => t.LeadId == won).OrderBy(t => t.At).Select(t => new { t.To, t.At }).ToListAsync(Ct);
            var account = await db.Accounts.AsNoTracking().SingleAsync(Ct);
            var changes = await db.Set<DealStageChange>().CountAsync(Ct);
            return (deals, stages, transitions, account, changes);
        });
        Assert.Equal(["Globex licence", "Globex pilot", "Globex expansion"], facts.deals.Select(d => d.Name));
        Assert.Equal([DealStage.Won, DealStage.Lost, DealStage.Proposal], facts.deals.Select(d => d.Stage));
        Assert.Equal(new DateTimeOffset(2026, 2, 20, 12, 0, 0, TimeSpan.Zero), facts.deals[0].ClosedAt);
        Assert.Equal(LossReason.Competitor, facts.deals[1].LossReason);
        Assert.Equal("GBP", facts.deals[1].Currency);
        Assert.Equal(5000.50m, facts.deals[1].Amount);
        Assert.Equal(LifecycleStage.Customer, facts.stages[won]);
        Assert.Equal(LifecycleStage.Recycled, facts.stages[lost]);
        Assert.Equal(LifecycleStage.Opportunity, facts.stages[open]);
        Assert.Equal([LifecycleStage.Opportunity, LifecycleStage.Customer], facts.transitions.Select(t => t.To));
        Assert.Equal(new DateTimeOffset(2026, 1, 10, 12, 0, 0, TimeSpan.Zero), facts.transitions[0].At);
        Assert.Equal(new DateTimeOffset(2026, 2, 20, 12, 0, 0, TimeSpan.Zero), facts.account.CustomerSince);
        Assert.Equal(6, facts.changes);

        // The same file again: the three imported rows are skipped, nothing doubles.
        var again = (await (await ingest.PostAsync("/api/v1/opportunities/import", Csv(csv), Ct)).Content.ReadFromJsonAsync<CsvImportResult>(TandemApp.ApiJson, Ct))!;
        Assert.Equal((0, 3), (again.Created, again.Skipped));
        Assert.Equal(3, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Deals.CountAsync(Ct)));
    }
}

public sealed class RevenueSetupOnSqlite() : RevenueSetupTests(DatabaseProvider.Sqlite);

public sealed class RevenueSetupOnPostgres() : RevenueSetupTests(DatabaseProvider.Postgres);
