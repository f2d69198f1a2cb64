using System.Globalization;
using System.Text;

namespace Tandem.Features.Qualification.Scoring;

/// <summary>
/// Folds text for case- and accent-insensitive whole-word matching: lower case, no diacritics, every run of
/// non-alphanumeric characters becomes one space, with a space at both ends so that a phrase " daf " found in
/// " daf adjoint " is a whole-word match and " cfo " is not found in " cfoo ".
/// </summary>
public static class TextFold
{
    /// <summary>The padded folded form (" directrice financiere "), or null when nothing alphanumeric is left.</summary>
    public static string? Padded(string? text)
    {
        if (string.IsNullOrEmpty(text))
            return null;
        var ascii = true;
        foreach (var c in text)
        {
            if (c > 127)
            {
                ascii = false;
                break;
            }
        }
        var source = ascii ? text : Decompose(text);
        var sb = new StringBuilder(source.Length + 2);
        sb.Append(' ');
        var pendingSpace = false;
        var any = false;
        foreach (var c in source)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                if (pendingSpace && any)
                    sb.Append(' ');
                pendingSpace = false;
                sb.Append(char.ToLowerInvariant(c));
                any = true;
            }
            else if (c > 127 && char.IsLetterOrDigit(c))
            {
                if (pendingSpace && any)
                    sb.Append(' ');
                pendingSpace = false;
                sb.Append(char.ToLowerInvariant(c));
                any = true;
            }
            else if (c > 127 && CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.NonSpacingMark)
            {
                // A diacritic left by the decomposition: dropped so that "é" folds to "e".
            }
            else
            {
                pendingSpace = true;
            }
        }
        if (!any)
            return null;
        sb.Append(' ');
        return sb.ToString();
    }

    /// <summary>The folded form without the padding ("directrice financiere"), or "" when nothing is left.</summary>
    public static string Bare(string? text) => Padded(text) is { } padded ? padded[1..^1] : "";

    private static string Decompose(string text)
    {
        var decomposed = text.Normalize(NormalizationForm.FormD);
        // Ligatures and letters that have no decomposition but an obvious ASCII spelling.
        if (decomposed.AsSpan().IndexOfAny("œŒæÆßøØłŁđĐ") < 0)
            return decomposed;
        return decomposed.Replace("œ", "oe", StringComparison.Ordinal).Replace("Œ", "OE", StringComparison.Ordinal)
            .Replace("æ", "ae", StringComparison.Ordinal).Replace("Æ", "AE", StringComparison.Ordinal)
            .Replace("ß", "ss", StringComparison.Ordinal).Replace("ø", "o", StringComparison.Ordinal).Replace("Ø", "O", StringComparison.Ordinal)
            .Replace("ł", "l", StringComparison.Ordinal).Replace("Ł", "L", StringComparison.Ordinal)
            .Replace("đ", "d", StringComparison.Ordinal).Replace("Đ", "D", StringComparison.Ordinal);
    }
}
