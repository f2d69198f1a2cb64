using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;
using static Tandem.Tests.Unit.ScoringData;

namespace Tandem.Tests.Unit;

public sealed class LeadScorerTests
{
    [Theory]
    [InlineData("directeur financier", true)]
    [InlineData("DIRECTEUR FINANCIER adjoint", true)]
    [InlineData("Directrice Financière", true)]
    [InlineData("DAF adjoint", true)]
    [InlineData("Group CFO", true)]
    [InlineData("cfoo", false)]
    [InlineData("Dafne", false)]
    [InlineData("Comptable", false)]
    [InlineData(null, false)]
    public void ContainsMatchesWholeWordsIgnoringCaseAndAccents(string? title, bool matches) =>
        Assert.Equal(matches ? 20 : 0, FitOf(Fit(FitField.JobTitle, FitOperator.Contains, 20, "Directeur financier", "Directrice financiere", "DAF", "cfo"), Lead(title: title)));

    [Fact]
    public void AFitRuleCountsOnceEvenWhenSeveralValuesMatch()
    {
        var score = Score(Definition(fit: [Fit(FitField.JobTitle, FitOperator.Contains, 20, "CFO", "DAF")]), Lead(title: "CFO / DAF"));
        Assert.Equal(20, score.Fit);
        var line = Assert.Single(score.Lines);
        Assert.Equal((ScoreLineKind.Fit, 20, 20, 1, "CFO / DAF"), (line.Kind, line.Points, line.RawPoints, line.Count, line.Matched));
    }

    [Theory]
    [InlineData("FR", true)]
    [InlineData("fr", true)]
    [InlineData("France", true)]
    [InlineData("BE", true)]
    [InlineData("DE", false)]
    [InlineData(null, false)]
    public void InOnCountryComparesIsoCodes(string? country, bool matches) =>
        Assert.Equal(matches ? 10 : 0, FitOf(Fit(FitField.Country, FitOperator.In, 10, "fr", "Belgique"), Lead(country: country)));

    [Theory]
    [InlineData("logiciel", true)]
    [InlineData("Logiciel ", true)]
    [InlineData("Logiciel libre", false)]
    [InlineData("Santé", true)]
    public void InOnTextIsEqualityIgnoringCaseAndAccents(string industry, bool matches) =>
        Assert.Equal(matches ? 5 : 0, FitOf(Fit(FitField.Industry, FitOperator.In, 5, "Logiciel", "sante"), Lead(industry: industry)));

    [Theory]
    [InlineData("fr", true)]
    [InlineData("fr-FR", true)]
    [InlineData("FR-ca", true)]
    [InlineData("en", false)]
    public void InOnLanguageMatchesTheLanguageOfARegionalTag(string language, bool matches) =>
        Assert.Equal(matches ? 5 : 0, FitOf(Fit(FitField.Language, FitOperator.In, 5, "fr"), Lead(language: language)));

    [Theory]
    [InlineData(50, true)]
    [InlineData(250, true)]
    [InlineData(500, true)]
    [InlineData(49, false)]
    [InlineData(501, false)]
    [InlineData(null, false)]
    public void BetweenOnCompanySizeIncludesBothBounds(int? size, bool matches)
    {
        var rule = Fit(FitField.CompanySize, FitOperator.Between, 10) with { Min = 50, Max = 500 };
        var score = Score(Definition(fit: [rule]), Lead(size: size));
        Assert.Equal(matches ? 10 : 0, score.Fit);
        if (matches)
            Assert.Equal(size.ToString(), score.Lines[0].Matched);
    }

    [Theory]
    [InlineData("12000.5", true)]
    [InlineData("9999", false)]
    [InlineData("a lot", false)]
    [InlineData(null, false)]
    public void BetweenOnACustomFieldParsesItsNumber(string? budget, bool matches)
    {
        var rule = Fit(FitField.CustomField, FitOperator.Between, 10) with { Min = 10000, CustomField = "budget" };
        Assert.Equal(matches ? 10 : 0, FitOf(rule, Lead(custom: new Dictionary<string, string?> { ["budget"] = budget })));
    }

