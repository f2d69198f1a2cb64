using System.Text.Json;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;
using static Tandem.Tests.Unit.ScoringData;

namespace Tandem.Tests.Unit;

public sealed class DefinitionToolsTests
{
    private static readonly PersonaProfile Finance = Persona("Finance lead", titles: ["DAF", "CFO"], sizeMin: 50, sizeMax: 500);
    private static readonly PersonaProfile Students = Persona("Students", ideal: false, seniorities: ["Student", "Intern"]);
    private static readonly HashSet<Guid> PersonaIds = [Finance.Id, Students.Id];
    private static readonly Guid Campaign = Guid.NewGuid();
    private static readonly HashSet<Guid> CampaignIds = [Campaign];

    private static IReadOnlyList<DefinitionIssue> Validate(QualificationDefinition definition) => DefinitionTools.Validate(definition, PersonaIds, CampaignIds);

    private static void HasError(QualificationDefinition definition, string path, string code) =>
        Assert.Contains(Validate(definition), i => i.Path == path && i.Code == code && !i.IsWarning);

    private static void NoErrors(QualificationDefinition definition) => Assert.DoesNotContain(Validate(definition), i => !i.IsWarning);

    private static void HasWarning(QualificationDefinition definition, string path) =>
        Assert.Contains(Validate(definition), i => i.Path == path && i.Code == "neverMatches" && i.IsWarning);

    private static readonly QualificationDefinition Valid = DefinitionTools.Starter([Finance, Students]) with { CompetitorDomains = ["hubspot.com"] };

    [Fact]
    public void TheStarterDefinitionIsValid() => Assert.Empty(Validate(Valid));

    [Fact]
    public void TheStarterDefinitionFollowsTheAgreedDefaults()
    {
        var starter = DefinitionTools.Starter([Finance, Students]);
        var ideal = starter.FitRules.Single(r => r.Values.SequenceEqual([Finance.Id.ToString()]));
        Assert.Equal((FitOperator.IsPersona, 25, 70m, "Matches persona Finance lead"), (ideal.Operator, ideal.Points, ideal.Min, ideal.Label));
        Assert.Equal(-40, starter.FitRules.Single(r => r.Values.SequenceEqual([Students.Id.ToString()])).Points);
        Assert.Equal(new DecayPolicy(DecayKind.HalfLife, 30), starter.Decay);
        Assert.Equal(new GradeBands(50, 30, 10), starter.Grades);
        Assert.Equal(["grade ≥ B and engagement ≥ 50", "grade ≥ C and a demo request within 30 days"], starter.Mql.AnyOf.Select(DefinitionTools.Describe));
        Assert.Equal(new SqlCriteria(true, true, true, true), starter.Sql);
        Assert.Empty(starter.CompetitorDomains);

        var scorer = new LeadScorer(starter, [Finance, Students]);
        var daf = Lead(email: "marie@acme.fr", title: "DAF", size: 120);
        // Persona 25 + finance title 20 + executive 15 + SME 10.
        Assert.Equal((70, Grade.A), (scorer.Score(daf, [], Now).Fit, scorer.Score(daf, [], Now).Grade));
        var student = Lead(email: "leo@etu.univ-paris1.fr", title: "Étudiant");
        // Students persona -40, student -30, student domain -40.
        Assert.Equal(-110, scorer.Score(student, [], Now).Fit);
        Assert.True(scorer.Score(daf, [Act(ActivityType.DemoRequest, 2)], Now).IsMql);
    }

