using Microsoft.EntityFrameworkCore;
using Tandem.Features.Leads;

namespace Tandem.Features.Revenue;

/// <summary>
/// A dated exchange rate: one unit of <see cref="FromCurrency"/> is worth <see cref="Rate"/> units of <see cref="ToCurrency"/> from
/// <see cref="On"/> until the next rate of the pair. Entered by an admin or imported as CSV.
/// </summary>
public sealed class ExchangeRate
{
    public Guid Id { get; set; } = Ids.New();
    public string FromCurrency { get; set; } = "";
    public string ToCurrency { get; set; } = "";
    public DateOnly On { get; set; }
    public decimal Rate { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}

public enum GoalPeriod
{
    Month,
    Quarter,
}

/// <summary>
/// A revenue goal both teams own for a month or a quarter. The planner turns it, with the average deal size and the measured or
/// overridden conversion rates, into the opportunities, SQLs, MQLs and leads it needs; the MQL figure is marketing's SLA commitment.
/// </summary>
public sealed class RevenueGoal
{
    public Guid Id { get; set; } = Ids.New();
    public GoalPeriod Period { get; set; } = GoalPeriod.Quarter;
    /// <summary>The first day of the month or quarter.</summary>
    public DateOnly StartsOn { get; set; }
    public decimal Amount { get; set; }
    public string Currency { get; set; } = "EUR";
    /// <summary>Optional segment (e.g. a team or a persona name) when marketing commits per segment; null = the whole workspace.</summary>
    public string? Segment { get; set; }
    /// <summary>Overrides of the measured figures; null = measured over the previous periods.</summary>
    public decimal? AverageDealSize { get; set; }
    public decimal? LeadToMqlRate { get; set; }
    public decimal? MqlToSqlRate { get; set; }
    public decimal? SqlToOpportunityRate { get; set; }
    public decimal? OpportunityToWonRate { get; set; }
    /// <summary>MQLs marketing commits to deliver; null = the planner's figure.</summary>
    public int? CommittedMqls { get; set; }
    /// <summary>The quality floor of the commitment: acceptance rate (0–1) and mean lead rating (1–5) marketing's MQLs must reach.</summary>
    public decimal? AcceptanceFloor { get; set; }
    public decimal? RatingFloor { get; set; }
    public string? Note { get; set; }
    public Guid? CreatedBy { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    public DateOnly EndsOn => Period == GoalPeriod.Month ? StartsOn.AddMonths(1) : StartsOn.AddMonths(3);
}

/// <summary>The sales cost of a month (salaries, tools), counted in CAC with the marketing spend.</summary>
public sealed class SalesCost
{
    public Guid Id { get; set; } = Ids.New();
    /// <summary>The first day of the month.</summary>
    public DateOnly Month { get; set; }
    public decimal Amount { get; set; }
    public string Currency { get; set; } = "EUR";
    public string? Note { get; set; }
}

/// <summary>Workspace settings of the revenue reports (one row).</summary>
public sealed class RevenueSettings
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    /// <summary>The one currency reports are shown in.</summary>
    public string ReportingCurrency { get; set; } = "EUR";
    /// <summary>IANA time zone of the workspace: weeks, months and the weekly report are cut in it.</summary>
    public string TimeZone { get; set; } = "Europe/Paris";
    /// <summary>Gross margin in percent, for LTV.</summary>
    public decimal GrossMarginPercent { get; set; } = 80m;
    /// <summary>When the weekly smarketing report is sent (in <see cref="TimeZone"/>).</summary>
    public DayOfWeek WeeklyReportDay { get; set; } = DayOfWeek.Monday;
    public int WeeklyReportHour { get; set; } = 8;
    public bool WeeklyReportEnabled { get; set; } = true;
    /// <summary>The scheduled instant (UTC) of the last weekly report sent: a report is due when its instant is later than this.</summary>
    public DateTimeOffset? WeeklyReportLastSentFor { get; set; }
    /// <summary>Sales' side of the SLA: the share (0–1) of due MQLs first-touched within the SLA, and of attempt cadences kept, to call it met.</summary>
    public decimal SlaFirstTouchTarget { get; set; } = 0.9m;
    public decimal SlaAttemptsTarget { get; set; } = 0.9m;
    public DateTimeOffset? UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }
}

