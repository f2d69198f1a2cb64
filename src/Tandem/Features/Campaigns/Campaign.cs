namespace Tandem.Features.Campaigns;

/// <summary>The kind of source a touch came from, grouped for reports (glossary: Channel / Canal).</summary>
public enum Channel
{
    OrganicSearch,
    PaidSearch,
    OrganicSocial,
    PaidSocial,
    Email,
    Events,
    Referral,
    Direct,
    Partner,
    Other,
}

public enum CampaignStatus
{
    Draft,
    Active,
    Flagged,
    Paused,
    Ended,
}

/// <summary>A marketing action with a channel, dates, a budget and spend lines.</summary>
public sealed class Campaign
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public Channel Channel { get; set; }
    public CampaignStatus Status { get; set; } = CampaignStatus.Draft;
    public DateOnly? StartsOn { get; set; }
    public DateOnly? EndsOn { get; set; }
    public decimal Budget { get; set; }
    public string Currency { get; set; } = "EUR";
    public Guid? OwnerId { get; set; }
    public string? UtmCampaign { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public List<CampaignSpend> Spend { get; set; } = [];
}

/// <summary>One dated spend line of a campaign, in the campaign's currency.</summary>
public sealed class CampaignSpend
{
    public Guid Id { get; set; } = Ids.New();
    public Guid CampaignId { get; set; }
    public DateOnly On { get; set; }
    public decimal Amount { get; set; }
    public string? Note { get; set; }
}
