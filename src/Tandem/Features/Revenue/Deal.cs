namespace Tandem.Features.Revenue;

/// <summary>Open, or closed as won or lost. Derived from <see cref="Deal.Stage"/> and kept for indexes and old queries.</summary>
public enum DealStatus
{
    Open,
    Won,
    Lost,
}

/// <summary>Pipeline stages of an opportunity, each with a default win probability (<see cref="DealStages.DefaultProbability"/>).</summary>
public enum DealStage
{
    Qualification,
    NeedsAnalysis,
    Proposal,
    Negotiation,
    Won,
    Lost,
}

/// <summary>A first sale, the renewal of a subscription, or an upsell to an existing customer.</summary>
public enum DealKind
{
    NewBusiness,
    Renewal,
    Upsell,
}

/// <summary>The catalogue of reasons a deal is lost.</summary>
public enum LossReason
{
    Price,
    Competitor,
    NoBudget,
    NoDecision,
    Timing,
    ProductFit,
    Unresponsive,
    Other,
}

/// <summary>The catalogue of reasons a deal is won.</summary>
public enum WinReason
{
    ProductFit,
    Price,
    Relationship,
    Timing,
    Referral,
    Other,
}

/// <summary>
/// An opportunity (glossary: Opportunity / Opportunité) opened by sales for a lead (and its account), with an amount in its own
/// currency, a pipeline stage with a win probability, an expected close, and once closed won or lost with a reason from a catalogue.
/// </summary>
public sealed class Deal
{
    public const int MaxName = 200;
    public const int MaxNote = 2000;

    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public Guid LeadId { get; set; }
    public Guid? AccountId { get; set; }
    public Guid? OwnerId { get; set; }
    public DealKind Kind { get; set; } = DealKind.NewBusiness;
    /// <summary>For a renewal or an upsell: the deal it renews or extends.</summary>
    public Guid? ParentDealId { get; set; }
    /// <summary>The amount of the deal (for a subscription: its contract value), in <see cref="Currency"/>.</summary>
    public decimal Amount { get; set; }
    /// <summary>ISO 4217 code, upper case.</summary>
    public string Currency { get; set; } = "EUR";
    /// <summary>Monthly recurring revenue when the deal is a subscription, in <see cref="Currency"/>.</summary>
    public decimal? Mrr { get; set; }
    public DealStage Stage { get; set; } = DealStage.Qualification;
    public DealStatus Status { get; set; } = DealStatus.Open;
    /// <summary>Win probability in percent, overriding the stage's default; null = the stage's default.</summary>
    public int? Probability { get; set; }
    public DateOnly? ExpectedCloseOn { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset StageChangedAt { get; set; }
    /// <summary>When it was won or lost (the last close; a deal reopened then closed again keeps the new date).</summary>
    public DateTimeOffset? ClosedAt { get; set; }
    public WinReason? WinReason { get; set; }
    public LossReason? LossReason { get; set; }
    /// <summary>Free text about the close (why lost, why won).</summary>
    public string? LostReason { get; set; }
    /// <summary>Where it came from: <c>ui</c>, <c>api</c>, <c>import:&lt;id&gt;</c>, <c>demo</c>.</summary>
    public string? Source { get; set; }

    public int EffectiveProbability => Probability ?? DealStages.DefaultProbability(Stage);
}

/// <summary>One move of a deal between stages: from, to, when, who. Never updated, never deleted.</summary>
public sealed class DealStageChange
{
    public Guid Id { get; set; } = Ids.New();
    public Guid DealId { get; set; }
    public DealStage? From { get; set; }
    public DealStage To { get; set; }
    public DateTimeOffset At { get; set; }
    public Guid? ByUserId { get; set; }
    public string? Note { get; set; }
}

public static class DealStages
{
    public static readonly DealStage[] Open = [DealStage.Qualification, DealStage.NeedsAnalysis, DealStage.Proposal, DealStage.Negotiation];

    public static int DefaultProbability(DealStage stage) => stage switch
    {
        DealStage.Qualification => 10,
        DealStage.NeedsAnalysis => 25,
        DealStage.Proposal => 50,
        DealStage.Negotiation => 75,
        DealStage.Won => 100,
        _ => 0,
    };

    public static DealStatus StatusOf(DealStage stage) => stage switch
    {
        DealStage.Won => DealStatus.Won,
        DealStage.Lost => DealStatus.Lost,
        _ => DealStatus.Open,
    };
}
