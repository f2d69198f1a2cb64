using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Npgsql;

namespace Tandem.Data;

/// <summary>
/// Inserts tracked, newly added entities with PostgreSQL binary COPY instead of INSERT statements, inside the
/// context's current transaction. Columns and conversions come from the EF model, so the COPY always matches the
/// mapping. Used for bulk capture (API batches, CSV imports), where COPY is an order of magnitude faster.
/// </summary>
public static class PostgresBulk
{
    /// <summary>Copies every Added entity of the given types (in this order, for foreign keys) and marks them Unchanged.</summary>
    public static async Task CopyAddedAsync(DbContext db, IReadOnlyList<Type> order, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var clrType in order)
        {
            var entries = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added && e.Metadata.ClrType == clrType).ToList();
            if (entries.Count == 0)
                continue;
            var entityType = entries[0].Metadata;
            var table = StoreObjectIdentifier.Table(entityType.GetTableName()!, entityType.GetSchema());
            var properties = entityType.GetProperties().Where(p => p.GetColumnName(table) is not null).ToList();
            var columns = string.Join(", ", properties.Select(p => Quote(p.GetColumnName(table)!)));
            var target = entityType.GetSchema() is { } schema ? $"{Quote(schema)}.{Quote(table.Name)}" : Quote(table.Name);
            var types = properties.Select(p => BaseType(p.GetColumnType(table))).ToArray();
            var converters = properties.Select(p => p.GetTypeMapping().Converter).ToArray();

            await using (var writer = await connection.BeginBinaryImportAsync($"COPY {target} ({columns}) FROM STDIN (FORMAT BINARY)", ct))
            {
                foreach (var entry in entries)
                {
                    await writer.StartRowAsync(ct);
                    for (var i = 0; i < properties.Count; i++)
                    {
                        var value = entry.Property(properties[i].Name).CurrentValue;
                        if (value is not null && converters[i] is { } converter)
                            value = converter.ConvertToProvider(value);
                        if (value is null)
                            await writer.WriteNullAsync(ct);
                        else
                            await writer.WriteAsync(value, types[i], ct);
                    }
                }
                await writer.CompleteAsync(ct);
            }
            foreach (var entry in entries)
                entry.State = EntityState.Unchanged;
        }
    }

    /// <summary>"character varying(254)" → "character varying"; "numeric(18,2)" → "numeric".</summary>
    private static string BaseType(string columnType)
    {
        var paren = columnType.IndexOf('(', StringComparison.Ordinal);
        return paren < 0 ? columnType : columnType[..paren] + columnType[(columnType.IndexOf(')', StringComparison.Ordinal) + 1)..];
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
