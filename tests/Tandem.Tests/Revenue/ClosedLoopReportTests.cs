using System.Net;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Revenue;

/// <summary>
/// The closed-loop reports on real databases: every attribution model for every conversion, and every KPI, compared with an
/// independent computation by plain loops over the raw rows of a generated dataset (two currencies and one without a rate,
/// touches without campaign, simultaneous touches, leads without touches, a deal lost after being won, churn, goals); bad queries
/// answered with field errors.
/// </summary>
public abstract class ClosedLoopReportTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
    private static readonly DateOnly From = new(2026, 9, 1);
    private static readonly DateOnly To = new(2026, 11, 30);

    private sealed record Raw(List<Lead> Leads, List<Activity> Activities, List<StageTransition> Transitions, List<Deal> Deals, List<Account> Accounts,
        List<Campaign> Campaigns, List<CampaignSpend> Spend, List<SalesCost> SalesCosts, List<RevenueGoal> Goals, List<ExchangeRate> Rates,
        List<LeadRating> Ratings);

    private static async Task<(TandemApp App, HttpClient Admin)> StartAsync(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(Now);
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:PollMilliseconds"] = "3600000",
            ["Tandem:Webhooks:RunDispatcher"] = "false",
        });
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        return (app, admin);
    }

    /// <summary>A generated workspace: 160 leads over five months, their touches, stages, verdicts, ratings, deals and customers.</summary>
    private static Task<Raw> SeedAsync(TandemApp app) => app.WithServiceAsync(async sp =>
    {
        var db = sp.GetRequiredService<TandemDb>();
        var random = new Random(7);
        var repId = (await app.CreateUserAsync("rep@example.com", Roles.Sales)).Item1;
        db.RevenueSettings.Add(new RevenueSettings { ReportingCurrency = "EUR", TimeZone = "Europe/Paris", GrossMarginPercent = 75m });
        var rates = new List<ExchangeRate>
        {
            new() { FromCurrency = "USD", ToCurrency = "EUR", On = new DateOnly(2026, 1, 1), Rate = 0.91m, CreatedAt = Now },
            new() { FromCurrency = "USD", ToCurrency = "EUR", On = new DateOnly(2026, 10, 15), Rate = 0.87654321m, CreatedAt = Now },
            new() { FromCurrency = "EUR", ToCurrency = "GBP", On = new DateOnly(2026, 1, 1), Rate = 0.85m, CreatedAt = Now },
        };
        db.ExchangeRates.AddRange(rates);
        var campaigns = Enumerable.Range(0, 4).Select(i => new Campaign
        {
            Name = $"Campaign {i}",
            Channel = (Channel)(i % 3),
            Currency = i == 3 ? "USD" : "EUR",
            CreatedAt = Now.AddMonths(-6),
        }).ToList();
        db.Campaigns.AddRange(campaigns);
        var spend = new List<CampaignSpend>();
        foreach (var c in campaigns)
        {
            for (var d = new DateOnly(2026, 8, 1); d < new DateOnly(2026, 12, 5); d = d.AddDays(9))
                spend.Add(new CampaignSpend { CampaignId = c.Id, On = d, Amount = Math.Round((decimal)(random.NextDouble() * 900) + 50, 2) });
        }
        db.CampaignSpend.AddRange(spend);
        var salesCosts = new List<SalesCost>
        {
            new() { Month = new DateOnly(2026, 8, 1), Amount = 10_000m, Currency = "EUR" },
            new() { Month = new DateOnly(2026, 9, 1), Amount = 12_000m, Currency = "EUR" },
            new() { Month = new DateOnly(2026, 10, 1), Amount = 5_000m, Currency = "USD" },
            new() { Month = new DateOnly(2026, 11, 1), Amount = 12_500m, Currency = "EUR" },
        };
        db.SalesCosts.AddRange(salesCosts);
        var goals = new List<RevenueGoal>
        {
            new() { Period = GoalPeriod.Quarter, StartsOn = new DateOnly(2026, 7, 1), Amount = 90_000m, Currency = "EUR", CreatedAt = Now, UpdatedAt = Now },
            new() { Period = GoalPeriod.Quarter, StartsOn = new DateOnly(2026, 10, 1), Amount = 120_000m, Currency = "EUR", CreatedAt = Now, UpdatedAt = Now },
            new() { Period = GoalPeriod.Month, StartsOn = new DateOnly(2026, 11, 1), Amount = 50_000m, Currency = "USD", Segment = "Enterprise", CreatedAt = Now, UpdatedAt = Now },
        };
        db.RevenueGoals.AddRange(goals);

        var accounts = new List<Account>();
        var leads = new List<Lead>();
        var activities = new List<Activity>();
        var transitions = new List<StageTransition>();
        var deals = new List<Deal>();
        var ratings = new List<LeadRating>();
        ActivityType[] marketing = [ActivityType.PageView, ActivityType.FormSubmission, ActivityType.EmailClick, ActivityType.Webinar, ActivityType.ContentDownload];
        string[] currencies = ["EUR", "EUR", "USD", "GBP", "JPY"];
        for (var i = 0; i < 160; i++)
        {
            var created = Now.AddDays(-random.Next(0, 150)).AddMinutes(-random.Next(0, 1440));
            var campaign = random.Next(5) == 0 ? null : campaigns[random.Next(campaigns.Count)];
            var lead = new Lead
            {
                Email = $"l{i}@example.com",
                CreatedAt = created,
                UpdatedAt = created,
                StageChangedAt = created,
                FirstCampaignId = campaign?.Id,
                FirstChannel = campaign?.Channel,
                FirstSource = random.Next(3) == 0 ? null : $"src{random.Next(3)}",
                OwnerId = random.Next(2) == 0 ? repId : null,
            };
            leads.Add(lead);
            // Touches: some before creation (anonymous visits), one at creation, some after; a pair at the same instant; sales touches ignored.
            var touchCount = random.Next(4) == 0 ? 0 : random.Next(1, 7);
            for (var t = 0; t < touchCount; t++)
            {
                var at = t == 0 ? created : created.AddHours(random.Next(-200, 900));
                var c = random.Next(4) == 0 ? null : campaigns[random.Next(campaigns.Count)];
                activities.Add(new Activity
                {
                    LeadId = lead.Id,
                    Type = marketing[random.Next(marketing.Length)],
                    OccurredAt = at,
                    CampaignId = c?.Id,
                    Channel = c?.Channel,
                    UtmSource = random.Next(3) == 0 ? null : $"Src{random.Next(3)}",
                    CreatedAt = at,
                });
                if (random.Next(6) == 0)
                    activities.Add(new Activity { LeadId = lead.Id, Type = ActivityType.EmailClick, OccurredAt = at, CampaignId = campaigns[0].Id, Channel = campaigns[0].Channel, CreatedAt = at });
            }
            activities.Add(new Activity { LeadId = lead.Id, Type = ActivityType.Call, OccurredAt = created.AddHours(3), CreatedAt = created });

            var when = created;
            void Move(LifecycleStage? from, LifecycleStage to, string? rule = null)
            {
                transitions.Add(new StageTransition { LeadId = lead.Id, From = from, To = to, At = when, ByRule = rule });
                lead.Stage = to;
            }
            Move(null, LifecycleStage.Lead, "capture");
            if (random.Next(3) == 0)
                continue;
            when = when.AddHours(random.Next(1, 300));
            Move(LifecycleStage.Lead, LifecycleStage.Mql, "scoring");
            when = when.AddHours(random.Next(1, 100));
            if (random.Next(3) == 0)
            {
                Move(LifecycleStage.Mql, LifecycleStage.Recycled, DispositionRules.Reject("BadFit"));
                if (random.Next(2) == 0)
                    continue;
                when = when.AddHours(random.Next(1, 100));
                Move(LifecycleStage.Recycled, LifecycleStage.Mql, "manual");
                when = when.AddHours(random.Next(1, 100));
            }
            if (random.Next(2) == 0)
            {
                ratings.Add(new LeadRating
                {
                    LeadId = lead.Id,
                    ByUserId = repId,
                    LeadQuality = random.Next(1, 6),
                    MeetingQuality = random.Next(2) == 0 ? null : random.Next(1, 6),
                    CreatedAt = when,
                    UpdatedAt = when,
                });
            }
            if (random.Next(4) == 0)
                continue;
            Move(LifecycleStage.Mql, LifecycleStage.Sql, DispositionRules.Accept);
            if (random.Next(4) == 0)
                continue;
            when = when.AddHours(random.Next(1, 300));
            Move(LifecycleStage.Sql, LifecycleStage.Opportunity, "deal");
            var account = new Account { Name = $"Company {i}", CreatedAt = created };
            accounts.Add(account);
            lead.AccountId = account.Id;
            var currency = currencies[random.Next(currencies.Length)];
            var deal = new Deal
            {
                Name = $"Deal {i}",
                LeadId = lead.Id,
                AccountId = account.Id,
                Amount = Math.Round((decimal)(random.NextDouble() * 40_000) + 1_000, 2),
                Currency = currency,
                CreatedAt = when,
                UpdatedAt = when,
                StageChangedAt = when,
            };
            deals.Add(deal);
            var outcome = random.Next(5);
            if (outcome == 0)
                continue;
            when = when.AddHours(random.Next(24, 900));
            if (when > Now)
                continue;
            deal.ClosedAt = when;
            if (outcome == 1)
            {
                deal.Status = DealStatus.Lost;
                deal.Stage = DealStage.Lost;
                Move(LifecycleStage.Opportunity, LifecycleStage.Recycled, "lost");
                continue;
            }
            deal.Status = DealStatus.Won;
            deal.Stage = DealStage.Won;
            Move(LifecycleStage.Opportunity, LifecycleStage.Customer, "won");
            account.CustomerSince = when;
            account.ContractCurrency = currency;
            account.ContractValue = deal.Amount;
            account.Mrr = random.Next(2) == 0 ? Math.Round(deal.Amount / 12m, 2) : null;
            if (outcome == 2 && random.Next(2) == 0)
            {
                // Won, then lost: the revenue is no longer won, the account no longer a customer.
                deal.Status = DealStatus.Lost;
                deal.Stage = DealStage.Lost;
                deal.ClosedAt = when.AddDays(3);
                account.CustomerSince = null;
            }
            else if (outcome == 3 && random.Next(2) == 0)
            {
                account.ChurnedAt = when.AddDays(random.Next(5, 60));
                account.ChurnReason = "Budget";
                if (account.ChurnedAt > Now)
                    account.ChurnedAt = null;
            }
        }
        db.Accounts.AddRange(accounts);
        db.Leads.AddRange(leads);
        db.Activities.AddRange(activities);
        db.StageTransitions.AddRange(transitions);
        db.Deals.AddRange(deals);
        db.AddRange(ratings);
        await db.SaveChangesAsync(Ct);
        return new Raw(leads, activities, transitions, deals, accounts, campaigns, spend, salesCosts, goals, rates, ratings);
    });

    [Fact]
    public async Task EveryAttributionModelEqualsAPlainComputationAndCreditsSumToTheTotal()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        var converter = new PlainConverter(raw.Rates);
        foreach (var conversion in new[] { "lead", "opportunity", "won" })
        {
            foreach (var model in new[] { "first", "last", "linear", "u", "w", "fullpath", "timedecay", "j", "inversej" })
            {
                foreach (var by in new[] { "campaign", "channel", "source" })
                {
                    var result = await admin.GetFromJsonAsync<AttributionResult>(
                        $"/api/v1/reports/attribution?model={model}&conversion={conversion}&from={From:yyyy-MM-dd}&to={To:yyyy-MM-dd}&by={by}", Ct);
                    var (total, rows) = PlainAttribution(raw, converter, model, conversion, by);
                    var what = $"{model}/{conversion}/{by}";
                    Assert.Equal("EUR", result!.Currency);
                    Assert.Equal(total, result.Total);
                    Assert.Equal(result.Total, result.Rows.Sum(r => r.Credit));
                    Assert.Equal(rows.Keys.Order(StringComparer.Ordinal), result.Rows.Select(r => r.Key).Order(StringComparer.Ordinal));
                    foreach (var row in result.Rows)
                    {
                        var expected = rows[row.Key];
                        // The same remainder rule on each conversion; weights computed independently may round a cent apart per conversion.
                        Assert.True(Math.Abs(expected.Credit - row.Credit) <= 0.01m * expected.Count, $"{what} {row.Key}: {expected.Credit} vs {row.Credit}");
                        Assert.True(Math.Abs(expected.Conversions - row.Conversions) <= 0.000002m * expected.Count, $"{what} {row.Key}: {expected.Conversions} vs {row.Conversions}");
                    }
                    if (conversion == "won")
                        Assert.Contains(result.Unconverted, u => u.Currency == "JPY");
                }
            }
        }
    }

    [Fact]
    public async Task EveryKpiEqualsAPlainComputationOverTheRawRows()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        var converter = new PlainConverter(raw.Rates);
        foreach (var campaign in new Guid?[] { null, raw.Campaigns[1].Id })
        {
            var url = $"/api/v1/reports/kpis?from={From:yyyy-MM-dd}&to={To:yyyy-MM-dd}&model=w" + (campaign is { } c ? $"&campaignId={c}" : "");
            var k = (await admin.GetFromJsonAsync<KpiSet>(url, Ct))!;
            var e = PlainKpis(raw, converter, campaign);
            if (campaign is null)
            {
                // The dataset exercises every figure: customers before, during and lost, verdicts, ratings, wins, losses, spend, goals.
                Assert.True(e.Won > 0 && e.Lost > 0 && e.NewCustomers > 0 && e.AtStart > 0 && e.LostCustomers > 0 && e.Dispositioned > e.Accepted && e.Accepted > 0,
                    $"{e}");
                Assert.True(e.Attributed > 0 && e.Spend > 0 && e.SalesCost > 0 && e.Goal > 0 && e.Ltv is not null && e.SalesCycle is not null, $"{e}");
            }
            Assert.Equal(e.NewLeads, k.NewLeads);
            Assert.Equal(e.Mqls, k.Mqls);
            Assert.Equal(e.Sqls, k.Sqls);
            Assert.Equal(e.Opportunities, k.Opportunities);
            Assert.Equal(e.Conversion, [k.StageConversion.LeadToMql, k.StageConversion.MqlToSql, k.StageConversion.SqlToOpportunity, k.StageConversion.OpportunityToCustomer]);
            Assert.Equal(e.Dispositioned, k.Dispositioned);
            Assert.Equal(e.Accepted, k.Accepted);
            Assert.Equal(R4(e.Accepted, e.Dispositioned), k.AcceptanceRate);
            Assert.Equal(e.LeadQuality, k.LeadQualityIndex);
            Assert.Equal(e.MeetingQuality, k.MeetingQualityIndex);
            Assert.Equal(e.Won, k.WonDeals);
            Assert.Equal(e.Lost, k.LostDeals);
            Assert.Equal(R4(e.Won, e.Won + e.Lost), k.CloseRatio);
            Assert.Equal(e.WonRevenue, k.WonRevenue);
            Assert.Equal(e.SalesCycle, k.SalesCycleDays);
            Assert.Equal(e.TimeInStage, [k.TimeInStageDays.Lead, k.TimeInStageDays.Mql, k.TimeInStageDays.Sql, k.TimeInStageDays.Opportunity]);
            Assert.Equal(e.Spend, k.MarketingSpend);
            Assert.Equal(e.SalesCost, k.SalesCost);
            Assert.Equal(e.NewCustomers, k.NewCustomers);
            Assert.Equal(e.AtStart, k.CustomersAtStart);
            Assert.Equal(e.AtEnd, k.CustomersAtEnd);
            Assert.Equal(e.LostCustomers, k.LostCustomers);
            Assert.Equal(e.NewCustomers == 0 ? (decimal?)null : Math.Round((e.Spend + e.SalesCost) / e.NewCustomers, 2, MidpointRounding.AwayFromZero), k.Cac);
            Assert.Equal(e.AtStart == 0 ? (decimal?)null : Math.Round((decimal)(e.AtEnd - e.NewCustomers) / e.AtStart, 4, MidpointRounding.AwayFromZero), k.CustomerRetentionRate);
            Assert.Equal(R4(e.LostCustomers, e.AtStart), k.ChurnRate);
            Assert.Equal(e.Arpa, k.AverageMonthlyRevenuePerCustomer);
            Assert.Equal(e.Ltv, k.Ltv);
            Assert.True(Math.Abs(e.Attributed - k.AttributedRevenue) <= 0.01m * e.Won, $"attributed {e.Attributed} vs {k.AttributedRevenue}");
            Assert.Equal(e.Spend == 0 ? (decimal?)null : Math.Round((k.AttributedRevenue - e.Spend) / e.Spend, 4, MidpointRounding.AwayFromZero), k.CampaignRoi);
            Assert.Equal(e.NewLeads == 0 ? (decimal?)null : Math.Round(e.Spend / e.NewLeads, 2, MidpointRounding.AwayFromZero), k.CostPerLead);
            Assert.Equal(e.Mqls == 0 ? (decimal?)null : Math.Round(e.Spend / e.Mqls, 2, MidpointRounding.AwayFromZero), k.CostPerMql);
            Assert.Equal(e.Sqls == 0 ? (decimal?)null : Math.Round(e.Spend / e.Sqls, 2, MidpointRounding.AwayFromZero), k.CostPerSql);
            Assert.Equal(e.Goal, k.RevenueGoal);
            Assert.Equal(e.Goal is > 0 ? Math.Round(e.WonRevenue / e.Goal.Value, 4, MidpointRounding.AwayFromZero) : (decimal?)null, k.GoalAttainment);
            Assert.Equal(e.TopSourceTotal, k.TopSources.Sum(s => s.Leads));
        }
    }

    [Fact]
    public async Task TheWeeklyTrendAndTheCampaignResultsAddUpToThePlainFigures()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        var fx = new PlainConverter(raw.Rates);
        var period = new ReportPeriod(From, To, Paris);
        var (trend, results) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await RevenueDashboard.TrendAsync(db, period, new KpiFilter(), Ct),
                await RevenueDashboard.CampaignResultsAsync(db, period, AttributionModel.Linear, null, Ct));
        });
        var e = PlainKpis(raw, fx, null);
        Assert.Equal(e.NewLeads, trend.Sum(w => w.Leads));
        Assert.Equal(e.Mqls, trend.Sum(w => w.Mqls));
        Assert.Equal(e.Sqls, trend.Sum(w => w.Sqls));
        Assert.Equal(e.WonRevenue, trend.Sum(w => w.WonRevenue));
        Assert.All(trend, w => Assert.Equal(DayOfWeek.Monday, w.WeekOf.DayOfWeek));
        foreach (var w in trend)
        {
            var weekStart = StartOfDay(w.WeekOf) < Start ? Start : StartOfDay(w.WeekOf);
            var weekEnd = StartOfDay(w.WeekOf.AddDays(7)) > End ? End : StartOfDay(w.WeekOf.AddDays(7));
            Assert.Equal(raw.Leads.Count(l => l.CreatedAt >= weekStart && l.CreatedAt < weekEnd), w.Leads);
        }

        var (_, byCampaign) = PlainAttribution(raw, fx, "linear", "won", "campaign");
        foreach (var c in raw.Campaigns)
        {
            var r = results.Single(x => x.CampaignId == c.Id);
            var e2 = PlainKpis(raw, fx, c.Id);
            Assert.Equal(e2.NewLeads, r.Leads);
            Assert.Equal(e2.Mqls, r.Mqls);
            Assert.Equal(e2.Sqls, r.Sqls);
            Assert.Equal(e2.Opportunities, r.Opportunities);
            Assert.Equal(e2.Won, r.WonDeals);
            Assert.Equal(e2.Spend, r.Spend);
            var credited = byCampaign.TryGetValue(c.Id.ToString(), out var x) ? x : default;
            Assert.True(Math.Abs(credited.Credit - r.WonRevenue) <= 0.01m * Math.Max(1, credited.Count), $"{c.Name}: {credited.Credit} vs {r.WonRevenue}");
            Assert.Equal(r.Spend == 0 ? (decimal?)null : Math.Round((r.WonRevenue - r.Spend) / r.Spend, 4, MidpointRounding.AwayFromZero), r.Roi);
            Assert.Equal(R4(e2.Accepted, e2.Dispositioned), r.AcceptanceRate);
            Assert.Equal(e2.LeadQuality is { } q ? Math.Round(q, 2) : null, r.MeanLeadRating);
            Assert.Equal(e2.NewCustomers, r.NewCustomers);
            Assert.Equal(e2.NewCustomers == 0 ? (decimal?)null : Math.Round(e2.Spend / e2.NewCustomers, 2, MidpointRounding.AwayFromZero), r.Cac);
            Assert.Equal(e2.NewLeads == 0 ? (decimal?)null : Math.Round(e2.Spend / e2.NewLeads, 2, MidpointRounding.AwayFromZero), r.CostPerLead);
            Assert.Equal(e2.Mqls == 0 ? (decimal?)null : Math.Round(e2.Spend / e2.Mqls, 2, MidpointRounding.AwayFromZero), r.CostPerMql);
            Assert.Equal(e2.Sqls == 0 ? (decimal?)null : Math.Round(e2.Spend / e2.Sqls, 2, MidpointRounding.AwayFromZero), r.CostPerSql);
            // JPY deals have no rate: never added, listed under each campaign that touched them before the win.
            var jpy = raw.Deals.Where(d => d.Status == DealStatus.Won && d.Currency == "JPY" && InPeriod(d.ClosedAt)
                && raw.Activities.Any(a => a.LeadId == d.LeadId && a.CampaignId == c.Id && a.OccurredAt <= d.ClosedAt
                    && a.Type is not (ActivityType.Call or ActivityType.Meeting or ActivityType.EmailSent or ActivityType.Note))).ToList();
            Unconverted[] expectedJpy = jpy.Count == 0 ? [] : [new Unconverted("JPY", jpy.Sum(d => d.Amount), jpy.Count)];
            Assert.Equal(expectedJpy, r.UnconvertedRevenue);
            Assert.Empty(r.UnconvertedSpend);
        }
        Assert.Contains(results, r => r.UnconvertedRevenue.Count > 0);
        Assert.Contains(results, r => r.NewCustomers > 0 && r.Cac is not null);
    }

    [Fact]
    public async Task CampaignResultsOverHttpMatchThePlainFiguresSortByRoiAndTheirWeeksAddUp()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        var fx = new PlainConverter(raw.Rates);
        var range = $"from={From:yyyy-MM-dd}&to={To:yyyy-MM-dd}";

        var list = (await admin.GetFromJsonAsync<CampaignResultsReport>($"/api/v1/campaigns/results?{range}&model=w&sort=roi", JsonOptions, Ct))!;
        Assert.Equal(("EUR", "w", From, To), (list.Currency, list.Model, list.From, list.To));
        Assert.Equal(raw.Campaigns.Count, list.Campaigns.Count);
        var rois = list.Campaigns.Where(c => c.Roi is not null).Select(c => c.Roi!.Value).ToList();
        Assert.Equal(rois.OrderDescending(), rois);
        Assert.True(rois.Count >= 2, "the dataset has campaigns with spend");
        var (_, byCampaign) = PlainAttribution(raw, fx, "w", "won", "campaign");
        foreach (var r in list.Campaigns)
        {
            var credited = byCampaign.TryGetValue(r.CampaignId.ToString(), out var x) ? x : default;
            Assert.True(Math.Abs(credited.Credit - r.WonRevenue) <= 0.01m * Math.Max(1, credited.Count), $"{r.Name}: {credited.Credit} vs {r.WonRevenue}");
            Assert.Equal(PlainKpis(raw, fx, r.CampaignId).NewLeads, r.Leads);
        }
        var ascending = (await admin.GetFromJsonAsync<CampaignResultsReport>($"/api/v1/campaigns/results?{range}&sort=quality&order=asc", JsonOptions, Ct))!;
        var ratings = ascending.Campaigns.Where(c => c.MeanLeadRating is not null).Select(c => c.MeanLeadRating!.Value).ToList();
        Assert.Equal(ratings.Order(), ratings);
        Assert.Equal("linear", ascending.Model);

        foreach (var c in raw.Campaigns)
        {
            var detail = (await admin.GetFromJsonAsync<CampaignResultsDetail>($"/api/v1/campaigns/{c.Id}/results?{range}&model=w", JsonOptions, Ct))!;
            var row = list.Campaigns.Single(x => x.CampaignId == c.Id);
            Assert.Equal(row with { UnconvertedSpend = null!, UnconvertedRevenue = null! }, detail.Campaign with { UnconvertedSpend = null!, UnconvertedRevenue = null! });
            Assert.Equal(row.UnconvertedRevenue, detail.Campaign.UnconvertedRevenue);
            Assert.Equal(row.WonRevenue, detail.Weeks.Sum(w => w.WonRevenue));
            Assert.Equal(row.Leads, detail.Weeks.Sum(w => w.Leads));
            Assert.Equal(row.Mqls, detail.Weeks.Sum(w => w.Mqls));
            Assert.Equal(row.Sqls, detail.Weeks.Sum(w => w.Sqls));
            foreach (var w in detail.Weeks)
            {
                var weekStart = StartOfDay(w.WeekOf) < Start ? Start : StartOfDay(w.WeekOf);
                var weekEnd = StartOfDay(w.WeekOf.AddDays(7)) > End ? End : StartOfDay(w.WeekOf.AddDays(7));
                Assert.Equal(raw.Leads.Count(l => l.FirstCampaignId == c.Id && l.CreatedAt >= weekStart && l.CreatedAt < weekEnd), w.Leads);
            }
        }

        // Bad queries: field errors; an unknown campaign: 404 problem.
        foreach (var (query, field) in new[] { ("model=sideways", "model"), ("from=2026-13-01", "from"), ("from=2026-11-01&to=2026-10-01", "to"), ("sort=mood", "sort"), ("order=up", "order") })
        {
            var r = await admin.GetAsync($"/api/v1/campaigns/results?{query}", Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains($"\"{field}\"", await r.Content.ReadAsStringAsync(Ct));
        }
        foreach (var (query, field) in new[] { ("model=3", "model"), ("to=2026-02-30", "to") })
        {
            var r = await admin.GetAsync($"/api/v1/campaigns/{raw.Campaigns[0].Id}/results?{query}", Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains($"\"{field}\"", await r.Content.ReadAsStringAsync(Ct));
        }
        var missing = await admin.GetAsync($"/api/v1/campaigns/{Guid.NewGuid()}/results", Ct);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AGoalTurnsIntoTheFunnelItNeedsFromOverriddenOrMeasuredRates()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        var (_, marketerPassword) = await app.CreateUserAsync("mia@example.com", Roles.Marketing);
        var (_, repPassword) = await app.CreateUserAsync("rob@example.com", Roles.Sales);
        var marketer = app.CreateBrowserClient();
        await TandemApp.SignInAsync(marketer, "mia@example.com", marketerPassword);
        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rob@example.com", repPassword);

        // Bad goals: field errors, nothing written; a rep does not set the shared goal.
        foreach (var (body, field) in new[]
        {
            ("""{"period":"Quarter","startsOn":"2026-11-01","amount":1000}""", "startsOn"),
            ("""{"period":"Quarter","startsOn":"2026-10-01","amount":-5}""", "amount"),
            ("""{"period":"Quarter","startsOn":"2026-10-01","amount":1000,"currency":"XYZ"}""", "currency"),
            ("""{"period":"Quarter","startsOn":"2026-10-01","amount":1000,"mqlToSqlRate":1.5}""", "mqlToSqlRate"),
            ("""{"period":"Quarter","startsOn":"2026-10-01","amount":1000,"segment":"a\u0000b"}""", "segment"),
            ("""{"period":7,"startsOn":"2026-10-01","amount":1000}""", "period"),
        })
        {
            var r = await marketer.PostAsync("/api/v1/goals/", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains($"\"{field}\"", await r.Content.ReadAsStringAsync(Ct));
        }
        var refused = await rep.PostAsJsonAsync("/api/v1/goals/", new { period = "Month", startsOn = "2026-12-01", amount = 1000 }, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(raw.Goals.Count, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().RevenueGoals.CountAsync(Ct)));

        // Every rate overridden: 120,000 / 10,000 = 12 wins; / 0.25 = 48 opportunities; / 0.5 = 96 SQLs; / 0.4 = 240 MQLs; / 0.3 = 800 leads.
        var created = await marketer.PostAsJsonAsync("/api/v1/goals/", new
        {
            period = "Month",
            startsOn = "2026-12-01",
            amount = 120_000m,
            currency = "EUR",
            segment = "Enterprise",
            averageDealSize = 10_000m,
            opportunityToWonRate = 0.25m,
            sqlToOpportunityRate = 0.5m,
            mqlToSqlRate = 0.4m,
            leadToMqlRate = 0.3m,
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var id = (await created.Content.ReadFromJsonAsync<RevenueGoal>(JsonOptions, Ct))!.Id;
        var plan = (await admin.GetFromJsonAsync<GoalPlan>($"/api/v1/goals/{id}/plan", JsonOptions, Ct))!;
        Assert.Equal((12, 48, 96, 240, 800), (plan.RequiredWonDeals, plan.RequiredOpportunities, plan.RequiredSqls, plan.RequiredMqls, plan.RequiredLeads));
        Assert.Equal(240, plan.CommittedMqls);
        Assert.True(plan.MqlToSql.Overridden);

        // Adopting the planner's MQL number as marketing's commitment: writers only; stored on the goal.
        Assert.Equal(HttpStatusCode.Forbidden, (await rep.PostAsync($"/api/v1/goals/{id}/adopt-commitment", null, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await marketer.PostAsync($"/api/v1/goals/{Guid.NewGuid()}/adopt-commitment", null, Ct)).StatusCode);
        var adopted = await marketer.PostAsync($"/api/v1/goals/{id}/adopt-commitment", null, Ct);
        Assert.Equal(HttpStatusCode.OK, adopted.StatusCode);
        Assert.Equal(240, (await adopted.Content.ReadFromJsonAsync<RevenueGoal>(JsonOptions, Ct))!.CommittedMqls);
        Assert.Equal(240, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().RevenueGoals.Where(g => g.Id == id).Select(g => g.CommittedMqls).SingleAsync(Ct)));

        // A planner with no MQL number (nothing measured before 2020, no override): a field error, nothing written.
        var early = await marketer.PostAsJsonAsync("/api/v1/goals/", new { period = "Month", startsOn = "2020-01-01", amount = 5_000m, currency = "EUR" }, Ct);
        var earlyId = (await early.Content.ReadFromJsonAsync<RevenueGoal>(JsonOptions, Ct))!.Id;
        var none = await marketer.PostAsync($"/api/v1/goals/{earlyId}/adopt-commitment", null, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, none.StatusCode);
        Assert.Contains("\"committedMqls\"", await none.Content.ReadAsStringAsync(Ct));
        Assert.Null(await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().RevenueGoals.Where(g => g.Id == earlyId).Select(g => g.CommittedMqls).SingleAsync(Ct)));

        // Nothing overridden: the rates measured over the six months before the period, each step rounded up.
        var quarter = raw.Goals.Single(g => g.StartsOn == new DateOnly(2026, 10, 1));
        var measured = (await admin.GetFromJsonAsync<GoalPlan>($"/api/v1/goals/{quarter.Id}/plan", JsonOptions, Ct))!;
        var before = (await admin.GetFromJsonAsync<KpiSet>("/api/v1/reports/kpis?from=2026-04-01&to=2026-09-30", Ct))!;
        var during = (await admin.GetFromJsonAsync<KpiSet>("/api/v1/reports/kpis?from=2026-10-01&to=2026-12-31", Ct))!;
        Assert.Equal(before.CloseRatio, measured.OpportunityToWon.Value);
        Assert.Equal(before.StageConversion.MqlToSql, measured.MqlToSql.Value);
        Assert.Equal(Math.Round(before.WonRevenue / before.WonDeals, 2, MidpointRounding.AwayFromZero), measured.AverageDealSize.Value);
        var wins = (int)Math.Ceiling(120_000m / measured.AverageDealSize.Value!.Value);
        Assert.Equal(wins, measured.RequiredWonDeals);
        Assert.Equal((int)Math.Ceiling(wins / before.CloseRatio!.Value), measured.RequiredOpportunities);
        Assert.Equal(during.WonRevenue, measured.Won);
        Assert.Equal(Math.Round(during.WonRevenue / 120_000m, 4, MidpointRounding.AwayFromZero), measured.Attainment);
    }

    [Fact]
    public async Task BadQueriesGetFieldErrorsAndAnEmptyPeriodGivesZeros()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        foreach (var (query, field) in new[]
        {
            ("model=sideways", "model"), ("model=3", "model"), ("conversion=signup", "conversion"), ("by=planet", "by"),
            ("from=2026-13-01", "from"), ("from=2026-11-01&to=2026-10-01", "to"), ("from=2010-01-01&to=2026-01-01", "from"), ("to=%00", "to"),
        })
        {
            var r = await admin.GetAsync($"/api/v1/reports/attribution?{query}", Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains($"\"{field}\"", await r.Content.ReadAsStringAsync(Ct));
        }
        foreach (var (query, field) in new[] { ("channel=tv", "channel"), ("channel=1", "channel"), ("campaignId=x", "campaignId"), ("model=x", "model") })
        {
            var r = await admin.GetAsync($"/api/v1/reports/kpis?{query}", Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains($"\"{field}\"", await r.Content.ReadAsStringAsync(Ct));
        }
        var empty = await admin.GetFromJsonAsync<AttributionResult>("/api/v1/reports/attribution?model=w&conversion=won&from=2026-01-01&to=2026-01-31", Ct);
        Assert.Equal(0m, empty!.Total);
        Assert.Empty(empty.Rows);
        var kpis = await admin.GetFromJsonAsync<KpiSet>("/api/v1/reports/kpis?from=2026-01-01&to=2026-01-31", Ct);
        Assert.Equal(0, kpis!.NewLeads);
        Assert.Null(kpis.CloseRatio);
        Assert.Null(kpis.Cac);
    }

    // ---------- The independent computation: plain loops over the raw rows ----------

    private sealed class PlainConverter(List<ExchangeRate> rates)
    {
        public decimal? ToEur(decimal amount, string currency, DateOnly on)
        {
            if (currency == "EUR")
                return amount;
            var direct = rates.Where(r => r.FromCurrency == currency && r.ToCurrency == "EUR").Select(r => (r.On, r.Rate));
            var inverse = rates.Where(r => r.FromCurrency == "EUR" && r.ToCurrency == currency).Select(r => (r.On, Rate: 1m / r.Rate));
            var all = direct.Concat(inverse).OrderBy(r => r.On).ToList();
            if (all.Count == 0)
                return null;
            var rate = all.LastOrDefault(r => r.On <= on) is { Rate: > 0 } found ? found.Rate : all[0].Rate;
            return Math.Round(amount * rate, 2, MidpointRounding.AwayFromZero);
        }
    }

    private static DateTimeOffset Start => StartOfDay(From);
    private static DateTimeOffset End => StartOfDay(To.AddDays(1));

    private static DateTimeOffset StartOfDay(DateOnly d)
    {
        var local = d.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(local, Paris.GetUtcOffset(local)).ToUniversalTime();
    }

    private static DateOnly LocalDate(DateTimeOffset at) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, Paris).DateTime);
    private static bool InPeriod(DateTimeOffset? at) => at >= Start && at < End;
    private static decimal? R4(int a, int b) => b == 0 ? null : Math.Round((decimal)a / b, 4, MidpointRounding.AwayFromZero);

    private static decimal[] PlainWeights(string model, List<DateTimeOffset> times, int leadCreation, int dealCreation, DateTimeOffset at)
    {
        var n = times.Count;
        var w = new decimal[n];
        if (n == 1)
            return [1m];
        var roles = new List<(int, decimal)>();
        decimal others;
        switch (model)
        {
            case "first": w[0] = 1; return w;
            case "last": w[n - 1] = 1; return w;
            case "linear": return [.. Enumerable.Repeat(1m / n, n)];
            case "timedecay":
                var raw = times.Select(t => Math.Pow(0.5, (at - t).TotalDays / 7)).ToList();
                return [.. raw.Select(x => (decimal)(x / raw.Sum()))];
            case "u": roles = [(0, 40), (leadCreation, 40)]; others = 20; break;
            case "w": roles = [(0, 30), (leadCreation, 30), (dealCreation, 30)]; others = 10; break;
            case "fullpath": roles = [(0, 22.5m), (leadCreation, 22.5m), (dealCreation, 22.5m), (n - 1, 22.5m)]; others = 10; break;
            case "j": roles = [(0, 20), (n - 1, 60)]; others = 20; break;
            default: roles = [(0, 60), (n - 1, 20)]; others = 20; break;
        }
        var holders = roles.Select(r => r.Item1).Distinct().ToList();
        var rest = Enumerable.Range(0, n).Except(holders).ToList();
        foreach (var (i, share) in roles)
            w[i] += share / 100m;
        if (rest.Count > 0)
        {
            foreach (var i in rest)
                w[i] = others / 100m / rest.Count;
            return w;
        }
        var sum = w.Sum();
        return [.. w.Select(x => x / sum)];
    }

    private static (decimal Total, Dictionary<string, (decimal Credit, decimal Conversions, int Count)> Rows) PlainAttribution(Raw raw, PlainConverter fx,
        string model, string conversion, string by)
    {
        var conversions = new List<(Guid Lead, DateTimeOffset At, DateTimeOffset? DealAt, decimal Value)>();
        if (conversion == "lead")
        {
            conversions.AddRange(raw.Leads.Where(l => InPeriod(l.CreatedAt)).Select(l => (l.Id, l.CreatedAt, (DateTimeOffset?)null, 1m)));
        }
        else
        {
            foreach (var d in raw.Deals)
            {
                var at = conversion == "won" ? d.ClosedAt : d.CreatedAt;
                if ((conversion == "won" && d.Status != DealStatus.Won) || !InPeriod(at))
                    continue;
                if (fx.ToEur(d.Amount, d.Currency, LocalDate(at!.Value)) is { } value)
                    conversions.Add((d.LeadId, at.Value, d.CreatedAt, value));
            }
        }
        var rows = new Dictionary<string, (decimal Credit, decimal Conversions, int Count)>();
        foreach (var c in conversions)
        {
            var lead = raw.Leads.Single(l => l.Id == c.Lead);
            var touches = raw.Activities
                .Where(a => a.LeadId == c.Lead && a.OccurredAt <= c.At && a.Type is not (ActivityType.Call or ActivityType.Meeting or ActivityType.EmailSent or ActivityType.Note))
                .OrderBy(a => a.OccurredAt).ThenBy(a => a.Id).ToList();
            if (touches.Count == 0)
            {
                Add("none", c.Value, 1m);
                continue;
            }
            var times = touches.Select(t => t.OccurredAt).ToList();
            int LastBefore(DateTimeOffset moment) => Math.Max(0, times.FindLastIndex(t => t <= moment));
            var weights = PlainWeights(model, times, LastBefore(lead.CreatedAt), conversion == "lead" ? times.Count - 1 : LastBefore(c.DealAt!.Value), c.At);
            var credit = Split(c.Value, weights, conversion == "lead" ? 6 : 2);
            var share = Split(1m, weights, 6);
            for (var i = 0; i < touches.Count; i++)
            {
                var t = touches[i];
                var key = by switch
                {
                    "campaign" => t.CampaignId?.ToString() ?? "unknown",
                    "channel" => t.Channel?.ToString() ?? "unknown",
                    _ => string.IsNullOrWhiteSpace(t.UtmSource) ? "unknown" : t.UtmSource.Trim().ToLowerInvariant(),
                };
                Add(key, credit[i], share[i]);
            }
        }
        return (conversions.Sum(c => c.Value), rows);

        void Add(string key, decimal credit, decimal conv)
        {
            var (a, b, n) = rows.GetValueOrDefault(key);
            rows[key] = (a + credit, b + conv, n + 1);
        }
    }

    private static decimal[] Split(decimal value, decimal[] weights, int decimals)
    {
        var parts = weights.Take(weights.Length - 1).Select(w => Math.Round(value * w / weights.Sum(), decimals, MidpointRounding.AwayFromZero)).ToList();
        parts.Add(value - parts.Sum());
        return [.. parts];
    }

    private sealed record Expected(int NewLeads, int Mqls, int Sqls, int Opportunities, decimal?[] Conversion, int Dispositioned, int Accepted,
        decimal? LeadQuality, decimal? MeetingQuality, int Won, int Lost, decimal WonRevenue, decimal? SalesCycle, decimal?[] TimeInStage, decimal Spend,
        decimal SalesCost, int NewCustomers, int AtStart, int AtEnd, int LostCustomers, decimal? Arpa, decimal? Ltv, decimal Attributed, decimal? Goal,
        int TopSourceTotal);

    private static Expected PlainKpis(Raw raw, PlainConverter fx, Guid? campaign)
    {
        var leads = raw.Leads.Where(l => campaign is null || l.FirstCampaignId == campaign).ToList();
        var ids = leads.Select(l => l.Id).ToHashSet();
        var transitions = raw.Transitions.Where(t => ids.Contains(t.LeadId)).ToList();
        DateTimeOffset? FirstInto(Guid lead, LifecycleStage stage) =>
            transitions.Where(t => t.LeadId == lead && t.To == stage).Select(t => (DateTimeOffset?)t.At).Min();
        int Entered(LifecycleStage stage) => leads.Count(l => InPeriod(FirstInto(l.Id, stage)));
        LifecycleStage[] order = [LifecycleStage.Subscriber, LifecycleStage.Lead, LifecycleStage.Mql, LifecycleStage.Sql, LifecycleStage.Opportunity, LifecycleStage.Customer, LifecycleStage.Advocate];
        decimal? Cohort(LifecycleStage from, LifecycleStage to)
        {
            var entered = leads.Where(l => InPeriod(FirstInto(l.Id, from))).ToList();
            var reached = entered.Count(l => transitions.Any(t => t.LeadId == l.Id && Array.IndexOf(order, t.To) >= Array.IndexOf(order, to) && t.At >= FirstInto(l.Id, from)));
            return R4(reached, entered.Count);
        }
        var verdicts = transitions.Where(t => InPeriod(t.At) && (t.ByRule == DispositionRules.Accept || (t.ByRule?.StartsWith(DispositionRules.RejectPrefix) ?? false)))
            .GroupBy(t => t.LeadId).ToList();
        var ratings = raw.Ratings.Where(r => ids.Contains(r.LeadId) && InPeriod(r.CreatedAt)).ToList();
        var meetings = ratings.Where(r => r.MeetingQuality is not null).ToList();
        var deals = raw.Deals.Where(d => ids.Contains(d.LeadId)).ToList();
        var won = deals.Where(d => d.Status == DealStatus.Won && InPeriod(d.ClosedAt)).ToList();
        var revenue = won.Sum(d => fx.ToEur(d.Amount, d.Currency, LocalDate(d.ClosedAt!.Value)) ?? 0m);

        decimal? Median(List<double> days)
        {
            if (days.Count == 0)
                return null;
            var s = days.Order().Select(d => (decimal)d).ToList();
            var m = s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
            return Math.Round(m, 1, MidpointRounding.AwayFromZero);
        }
        var cycle = Median([.. leads.Where(l => InPeriod(FirstInto(l.Id, LifecycleStage.Customer))).Select(l => (FirstInto(l.Id, LifecycleStage.Customer)!.Value - l.CreatedAt).TotalDays)]);
        var stays = new Dictionary<LifecycleStage, List<double>>();
        foreach (var g in transitions.Where(t => t.At < End).GroupBy(t => t.LeadId))
        {
            var list = g.OrderBy(t => t.At).ThenBy(t => t.Id).ToList();
            for (var i = 0; i + 1 < list.Count; i++)
            {
                if (!InPeriod(list[i + 1].At))
                    continue;
                if (!stays.ContainsKey(list[i].To))
                    stays[list[i].To] = [];
                stays[list[i].To].Add((list[i + 1].At - list[i].At).TotalDays);
            }
        }

        var spend = raw.Spend.Where(s => s.On >= From && s.On <= To && (campaign is null || s.CampaignId == campaign))
            .Sum(s => fx.ToEur(s.Amount, raw.Campaigns.Single(c => c.Id == s.CampaignId).Currency, s.On) ?? 0m);
        var salesCost = 0m;
        if (campaign is null)
        {
            foreach (var s in raw.SalesCosts)
            {
                var days = Enumerable.Range(0, s.Month.AddMonths(1).DayNumber - s.Month.DayNumber).Select(s.Month.AddDays).ToList();
                var inside = days.Count(d => d >= From && d <= To);
                if (inside > 0)
                    salesCost += fx.ToEur(Math.Round(s.Amount * inside / days.Count, 2, MidpointRounding.AwayFromZero), s.Currency, s.Month) ?? 0m;
            }
        }

        var accounts = raw.Accounts.Where(a => a.CustomerSince is not null && (campaign is null || leads.Any(l => l.AccountId == a.Id))).ToList();
        var atStart = accounts.Count(a => a.CustomerSince < Start && (a.ChurnedAt is null || a.ChurnedAt >= Start));
        var atEnd = accounts.Where(a => a.CustomerSince < End && (a.ChurnedAt is null || a.ChurnedAt >= End)).ToList();
        var lostCustomers = accounts.Count(a => InPeriod(a.ChurnedAt));
        var monthly = atEnd.Select(a => (a.Mrr ?? (a.ContractValue is { } v ? Math.Round(v / 12m, 2, MidpointRounding.AwayFromZero) : null)) is { } m
            ? fx.ToEur(m, a.ContractCurrency ?? "EUR", To) : null).Where(m => m is not null).Select(m => m!.Value).ToList();
        decimal? arpa = monthly.Count == 0 ? null : Math.Round(monthly.Sum() / monthly.Count, 2, MidpointRounding.AwayFromZero);
        decimal? ltv = null;
        if (arpa is not null && atStart > 0)
        {
            var months = (To.DayNumber - From.DayNumber + 1) / (365.25m / 12m);
            var monthlyChurn = (decimal)lostCustomers / atStart / months;
            var lifetime = monthlyChurn == 0 ? 60m : Math.Min(60m, 1m / monthlyChurn);
            ltv = Math.Round(arpa.Value * 0.75m * lifetime, 2, MidpointRounding.AwayFromZero);
        }

        var wonIds = won.Select(d => d.Id).ToHashSet();
        var attributed = 0m;
        foreach (var d in won)
        {
            var value = fx.ToEur(d.Amount, d.Currency, LocalDate(d.ClosedAt!.Value));
            if (value is null)
                continue;
            var lead = raw.Leads.Single(l => l.Id == d.LeadId);
            var touches = raw.Activities
                .Where(a => a.LeadId == d.LeadId && a.OccurredAt <= d.ClosedAt && a.Type is not (ActivityType.Call or ActivityType.Meeting or ActivityType.EmailSent or ActivityType.Note))
                .OrderBy(a => a.OccurredAt).ThenBy(a => a.Id).ToList();
            if (touches.Count == 0)
                continue;
            var times = touches.Select(t => t.OccurredAt).ToList();
            int LastBefore(DateTimeOffset moment) => Math.Max(0, times.FindLastIndex(t => t <= moment));
            var credit = Split(value.Value, PlainWeights("w", times, LastBefore(lead.CreatedAt), LastBefore(d.CreatedAt), d.ClosedAt!.Value), 2);
            for (var i = 0; i < touches.Count; i++)
            {
                if (touches[i].CampaignId is { } c && (campaign is null || c == campaign))
                    attributed += credit[i];
            }
        }

        decimal? goal = null;
        foreach (var g in raw.Goals.Where(g => g.Segment is null))
        {
            var days = Enumerable.Range(0, g.EndsOn.DayNumber - g.StartsOn.DayNumber).Select(g.StartsOn.AddDays).ToList();
            var inside = days.Count(d => d >= From && d <= To);
            if (inside > 0)
                goal = (goal ?? 0m) + (fx.ToEur(Math.Round(g.Amount * inside / days.Count, 2, MidpointRounding.AwayFromZero), g.Currency, g.StartsOn) ?? 0m);
        }

        return new Expected(
            leads.Count(l => InPeriod(l.CreatedAt)), Entered(LifecycleStage.Mql), Entered(LifecycleStage.Sql), deals.Count(d => InPeriod(d.CreatedAt)),
            [Cohort(LifecycleStage.Lead, LifecycleStage.Mql), Cohort(LifecycleStage.Mql, LifecycleStage.Sql), Cohort(LifecycleStage.Sql, LifecycleStage.Opportunity),
                Cohort(LifecycleStage.Opportunity, LifecycleStage.Customer)],
            verdicts.Count, verdicts.Count(g => g.Any(t => t.ByRule == DispositionRules.Accept)),
            ratings.Count == 0 ? null : Math.Round((decimal)ratings.Sum(r => r.LeadQuality) / ratings.Count, 2, MidpointRounding.AwayFromZero),
            meetings.Count == 0 ? null : Math.Round((decimal)meetings.Sum(r => r.MeetingQuality!.Value) / meetings.Count, 2, MidpointRounding.AwayFromZero),
            won.Count, deals.Count(d => d.Status == DealStatus.Lost && InPeriod(d.ClosedAt)), revenue, cycle,
            [Median(stays.GetValueOrDefault(LifecycleStage.Lead) ?? []), Median(stays.GetValueOrDefault(LifecycleStage.Mql) ?? []),
                Median(stays.GetValueOrDefault(LifecycleStage.Sql) ?? []), Median(stays.GetValueOrDefault(LifecycleStage.Opportunity) ?? [])],
            spend, salesCost, accounts.Count(a => InPeriod(a.CustomerSince)), atStart, atEnd.Count, lostCustomers, arpa, ltv, attributed, goal,
            leads.Where(l => InPeriod(l.CreatedAt)).GroupBy(l => (l.FirstChannel, string.IsNullOrWhiteSpace(l.FirstSource) ? null : l.FirstSource.Trim().ToLowerInvariant()))
                .Select(g => g.Count()).OrderDescending().Take(10).Sum());
    }
}

public sealed class ClosedLoopReportsOnSqlite() : ClosedLoopReportTests(DatabaseProvider.Sqlite);

public sealed class ClosedLoopReportsOnPostgres() : ClosedLoopReportTests(DatabaseProvider.Postgres);