    [Fact]
    public void ContainsOnACustomFieldReadsTheNamedField()
    {
        var rule = Fit(FitField.CustomField, FitOperator.Contains, 7, "ERP") with { CustomField = "stack" };
        Assert.Equal(7, FitOf(rule, Lead(custom: new Dictionary<string, string?> { ["stack"] = "SAP ERP, Excel" })));
        Assert.Equal(0, FitOf(rule, Lead(custom: new Dictionary<string, string?> { ["other"] = "ERP" })));
        Assert.Equal(0, FitOf(rule, Lead()));
    }

    [Theory]
    [InlineData("jane@gmail.com", true)]
    [InlineData("jane@Hotmail.FR", true)]
    [InlineData("jane@acme.fr", false)]
    [InlineData(null, false)]
    public void IsFreeMailUsesTheShippedList(string? email, bool matches)
    {
        var score = Score(Definition(fit: [Fit(FitField.EmailDomain, FitOperator.IsFreeMail, -15)]), Lead(email: email));
        Assert.Equal(matches ? -15 : 0, score.Fit);
        if (matches)
            Assert.Equal(email![(email!.IndexOf('@') + 1)..].ToLowerInvariant(), score.Lines[0].Matched);
    }

    [Theory]
    [InlineData("etu.univ-paris1.fr", true)]
    [InlineData("hec.edu", true)]
    [InlineData("polytechnique.edu", true)]
    [InlineData("edu.ece.fr", true)]
    [InlineData("epita.fr", true)]
    [InlineData("mit.edu", true)]
    [InlineData("usp.edu.br", true)]
    [InlineData("ox.ac.uk", true)]
    [InlineData("etu.univ-lyon1.fr", true)]
    [InlineData("univ-lille.fr", true)]
    [InlineData("u-bordeaux.fr", true)]
    [InlineData("student.tudelft.nl", true)]
    [InlineData("mail.uni-hamburg.de", true)]
    [InlineData("acme.fr", false)]
    [InlineData("education.gouv.fr", false)]
    [InlineData("edu-consulting.com", false)]
    [InlineData("gmail.com", false)]
    public void IsStudentDomainUsesTheListAndPatterns(string domain, bool matches)
    {
        Assert.Equal(matches, StudentDomains.Contains(domain));
        Assert.Equal(matches ? -40 : 0, FitOf(Fit(FitField.EmailDomain, FitOperator.IsStudentDomain, -40), Lead(email: "x@" + domain)));
    }

    [Theory]
    [InlineData("a@hubspot.com", null, true)]
    [InlineData("a@eu.HubSpot.com", null, true)]
    [InlineData("a@nothubspot.com", null, false)]
    [InlineData("a@acme.fr", "Salesforce", true)]
    [InlineData("a@acme.fr", "SÄLESFORCE", true)]
    [InlineData("a@acme.fr", "Salesforce partners", false)]
    public void IsCompetitorMatchesDomainsWithSubdomainsAndCompanyNames(string email, string? company, bool matches) =>
        Assert.Equal(matches ? -100 : 0, FitOf(Fit(FitField.EmailDomain, FitOperator.IsCompetitor, -100), Lead(email: email, company: company), ["www.hubspot.com", "Sälesforce"]));

    [Fact]
    public void IsEmptyMatchesMissingValues()
    {
        var rule = Fit(FitField.JobTitle, FitOperator.IsEmpty, -5);
        Assert.Equal(-5, FitOf(rule, Lead(title: null)));
        Assert.Equal(-5, FitOf(rule, Lead(title: "  ")));
        Assert.Equal(0, FitOf(rule, Lead(title: "CFO")));
        Assert.Equal(-5, FitOf(Fit(FitField.CompanySize, FitOperator.IsEmpty, -5), Lead(size: null)));
        Assert.Equal(0, FitOf(Fit(FitField.CompanySize, FitOperator.IsEmpty, -5), Lead(size: 3)));
    }

