using System.Globalization;
using System.Resources;

namespace Tandem.Features.Work;

/// <summary>A field error as a resource key with its arguments: the API answers it in English, the pages in the user's language.</summary>
public sealed record WorkError(string Key, params object[] Args)
{
    private static readonly ResourceManager Strings = new("Tandem.Resources.SharedResource", typeof(WorkError).Assembly);

    public string Format(CultureInfo culture) =>
        string.Format(culture, Strings.GetString(Key, culture) ?? Key, Args);

    /// <summary>Field → errors in English (the API's language, like every other API message).</summary>
    public static Dictionary<string, string[]> ToApi(Dictionary<string, WorkError[]> errors) =>
        errors.ToDictionary(e => e.Key, e => e.Value.Select(x => x.Format(CultureInfo.InvariantCulture)).ToArray(), StringComparer.Ordinal);
}

public sealed class WorkErrors
{
    private readonly Dictionary<string, List<WorkError>> _errors = new(StringComparer.Ordinal);

    public void Add(string field, string key, params object[] args)
    {
        if (!_errors.TryGetValue(field, out var list))
            _errors[field] = list = [];
        list.Add(new WorkError(key, args));
    }

    public bool Any => _errors.Count > 0;
    public bool Has(string field) => _errors.ContainsKey(field);

    public Dictionary<string, WorkError[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}

/// <summary>What a note or task operation produced: the value, or why not (missing, not the caller's, field errors).</summary>
public sealed record WorkItemOutcome<T>(T? Value, AccessVerdict Verdict = AccessVerdict.Allowed, Dictionary<string, WorkError[]>? Errors = null)
{
    public static WorkItemOutcome<T> Missing => new(default, AccessVerdict.NotFound);
    public static WorkItemOutcome<T> Refused => new(default, AccessVerdict.Forbidden);
    public static WorkItemOutcome<T> Invalid(WorkErrors errors) => new(default, AccessVerdict.Allowed, errors.ToDictionary());
}
