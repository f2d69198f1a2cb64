using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

public sealed record AccountPerson(Guid Id, string Name, string? Email, string? JobTitle, LifecycleStage Stage, Guid? OwnerId);

/// <summary>Won revenue of one currency (amounts are never added across currencies).</summary>
public sealed record CurrencyTotal(string Currency, decimal Won, decimal Open, int WonDeals);

public sealed record AccountListItem(Guid Id, string Name, string? Domain, bool IsCustomer, DateTimeOffset? CustomerSince, decimal? ContractValue,
    decimal? Mrr, string? ContractCurrency, DateOnly? RenewalOn, DateTimeOffset? ChurnedAt);

public sealed record AccountView(Guid Id, string Name, string? Domain, string? Industry, string? Country, int? EmployeeCount, Guid? OwnerId,
    DateTimeOffset CreatedAt, bool IsCustomer, DateTimeOffset? CustomerSince, decimal? ContractValue, decimal? Mrr, string? ContractCurrency,
    DateOnly? ContractStartsOn, DateOnly? RenewalOn, DateTimeOffset? ChurnedAt, string? ChurnReason, IReadOnlyList<AccountPerson> People,
    IReadOnlyList<DealListItem> Deals, IReadOnlyList<CurrencyTotal> Revenue);

public sealed record ChurnRequest(string? Reason, DateTimeOffset? At);

public sealed record AccountOutcome(AccountView? Account, Dictionary<string, string[]>? Errors = null, bool NotFound = false, bool Forbidden = false);

/// <summary>
/// Accounts as customers: the account page (people, deals, revenue per currency) and the churn. Readers: whoever reads every lead,
/// the account's owner, and whoever may read one of its people or owns one of its deals.
/// </summary>
public sealed class CustomerService(TandemDb db, ILeadAccess access, OpportunityService deals, TimeProvider clock)
{
    public const int MaxChurnReason = 1000;

    public async Task<IQueryable<Account>> ReadableAsync(ClaimsPrincipal user, CancellationToken ct)
    {
        var scope = await access.ScopeAsync(user, ct);
        var accounts = db.Accounts.AsNoTracking();
        if (scope.ReadAll)
            return accounts;
        var owners = scope.Owners.ToList();
        var leads = access.Readable(db, scope, db.Leads.AsNoTracking());
        return accounts.Where(a => (a.OwnerId != null && owners.Contains(a.OwnerId.Value))
            || leads.Any(l => l.AccountId == a.Id)
            || db.Deals.Any(d => d.AccountId == a.Id && d.OwnerId != null && owners.Contains(d.OwnerId.Value)));
    }

    public async Task<Page<AccountListItem>> ListAsync(ClaimsPrincipal user, bool? customer, string? search, int pageNumber, int pageSize, CancellationToken ct)
    {
        var q = await ReadableAsync(user, ct);
        if (customer == true) q = q.Where(a => a.CustomerSince != null && a.ChurnedAt == null);
        else if (customer == false) q = q.Where(a => a.CustomerSince == null || a.ChurnedAt != null);
        if (!string.IsNullOrWhiteSpace(search))
        {
            var s = search.Trim().ToLowerInvariant();
            q = q.Where(a => a.Name.ToLower().StartsWith(s));
        }
        var total = await q.CountAsync(ct);
        var items = await q.OrderBy(a => a.Name).ThenBy(a => a.Id).Skip((pageNumber - 1) * pageSize).Take(pageSize)
            .Select(a => new AccountListItem(a.Id, a.Name, a.Domain, a.CustomerSince != null && a.ChurnedAt == null, a.CustomerSince, a.ContractValue, a.Mrr,
                a.ContractCurrency, a.RenewalOn, a.ChurnedAt))
            .ToListAsync(ct);
        return new Page<AccountListItem>(items, pageNumber, pageSize, total);
    }

    /// <summary>The account if <paramref name="user"/> may read it; NotFound / Forbidden otherwise.</summary>
    public async Task<AccountOutcome> GetAsync(ClaimsPrincipal user, Guid id, CancellationToken ct)
    {
        if (!await db.Accounts.AnyAsync(a => a.Id == id, ct))
            return new AccountOutcome(null, NotFound: true);
        if (!await (await ReadableAsync(user, ct)).AnyAsync(a => a.Id == id, ct))
            return new AccountOutcome(null, Forbidden: true);
        return new AccountOutcome(await ViewAsync(id, ct));
    }

