using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Features.Qualification;

namespace Tandem.Features.Feedback;

public sealed record DisputeRequest(string? Comment, DisputeKind? Kind = null);

public sealed record ResolveDisputeRequest(string? Outcome, string? Note);

public sealed record DisputeView(Guid Id, Guid LeadId, string LeadName, DisputeKind Kind, DisputeStatus Status, Guid? CampaignId, string? ContestedReason,
    string Comment, Guid? OpenedByUserId, string OpenedByName, DateTimeOffset OpenedAt, Guid? ResolvedByUserId, string? ResolvedByName,
    DateTimeOffset? ResolvedAt, string? ResolutionNote);

/// <summary>What an action on a dispute produced: the dispute, field errors, not found, or forbidden (with why).</summary>
public sealed record DisputeOutcome(DisputeView? Value = null, Dictionary<string, string[]>? Errors = null, bool NotFound = false, string? Forbidden = null);

/// <summary>
/// Disputes (decision 011): marketing contests sales' rejection, sales contests an MQL it received; the other side resolves it.
/// The kind follows from the caller's side and the lead's last verdict. An overturned rejection puts the lead back in the inbox
/// (MQL again, work status New, with the rep who had it when they can still take it, else routed again); an overturned MQL is
/// recycled with the reason. Both steps notify the other side, publish <c>dispute.opened</c> / <c>dispute.resolved</c> and are audited,
/// all in one transaction.
/// </summary>
public sealed class DisputeService(HandoffService handoff, ILeadAccess access, NotificationSignal signal, TimeProvider clock, IWebhookPublisher webhooks)
{
    public const string OverturnedRejectionRule = "dispute:overturned-rejection";
    public const string OverturnedMqlRule = "dispute:overturned-mql";

    private TandemDb Db => handoff.Db;

    /// <summary>Which kinds of dispute the caller may open: marketing contests rejections, sales MQLs; admins and API keys either.</summary>
    public static IReadOnlyList<DisputeKind> KindsFor(ClaimsPrincipal user)
    {
        if (user.Identity?.AuthenticationType == AuthSchemes.ApiKey || user.IsInRole(Roles.Admin))
            return [DisputeKind.MarketingContestsRejection, DisputeKind.SalesContestsMql];
        var kinds = new List<DisputeKind>();
        if (user.IsInRole(Roles.Marketing))
            kinds.Add(DisputeKind.MarketingContestsRejection);
        if (user.IsInRole(Roles.Sales) || user.IsInRole(Roles.SalesManager))
            kinds.Add(DisputeKind.SalesContestsMql);
        return kinds;
    }

    /// <summary>Whether the caller is on the side that resolves disputes of this kind (the other side: a sales manager or marketing).</summary>
    public static bool MayResolve(ClaimsPrincipal user, DisputeKind kind) =>
        user.Identity?.AuthenticationType == AuthSchemes.ApiKey || user.IsInRole(Roles.Admin) || kind switch
        {
            DisputeKind.MarketingContestsRejection => user.IsInRole(Roles.SalesManager),
            _ => user.IsInRole(Roles.Marketing),
        };

    /// <summary>The lead's last verdict (accept or reject) from the stage history, or null when sales never gave one.</summary>
    private static Task<StageTransition?> LastDispositionAsync(TandemDb db, Guid leadId, CancellationToken ct) =>
        db.StageTransitions.AsNoTracking()
            .Where(t => t.LeadId == leadId && (t.ByRule == DispositionRules.Accept || t.ByRule!.StartsWith(DispositionRules.RejectPrefix)))
            .OrderByDescending(t => t.At).ThenByDescending(t => t.Id).FirstOrDefaultAsync(ct);

    /// <summary>Why a dispute of this kind cannot be opened on the lead now, or null when it can.</summary>
    private static async Task<string?> WhyNotAsync(TandemDb db, Lead lead, DisputeKind kind, StageTransition? last, CancellationToken ct) => kind switch
    {
        DisputeKind.MarketingContestsRejection when last is null => "Sales never gave a verdict on this lead: only a rejection can be contested.",
        DisputeKind.MarketingContestsRejection when last.ByRule == DispositionRules.Accept => "Sales accepted this lead: only a rejection can be contested.",
        DisputeKind.MarketingContestsRejection when lead.Stage is not (LifecycleStage.Recycled or LifecycleStage.Disqualified) =>
            "This lead has moved on since it was rejected.",
        DisputeKind.SalesContestsMql when !await db.StageTransitions.AnyAsync(t => t.LeadId == lead.Id && t.To == LifecycleStage.Mql, ct) =>
            "This lead was never an MQL: only an MQL sales received can be contested.",
        DisputeKind.SalesContestsMql when lead.Stage != LifecycleStage.Mql =>
            "Only an MQL still waiting for sales' verdict can be contested (accept or reject it otherwise).",
        _ => null,
    };

