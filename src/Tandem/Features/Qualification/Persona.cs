namespace Tandem.Features.Qualification;

/// <summary>A shared description of an ideal (or non-ideal) buyer, with the criteria used to match leads.</summary>
public sealed class Persona
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public string? Description { get; set; }
    public string? Pains { get; set; }
    public string? Objections { get; set; }
    public List<string> JobTitleKeywords { get; set; } = [];
    public List<string> Seniorities { get; set; } = [];
    public int? CompanySizeMin { get; set; }
    public int? CompanySizeMax { get; set; }
    public List<string> Industries { get; set; } = [];
    public List<string> Countries { get; set; } = [];
    public List<string> Languages { get; set; } = [];
    /// <summary>False for anti-personas (e.g. students) that exist to be recognised and kept away from sales.</summary>
    public bool IsIdeal { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