    [Theory]
    [InlineData("Directrice Financière", 15)]
    [InlineData("CEO", 15)]
    [InlineData("Responsable comptable", 0)]
    [InlineData("Stagiaire", -30)]
    [InlineData(null, 0)]
    public void SeniorityRulesUseTheLevelDerivedFromTheTitle(string? title, int expected)
    {
        var definition = Definition(fit: [Fit(FitField.Seniority, FitOperator.In, 15, "CLevel", "director"), Fit(FitField.Seniority, FitOperator.In, -30, "Intern", "Student")]);
        Assert.Equal(expected, Score(definition, Lead(title: title)).Fit);
    }

    [Fact]
    public void IsPersonaNeedsTheBestPersonaAtTheMinimumPercent()
    {
        var finance = Persona("Finance lead", titles: ["CFO", "DAF"], sizeMin: 50, sizeMax: 500);
        var rule = Fit(FitField.Persona, FitOperator.IsPersona, 25, finance.Id.ToString()) with { Min = 70 };
        var scorer = new LeadScorer(Definition(fit: [rule]), [finance]);
        // Title 35 + size 20 of 55 = 100 %; title only = 64 % (below 70); size only = 36 % (no persona).
        var full = scorer.Score(Lead(title: "DAF", size: 120), [], Now);
        Assert.Equal(25, full.Fit);
        Assert.Equal("Finance lead (100 %)", full.Lines[0].Matched);
        Assert.Equal(new PersonaMatch(finance.Id, "Finance lead", 100, true), full.Persona);
        var titleOnly = scorer.Score(Lead(title: "DAF"), [], Now);
        Assert.Equal((0, 64), (titleOnly.Fit, titleOnly.Persona!.Percent));
        Assert.Null(scorer.Score(Lead(size: 120), [], Now).Persona);
        var defaultMinimum = new LeadScorer(Definition(fit: [rule with { Min = null }]), [finance]);
        Assert.Equal(25, defaultMinimum.Score(Lead(title: "DAF"), [], Now).Fit);
    }

    [Fact]
    public void NegativeFitPointsAreAllowedAndFitMayBeNegative()
    {
        var definition = Definition(fit: [Fit(FitField.EmailDomain, FitOperator.IsFreeMail, -15), Fit(FitField.Seniority, FitOperator.In, -30, "Student")]);
        var score = Score(definition, Lead(email: "bob@gmail.com", title: "Étudiant"));
        Assert.Equal(-45, score.Fit);
        Assert.Equal(Grade.D, score.Grade);
    }

    [Fact]
    public void TheFitCapLimitsThePositivePointsAndPenaltiesStillCount()
    {
        var definition = Definition(
            fit: [Fit(FitField.JobTitle, FitOperator.Contains, 60, "CFO"), Fit(FitField.CompanySize, FitOperator.Between, 30) with { Min = 1 }, Fit(FitField.EmailDomain, FitOperator.IsFreeMail, -40)],
            fitCap: 50);
        var score = Score(definition, Lead(email: "cfo@gmail.com", title: "CFO", size: 10));
        // min(60 + 30, 50) - 40
        Assert.Equal(10, score.Fit);
        Assert.Equal([(ScoreLineKind.Fit, 60), (ScoreLineKind.Fit, -40), (ScoreLineKind.Fit, 30), (ScoreLineKind.Cap, -40)],
            score.Lines.Select(l => (l.Kind, l.Points)));
        Assert.Equal("50", score.Lines[^1].Matched);
        var under = Score(definition, Lead(title: "CFO"));
        Assert.Equal(50, under.Fit);
        Assert.Equal(50, Score(definition with { FitCap = 100 }, Lead(email: "cfo@gmail.com", title: "CFO", size: 10)).Fit);
    }

