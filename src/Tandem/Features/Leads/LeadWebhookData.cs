using Tandem.Features.Campaigns;

namespace Tandem.Features.Leads;

/// <summary>The lead as outbound webhooks describe it (<c>data.lead</c>): identity, company, stage, score and first source.</summary>
public sealed record LeadWebhookData(
    Guid Id, string? Email, string? FirstName, string? LastName, string? Company, string? JobTitle, string? Country,
    LifecycleStage Stage, int FitScore, int EngagementScore, Guid? OwnerId, Channel? FirstChannel, Guid? FirstCampaignId, string? FirstSource,
    DateTimeOffset CreatedAt)
{
    public static LeadWebhookData Of(Lead l) => new(l.Id, l.Email, l.FirstName, l.LastName, l.Company, l.JobTitle, l.Country,
        l.Stage, l.FitScore, l.EngagementScore, l.OwnerId, l.FirstChannel, l.FirstCampaignId, l.FirstSource, l.CreatedAt);
}
