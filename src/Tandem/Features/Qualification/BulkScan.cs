using System.Globalization;
using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

/// <summary>A lead as the bulk jobs read it: the scorer's facts plus what they compare against.</summary>
internal sealed record LeadRow(Guid Id, string? Email, string? FirstName, string? LastName, string? JobTitle, string? Company, int? CompanySize,
    string? Industry, string? Country, string? City, string? Language, string? CustomFields, DateTimeOffset CreatedAt, LifecycleStage Stage,
    DateTimeOffset StageChangedAt, int FitScore, int EngagementScore, Grade? Grade, Guid? PersonaId, int? PersonaMatch, int? ScoredVersion, long Position = 0)
{
    public LeadFacts Facts => new(Id, Email, JobTitle, Company, CompanySize, Industry, Country, City, Language, CreatedAt,
        ScoringFacts.ParseCustomFields(CustomFields));

    public string DisplayName => string.Join(' ', new[] { FirstName, LastName }.Where(s => !string.IsNullOrEmpty(s))) is { Length: > 0 } n
        ? n : Email ?? Id.ToString();

    public const string Columns = """
        "Id", "Email", "FirstName", "LastName", "JobTitle", "Company", "CompanySize", "Industry", "Country", "City", "Language",
        "CustomFields", "CreatedAt", "Stage", "StageChangedAt", "FitScore", "EngagementScore", "Grade", "PersonaId", "PersonaMatch", "ScoredVersion"
        """;

    /// <summary>Where the row is stored (PostgreSQL: block number × 65,536 + line pointer), for writes that keep updates HOT.</summary>
    public int Slot => (int)(Position & 0xFFFF);

    public long Page => Position >> 16;

    public static readonly Dictionary<string, LifecycleStage> Stages = Enum.GetValues<LifecycleStage>().ToDictionary(s => s.ToString(), StringComparer.Ordinal);
    public static readonly Dictionary<string, Grade> Grades = Enum.GetValues<Grade>().ToDictionary(g => g.ToString(), StringComparer.Ordinal);
}

/// <summary>
/// The leads a bulk job covers, as a SQL predicate on <c>"Leads"</c> built from constants and formatted values only (COPY takes
/// no parameters), and the same predicate for LINQ.
/// </summary>
internal sealed record LeadScope(string? Sql, System.Linq.Expressions.Expression<Func<Lead, bool>>? Linq)
{
    public static readonly LeadScope All = new(null, null);

    public static LeadScope WithEngagement() => new("\"EngagementScore\" <> 0", l => l.EngagementScore != 0);

    public static LeadScope CreatedSince(DateTimeOffset from) =>
        new(string.Create(CultureInfo.InvariantCulture, $"\"CreatedAt\" >= '{from.UtcDateTime:yyyy-MM-dd HH:mm:ss.ffffff}+00'::timestamptz"), l => l.CreatedAt >= from);
}

/// <summary>
/// Whole-table reads for the rescore, decay and backtest jobs on PostgreSQL. Reading activities lead range by lead range made
/// PostgreSQL visit the activity heap at random (a million leads' ten million activities took over a minute on two cores);
/// one binary COPY in heap order reads them sequentially, and the leads stream the same way while the jobs score and write.
/// </summary>
internal static class BulkScan
{
    /// <summary>Rows in scope, for progress.</summary>
    public static async Task<long> CountAsync(NpgsqlConnection connection, LeadScope scope, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT count(*) FROM \"Leads\"" + Where(scope), connection);
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    private static string Where(LeadScope scope) => scope.Sql is null ? "" : " WHERE " + scope.Sql;

    /// <summary>
    /// Streams the leads in heap order in chunks, with where each is stored. One statement, one snapshot: every lead is seen
    /// exactly once. Jobs write only after the stream ends (a long-running read would keep every old row version alive and
    /// make the writes' updates non-HOT, several times slower).
    /// </summary>
    public static async Task StreamLeadsAsync(NpgsqlConnection connection, LeadScope scope, int chunkSize, ChannelWriter<List<LeadRow>> output,
        CancellationToken ct)
    {
        await using var export = await connection.BeginBinaryExportAsync(
            $"COPY (SELECT {LeadRow.Columns}, ctid FROM \"Leads\"{Where(scope)}) TO STDOUT (FORMAT BINARY)", ct);
        var chunk = new List<LeadRow>(chunkSize);
        while (await export.StartRowAsync(ct) != -1)
        {
            var id = export.Read<Guid>(NpgsqlDbType.Uuid);
            string? email = Text(export), first = Text(export), last = Text(export), title = Text(export), company = Text(export);
            var size = Int(export);
            string? industry = Text(export), country = Text(export), city = Text(export), language = Text(export), custom = Text(export);
            var created = Time(export);
            var stage = LeadRow.Stages.GetValueOrDefault(Text(export) ?? "", LifecycleStage.Lead);
            var stageChanged = Time(export);
            var fit = export.Read<int>(NpgsqlDbType.Integer);
            var engagement = export.Read<int>(NpgsqlDbType.Integer);
            var grade = Text(export) is { } g && LeadRow.Grades.TryGetValue(g, out var parsed) ? parsed : (Grade?)null;
            Guid? persona = export.IsNull ? Skip<Guid?>(export) : export.Read<Guid>(NpgsqlDbType.Uuid);
            var match = Int(export);
            var scoredVersion = Int(export);
            var tid = export.Read<NpgsqlTid>(NpgsqlDbType.Tid);
            chunk.Add(new LeadRow(id, email, first, last, title, company, size, industry, country, city, language, custom, created, stage, stageChanged,
                fit, engagement, grade, persona, match, scoredVersion, ((long)tid.BlockNumber << 16) | tid.OffsetNumber));
            if (chunk.Count == chunkSize)
            {
                await output.WriteAsync(chunk, ct);
                chunk = new List<LeadRow>(chunkSize);
            }
        }
        if (chunk.Count > 0)
            await output.WriteAsync(chunk, ct);
    }

