using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Features.Qualification;

namespace Tandem.Features.Revenue;

public sealed record CreateOpportunityRequest(Guid? LeadId, string? Name, decimal? Amount, string? Currency, decimal? Mrr, Guid? OwnerId,
    DateOnly? ExpectedCloseOn, DealKind? Kind, Guid? ParentDealId, int? Probability, bool? AnyLeadStage = null);

/// <summary>A partial update: a null field is left as it is; <see cref="ClearProbability"/> goes back to the stage's default.</summary>
public sealed record UpdateOpportunityRequest(string? Name, decimal? Amount, string? Currency, decimal? Mrr, DateOnly? ExpectedCloseOn,
    int? Probability, bool? ClearProbability, Guid? OwnerId);

public sealed record MoveStageRequest(DealStage? Stage, string? Note, WinReason? WinReason, LossReason? LossReason);

public sealed record DealStageChangeView(DealStage? From, DealStage To, DateTimeOffset At, Guid? ByUserId, string? Note);

public sealed record DealView(Guid Id, string Name, Guid LeadId, string LeadName, Guid? AccountId, string? AccountName, Guid? OwnerId,
    DealKind Kind, Guid? ParentDealId, decimal Amount, string Currency, decimal? Mrr, DealStage Stage, DealStatus Status, int? Probability,
    int EffectiveProbability, DateOnly? ExpectedCloseOn, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, DateTimeOffset StageChangedAt,
    DateTimeOffset? ClosedAt, WinReason? WinReason, LossReason? LossReason, string? Note, string? Source,
    IReadOnlyList<DealStageChangeView> History);

public sealed record DealListItem(Guid Id, string Name, Guid LeadId, string LeadName, Guid? AccountId, string? AccountName, Guid? OwnerId,
    DealKind Kind, decimal Amount, string Currency, DealStage Stage, DealStatus Status, int EffectiveProbability, DateOnly? ExpectedCloseOn,
    DateTimeOffset CreatedAt, DateTimeOffset? ClosedAt);

/// <summary>Filters of <c>GET /api/v1/opportunities</c> (and the pipeline board).</summary>
public sealed class DealQuery
{
    public DealStage? Stage { get; set; }
    public DealStatus? Status { get; set; }
    public Guid? OwnerId { get; set; }
    public Guid? AccountId { get; set; }
    public Guid? LeadId { get; set; }
}

/// <summary>What an opportunity operation came to: the deal, or not found / forbidden / field errors (nothing written then).</summary>
public sealed record DealOutcome(DealView? Deal, Dictionary<string, string[]>? Errors = null, bool NotFound = false, bool Forbidden = false)
{
    public static DealOutcome Missing => new(null, NotFound: true);
    public static DealOutcome Denied => new(null, Forbidden: true);
    public static DealOutcome Invalid(FieldErrors e) => new(null, e.ToDictionary());
}

/// <summary>
/// Opportunities (decision 018): created from an SQL (the lead moves to Opportunity), moved between stages with a history row per
/// move, won (the lead becomes a Customer, its account a customer with a contract) or lost with a catalogue reason (the lead is
/// recycled unless it has other open deals). The API, the pipeline board and the opportunity page all call this one service.
/// </summary>
public sealed class OpportunityService(TandemDb db, ILeadAccess access, IWebhookPublisher webhooks, TimeProvider clock)
{
    public const int MaxProbability = 100;
    public const decimal MaxAmount = 1_000_000_000_000m;
    public const string Rule = "deal";

    // ---- access (decision 018): the deal's owner, or whoever may work (read) the deal's lead ----

    /// <summary>May <paramref name="user"/> read (Read) or change (Work) this deal? Owners work their own deals; the lead policy does the rest.</summary>
    public async Task<bool> MayAsync(ClaimsPrincipal user, Guid? ownerId, Guid leadId, LeadRight right, CancellationToken ct)
    {
        var scope = await access.ScopeAsync(user, ct);
        if ((right == LeadRight.Read && scope.ReadAll) || scope.WorkAll)
            return true;
        if (ownerId is { } o && scope.CanWorkAtAll && scope.Owners.Contains(o))
            return true;
        return await access.AllowsAsync(db, scope, leadId, right, ct) == true;
    }