    [Fact]
    public void FitRuleErrorsNameTheirField()
    {
        FitRule Rule(int i) => Valid.FitRules[i];
        QualificationDefinition WithFit(params FitRule[] rules) => Valid with { FitRules = rules };
        HasError(WithFit(Rule(0), Rule(1) with { Id = " " }), "fitRules[1].id", "required");
        HasError(WithFit(Rule(0), Rule(1) with { Id = Rule(0).Id }), "fitRules[1].id", "duplicateId");
        HasError(WithFit(Rule(0) with { Label = "" }), "fitRules[0].label", "required");
        HasError(WithFit(Rule(0) with { Label = new string('x', 121) }), "fitRules[0].label", "length");
        NoErrors(WithFit(Rule(0) with { Label = new string('x', 120) }));
        HasError(WithFit(Rule(0) with { Points = 0 }), "fitRules[0].points", "required");
        HasError(WithFit(Rule(0) with { Points = 1001 }), "fitRules[0].points", "range");
        HasError(WithFit(Rule(0) with { Points = -1001 }), "fitRules[0].points", "range");
        NoErrors(WithFit(Rule(0) with { Points = -1000 }));
        HasError(WithFit(Fit(FitField.JobTitle, FitOperator.Contains, 5)), "fitRules[0].values", "required");
        HasError(WithFit(Fit(FitField.Country, FitOperator.In, 5)), "fitRules[0].values", "required");
        HasError(WithFit(Fit(FitField.Persona, FitOperator.IsPersona, 5)), "fitRules[0].values", "required");
        HasError(WithFit(Fit(FitField.Persona, FitOperator.IsPersona, 5, Guid.NewGuid().ToString())), "fitRules[0].values", "unknownPersona");
        HasError(WithFit(Fit(FitField.Persona, FitOperator.IsPersona, 5, "finance")), "fitRules[0].values", "unknownPersona");
        HasError(WithFit(Fit(FitField.Persona, FitOperator.IsPersona, 5, Finance.Id.ToString()) with { Min = 101 }), "fitRules[0].min", "range");
        HasError(WithFit(Fit(FitField.Seniority, FitOperator.In, 5, "CLevel", "Boss")), "fitRules[0].values", "unknownSeniority");
        HasError(WithFit(Fit(FitField.CompanySize, FitOperator.Between, 5)), "fitRules[0].min", "required");
        HasError(WithFit(Fit(FitField.CompanySize, FitOperator.Between, 5) with { Min = 10, Max = 5 }), "fitRules[0].max", "range");
        NoErrors(WithFit(Fit(FitField.CompanySize, FitOperator.Between, 5) with { Max = 5 }));
        HasError(WithFit(Fit(FitField.CustomField, FitOperator.Contains, 5, "x")), "fitRules[0].customField", "required");
        HasError(WithFit(Fit(FitField.JobTitle, FitOperator.IsFreeMail, 5)), "fitRules[0].operator", "invalidOperator");
        HasError(WithFit(Fit(FitField.JobTitle, FitOperator.Between, 5) with { Min = 1 }), "fitRules[0].operator", "invalidOperator");
        HasError(WithFit(Fit(FitField.Company, FitOperator.IsPersona, 5, Finance.Id.ToString())), "fitRules[0].operator", "invalidOperator");
        NoErrors(WithFit(Fit(FitField.Company, FitOperator.IsCompetitor, -5)));
    }

    [Fact]
    public void EngagementDecayCapGradeAndCompetitorErrorsNameTheirField()
    {
        var rule = Valid.EngagementRules[0];
        HasError(Valid with { EngagementRules = [rule, rule] }, "engagementRules[1].id", "duplicateId");
        HasError(Valid with { EngagementRules = [rule with { Points = 0 }] }, "engagementRules[0].points", "required");
        HasError(Valid with { EngagementRules = [rule with { Cap = 0 }] }, "engagementRules[0].cap", "range");
        HasError(Valid with { EngagementRules = [rule with { CampaignId = Guid.NewGuid() }] }, "engagementRules[0].campaignId", "unknownCampaign");
        NoErrors(Valid with { EngagementRules = [rule with { CampaignId = Campaign }] });
        HasError(Valid with { EngagementRules = [rule with { PropertyValue = "x" }] }, "engagementRules[0].propertyKey", "required");
        HasError(Valid with { EngagementRules = [rule with { ActivityType = (ActivityType)99 }] }, "engagementRules[0].activityType", "required");
        HasError(Valid with { Decay = new DecayPolicy(DecayKind.HalfLife, 0) }, "decay.days", "range");
        HasError(Valid with { Decay = new DecayPolicy(DecayKind.Window, 3651) }, "decay.days", "range");
        NoErrors(Valid with { Decay = new DecayPolicy(DecayKind.None, 0) });
        HasError(Valid with { FitCap = 0 }, "fitCap", "range");
        HasError(Valid with { EngagementCap = -1 }, "engagementCap", "range");
        HasError(Valid with { Grades = new GradeBands(30, 30, 10) }, "grades", "order");
        HasError(Valid with { Grades = new GradeBands(50, 10, 30) }, "grades", "order");
        HasError(Valid with { CompetitorDomains = ["hubspot.com", " "] }, "competitorDomains[1]", "required");
    }

    [Fact]
    public void MqlErrorsNameTheirCondition()
    {
        var ok = new MqlCondition(Grade.B, null, null, null, null);
        HasError(Valid with { Mql = new MqlRule([ok, new MqlCondition(null, null, null, null, null)]) }, "mql.anyOf[1]", "required");
        HasError(Valid with { Mql = new MqlRule([.. Enumerable.Repeat(ok, 11)]) }, "mql.anyOf", "range");
        NoErrors(Valid with { Mql = new MqlRule([.. Enumerable.Repeat(ok, 10)]) });
        HasError(Valid with { Mql = new MqlRule([new MqlCondition(null, null, null, ActivityType.DemoRequest, 0)]) }, "mql.anyOf[0].withinDays", "range");
        HasError(Valid with { Mql = new MqlRule([new MqlCondition(Grade.C, null, null, null, 30)]) }, "mql.anyOf[0].requiresActivity", "required");
    }