    /// <summary>Lead rows from a reader over <see cref="LeadRow.Columns"/>, optionally keeping only <paramref name="wanted"/> ids.</summary>
    public static async Task<List<LeadRow>> ReadRowsAsync(NpgsqlDataReader reader, HashSet<Guid>? wanted, CancellationToken ct)
    {
        var rows = new List<LeadRow>();
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        int? Int(int i) => reader.IsDBNull(i) ? null : reader.GetInt32(i);
        DateTimeOffset Time(int i) => new(reader.GetFieldValue<DateTime>(i), TimeSpan.Zero);
        while (await reader.ReadAsync(ct))
        {
            if (wanted is not null && !wanted.Contains(reader.GetGuid(0)))
                continue;
            rows.Add(new LeadRow(reader.GetGuid(0), Text(1), Text(2), Text(3), Text(4), Text(5), Int(6), Text(7), Text(8), Text(9), Text(10), Text(11),
                Time(12), LeadRow.Stages.GetValueOrDefault(reader.GetString(13), LifecycleStage.Lead), Time(14), reader.GetInt32(15), reader.GetInt32(16),
                Text(17) is { } g && LeadRow.Grades.TryGetValue(g, out var grade) ? grade : null, reader.IsDBNull(18) ? null : reader.GetGuid(18), Int(19),
                Int(20)));
        }
        return rows;
    }

    private static T? Skip<T>(NpgsqlBinaryExporter export)
    {
        export.Skip();
        return default;
    }

    private static string? Text(NpgsqlBinaryExporter export) => export.IsNull ? Skip<string>(export) : export.Read<string>(NpgsqlDbType.Text);

    private static int? Int(NpgsqlBinaryExporter export) => export.IsNull ? Skip<int?>(export) : export.Read<int>(NpgsqlDbType.Integer);

    private static DateTimeOffset Time(NpgsqlBinaryExporter export) => new(export.Read<DateTime>(NpgsqlDbType.TimestampTz), TimeSpan.Zero);
}

/// <summary>
/// Every activity of the leads in scope, read once in heap order and kept in compact columns (about 21 bytes an activity; URLs
/// and campaigns interned) with an index grouping them by lead. Ten million activities take about 250 MB.
/// </summary>
internal sealed class ActivitySnapshot
{
    private static readonly ActivityType[] Types = Enum.GetValues<ActivityType>();

    private readonly Dictionary<Guid, int> _leadIndex;
    private readonly int[] _start;
    private readonly int[] _order;
    private readonly Column<long> _ticks;
    private readonly Column<byte> _type;
    private readonly Column<int> _campaign;
    private readonly Column<int> _url;
    private readonly Guid[] _campaigns;
    private readonly string?[] _urls;

    private ActivitySnapshot(Dictionary<Guid, int> leadIndex, int[] start, int[] order, Column<long> ticks, Column<byte> type, Column<int> campaign,
        Column<int> url, Guid[] campaigns, string?[] urls)
    {
        (_leadIndex, _start, _order, _ticks, _type, _campaign, _url, _campaigns, _urls) = (leadIndex, start, order, ticks, type, campaign, url, campaigns, urls);
    }

    public int Count => _order.Length;

    /// <summary>The lead's activities, oldest first (thread-safe: the snapshot is read-only once built).</summary>
    public IReadOnlyList<ActivityFacts> For(Guid leadId)
    {
        if (!_leadIndex.TryGetValue(leadId, out var lead))
            return [];
        var from = _start[lead];
        var result = new ActivityFacts[_start[lead + 1] - from];
        for (var i = 0; i < result.Length; i++)
        {
            var p = _order[from + i];
            var campaign = _campaign[p];
            result[i] = new ActivityFacts(Types[_type[p]], new DateTimeOffset(_ticks[p], TimeSpan.Zero), campaign == 0 ? null : _campaigns[campaign - 1],
                _urls[_url[p]]);
        }
        Array.Sort(result, static (x, y) => x.OccurredAt.CompareTo(y.OccurredAt));
        return result;
    }

