using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Campaigns;

public sealed record SpendLine(Guid Id, DateOnly On, decimal Amount, string? Note);

public sealed record CampaignSummary(Guid Id, string Name, Channel Channel, CampaignStatus Status, DateOnly? StartsOn, DateOnly? EndsOn,
    decimal Budget, decimal Spent, string Currency, int Leads);

public sealed record CampaignDetail(Guid Id, string Name, Channel Channel, CampaignStatus Status, DateOnly? StartsOn, DateOnly? EndsOn,
    decimal Budget, decimal Spent, string Currency, string? UtmCampaign, Guid? OwnerId, int Leads, IReadOnlyList<SpendLine> Spend);

/// <summary>Body of <c>POST /api/v1/campaigns</c> and <c>PUT /api/v1/campaigns/{id}</c>. Enums are strings so a bad value is a field error.</summary>
public sealed record CampaignRequest(string? Name, string? Channel, string? Status, DateOnly? StartsOn, DateOnly? EndsOn, decimal? Budget,
    string? Currency, string? UtmCampaign, Guid? OwnerId);

public sealed record SpendRequest(DateOnly? On, decimal? Amount, string? Note);

/// <summary>Campaigns: read (<c>scope read</c>), create/edit and spend lines (<c>scope ingest</c>).</summary>
public static class CampaignsApi
{
    public const int MaxNote = 500;

    public static RouteGroupBuilder MapCampaignsApi(this RouteGroupBuilder api)
    {
        var campaigns = api.MapGroup("/campaigns").RequireAuthorization(Policies.ScopeRead).WithTags("Campaigns");
        campaigns.MapGet("/", ListAsync).WithSummary($"List campaigns with budget, spend and lead count. pageSize is at most {PageQuery.MaxPageSize}.");
        campaigns.MapGet("/{id:guid}", GetAsync).WithSummary("One campaign with its spend lines.");
        var write = api.MapGroup("/campaigns").RequireAuthorization(Policies.ScopeIngest).WithTags("Campaigns");
        write.MapPost("/", CreateAsync).WithSummary("Create a campaign (name, channel, dates, budget, currency, utmCampaign unique).");
        write.MapPut("/{id:guid}", UpdateAsync).WithSummary("Replace a campaign's settings.");
        write.MapPost("/{id:guid}/spend", AddSpendEndpointAsync).WithSummary($"Add a spend line (amount > 0, note ≤ {MaxNote} characters).");
        write.MapDelete("/{id:guid}/spend/{spendId:guid}", DeleteSpendEndpointAsync).WithSummary("Delete a spend line.");
        return api;
    }

    /// <summary>Campaign summaries with spend and first-touch lead counts. Money is summed in memory: SQLite has no decimal SUM.</summary>
    public static async Task<Page<CampaignSummary>> QueryAsync(TandemDb db, PageQuery page, CancellationToken ct)
    {
        var total = await db.Campaigns.CountAsync(ct);
        var rows = await db.Campaigns.AsNoTracking().OrderByDescending(c => c.StartsOn).ThenBy(c => c.Name)
            .Skip(page.Skip).Take(page.Size).ToListAsync(ct);
        var ids = rows.Select(r => r.Id).ToList();
        var spend = (await db.CampaignSpend.AsNoTracking().Where(s => ids.Contains(s.CampaignId)).Select(s => new { s.CampaignId, s.Amount }).ToListAsync(ct))
            .GroupBy(s => s.CampaignId).ToDictionary(g => g.Key, g => g.Sum(x => x.Amount));
        var leads = await db.Leads.AsNoTracking().Where(l => l.FirstCampaignId != null && ids.Contains(l.FirstCampaignId.Value))
            .GroupBy(l => l.FirstCampaignId!.Value).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        var items = rows.Select(c => new CampaignSummary(c.Id, c.Name, c.Channel, c.Status, c.StartsOn, c.EndsOn, c.Budget,
            spend.GetValueOrDefault(c.Id), c.Currency, leads.GetValueOrDefault(c.Id))).ToList();
        return new Page<CampaignSummary>(items, page.PageNumber, page.Size, total);
    }

    public static async Task<CampaignDetail?> GetDetailAsync(TandemDb db, Guid id, CancellationToken ct)
    {
        var c = await db.Campaigns.AsNoTracking().Include(x => x.Spend).FirstOrDefaultAsync(x => x.Id == id, ct);
        if (c is null)
            return null;
        var leads = await db.Leads.CountAsync(l => l.FirstCampaignId == id, ct);
        var spend = c.Spend.OrderBy(s => s.On).ThenBy(s => s.Id).Select(s => new SpendLine(s.Id, s.On, s.Amount, s.Note)).ToList();
        return new CampaignDetail(c.Id, c.Name, c.Channel, c.Status, c.StartsOn, c.EndsOn, c.Budget,
            spend.Sum(s => s.Amount), c.Currency, c.UtmCampaign, c.OwnerId, leads, spend);
    }

