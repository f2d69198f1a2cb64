using Tandem.Features.Qualification.Scoring;

namespace Tandem.Tests.Unit;

public sealed class SeniorityTests
{
    [Theory]
    [InlineData("CEO", "CLevel")]
    [InlineData("PDG", "CLevel")]
    [InlineData("Directeur Général", "CLevel")]
    [InlineData("DG adjoint", "CLevel")]
    [InlineData("CFO", "CLevel")]
    [InlineData("DAF", "CLevel")]
    [InlineData("Chief Revenue Officer", "CLevel")]
    [InlineData("Co-founder & CTO", "CLevel")]
    [InlineData("Président", "CLevel")]
    [InlineData("VP Sales", "VP")]
    [InlineData("Vice-Président Finance", "VP")]
    [InlineData("Directrice Financière", "Director")]
    [InlineData("Directeur administratif et financier adjoint", "Director")]
    [InlineData("Finance Director", "Director")]
    [InlineData("Head of Finance", "Head")]
    [InlineData("Responsable comptable", "Manager")]
    [InlineData("Chef de projet", "Manager")]
    [InlineData("Marketing Manager", "Manager")]
    [InlineData("Senior Accountant", "Senior")]
    [InlineData("Lead developer", "Senior")]
    [InlineData("Comptable", "Individual")]
    [InlineData("Software engineer", "Individual")]
    [InlineData("Assistante du PDG", "Individual")]
    [InlineData("Stagiaire contrôle de gestion", "Intern")]
    [InlineData("Alternant auprès du DAF", "Intern")]
    [InlineData("Marketing intern", "Intern")]
    [InlineData("Étudiant en finance", "Student")]
    [InlineData("PhD student", "Student")]
    public void TitlesInEnglishAndFrenchMapToALevel(string title, string expected) => Assert.Equal(expected, Seniority.FromTitle(title));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  - ")]
    public void AnEmptyTitleHasNoSeniority(string? title) => Assert.Null(Seniority.FromTitle(title));

    [Fact]
    public void AWordInsideAnotherWordIsNotALevel()
    {
        // "internal" is not "intern", "headquarters" is not "head", "cfoo" is not "cfo".
        Assert.Equal(Seniority.Individual, Seniority.FromTitle("Internal auditor"));
        Assert.Equal(Seniority.Individual, Seniority.FromTitle("Headquarters receptionist"));
        Assert.Equal(Seniority.Individual, Seniority.FromTitle("cfoo"));
    }

    [Theory]
    [InlineData("clevel", "CLevel")]
    [InlineData("C-Level", "CLevel")]
    [InlineData("vp", "VP")]
    [InlineData("student", "Student")]
    [InlineData("boss", null)]
    public void LevelNamesTypedByAnAdminAreRecognised(string value, string? expected) => Assert.Equal(expected, Seniority.Parse(value));
}
