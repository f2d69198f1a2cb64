using CsvHelper;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Streams the records of a CSV file (RFC 4180: quoted fields may hold delimiters, quotes and line breaks; CRLF or
/// LF). Never holds more than one record and CsvHelper's buffer. Records of any width are returned as they are:
/// the caller decides what a wrong width means.
/// </summary>
public sealed class CsvRecordReader : IDisposable
{
    private readonly CsvReader _reader;
    private string[]? _record;

    public CsvRecordReader(Stream stream, string encodingName, char delimiter)
    {
        SkipBom(stream, encodingName);
        _reader = CsvReader.Create(stream, CsvReaderOptions.Default with
        {
            Separator = delimiter,
            HasHeader = false,
            Encoding = CsvSniffer.EncodingFor(encodingName),
            SkipEmptyLines = true,
            DetectSeparatorHint = false,
            // Imports repeat the same values (countries, stages, companies) a million times: share the strings.
            PoolStrings = true,
            // One unclosed quote must not make the reader buffer the rest of a 1 GB file.
            MaxRecordSize = 4 * 1024 * 1024,
        }, leaveOpen: true);
    }

    /// <summary>Records read so far, the header included (so it is the spreadsheet row number of <see cref="Record"/>).</summary>
    public int RecordNumber { get; private set; }

    public string[] Record
    {
        get
        {
            if (_record is null)
            {
                var fields = new string[_reader.FieldCount];
                for (var i = 0; i < fields.Length; i++)
                    fields[i] = _reader.GetString(i);
                _record = fields;
            }
            return _record;
        }
    }

    public bool Read()
    {
        _record = null;
        if (!_reader.Read())
            return false;
        RecordNumber++;
        return true;
    }

    private static void SkipBom(Stream stream, string encodingName)
    {
        ReadOnlySpan<byte> bom = encodingName switch
        {
            CsvSniffer.Utf8 => [0xEF, 0xBB, 0xBF],
            _ => [],
        };
        if (bom.IsEmpty || !stream.CanSeek)
            return;
        var start = stream.Position;
        Span<byte> head = stackalloc byte[3];
        var read = stream.ReadAtLeast(head, bom.Length, throwOnEndOfStream: false);
        stream.Position = read >= bom.Length && head[..bom.Length].SequenceEqual(bom) ? start + bom.Length : start;
    }

    public void Dispose() => _reader.Dispose();
}
