using System.Globalization;
using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;

namespace Tandem.Features.Revenue;

/// <summary>
/// Opportunity history from a CSV (decision 018): one row per deal with <c>leadEmail</c> or <c>leadExternalId</c>, <c>name</c>,
/// <c>amount</c>, <c>currency</c>, <c>stage</c>, <c>created</c>, and optionally <c>closed</c>, <c>kind</c>, <c>reason</c> and
/// <c>externalId</c>. Each row goes through <see cref="OpportunityService"/> (create with <c>anyLeadStage</c> at its creation date,
/// then the move to its stage at its close date), so the lead's stage history and the account's customer status follow as from the
/// API; each row is its own transaction (a refused row writes nothing). <c>externalId</c> makes a row idempotent: a deal imported
/// with the same id is skipped. Imported wins publish no webhook (history, not news).
/// </summary>
public sealed class OpportunityImport(TandemDb db, OpportunityService deals, TimeProvider clock)
{
    public const int MaxExternalId = 90;
    private static readonly string[] Required = ["name", "amount", "currency", "stage", "created"];

    public async Task<SetupOutcome<CsvImportResult>> ImportAsync(ClaimsPrincipal user, byte[] csv, CancellationToken ct)
    {
        var (header, rows, problem) = RevenueSetup.ReadCsv(csv, Required);
        if (problem is null && !header.ContainsKey("leadEmail") && !header.ContainsKey("leadExternalId"))
            problem = "Missing column: leadEmail or leadExternalId.";
        if (problem is not null)
            return new(null, new() { ["file"] = [problem] });
        var errors = new List<CsvRowError>();
        int created = 0, skipped = 0;
        var now = clock.GetUtcNow();
        foreach (var (row, record) in rows)
        {
            string Get(string column) => header.TryGetValue(column, out var i) && i < record.Length ? record[i].Trim() : "";
            var rowErrors = new List<CsvRowError>();
            void Error(string field, string message) => rowErrors.Add(new CsvRowError(row, field, message));

            var externalId = Get("externalId");
            if (externalId.Length > MaxExternalId)
                Error("externalId", $"At most {MaxExternalId} characters.");
            var source = externalId.Length > 0 ? $"csv:{externalId}" : "csv";
            if (externalId.Length is > 0 and <= MaxExternalId && await db.Deals.AnyAsync(d => d.Source == source, ct))
            {
                skipped++;
                continue;
            }
            var lead = await FindLeadAsync(Get("leadEmail"), Get("leadExternalId"), Error, ct);
            var stage = Parse<DealStage>(Get("stage"), "stage", Error, required: true);
            var kind = Parse<DealKind>(Get("kind"), "kind", Error, required: false);
            var createdAt = Date(Get("created"), "created", Error, required: true);
            var closedAt = Date(Get("closed"), "closed", Error, required: false);
            decimal? amount = decimal.TryParse(Get("amount"), NumberStyles.AllowDecimalPoint | NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var a) ? a : null;
            if (amount is null)
                Error("amount", Get("amount").Length == 0 ? "Required." : "Not a number (use a dot for decimals).");
            else if (amount <= 0)
                Error("amount", "Must be greater than zero.");
            WinReason? win = null;
            LossReason? loss = null;
            if (stage is DealStage.Won or DealStage.Lost)
            {
                if (closedAt is null && !rowErrors.Any(e => e.Field == "closed"))
                    Error("closed", "A won or lost deal needs its close date.");
                if (stage == DealStage.Lost)
                    loss = Parse<LossReason>(Get("reason"), "reason", Error, required: true);
                else
                    win = Parse<WinReason>(Get("reason"), "reason", Error, required: false);
            }
            else if (closedAt is not null)
                Error("closed", "Only a won or lost deal has a close date.");
            if (createdAt is { } c && c > now)
                Error("created", "In the future.");
            if (closedAt is { } cl && (cl > now || (createdAt is { } c2 && cl < c2)))
                Error("closed", "Between the creation date and today.");
            if (kind is DealKind.Renewal or DealKind.Upsell)
                Error("kind", "Renewals and upsells name their parent deal: create them through the API.");
            if (lead is not null && rowErrors.Count == 0 && !await deals.MayAsync(user, null, lead.Value, LeadRight.Work, ct))
                Error("lead", "You may not work this lead.");
            if (rowErrors.Count > 0)
            {
                errors.AddRange(rowErrors);
                continue;
            }

            await using var tx = await db.Database.BeginTransactionAsync(ct);
            var opened = await deals.CreateAsync(user, new CreateOpportunityRequest(lead, Get("name"), amount, Get("currency"), null, null, null,
                DealKind.NewBusiness, null, null, AnyLeadStage: true), source, ct, createdAt);
            var moved = opened;
            if (opened.Deal is { } deal && stage != DealStage.Qualification)
                moved = await deals.MoveAsync(user, deal.Id, new MoveStageRequest(stage, "Imported", win, loss), ct, closedAt ?? createdAt, publish: false);
            if (moved.Errors is not null || moved.Deal is null)
            {
                db.ChangeTracker.Clear();
                errors.AddRange((moved.Errors ?? new() { ["lead"] = ["You may not work this lead."] })
                    .SelectMany(x => x.Value.Select(m => new CsvRowError(row, x.Key, m))));
                continue;
            }
            await tx.CommitAsync(ct);
            db.ChangeTracker.Clear();
            created++;
        }
        return new(new CsvImportResult(created, 0, skipped, errors));
    }

    private async Task<Guid?> FindLeadAsync(string email, string externalId, Action<string, string> error, CancellationToken ct)
    {
        if (email.Length > 0)
        {
            var normalized = email.ToLowerInvariant();
            var id = await db.Leads.Where(l => l.Email == normalized).Select(l => (Guid?)l.Id).FirstOrDefaultAsync(ct);
            if (id is null)
                error("leadEmail", "No lead with this email.");
            return id;
        }
        if (externalId.Length > 0)
        {
            var ids = await db.Leads.Where(l => l.ExternalId == externalId).Select(l => l.Id).Take(2).ToListAsync(ct);
            if (ids.Count != 1)
                error("leadExternalId", ids.Count == 0 ? "No lead with this external id." : "Several leads have this external id; use leadEmail.");
            return ids.Count == 1 ? ids[0] : null;
        }
        error("leadEmail", "Give leadEmail or leadExternalId.");
        return null;
    }

    private static T? Parse<T>(string value, string field, Action<string, string> error, bool required) where T : struct, Enum
    {
        if (value.Length == 0)
        {
            if (required)
                error(field, "Required.");
            return null;
        }
        // Names only (case-insensitive, spaces ignored): a number is not a stage.
        var compact = value.Replace(" ", "", StringComparison.Ordinal);
        if (!compact.Any(char.IsDigit) && Enum.TryParse<T>(compact, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed))
            return parsed;
        error(field, $"Unknown value '{value}'. Use one of {string.Join(", ", Enum.GetNames<T>())}.");
        return null;
    }

    private static DateTimeOffset? Date(string value, string field, Action<string, string> error, bool required)
    {
        if (value.Length == 0)
        {
            if (required)
                error(field, "Required (YYYY-MM-DD).");
            return null;
        }
        if (DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
            return new DateTimeOffset(d.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero);
        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var dt))
            return dt.ToUniversalTime();
        error(field, "Not a date (YYYY-MM-DD).");
        return null;
    }
}
