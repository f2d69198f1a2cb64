using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tandem.Features.Platform;

/// <summary>
/// Text a database can store. PostgreSQL refuses a NUL character in text, and a lone UTF-16 surrogate cannot be encoded to
/// UTF-8 at all (System.Text.Json refuses to read one, Npgsql to write one). Public channels (forms, webhooks, CSV import)
/// clean such text and keep the lead; the authenticated JSON API rejects it with a field error (decision 016).
/// </summary>
public static partial class SafeText
{
    public const string Rejected = "Contains a NUL character or an unpaired surrogate (not valid Unicode text); remove it.";

    /// <summary>True when <paramref name="text"/> has no NUL and no unpaired surrogate.</summary>
    public static bool IsStorable(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
                return false;
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                    return false;
                i++;
            }
            else if (char.IsLowSurrogate(c))
                return false;
        }
        return true;
    }

    /// <summary>The text without NUL characters, each unpaired surrogate replaced by U+FFFD; the same instance when already clean.</summary>
    public static string Clean(string text)
    {
        if (IsStorable(text))
            return text;
        var sb = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
                continue;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                continue;
            }
            sb.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
        }
        return sb.ToString();
    }

    public static string? CleanOrNull(string? text) => text is null ? null : Clean(text);

    /// <summary>
    /// The string value of <paramref name="element"/>, cleaned; <paramref name="repaired"/> says whether it needed cleaning.
    /// Unlike <see cref="JsonElement.GetString"/> it does not throw on an escaped lone surrogate (<c>"\ud800x"</c>).
    /// </summary>
    public static string GetString(JsonElement element, out bool repaired)
    {
        string raw;
        try
        {
            raw = element.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // JSON escapes a lone surrogate as \uD800: turn each unpaired one into \uFFFD, then read the string again.
            var fixedJson = LoneSurrogateEscape().Replace(element.GetRawText(), m => m.Groups["pair"].Success ? m.Value : "\\uFFFD");
            using var doc = JsonDocument.Parse(fixedJson);
            raw = doc.RootElement.GetString()!;
            repaired = true;
            return Clean(raw);
        }
        repaired = !IsStorable(raw);
        return repaired ? Clean(raw) : raw;
    }

    // An escape preceded by an even number of backslashes (so not itself escaped): a valid high+low pair is kept, any other
    // surrogate escape is unpaired.
    [GeneratedRegex(@"(?<=(?:^|[^\\])(?:\\\\)*)(?:(?<pair>\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})|\\u[dD][89a-fA-F][0-9a-fA-F]{2})")]
    private static partial Regex LoneSurrogateEscape();
}
