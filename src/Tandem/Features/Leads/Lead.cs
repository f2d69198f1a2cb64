using Tandem.Features.Campaigns;

namespace Tandem.Features.Leads;

/// <summary>Lifecycle stages of the glossary; Recycled and Disqualified are side stages.</summary>
public enum LifecycleStage
{
    Subscriber,
    Lead,
    Mql,
    Sql,
    Opportunity,
    Customer,
    Advocate,
    Recycled,
    Disqualified,
}

/// <summary>Work status of a lead while it is an MQL.</summary>
public enum WorkStatus
{
    None,
    New,
    Attempting,
    Connected,
    Accepted,
    Rejected,
}

/// <summary>
/// A person in the pipeline, identified by a normalised email, an E.164 phone or an external id
/// (system + id). One person = one lead record.
/// </summary>
public sealed class Lead
{
    public Guid Id { get; set; } = Ids.New();

    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? ExternalSystem { get; set; }
    public string? ExternalId { get; set; }

    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string? JobTitle { get; set; }
    public string? Company { get; set; }
    public int? CompanySize { get; set; }
    public string? Industry { get; set; }
    public string? Country { get; set; }
    public string? City { get; set; }
    public string? Language { get; set; }

    public Guid? AccountId { get; set; }
    public Guid? OwnerId { get; set; }
    public Guid? PersonaId { get; set; }

    /// <summary>Consent: explicit email opt-in (null = never asked), do-not-email, do-not-call, with when and where it was given.</summary>
    public bool? EmailOptIn { get; set; }
    public bool DoNotEmail { get; set; }
    public bool DoNotCall { get; set; }
    public DateTimeOffset? ConsentAt { get; set; }
    public string? ConsentSource { get; set; }

    /// <summary>Values of admin-defined custom fields, as a JSON object (key → typed value).</summary>
    public string? CustomFields { get; set; }

    /// <summary>Fields a person edited by hand; automatic merges never overwrite them.</summary>
    public List<string> ManualFields { get; set; } = [];

    public LifecycleStage Stage { get; set; } = LifecycleStage.Lead;
    public WorkStatus WorkStatus { get; set; } = WorkStatus.None;
    public DateTimeOffset StageChangedAt { get; set; }
    public int FitScore { get; set; }
    public int EngagementScore { get; set; }
    /// <summary>Fit banded A–D by the active definition; null until first scored.</summary>
    public Qualification.Scoring.Grade? Grade { get; set; }
    /// <summary>How well the lead matches <see cref="PersonaId"/>, in percent.</summary>
    public int? PersonaMatch { get; set; }
    /// <summary>The definition version number of the last score.</summary>
    public int? ScoredVersion { get; set; }
    public DateTimeOffset? ScoredAt { get; set; }
    /// <summary>Set by every change that can move the score (capture, activity, edit, merge); the scoring worker clears it.</summary>
    public DateTimeOffset? ScoreDirtyAt { get; set; }

    /// <summary>First-touch source, kept forever.</summary>
    public Channel? FirstChannel { get; set; }
    public string? FirstSource { get; set; }
    public string? FirstMedium { get; set; }
    public Guid? FirstCampaignId { get; set; }
    public string? FirstReferrer { get; set; }
    public string? FirstLandingPage { get; set; }
    public DateTimeOffset? FirstTouchAt { get; set; }

    /// <summary>Latest-touch source, updated by each new marketing touch.</summary>
    public Channel? LatestChannel { get; set; }
    public string? LatestSource { get; set; }
    public string? LatestMedium { get; set; }
    public Guid? LatestCampaignId { get; set; }
    public string? LatestReferrer { get; set; }
    public string? LatestLandingPage { get; set; }
    public DateTimeOffset? LatestTouchAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>When the person's data was erased at their request (decision 021b); the row stays as an anonymous tombstone.</summary>
    public DateTimeOffset? ErasedAt { get; set; }
    /// <summary>Who erased it (a user's name or an API key's label).</summary>
    public string? ErasedBy { get; set; }

    public bool IsErased => ErasedAt is not null;

    public string DisplayName =>
        string.Join(' ', new[] { FirstName, LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } name
            ? name
            : Email ?? Phone ?? ExternalId ?? Id.ToString();
}

/// <summary>The company a lead works for, matched by email domain (not free-mail) or company name.</summary>
public sealed class Account
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public string? Domain { get; set; }
    public string? Industry { get; set; }
    public int? EmployeeCount { get; set; }
    public string? Country { get; set; }
    public Guid? OwnerId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>When the account first became a customer (its first won deal); null = never a customer.</summary>
    public DateTimeOffset? CustomerSince { get; set; }
    /// <summary>Current contract value and monthly recurring revenue (subscriptions), in <see cref="ContractCurrency"/>.</summary>
    public decimal? ContractValue { get; set; }
    public decimal? Mrr { get; set; }
    public string? ContractCurrency { get; set; }
    public DateOnly? ContractStartsOn { get; set; }
    public DateOnly? RenewalOn { get; set; }
    /// <summary>When the customer was lost, with the reason; null while a customer. A new win after a churn clears it.</summary>
    public DateTimeOffset? ChurnedAt { get; set; }
    public string? ChurnReason { get; set; }

    public bool IsCustomer => CustomerSince is not null && ChurnedAt is null;
}

public enum ActivityType
{
    PageView,
    LeadCaptured,
    FormSubmission,
    EmailOpen,
    EmailClick,
    Webinar,
    ContentDownload,
    DemoRequest,
    Chat,
    Call,
    Meeting,
    EmailSent,
    Note,
}

/// <summary>A touchpoint: something the lead did or that was done with the lead, at a time.</summary>
public sealed class Activity
{
    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    public ActivityType Type { get; set; }
    public DateTimeOffset OccurredAt { get; set; }
    public Channel? Channel { get; set; }
    public Guid? CampaignId { get; set; }
    public string? UtmSource { get; set; }
    public string? UtmMedium { get; set; }
    public string? UtmCampaign { get; set; }
    public string? UtmTerm { get; set; }
    public string? UtmContent { get; set; }
    public string? Referrer { get; set; }
    public string? Url { get; set; }
    /// <summary>Where the touch came from: <c>api</c>, <c>form:&lt;key&gt;</c>, <c>webhook:&lt;name&gt;</c>, <c>import:&lt;id&gt;</c>, <c>ui</c>.</summary>
    public string? Source { get; set; }
    public Guid? ActorUserId { get; set; }
    public string? Outcome { get; set; }
    /// <summary>Free-form properties as a JSON object.</summary>
    public string? Properties { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    public bool IsMarketingTouch => Type is not (ActivityType.Call or ActivityType.Meeting or ActivityType.EmailSent or ActivityType.Note);
}

/// <summary>One lifecycle transition: from, to, when, who or which rule, and why. Never updated, never deleted.</summary>
public sealed class StageTransition
{
    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    public LifecycleStage? From { get; set; }
    public LifecycleStage To { get; set; }
    public DateTimeOffset At { get; set; }
    public Guid? ByUserId { get; set; }
    public string? ByRule { get; set; }
    public string? Reason { get; set; }
}