    /// <param name="withUrls">False when no rule looks at URLs: the column is then not read at all.</param>
    public static async Task<ActivitySnapshot> ReadAsync(NpgsqlConnection connection, LeadScope scope, bool withUrls, CancellationToken ct)
    {
        // The type is sent as its position in the enum, so no string is made per row; unknown types come back NULL and are skipped.
        if (scope.Sql is not null)
        {
            // The semi-join hashes the leads in scope: in memory, not in temporary files.
            await using var memory = new NpgsqlCommand("SET work_mem = '256MB'", connection);
            await memory.ExecuteNonQueryAsync(ct);
        }
        var typeList = string.Join(", ", Types.Select(t => $"'{t}'"));
        var sql = $"""
            COPY (SELECT a."LeadId", array_position(ARRAY[{typeList}]::text[], a."Type"::text), a."OccurredAt", a."CampaignId", {(withUrls ? "a.\"Url\"" : "NULL::text")}
                  FROM "Activities" a{(scope.Sql is null ? "" : $" WHERE a.\"LeadId\" IN (SELECT \"Id\" FROM \"Leads\" WHERE {scope.Sql})")})
            TO STDOUT (FORMAT BINARY)
            """;
        var leadIndex = new Dictionary<Guid, int>();
        var campaignIndex = new Dictionary<Guid, int>();
        var urlIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        var urls = new List<string?> { null };
        var leadOf = new Column<int>();
        var ticks = new Column<long>();
        var type = new Column<byte>();
        var campaign = new Column<int>();
        var url = new Column<int>();
        await using (var export = await connection.BeginBinaryExportAsync(sql, ct))
        {
            while (await export.StartRowAsync(ct) != -1)
            {
                var leadId = export.Read<Guid>(NpgsqlDbType.Uuid);
                if (export.IsNull)
                {
                    export.Skip();
                    export.Skip();
                    export.Skip();
                    export.Skip();
                    continue;
                }
                var position = export.Read<int>(NpgsqlDbType.Integer);
                var at = export.Read<DateTime>(NpgsqlDbType.TimestampTz).Ticks;
                var campaignRef = 0;
                if (export.IsNull)
                    export.Skip();
                else
                {
                    var id = export.Read<Guid>(NpgsqlDbType.Uuid);
                    if (!campaignIndex.TryGetValue(id, out campaignRef))
                        campaignIndex[id] = campaignRef = campaignIndex.Count + 1;
                }
                var urlRef = 0;
                if (export.IsNull)
                    export.Skip();
                else
                {
                    var text = export.Read<string>(NpgsqlDbType.Text);
                    if (!urlIndex.TryGetValue(text, out urlRef))
                    {
                        urlIndex[text] = urlRef = urls.Count;
                        urls.Add(text);
                    }
                }
                if (!leadIndex.TryGetValue(leadId, out var lead))
                    leadIndex[leadId] = lead = leadIndex.Count;
                leadOf.Add(lead);
                ticks.Add(at);
                type.Add((byte)(position - 1));
                campaign.Add(campaignRef);
                url.Add(urlRef);
            }
        }
        // Counting sort by lead: _order lists activity positions lead after lead.
        var start = new int[leadIndex.Count + 1];
        for (var i = 0; i < leadOf.Count; i++)
            start[leadOf[i] + 1]++;
        for (var l = 0; l < leadIndex.Count; l++)
            start[l + 1] += start[l];
        var next = (int[])start.Clone();
        var order = new int[leadOf.Count];
        for (var i = 0; i < leadOf.Count; i++)
            order[next[leadOf[i]]++] = i;
        var campaigns = new Guid[campaignIndex.Count];
        foreach (var (id, index) in campaignIndex)
            campaigns[index - 1] = id;
        return new ActivitySnapshot(leadIndex, start, order, ticks, type, campaign, url, campaigns, [.. urls]);
    }

    /// <summary>A growable column in fixed segments: no doubling copies of hundreds of megabytes.</summary>
    private sealed class Column<T>
    {
        private const int Bits = 18;
        private const int Mask = (1 << Bits) - 1;
        private readonly List<T[]> _segments = [];

        public int Count { get; private set; }

        public T this[int i] => _segments[i >> Bits][i & Mask];

        public void Add(T value)
        {
            if ((Count & Mask) == 0 && Count >> Bits == _segments.Count)
                _segments.Add(new T[1 << Bits]);
            _segments[Count >> Bits][Count & Mask] = value;
            Count++;
        }
    }
}
