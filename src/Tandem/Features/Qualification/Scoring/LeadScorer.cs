namespace Tandem.Features.Qualification.Scoring;

/// <summary>
/// Scores leads against one definition and set of personas. Build once per definition (it pre-compiles the rules),
/// then call <see cref="Score"/> for each lead; thread-safe and allocation-light.
/// </summary>
public sealed class LeadScorer
{
    public LeadScorer(QualificationDefinition definition, IReadOnlyList<PersonaProfile> personas)
    {
        Definition = definition;
        Personas = personas;
    }

    public QualificationDefinition Definition { get; }

    public IReadOnlyList<PersonaProfile> Personas { get; }

    /// <summary>Fit, engagement (decayed at <paramref name="now"/>), grade, persona, MQL verdict and the explanation.</summary>
    public LeadScore Score(LeadFacts lead, IReadOnlyList<ActivityFacts> activities, DateTimeOffset now) => throw new NotImplementedException();

    /// <summary>The best-matching persona (highest %, ideal personas win ties), or null below 50 %.</summary>
    public PersonaMatch? MatchPersona(LeadFacts lead) => throw new NotImplementedException();

    /// <summary>
    /// The first moment (lead creation or an activity time, not after <paramref name="until"/>) at which the MQL rule
    /// held, replaying activities in time order with decay evaluated at each moment; null if it never held.
    /// </summary>
    public DateTimeOffset? FirstMqlAt(LeadFacts lead, IReadOnlyList<ActivityFacts> activities, DateTimeOffset until) => throw new NotImplementedException();
}
