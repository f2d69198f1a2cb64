using System.Text.Json;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Capture.Webhooks;

public sealed record DeliveryResult(Guid? LeadId, bool Created, Guid? DeadLetterId, string? Error, IReadOnlyList<FieldWarning>? Warnings = null,
    bool Blocked = false)
{
    public bool Captured => LeadId is not null;
}

public enum ReplayStatus
{
    Replayed,
    Failed,
    NotPending,
    NotFound,
}

public sealed record ReplayResult(ReplayStatus Status, Guid? LeadId, string? Error);

/// <summary>
/// Receives webhook deliveries: maps, captures, and dead-letters whatever cannot become a lead so nothing is lost;
/// replays dead letters once the mapping is fixed. Secrets are encrypted at rest with Data Protection.
/// </summary>
public sealed class WebhookIngest(TandemDb db, CaptureService capture, CaptureCatalog catalog, TimeProvider clock,
    IDataProtectionProvider protection, ILogger<WebhookIngest> log)
{
    public const string UnbounceJsonField = "data.json";
    public const string SecretPurpose = "Tandem.Capture.WebhookSource.Secret.v1";
    private readonly IDataProtector _protector = protection.CreateProtector(SecretPurpose);

    public string Protect(string secret) => _protector.Protect(secret);

    public string? Unprotect(string? protectedSecret) => protectedSecret is null ? null : _protector.Unprotect(protectedSecret);

    /// <summary>JSON bodies as they are; form-encoded bodies (Unbounce) through their data.json field. Null when neither.</summary>
    public static string? ExtractJson(string? mediaType, string body)
    {
        if (CaptureChannels.IsJson(mediaType))
            return body;
        if (string.Equals(mediaType, "application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) &&
            QueryHelpers.ParseQuery(body).TryGetValue(UnbounceJsonField, out var json) && json.Count > 0)
            return json.ToString();
        return null;
    }

    /// <summary>Maps and captures one delivery; on any failure stores a dead letter and returns its id.</summary>
    public async Task<DeliveryResult> ReceiveAsync(WebhookSource source, string? mediaType, string body, IReadOnlyDictionary<string, string> headers, CancellationToken ct)
    {
        var (outcome, error, warnings) = await MapAndCaptureAsync(source, mediaType, body, ct);
        if (outcome is not null)
        {
            if (warnings.Count > 0)
                log.LogInformation("Webhook delivery to source {SourceId} kept lead {LeadId} without {Fields}", source.Id, outcome.LeadId,
                    string.Join(", ", warnings.Select(w => w.Field)));
            return new DeliveryResult(outcome.LeadId, outcome.Created, null, null, warnings);
        }
        if (error == BlockedError)
        {
            // An erased person (re-capture blocked): refused, and never dead-lettered, which would keep their data (decision 021b).
            log.LogInformation("Webhook delivery to source {SourceId} refused: the person was erased with re-capture blocked", source.Id);
            return new DeliveryResult(null, false, null, CaptureOutcome.BlockedMessage, Blocked: true);
        }
        var letter = new WebhookDeadLetter
        {
            SourceId = source.Id,
            ReceivedAt = clock.GetUtcNow(),
            ContentType = mediaType,
            // Kept as received, except what the database cannot store (a NUL, an unpaired surrogate): decision 016.
            RawBody = Platform.SafeText.Clean(body),
            Headers = headers.Count == 0 ? null : JsonSerializer.Serialize(headers),
            Error = Platform.SafeText.Clean(Truncate(error!, 4000)),
        };
        db.Set<WebhookDeadLetter>().Add(letter);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        // The reason names the fields at fault, never their values (a lead's email or name must not land in the logs).
        log.LogWarning("Webhook delivery to source {SourceId} dead-lettered as {DeadLetterId}: {Reason}", source.Id, letter.Id, LogReason(letter.Error));
        return new DeliveryResult(null, false, letter.Id, letter.Error);
    }

    private async Task<(CaptureOutcome? Outcome, string? Error, IReadOnlyList<FieldWarning> Warnings)> MapAndCaptureAsync(WebhookSource source, string? mediaType,
        string body, CancellationToken ct)
    {
        if (ExtractJson(mediaType, body) is not { } json)
            return (null, $"Unsupported body (content type {mediaType ?? "none"}); expected JSON or a form with a {UnbounceJsonField} field.", []);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json);
        }
        catch (JsonException ex)
        {
            return (null, "The body is not valid JSON: " + ex.Message, []);
        }
        using (doc)
        {
            var snapshot = await catalog.GetAsync(ct);
            var customKeys = snapshot.CustomFields.Keys.ToHashSet(StringComparer.Ordinal);
            var errors = new FieldErrors();
            var input = WebhookMapper.ToLeadInputKeepingLead(doc.RootElement, source.Mappings, customKeys, errors, source.PhoneRegion ?? snapshot.DefaultPhoneRegion);
            if (errors.Any)
                return (null, "Mapping: " + errors.Summary(), []);
            if (input.CampaignId is null && source.CampaignId is { } campaign)
                input.CampaignId = campaign;
            input.Extra["webhook"] = source.Name;
            var outcome = await capture.CaptureAsync(input, new CaptureContext(SourceLabel(source), source.ActivityType), ct);
            if (outcome.Blocked)
                return (null, BlockedError, []);
            return outcome.Succeeded ? (outcome, null, input.Warnings)
                : (null, "Capture: " + string.Join("; ", outcome.Errors!.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}")), []);
        }
    }

    /// <summary>"Capture (fields: email, phone)" from "Capture: email: 'x' is not … ; phone: …": paths kept, values dropped.</summary>
    internal static string LogReason(string? error)
    {
        if (string.IsNullOrEmpty(error))
            return "unknown";
        if (error.StartsWith("The body is not valid JSON", StringComparison.Ordinal))
            return "invalid JSON";
        var colon = error.IndexOf(": ", StringComparison.Ordinal);
        if (colon < 0)
            return "unreadable body";
        var fields = error[(colon + 2)..].Split("; ")
            .Select(part => part.IndexOf(": ", StringComparison.Ordinal) is var i and > 0 ? part[..i] : "?")
            .Where(f => f.Length <= 200).Distinct(StringComparer.Ordinal);
        return $"{error[..colon]} (fields: {string.Join(", ", fields)})";
    }
    /// <summary>The capture error of a delivery refused because its person was erased with re-capture blocked.</summary>
    public const string BlockedError = "Capture: " + CaptureOutcome.BlockedMessage;

    public static string SourceLabel(WebhookSource source) => "webhook:" + Truncate(source.Name, 100);

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];

    /// <summary>
    /// Replays one pending dead letter with the source's current mapping. The claim (Pending → Replayed) and the
    /// capture commit together, so two replays at once create one lead and one activity, and a failure stays Pending.
    /// </summary>
    public async Task<ReplayResult> ReplayAsync(Guid deadLetterId, string actor, CancellationToken ct)
    {
        var letter = await db.Set<WebhookDeadLetter>().AsNoTracking().FirstOrDefaultAsync(d => d.Id == deadLetterId, ct);
        if (letter is null)
            return new ReplayResult(ReplayStatus.NotFound, null, null);
        if (letter.Status != DeadLetterStatus.Pending)
            return new ReplayResult(ReplayStatus.NotPending, letter.LeadId, null);
        var source = await db.Set<WebhookSource>().AsNoTracking().FirstAsync(s => s.Id == letter.SourceId, ct);
        var now = clock.GetUtcNow();

        string? error;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            var claimed = await db.Set<WebhookDeadLetter>().Where(d => d.Id == deadLetterId && d.Status == DeadLetterStatus.Pending)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeadLetterStatus.Replayed).SetProperty(d => d.ResolvedAt, now)
                    .SetProperty(d => d.ResolvedBy, actor).SetProperty(d => d.ReplayAttempts, d => d.ReplayAttempts + 1), ct);
            if (claimed == 0)
                return new ReplayResult(ReplayStatus.NotPending, null, null);
            var (outcome, failure, _) = await MapAndCaptureAsync(source, letter.ContentType, letter.RawBody, ct);
            if (outcome is not null)
            {
                await db.Set<WebhookDeadLetter>().Where(d => d.Id == deadLetterId)
                    .ExecuteUpdateAsync(s => s.SetProperty(d => d.LeadId, outcome.LeadId), ct);
                await tx.CommitAsync(ct);
                log.LogInformation("Dead letter {DeadLetterId} replayed into lead {LeadId} by {Actor}", deadLetterId, outcome.LeadId, actor);
                return new ReplayResult(ReplayStatus.Replayed, outcome.LeadId, null);
            }
            error = failure;
            await tx.RollbackAsync(ct);
        }
        db.ChangeTracker.Clear();
        var message = Truncate(error!, 4000);
        await db.Set<WebhookDeadLetter>().Where(d => d.Id == deadLetterId)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Error, message).SetProperty(d => d.ReplayAttempts, d => d.ReplayAttempts + 1), ct);
        return new ReplayResult(ReplayStatus.Failed, null, message);
    }

    /// <summary>Replays every pending dead letter of a source, oldest first.</summary>
    public async Task<(int Replayed, int Failed)> ReplayAllAsync(Guid sourceId, string actor, CancellationToken ct)
    {
        var ids = await db.Set<WebhookDeadLetter>().AsNoTracking()
            .Where(d => d.SourceId == sourceId && d.Status == DeadLetterStatus.Pending)
            .OrderBy(d => d.ReceivedAt).Select(d => d.Id).Take(1000).ToListAsync(ct);
        int replayed = 0, failed = 0;
        foreach (var id in ids)
        {
            var result = await ReplayAsync(id, actor, ct);
            if (result.Status == ReplayStatus.Replayed) replayed++;
            else if (result.Status == ReplayStatus.Failed) failed++;
        }
        return (replayed, failed);
    }

    public async Task<bool> DiscardAsync(Guid deadLetterId, string actor, CancellationToken ct) =>
        await db.Set<WebhookDeadLetter>().Where(d => d.Id == deadLetterId && d.Status == DeadLetterStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeadLetterStatus.Discarded)
                .SetProperty(d => d.ResolvedAt, clock.GetUtcNow()).SetProperty(d => d.ResolvedBy, actor), ct) > 0;

    public static Dictionary<string, string> KeptHeaders(IHeaderDictionary headers, string signatureHeader)
    {
        var kept = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            var keep = name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase) || name.Equals("User-Agent", StringComparison.OrdinalIgnoreCase) ||
                       name.Equals(signatureHeader, StringComparison.OrdinalIgnoreCase) ||
                       (name.StartsWith("X-", StringComparison.OrdinalIgnoreCase) && !name.Equals("X-Api-Key", StringComparison.OrdinalIgnoreCase));
            if (keep && kept.Count < 20)
                kept[name] = Truncate(value.ToString(), 500);
        }
        return kept;
    }
}
