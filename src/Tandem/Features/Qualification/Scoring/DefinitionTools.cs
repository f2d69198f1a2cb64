namespace Tandem.Features.Qualification.Scoring;

public enum DiffKind
{
    Added,
    Removed,
    Changed,
}

/// <summary>One readable difference between two definitions, e.g. fit rule "CFO title": points 20 → 25.</summary>
public sealed record DefinitionChange(DiffKind Kind, string Section, string Item, string? Before, string? After);

public static class DefinitionTools
{
    /// <summary>Field errors (and "can never match" warnings) for a definition.</summary>
    public static IReadOnlyList<DefinitionIssue> Validate(QualificationDefinition definition, IReadOnlySet<Guid> personaIds, IReadOnlySet<Guid> campaignIds)
        => throw new NotImplementedException();

    /// <summary>A readable diff from <paramref name="before"/> to <paramref name="after"/>, rules matched by id.</summary>
    public static IReadOnlyList<DefinitionChange> Diff(QualificationDefinition before, QualificationDefinition after)
        => throw new NotImplementedException();

    /// <summary>JSON (camelCase, enums as strings) used to store a definition and in the API.</summary>
    public static string ToJson(QualificationDefinition definition) => throw new NotImplementedException();

    public static QualificationDefinition FromJson(string json) => throw new NotImplementedException();

    /// <summary>A sensible starting definition (used for a new installation's first draft and the demo).</summary>
    public static QualificationDefinition Starter(IReadOnlyList<PersonaProfile> personas) => throw new NotImplementedException();
}