    [Theory]
    [InlineData(50, Grade.A)]
    [InlineData(49, Grade.B)]
    [InlineData(30, Grade.B)]
    [InlineData(29, Grade.C)]
    [InlineData(10, Grade.C)]
    [InlineData(9, Grade.D)]
    [InlineData(-20, Grade.D)]
    public void GradesFollowTheBandsAtTheirEdges(int fit, Grade expected)
    {
        var rule = Fit(FitField.JobTitle, FitOperator.IsEmpty, fit);
        Assert.Equal(expected, Score(Definition(fit: [rule]), Lead()).Grade);
    }

    [Theory]
    [InlineData(30.0, 10)]
    [InlineData(60.0, 5)]
    [InlineData(0.0, 20)]
    [InlineData(15.0, 14)]
    public void HalfLifeHalvesPointsEveryPeriod(double daysAgo, int expected)
    {
        var definition = Definition(engagement: [Engage(ActivityType.DemoRequest, 20)], decay: new DecayPolicy(DecayKind.HalfLife, 30));
        var score = Score(definition, Lead(), Act(ActivityType.DemoRequest, daysAgo));
        Assert.Equal(expected, score.Engagement);
        var line = Assert.Single(score.Lines);
        Assert.Equal((ScoreLineKind.Engagement, expected, 20, 1, Now.AddDays(-daysAgo)), (line.Kind, line.Points, line.RawPoints, line.Count, line.LatestAt));
    }

    [Fact]
    public void DecayedPointsAreSummedBeforeRounding()
    {
        // 10 × (2^-0.5 + 2^-1) = 12.07 → 12, where rounding each (7 + 5) would also give 12 but 3 × 2^-1 = 1.5 rounds away from zero to 2.
        var definition = Definition(engagement: [Engage(ActivityType.PageView, 10), Engage(ActivityType.EmailClick, 3), Engage(ActivityType.Meeting, -3)],
            decay: new DecayPolicy(DecayKind.HalfLife, 10));
        var score = Score(definition, Lead(), Act(ActivityType.PageView, 5), Act(ActivityType.PageView, 10), Act(ActivityType.EmailClick, 10), Act(ActivityType.Meeting, 10));
        Assert.Equal([12, 2, -2], score.Lines.Select(l => l.Points));
        Assert.Equal(12, score.Engagement);
    }

    [Fact]
    public void AWindowCountsOnlyRecentActivities()
    {
        var definition = Definition(engagement: [Engage(ActivityType.Webinar, 15)], decay: new DecayPolicy(DecayKind.Window, 10));
        var score = Score(definition, Lead(), Act(ActivityType.Webinar, 5), Act(ActivityType.Webinar, 10), Act(ActivityType.Webinar, 10.01));
        Assert.Equal(30, score.Engagement);
        Assert.Equal((30, 30, 2), (score.Lines[0].Points, score.Lines[0].RawPoints, score.Lines[0].Count));
        Assert.Empty(Score(definition, Lead(), Act(ActivityType.Webinar, 11)).Lines);
    }

    [Fact]
    public void WithoutDecayEveryActivityCountsInFull()
    {
        var definition = Definition(engagement: [Engage(ActivityType.ContentDownload, 10)]);
        Assert.Equal(30, Score(definition, Lead(), Act(ActivityType.ContentDownload, 1), Act(ActivityType.ContentDownload, 400), Act(ActivityType.ContentDownload, 4000)).Engagement);
    }

    [Fact]
    public void OnceCountsOnlyTheMostRecentMatchingActivity()
    {
        var definition = Definition(engagement: [Engage(ActivityType.DemoRequest, 30, once: true)], decay: new DecayPolicy(DecayKind.HalfLife, 30));
        var score = Score(definition, Lead(), Act(ActivityType.DemoRequest, 90), Act(ActivityType.DemoRequest, 30), Act(ActivityType.DemoRequest, 60));
        var line = Assert.Single(score.Lines);
        Assert.Equal((15, 30, 3, Now.AddDays(-30)), (line.Points, line.RawPoints, line.Count, line.LatestAt));
    }

