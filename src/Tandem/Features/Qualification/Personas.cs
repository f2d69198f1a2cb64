using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

public sealed record PersonaRequest(string? Name, string? Description, string? Pains, string? Objections, IReadOnlyList<string>? JobTitleKeywords,
    IReadOnlyList<string>? Seniorities, int? CompanySizeMin, int? CompanySizeMax, IReadOnlyList<string>? Industries, IReadOnlyList<string>? Countries,
    IReadOnlyList<string>? Languages, bool? IsIdeal);

public sealed record PersonaView(Guid Id, string Name, string? Description, string? Pains, string? Objections, IReadOnlyList<string> JobTitleKeywords,
    IReadOnlyList<string> Seniorities, int? CompanySizeMin, int? CompanySizeMax, IReadOnlyList<string> Industries, IReadOnlyList<string> Countries,
    IReadOnlyList<string> Languages, bool IsIdeal, int Leads, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static PersonaView From(Persona p, int leads) => new(p.Id, p.Name, p.Description, p.Pains, p.Objections, p.JobTitleKeywords, p.Seniorities,
        p.CompanySizeMin, p.CompanySizeMax, p.Industries, p.Countries, p.Languages, p.IsIdeal, leads, p.CreatedAt, p.UpdatedAt);
}

/// <summary>
/// Buyer personas: shared descriptions with the fit criteria used to match leads. A change re-matches every lead in the
/// background (a rescore job), so persona and match % stay current.
/// </summary>
public static class Personas
{
    public const int MaxItems = 50;
    public const int MaxItemLength = 100;

    public static readonly IReadOnlyList<string> SeniorityLevels = ["CLevel", "VP", "Director", "Head", "Manager", "Senior", "Individual", "Intern", "Student"];

    public static async Task<IReadOnlyList<PersonaView>> ListAsync(TandemDb db, CancellationToken ct)
    {
        var personas = await db.Personas.AsNoTracking().OrderByDescending(p => p.IsIdeal).ThenBy(p => p.Name).ToListAsync(ct);
        var counts = await db.Leads.Where(l => l.PersonaId != null).GroupBy(l => l.PersonaId!.Value)
            .Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        return personas.Select(p => PersonaView.From(p, counts.GetValueOrDefault(p.Id))).ToList();
    }

    /// <summary>Checks and applies a request to <paramref name="target"/>; field keys are the JSON names.</summary>
    public static void Apply(PersonaRequest r, Persona target, FieldErrors errors)
    {
        var name = r.Name?.Trim();
        if (string.IsNullOrEmpty(name))
            errors.Add("name", "A name is required.");
        else if (name.Length > 100)
            errors.Add("name", "At most 100 characters.");
        string? Text(string field, string? value)
        {
            value = string.IsNullOrWhiteSpace(value) ? null : value.Trim();
            if (value?.Length > 2000)
                errors.Add(field, "At most 2000 characters.");
            return value;
        }
        List<string> List(string field, IReadOnlyList<string>? values, Func<string, string?>? normalise = null)
        {
            var result = new List<string>();
            foreach (var raw in values ?? [])
            {
                var v = raw?.Trim();
                if (string.IsNullOrEmpty(v))
                    continue;
                if (v.Length > MaxItemLength)
                {
                    errors.Add(field, $"Each value is at most {MaxItemLength} characters.");
                    continue;
                }
                var n = normalise is null ? v : normalise(v);
                if (n is null)
                {
                    errors.Add(field, $"'{v}' is not a valid value.");
                    continue;
                }
                if (!result.Contains(n, StringComparer.OrdinalIgnoreCase))
                    result.Add(n);
            }
            if (result.Count > MaxItems)
                errors.Add(field, $"At most {MaxItems} values.");
            return result;
        }
        target.Name = name ?? "";
        target.Description = Text("description", r.Description);
        target.Pains = Text("pains", r.Pains);
        target.Objections = Text("objections", r.Objections);
        target.JobTitleKeywords = List("jobTitleKeywords", r.JobTitleKeywords);
        target.Seniorities = List("seniorities", r.Seniorities, v => SeniorityLevels.FirstOrDefault(s => string.Equals(s, v, StringComparison.OrdinalIgnoreCase)));
        target.Industries = List("industries", r.Industries);
        target.Countries = List("countries", r.Countries, v => Normalize.Country(v).Value);
        target.Languages = List("languages", r.Languages, v => v.Length is 2 or 3 or 5 && v.All(c => char.IsLetter(c) || c == '-') ? v.ToLowerInvariant() : null);
        if (r.CompanySizeMin is < 0)
            errors.Add("companySizeMin", "Must be 0 or more.");
        if (r.CompanySizeMax is < 1)
            errors.Add("companySizeMax", "Must be 1 or more.");
        if (r.CompanySizeMin is { } min && r.CompanySizeMax is { } max && min > max)
            errors.Add("companySizeMax", "Must be at least the minimum.");
        target.CompanySizeMin = r.CompanySizeMin;
        target.CompanySizeMax = r.CompanySizeMax;
        target.IsIdeal = r.IsIdeal ?? true;
        if (target.JobTitleKeywords.Count == 0 && target.Seniorities.Count == 0 && target.CompanySizeMin is null && target.CompanySizeMax is null
            && target.Industries.Count == 0 && target.Countries.Count == 0 && target.Languages.Count == 0)
            errors.Add("jobTitleKeywords", "Give at least one fit criterion (job titles, seniority, company size, industries, countries or languages), or no lead can match.");
    }