    [Fact]
    public void ConditionsThatCanNeverHoldAreWarnings()
    {
        // Starter fit: every positive rule at once, 25 + 20 + 15 + 8 + 10 = 78 (an upper bound: a lead is not both executive and manager).
        Assert.Equal(78, DefinitionTools.MaxFit(Valid));
        HasWarning(Valid with { Mql = new MqlRule([new MqlCondition(null, 79, null, null, null)]) }, "mql.anyOf[0].minFit");
        HasWarning(Valid with { FitCap = 40, Mql = new MqlRule([new MqlCondition(Grade.A, null, null, null, null)]) }, "mql.anyOf[0].minGrade");
        Assert.DoesNotContain(Validate(Valid with { Mql = new MqlRule([new MqlCondition(Grade.A, 70, null, null, null)]) }), i => i.IsWarning);

        // Every starter engagement rule is capped or once: 30 + 30 + 30 + 20 + 15 + 10 + 10 = 145.
        Assert.Equal(145, DefinitionTools.MaxEngagement(Valid));
        HasWarning(Valid with { Mql = new MqlRule([new MqlCondition(null, null, 146, null, null)]) }, "mql.anyOf[0].minEngagement");
        HasWarning(Valid with { EngagementCap = 100, Mql = new MqlRule([new MqlCondition(null, null, 101, null, null)]) }, "mql.anyOf[0].minEngagement");
        var uncapped = Valid with { EngagementRules = [.. Valid.EngagementRules, Engage(ActivityType.Chat, 5)], Mql = new MqlRule([new MqlCondition(null, null, 1000, null, null)]) };
        Assert.Null(DefinitionTools.MaxEngagement(uncapped));
        Assert.DoesNotContain(Validate(uncapped), i => i.IsWarning);

        HasWarning(Valid with { Mql = new MqlRule([]) }, "mql.anyOf");
        HasWarning(Valid with { FitRules = [Fit(FitField.JobTitle, FitOperator.Contains, 5, " ", "--")] }, "fitRules[0].values");
        Assert.All(Validate(Valid with { Mql = new MqlRule([]) }), i => Assert.True(i.IsWarning));
    }

    [Fact]
    public void TheDiffListsRuleChangesInWords()
    {
        var before = Definition(
            fit: [new FitRule("cfo", "CFO title", FitField.JobTitle, FitOperator.Contains, ["CFO", "DAF"], null, null, 20), Fit(FitField.EmailDomain, FitOperator.IsFreeMail, -15)],
            engagement: [Engage(ActivityType.DemoRequest, 30, once: true, id: "demo")]);
        var after = before with
        {
            FitRules = [before.FitRules[0] with { Points = 25, Values = ["CFO", "DAF", "Finance director"] }, Fit(FitField.EmailDomain, FitOperator.IsStudentDomain, -40) with { Label = "Student" }],
            EngagementRules = [before.EngagementRules[0] with { Cap = 20, Once = false }],
        };
        var changes = DefinitionTools.Diff(before, after);
        Assert.Equal(
        [
            new DefinitionChange(DiffKind.Changed, "fit", "CFO title: values", "CFO, DAF", "CFO, DAF, Finance director"),
            new DefinitionChange(DiffKind.Changed, "fit", "CFO title: points", "20", "25"),
            new DefinitionChange(DiffKind.Added, "fit", "Student", null, "student domain: -40"),
            new DefinitionChange(DiffKind.Removed, "fit", "EmailDomain IsFreeMail", "free-mail domain: -15", null),
            new DefinitionChange(DiffKind.Changed, "engagement", "DemoRequest: cap", "none", "20"),
            new DefinitionChange(DiffKind.Changed, "engagement", "DemoRequest: once", "yes", "no"),
        ], changes);
        Assert.Equal("fit: CFO title: points 20 → 25", changes[1].Describe());
        Assert.Equal("fit: added Student (student domain: -40)", changes[2].Describe());
        Assert.Empty(DefinitionTools.Diff(before, before with { }));
    }

