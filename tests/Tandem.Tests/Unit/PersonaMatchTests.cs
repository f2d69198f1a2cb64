using Tandem.Features.Qualification.Scoring;
using static Tandem.Tests.Unit.ScoringData;

namespace Tandem.Tests.Unit;

public sealed class PersonaMatchTests
{
    private static readonly PersonaProfile Finance = Persona("Finance lead", titles: ["DAF", "Directeur financier", "CFO"], seniorities: ["CLevel", "Director"],
        sizeMin: 50, sizeMax: 500, industries: ["Logiciel", "Industrie"], countries: ["FR", "Belgique"], languages: ["fr"]);

    private static PersonaMatch? Match(LeadFacts lead, params PersonaProfile[] personas) => new LeadScorer(Definition(), personas).MatchPersona(lead);

    [Fact]
    public void EveryDefinedCriterionWeighsItsShare()
    {
        // Title 35 + seniority 15 + size 20 + industry 10 + country 10 + language 10 = 100.
        var all = Lead(title: "Directrice Financière", size: 200, industry: "Industrie pharmaceutique", country: "FR", language: "fr-FR");
        Assert.Equal(100 - 35, Match(all, Finance)!.Percent);
        var cfo = all with { JobTitle = "Directeur Financier" };
        Assert.Equal(new PersonaMatch(Finance.Id, "Finance lead", 100, true), Match(cfo, Finance));
        Assert.Equal(35 + 15 + 20, Match(cfo with { Industry = "Banque", Country = "DE", Language = "de" }, Finance)!.Percent);
        Assert.Equal(50, Match(cfo with { CompanySize = 5000, Industry = null, Country = null, Language = null }, Finance)!.Percent);
        Assert.Null(Match(cfo with { JobTitle = "Directeur commercial", CompanySize = 5000, Industry = null, Country = null, Language = null }, Finance));
    }

    [Fact]
    public void OnlyTheCriteriaAPersonaDefinesCount()
    {
        var sizeAndCountry = Persona("SME France", sizeMin: 10, countries: ["FR"]);
        // Size 20 of 30 = 67 %, country 10 of 30 = 33 %.
        Assert.Equal(67, Match(Lead(size: 11, country: "BE"), sizeAndCountry)!.Percent);
        Assert.Null(Match(Lead(size: 5, country: "FR"), sizeAndCountry));
        Assert.Equal(100, Match(Lead(size: 11, country: "France"), sizeAndCountry)!.Percent);
    }

    [Fact]
    public void APersonaThatDefinesNothingMatchesNobody() =>
        Assert.Null(Match(Lead(title: "CFO", size: 100, country: "FR"), Persona("Empty")));

    [Fact]
    public void TheHighestPercentWins()
    {
        var students = Persona("Students", ideal: false, seniorities: ["Student", "Intern"]);
        Assert.Equal("Students", Match(Lead(title: "Étudiant en finance"), Finance, students)!.Name);
        Assert.Equal("Finance lead", Match(Lead(title: "DAF", size: 100, industry: "Logiciel", country: "FR", language: "fr"), students, Finance)!.Name);
    }

    [Fact]
    public void TiesGoToTheIdealPersonaThenByName()
    {
        var idealB = Persona("B ideal", titles: ["CFO"]);
        var idealA = Persona("a ideal", titles: ["CFO"]);
        var other = Persona("0 other", ideal: false, titles: ["CFO"]);
        var lead = Lead(title: "CFO");
        Assert.Equal("a ideal", Match(lead, other, idealB, idealA)!.Name);
        Assert.Equal("B ideal", Match(lead, other, idealB)!.Name);
        Assert.Equal("0 other", Match(lead, other, Persona("1 other", ideal: false, titles: ["CFO"]))!.Name);
    }

    [Fact]
    public void KeywordsMatchWholeWordsWithoutCaseOrAccents()
    {
        var persona = Persona("Finance", titles: ["Directrice financière"]);
        Assert.NotNull(Match(Lead(title: "DIRECTRICE FINANCIERE adjointe"), persona));
        Assert.Null(Match(Lead(title: "Directrice financièrement responsable"), persona));
    }

    [Fact]
    public void ScoreReturnsTheBestPersona()
    {
        var score = new LeadScorer(Definition(), [Finance]).Score(Lead(title: "CFO", size: 100, industry: "Logiciel", country: "BE", language: "fr"), [], Now);
        Assert.Equal(100, score.Persona!.Percent);
    }
}