    public static async Task<(PersonaView? View, Dictionary<string, string[]>? Errors, bool NotFound)> SaveAsync(TandemDb db, Guid? id, PersonaRequest request,
        string actor, DateTimeOffset now, QualificationJobSignal signal, CancellationToken ct)
    {
        Persona? persona;
        if (id is { } existing)
        {
            persona = await db.Personas.FirstOrDefaultAsync(p => p.Id == existing, ct);
            if (persona is null)
                return (null, null, true);
        }
        else
        {
            persona = new Persona { Name = "", CreatedAt = now };
            db.Personas.Add(persona);
        }
        var errors = new FieldErrors();
        Apply(request, persona, errors);
        if (!errors.HasAny("name") && await db.Personas.AnyAsync(p => p.Name == persona.Name && p.Id != persona.Id, ct))
            errors.Add("name", "Another persona has this name.");
        if (errors.Any)
            return (null, errors.ToDictionary(), false);
        persona.UpdatedAt = now;
        QueueRematch(db, actor, now, $"Persona '{persona.Name}' {(id is null ? "created" : "changed")}");
        await db.SaveChangesAsync(ct);
        signal.Wake();
        var leads = await db.Leads.CountAsync(l => l.PersonaId == persona.Id, ct);
        return (PersonaView.From(persona, leads), null, false);
    }

    public static async Task<bool> DeleteAsync(TandemDb db, Guid id, string actor, DateTimeOffset now, QualificationJobSignal signal, CancellationToken ct)
    {
        var persona = await db.Personas.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (persona is null)
            return false;
        db.Personas.Remove(persona);
        QueueRematch(db, actor, now, $"Persona '{persona.Name}' deleted");
        await db.SaveChangesAsync(ct);
        signal.Wake();
        return true;
    }

    /// <summary>One pending rematch is enough however many persona edits come before it runs.</summary>
    private static void QueueRematch(TandemDb db, string actor, DateTimeOffset now, string reason)
    {
        if (db.QualificationJobs.Local.Any(j => j.Kind == JobKind.Rescore && j.Status == JobStatus.Queued))
            return;
        if (db.QualificationJobs.Any(j => j.Kind == JobKind.Rescore && j.Status == JobStatus.Queued))
            return;
        db.QualificationJobs.Add(new QualificationJob { Kind = JobKind.Rescore, Reason = reason, CreatedAt = now, CreatedByName = actor });
    }

    public static PersonaProfile Profile(Persona p) => ActiveDefinition.ToProfile(p);
}
