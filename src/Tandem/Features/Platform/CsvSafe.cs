using System.Text;

namespace Tandem.Features.Platform;

/// <summary>
/// Writing CSV that Tandem exports. Spreadsheets run cells that start with <c>= + - @</c>, tab or CR as formulas
/// (OWASP "CSV injection"), so such values get a leading apostrophe; every field is quoted when it needs to be.
/// </summary>
public static class CsvSafe
{
    /// <summary>The value with a leading <c>'</c> when a spreadsheet would read it as a formula.</summary>
    public static string Neutralise(string? value) =>
        string.IsNullOrEmpty(value) ? "" : value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;

    /// <summary>One field, neutralised and quoted (RFC 4180) when it holds a delimiter, a quote or a line break.</summary>
    public static string Field(string? value, char delimiter = ',')
    {
        var safe = Neutralise(value);
        if (safe.AsSpan().IndexOfAny([delimiter, '"', '\r', '\n']) < 0)
            return safe;
        return "\"" + safe.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    /// <summary>One record (fields joined by <paramref name="delimiter"/>, ending with CRLF).</summary>
    public static string Line(IEnumerable<string?> values, char delimiter = ',')
    {
        var sb = new StringBuilder();
        var first = true;
        foreach (var value in values)
        {
            if (!first)
                sb.Append(delimiter);
            sb.Append(Field(value, delimiter));
            first = false;
        }
        return sb.Append("\r\n").ToString();
    }

    /// <summary>Writes one record to <paramref name="writer"/>.</summary>
    public static Task WriteLineAsync(TextWriter writer, params string?[] values) => writer.WriteAsync(Line(values));
}
