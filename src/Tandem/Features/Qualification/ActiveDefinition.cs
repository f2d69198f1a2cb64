using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

/// <summary>The active definition compiled into a scorer, with the personas it was built with.</summary>
public sealed record ActiveScoring(Guid VersionId, int VersionNumber, QualificationDefinition Definition, LeadScorer Scorer);

/// <summary>
/// Caches the scorer of the active version. Another instance may activate a version or edit a persona, so the cache checks a
/// cheap stamp (active version id + persona count + latest persona change) at most every <see cref="RecheckInterval"/>;
/// this instance's own changes call <see cref="Invalidate"/> and are seen at once.
/// </summary>
public sealed class ActiveDefinition
{
    public static readonly TimeSpan RecheckInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    // Real elapsed time, not the injected clock: a frozen test clock must not freeze the cache.
    private (string Stamp, ActiveScoring? Scoring, long CheckedAt)? _cached;

    public void Invalidate() => _cached = null;

    public async Task<ActiveScoring?> GetAsync(TandemDb db, CancellationToken ct)
    {
        var now = Environment.TickCount64;
        if (_cached is { } c && now - c.CheckedAt < (long)RecheckInterval.TotalMilliseconds)
            return c.Scoring;
        await _gate.WaitAsync(ct);
        try
        {
            var stamp = await StampAsync(db, ct);
            if (_cached is { } same && same.Stamp == stamp)
            {
                _cached = (stamp, same.Scoring, now);
                return same.Scoring;
            }
            var version = await db.QualificationVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Status == VersionStatus.Active, ct);
            ActiveScoring? scoring = null;
            if (version is not null)
            {
                var definition = DefinitionTools.FromJson(version.Definition);
                scoring = new ActiveScoring(version.Id, version.Number, definition, new LeadScorer(definition, await LoadPersonasAsync(db, ct)));
            }
            _cached = (stamp, scoring, now);
            return scoring;
        }
        finally
        {
            _gate.Release();
        }
    }

    public static async Task<IReadOnlyList<PersonaProfile>> LoadPersonasAsync(TandemDb db, CancellationToken ct) =>
        (await db.Personas.AsNoTracking().OrderBy(p => p.Name).ToListAsync(ct)).Select(ToProfile).ToList();

    public static PersonaProfile ToProfile(Persona p) => new(p.Id, p.Name, p.IsIdeal, p.JobTitleKeywords, p.Seniorities,
        p.CompanySizeMin, p.CompanySizeMax, p.Industries, p.Countries, p.Languages);

    private static async Task<string> StampAsync(TandemDb db, CancellationToken ct)
    {
        var active = await db.QualificationVersions.Where(v => v.Status == VersionStatus.Active).Select(v => (Guid?)v.Id).FirstOrDefaultAsync(ct);
        var count = await db.Personas.CountAsync(ct);
        var latest = count == 0 ? null : await db.Personas.MaxAsync(p => (DateTimeOffset?)p.UpdatedAt, ct);
        return $"{active}|{count}|{latest?.UtcTicks}";
    }
}
