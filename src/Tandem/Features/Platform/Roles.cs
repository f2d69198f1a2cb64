namespace Tandem.Features.Platform;

/// <summary>The four roles of Tandem. Role names are stable identifiers stored in the database.</summary>
public static class Roles
{
    public const string Admin = "Admin";
    public const string Marketing = "Marketing";
    public const string Sales = "Sales";
    public const string SalesManager = "SalesManager";

    public static readonly IReadOnlyList<string> All = [Admin, Marketing, Sales, SalesManager];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);

    /// <summary>Normalises user input ("salesmanager", "Sales Manager") to the canonical role name.</summary>
    public static string? Parse(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var compact = value.Replace(" ", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        return All.FirstOrDefault(r => string.Equals(r, compact, StringComparison.OrdinalIgnoreCase));
    }
}

/// <summary>API scopes. A role grants the scopes a person with that job needs through the UI session.</summary>
public static class Scopes
{
    public const string Ingest = "ingest";
    public const string Read = "read";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Ingest, Read, Admin];

    public static IReadOnlyList<string> GrantedByRole(string role) => role switch
    {
        Roles.Admin => All,
        Roles.Marketing => [Ingest, Read],
        Roles.SalesManager => [Read],
        Roles.Sales => [Read],
        _ => [],
    };

    /// <summary>Parses "ingest,read" into canonical scopes; returns null and the offending token when one is unknown.</summary>
    public static (IReadOnlyList<string>? Scopes, string? Invalid) Parse(string? value)
    {
        var parts = (value ?? "").Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new List<string>();
        foreach (var part in parts)
        {
            var scope = All.FirstOrDefault(s => string.Equals(s, part, StringComparison.OrdinalIgnoreCase));
            if (scope is null)
                return (null, part);
            if (!result.Contains(scope))
                result.Add(scope);
        }
        return (result, null);
    }
}
