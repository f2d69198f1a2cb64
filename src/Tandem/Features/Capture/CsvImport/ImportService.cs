using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>An upload written to the imports folder, not yet an import.</summary>
public sealed record StagedFile(string Path, string FileName, long SizeBytes);

public sealed record ImportPreview(
    string Encoding,
    string Delimiter,
    IReadOnlyList<string> Headers,
    IReadOnlyList<IReadOnlyList<string>> Rows,
    IReadOnlyList<MappingSuggestion> Suggestions,
    IReadOnlyList<string> Fields,
    IReadOnlyList<string> DefaultPlaceholders,
    string? DetectedPreset = null,
    IReadOnlyList<ImportPreset>? Presets = null,
    bool HeaderOnly = false);

/// <summary>Progress of an import as the API and the UI show it. Rates and ETA come from bytes read, known before the row count is.</summary>
public sealed record ImportProgress(
    Guid Id,
    string FileName,
    long SizeBytes,
    ImportStatus Status,
    bool DryRun,
    MergePolicy Policy,
    bool CancelRequested,
    int RowsRead,
    int RowsImported,
    int RowsCreated,
    int RowsMerged,
    int RowsSkipped,
    int RowsFailed,
    double RowsPerSecond,
    double Percent,
    double? EtaSeconds,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string CreatedBy,
    string? Error,
    string ErrorReport,
    int RowsWithWarnings = 0,
    IReadOnlyList<ImportWarningSummary>? Warnings = null)
{
    public static ImportProgress From(ImportJob j)
    {
        var done = j.Status is ImportStatus.Completed;
        var percent = done ? 100 : j.SizeBytes == 0 ? 0 : Math.Min(99.9, 100.0 * j.BytesRead / j.SizeBytes);
        var rate = j.RunSeconds > 0 ? j.RowsRead / j.RunSeconds : 0;
        double? eta = j.Status is ImportStatus.Running && j.BytesRead > 0 && j.RunSeconds > 0
            ? j.RunSeconds * (j.SizeBytes - j.BytesRead) / j.BytesRead
            : j.Status is ImportStatus.Pending ? null : 0;
        return new ImportProgress(j.Id, j.FileName, j.SizeBytes, j.Status, j.DryRun, j.Policy, j.CancelRequested, j.RowsRead,
            j.RowsCreated + j.RowsMerged, j.RowsCreated, j.RowsMerged, j.RowsSkipped, j.RowsFailed, Math.Round(rate, 1), Math.Round(percent, 1),
            eta is null ? null : Math.Round(eta.Value, 1), j.CreatedAt, j.StartedAt, j.FinishedAt, j.CreatedBy, j.Error,
            $"/api/v1/imports/{j.Id}/errors.csv", j.RowsWithWarnings, ImportWarnings.Parse(j.Warnings).Entries);
    }
}

/// <summary>Raised when an upload goes over <see cref="ImportOptions.MaxBytes"/>.</summary>
public sealed class ImportTooLargeException(long limit) : Exception($"The file is larger than the limit of {limit} bytes.")
{
    public long Limit { get; } = limit;
}

