using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;

namespace Tandem.Features.Qualification;

/// <summary>An explicit lifecycle move by a person: forward, recycle, disqualify, reopen, or accept as SQL with BANT.</summary>
public enum StageAction
{
    Advance,
    Recycle,
    Disqualify,
    Reopen,
}

public sealed record BantInput(bool Budget, string? BudgetNote, bool Authority, string? AuthorityNote, bool Need, string? NeedNote,
    bool Timing, string? TimingNote);

public sealed record StageOutcome(bool NotFound, Dictionary<string, string[]>? Errors, LifecycleStage? Stage, string? Conflict = null);

/// <summary>
/// The lifecycle state machine of the glossary. Stages move forward (Subscriber → Lead → MQL → SQL → Opportunity → Customer →
/// Advocate); moving back is only recycle / disqualify / reopen, each with a reason; SQL needs the BANT facts the active
/// definition requires. Every move writes a <see cref="StageTransition"/>.
/// </summary>
public static class LeadStages
{
    public const int MaxReason = 1000;
    public const int MaxNote = 1000;

    private static readonly LifecycleStage[] Forward =
        [LifecycleStage.Subscriber, LifecycleStage.Lead, LifecycleStage.Mql, LifecycleStage.Sql, LifecycleStage.Opportunity, LifecycleStage.Customer, LifecycleStage.Advocate];

    public static int Rank(LifecycleStage s) => Array.IndexOf(Forward, s);

    /// <summary>Why <paramref name="action"/> to <paramref name="to"/> is not allowed from <paramref name="from"/>, or null when it is.</summary>
    public static string? Check(LifecycleStage from, StageAction action, LifecycleStage? to) => action switch
    {
        StageAction.Advance when to is null => "A target stage is required.",
        StageAction.Advance when to == LifecycleStage.Sql => "A lead becomes SQL only when a rep accepts it with BANT (POST …/accept).",
        StageAction.Advance when to is LifecycleStage.Recycled or LifecycleStage.Disqualified => "Use the recycle or disqualify action.",
        StageAction.Advance when from is LifecycleStage.Recycled or LifecycleStage.Disqualified => "Reopen the lead first.",
        StageAction.Advance when Rank(to!.Value) <= Rank(from) => $"Stages only move forward: {from} → {to} is backwards (use recycle, disqualify or reopen).",
        StageAction.Recycle when from is LifecycleStage.Recycled or LifecycleStage.Disqualified or LifecycleStage.Customer or LifecycleStage.Advocate =>
            $"A {from} lead cannot be recycled.",
        StageAction.Disqualify when from is LifecycleStage.Disqualified or LifecycleStage.Customer or LifecycleStage.Advocate =>
            $"A {from} lead cannot be disqualified.",
        StageAction.Reopen when from is not (LifecycleStage.Recycled or LifecycleStage.Disqualified) => "Only recycled or disqualified leads can be reopened.",
        _ => null,
    };

    /// <summary>
    /// Moves the lead as a person asked. A move into MQL tells the <paramref name="listeners"/> in the same transaction, exactly as
    /// the MQL rule does: a lead moved to MQL by hand is routed like any other.
    /// </summary>
    public static async Task<StageOutcome> MoveAsync(TandemDb db, Guid leadId, StageAction action, LifecycleStage? to, string? reason,
        Actor actor, IEnumerable<IMqlListener> listeners, Platform.OutboundWebhooks.IWebhookPublisher webhooks, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        reason = reason?.Trim();
        if (string.IsNullOrEmpty(reason))
            errors.Add("reason", "A reason is required.");
        else if (reason.Length > MaxReason)
            errors.Add("reason", $"At most {MaxReason} characters.");
        // Routing locks its configuration before any lead row (the order every routing transaction keeps).
        var toMql = action == StageAction.Advance && to == LifecycleStage.Mql && !errors.Any;
        await using var tx = toMql ? await db.Database.BeginTransactionAsync(ct) : null;
        if (toMql)
            foreach (var listener in listeners)
                await listener.PrepareAsync(db, ct);
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return new StageOutcome(true, null, null);
        if (Check(lead.Stage, action, to) is { } problem)
            errors.Add(action == StageAction.Advance ? "to" : "action", problem);
        if (errors.Any)
            return new StageOutcome(false, errors.ToDictionary(), null);
        var target = action switch
        {
            StageAction.Advance => to!.Value,
            StageAction.Recycle => LifecycleStage.Recycled,
            StageAction.Disqualify => LifecycleStage.Disqualified,
            _ => LifecycleStage.Lead,
        };
        var transition = Record(db, lead, target, actor, $"manual:{action.ToString().ToLowerInvariant()}", reason, now);
        if (action == StageAction.Reopen)
            ScoringFacts.RequestScore(lead, now); // the MQL rule may hold again at once
        if (target != LifecycleStage.Mql)
        {
            lead.WorkStatus = target is LifecycleStage.Recycled or LifecycleStage.Disqualified && lead.WorkStatus is not WorkStatus.None
                ? WorkStatus.Rejected : lead.WorkStatus;
        }
        else
        {
            lead.WorkStatus = WorkStatus.New;
            foreach (var listener in listeners)
                await listener.OnMqlAsync(db, lead, transition, ct);
            // The same event a rule-made MQL sends, written in the same transaction (the outbox delivers it after commit).
            await webhooks.PublishAsync(db, Platform.OutboundWebhooks.WebhookEvents.LeadMql,
                new { lead = LeadWebhookData.Of(lead), rule = transition.ByRule, reason = transition.Reason, at = transition.At }, ct);
        }
        var outcome = await SaveAsync(db, lead, ct);
        if (tx is not null && outcome.Stage is not null)
            await tx.CommitAsync(ct);
        return outcome;
    }

