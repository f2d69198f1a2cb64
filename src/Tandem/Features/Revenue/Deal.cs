namespace Tandem.Features.Revenue;

public enum DealStatus
{
    Open,
    Won,
    Lost,
}

/// <summary>An opportunity opened by sales for a lead (and its account), with an amount in a currency.</summary>
public sealed class Deal
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public Guid LeadId { get; set; }
    public Guid? AccountId { get; set; }
    public Guid? OwnerId { get; set; }
    public decimal Amount { get; set; }
    public string Currency { get; set; } = "EUR";
    public DealStatus Status { get; set; } = DealStatus.Open;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
    public string? LostReason { get; set; }
}
