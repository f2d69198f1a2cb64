using Tandem.Features.Leads;
using Tandem.Features.Revenue;

namespace Tandem.Features.Demo;

/// <summary>The revenue side of the demo: stage history, catalogue reasons, two more currencies, customers, renewals, upsells, one churn, rates, a goal, sales costs.</summary>
internal sealed record DemoRevenueData(List<DealStageChange> Changes, List<Deal> ExtraDeals, List<ExchangeRate> Rates, List<SalesCost> SalesCosts,
    RevenueSettings Settings, RevenueGoal Goal);

/// <summary>
/// Completes the deals <see cref="DemoDataBuilder"/> made: pure, with its own seeded random so the lead history stays as it was.
/// Deals of British leads are in GBP, of Swiss leads in CHF (the rest in EUR), with weekly rates to EUR over the period.
/// </summary>
internal static class DemoRevenue
{
    internal static readonly (string Currency, decimal ToEur)[] Foreign = [("GBP", 1.17m), ("CHF", 1.05m)];

    private static readonly (string Text, LossReason Reason)[] LossCatalogue =
    [
        ("Price too high", LossReason.Price), ("Chose a competitor", LossReason.Competitor), ("No decision (status quo)", LossReason.NoDecision),
        ("Budget frozen", LossReason.NoBudget), ("Missing ERP integration", LossReason.ProductFit), ("Project postponed", LossReason.Timing),
    ];

    public static DemoRevenueData Build(DemoData data, DateTimeOffset now)
    {
        var random = new Random(DemoSeeder.RandomSeed + 15);
        var leads = data.Leads.ToDictionary(l => l.Id);
        var accounts = data.Accounts.ToDictionary(a => a.Id);
        var changes = new List<DealStageChange>();
        var extra = new List<Deal>();

        foreach (var deal in data.Deals)
        {
            var lead = leads[deal.LeadId];
            var currency = lead.Country switch { "GB" => "GBP", "CH" => "CHF", _ => "EUR" };
            if (currency != "EUR")
            {
                var toEur = Foreign.First(f => f.Currency == currency).ToEur;
                deal.Amount = decimal.Round(deal.Amount / toEur, 0);
                deal.Currency = currency;
            }
            deal.Mrr = decimal.Round(deal.Amount / 12m, 2);
            deal.ExpectedCloseOn = DateOnly.FromDateTime((deal.ClosedAt ?? deal.CreatedAt.AddDays(20 + random.Next(0, 40))).UtcDateTime);
            History(deal, changes, now, random);
            if (deal.Status == DealStatus.Lost)
            {
                deal.LossReason = LossCatalogue.FirstOrDefault(c => c.Text == deal.LostReason).Reason;
                if (!LossCatalogue.Any(c => c.Text == deal.LostReason))
                    deal.LossReason = LossReason.Other;
            }
            if (deal.Status == DealStatus.Won)
                deal.WinReason = (WinReason)random.Next(0, 5);
        }

        // Customers: each won deal with an account makes it a customer (the first win its start, the latest its contract).
        foreach (var deal in data.Deals.Where(d => d.Status == DealStatus.Won && d.AccountId is not null).OrderBy(d => d.ClosedAt))
            Win(accounts[deal.AccountId!.Value], deal);

        // Renewals (open, due at the renewal date) and upsells (some won) for a share of the customers.
        foreach (var deal in data.Deals.Where(d => d.Status == DealStatus.Won && d.AccountId is not null).OrderBy(d => d.ClosedAt).ToList())
        {
            var roll = random.NextDouble();
            var account = accounts[deal.AccountId!.Value];
            if (roll < 0.25)
            {
                var at = deal.ClosedAt!.Value.AddDays(14 + random.Next(0, 14));
                if (at > now)
                    continue;
                var renewal = Child(deal, DealKind.Renewal, $"{account.Name} — renewal", deal.Amount, at);
                renewal.ExpectedCloseOn = account.RenewalOn;
                changes.Add(Change(renewal, null, DealStage.Qualification, at, "Renewal opened"));
                extra.Add(renewal);
            }
            else if (roll < 0.45)
            {
                var at = deal.ClosedAt!.Value.AddDays(7 + random.Next(0, 21));
                if (at > now)
                    continue;
                var amount = decimal.Round(deal.Amount * (0.15m + (decimal)random.NextDouble() * 0.25m), 0);
                var upsell = Child(deal, DealKind.Upsell, $"{account.Name} — extra seats", amount, at);
                changes.Add(Change(upsell, null, DealStage.Qualification, at, "Upsell opened"));
                var closeAt = at.AddDays(5 + random.Next(0, 10));
                if (closeAt <= now && random.NextDouble() < 0.6)
                {
                    changes.Add(Change(upsell, DealStage.Qualification, DealStage.Won, closeAt, null));
                    upsell.Stage = DealStage.Won;
                    upsell.Status = DealStatus.Won;
                    upsell.ClosedAt = closeAt;
                    upsell.StageChangedAt = closeAt;
                    upsell.UpdatedAt = closeAt;
                    upsell.WinReason = WinReason.Relationship;
                    Win(account, upsell);
                }
                extra.Add(upsell);
            }
        }

        // One churn: the oldest customer with no upsell left a few days ago.
        var upsold = extra.Where(d => d.Kind == DealKind.Upsell).Select(d => d.AccountId).ToHashSet();
        if (accounts.Values.Where(a => a.CustomerSince is not null && !upsold.Contains(a.Id) && a.CustomerSince < now.AddDays(-20))
                .OrderBy(a => a.CustomerSince).FirstOrDefault() is { } churned)
        {
            churned.ChurnedAt = now.AddDays(-5);
            churned.ChurnReason = "Moved to an in-house tool after a reorganisation";
        }

        // Weekly rates to EUR from before the first deal until today, wobbling ±2 % around the reference.
        var rates = new List<ExchangeRate>();
        var first = DateOnly.FromDateTime(data.Deals.Select(d => d.CreatedAt).DefaultIfEmpty(now).Min().UtcDateTime).AddDays(-14);
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        foreach (var (currency, toEur) in Foreign)
            for (var on = first; on <= today; on = on.AddDays(7))
                rates.Add(new ExchangeRate
                {
                    FromCurrency = currency,
                    ToCurrency = "EUR",
                    On = on,
                    Rate = decimal.Round(toEur * (0.98m + (decimal)random.NextDouble() * 0.04m), 6),
                    CreatedAt = now,
                });

        // Sales costs for each month of the history; a quarterly goal for the current quarter.
        var costs = new List<SalesCost>();
        for (var month = new DateOnly(first.Year, first.Month, 1); month <= today; month = month.AddMonths(1))
            costs.Add(new SalesCost { Month = month, Amount = 38_000m + random.Next(0, 8) * 1_000m, Currency = "EUR", Note = "Sales salaries and tools" });
        var quarter = new DateOnly(today.Year, (today.Month - 1) / 3 * 3 + 1, 1);
        var goal = new RevenueGoal
        {
            Period = GoalPeriod.Quarter,
            StartsOn = quarter,
            Amount = 400_000m,
            Currency = "EUR",
            AcceptanceFloor = 0.6m,
            RatingFloor = 3m,
            Note = "Shared goal agreed at the quarterly smarketing review",
            CreatedAt = now.AddDays(-Math.Min(30, today.DayNumber - quarter.DayNumber)),
            UpdatedAt = now,
        };
        var settings = new RevenueSettings { ReportingCurrency = "EUR", TimeZone = "Europe/Paris", UpdatedAt = now, UpdatedBy = "demo" };
        return new DemoRevenueData(changes, extra, rates, costs, settings, goal);
    }

