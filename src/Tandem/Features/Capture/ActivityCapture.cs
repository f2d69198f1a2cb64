using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture;

/// <summary>An activity as submitted: which lead (id or identifier), what, when, and its marketing source.</summary>
public sealed class ActivityInput
{
    public Guid? LeadId { get; set; }
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? ExternalSystem { get; set; }
    public string? ExternalId { get; set; }
    public ActivityType Type { get; set; }
    public DateTimeOffset? OccurredAt { get; set; }
    public Guid? CampaignId { get; set; }
    public Channel? Channel { get; set; }
    public string? UtmSource { get; set; }
    public string? UtmMedium { get; set; }
    public string? UtmCampaign { get; set; }
    public string? UtmTerm { get; set; }
    public string? UtmContent { get; set; }
    public string? Url { get; set; }
    public string? Referrer { get; set; }
    public string? Outcome { get; set; }
    public string? Properties { get; set; }
}

/// <summary>Parses and stores activities for existing leads.</summary>
public sealed class ActivityCapture(TandemDb db, CaptureCatalog catalog, TimeProvider clock, Qualification.ScoringSignal scoring)
{
    private static readonly Dictionary<string, int> TextLimits = new(StringComparer.Ordinal)
    {
        ["email"] = 254,
        ["phone"] = 40,
        ["externalSystem"] = 50,
        ["externalId"] = 100,
        ["utmSource"] = 100,
        ["utmMedium"] = 100,
        ["utmCampaign"] = 200,
        ["utmTerm"] = 200,
        ["utmContent"] = 200,
        ["url"] = 2048,
        ["referrer"] = 2048,
        ["outcome"] = 100,
    };