    /// <summary>Accept an MQL as SQL: the BANT facts the active definition requires must be confirmed, each with a note.</summary>
    public static async Task<StageOutcome> AcceptAsync(TandemDb db, ActiveDefinition active, Platform.OutboundWebhooks.IWebhookPublisher webhooks, Guid leadId,
        BantInput bant, Actor actor, DateTimeOffset now, IEnumerable<IDispositionListener> listeners, CancellationToken ct)
    {
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return new StageOutcome(true, null, null);
        var errors = new FieldErrors();
        if (lead.Stage != LifecycleStage.Mql)
            errors.Add("stage", $"Only an MQL can be accepted as SQL; this lead is {lead.Stage}.");
        var criteria = (await active.GetAsync(db, ct))?.Definition.Sql ?? new Scoring.SqlCriteria(true, true, true, true);
        void Fact(string name, bool required, bool confirmed, string? note)
        {
            if (note?.Trim().Length > MaxNote)
                errors.Add(name + "Note", $"At most {MaxNote} characters.");
            if (!required)
                return;
            if (!confirmed)
                errors.Add(name, $"The SQL criteria require {name} to be confirmed.");
            else if (string.IsNullOrWhiteSpace(note))
                errors.Add(name + "Note", $"Say how {name} was confirmed.");
        }
        Fact("budget", criteria.Budget, bant.Budget, bant.BudgetNote);
        Fact("authority", criteria.Authority, bant.Authority, bant.AuthorityNote);
        Fact("need", criteria.Need, bant.Need, bant.NeedNote);
        Fact("timing", criteria.Timing, bant.Timing, bant.TimingNote);
        if (errors.Any)
            return new StageOutcome(false, errors.ToDictionary(), null);
        db.BantAssessments.Add(new BantAssessment
        {
            LeadId = lead.Id,
            Budget = bant.Budget,
            BudgetNote = bant.BudgetNote?.Trim(),
            Authority = bant.Authority,
            AuthorityNote = bant.AuthorityNote?.Trim(),
            Need = bant.Need,
            NeedNote = bant.NeedNote?.Trim(),
            Timing = bant.Timing,
            TimingNote = bant.TimingNote?.Trim(),
            ByUserId = actor.Id,
            At = now,
        });
        var confirmed = new[] { bant.Budget ? "budget" : null, bant.Authority ? "authority" : null, bant.Need ? "need" : null, bant.Timing ? "timing" : null }
            .OfType<string>();
        Record(db, lead, LifecycleStage.Sql, actor, DispositionRules.Accept, $"Accepted by sales (BANT: {string.Join(", ", confirmed)})", now);
        lead.WorkStatus = WorkStatus.Accepted;
        await webhooks.PublishAsync(db, Platform.OutboundWebhooks.WebhookEvents.LeadAccepted, new
        {
            lead = LeadWebhookData.Of(lead),
            bant = new { budget = bant.Budget, authority = bant.Authority, need = bant.Need, timing = bant.Timing },
            by = actor.Id,
            at = now,
        }, ct);
        // The verdict, its webhook and the way back to marketing (guard, notifications) commit together.
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var outcome = await SaveAsync(db, lead, ct);
        if (outcome.Conflict is not null)
            return outcome;
        foreach (var listener in listeners)
            await listener.OnDispositionAsync(db, lead, new Disposition(lead.Id, true, null, null, actor.Id, now), ct);
        await tx.CommitAsync(ct);
        return outcome;
    }

    /// <summary>Moves the lead and writes the transition row (the one place stage history is written after capture).</summary>
    public static StageTransition Record(TandemDb db, Lead lead, LifecycleStage to, Actor actor, string rule, string? reason, DateTimeOffset now)
    {
        var transition = new StageTransition
        {
            LeadId = lead.Id,
            From = lead.Stage,
            To = to,
            At = now,
            ByUserId = actor.Id,
            ByRule = rule,
            Reason = reason,
        };
        db.StageTransitions.Add(transition);
        lead.Stage = to;
        lead.StageChangedAt = now;
        lead.UpdatedAt = now;
        return transition;
    }

    private static async Task<StageOutcome> SaveAsync(TandemDb db, Lead lead, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
            return new StageOutcome(false, null, lead.Stage);
        }
        catch (DbUpdateConcurrencyException)
        {
            return new StageOutcome(false, null, null, "The lead changed while you were editing it; reload and try again.");
        }
    }
}