    [Fact]
    public void ARuleCapLimitsTheRuleAfterDecay()
    {
        var definition = Definition(engagement: [Engage(ActivityType.PageView, 3, cap: 10)], decay: new DecayPolicy(DecayKind.HalfLife, 30));
        var fresh = Score(definition, Lead(), [.. Enumerable.Repeat(Act(ActivityType.PageView, 0), 5)]);
        Assert.Equal((10, 15, 5), (fresh.Lines[0].Points, fresh.Lines[0].RawPoints, fresh.Lines[0].Count));
        // 5 × 3 × 0.5 = 7.5 → 8, under the cap.
        Assert.Equal(8, Score(definition, Lead(), [.. Enumerable.Repeat(Act(ActivityType.PageView, 30), 5)]).Engagement);
    }

    [Fact]
    public void TheEngagementCapLimitsPositivePointsAndNegativeRulesStillCount()
    {
        var definition = Definition(
            engagement: [Engage(ActivityType.Webinar, 30), Engage(ActivityType.DemoRequest, 30), Engage(ActivityType.EmailOpen, -20, key: "event", value: "unsubscribe")],
            engagementCap: 40);
        var unsubscribe = new Dictionary<string, string?> { ["event"] = "Unsubscribe" };
        var score = Score(definition, Lead(), Act(ActivityType.Webinar, 1), Act(ActivityType.DemoRequest, 1), Act(ActivityType.EmailOpen, 1, properties: unsubscribe));
        Assert.Equal(40 - 20, score.Engagement);
        Assert.Equal([(ScoreLineKind.Engagement, 30), (ScoreLineKind.Engagement, 30), (ScoreLineKind.Engagement, -20), (ScoreLineKind.Cap, -20)],
            score.Lines.Select(l => (l.Kind, l.Points)));
        Assert.Equal("engagementCap", score.Lines[^1].RuleId);
    }

    [Fact]
    public void ActivitiesAfterNowAreIgnored()
    {
        var definition = Definition(engagement: [Engage(ActivityType.Webinar, 15)]);
        Assert.Equal(15, Score(definition, Lead(), Act(ActivityType.Webinar, 1), Act(ActivityType.Webinar, -1)).Engagement);
    }

    [Fact]
    public void EngagementConditionsOnUrlCampaignAndPropertiesMustAllHold()
    {
        var campaign = Guid.NewGuid();
        var pricing = Engage(ActivityType.PageView, 10, url: "/Pricing", id: "pricing");
        var fromCampaign = Engage(ActivityType.FormSubmission, 5, campaign: campaign, id: "campaign");
        var withProperty = Engage(ActivityType.ContentDownload, 7, key: "asset", id: "has-asset");
        var withValue = Engage(ActivityType.ContentDownload, 3, key: "asset", value: "Guide DAF", id: "guide");
        var definition = Definition(engagement: [pricing, fromCampaign, withProperty, withValue]);
        LeadScore Of(params ActivityFacts[] a) => Score(definition, Lead(), a);
        Assert.Equal(10, Of(Act(ActivityType.PageView, 1, url: "https://x.example/fr/pricing?plan=pro")).Engagement);
        Assert.Equal(0, Of(Act(ActivityType.PageView, 1, url: "https://x.example/blog")).Engagement);
        Assert.Equal(0, Of(Act(ActivityType.PageView, 1)).Engagement);
        Assert.Equal(5, Of(Act(ActivityType.FormSubmission, 1, campaign: campaign)).Engagement);
        Assert.Equal(0, Of(Act(ActivityType.FormSubmission, 1, campaign: Guid.NewGuid())).Engagement);
        Assert.Equal(7, Of(Act(ActivityType.ContentDownload, 1, properties: new Dictionary<string, string?> { ["asset"] = "Other" })).Engagement);
        Assert.Equal(10, Of(Act(ActivityType.ContentDownload, 1, properties: new Dictionary<string, string?> { ["asset"] = "guide daf" })).Engagement);
        Assert.Equal(0, Of(Act(ActivityType.ContentDownload, 1)).Engagement);
    }

