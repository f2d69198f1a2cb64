using BenchmarkDotNet.Attributes;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Bench;

/// <summary>
/// Scoring one lead with a realistic 50-rule definition (25 fit, 25 engagement), 3 personas and 20 activities
/// (issue #4: under 20 µs), and the MQL replay a backtest runs for each lead.
/// </summary>
[MemoryDiagnoser]
public class ScoringBenchmarks
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private LeadScorer _scorer = null!;
    // The backtest's worst case: the fit passes but the engagement never gets there, so every moment is replayed.
    private LeadScorer _neverMql = null!;
    private LeadFacts _lead = null!;
    private ActivityFacts[] _activities = [];
    private ActivityFacts[] _tenActivities = [];

    [GlobalSetup]
    public void Setup()
    {
        PersonaProfile[] personas =
        [
            new(Guid.NewGuid(), "Finance lead", true, ["DAF", "CFO", "Directeur financier", "Directrice financière", "Head of Finance"],
                ["CLevel", "Director", "Head"], 50, 500, ["Logiciel", "Industrie", "Services"], ["FR", "BE", "CH"], ["fr"]),
            new(Guid.NewGuid(), "Controller", true, ["Contrôleur de gestion", "Controller", "Comptable"], ["Manager", "Senior"], 20, 2000, [], ["FR"], []),
            new(Guid.NewGuid(), "Students", false, ["Étudiant", "Stagiaire", "Alternant"], ["Student", "Intern"], null, null, [], [], []),
        ];
        var starter = DefinitionTools.Starter(personas);
        var fit = starter.FitRules.ToList();
        var extra = 0;
        void AddFit(FitField field, FitOperator op, int points, params string[] values) =>
            fit.Add(new FitRule($"extra-{extra++}", $"Extra {extra}", field, op, values, null, null, points));
        AddFit(FitField.Industry, FitOperator.Contains, 10, "Logiciel", "Software", "SaaS");
        AddFit(FitField.Industry, FitOperator.In, -20, "Éducation", "Education", "Enseignement");
        AddFit(FitField.Country, FitOperator.In, 5, "FR", "BE", "CH", "LU");
        AddFit(FitField.Language, FitOperator.In, 5, "fr");
        AddFit(FitField.City, FitOperator.In, 3, "Paris", "Lyon", "Lille", "Bordeaux");
        AddFit(FitField.JobTitle, FitOperator.Contains, 8, "Contrôleur de gestion", "Controller", "Comptable", "Trésorier");
        AddFit(FitField.JobTitle, FitOperator.Contains, -10, "Consultant", "Freelance", "Indépendant");
        AddFit(FitField.JobTitle, FitOperator.IsEmpty, -5);
        AddFit(FitField.Company, FitOperator.IsEmpty, -5);
        AddFit(FitField.Company, FitOperator.Contains, 5, "Groupe", "SAS", "Industries");
        AddFit(FitField.CompanySize, FitOperator.IsEmpty, -2);
        fit.Add(new FitRule("big", "Enterprise", FitField.CompanySize, FitOperator.Between, [], 501, null, 5));
        fit.Add(new FitRule("budget", "Budget", FitField.CustomField, FitOperator.Between, [], 10000, null, 10, "budget"));
        fit.Add(new FitRule("erp", "ERP", FitField.CustomField, FitOperator.Contains, ["SAP", "Sage", "Cegid"], null, null, 5, "erp"));
        while (fit.Count < 25)
            AddFit(FitField.JobTitle, FitOperator.Contains, 1, $"keyword{extra}", "another phrase");
        var engagement = starter.EngagementRules.ToList();
        var types = Enum.GetValues<ActivityType>();
        for (var i = 0; engagement.Count < 25; i++)
        {
            engagement.Add(new EngagementRule($"e{i}", $"Rule {i}", types[i % types.Length], i % 3 == 0 ? $"/page-{i}" : null, null,
                i % 4 == 0 ? "source" : null, i % 8 == 0 ? "ads" : null, 2 + i % 5, i % 2 == 0 ? 20 : null, i % 5 == 0));
        }
        var definition = starter with { FitRules = fit, EngagementRules = engagement, CompetitorDomains = ["hubspot.com", "salesforce.com", "Pipedrive"] };
        _scorer = new LeadScorer(definition, personas);
        _neverMql = new LeadScorer(definition with { Mql = new MqlRule([new MqlCondition(Grade.C, null, 100_000, null, null), new MqlCondition(Grade.C, null, null, ActivityType.Note, 1)]) }, personas);
        _lead = new LeadFacts(Guid.NewGuid(), "marie.dupont@acme-industries.fr", "Directrice Administrative et Financière", "Acme Industries SAS", 180,
            "Industrie agroalimentaire", "FR", "Lyon", "fr-FR", Now.AddDays(-120), new Dictionary<string, string?> { ["budget"] = "25000", ["erp"] = "Sage X3" });
        var random = new Random(42);
        _activities = [.. Enumerable.Range(0, 20).Select(i => new ActivityFacts(
            types[random.Next(types.Length)], Now.AddHours(-random.Next(1, 24 * 110)), null,
            random.Next(3) == 0 ? "https://acme.example/pricing" : $"https://acme.example/page-{random.Next(30)}",
            random.Next(4) == 0 ? new Dictionary<string, string?> { ["source"] = "ads" } : null))];
        _tenActivities = _activities[..10];
    }

    [Benchmark]
    public LeadScore Score() => _scorer.Score(_lead, _activities, Now);

    [Benchmark]
    public PersonaMatch? MatchPersona() => _scorer.MatchPersona(_lead);

    [Benchmark]
    public DateTimeOffset? FirstMqlAtTenActivities() => _scorer.FirstMqlAt(_lead, _tenActivities, Now);

    [Benchmark]
    public DateTimeOffset? FirstMqlAtTwentyActivities() => _scorer.FirstMqlAt(_lead, _activities, Now);

    [Benchmark]
    public DateTimeOffset? FirstMqlAtNeverHoldsTenActivities() => _neverMql.FirstMqlAt(_lead, _tenActivities, Now);
}
