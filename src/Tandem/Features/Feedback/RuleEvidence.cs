using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Qualification;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Feedback;

/// <summary>Sales' verdicts on a set of leads: how many were dispositioned, accepted, and their mean lead rating (null when none).</summary>
public sealed record VerdictFigures(int Leads, int Accepted, int Rejected, decimal? AcceptanceRate, int Ratings, decimal? MeanRating);

/// <summary>One rule of the definition against sales' verdicts: the dispositioned leads it scored and those it did not.</summary>
public sealed record RuleEvidenceRow(string RuleId, string Label, ScoreLineKind Kind, int Points, VerdictFigures Scored, VerdictFigures NotScored);

public sealed record RuleEvidenceReport(Guid? VersionId, int? VersionNumber, int Dispositions, int Leads, DateTimeOffset? Since, IReadOnlyList<RuleEvidenceRow> Rules);

/// <summary>
/// Evidence per scoring rule (decision 011): for each fit and engagement rule of the active definition, the dispositioned leads it
/// scored, with their acceptance rate and mean lead rating, against the dispositioned leads it did not score. Per-rule hits are
/// not stored (a score explanation is computed on demand), so the leads of the last <see cref="MaxDispositions"/> verdicts are
/// scored again with the active scorer as they stood at their latest verdict: activities up to that instant, decay at that
/// instant, the profile as it is now (profile history is not kept). A rule "scored" a lead when it gave it non-zero points
/// before caps.
/// </summary>
public static class RuleEvidence
{
    public const int MaxDispositions = 10_000;
    private const int Chunk = 500;

    public static async Task<RuleEvidenceReport> ComputeAsync(TandemDb db, ActiveDefinition active, CancellationToken ct, int maxDispositions = MaxDispositions)
    {
        var scoring = await active.GetAsync(db, ct);
        if (scoring is null)
            return new RuleEvidenceReport(null, null, 0, 0, null, []);
        var verdicts = await db.StageTransitions.AsNoTracking()
            .Where(t => t.ByRule == DispositionRules.Accept || t.ByRule!.StartsWith(DispositionRules.RejectPrefix))
            .OrderByDescending(t => t.At).ThenByDescending(t => t.Id).Take(maxDispositions)
            .Select(t => new { t.LeadId, t.At, Accepted = t.ByRule == DispositionRules.Accept }).ToListAsync(ct);
        // Each lead's latest verdict in the window (the list is newest first).
        var latest = new Dictionary<Guid, (DateTimeOffset At, bool Accepted)>();
        foreach (var v in verdicts)
            latest.TryAdd(v.LeadId, (v.At, v.Accepted));

        var rules = scoring.Definition.FitRules.Select(r => (r.Id, r.Label, Kind: ScoreLineKind.Fit, r.Points))
            .Concat(scoring.Definition.EngagementRules.Select(r => (r.Id, r.Label, Kind: ScoreLineKind.Engagement, r.Points))).ToList();
        var scored = new Dictionary<string, HashSet<Guid>>(StringComparer.Ordinal);
        foreach (var r in rules)
            scored.TryAdd(r.Id, []);
        var ratings = new Dictionary<Guid, List<int>>();
        var withProperties = ScoringFacts.NeedsProperties(scoring.Definition);
        // Leads deleted since their verdict are left out of every figure.
        var known = new List<Guid>(latest.Count);
        foreach (var chunk in latest.Keys.Chunk(Chunk))
        {
            var leads = await db.Leads.AsNoTracking().Where(l => chunk.Contains(l.Id)).ToListAsync(ct);
            var activities = await ScoringFacts.ActivitiesAsync(db, chunk, withProperties, ct);
            foreach (var r in await db.Set<LeadRating>().AsNoTracking().Where(r => chunk.Contains(r.LeadId)).Select(r => new { r.LeadId, r.LeadQuality }).ToListAsync(ct))
                (ratings.TryGetValue(r.LeadId, out var list) ? list : ratings[r.LeadId] = []).Add(r.LeadQuality);
            foreach (var lead in leads)
            {
                known.Add(lead.Id);
                var at = latest[lead.Id].At;
                var before = (activities.GetValueOrDefault(lead.Id) ?? []).Where(a => a.OccurredAt <= at).ToList();
                var score = scoring.Scorer.Score(ScoringFacts.ForLead(lead), before, at);
                foreach (var line in score.Lines)
                    if (line.Kind != ScoreLineKind.Cap && line.RawPoints != 0 && scored.TryGetValue(line.RuleId, out var set))
                        set.Add(lead.Id);
            }
        }

        VerdictFigures Figures(IEnumerable<Guid> ids)
        {
            int n = 0, accepted = 0, ratingN = 0, ratingSum = 0;
            foreach (var id in ids)
            {
                n++;
                if (latest[id].Accepted)
                    accepted++;
                if (ratings.TryGetValue(id, out var rs))
                {
                    ratingN += rs.Count;
                    ratingSum += rs.Sum();
                }
            }
            return new VerdictFigures(n, accepted, n - accepted, n == 0 ? null : Math.Round((decimal)accepted / n, 4), ratingN,
                ratingN == 0 ? null : Math.Round((decimal)ratingSum / ratingN, 2));
        }
        var rows = rules.Select(r => new RuleEvidenceRow(r.Id, r.Label, r.Kind, r.Points,
            Figures(known.Where(scored[r.Id].Contains)), Figures(known.Where(id => !scored[r.Id].Contains(id))))).ToList();
        return new RuleEvidenceReport(scoring.VersionId, scoring.VersionNumber, verdicts.Count, known.Count, verdicts.Count == 0 ? null : verdicts[^1].At, rows);
    }
}