    [Fact]
    public void AnActivityMayMatchSeveralRules()
    {
        var definition = Definition(engagement: [Engage(ActivityType.PageView, 1, cap: 10, id: "any-page"), Engage(ActivityType.PageView, 10, once: true, url: "/pricing", id: "pricing")]);
        var score = Score(definition, Lead(), Act(ActivityType.PageView, 1, url: "/pricing"), Act(ActivityType.PageView, 2, url: "/pricing"));
        Assert.Equal(12, score.Engagement);
        Assert.Equal([("pricing", 10, 2), ("any-page", 2, 2)], score.Lines.Select(l => (l.RuleId, l.Points, l.Count)));
    }

    [Fact]
    public void LinesListFitThenEngagementByWeightThenCaps()
    {
        var definition = Definition(
            fit: [Fit(FitField.CompanySize, FitOperator.Between, 10) with { Min = 1 }, Fit(FitField.JobTitle, FitOperator.Contains, 20, "CFO"), Fit(FitField.EmailDomain, FitOperator.IsFreeMail, -15)],
            engagement: [Engage(ActivityType.PageView, 1), Engage(ActivityType.DemoRequest, 30)],
            fitCap: 25, engagementCap: 20);
        var score = Score(definition, Lead(email: "x@gmail.com", title: "CFO", size: 5), Act(ActivityType.PageView, 1), Act(ActivityType.DemoRequest, 1));
        Assert.Equal(
            [(ScoreLineKind.Fit, 20), (ScoreLineKind.Fit, -15), (ScoreLineKind.Fit, 10), (ScoreLineKind.Engagement, 30), (ScoreLineKind.Engagement, 1), (ScoreLineKind.Cap, -5), (ScoreLineKind.Cap, -11)],
            score.Lines.Select(l => (l.Kind, l.Points)));
        Assert.Equal((25 - 15, 20), (score.Fit, score.Engagement));
    }

    [Fact]
    public void MqlHoldsWhenAnyConditionHoldsAndReportsEachGap()
    {
        var definition = Definition(
            fit: [Fit(FitField.JobTitle, FitOperator.Contains, 20, "CFO")],
            engagement: [Engage(ActivityType.Webinar, 21), Engage(ActivityType.DemoRequest, 1)],
            mql: new MqlRule([new MqlCondition(Grade.B, null, 50, null, null), new MqlCondition(null, 20, null, ActivityType.DemoRequest, 30)]));
        var score = Score(definition, Lead(title: "Stagiaire"), Act(ActivityType.Webinar, 1), Act(ActivityType.Webinar, 2), Act(ActivityType.DemoRequest, 45));
        Assert.False(score.IsMql);
        Assert.Equal(Grade.D, score.Grade);
        Assert.Equal([new MqlGap(MqlRequirement.Grade, "B", "D"), new MqlGap(MqlRequirement.Engagement, "50", "43")], score.Mql[0].Gaps);
        Assert.Equal([new MqlGap(MqlRequirement.Fit, "20", "0"), new MqlGap(MqlRequirement.Activity, "DemoRequest within 30 days", "last 2026-01-15T12:00:00Z")], score.Mql[1].Gaps);
        var noDemo = Score(definition, Lead(), Act(ActivityType.Webinar, 1));
        Assert.Equal(new MqlGap(MqlRequirement.Activity, "DemoRequest within 30 days", "none"), noDemo.Mql[1].Gaps[1]);

        var mql = Score(definition, Lead(title: "CFO"), Act(ActivityType.Webinar, 1), Act(ActivityType.Webinar, 2), Act(ActivityType.DemoRequest, 29));
        Assert.True(mql.IsMql);
        Assert.Equal([(0, false), (1, true)], mql.Mql.Select(r => (r.Index, r.Holds)));
        Assert.Empty(mql.Mql[1].Gaps);
        Assert.Equal([new MqlGap(MqlRequirement.Grade, "B", "C"), new MqlGap(MqlRequirement.Engagement, "50", "43")], mql.Mql[0].Gaps);
    }

