using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.Webhooks;

/// <summary>
/// A webhook source as created or updated. <see cref="Secret"/> is write-only: null keeps the current one, an empty
/// string removes it. <see cref="Preset"/> fills whatever the request leaves out.
/// </summary>
public sealed record WebhookSourceDefinition(string? Name, string? Preset, string? Secret, string? SignatureHeader, string? SignaturePrefix,
    SignatureEncoding? SignatureEncoding, IReadOnlyList<FieldMapping>? Mappings, ActivityType? ActivityType, Guid? CampaignId, bool? Active,
    string? PhoneRegion = null);

public sealed record WebhookSourceDto(Guid Id, string Name, string Key, string EndpointPath, bool HasSecret, string SignatureHeader, string SignaturePrefix,
    SignatureEncoding SignatureEncoding, IReadOnlyList<FieldMapping> Mappings, ActivityType ActivityType, Guid? CampaignId, string? Preset,
    bool Active, int PendingDeadLetters, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, string? PhoneRegion = null)
{
    public static WebhookSourceDto From(WebhookSource s, int pending) => new(s.Id, s.Name, s.Key, "/hooks/" + s.Key, s.ProtectedSecret is not null,
        s.SignatureHeader, s.SignaturePrefix, s.SignatureEncoding, s.Mappings, s.ActivityType, s.CampaignId, s.Preset, s.Active, pending, s.CreatedAt, s.UpdatedAt, s.PhoneRegion);
}

public sealed record DeadLetterDto(Guid Id, Guid SourceId, DateTimeOffset ReceivedAt, string? ContentType, string RawBody, string? Headers,
    string Error, DeadLetterStatus Status, int ReplayAttempts, DateTimeOffset? ResolvedAt, string? ResolvedBy, Guid? LeadId);

/// <summary>Webhook sources: validation and storage of their definition (the secret is encrypted through <see cref="WebhookIngest"/>).</summary>
public sealed partial class WebhookSourceService(TandemDb db, WebhookIngest ingest, CaptureCatalog catalog, TimeProvider clock)
{
    public async Task<List<WebhookSourceDto>> ListAsync(CancellationToken ct)
    {
        var sources = await db.Set<WebhookSource>().AsNoTracking().OrderBy(s => s.Name).ToListAsync(ct);
        var pending = await db.Set<WebhookDeadLetter>().Where(d => d.Status == DeadLetterStatus.Pending)
            .GroupBy(d => d.SourceId).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        return [.. sources.Select(s => WebhookSourceDto.From(s, pending.GetValueOrDefault(s.Id)))];
    }