    private async Task<AccountView> ViewAsync(Guid id, CancellationToken ct)
    {
        var a = await db.Accounts.AsNoTracking().FirstAsync(x => x.Id == id, ct);
        var people = (await db.Leads.AsNoTracking().Where(l => l.AccountId == id).OrderBy(l => l.LastName).ThenBy(l => l.FirstName).Take(500)
                .Select(l => new { l.Id, l.FirstName, l.LastName, l.Email, l.Phone, l.ExternalId, l.JobTitle, l.Stage, l.OwnerId }).ToListAsync(ct))
            .Select(l => new AccountPerson(l.Id,
                string.Join(' ', new[] { l.FirstName, l.LastName }.Where(s => !string.IsNullOrWhiteSpace(s))) is { Length: > 0 } n ? n : l.Email ?? l.Phone ?? l.ExternalId ?? l.Id.ToString(),
                l.Email, l.JobTitle, l.Stage, l.OwnerId))
            .ToList();
        // The account page shows every deal of the account: whoever may read the account sees its pipeline.
        var dealPage = await deals.ListAsync(db.Deals.AsNoTracking(), new DealQuery { AccountId = id }, 1, PageQuery.MaxPageSize, ct);
        // Summed in memory per currency (SQLite has no decimal SUM; an account has few deals): never across currencies.
        var money = await db.Deals.AsNoTracking().Where(d => d.AccountId == id && d.Status != DealStatus.Lost)
            .Select(d => new { d.Currency, d.Status, d.Amount }).ToListAsync(ct);
        var revenue = money.GroupBy(m => m.Currency).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new CurrencyTotal(g.Key,
                g.Where(m => m.Status == DealStatus.Won).Sum(m => m.Amount),
                g.Where(m => m.Status == DealStatus.Open).Sum(m => m.Amount),
                g.Count(m => m.Status == DealStatus.Won)))
            .ToList();
        return new AccountView(a.Id, a.Name, a.Domain, a.Industry, a.Country, a.EmployeeCount, a.OwnerId, a.CreatedAt, a.IsCustomer, a.CustomerSince,
            a.ContractValue, a.Mrr, a.ContractCurrency, a.ContractStartsOn, a.RenewalOn, a.ChurnedAt, a.ChurnReason, people, dealPage.Items, revenue);
    }

    /// <summary>Marks a customer churned (with a reason, at a time no later than now). Admins and sales managers; keys with the ingest scope.</summary>
    public async Task<AccountOutcome> ChurnAsync(ClaimsPrincipal user, Guid id, ChurnRequest r, CancellationToken ct)
    {
        var account = await db.Accounts.FirstOrDefaultAsync(a => a.Id == id, ct);
        if (account is null)
            return new AccountOutcome(null, NotFound: true);
        var errors = new FieldErrors();
        var now = clock.GetUtcNow();
        if (string.IsNullOrWhiteSpace(r.Reason))
            errors.Add("reason", "Say why the customer left.");
        else if (!SafeText.IsStorable(r.Reason))
            errors.Add("reason", SafeText.Rejected);
        else if (r.Reason.Trim().Length > MaxChurnReason)
            errors.Add("reason", $"At most {MaxChurnReason} characters.");
        var at = r.At ?? now;
        if (at > now)
            errors.Add("at", "A churn cannot be in the future.");
        if (account.CustomerSince is null)
            errors.Add("account", "This account is not a customer.");
        else if (account.ChurnedAt is not null)
            errors.Add("account", "This customer has already churned.");
        else if (at < account.CustomerSince)
            errors.Add("at", "A churn cannot be before the account became a customer.");
        if (errors.Any)
            return new AccountOutcome(null, errors.ToDictionary());
        account.ChurnedAt = at;
        account.ChurnReason = r.Reason!.Trim();
        await db.SaveChangesAsync(ct);
        return new AccountOutcome(await ViewAsync(id, ct));
    }
}