    /// <summary>The deals <paramref name="user"/> may read.</summary>
    public async Task<IQueryable<Deal>> ReadableAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var scope = await access.ScopeAsync(user, ct);
        var deals = db.Deals.AsNoTracking();
        if (scope.ReadAll)
            return deals;
        var owners = scope.Owners.ToList();
        var leads = access.Readable(db, scope, db.Leads.AsNoTracking());
        return deals.Where(d => (d.OwnerId != null && owners.Contains(d.OwnerId.Value)) || leads.Any(l => l.Id == d.LeadId));
    }

    // ---- reads ----

    public async Task<DealView?> GetAsync(Guid id, CancellationToken ct)
    {
        var d = await db.Deals.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        if (d is null)
            return null;
        var lead = await db.Leads.AsNoTracking().Where(l => l.Id == d.LeadId).Select(l => new { l.FirstName, l.LastName, l.Email, l.Phone, l.ExternalId })
            .FirstAsync(ct);
        var account = d.AccountId is { } a ? await db.Accounts.AsNoTracking().Where(x => x.Id == a).Select(x => x.Name).FirstOrDefaultAsync(ct) : null;
        var history = await db.Set<DealStageChange>().AsNoTracking().Where(c => c.DealId == id).OrderBy(c => c.At).ThenBy(c => c.Id)
            .Select(c => new DealStageChangeView(c.From, c.To, c.At, c.ByUserId, c.Note)).ToListAsync(ct);
        return new DealView(d.Id, d.Name, d.LeadId, LeadName(lead.FirstName, lead.LastName, lead.Email, lead.Phone, lead.ExternalId, d.LeadId),
            d.AccountId, account, d.OwnerId, d.Kind, d.ParentDealId, d.Amount, d.Currency, d.Mrr, d.Stage, d.Status, d.Probability,
            d.EffectiveProbability, d.ExpectedCloseOn, d.CreatedAt, d.UpdatedAt, d.StageChangedAt, d.ClosedAt, d.WinReason, d.LossReason,
            d.LostReason, d.Source, history);
    }

    private static string LeadName(string? first, string? last, string? email, string? phone, string? external, Guid id) =>
        string.Join(' ', new[] { first, last }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } name
            ? name : email ?? phone ?? external ?? id.ToString();

    public async Task<Page<DealListItem>> ListAsync(ClaimsPrincipal user, DealQuery f, int pageNumber, int pageSize, CancellationToken ct) =>
        await ListAsync(await ReadableAsync(user, ct), f, pageNumber, pageSize, ct);

    /// <summary>A page of <paramref name="q"/> (already limited to what the caller may read) filtered by <paramref name="f"/>, newest first.</summary>
    public async Task<Page<DealListItem>> ListAsync(IQueryable<Deal> q, DealQuery f, int pageNumber, int pageSize, CancellationToken ct)
    {
        if (f.Stage is { } stage) q = q.Where(d => d.Stage == stage);
        if (f.Status is { } status) q = q.Where(d => d.Status == status);
        if (f.OwnerId is { } owner) q = q.Where(d => d.OwnerId == owner);
        if (f.AccountId is { } account) q = q.Where(d => d.AccountId == account);
        if (f.LeadId is { } lead) q = q.Where(d => d.LeadId == lead);
        var total = await q.CountAsync(ct);
        var rows = await q.OrderByDescending(d => d.CreatedAt).ThenByDescending(d => d.Id).Skip((pageNumber - 1) * pageSize).Take(pageSize)
            .Select(d => new
            {
                Deal = d,
                Lead = db.Leads.Where(l => l.Id == d.LeadId).Select(l => new { l.FirstName, l.LastName, l.Email, l.Phone, l.ExternalId }).First(),
                Account = db.Accounts.Where(a => a.Id == d.AccountId).Select(a => a.Name).FirstOrDefault(),
            })
            .ToListAsync(ct);
        var items = rows.Select(r => new DealListItem(r.Deal.Id, r.Deal.Name, r.Deal.LeadId,
            LeadName(r.Lead.FirstName, r.Lead.LastName, r.Lead.Email, r.Lead.Phone, r.Lead.ExternalId, r.Deal.LeadId), r.Deal.AccountId, r.Account,
            r.Deal.OwnerId, r.Deal.Kind, r.Deal.Amount, r.Deal.Currency, r.Deal.Stage, r.Deal.Status, r.Deal.EffectiveProbability,
            r.Deal.ExpectedCloseOn, r.Deal.CreatedAt, r.Deal.ClosedAt)).ToList();
        return new Page<DealListItem>(items, pageNumber, pageSize, total);
    }

    // ---- writes ----

    private static void Text(FieldErrors errors, string field, string? value, int max, bool required)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
                errors.Add(field, "Required.");
            return;
        }
        if (!SafeText.IsStorable(value))
            errors.Add(field, SafeText.Rejected);
        else if (value.Trim().Length > max)
            errors.Add(field, $"At most {max} characters.");
    }

    private static void Money(FieldErrors errors, string field, decimal? value, bool required)
    {
        if (value is null)
        {
            if (required)
                errors.Add(field, "Required.");
            return;
        }
        if (value <= 0)
            errors.Add(field, "Must be greater than zero.");
        else if (value > MaxAmount)
            errors.Add(field, $"At most {MaxAmount:0}.");
        else if (decimal.Round(value.Value, 2) != value.Value)
            errors.Add(field, "At most two decimals.");
    }

    private async Task OwnerAsync(FieldErrors errors, Guid? ownerId, CancellationToken ct)
    {
        if (ownerId is { } o && !await db.Users.AnyAsync(u => u.Id == o, ct))
            errors.Add("ownerId", "No user with this id.");
    }

    public async Task<DealOutcome> CreateAsync(ClaimsPrincipal user, CreateOpportunityRequest r, string source, CancellationToken ct, DateTimeOffset? at = null)
    {
        var errors = new FieldErrors();
        var actor = Actor.From(user);
        Text(errors, "name", r.Name, Deal.MaxName, true);
        Money(errors, "amount", r.Amount, true);
        Money(errors, "mrr", r.Mrr, false);
        var currency = Currencies.Normalize(r.Currency);
        if (string.IsNullOrWhiteSpace(r.Currency))
            errors.Add("currency", "Required (an ISO 4217 code such as EUR).");
        else if (currency is null)
            errors.Add("currency", "Not a known ISO 4217 currency code.");
        if (r.Probability is < 0 or > MaxProbability)
            errors.Add("probability", "Between 0 and 100.");
        await OwnerAsync(errors, r.OwnerId, ct);
        var kind = r.Kind ?? DealKind.NewBusiness;
        Lead? lead = null;
        if (r.LeadId is not { } leadId)
            errors.Add("leadId", "Required.");
        else if ((lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct)) is null)
            errors.Add("leadId", "No lead with this id.");
        else if (!await MayAsync(user, null, leadId, LeadRight.Work, ct))
            return DealOutcome.Denied;
        Deal? parent = null;
        if (kind != DealKind.NewBusiness)
        {
            if (r.ParentDealId is not { } parentId)
                errors.Add("parentDealId", "A renewal or an upsell names the won deal it renews or extends.");
            else if ((parent = await db.Deals.AsNoTracking().FirstOrDefaultAsync(d => d.Id == parentId, ct)) is null)
                errors.Add("parentDealId", "No opportunity with this id.");
            else if (parent.Status != DealStatus.Won)
                errors.Add("parentDealId", "The deal renewed or extended must be won.");
            else if (lead is not null && parent.LeadId != lead.Id && (parent.AccountId is null || parent.AccountId != lead.AccountId))
                errors.Add("parentDealId", "The parent deal belongs to another lead and account.");
        }
        else if (r.ParentDealId is not null)
            errors.Add("parentDealId", "Only a renewal or an upsell has a parent deal.");
        if (lead is not null && kind == DealKind.NewBusiness && r.AnyLeadStage != true
            && lead.Stage is not (LifecycleStage.Sql or LifecycleStage.Opportunity or LifecycleStage.Customer or LifecycleStage.Advocate))
            errors.Add("leadId", $"An opportunity is created from an SQL; this lead is {lead.Stage} (set anyLeadStage to create it anyway).");
        if (errors.Any)
            return DealOutcome.Invalid(errors);

        var now = at ?? clock.GetUtcNow();
        var deal = new Deal
        {
            Name = r.Name!.Trim(),
            LeadId = lead!.Id,
            AccountId = parent?.AccountId ?? lead.AccountId,
            OwnerId = r.OwnerId ?? actor.Id ?? lead.OwnerId,
            Kind = kind,
            ParentDealId = parent?.Id,
            Amount = r.Amount!.Value,
            Currency = currency!,
            Mrr = r.Mrr,
            Probability = r.Probability,
            ExpectedCloseOn = r.ExpectedCloseOn,
            Stage = DealStage.Qualification,
            Status = DealStatus.Open,
            CreatedAt = now,
            UpdatedAt = now,
            StageChangedAt = now,
            Source = source,
        };
        db.Deals.Add(deal);
        db.Set<DealStageChange>().Add(new DealStageChange { DealId = deal.Id, From = null, To = DealStage.Qualification, At = now, ByUserId = actor.Id, Note = "Created" });
        if (lead.Stage is not (LifecycleStage.Opportunity or LifecycleStage.Customer or LifecycleStage.Advocate))
            LeadStages.Record(db, lead, LifecycleStage.Opportunity, actor, Rule, $"Opportunity opened: {deal.Name}", now);
        await db.SaveChangesAsync(ct);
        return new DealOutcome(await GetAsync(deal.Id, ct));
    }

    public async Task<DealOutcome> UpdateAsync(ClaimsPrincipal user, Guid id, UpdateOpportunityRequest r, CancellationToken ct)
    {
        var deal = await db.Deals.FirstOrDefaultAsync(d => d.Id == id, ct);
        if (deal is null)
            return DealOutcome.Missing;
        if (!await MayAsync(user, deal.OwnerId, deal.LeadId, LeadRight.Work, ct))
            return DealOutcome.Denied;
        var errors = new FieldErrors();
        if (r.Name is not null)
            Text(errors, "name", r.Name, Deal.MaxName, true);
        Money(errors, "amount", r.Amount, false);
        Money(errors, "mrr", r.Mrr, false);
        var currency = r.Currency is null ? deal.Currency : Currencies.Normalize(r.Currency);
        if (currency is null)
            errors.Add("currency", "Not a known ISO 4217 currency code.");
        if (r.Probability is < 0 or > MaxProbability)
            errors.Add("probability", "Between 0 and 100.");
        await OwnerAsync(errors, r.OwnerId, ct);
        if (errors.Any)
            return DealOutcome.Invalid(errors);
        if (r.Name is not null) deal.Name = r.Name.Trim();
        if (r.Amount is { } amount) deal.Amount = amount;
        deal.Currency = currency!;
        if (r.Mrr is { } mrr) deal.Mrr = mrr;
        if (r.ExpectedCloseOn is { } close) deal.ExpectedCloseOn = close;
        if (r.ClearProbability == true) deal.Probability = null;
        else if (r.Probability is { } p) deal.Probability = p;
        if (r.OwnerId is { } owner) deal.OwnerId = owner;
        deal.UpdatedAt = clock.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return new DealOutcome(await GetAsync(deal.Id, ct));
    }

    /// <summary>
    /// Moves a deal to a stage. Lost needs a loss reason; a closed deal reopens only with a note; every move writes a
    /// <see cref="DealStageChange"/>. Won makes the lead a Customer and the account a customer; lost recycles the lead unless it
    /// has other open deals; a won deal lost or reopened takes the customer status back when the account has no other won deal.
    /// </summary>
    public async Task<DealOutcome> MoveAsync(ClaimsPrincipal user, Guid id, MoveStageRequest r, CancellationToken ct, DateTimeOffset? at = null, bool publish = true)
    {
        var deal = await db.Deals.FirstOrDefaultAsync(d => d.Id == id, ct);
        if (deal is null)
            return DealOutcome.Missing;
        if (!await MayAsync(user, deal.OwnerId, deal.LeadId, LeadRight.Work, ct))
            return DealOutcome.Denied;
        var errors = new FieldErrors();
        Text(errors, "note", r.Note, Deal.MaxNote, false);
        var note = string.IsNullOrWhiteSpace(r.Note) ? null : r.Note.Trim();
        if (r.Stage is not { } to)
            errors.Add("stage", "Required.");
        else
        {
            var from = deal.Stage;
            var reopening = from is DealStage.Won or DealStage.Lost;
            if (to == from)
                errors.Add("stage", "The opportunity is already at this stage.");
            else if (reopening && note is null)
                errors.Add("note", "Reopening a closed opportunity needs a note saying why.");
            if (to == DealStage.Lost && r.LossReason is null)
                errors.Add("lossReason", "Say why the opportunity was lost.");
            if (to != DealStage.Lost && r.LossReason is not null)
                errors.Add("lossReason", "Only a lost opportunity has a loss reason.");
            if (to != DealStage.Won && r.WinReason is not null)
                errors.Add("winReason", "Only a won opportunity has a win reason.");
        }
        if (errors.Any)
            return DealOutcome.Invalid(errors);

        var stage = r.Stage!.Value;
        var actor = Actor.From(user);
        var now = at ?? clock.GetUtcNow();
        var wasWon = deal.Stage == DealStage.Won;
        db.Set<DealStageChange>().Add(new DealStageChange { DealId = deal.Id, From = deal.Stage, To = stage, At = now, ByUserId = actor.Id, Note = note });
        deal.Stage = stage;
        deal.Status = DealStages.StatusOf(stage);
        deal.StageChangedAt = now;
        deal.UpdatedAt = now;
        deal.WinReason = r.WinReason;
        deal.LossReason = r.LossReason;
        deal.ClosedAt = deal.Status == DealStatus.Open ? null : now;
        if (deal.Status != DealStatus.Open)
            deal.LostReason = note;
        var lead = await db.Leads.FirstAsync(l => l.Id == deal.LeadId, ct);
        var others = await db.Deals.Where(d => d.LeadId == lead.Id && d.Id != deal.Id).Select(d => d.Status).ToListAsync(ct);

        if (wasWon && stage != DealStage.Won)
            await UndoWinAsync(deal, lead, others, actor, now, ct);
        switch (deal.Status)
        {
            case DealStatus.Won:
                await WinAsync(deal, lead, actor, now, publish, ct);
                break;
            case DealStatus.Lost:
                if (lead.Stage == LifecycleStage.Opportunity && !others.Contains(DealStatus.Open))
                    LeadStages.Record(db, lead, LifecycleStage.Recycled, actor, Rule, $"Opportunity lost ({deal.LossReason}): {deal.Name}", now);
                break;
            default:
                if (lead.Stage is LifecycleStage.Recycled or LifecycleStage.Disqualified or LifecycleStage.Sql or LifecycleStage.Mql or LifecycleStage.Lead
                    or LifecycleStage.Subscriber)
                    LeadStages.Record(db, lead, LifecycleStage.Opportunity, actor, Rule, $"Opportunity reopened: {deal.Name}", now);
                break;
        }
        await db.SaveChangesAsync(ct);
        return new DealOutcome(await GetAsync(deal.Id, ct));
    }

    private async Task WinAsync(Deal deal, Lead lead, Actor actor, DateTimeOffset now, bool publish, CancellationToken ct)
    {
        if (lead.Stage is not (LifecycleStage.Customer or LifecycleStage.Advocate))
            LeadStages.Record(db, lead, LifecycleStage.Customer, actor, Rule, $"Opportunity won: {deal.Name}", now);
        Account? account = null;
        if (deal.AccountId is { } aid)
            account = await db.Accounts.FirstOrDefaultAsync(a => a.Id == aid, ct);
        if (account is null && lead.AccountId is { } lid)
            account = await db.Accounts.FirstOrDefaultAsync(a => a.Id == lid, ct);
        if (account is null)
        {
            var name = (string.IsNullOrWhiteSpace(lead.Company) ? lead.DisplayName : lead.Company).Trim();
            account = new Account
            {
                Name = name.Length > 200 ? name[..200] : name,
                Industry = lead.Industry is { Length: <= 100 } ? lead.Industry : null,
                Country = lead.Country is { Length: 2 } ? lead.Country : null,
                EmployeeCount = lead.CompanySize,
                OwnerId = deal.OwnerId,
                CreatedAt = now,
            };
            db.Accounts.Add(account);
        }
        lead.AccountId ??= account.Id;
        deal.AccountId = account.Id;
        if (account.CustomerSince is null || account.ChurnedAt is not null)
        {
            account.CustomerSince = now;
            account.ChurnedAt = null;
            account.ChurnReason = null;
        }
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        if (deal.Kind == DealKind.Upsell && account.ContractCurrency == deal.Currency && account.ContractValue is not null)
        {
            // An upsell adds to the running contract (same currency); its start and renewal stay.
            account.ContractValue += deal.Amount;
            account.Mrr = account.Mrr is null && deal.Mrr is null ? null : (account.Mrr ?? 0) + (deal.Mrr ?? 0);
        }
        else
        {
            account.ContractValue = deal.Amount;
            account.Mrr = deal.Mrr;
            account.ContractCurrency = deal.Currency;
            account.ContractStartsOn = today;
            account.RenewalOn = today.AddMonths(12);
        }
        if (!publish)
            return;
        await webhooks.PublishAsync(db, WebhookEvents.DealWon, new
        {
            deal = new { deal.Id, deal.Name, deal.Kind, deal.Amount, deal.Currency, deal.Mrr, deal.WinReason, deal.ParentDealId, deal.OwnerId },
            lead = LeadWebhookData.Of(lead),
            account = new { account.Id, account.Name },
            by = actor.Id,
            at = now,
        }, ct);
    }

    /// <summary>A won deal lost or reopened: the account is no customer any more unless another of its deals is won (not a churn: the win is undone).</summary>
    private async Task UndoWinAsync(Deal deal, Lead lead, List<DealStatus> leadOthers, Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        if (deal.AccountId is { } aid && !await db.Deals.AnyAsync(d => d.AccountId == aid && d.Id != deal.Id && d.Status == DealStatus.Won, ct)
            && await db.Accounts.FirstOrDefaultAsync(a => a.Id == aid, ct) is { } account)
        {
            account.CustomerSince = null;
            account.ContractValue = null;
            account.Mrr = null;
            account.ContractCurrency = null;
            account.ContractStartsOn = null;
            account.RenewalOn = null;
        }
        if (lead.Stage == LifecycleStage.Customer && !leadOthers.Contains(DealStatus.Won))
            LeadStages.Record(db, lead, LifecycleStage.Opportunity, actor, Rule, $"Won opportunity taken back: {deal.Name}", now);
    }
}