    [Fact]
    public void ARequiredActivityWithoutDaysMayBeAnyTimeBeforeNow()
    {
        var definition = Definition(mql: new MqlRule([new MqlCondition(null, null, null, ActivityType.Meeting, null)]));
        Assert.True(Score(definition, Lead(), Act(ActivityType.Meeting, 900)).IsMql);
        Assert.False(Score(definition, Lead(), Act(ActivityType.Meeting, -1)).IsMql);
        Assert.Equal(new MqlGap(MqlRequirement.Activity, "Meeting", "none"), Score(definition, Lead()).Mql[0].Gaps[0]);
    }

    [Fact]
    public void AnMqlRuleWithoutConditionsAndAnEmptyConditionNeverHold()
    {
        Assert.False(Score(Definition(), Lead()).IsMql);
        var empty = Score(Definition(mql: new MqlRule([new MqlCondition(null, null, null, null, null)])), Lead());
        Assert.False(empty.IsMql);
        Assert.False(empty.Mql[0].Holds);
    }

    [Fact]
    public void FirstMqlAtIsTheCreationWhenFitAloneSuffices()
    {
        var definition = Definition(fit: [Fit(FitField.JobTitle, FitOperator.Contains, 40, "CFO")], mql: new MqlRule([new MqlCondition(Grade.B, null, null, null, null)]));
        var scorer = new LeadScorer(definition, []);
        var lead = Lead(title: "CFO");
        Assert.Equal(lead.CreatedAt, scorer.FirstMqlAt(lead, [Act(ActivityType.PageView, 1)], Now));
        Assert.Null(scorer.FirstMqlAt(Lead(title: "Comptable"), [Act(ActivityType.PageView, 1)], Now));
    }

    [Fact]
    public void FirstMqlAtFindsTheOnlyMomentDecayLetsTheRuleHold()
    {
        // Half-life 10 days, 20 points each: at day 0 → 20, day 10 → 10 + 20 = 30 (holds), day 40 → 1.25 + 2.5 + 20 = 23.75 → 24.
        var definition = Definition(engagement: [Engage(ActivityType.Webinar, 20)], decay: new DecayPolicy(DecayKind.HalfLife, 10),
            mql: new MqlRule([new MqlCondition(null, null, 30, null, null)]));
        var scorer = new LeadScorer(definition, []);
        var created = Now.AddDays(-40);
        var lead = Lead(createdAt: created);
        ActivityFacts[] activities = [Act(ActivityType.Webinar, 0), Act(ActivityType.Webinar, 40), Act(ActivityType.Webinar, 30)];
        Assert.Equal(created.AddDays(10), scorer.FirstMqlAt(lead, activities, Now));
        Assert.False(scorer.Score(lead, activities, Now).IsMql);
        Assert.Null(scorer.FirstMqlAt(lead, activities, created.AddDays(9)));
        // 45 is never reached with decay (max 30), though the three activities add up to 60 without it.
        var higher = new LeadScorer(definition with { Mql = new MqlRule([new MqlCondition(null, null, 45, null, null)]) }, []);
        Assert.Null(higher.FirstMqlAt(lead, activities, Now));
        Assert.Equal(created.AddDays(40), new LeadScorer(definition with { Decay = new DecayPolicy(DecayKind.None, 0), Mql = higher.Definition.Mql }, []).FirstMqlAt(lead, activities, Now));
    }