/// <summary>
/// Use cases of CSV import: stage an upload on disk (streamed, size-capped), preview it, create an import job
/// (validated against the file's headers), list, follow, cancel, and write the error report.
/// </summary>
public sealed class ImportService(TandemDb db, CaptureCatalog catalog, IOptions<ImportOptions> options, ImportSignal signal, TimeProvider clock)
{
    public const int PreviewRows = 20;
    public const int PreviewBytes = 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerOptions.Web)
    {
        Converters = { new Platform.StrictEnumConverter() },
    };

    public ImportOptions Options => options.Value;

    public static string SerializeSettings(ImportSettings settings) => JsonSerializer.Serialize(settings, Json);

    public static ImportSettings? DeserializeSettings(string json) => JsonSerializer.Deserialize<ImportSettings>(json, Json);

    public string FolderPath => Path.GetFullPath(options.Value.Folder);

    /// <summary>Copies <paramref name="content"/> to a new file of the imports folder, stopping with <see cref="ImportTooLargeException"/> past the limit.</summary>
    public async Task<StagedFile> StageAsync(Stream content, string? fileName, CancellationToken ct)
    {
        var limit = options.Value.MaxBytes;
        Directory.CreateDirectory(FolderPath);
        var path = Path.Combine(FolderPath, $"{Ids.New():N}.csv");
        long total = 0;
        try
        {
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await content.ReadAsync(buffer, ct)) > 0)
                {
                    total += read;
                    if (total > limit)
                        throw new ImportTooLargeException(limit);
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
            }
            return new StagedFile(path, CleanFileName(fileName), total);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    public static string CleanFileName(string? name)
    {
        var n = Path.GetFileName(name ?? "").Trim();
        return n.Length == 0 ? "upload.csv" : n.Length > 255 ? n[..255] : n;
    }

    /// <summary>True when the sample looks like text (no NUL bytes outside UTF-16): pictures, PDFs and spreadsheets are not CSV.</summary>
    public static bool LooksLikeText(ReadOnlySpan<byte> sample) =>
        sample.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || sample.IndexOf((byte)0) < 0;

    /// <summary>Previews the start of a file: detected format, headers, first rows and suggested mapping.</summary>
    public async Task<ImportPreview> PreviewAsync(byte[] sample, int length, bool whole, ImportSettings? settings, CancellationToken ct)
    {
        var detected = CsvSniffer.Detect(sample.AsSpan(0, Math.Min(length, CsvSniffer.SampleBytes)));
        var encoding = CsvSniffer.ParseEncoding(settings?.Encoding) ?? detected.EncodingName;
        var delimiter = CsvSniffer.ParseDelimiter(settings?.Delimiter) ?? detected.Delimiter;
        using var reader = new CsvRecordReader(new MemoryStream(sample, 0, length, writable: false), encoding, delimiter);
        var headers = reader.Read() ? CsvSniffer.NameHeaders(reader.Record) : [];
        var rows = new List<IReadOnlyList<string>>();
        while (rows.Count < PreviewRows + 1 && reader.Read())
            rows.Add(reader.Record);
        // The last record of a cut sample may be cut too.
        if (!whole && rows.Count > 0)
            rows.RemoveAt(rows.Count - 1);
        if (rows.Count > PreviewRows)
            rows.RemoveRange(PreviewRows, rows.Count - PreviewRows);
        var customKeys = await CustomKeysAsync(ct);
        var preset = settings?.Preset is { } chosen ? ImportPresets.Find(chosen) : ImportPresets.Detect(headers);
        return new ImportPreview(encoding, CsvSniffer.DelimiterName(delimiter), headers, rows, ImportMapping.Suggest(headers, customKeys, preset),
            [.. ImportMapping.Fields, .. customKeys.Select(k => ImportMapping.CustomPrefix + k)], ImportMapping.DefaultPlaceholders,
            preset?.Id, ImportPresets.All, headers.Length > 0 && rows.Count == 0 && whole);
    }

    public async Task<IReadOnlySet<string>> CustomKeysAsync(CancellationToken ct) =>
        (await catalog.GetAsync(ct)).CustomFields.Keys.ToHashSet(StringComparer.Ordinal);

    /// <summary>Previews a staged file (the UI uploads once, then previews, dry-runs and imports the same file).</summary>
    public async Task<ImportPreview> PreviewAsync(StagedFile file, ImportSettings? settings, CancellationToken ct)
    {
        var sample = new byte[PreviewBytes];
        int length;
        await using (var stream = File.OpenRead(file.Path))
            length = await stream.ReadAtLeastAsync(sample, sample.Length, throwOnEndOfStream: false, ct);
        return await PreviewAsync(sample, length, length < PreviewBytes, settings, ct);
    }

    /// <summary>
    /// Checks the settings against the staged file and creates a pending job. Returns the field errors instead
    /// when the settings do not fit the file (the caller then deletes the file).
    /// </summary>
    public async Task<(ImportJob? Job, Dictionary<string, string[]>? Errors)> CreateAsync(StagedFile file, ImportSettings settings, Guid? userId, string actor, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var sample = new byte[CsvSniffer.SampleBytes];
        int length;
        await using (var stream = File.OpenRead(file.Path))
            length = await stream.ReadAtLeastAsync(sample, sample.Length, throwOnEndOfStream: false, ct);
        if (length == 0)
            errors.Add("file", "The file is empty.");
        var detected = CsvSniffer.Detect(sample.AsSpan(0, length));
        var encoding = detected.EncodingName;
        if (settings.Encoding is not null)
        {
            if (CsvSniffer.ParseEncoding(settings.Encoding) is { } e)
                encoding = e;
            else
                errors.Add("encoding", "Expected utf-8, windows-1252 or utf-16.");
        }
        var delimiter = detected.Delimiter;
        if (settings.Delimiter is not null)
        {
            if (CsvSniffer.ParseDelimiter(settings.Delimiter) is { } d)
                delimiter = d;
            else
                errors.Add("delimiter", "Expected one of , ; | or tab.");
        }
        if (errors.Any)
            return (null, errors.ToDictionary());

        string[] headers;
        var hasRows = false;
        await using (var stream = File.OpenRead(file.Path))
        using (var reader = new CsvRecordReader(stream, encoding, delimiter))
        {
            headers = reader.Read() ? CsvSniffer.NameHeaders(reader.Record) : [];
            while (!hasRows && reader.Read())
                hasRows = reader.Record.Any(v => !string.IsNullOrWhiteSpace(v));
        }
        if (length > 0 && !hasRows)
        {
            var message = headers.Length == 0
                ? "The file has no header row."
                : $"The file has a header row ({headers.Length} columns) but no data rows: there is nothing to import.";
            return (null, new Dictionary<string, string[]> { ["file"] = [message] });
        }
        var customKeys = await CustomKeysAsync(ct);
        var plan = ImportMapping.Plan(headers, settings, customKeys, errors);
        if (plan is null)
            return (null, errors.ToDictionary());

        // The job keeps the resolved mapping so a later change of suggestions never changes a queued import.
        var resolved = settings with
        {
            Mapping = plan.Columns.ToDictionary(c => c.Column, c => (string?)c.Field, StringComparer.Ordinal),
            ExternalSystem = plan.ExternalSystem,
            Placeholders = [.. plan.Placeholders],
            StageValues = plan.StageValues.ToDictionary(v => v.Key, v => v.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            WorkStatusValues = plan.WorkStatusValues?.ToDictionary(v => v.Key, v => v.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            PhoneRegion = plan.PhoneRegion,
            Preset = plan.Preset ?? "none",
            Policy = plan.Policy,
            Encoding = encoding,
            Delimiter = delimiter.ToString(),
        };
        var job = new ImportJob
        {
            FileName = file.FileName,
            FilePath = file.Path,
            SizeBytes = file.SizeBytes,
            Encoding = encoding,
            Delimiter = delimiter.ToString(),
            Settings = SerializeSettings(resolved),
            Policy = plan.Policy,
            DryRun = settings.DryRun ?? false,
            Status = ImportStatus.Pending,
            CreatedByUserId = userId,
            CreatedBy = actor.Length > 256 ? actor[..256] : actor,
            CreatedAt = clock.GetUtcNow(),
        };
        db.Set<ImportJob>().Add(job);
        await db.SaveChangesAsync(ct);
        signal.Wake();
        return (job, null);
    }

    public async Task<ImportProgress?> GetAsync(Guid id, CancellationToken ct) =>
        await db.Set<ImportJob>().AsNoTracking().Where(j => j.Id == id).FirstOrDefaultAsync(ct) is { } job ? ImportProgress.From(job) : null;

    public async Task<Page<ImportProgress>> ListAsync(PageQuery page, CancellationToken ct)
    {
        var q = db.Set<ImportJob>().AsNoTracking();
        var total = await q.CountAsync(ct);
        var jobs = await q.OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id).Skip(page.Skip).Take(page.Size).ToListAsync(ct);
        return new Page<ImportProgress>([.. jobs.Select(ImportProgress.From)], page.PageNumber, page.Size, total);
    }

    /// <summary>A pending job is cancelled at once; a running one at its next batch. Null when there is no such job.</summary>
    public async Task<ImportProgress?> CancelAsync(Guid id, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await db.Set<ImportJob>().Where(j => j.Id == id && j.Status == ImportStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.Status, ImportStatus.Cancelled).SetProperty(j => j.CancelRequested, true).SetProperty(j => j.FinishedAt, now), ct);
        await db.Set<ImportJob>().Where(j => j.Id == id && j.Status == ImportStatus.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.CancelRequested, true), ct);
        return await GetAsync(id, ct);
    }

    /// <summary>Writes the error report: row, column, field, value, message — values neutralised against spreadsheet formulas.</summary>
    public async Task WriteErrorReportAsync(Guid id, Stream output, CancellationToken ct)
    {
        await using var writer = new StreamWriter(output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true), 1 << 16, leaveOpen: true);
        await writer.WriteAsync(CsvSafe.Line(["row", "column", "field", "value", "message", "severity"]));
        var rows = db.Set<ImportRowError>().AsNoTracking().Where(e => e.ImportJobId == id).OrderBy(e => e.Row).ThenBy(e => e.Id).AsAsyncEnumerable();
        await foreach (var e in rows.WithCancellation(ct))
            await writer.WriteAsync(CsvSafe.Line([e.Row.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Column, e.Field, e.Value, e.Message,
                e.IsWarning ? "warning" : "error"]));
        await writer.FlushAsync(ct);
    }
}

/// <summary>Wakes the import worker of this instance when a job is queued here (other instances find it by polling).</summary>
public sealed class ImportSignal : Platform.WakeSignal;
