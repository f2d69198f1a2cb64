using System.Collections.Frozen;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;

namespace Tandem.Features.Capture;

/// <summary>
/// Reference data every capture needs (campaigns by id and by utm_campaign, custom field definitions), cached for
/// a few seconds so the hot path does not query it per lead. Local changes call <see cref="Invalidate"/>; other
/// instances see them within <see cref="MaxAge"/>.
/// </summary>
public sealed class CaptureCatalog(IDbContextFactory<TandemDb> dbFactory, TimeProvider clock)
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(10);

    public sealed record CampaignRef(Guid Id, Channel Channel, string? UtmCampaign);

    public sealed record Snapshot(
        FrozenDictionary<Guid, CampaignRef> CampaignsById,
        FrozenDictionary<string, CampaignRef> CampaignsByUtm,
        FrozenDictionary<string, CustomFieldDefinition> CustomFields,
        DateTimeOffset LoadedAt,
        string? DefaultPhoneRegion = null);

    private volatile Snapshot? _snapshot;
    private readonly SemaphoreSlim _loading = new(1, 1);

    public void Invalidate() => _snapshot = null;

    public async Task<Snapshot> GetAsync(CancellationToken ct = default)
    {
        var current = _snapshot;
        if (current is not null && clock.GetUtcNow() - current.LoadedAt < MaxAge)
            return current;
        await _loading.WaitAsync(ct);
        try
        {
            current = _snapshot;
            if (current is not null && clock.GetUtcNow() - current.LoadedAt < MaxAge)
                return current;
            await using var db = await dbFactory.CreateDbContextAsync(ct);
            var campaigns = await db.Campaigns.AsNoTracking().Select(c => new CampaignRef(c.Id, c.Channel, c.UtmCampaign)).ToListAsync(ct);
            var fields = await db.CustomFieldDefinitions.AsNoTracking().ToListAsync(ct);
            var region = await db.Set<CaptureSettings>().AsNoTracking().Where(s => s.Id == 1).Select(s => s.DefaultPhoneRegion).FirstOrDefaultAsync(ct);
            var byUtm = new Dictionary<string, CampaignRef>(StringComparer.OrdinalIgnoreCase);
            foreach (var c in campaigns.Where(c => !string.IsNullOrWhiteSpace(c.UtmCampaign)))
                byUtm.TryAdd(c.UtmCampaign!.Trim(), c);
            _snapshot = current = new Snapshot(
                campaigns.ToFrozenDictionary(c => c.Id),
                byUtm.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase),
                fields.ToFrozenDictionary(f => f.Key, StringComparer.Ordinal),
                clock.GetUtcNow(),
                region);
            return current;
        }
        finally
        {
            _loading.Release();
        }
    }
}