    [Fact]
    public void TheDiffCoversDecayCapsGradesMqlCompetitorsAndSql()
    {
        var before = DefinitionTools.Starter([]);
        var after = before with
        {
            Decay = new DecayPolicy(DecayKind.Window, 90),
            FitCap = 100,
            Grades = new GradeBands(60, 30, 10),
            Mql = new MqlRule([new MqlCondition(Grade.A, null, 40, null, null), before.Mql.AnyOf[1], new MqlCondition(null, 20, null, null, null)]),
            CompetitorDomains = ["hubspot.com"],
            Sql = before.Sql with { Timing = false },
        };
        Assert.Equal(
        [
            new DefinitionChange(DiffKind.Changed, "decay", "decay", "half-life 30 days", "last 90 days only"),
            new DefinitionChange(DiffKind.Changed, "caps", "fit cap", "none", "100"),
            new DefinitionChange(DiffKind.Changed, "grades", "A", "50", "60"),
            new DefinitionChange(DiffKind.Changed, "mql", "condition 1", "grade ≥ B and engagement ≥ 50", "grade ≥ A and engagement ≥ 40"),
            new DefinitionChange(DiffKind.Added, "mql", "condition 3", null, "fit ≥ 20"),
            new DefinitionChange(DiffKind.Added, "competitors", "hubspot.com", null, null),
            new DefinitionChange(DiffKind.Changed, "sql", "timing", "required", "not required"),
        ], DefinitionTools.Diff(before, after));
        Assert.Equal(
            [new DefinitionChange(DiffKind.Removed, "mql", "condition 3", "fit ≥ 20", null), new DefinitionChange(DiffKind.Removed, "competitors", "hubspot.com", null, null)],
            DefinitionTools.Diff(after, after with { Mql = new MqlRule([.. after.Mql.AnyOf.Take(2)]), CompetitorDomains = [] }));
    }

    [Fact]
    public void JsonIsCamelCaseWithEnumNamesAndRoundTripsExactly()
    {
        var definition = Valid with
        {
            EngagementRules = [.. Valid.EngagementRules, new EngagementRule("x", "X", ActivityType.FormSubmission, "/a", Campaign, "k", "v", -5, 7, true)],
            FitRules = [.. Valid.FitRules, Fit(FitField.CustomField, FitOperator.Between, 3) with { Min = 1.5m, Max = 10, CustomField = "budget" }],
            FitCap = 90,
            EngagementCap = 80,
        };
        var json = DefinitionTools.ToJson(definition);
        Assert.Contains("\"fitRules\":", json);
        Assert.Contains("\"operator\":\"IsPersona\"", json);
        Assert.Contains("\"kind\":\"HalfLife\"", json);
        var back = DefinitionTools.FromJson(json);
        Assert.Equal(json, DefinitionTools.ToJson(back));
        Assert.Equal(1.5m, back.FitRules[^1].Min);
        Assert.Equal(Campaign, back.EngagementRules[^1].CampaignId);
        Assert.Empty(DefinitionTools.Diff(definition, back));
    }

    [Fact]
    public void JsonMayLeaveOutOptionalMembers()
    {
        var json = """
            {"fitRules":[{"id":"a","label":"A","field":"JobTitle","operator":"Contains","values":["CFO"],"points":20}],
             "engagementRules":[{"id":"b","label":"B","activityType":"DemoRequest","points":30,"once":true}],
             "decay":{"kind":"None","days":0},"grades":{"a":50,"b":30,"c":10},"mql":{"anyOf":[{"minGrade":"B"}]},
             "competitorDomains":[],"sql":{"budget":true,"authority":true,"need":false,"timing":false}}
            """;
        var definition = DefinitionTools.FromJson(json);
        Assert.Null(definition.FitRules[0].Min);
        Assert.Null(definition.EngagementRules[0].Cap);
        Assert.Null(definition.FitCap);
        Assert.Equal(Grade.B, definition.Mql.AnyOf[0].MinGrade);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("""{"fitRules":[],"engagementRules":[],"decay":{"kind":"Sometimes","days":1},"grades":{"a":3,"b":2,"c":1},"mql":{"anyOf":[]},"competitorDomains":[],"sql":{"budget":true,"authority":true,"need":true,"timing":true}}""")]
    [InlineData("""{"fitRules":[{"id":"a","label":"A","field":"JobTitle","operator":"Contains","points":20}],"engagementRules":[],"decay":{"kind":"None","days":0},"grades":{"a":3,"b":2,"c":1},"mql":{"anyOf":[]},"competitorDomains":[],"sql":{"budget":true,"authority":true,"need":true,"timing":true}}""")]
    [InlineData("""{"fitRules":null,"engagementRules":[],"decay":{"kind":"None","days":0},"grades":{"a":3,"b":2,"c":1},"mql":{"anyOf":[]},"competitorDomains":[],"sql":{"budget":true,"authority":true,"need":true,"timing":true}}""")]
    public void BadJsonThrowsJsonException(string json) => Assert.ThrowsAny<JsonException>(() => DefinitionTools.FromJson(json));
}