    /// <summary>Checks and normalises a campaign request; field keys are the JSON names.</summary>
    public static Campaign? Validate(CampaignRequest r, FieldErrors errors)
    {
        var name = r.Name?.Trim();
        if (string.IsNullOrEmpty(name))
            errors.Add("name", "A name is required.");
        else if (name.Length > 200)
            errors.Add("name", "At most 200 characters.");
        Channel channel = default;
        if (string.IsNullOrWhiteSpace(r.Channel))
            errors.Add("channel", "A channel is required.");
        else if (!Enum.TryParse(r.Channel.Trim(), ignoreCase: true, out channel) || !Enum.IsDefined(channel))
            errors.Add("channel", $"Unknown channel '{r.Channel}'. Use one of {string.Join(", ", Enum.GetNames<Channel>())}.");
        var status = CampaignStatus.Draft;
        if (!string.IsNullOrWhiteSpace(r.Status) && (!Enum.TryParse(r.Status.Trim(), ignoreCase: true, out status) || !Enum.IsDefined(status)))
            errors.Add("status", $"Unknown status '{r.Status}'. Use one of {string.Join(", ", Enum.GetNames<CampaignStatus>())}.");
        if (r.StartsOn is { } s && r.EndsOn is { } e && e < s)
            errors.Add("endsOn", "The end date is before the start date.");
        if (r.Budget is < 0)
            errors.Add("budget", "The budget cannot be negative.");
        else if (r.Budget is > 1_000_000_000_000m)
            errors.Add("budget", "The budget is too large.");
        var currency = string.IsNullOrWhiteSpace(r.Currency) ? "EUR" : r.Currency.Trim().ToUpperInvariant();
        if (currency.Length != 3 || !currency.All(char.IsAsciiLetterUpper))
            errors.Add("currency", "Use a three-letter ISO 4217 code such as EUR.");
        var utm = string.IsNullOrWhiteSpace(r.UtmCampaign) ? null : r.UtmCampaign.Trim();
        if (utm is { Length: > 200 })
            errors.Add("utmCampaign", "At most 200 characters.");
        if (errors.Any)
            return null;
        return new Campaign
        {
            Name = name!,
            Channel = channel,
            Status = status,
            StartsOn = r.StartsOn,
            EndsOn = r.EndsOn,
            Budget = r.Budget ?? 0,
            Currency = currency,
            UtmCampaign = utm,
            OwnerId = r.OwnerId,
        };
    }

    /// <summary>Checks a spend line: amount above zero, a date within ten years back and one year ahead of <paramref name="today"/>, a short note.</summary>
    public static void ValidateSpend(SpendRequest r, DateOnly today, FieldErrors errors)
    {
        if (r.On is not { } on)
            errors.Add("on", "A date is required.");
        else if (on < today.AddYears(-10) || on > today.AddYears(1))
            errors.Add("on", "The date must be within ten years before and one year after today.");
        if (r.Amount is not { } amount)
            errors.Add("amount", "An amount is required.");
        else if (amount <= 0)
            errors.Add("amount", "The amount must be greater than zero.");
        else if (amount > 1_000_000_000m || decimal.Round(amount, 2) != amount)
            errors.Add("amount", "At most 1,000,000,000 with two decimals.");
        if (r.Note is { Length: > MaxNote })
            errors.Add("note", $"At most {MaxNote} characters.");
    }

    /// <summary>Creates or updates a campaign; the result is the id, or field errors, or null id with no errors when not found.</summary>
    public static async Task<(Guid? Id, Dictionary<string, string[]>? Errors)> SaveAsync(TandemDb db, Guid? id, CampaignRequest request,
        Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var valid = Validate(request, errors);
        if (valid is null)
            return (null, errors.ToDictionary());
        if (valid.UtmCampaign is { } utm && await db.Campaigns.AnyAsync(c => c.UtmCampaign == utm && c.Id != id, ct))
            return (null, new() { ["utmCampaign"] = [$"Another campaign already uses utm_campaign '{utm}'."] });
        if (valid.OwnerId is { } owner && !await db.Users.AnyAsync(u => u.Id == owner, ct))
            return (null, new() { ["ownerId"] = [$"No user with id {owner}."] });
        Campaign campaign;
        if (id is null)
        {
            campaign = valid;
            campaign.CreatedAt = now;
            db.Campaigns.Add(campaign);
        }
        else
        {
            var existing = await db.Campaigns.FirstOrDefaultAsync(c => c.Id == id, ct);
            if (existing is null)
                return (null, null);
            campaign = existing;
            (campaign.Name, campaign.Channel, campaign.Status, campaign.StartsOn, campaign.EndsOn) = (valid.Name, valid.Channel, valid.Status, valid.StartsOn, valid.EndsOn);
            (campaign.Budget, campaign.Currency, campaign.UtmCampaign, campaign.OwnerId) = (valid.Budget, valid.Currency, valid.UtmCampaign, valid.OwnerId);
        }
        db.AuditEntries.Add(Audit(actor, now, id is null ? "campaign.created" : "campaign.updated", campaign.Id, $"name={campaign.Name}"));
        await db.SaveChangesAsync(ct);
        return (campaign.Id, null);
    }

