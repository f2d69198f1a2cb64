using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.Forms;

public sealed record FormDto(Guid Id, string Key, string Name, Guid? CampaignId, IReadOnlyList<FormField> Fields, string? ConsentText,
    IReadOnlyList<string> AllowedOrigins, string? RedirectUrl, int MinFillSeconds, string HoneypotField, bool Active,
    DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset UpdatedAt, string? UpdatedBy, FormIntent Intent, ActivityType ActivityType,
    string? PhoneRegion = null)
{
    public static FormDto From(LeadForm f) => new(f.Id, f.Key, f.Name, f.CampaignId, f.Fields, f.ConsentText, f.AllowedOrigins, f.RedirectUrl,
        f.MinFillSeconds, f.HoneypotField, f.Active, f.CreatedAt, f.CreatedBy, f.UpdatedAt, f.UpdatedBy, f.Intent, FormIntents.ActivityOf(f.Intent), f.PhoneRegion);
}

public sealed record FormSnippetDto(string ActionUrl, string Html);

public enum SubmissionVerdict
{
    Accepted,
    /// <summary>A bot trap fired: the caller is told it worked, nothing is stored.</summary>
    Dropped,
    Invalid,
}

public sealed record SubmissionResult(SubmissionVerdict Verdict, Guid? LeadId = null, IReadOnlyDictionary<string, string[]>? Errors = null, string? DropReason = null);

/// <summary>Web forms: definitions (create, update, deactivate) and submissions (bot traps, then Capture).</summary>
public sealed class FormService(TandemDb db, CaptureService capture, CaptureCatalog catalog, TimeProvider clock, ILogger<FormService> log)
{
    /// <summary>The drop reason of a submission by an erased person whose re-capture is blocked.</summary>
    public const string ErasedDropReason = "erased";

    private static readonly Meter Meter = new("Tandem.Capture.Forms");
    private static readonly Counter<long> Dropped = Meter.CreateCounter<long>("tandem.forms.submissions.dropped", description: "Form submissions silently dropped by a bot trap");

    public async Task<IReadOnlySet<string>> CustomKeysAsync(CancellationToken ct) =>
        (await catalog.GetAsync(ct)).CustomFields.Keys.ToHashSet(StringComparer.Ordinal);

    public Task<LeadForm?> FindByKeyAsync(string key, CancellationToken ct) =>
        db.Set<LeadForm>().AsNoTracking().FirstOrDefaultAsync(f => f.Key == key && f.Active, ct);

    public async Task<(FormDto? Form, Dictionary<string, string[]>? Errors)> CreateAsync(FormDefinition definition, string actor, CancellationToken ct)
    {
        var errors = await ValidateAsync(definition, ct);
        if (errors is not null)
            return (null, errors);
        var now = clock.GetUtcNow();
        var form = new LeadForm { Key = FormRules.NewKey(), Name = "", CreatedAt = now, CreatedBy = actor, UpdatedAt = now, UpdatedBy = actor };
        FormRules.Apply(definition, form);
        db.Set<LeadForm>().Add(form);
        await db.SaveChangesAsync(ct);
        log.LogInformation("Form {FormId} created by {Actor}", form.Id, actor);
        return (FormDto.From(form), null);
    }

    public async Task<(FormDto? Form, Dictionary<string, string[]>? Errors)> UpdateAsync(Guid id, FormDefinition definition, string actor, CancellationToken ct)
    {
        var form = await db.Set<LeadForm>().FirstOrDefaultAsync(f => f.Id == id, ct);
        if (form is null)
            return (null, null);
        var errors = await ValidateAsync(definition, ct);
        if (errors is not null)
            return (null, errors);
        FormRules.Apply(definition, form);
        form.UpdatedAt = clock.GetUtcNow();
        form.UpdatedBy = actor;
        await db.SaveChangesAsync(ct);
        return (FormDto.From(form), null);
    }

    public async Task<bool> DeactivateAsync(Guid id, string actor, CancellationToken ct) =>
        await db.Set<LeadForm>().Where(f => f.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(f => f.Active, false).SetProperty(f => f.UpdatedAt, clock.GetUtcNow()).SetProperty(f => f.UpdatedBy, actor), ct) > 0;

    private async Task<Dictionary<string, string[]>?> ValidateAsync(FormDefinition definition, CancellationToken ct)
    {
        var errors = new FieldErrors();
        FormRules.Validate(definition, await CustomKeysAsync(ct), errors);
        if (definition.CampaignId is { } campaign && !(await catalog.GetAsync(ct)).CampaignsById.ContainsKey(campaign) &&
            !await db.Campaigns.AnyAsync(c => c.Id == campaign, ct))
            errors.Add("campaignId", $"No campaign with id {campaign}.");
        return errors.Any ? errors.ToDictionary() : null;
    }

    /// <summary>
    /// Runs the bot traps (unless <paramref name="checkBots"/> is false, for the settings page's test button), then captures.
    /// A dropped submission is logged and counted but otherwise looks exactly like an accepted one to the caller.
    /// </summary>
    public async Task<SubmissionResult> SubmitAsync(LeadForm form, IReadOnlyList<KeyValuePair<string, string?>> posted, bool checkBots, CancellationToken ct,
        string? clientIp = null)
    {
        if (checkBots)
        {
            string? reason = null;
            if (posted.Any(p => p.Key == form.HoneypotField && !string.IsNullOrEmpty(p.Value)))
                reason = "honeypot";
            else if (FormRules.CheckFillTime(posted.FirstOrDefault(p => p.Key == FormRules.FillTimeField).Value, form.MinFillSeconds) is not FillTimeVerdict.Ok and var verdict)
                reason = "fill-time-" + verdict.ToString().ToLowerInvariant();
            if (reason is not null)
            {
                Dropped.Add(1, new KeyValuePair<string, object?>("reason", reason));
                log.LogInformation("Form {FormKey} submission dropped ({Reason})", form.Key, reason);
                return new SubmissionResult(SubmissionVerdict.Dropped, DropReason: reason);
            }
        }
        var errors = new FieldErrors();
        var input = FormRules.ToLeadInput(form, posted, await CustomKeysAsync(ct), errors, (await catalog.GetAsync(ct)).DefaultPhoneRegion);
        if (errors.Any)
            return new SubmissionResult(SubmissionVerdict.Invalid, Errors: errors.ToDictionary());
        input.ClientIp = clientIp;
        var outcome = await capture.CaptureAsync(input, new CaptureContext("form:" + form.Key, FormIntents.ActivityOf(form.Intent)), ct);
        if (outcome.Blocked)
        {
            // An erased person's address (re-capture blocked): nothing is stored, and the visitor sees the usual thanks, so whoever types
            // an address never learns that its owner asked for erasure (decision 021b). Counted and logged as a drop.
            Dropped.Add(1, new KeyValuePair<string, object?>("reason", ErasedDropReason));
            log.LogInformation("Form {FormKey} submission refused: the person was erased with re-capture blocked", form.Key);
            return new SubmissionResult(SubmissionVerdict.Dropped, DropReason: ErasedDropReason);
        }
        return outcome.Succeeded
            ? new SubmissionResult(SubmissionVerdict.Accepted, outcome.LeadId)
            : new SubmissionResult(SubmissionVerdict.Invalid, Errors: outcome.Errors);
    }
}