public static class RevenueModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<Deal>(e =>
        {
            e.Property(d => d.Name).HasMaxLength(Deal.MaxName);
            e.Property(d => d.Currency).HasMaxLength(3).IsFixedLength();
            e.Property(d => d.LostReason).HasMaxLength(Deal.MaxNote);
            e.Property(d => d.Source).HasMaxLength(100);
            e.Property(d => d.Stage).HasConversion<string>().HasMaxLength(16);
            e.Property(d => d.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(d => d.WinReason).HasConversion<string>().HasMaxLength(16);
            e.Property(d => d.LossReason).HasConversion<string>().HasMaxLength(16);
            e.HasIndex(d => new { d.Status, d.ClosedAt });
            e.HasIndex(d => d.CreatedAt);
            e.HasIndex(d => d.LeadId);
            e.HasIndex(d => d.AccountId);
            e.HasIndex(d => new { d.OwnerId, d.Status });
            e.HasOne<Lead>().WithMany().HasForeignKey(d => d.LeadId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Account>().WithMany().HasForeignKey(d => d.AccountId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Platform.AppUser>().WithMany().HasForeignKey(d => d.OwnerId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<DealStageChange>(e =>
        {
            e.Property(c => c.From).HasConversion<string>().HasMaxLength(16);
            e.Property(c => c.To).HasConversion<string>().HasMaxLength(16);
            e.Property(c => c.Note).HasMaxLength(Deal.MaxNote);
            e.HasIndex(c => new { c.DealId, c.At });
            e.HasOne<Deal>().WithMany().HasForeignKey(c => c.DealId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<ExchangeRate>(e =>
        {
            e.Property(r => r.FromCurrency).HasMaxLength(3).IsFixedLength();
            e.Property(r => r.ToCurrency).HasMaxLength(3).IsFixedLength();
            e.Property(r => r.Rate).HasPrecision(18, 8);
            e.HasIndex(r => new { r.FromCurrency, r.ToCurrency, r.On }).IsUnique();
        });
        builder.Entity<RevenueGoal>(e =>
        {
            e.Property(g => g.Period).HasConversion<string>().HasMaxLength(16);
            e.Property(g => g.Currency).HasMaxLength(3).IsFixedLength();
            e.Property(g => g.Segment).HasMaxLength(100);
            e.Property(g => g.Note).HasMaxLength(2000);
            e.Property(g => g.LeadToMqlRate).HasPrecision(9, 6);
            e.Property(g => g.MqlToSqlRate).HasPrecision(9, 6);
            e.Property(g => g.SqlToOpportunityRate).HasPrecision(9, 6);
            e.Property(g => g.OpportunityToWonRate).HasPrecision(9, 6);
            e.Property(g => g.AcceptanceFloor).HasPrecision(9, 6);
            e.Property(g => g.RatingFloor).HasPrecision(9, 6);
            e.HasIndex(g => new { g.StartsOn, g.Period, g.Segment });
        });
        builder.Entity<SalesCost>(e =>
        {
            e.Property(c => c.Currency).HasMaxLength(3).IsFixedLength();
            e.Property(c => c.Note).HasMaxLength(500);
            e.HasIndex(c => c.Month);
        });
        builder.Entity<RevenueSettings>(e =>
        {
            e.HasKey(s => s.Id);
            e.Property(s => s.Id).ValueGeneratedNever();
            e.Property(s => s.ReportingCurrency).HasMaxLength(3).IsFixedLength();
            e.Property(s => s.TimeZone).HasMaxLength(64);
            e.Property(s => s.WeeklyReportDay).HasConversion<string>().HasMaxLength(16);
            e.Property(s => s.GrossMarginPercent).HasPrecision(9, 4);
            e.Property(s => s.SlaFirstTouchTarget).HasPrecision(9, 4);
            e.Property(s => s.SlaAttemptsTarget).HasPrecision(9, 4);
            e.Property(s => s.UpdatedBy).HasMaxLength(256);
        });
    }
}