    public static async Task<(SpendLine? Line, Dictionary<string, string[]>? Errors)> AddSpendAsync(TandemDb db, Guid campaignId, SpendRequest request,
        Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        ValidateSpend(request, DateOnly.FromDateTime(now.UtcDateTime), errors);
        if (errors.Any)
            return (null, errors.ToDictionary());
        if (!await db.Campaigns.AnyAsync(c => c.Id == campaignId, ct))
            return (null, null);
        var line = new CampaignSpend { CampaignId = campaignId, On = request.On!.Value, Amount = request.Amount!.Value, Note = string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim() };
        db.CampaignSpend.Add(line);
        db.AuditEntries.Add(Audit(actor, now, "campaign.spend-added", campaignId,
            $"spend={line.Id}; on={line.On:yyyy-MM-dd}; amount={line.Amount.ToString(CultureInfo.InvariantCulture)}"));
        await db.SaveChangesAsync(ct);
        return (new SpendLine(line.Id, line.On, line.Amount, line.Note), null);
    }

    public static async Task<bool> DeleteSpendAsync(TandemDb db, Guid campaignId, Guid spendId, Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var line = await db.CampaignSpend.FirstOrDefaultAsync(s => s.Id == spendId && s.CampaignId == campaignId, ct);
        if (line is null)
            return false;
        db.CampaignSpend.Remove(line);
        db.AuditEntries.Add(Audit(actor, now, "campaign.spend-deleted", campaignId,
            $"spend={line.Id}; on={line.On:yyyy-MM-dd}; amount={line.Amount.ToString(CultureInfo.InvariantCulture)}"));
        await db.SaveChangesAsync(ct);
        return true;
    }

    /// <summary>An audit entry about a campaign (the campaign pages and the feedback loop write them alike).</summary>
    internal static AuditEntry Audit(Actor actor, DateTimeOffset now, string action, Guid campaignId, string details) => new()
    {
        At = now,
        ActorId = actor.Id,
        Actor = actor.Name,
        Action = action,
        EntityType = nameof(Campaign),
        EntityId = campaignId.ToString(),
        Details = details.Length > 4000 ? details[..4000] : details,
    };

    private static async Task<Ok<Page<CampaignSummary>>> ListAsync([AsParameters] PageQuery page, TandemDb db, CancellationToken ct) =>
        TypedResults.Ok(await QueryAsync(db, page, ct));

    private static async Task<Results<Ok<CampaignDetail>, ProblemHttpResult>> GetAsync(Guid id, TandemDb db, CancellationToken ct) =>
        await GetDetailAsync(db, id, ct) is { } detail ? TypedResults.Ok(detail) : ApiConventions.NotFoundProblem($"No campaign with id {id}.");

    private static async Task<Results<Created<CampaignDetail>, ValidationProblem>> CreateAsync(CampaignRequest body, HttpContext http, TandemDb db,
        TimeProvider clock, CancellationToken ct)
    {
        var (id, errors) = await SaveAsync(db, null, body, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        return TypedResults.Created($"/api/v1/campaigns/{id}", await GetDetailAsync(db, id!.Value, ct));
    }

    private static async Task<Results<Ok<CampaignDetail>, ProblemHttpResult, ValidationProblem>> UpdateAsync(Guid id, CampaignRequest body,
        HttpContext http, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var (saved, errors) = await SaveAsync(db, id, body, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        if (saved is null)
            return ApiConventions.NotFoundProblem($"No campaign with id {id}.");
        return TypedResults.Ok((await GetDetailAsync(db, id, ct))!);
    }

    private static async Task<Results<Created<SpendLine>, ProblemHttpResult, ValidationProblem>> AddSpendEndpointAsync(Guid id, SpendRequest body,
        HttpContext http, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var (line, errors) = await AddSpendAsync(db, id, body, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (errors is not null)
            return TypedResults.ValidationProblem(errors);
        if (line is null)
            return ApiConventions.NotFoundProblem($"No campaign with id {id}.");
        return TypedResults.Created($"/api/v1/campaigns/{id}/spend/{line.Id}", line);
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> DeleteSpendEndpointAsync(Guid id, Guid spendId, HttpContext http, TandemDb db,
        TimeProvider clock, CancellationToken ct) =>
        await DeleteSpendAsync(db, id, spendId, Actor.From(http.User), clock.GetUtcNow(), ct)
            ? TypedResults.NoContent()
            : ApiConventions.NotFoundProblem($"No spend line {spendId} in campaign {id}.");
}