    /// <summary>The dispute the caller could open on the lead now (the page shows the form only then), or null.</summary>
    public async Task<DisputeKind?> OpenableKindAsync(Guid leadId, ClaimsPrincipal user, CancellationToken ct)
    {
        var db = Db;
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null || await db.Set<Dispute>().AnyAsync(d => d.LeadId == leadId && d.Status == DisputeStatus.Open, ct))
            return null;
        var last = await LastDispositionAsync(db, leadId, ct);
        foreach (var kind in KindsFor(user))
        {
            if (await WhyNotAsync(db, lead, kind, last, ct) is not null)
                continue;
            if (kind == DisputeKind.SalesContestsMql && await access.AllowsAsync(db, await access.ScopeAsync(user, ct), leadId, LeadRight.Work, ct) != true)
                continue;
            return kind;
        }
        return null;
    }

    /// <summary>Whether the caller may resolve this open dispute (the other side; for marketing's dispute, a manager of the lead's team).</summary>
    public async Task<bool> MayResolveAsync(Dispute dispute, ClaimsPrincipal user, CancellationToken ct) =>
        dispute.Status == DisputeStatus.Open && MayResolve(user, dispute.Kind)
        && (dispute.Kind != DisputeKind.MarketingContestsRejection || user.IsInRole(Roles.Admin) || user.Identity?.AuthenticationType == AuthSchemes.ApiKey
            || await access.AllowsAsync(Db, await access.ScopeAsync(user, ct), dispute.LeadId, LeadRight.Work, ct) == true);

    public async Task<DisputeOutcome> OpenAsync(Guid leadId, DisputeRequest body, ClaimsPrincipal user, CancellationToken ct)
    {
        var db = Db;
        var errors = new FieldErrors();
        var comment = body.Comment?.Trim();
        if (string.IsNullOrEmpty(comment))
            errors.Add("comment", "Say why the verdict is contested.");
        else if (comment.Length > Dispute.MaxText)
            errors.Add("comment", $"At most {Dispute.MaxText} characters.");
        var kinds = KindsFor(user);
        if (body.Kind is { } asked && !kinds.Contains(asked))
            errors.Add("kind", asked == DisputeKind.MarketingContestsRejection ? "Only marketing contests a rejection." : "Only sales contests an MQL.");
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return new(NotFound: true);
        if (errors.Any)
            return new(Errors: errors.ToDictionary());
        var last = await LastDispositionAsync(db, leadId, ct);
        DisputeKind? kind = null;
        string? why = null;
        foreach (var k in body.Kind is { } only ? [only] : kinds)
        {
            why = await WhyNotAsync(db, lead, k, last, ct);
            if (why is null)
            {
                kind = k;
                break;
            }
        }
        if (kind is null)
            return new(Errors: new Dictionary<string, string[]> { ["lead"] = [why ?? "Your role contests no verdict."] });
        // A rep contests only an MQL they received (one they may work); marketing reads every lead.
        if (kind == DisputeKind.SalesContestsMql && await access.AllowsAsync(db, await access.ScopeAsync(user, ct), leadId, LeadRight.Work, ct) != true)
            return new(Forbidden: "You may contest only an MQL you or your team received.");
        if (await db.Set<Dispute>().AnyAsync(d => d.LeadId == leadId && d.Status == DisputeStatus.Open, ct))
            return new(Errors: new Dictionary<string, string[]> { ["lead"] = ["A dispute on this lead is already open: wait for its outcome."] });

        var actor = Actor.From(user);
        var now = clock.GetUtcNow();
        var dispute = new Dispute
        {
            LeadId = leadId,
            Kind = kind.Value,
            Status = DisputeStatus.Open,
            CampaignId = lead.FirstCampaignId,
            ContestedReason = kind == DisputeKind.MarketingContestsRejection ? DispositionRules.RejectReasonOf(last?.ByRule) : null,
            Comment = comment!,
            OpenedByUserId = actor.Id,
            OpenedByName = actor.Name,
            OpenedAt = now,
        };
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Add(dispute);
        Audit(db, actor, now, "lead.dispute-opened", leadId, $"{dispute.Kind}: {comment}");
        // Written with the dispute: a lead merged away meanwhile fails this update instead of keeping an orphan dispute.
        lead.UpdatedAt = now;
        await webhooks.PublishAsync(db, WebhookEvents.DisputeOpened, Payload(lead, dispute), ct);
        var name = FeedbackService.LeadName(lead);
        if (dispute.Kind == DisputeKind.MarketingContestsRejection)
            await NotifyAsync(await SalesSideAsync(db, lead, last, ct), "feedback.dispute-opened", $"Rejection contested: {name}",
                $"{actor.Name} (marketing) contests the rejection of {name}"
                + (dispute.ContestedReason is { } r ? $" as {FeedbackService.ReasonText(r)}" : "") + $": {comment} A sales manager resolves it.",
                lead.Id, $"dispute.opened:{dispute.Id}", ct);
        else
            await NotifyAsync(await MarketingSideAsync(db, lead, ct), "feedback.dispute-opened", $"MQL contested: {name}",
                $"{actor.Name} (sales) contests that {name} is an MQL: {comment} Marketing resolves it.", lead.Id, $"dispute.opened:{dispute.Id}", ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new(View(dispute, name));
    }

    public async Task<DisputeOutcome> ResolveAsync(Guid disputeId, ResolveDisputeRequest body, ClaimsPrincipal user, CancellationToken ct)
    {
        var db = Db;
        var dispute = await db.Set<Dispute>().FirstOrDefaultAsync(d => d.Id == disputeId, ct);
        if (dispute is null)
            return new(NotFound: true);
        var errors = new FieldErrors();
        DisputeStatus outcome = DisputeStatus.Open;
        switch (body.Outcome?.Trim().ToLowerInvariant())
        {
            case "upheld":
                outcome = DisputeStatus.Upheld;
                break;
            case "overturned":
                outcome = DisputeStatus.Overturned;
                break;
            default:
                errors.Add("outcome", "One of: upheld (the verdict stands), overturned (the verdict is reversed).");
                break;
        }
        var note = body.Note?.Trim();
        if (string.IsNullOrEmpty(note))
            errors.Add("note", "Say why (the outcome is sent to whoever opened the dispute).");
        else if (note.Length > Dispute.MaxText)
            errors.Add("note", $"At most {Dispute.MaxText} characters.");
        if (!MayResolve(user, dispute.Kind))
            return new(Forbidden: dispute.Kind == DisputeKind.MarketingContestsRejection
                ? "A sales manager resolves marketing's dispute of a rejection." : "Marketing resolves sales' dispute of an MQL.");
        if (dispute.Status == DisputeStatus.Open && !await MayResolveAsync(dispute, user, ct))
            return new(Forbidden: "This lead belongs to another team: its manager resolves the dispute.");
        if (dispute.Status != DisputeStatus.Open)
            errors.Add("status", $"This dispute is already resolved ({dispute.Status.ToString().ToLowerInvariant()}).");
        if (errors.Any)
            return new(Errors: errors.ToDictionary());

        var actor = Actor.From(user);
        var now = clock.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // Routing locks its configuration before any lead row (the order every routing transaction keeps).
        if (outcome == DisputeStatus.Overturned && dispute.Kind == DisputeKind.MarketingContestsRejection)
            await handoff.LockConfigAsync(ct);
        var lead = await db.Leads.FirstAsync(l => l.Id == dispute.LeadId, ct);
        if (outcome == DisputeStatus.Overturned)
        {
            if (dispute.Kind == DisputeKind.MarketingContestsRejection)
            {
                if (lead.Stage is not (LifecycleStage.Recycled or LifecycleStage.Disqualified))
                    return new(Errors: new Dictionary<string, string[]> { ["outcome"] = [$"The lead has moved on since it was rejected (it is {lead.Stage}): uphold the dispute instead."] });
                await BackToInboxAsync(lead, actor, note!, now, ct);
            }
            else
            {
                if (lead.Stage != LifecycleStage.Mql)
                    return new(Errors: new Dictionary<string, string[]> { ["outcome"] = [$"The lead is no longer an MQL (it is {lead.Stage}): uphold the dispute instead."] });
                foreach (var a in await db.Assignments.Where(a => a.LeadId == lead.Id && Assignment.OpenStates.Contains(a.State)).ToListAsync(ct))
                {
                    await handoff.CancelTimersAsync(a.Id, now, "MQL dispute overturned", ct);
                    a.State = AssignmentState.Closed;
                    a.ClosedAt = now;
                }
                LeadStages.Record(db, lead, LifecycleStage.Recycled, actor, OverturnedMqlRule, Truncate($"Not an MQL (dispute overturned): {note}", LeadStages.MaxReason), now);
                lead.WorkStatus = WorkStatus.Rejected;
            }
        }
        dispute.Status = outcome;
        dispute.ResolvedByUserId = actor.Id;
        dispute.ResolvedByName = actor.Name;
        dispute.ResolvedAt = now;
        dispute.ResolutionNote = note;
        lead.UpdatedAt = now;
        Audit(db, actor, now, "lead.dispute-resolved", lead.Id, $"{dispute.Kind} {outcome}: {note}");
        await webhooks.PublishAsync(db, WebhookEvents.DisputeResolved, Payload(lead, dispute), ct);
        var name = FeedbackService.LeadName(lead);
        var consequence = (outcome, dispute.Kind) switch
        {
            (DisputeStatus.Overturned, DisputeKind.MarketingContestsRejection) => " The lead is back in the sales inbox.",
            (DisputeStatus.Overturned, _) => " The lead is recycled to nurture.",
            _ => " The verdict stands.",
        };
        if (dispute.OpenedByUserId is { } opener && await db.Users.AnyAsync(u => u.Id == opener && u.IsActive, ct))
            await NotifyAsync([opener], "feedback.dispute-resolved", $"Dispute {outcome.ToString().ToLowerInvariant()}: {name}",
                $"{actor.Name} resolved your dispute on {name} as {outcome.ToString().ToLowerInvariant()}: {note}{consequence}", lead.Id,
                $"dispute.resolved:{dispute.Id}", ct);
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new(View(dispute, name));
    }

    /// <summary>An overturned rejection: the lead is an MQL again with work status New, with its rep when they still take leads, else routed.</summary>
    private async Task BackToInboxAsync(Lead lead, Actor actor, string note, DateTimeOffset now, CancellationToken ct)
    {
        var db = Db;
        LeadStages.Record(db, lead, LifecycleStage.Mql, actor, OverturnedRejectionRule, Truncate($"Rejection overturned: {note}", LeadStages.MaxReason), now);
        lead.WorkStatus = WorkStatus.New;
        // A paused campaign's MQLs are held until marketing resumes it, as in routing (decision 011).
        if (lead.FirstCampaignId is { } c && await db.Campaigns.AnyAsync(x => x.Id == c && x.Status == Campaigns.CampaignStatus.Paused, ct))
            return;
        var rep = lead.OwnerId is { } owner && await db.Users.AnyAsync(u => u.Id == owner && u.IsActive
            && db.UserRoles.Any(ur => ur.UserId == u.Id && db.Roles.Any(r => r.Id == ur.RoleId && (r.Name == Roles.Sales || r.Name == Roles.SalesManager))), ct)
            ? owner : (Guid?)null;
        await handoff.AssignAsync(lead, rep is { } r
            ? new RouteRequest(now, ManualRepId: r, ManualBy: actor.Name, Why: "rejection overturned by a dispute")
            : new RouteRequest(now), ct);
    }

    public static async Task<List<DisputeView>> ListAsync(TandemDb db, Guid? leadId, DisputeStatus? status, int take, CancellationToken ct)
    {
        var q = db.Set<Dispute>().AsNoTracking();
        if (leadId is { } id)
            q = q.Where(d => d.LeadId == id);
        if (status is { } s)
            q = q.Where(d => d.Status == s);
        var rows = await q.OrderByDescending(d => d.OpenedAt).ThenByDescending(d => d.Id).Take(take)
            .Join(db.Leads.AsNoTracking(), d => d.LeadId, l => l.Id, (d, l) => new { d, l.FirstName, l.LastName, l.Email }).ToListAsync(ct);
        return [.. rows.Select(x => View(x.d, FeedbackService.LeadName(new Lead { FirstName = x.FirstName, LastName = x.LastName, Email = x.Email })))];
    }

    private static DisputeView View(Dispute d, string leadName) => new(d.Id, d.LeadId, leadName, d.Kind, d.Status, d.CampaignId, d.ContestedReason, d.Comment,
        d.OpenedByUserId, d.OpenedByName, d.OpenedAt, d.ResolvedByUserId, d.ResolvedByName, d.ResolvedAt, d.ResolutionNote);

    private static object Payload(Lead lead, Dispute d) => new
    {
        lead = LeadWebhookData.Of(lead),
        dispute = new
        {
            id = d.Id,
            kind = d.Kind.ToString(),
            status = d.Status.ToString(),
            contestedReason = d.ContestedReason,
            comment = d.Comment,
            openedBy = d.OpenedByUserId,
            openedAt = d.OpenedAt,
            resolvedBy = d.ResolvedByUserId,
            resolvedAt = d.ResolvedAt,
            resolutionNote = d.ResolutionNote,
        },
        campaignId = d.CampaignId,
    };

    /// <summary>Who hears of marketing's dispute: the rep who rejected the lead and the manager of the team it was routed through or the rep's team (else the admins).</summary>
    private async Task<List<Guid>> SalesSideAsync(TandemDb db, Lead lead, StageTransition? rejection, CancellationToken ct)
    {
        var config = await handoff.CurrentConfigAsync(ct);
        var team = await db.Assignments.AsNoTracking().Where(a => a.LeadId == lead.Id).OrderByDescending(a => a.AssignedAt).Select(a => a.TeamId).FirstOrDefaultAsync(ct);
        // A lead handed over without routing (given by a source system): the team of the rep who rejected it, or of its owner.
        var seller = rejection?.ByUserId ?? lead.OwnerId;
        team ??= seller is { } r ? await db.Set<SalesTeamMember>().AsNoTracking().Where(m => m.UserId == r).OrderBy(m => m.TeamId).Select(m => (Guid?)m.TeamId).FirstOrDefaultAsync(ct) : null;
        var recipients = await handoff.ManagersAsync(config, team, ct);
        if (rejection?.ByUserId is { } rep && await db.Users.AnyAsync(u => u.Id == rep && u.IsActive, ct))
            recipients.Add(rep);
        return [.. recipients.Distinct()];
    }

    /// <summary>Who hears of sales' dispute: the owner of the lead's campaign and every active marketer.</summary>
    private static async Task<List<Guid>> MarketingSideAsync(TandemDb db, Lead lead, CancellationToken ct)
    {
        var owner = lead.FirstCampaignId is { } c ? await db.Campaigns.Where(x => x.Id == c).Select(x => x.OwnerId).FirstOrDefaultAsync(ct) : null;
        var marketing = await db.Roles.Where(r => r.Name == Roles.Marketing).Select(r => r.Id).FirstOrDefaultAsync(ct);
        return await db.Users.Where(u => u.IsActive && (u.Id == owner || db.UserRoles.Any(ur => ur.UserId == u.Id && ur.RoleId == marketing)))
            .Select(u => u.Id).ToListAsync(ct);
    }

    private async Task NotifyAsync(IEnumerable<Guid> recipients, string kind, string subject, string body, Guid leadId, string key, CancellationToken ct)
    {
        var notifier = new Notifier(Db, signal, clock);
        foreach (var user in recipients)
            await notifier.EnqueueAsync(new NotificationRequest
            {
                Kind = kind,
                RecipientUserId = user,
                Channels = [NotificationChannel.InApp, NotificationChannel.Email],
                Subject = subject,
                Body = body,
                Link = $"/leads/{leadId}",
                DedupeKey = $"{key}:{user}",
            }, ct);
    }

    private static void Audit(TandemDb db, Actor actor, DateTimeOffset now, string action, Guid leadId, string details) => db.AuditEntries.Add(new AuditEntry
    {
        At = now,
        ActorId = actor.Id,
        Actor = actor.Name,
        Action = action,
        EntityType = nameof(Lead),
        EntityId = leadId.ToString(),
        Details = Truncate(details, 4000),
    });

    private static string Truncate(string s, int max) => s.Length > max ? s[..max] : s;
}
