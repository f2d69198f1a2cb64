using System.Text;
using System.Text.Json;

namespace Tandem.Features.Capture.Webhooks;

/// <summary>
/// The small JSON path subset webhook mappings use, chosen so every provider payload we support is reachable
/// without a general-purpose engine: <c>$</c>, <c>.name</c>, <c>['any name']</c>, <c>[2]</c>, <c>[*]</c> and one filter
/// form <c>[?(@.a.b=='x')]</c> (followed by <c>[n]</c>, the n-th match). A path that is a quoted literal (<c>'typeform'</c>) yields that constant.
/// </summary>
public sealed class JsonPathLite
{
    private abstract record Segment;
    private sealed record Property(string Name) : Segment;
    private sealed record Index(int Value) : Segment;
    private sealed record Wildcard : Segment;
    private sealed record Filter(IReadOnlyList<string> Path, string Value) : Segment;

    private readonly IReadOnlyList<Segment> _segments;
    private readonly string? _literal;

    private JsonPathLite(IReadOnlyList<Segment> segments, string? literal)
    {
        _segments = segments;
        _literal = literal;
    }

    public string? Literal => _literal;

    /// <summary>Parses <paramref name="path"/>; returns null and a message naming the position of the first problem.</summary>
    public static JsonPathLite? TryParse(string? path, out string? error)
    {
        error = null;
        var text = path?.Trim() ?? "";
        if (text.Length == 0)
        {
            error = "The path is empty.";
            return null;
        }
        if (text[0] is '\'' or '"')
        {
            if (text.Length >= 2 && text[^1] == text[0] && text.IndexOf(text[0], 1) == text.Length - 1)
                return new JsonPathLite([], text[1..^1]);
            error = "A constant must be one quoted string, e.g. 'typeform'.";
            return null;
        }
        if (text[0] != '$')
        {
            error = "A path starts with $ (or is a quoted constant).";
            return null;
        }
        var segments = new List<Segment>();
        var i = 1;
        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                i++;
                var name = ReadName(text, ref i);
                if (name.Length == 0)
                    return Fail(out error, i, "expected a property name after '.'");
                segments.Add(new Property(name));
            }
            else if (text[i] == '[')
            {
                i++;
                if (i >= text.Length)
                    return Fail(out error, i, "unterminated '['");
                if (text[i] is '\'' or '"')
                {
                    if (ReadQuoted(text, ref i) is not { } quoted)
                        return Fail(out error, i, "unterminated quoted name");
                    segments.Add(new Property(quoted));
                }
                else if (text[i] == '*')
                {
                    i++;
                    segments.Add(new Wildcard());
                }
                else if (text[i] == '?')
                {
                    if (ReadFilter(text, ref i, out var filterError) is not { } filter)
                        return Fail(out error, i, filterError!);
                    segments.Add(filter);
                }
                else
                {
                    var start = i;
                    while (i < text.Length && char.IsAsciiDigit(text[i]))
                        i++;
                    if (i == start || !int.TryParse(text.AsSpan(start, i - start), out var index))
                        return Fail(out error, start, "expected an index, *, a quoted name or a filter ?(...)");
                    segments.Add(new Index(index));
                }
                if (i >= text.Length || text[i] != ']')
                    return Fail(out error, i, "expected ']'");
                i++;
            }
            else
            {
                return Fail(out error, i, $"unexpected '{text[i]}'");
            }
        }
        return new JsonPathLite(segments, null);
    }

    private static JsonPathLite? Fail(out string? error, int position, string message)
    {
        error = $"Invalid path at character {position + 1}: {message}.";
        return null;
    }

    private static string ReadName(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && (char.IsLetterOrDigit(text[i]) || text[i] is '_' or '-' or '$'))
            i++;
        return text[start..i];
    }

    private static string? ReadQuoted(string text, ref int i)
    {
        var quote = text[i++];
        var sb = new StringBuilder();
        while (i < text.Length && text[i] != quote)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
                i++;
            sb.Append(text[i++]);
        }
        if (i >= text.Length)
            return null;
        i++;
        return sb.ToString();
    }

    private static Filter? ReadFilter(string text, ref int i, out string? error)
    {
        // Grammar: ?(@.a.b=='x')
        error = "expected a filter of the form ?(@.name=='value')";
        if (!text.AsSpan(i).StartsWith("?(@", StringComparison.Ordinal))
            return null;
        i += 3;
        var path = new List<string>();
        while (i < text.Length && text[i] == '.')
        {
            i++;
            var name = ReadName(text, ref i);
            if (name.Length == 0)
                return null;
            path.Add(name);
        }
        while (i < text.Length && text[i] == ' ') i++;
        if (path.Count == 0 || !text.AsSpan(i).StartsWith("==", StringComparison.Ordinal))
            return null;
        i += 2;
        while (i < text.Length && text[i] == ' ') i++;
        if (i >= text.Length || text[i] is not ('\'' or '"') || ReadQuoted(text, ref i) is not { } value)
            return null;
        while (i < text.Length && text[i] == ' ') i++;
        if (i >= text.Length || text[i] != ')')
            return null;
        i++;
        error = null;
        return new Filter(path, value);
    }

    /// <summary>Every element the path selects, in document order.</summary>
    public IEnumerable<JsonElement> Select(JsonElement root)
    {
        List<JsonElement> current = [root];
        Segment? previous = null;
        foreach (var segment in _segments)
        {
            // [n] right after a filter picks the n-th match (objects have no index): answers[?(@.type=='text')][0].
            current = previous is Filter && segment is Index ix
                ? ix.Value < current.Count ? [current[ix.Value]] : []
                : [.. current.SelectMany(e => Step(e, segment))];
            previous = segment;
        }
        return current;
    }

    /// <summary>The selected value as text: scalars as written, arrays of scalars joined with ", "; null when nothing usable.</summary>
    public string? SelectText(JsonElement root)
    {
        if (_literal is not null)
            return _literal;
        var values = new List<string>();
        foreach (var element in Select(root))
            AddScalars(element, values);
        return values.Count == 0 ? null : string.Join(", ", values);
    }

    private static void AddScalars(JsonElement element, List<string> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String when Platform.SafeText.GetString(element, out _) is { Length: > 0 } s:
                values.Add(s);
                break;
            case JsonValueKind.Number:
                values.Add(element.GetRawText());
                break;
            case JsonValueKind.True:
                values.Add("true");
                break;
            case JsonValueKind.False:
                values.Add("false");
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (item.ValueKind is not (JsonValueKind.Array or JsonValueKind.Object))
                        AddScalars(item, values);
                break;
        }
    }

    private static IEnumerable<JsonElement> Step(JsonElement element, Segment segment)
    {
        switch (segment)
        {
            case Property p when element.ValueKind == JsonValueKind.Object && element.TryGetProperty(p.Name, out var child):
                yield return child;
                break;
            case Index ix when element.ValueKind == JsonValueKind.Array && ix.Value < element.GetArrayLength():
                yield return element[ix.Value];
                break;
            case Wildcard when element.ValueKind == JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    yield return item;
                break;
            case Wildcard when element.ValueKind == JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                    yield return property.Value;
                break;
            case Filter f when element.ValueKind == JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    if (Matches(item, f))
                        yield return item;
                break;
        }
    }

    private static bool Matches(JsonElement item, Filter filter)
    {
        var current = item;
        foreach (var name in filter.Path)
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current))
                return false;
        }
        return current.ValueKind switch
        {
            JsonValueKind.String => Platform.SafeText.GetString(current, out _) == filter.Value,
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => current.GetRawText() == filter.Value,
            _ => false,
        };
    }
}