    public async Task<WebhookSourceDto?> GetAsync(Guid id, CancellationToken ct)
    {
        var source = await db.Set<WebhookSource>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, ct);
        if (source is null)
            return null;
        var pending = await db.Set<WebhookDeadLetter>().CountAsync(d => d.SourceId == id && d.Status == DeadLetterStatus.Pending, ct);
        return WebhookSourceDto.From(source, pending);
    }

    public async Task<(WebhookSourceDto? Source, Dictionary<string, string[]>? Errors)> CreateAsync(WebhookSourceDefinition definition, string actor, CancellationToken ct)
    {
        var preset = WebhookPresets.Find(definition.Preset);
        var errors = new FieldErrors();
        if (definition.Preset is not null && preset is null)
            errors.Add("preset", $"Unknown preset. Known: {string.Join(", ", WebhookPresets.All.Select(p => p.Id))}.");
        if (preset is { Signed: false } && !string.IsNullOrEmpty(definition.Secret))
            errors.Add("secret", $"{preset.Name} does not sign its deliveries, so a secret could not be checked; leave it empty (the URL's random key identifies the source).");
        var effective = definition with
        {
            SignatureHeader = definition.SignatureHeader ?? preset?.SignatureHeader,
            SignaturePrefix = definition.SignaturePrefix ?? preset?.SignaturePrefix,
            SignatureEncoding = definition.SignatureEncoding ?? preset?.SignatureEncoding,
            Mappings = definition.Mappings ?? preset?.Mappings,
            ActivityType = definition.ActivityType ?? preset?.ActivityType,
        };
        await ValidateAsync(effective, errors, ct);
        if (errors.Any)
            return (null, errors.ToDictionary());
        var now = clock.GetUtcNow();
        var source = new WebhookSource { Name = "", Key = FormRules.NewKey(24), Preset = preset?.Id, CreatedAt = now, CreatedBy = actor };
        Apply(effective, source, actor, now);
        db.Set<WebhookSource>().Add(source);
        await db.SaveChangesAsync(ct);
        return (WebhookSourceDto.From(source, 0), null);
    }

    public async Task<(WebhookSourceDto? Source, Dictionary<string, string[]>? Errors)> UpdateAsync(Guid id, WebhookSourceDefinition definition, string actor, CancellationToken ct)
    {
        var source = await db.Set<WebhookSource>().FirstOrDefaultAsync(s => s.Id == id, ct);
        if (source is null)
            return (null, null);
        var effective = definition with
        {
            SignatureHeader = definition.SignatureHeader ?? source.SignatureHeader,
            SignaturePrefix = definition.SignaturePrefix ?? source.SignaturePrefix,
            SignatureEncoding = definition.SignatureEncoding ?? source.SignatureEncoding,
            Mappings = definition.Mappings ?? source.Mappings,
            ActivityType = definition.ActivityType ?? source.ActivityType,
            Name = definition.Name ?? source.Name,
        };
        var errors = new FieldErrors();
        await ValidateAsync(effective, errors, ct);
        if (errors.Any)
            return (null, errors.ToDictionary());
        Apply(effective, source, actor, clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        return (await GetAsync(id, ct), null);
    }

    public async Task<bool> DeactivateAsync(Guid id, string actor, CancellationToken ct) =>
        await db.Set<WebhookSource>().Where(s => s.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(x => x.Active, false).SetProperty(x => x.UpdatedAt, clock.GetUtcNow()).SetProperty(x => x.UpdatedBy, actor), ct) > 0;

    public Task<List<DeadLetterDto>> DeadLettersAsync(Guid sourceId, DeadLetterStatus? status, int skip, int take, CancellationToken ct) =>
        db.Set<WebhookDeadLetter>().AsNoTracking()
            .Where(d => d.SourceId == sourceId && (status == null || d.Status == status))
            .OrderByDescending(d => d.ReceivedAt).Skip(skip).Take(take)
            .Select(d => new DeadLetterDto(d.Id, d.SourceId, d.ReceivedAt, d.ContentType, d.RawBody, d.Headers, d.Error, d.Status, d.ReplayAttempts, d.ResolvedAt, d.ResolvedBy, d.LeadId))
            .ToListAsync(ct);

    private async Task ValidateAsync(WebhookSourceDefinition d, FieldErrors errors, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(d.Name))
            errors.Add("name", "A name is required.");
        else if (d.Name.Length > 100)
            errors.Add("name", "At most 100 characters.");
        if (d.Secret is { Length: > 0 } secret && (secret.Length < 8 || secret.Length > 200))
            errors.Add("secret", "Between 8 and 200 characters.");
        if (d.SignatureHeader is null || !HeaderName().IsMatch(d.SignatureHeader))
            errors.Add("signatureHeader", "A header name: letters, digits and - only (e.g. X-Hub-Signature-256).");
        if (d.SignaturePrefix is { Length: > 20 })
            errors.Add("signaturePrefix", "At most 20 characters.");
        if (d.SignatureEncoding is { } e && !Enum.IsDefined(e))
            errors.Add("signatureEncoding", "Hex or Base64.");
        if (d.ActivityType is { } a && !Enum.IsDefined(a))
            errors.Add("activityType", "Unknown activity type.");
        CaptureSettingsApi.PhoneRegion(d.PhoneRegion, errors, "phoneRegion");
        var snapshot = await catalog.GetAsync(ct);
        WebhookMapper.Validate(d.Mappings, snapshot.CustomFields.Keys.ToHashSet(StringComparer.Ordinal), errors);
        if (d.CampaignId is { } campaign && !snapshot.CampaignsById.ContainsKey(campaign) && !await db.Campaigns.AnyAsync(c => c.Id == campaign, ct))
            errors.Add("campaignId", $"No campaign with id {campaign}.");
    }

    private void Apply(WebhookSourceDefinition d, WebhookSource source, string actor, DateTimeOffset now)
    {
        source.Name = d.Name!.Trim();
        if (d.Secret is not null)
            source.ProtectedSecret = d.Secret.Length == 0 ? null : ingest.Protect(d.Secret);
        source.SignatureHeader = d.SignatureHeader!;
        source.SignaturePrefix = d.SignaturePrefix ?? "";
        source.SignatureEncoding = d.SignatureEncoding ?? SignatureEncoding.Hex;
        source.Mappings = [.. d.Mappings!.Select(m => new FieldMapping(m.Target.Trim(), m.Path.Trim()))];
        source.ActivityType = d.ActivityType ?? ActivityType.FormSubmission;
        source.CampaignId = d.CampaignId;
        // Null keeps the source's region, "" clears it.
        if (d.PhoneRegion is not null)
            source.PhoneRegion = CaptureSettingsApi.PhoneRegion(d.PhoneRegion, new FieldErrors(), "phoneRegion");
        source.Active = d.Active ?? true;
        source.UpdatedAt = now;
        source.UpdatedBy = actor;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9-]{0,99}$")]
    private static partial Regex HeaderName();
}
