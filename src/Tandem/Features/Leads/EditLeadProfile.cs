using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Platform;

namespace Tandem.Features.Leads;

/// <summary>The profile fields a person may edit by hand on the lead page.</summary>
public sealed record LeadProfileInput(string? FirstName, string? LastName, string? JobTitle, string? Company, int? CompanySize,
    string? Industry, string? Country, string? City, string? Language, string? Phone)
{
    public static LeadProfileInput From(Lead l) =>
        new(l.FirstName, l.LastName, l.JobTitle, l.Company, l.CompanySize, l.Industry, l.Country, l.City, l.Language, l.Phone);
}

/// <summary>
/// Editing a lead by hand: every changed field is recorded in <see cref="Lead.ManualFields"/> (automatic merges never overwrite
/// it again) and in an audit entry.
/// </summary>
public static class EditLeadProfile
{
    /// <summary>Trims, normalises (country code, E.164 phone) and checks lengths; field keys match the API's camelCase names.</summary>
    public static LeadProfileInput Normalise(LeadProfileInput input, FieldErrors errors)
    {
        string? Text(string field, string? value, int max)
        {
            var v = string.IsNullOrWhiteSpace(value) ? null : value.Trim();
            if (v is not null && v.Length > max)
                errors.Add(field, $"At most {max} characters.");
            return v;
        }
        var (country, countryError) = Normalize.Country(input.Country);
        if (countryError is not null)
            errors.Add("country", countryError);
        var (phone, phoneError) = Normalize.Phone(input.Phone, country);
        if (phoneError is not null)
            errors.Add("phone", phoneError);
        if (input.CompanySize is < 0 or > 10_000_000)
            errors.Add("companySize", "Between 0 and 10,000,000.");
        return new LeadProfileInput(
            Text("firstName", input.FirstName, 100), Text("lastName", input.LastName, 100), Text("jobTitle", input.JobTitle, 150),
            Text("company", input.Company, 200), input.CompanySize, Text("industry", input.Industry, 100), country,
            Text("city", input.City, 100), Text("language", input.Language, 10), phone);
    }

    /// <summary>The fields whose value changes, by API name.</summary>
    public static IReadOnlyList<string> ChangedFields(LeadProfileInput before, LeadProfileInput after)
    {
        var changed = new List<string>();
        void Check<T>(string field, T a, T b)
        {
            if (!EqualityComparer<T>.Default.Equals(a, b)) changed.Add(field);
        }
        Check("firstName", before.FirstName, after.FirstName);
        Check("lastName", before.LastName, after.LastName);
        Check("jobTitle", before.JobTitle, after.JobTitle);
        Check("company", before.Company, after.Company);
        Check("companySize", before.CompanySize, after.CompanySize);
        Check("industry", before.Industry, after.Industry);
        Check("country", before.Country, after.Country);
        Check("city", before.City, after.City);
        Check("language", before.Language, after.Language);
        Check("phone", before.Phone, after.Phone);
        return changed;
    }

    /// <summary>Saves the edit; null when the lead is unknown, else the field errors (empty on success).</summary>
    public static async Task<Dictionary<string, string[]>?> SaveAsync(TandemDb db, Guid leadId, LeadProfileInput input, Actor actor,
        DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var clean = Normalise(input, errors);
        if (errors.Any)
            return errors.ToDictionary();
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return null;
        var changed = ChangedFields(LeadProfileInput.From(lead), clean);
        if (changed.Count == 0)
            return [];
        if (changed.Contains("phone") && clean.Phone is not null && await db.Leads.AnyAsync(l => l.Phone == clean.Phone && l.Id != leadId, ct))
            return new() { ["phone"] = ["Another lead already has this phone number: merge the two leads instead."] };

        (lead.FirstName, lead.LastName, lead.JobTitle, lead.Company, lead.CompanySize) = (clean.FirstName, clean.LastName, clean.JobTitle, clean.Company, clean.CompanySize);
        (lead.Industry, lead.Country, lead.City, lead.Language, lead.Phone) = (clean.Industry, clean.Country, clean.City, clean.Language, clean.Phone);
        foreach (var field in changed.Where(f => !lead.ManualFields.Contains(f)))
            lead.ManualFields.Add(field);
        // A reassigned list is what EF's change tracking of primitive collections reliably notices.
        lead.ManualFields = [.. lead.ManualFields];
        lead.UpdatedAt = now;
        Qualification.ScoringFacts.RequestScore(lead, now);
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name,
            Action = "lead.edited",
            EntityType = nameof(Lead),
            EntityId = leadId.ToString(),
            Details = $"fields={string.Join(',', changed)}",
        });
        await db.SaveChangesAsync(ct);
        return [];
    }
}