    public static ActivityInput Parse(JsonElement json, FieldErrors errors, string prefix = "")
    {
        var input = new ActivityInput();
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.TrimEnd('.'), "Expected a JSON object.");
            return input;
        }
        var hasType = false;
        foreach (var p in json.EnumerateObject())
        {
            var path = prefix + p.Name;
            var v = p.Value;
            if (v.ValueKind == JsonValueKind.Null)
                continue;
            if (v.ValueKind == JsonValueKind.String && LeadInputParser.ApiString(v, errors, path) is null)
                continue;
            switch (p.Name)
            {
                case "properties":
                    if (v.ValueKind != JsonValueKind.Object)
                        errors.Add(path, "Expected an object.");
                    else if (v.GetRawText().Length > 8000)
                        errors.Add(path, "At most 8000 characters of JSON.");
                    else
                        input.Properties = v.GetRawText();
                    continue;
                case "type":
                    hasType = true;
                    if (v.ValueKind == JsonValueKind.String && Enum.TryParse<ActivityType>(v.GetString(), ignoreCase: true, out var type) && Enum.IsDefined(type) && !int.TryParse(v.GetString(), out _))
                        input.Type = type;
                    else
                        errors.Add(path, $"Expected one of: {string.Join(", ", Enum.GetNames<ActivityType>().Select(n => char.ToLowerInvariant(n[0]) + n[1..]))}.");
                    continue;
                case "channel":
                    if (v.ValueKind == JsonValueKind.String && Enum.TryParse<Channel>(v.GetString(), ignoreCase: true, out var channel) && Enum.IsDefined(channel) && !int.TryParse(v.GetString(), out _))
                        input.Channel = channel;
                    else
                        errors.Add(path, $"Expected one of: {string.Join(", ", Enum.GetNames<Channel>())}.");
                    continue;
            }
            if (v.ValueKind != JsonValueKind.String)
            {
                errors.Add(path, "Expected a string.");
                continue;
            }
            var s = v.GetString()!.Trim();
            if (s.Length == 0)
                continue;
            if (TextLimits.TryGetValue(p.Name, out var max) && s.Length > max)
            {
                errors.Add(path, $"At most {max} characters.");
                continue;
            }
            switch (p.Name)
            {
                case "leadId": if (Guid.TryParse(s, out var id)) input.LeadId = id; else errors.Add(path, "Expected a lead id (UUID)."); break;
                case "campaignId": if (Guid.TryParse(s, out var cid)) input.CampaignId = cid; else errors.Add(path, "Expected a campaign id (UUID)."); break;
                case "occurredAt":
                    if (DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)) input.OccurredAt = at.ToUniversalTime();
                    else errors.Add(path, "Expected an ISO 8601 date and time.");
                    break;
                case "email":
                    var (email, emailError) = Normalize.Email(s);
                    if (emailError is not null) errors.Add(path, emailError);
                    input.Email = email;
                    break;
                case "phone":
                    var (phone, phoneError) = Normalize.Phone(s, null);
                    if (phoneError is not null) errors.Add(path, phoneError);
                    input.Phone = phone;
                    break;
                case "externalSystem": input.ExternalSystem = s.ToLowerInvariant(); break;
                case "externalId": input.ExternalId = s; break;
                case "utmSource": input.UtmSource = s; break;
                case "utmMedium": input.UtmMedium = s; break;
                case "utmCampaign": input.UtmCampaign = s; break;
                case "utmTerm": input.UtmTerm = s; break;
                case "utmContent": input.UtmContent = s; break;
                case "url": input.Url = s; break;
                case "referrer": input.Referrer = s; break;
                case "outcome": input.Outcome = s; break;
                default: errors.Add(path, "Unknown field."); break;
            }
        }
        if (!hasType)
            errors.Add(prefix + "type", "The activity type is required.");
        if (input.LeadId is null && input.Email is null && input.Phone is null && input.ExternalId is null && !errors.HasAny(prefix + "email") && !errors.HasAny(prefix + "phone"))
            errors.Add(prefix + "leadId", "Identify the lead: leadId, email, phone, or externalSystem + externalId.");
        return input;
    }

    /// <summary>
    /// Stores valid activities in one SaveChanges; an activity whose lead or campaign does not exist gets a field error.
    /// Each lead is updated with its activities (latest touch, score request), so a lead merged away between the read and the
    /// write fails that update instead of leaving an activity without its lead: the whole call then runs again from a fresh read.
    /// </summary>
    public async Task<IReadOnlyList<CaptureOutcome>> StoreAsync(IReadOnlyList<ActivityInput> inputs, string source, CancellationToken ct = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StoreOnceAsync(inputs, source, ct);
            }
            catch (DbUpdateConcurrencyException) when (attempt < 3)
            {
                db.ChangeTracker.Clear();
            }
        }
    }

    private async Task<IReadOnlyList<CaptureOutcome>> StoreOnceAsync(IReadOnlyList<ActivityInput> inputs, string source, CancellationToken ct)
    {
        var snapshot = await catalog.GetAsync(ct);
        var now = clock.GetUtcNow();
        var ids = inputs.Select(i => i.LeadId).OfType<Guid>().Distinct().ToList();
        var emails = inputs.Select(i => i.Email).OfType<string>().Distinct().ToList();
        var phones = inputs.Select(i => i.Phone).OfType<string>().Distinct().ToList();
        var externals = inputs.Select(i => i.ExternalId).OfType<string>().Distinct().ToList();
        var leads = await db.Leads.Where(l => ids.Contains(l.Id) || (l.Email != null && emails.Contains(l.Email)) ||
                (l.Phone != null && phones.Contains(l.Phone)) || (l.ExternalId != null && externals.Contains(l.ExternalId)))
            .ToListAsync(ct);

        var outcomes = new List<CaptureOutcome>(inputs.Count);
        foreach (var input in inputs)
        {
            var lead = input.LeadId is { } id ? leads.FirstOrDefault(l => l.Id == id)
                : input.Email is not null ? leads.FirstOrDefault(l => l.Email == input.Email)
                : input.ExternalId is not null ? leads.FirstOrDefault(l => l.ExternalId == input.ExternalId && l.ExternalSystem == input.ExternalSystem)
                : leads.FirstOrDefault(l => l.Phone == input.Phone);
            var errors = new FieldErrors();
            if (lead is null)
                errors.Add("leadId", "No lead matches this id or identifier; capture the lead first (POST /api/v1/leads).");
            else if (lead.ErasedAt is not null)
                errors.Add("leadId", "This lead was erased at the person's request; no activity is recorded on it.");
            CaptureCatalog.CampaignRef? campaign = null;
            if (input.CampaignId is { } cid && !snapshot.CampaignsById.TryGetValue(cid, out campaign))
                errors.Add("campaignId", $"No campaign with id {cid}.");
            if (campaign is null && input.UtmCampaign is { } utm)
                snapshot.CampaignsByUtm.TryGetValue(utm, out campaign);
            if (errors.Any)
            {
                outcomes.Add(new CaptureOutcome(null, false, errors.ToDictionary()));
                continue;
            }
            var at = input.OccurredAt is { } o && o <= now ? o : now;
            var activity = new Activity
            {
                LeadId = lead!.Id,
                Type = input.Type,
                OccurredAt = at,
                Channel = input.Channel ?? campaign?.Channel ?? (input.UtmSource ?? input.UtmMedium ?? input.Referrer) switch
                {
                    null => null,
                    _ => Normalize.Channel(input.UtmSource, input.UtmMedium, input.Referrer),
                },
                CampaignId = campaign?.Id,
                UtmSource = input.UtmSource,
                UtmMedium = input.UtmMedium,
                UtmCampaign = input.UtmCampaign,
                UtmTerm = input.UtmTerm,
                UtmContent = input.UtmContent,
                Url = input.Url,
                Referrer = input.Referrer,
                Outcome = input.Outcome,
                Properties = input.Properties,
                Source = source,
                CreatedAt = now,
            };
            db.Activities.Add(activity);
            Qualification.ScoringFacts.RequestScore(lead, now);
            if (activity.IsMarketingTouch && activity.Channel is not null && (lead.LatestTouchAt is null || at >= lead.LatestTouchAt))
            {
                lead.LatestTouchAt = at;
                lead.LatestChannel = activity.Channel;
                lead.LatestCampaignId = campaign?.Id ?? lead.LatestCampaignId;
                lead.LatestSource = input.UtmSource ?? lead.LatestSource;
                lead.LatestMedium = input.UtmMedium ?? lead.LatestMedium;
            }
            outcomes.Add(new CaptureOutcome(activity.Id, true, null));
        }
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        scoring.Wake();
        return outcomes;
    }
}