    [Fact]
    public void FirstMqlAtCountsActivitiesBeforeTheCreationFromTheCreation()
    {
        var definition = Definition(engagement: [Engage(ActivityType.PageView, 10)], mql: new MqlRule([new MqlCondition(null, null, 20, null, null)]));
        var lead = Lead(createdAt: Now.AddDays(-5));
        Assert.Equal(lead.CreatedAt, new LeadScorer(definition, []).FirstMqlAt(lead, [Act(ActivityType.PageView, 7), Act(ActivityType.PageView, 6)], Now));
    }

    [Fact]
    public void FirstMqlAtHonoursActivityWindows()
    {
        var definition = Definition(fit: [Fit(FitField.JobTitle, FitOperator.IsEmpty, 15)],
            mql: new MqlRule([new MqlCondition(Grade.C, null, null, ActivityType.DemoRequest, 30)]));
        var scorer = new LeadScorer(definition, []);
        var lead = Lead(createdAt: Now.AddDays(-100));
        Assert.Equal(Now.AddDays(-80), scorer.FirstMqlAt(lead, [Act(ActivityType.PageView, 90), Act(ActivityType.DemoRequest, 80)], Now));
        // A demo request before the creation, more than 30 days earlier, never counts.
        Assert.Null(scorer.FirstMqlAt(lead, [Act(ActivityType.DemoRequest, 140), Act(ActivityType.PageView, 50)], Now));
    }

    [Theory]
    [InlineData(DecayKind.HalfLife)]
    [InlineData(DecayKind.Window)]
    [InlineData(DecayKind.None)]
    public void FirstMqlAtAgreesWithScoringAtEveryMoment(DecayKind decay)
    {
        var definition = DefinitionTools.Starter([]) with { EngagementCap = 60, Decay = new DecayPolicy(decay, 20) };
        var scorer = new LeadScorer(definition, []);
        var random = new Random(7);
        var types = new[] { ActivityType.PageView, ActivityType.DemoRequest, ActivityType.Webinar, ActivityType.EmailClick, ActivityType.ContentDownload };
        string[] titles = ["CFO", "DAF", "Comptable", "Stagiaire", "Directeur financier"];
        var (atCreation, later, never) = (0, 0, 0);
        for (var n = 0; n < 300; n++)
        {
            var lead = Lead(title: titles[random.Next(titles.Length)], size: random.Next(2) == 0 ? 120 : null, createdAt: Now.AddDays(-random.Next(60, 200)));
            var activities = Enumerable.Range(0, random.Next(0, 12))
                .Select(_ => new ActivityFacts(types[random.Next(types.Length)], lead.CreatedAt.AddHours(random.Next(-100, 200 * 24)), null, random.Next(3) == 0 ? "/pricing" : "/blog"))
                .ToArray();
            var expected = (DateTimeOffset?)null;
            var moments = activities.Select(a => a.OccurredAt).Where(t => t > lead.CreatedAt && t <= Now).Prepend(lead.CreatedAt).Order();
            foreach (var moment in moments)
            {
                if (scorer.Score(lead, [.. activities.Where(a => a.OccurredAt <= moment)], moment).IsMql)
                {
                    expected = moment;
                    break;
                }
            }
            Assert.Equal(expected, scorer.FirstMqlAt(lead, activities, Now));
            _ = expected is null ? never++ : expected == lead.CreatedAt ? atCreation++ : later++;
        }
        // The sample exercises every outcome.
        Assert.True(atCreation > 2 && later > 10 && never > 10, $"{atCreation} at creation, {later} later, {never} never");
    }

    [Fact]
    public void AScorerIgnoresRulesItCannotUnderstandInsteadOfThrowing()
    {
        var definition = Definition(fit: [Fit(FitField.Persona, FitOperator.IsPersona, 10, "not-a-guid"), Fit(FitField.Seniority, FitOperator.In, 5, "boss")]);
        Assert.Equal(0, Score(definition, Lead(title: "CEO")).Fit);
    }
}
