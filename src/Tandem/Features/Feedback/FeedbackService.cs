using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;

namespace Tandem.Features.Feedback;

public sealed class FeedbackOptions
{
    /// <summary>The workspace's default guard rule (a campaign may override it).</summary>
    public GuardRule Guard { get; set; } = GuardRule.Default;
    /// <summary>A lead or meeting rating at or below this notifies the campaign owner.</summary>
    public int LowRating { get; set; } = 2;
}

/// <summary>
/// The way back from sales to marketing: every rejection and low rating notifies the owner of the lead's campaign at once, and
/// each disposition or rating re-runs the campaign guard (flag, then pause) in the same transaction (decision 011).
/// The campaign a verdict is about is the lead's first-touch campaign.
/// </summary>
public sealed class FeedbackService(NotificationSignal signal, TimeProvider clock, IOptionsMonitor<FeedbackOptions> options, IWebhookPublisher webhooks)
    : IDispositionListener
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public GuardRule DefaultRule => options.CurrentValue.Guard;

    public async Task OnDispositionAsync(TandemDb db, Lead lead, Disposition disposition, CancellationToken ct)
    {
        if (lead.FirstCampaignId is not { } campaignId || await db.Campaigns.FirstOrDefaultAsync(c => c.Id == campaignId, ct) is not { } campaign)
            return;
        if (!disposition.Accepted)
        {
            var reason = disposition.Reason ?? "Other";
            await NotifyOwnerAsync(db, campaign, "feedback.rejected", $"Lead rejected: {LeadName(lead)} ({ReasonText(reason)})",
                $"Campaign \"{campaign.Name}\": {LeadName(lead)} was rejected by sales as {ReasonText(reason)}."
                + (string.IsNullOrWhiteSpace(disposition.Comment) ? "" : $" Comment: {disposition.Comment}"),
                $"/leads/{lead.Id}", $"feedback.rejected:{lead.Id}:{disposition.At.UtcTicks}", ct);
        }
        await EvaluateAsync(db, campaign, newDisposition: true, ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>A new or changed rating: tell the campaign owner when it is low, and re-run the guard (mean rating criterion).</summary>
    public async Task OnRatedAsync(TandemDb db, Lead lead, LeadRating rating, CancellationToken ct)
    {
        await webhooks.PublishAsync(db, WebhookEvents.LeadRated, new
        {
            lead = new { id = lead.Id, email = lead.Email, firstName = lead.FirstName, lastName = lead.LastName, company = lead.Company },
            rating = new { rating.Id, rating.LeadQuality, rating.MeetingQuality, rating.Comment, by = rating.ByUserId, at = rating.UpdatedAt },
            campaignId = rating.CampaignId,
        }, ct);
        if (rating.CampaignId is not { } campaignId || await db.Campaigns.FirstOrDefaultAsync(c => c.Id == campaignId, ct) is not { } campaign)
            return;
        var low = options.CurrentValue.LowRating;
        if (rating.LeadQuality <= low || rating.MeetingQuality <= low)
        {
            var meeting = rating.MeetingQuality is { } m ? $", meeting {m}/5" : "";
            await NotifyOwnerAsync(db, campaign, "feedback.low-rating", $"Low rating: {LeadName(lead)} (lead {rating.LeadQuality}/5{meeting})",
                $"Campaign \"{campaign.Name}\": {rating.ByName} rated {LeadName(lead)} {rating.LeadQuality}/5{meeting}."
                + (string.IsNullOrWhiteSpace(rating.Comment) ? "" : $" Comment: {rating.Comment}"),
                $"/leads/{lead.Id}", $"feedback.low-rating:{rating.Id}:{rating.UpdatedAt.UtcTicks}", ct);
        }
        await EvaluateAsync(db, campaign, newDisposition: false, ct);
    }

    public async Task<GuardRule> RuleAsync(TandemDb db, Guid campaignId, CancellationToken ct)
    {
        var json = await db.Set<CampaignGuardState>().Where(g => g.CampaignId == campaignId).Select(g => g.Rule).FirstOrDefaultAsync(ct);
        return json is null ? DefaultRule : JsonSerializer.Deserialize<GuardRule>(json, Json) ?? DefaultRule;
    }

    /// <summary>The guard's figures for a campaign now (the campaign page and API show them).</summary>
    public async Task<(GuardRule Rule, GuardFigures Figures, CampaignGuardState? State)> FiguresAsync(TandemDb db, Guid campaignId, CancellationToken ct)
    {
        var state = await db.Set<CampaignGuardState>().AsNoTracking().FirstOrDefaultAsync(g => g.CampaignId == campaignId, ct);
        var rule = state?.Rule is { } json ? JsonSerializer.Deserialize<GuardRule>(json, Json) ?? DefaultRule : DefaultRule;
        return (rule, await ComputeAsync(db, campaignId, rule, state?.CountFrom, ct), state);
    }

    private static async Task<GuardFigures> ComputeAsync(TandemDb db, Guid campaignId, GuardRule rule, DateTimeOffset? countFrom, CancellationToken ct)
    {
        // The window is an index range of the trigger-maintained verdicts (decision 021), not a join of the campaign's leads; the
        // ratings of its leads come in the same round trip.
        var verdicts = db.CampaignVerdicts.AsNoTracking().Where(v => v.CampaignId == campaignId);
        if (countFrom is { } from)
            verdicts = verdicts.Where(v => v.At >= from);
        var window = verdicts.OrderByDescending(v => v.At).ThenByDescending(v => v.TransitionId).Take(rule.Window);
        var rows = await (from v in window
                          join r in db.Set<LeadRating>().AsNoTracking() on v.LeadId equals r.LeadId into rs
                          from r in rs.DefaultIfEmpty()
                          select new { v.TransitionId, v.LeadId, v.Rule, v.At, RatingId = r == null ? (Guid?)null : r.Id, Quality = r == null ? 0 : r.LeadQuality })
            .ToListAsync(ct);
        var dispositions = rows.DistinctBy(r => r.TransitionId).OrderByDescending(r => r.At)
            .Select(r => new GuardDisposition(r.LeadId, r.Rule == DispositionRules.Accept, DispositionRules.RejectReasonOf(r.Rule), r.At)).ToList();
        // Each rating once, even when its lead has two verdicts in the window.
        var ratings = rows.Where(r => r.RatingId is not null).DistinctBy(r => r.RatingId).Select(r => r.Quality).ToList();
        return CampaignGuard.Evaluate(rule, dispositions, ratings);
    }

    /// <summary>Re-runs the guard for a campaign and applies its decision (status, audit, notifications). Does not save.</summary>
    public async Task<GuardAction> EvaluateAsync(TandemDb db, Campaign campaign, bool newDisposition, CancellationToken ct)
    {
        var state = await StateAsync(db, campaign.Id, ct);
        var rule = state.Rule is { } json ? JsonSerializer.Deserialize<GuardRule>(json, Json) ?? DefaultRule : DefaultRule;
        var figures = await ComputeAsync(db, campaign.Id, rule, state.CountFrom, ct);
        if (newDisposition && campaign.Status == CampaignStatus.Flagged)
            state.DispositionsSinceFlag++;
        var action = CampaignGuard.Decide(rule, campaign.Status, figures, state.DispositionsSinceFlag);
        if (action == GuardAction.None)
            return action;
        var now = clock.GetUtcNow();
        var words = CampaignGuard.Describe(rule, figures);
        state.LastDecision = words;
        state.LastDecisionAt = now;
        var system = new Actor(null, "campaign guard");
        switch (action)
        {
            case GuardAction.Flag:
                campaign.Status = CampaignStatus.Flagged;
                state.FlaggedAt = now;
                state.DispositionsSinceFlag = 0;
                Audit(db, system, now, "campaign.flagged", campaign.Id, words);
                await PublishAsync(db, WebhookEvents.CampaignFlagged, campaign, rule, figures, words, now, ct);
                await NotifyTeamAsync(db, campaign, "campaign.flagged", $"Campaign flagged: {campaign.Name}",
                    $"Sales' verdicts on \"{campaign.Name}\" crossed the guard: {words} It will be paused if this goes on for {rule.PauseAfter} more dispositioned leads.",
                    $"campaign.flagged:{campaign.Id}:{now.UtcTicks}", ct);
                break;
            case GuardAction.Pause:
                campaign.Status = CampaignStatus.Paused;
                state.PausedAt = now;
                Audit(db, system, now, "campaign.paused", campaign.Id, words);
                // So automation can stop the ad spend.
                await PublishAsync(db, WebhookEvents.CampaignPaused, campaign, rule, figures, words, now, ct);
                await NotifyTeamAsync(db, campaign, "campaign.paused", $"Campaign paused: {campaign.Name}",
                    $"\"{campaign.Name}\" is paused: its new leads are still captured but not routed to sales until a marketer resumes it. {words}",
                    $"campaign.paused:{campaign.Id}:{now.UtcTicks}", ct);
                break;
            case GuardAction.Clear:
                campaign.Status = CampaignStatus.Active;
                state.FlaggedAt = null;
                state.DispositionsSinceFlag = 0;
                Audit(db, system, now, "campaign.guard-cleared", campaign.Id, words);
                break;
        }
        return action;
    }

    /// <summary>A marketer resumes a paused or flagged campaign with a note; only verdicts after now count from then on.</summary>
    public async Task<Dictionary<string, string[]>?> ResumeAsync(TandemDb db, Guid campaignId, string? note, Actor actor, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var text = note?.Trim();
        if (string.IsNullOrEmpty(text))
            errors.Add("note", "Say why the campaign may run again (what changed).");
        else if (text.Length > 2000)
            errors.Add("note", "At most 2000 characters.");
        var campaign = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == campaignId, ct);
        if (campaign is null)
            return null;
        if (campaign.Status is not (CampaignStatus.Paused or CampaignStatus.Flagged))
            errors.Add("status", "Only a paused or flagged campaign is resumed.");
        if (errors.Any)
            return errors.ToDictionary();
        var now = clock.GetUtcNow();
        var state = await StateAsync(db, campaignId, ct);
        var was = campaign.Status;
        campaign.Status = CampaignStatus.Active;
        state.FlaggedAt = null;
        state.PausedAt = null;
        state.DispositionsSinceFlag = 0;
        state.CountFrom = now;
        state.LastDecision = $"Resumed by {actor.Name}: {text}";
        state.LastDecisionAt = now;
        Audit(db, actor, now, "campaign.resumed", campaignId, $"was {was}; note: {text}");
        return [];
    }

    /// <summary>Sets (or with null, removes) a campaign's own guard rule; field errors when it is malformed or can never fire.</summary>
    public async Task<Dictionary<string, string[]>?> SetRuleAsync(TandemDb db, Guid campaignId, GuardRule? rule, Actor actor, CancellationToken ct)
    {
        if (!await db.Campaigns.AnyAsync(c => c.Id == campaignId, ct))
            return null;
        if (rule is not null && rule.Validate() is { Any: true } errors)
            return errors.ToDictionary();
        var state = await StateAsync(db, campaignId, ct);
        state.Rule = rule is null ? null : JsonSerializer.Serialize(rule, Json);
        Audit(db, actor, clock.GetUtcNow(), "campaign.guard-rule", campaignId, state.Rule ?? "default rule");
        return [];
    }

    private Task<int> PublishAsync(TandemDb db, string type, Campaign campaign, GuardRule rule, GuardFigures figures, string words, DateTimeOffset now,
        CancellationToken ct) =>
        webhooks.PublishAsync(db, type, new
        {
            campaign = new { campaign.Id, campaign.Name, channel = campaign.Channel.ToString(), status = campaign.Status.ToString(), campaign.UtmCampaign, campaign.OwnerId },
            rule,
            figures = new { figures.Dispositions, figures.Accepted, figures.Acceptance, figures.Ratings, figures.MeanRating, figures.BadFit, figures.BadFitShare, figures.Fired },
            decision = words,
            at = now,
        }, ct);

    private static void Audit(TandemDb db, Actor actor, DateTimeOffset now, string action, Guid campaignId, string details) =>
        db.AuditEntries.Add(CampaignsApi.Audit(actor, now, action, campaignId, details));

    /// <summary>The campaign's guard row, added (not saved) when it has none yet.</summary>
    private static async Task<CampaignGuardState> StateAsync(TandemDb db, Guid campaignId, CancellationToken ct)
    {
        var state = await db.Set<CampaignGuardState>().FirstOrDefaultAsync(g => g.CampaignId == campaignId, ct);
        if (state is null)
        {
            state = new CampaignGuardState { CampaignId = campaignId };
            db.Add(state);
        }
        return state;
    }

    private async Task NotifyOwnerAsync(TandemDb db, Campaign campaign, string kind, string subject, string body, string link, string key, CancellationToken ct)
    {
        if (campaign.OwnerId is not { } owner || !await db.Users.AnyAsync(u => u.Id == owner && u.IsActive, ct))
            return;
        await new Notifier(db, signal, clock).EnqueueAsync(new NotificationRequest
        {
            Kind = kind,
            RecipientUserId = owner,
            Channels = [NotificationChannel.InApp, NotificationChannel.Email],
            Subject = subject,
            Body = body,
            Link = link,
            DedupeKey = $"{key}:{owner}",
        }, ct);
    }

    /// <summary>The campaign owner and every active marketer hear of a guard decision.</summary>
    private async Task NotifyTeamAsync(TandemDb db, Campaign campaign, string kind, string subject, string body, string key, CancellationToken ct)
    {
        var marketing = await db.Roles.Where(r => r.Name == Roles.Marketing).Select(r => r.Id).FirstOrDefaultAsync(ct);
        var recipients = await db.Users.Where(u => u.IsActive && (u.Id == campaign.OwnerId || db.UserRoles.Any(ur => ur.UserId == u.Id && ur.RoleId == marketing)))
            .Select(u => u.Id).ToListAsync(ct);
        var notifier = new Notifier(db, signal, clock);
        foreach (var user in recipients)
        {
            await notifier.EnqueueAsync(new NotificationRequest
            {
                Kind = kind,
                RecipientUserId = user,
                Channels = [NotificationChannel.InApp, NotificationChannel.Email],
                Subject = subject,
                Body = body,
                Link = $"/campaigns/{campaign.Id}",
                DedupeKey = $"{key}:{user}",
            }, ct);
        }
    }

    public static string LeadName(Lead l) =>
        string.Join(' ', new[] { l.FirstName, l.LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } n ? n : l.Email ?? "a lead";

    /// <summary>Reject reasons in words for messages (English; the UI uses the EN/FR resources <c>Reject.{Reason}</c>).</summary>
    public static string ReasonText(string reason) => reason switch
    {
        "BadFit" => "bad fit",
        "Student" => "student",
        "NoBudget" => "no budget",
        "NoAuthority" => "no authority",
        "NoNeed" => "no need",
        "BadTiming" => "bad timing",
        "Unreachable" => "unreachable",
        "Duplicate" => "duplicate",
        "Spam" => "spam",
        "Competitor" => "competitor",
        _ => "other",
    };
}
