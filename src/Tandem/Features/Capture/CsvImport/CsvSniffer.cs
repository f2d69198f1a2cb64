using System.Text;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>What the sniffer found at the start of a file.</summary>
public sealed record CsvFormat(string EncodingName, int BomLength, char Delimiter)
{
    public Encoding Encoding => CsvSniffer.EncodingFor(EncodingName);
    public string DelimiterName => CsvSniffer.DelimiterName(Delimiter);
}

/// <summary>
/// Detects how a CSV file is written from a sample of its first bytes: the encoding (UTF-8 with or without BOM,
/// UTF-16 with BOM, otherwise Windows-1252 — what Excel writes on French and English Windows) and the delimiter.
/// Pure functions: no I/O.
/// </summary>
public static class CsvSniffer
{
    public const string Utf8 = "utf-8";
    public const string Windows1252 = "windows-1252";
    public const string Utf16 = "utf-16";
    public const int SampleBytes = 64 * 1024;

    public static readonly IReadOnlyList<char> Delimiters = [',', ';', '\t', '|'];

    static CsvSniffer() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    public static Encoding EncodingFor(string name) => name switch
    {
        Utf8 => new UTF8Encoding(false),
        Utf16 => Encoding.Unicode,
        _ => Encoding.GetEncoding(1252),
    };

    public static string DelimiterName(char delimiter) => delimiter switch
    {
        '\t' => "tab",
        _ => delimiter.ToString(),
    };

    /// <summary>Parses "," ";" "tab" "\t" "|" (as given in import options); null when not a supported delimiter.</summary>
    public static char? ParseDelimiter(string? value) => value switch
    {
        "," => ',',
        ";" => ';',
        "|" => '|',
        "\t" or "tab" or "TAB" or "\\t" => '\t',
        _ => null,
    };

    /// <summary>Parses an encoding name given in import options; null when not supported.</summary>
    public static string? ParseEncoding(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "utf-8" or "utf8" => Utf8,
        "windows-1252" or "cp1252" or "latin1" or "iso-8859-1" or "ansi" => Windows1252,
        "utf-16" or "utf16" or "unicode" => Utf16,
        _ => null,
    };

    public static CsvFormat Detect(ReadOnlySpan<byte> sample)
    {
        var (encoding, bom) = DetectEncoding(sample);
        var text = EncodingFor(encoding).GetString(sample[bom..]);
        return new CsvFormat(encoding, bom, DetectDelimiter(text));
    }

    /// <summary>
    /// A BOM decides; otherwise the sample is UTF-8 when it decodes as UTF-8 (a sequence cut at the end of the
    /// sample is fine), and Windows-1252 as soon as one byte sequence is invalid UTF-8.
    /// </summary>
    public static (string Encoding, int BomLength) DetectEncoding(ReadOnlySpan<byte> sample)
    {
        if (sample.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
            return (Utf8, 3);
        if (sample.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]))
            return (Utf16, 2);
        var decoder = new UTF8Encoding(false, throwOnInvalidBytes: true).GetDecoder();
        try
        {
            decoder.GetCharCount(sample, flush: false);
            return (Utf8, 0);
        }
        catch (DecoderFallbackException)
        {
            return (Windows1252, 0);
        }
    }

    /// <summary>
    /// The candidate that splits the first lines (quotes respected) into the same number of fields as the
    /// header most often; ties go to the one giving more columns, then to the order , ; tab |.
    /// </summary>
    public static char DetectDelimiter(string sample, int maxLines = 50)
    {
        var lines = CountPerLine(sample, maxLines);
        if (lines.Count == 0)
            return ',';
        var best = ',';
        var bestScore = (-1, -1);
        for (var d = 0; d < Delimiters.Count; d++)
        {
            var header = lines[0][d];
            if (header == 0)
                continue;
            var consistent = lines.Count(l => l[d] == header);
            var score = (consistent, header);
            if (score.CompareTo(bestScore) > 0)
            {
                bestScore = score;
                best = Delimiters[d];
            }
        }
        return best;
    }

    /// <summary>Occurrences of each candidate delimiter outside quotes, per record (a quoted line break stays inside its record).</summary>
    private static List<int[]> CountPerLine(string sample, int maxLines)
    {
        var result = new List<int[]>();
        var counts = new int[Delimiters.Count];
        var inQuotes = false;
        var lineHasContent = false;
        for (var i = 0; i < sample.Length && result.Count < maxLines; i++)
        {
            var c = sample[i];
            if (c == '"')
            {
                inQuotes = !inQuotes;
                lineHasContent = true;
                continue;
            }
            if (inQuotes)
                continue;
            if (c is '\n' or '\r')
            {
                if (lineHasContent)
                    result.Add(counts);
                counts = new int[Delimiters.Count];
                lineHasContent = false;
                continue;
            }
            lineHasContent = true;
            var d = Delimiters.IndexOf(c);
            if (d >= 0)
                counts[d]++;
        }
        // The last line of a sample may be cut: only count it when the sample is the whole file (no line yet).
        if (lineHasContent && result.Count == 0)
            result.Add(counts);
        return result;
    }

    private static int IndexOf(this IReadOnlyList<char> list, char c)
    {
        for (var i = 0; i < list.Count; i++)
            if (list[i] == c)
                return i;
        return -1;
    }

    /// <summary>Names every column: blank headers become "Column N" (1-based), repeated ones get " (2)", " (3)"….</summary>
    public static string[] NameHeaders(IReadOnlyList<string?> raw)
    {
        var names = new string[raw.Count];
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < raw.Count; i++)
        {
            var name = raw[i]?.Trim().Trim('\uFEFF') is { Length: > 0 } n ? n : $"Column {i + 1}";
            var unique = name;
            for (var k = 2; !seen.Add(unique); k++)
                unique = $"{name} ({k})";
            names[i] = unique;
        }
        return names;
    }
}
