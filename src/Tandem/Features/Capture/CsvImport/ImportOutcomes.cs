using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Revenue;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Writes the won/lost deal an import row gives (inside the batch's transaction), so backtests and revenue reports count imported
/// outcomes. One imported deal per lead and source system: a re-import updates it rather than adding another. Capture sits upstream of
/// Revenue; this is the one place it writes a revenue row, because the outcome is part of the history being imported.
/// </summary>
public static class ImportOutcomes
{
    /// <summary>Name of an imported deal; also how a re-import finds it again.</summary>
    public static string DealName(string? system) => system is null ? "Imported outcome" : $"Imported outcome ({system})";

    public static async Task RecordAsync(TandemDb db, IReadOnlyList<(Guid LeadId, ImportedHistory History, DateTimeOffset? CreatedAt)> rows, string? system,
        DateTimeOffset now, CancellationToken ct)
    {
        var name = DealName(system);
        var leadIds = rows.Select(r => r.LeadId).Distinct().ToList();
        var leads = await db.Leads.AsNoTracking().Where(l => leadIds.Contains(l.Id)).Select(l => new { l.Id, l.AccountId, l.OwnerId, l.CreatedAt })
            .ToDictionaryAsync(l => l.Id, ct);
        var existing = await db.Deals.Where(d => leadIds.Contains(d.LeadId) && d.Name == name).ToDictionaryAsync(d => d.LeadId, ct);
        foreach (var (leadId, history, createdAt) in rows)
        {
            if (!leads.TryGetValue(leadId, out var lead))
                continue;
            var closedAt = history.CloseDate ?? (history.StageDates.Count > 0 ? history.StageDates.Values.Max() : createdAt ?? now);
            if (closedAt > now)
                closedAt = now;
            if (!existing.TryGetValue(leadId, out var deal))
            {
                deal = new Deal { Name = name, LeadId = leadId, CreatedAt = createdAt ?? lead.CreatedAt };
                db.Deals.Add(deal);
                existing[leadId] = deal;
            }
            deal.AccountId ??= lead.AccountId;
            deal.OwnerId ??= lead.OwnerId;
            deal.Status = history.Won == true ? DealStatus.Won : DealStatus.Lost;
            deal.Amount = history.Amount ?? deal.Amount;
            deal.Currency = history.Currency ?? deal.Currency;
            deal.ClosedAt = closedAt;
            if (deal.CreatedAt > closedAt)
                deal.CreatedAt = closedAt;
        }
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }
}