    /// <summary>The stage history of a deal: created in Qualification, then forward through the open stages, then closed.</summary>
    private static void History(Deal deal, List<DealStageChange> changes, DateTimeOffset now, Random random)
    {
        changes.Add(Change(deal, null, DealStage.Qualification, deal.CreatedAt, "Deal opened"));
        var end = deal.ClosedAt ?? now;
        var span = end - deal.CreatedAt;
        // How far an open deal got: older deals further along.
        var reached = deal.Status switch
        {
            DealStatus.Won => DealStage.Negotiation,
            DealStatus.Lost => DealStages.Open[random.Next(0, 4)],
            _ => DealStages.Open[Math.Min(3, (int)(span.TotalDays / 8) + random.Next(0, 2))],
        };
        var from = DealStage.Qualification;
        var steps = Array.IndexOf(DealStages.Open, reached);
        for (var i = 1; i <= steps; i++)
        {
            var at = deal.CreatedAt + span * (i / (double)(steps + 1));
            changes.Add(Change(deal, from, DealStages.Open[i], at, null));
            from = DealStages.Open[i];
        }
        if (deal.Status == DealStatus.Open)
        {
            deal.Stage = from;
            deal.StageChangedAt = changes[^1].At;
            return;
        }
        changes.Add(Change(deal, from, deal.Stage, deal.ClosedAt!.Value, deal.Status == DealStatus.Lost ? deal.LostReason : null));
    }

    private static DealStageChange Change(Deal deal, DealStage? from, DealStage to, DateTimeOffset at, string? note) =>
        new() { DealId = deal.Id, From = from, To = to, At = at, ByUserId = deal.OwnerId, Note = note };

    private static Deal Child(Deal parent, DealKind kind, string name, decimal amount, DateTimeOffset at) => new()
    {
        Name = name.Length > Deal.MaxName ? name[..Deal.MaxName] : name,
        LeadId = parent.LeadId,
        AccountId = parent.AccountId,
        OwnerId = parent.OwnerId,
        Kind = kind,
        ParentDealId = parent.Id,
        Amount = amount,
        Currency = parent.Currency,
        Mrr = decimal.Round(amount / 12m, 2),
        Stage = DealStage.Qualification,
        Status = DealStatus.Open,
        CreatedAt = at,
        UpdatedAt = at,
        StageChangedAt = at,
        Source = "demo",
    };

    /// <summary>The account side of a win, as <see cref="OpportunityService"/> does it.</summary>
    private static void Win(Account account, Deal deal)
    {
        var on = DateOnly.FromDateTime(deal.ClosedAt!.Value.UtcDateTime);
        account.CustomerSince ??= deal.ClosedAt;
        if (deal.Kind == DealKind.Upsell && account.ContractCurrency == deal.Currency && account.ContractValue is not null)
        {
            account.ContractValue += deal.Amount;
            account.Mrr = (account.Mrr ?? 0) + (deal.Mrr ?? 0);
            return;
        }
        account.ContractValue = deal.Amount;
        account.Mrr = deal.Mrr;
        account.ContractCurrency = deal.Currency;
        account.ContractStartsOn = on;
        account.RenewalOn = on.AddMonths(12);
    }
}
