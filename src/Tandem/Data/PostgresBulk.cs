using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Tandem.Data;

/// <summary>
/// Writes tracked, newly added entities to PostgreSQL without EF's update pipeline: binary COPY for large sets, or
/// one batch of prepared positional INSERTs for small ones (one round trip, no SQL generation or parsing per call).
/// Columns and conversions come from the EF model, so the statements always match the mapping. Used by capture,
/// whose hot path is inserting leads, activities and stage transitions.
/// </summary>
public static class PostgresBulk
{
    private sealed record TableShape(string Sql, IReadOnlyList<IProperty> Properties, string[] Types, Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter?[] Converters, string Columns, string Target);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IEntityType, TableShape> Shapes = new();

    private static TableShape Shape(IEntityType entityType) => Shapes.GetOrAdd(entityType, type =>
    {
        var table = StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
        var properties = type.GetProperties().Where(p => p.GetColumnName(table) is not null).ToList();
        var columns = string.Join(", ", properties.Select(p => Quote(p.GetColumnName(table)!)));
        var target = type.GetSchema() is { } schema ? $"{Quote(schema)}.{Quote(table.Name)}" : Quote(table.Name);
        var values = string.Join(", ", properties.Select((_, i) => "$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return new TableShape($"INSERT INTO {target} ({columns}) VALUES ({values})", properties,
            [.. properties.Select(p => BaseType(p.GetColumnType(table)))], [.. properties.Select(p => p.GetTypeMapping().Converter)], columns, target);
    });

    /// <summary>
    /// Inserts every Added entity of the given types (in this order, for foreign keys) as one batch of prepared
    /// INSERTs and marks them Unchanged. Without an explicit transaction the batch is atomic on its own.
    /// </summary>
    public static async Task InsertAddedAsync(DbContext db, IReadOnlyList<Type> order, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch(connection) { Transaction = db.Database.CurrentTransaction?.GetDbTransaction() as NpgsqlTransaction };
            var written = new List<Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry>();
            foreach (var clrType in order)
                foreach (var entry in db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added && e.Metadata.ClrType == clrType))
                {
                    var shape = Shape(entry.Metadata);
                    var command = new NpgsqlBatchCommand(shape.Sql);
                    for (var i = 0; i < shape.Properties.Count; i++)
                    {
                        var value = entry.Property(shape.Properties[i].Name).CurrentValue;
                        if (value is not null && shape.Converters[i] is { } converter)
                            value = converter.ConvertToProvider(value);
                        command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value, DataTypeName = shape.Types[i] });
                    }
                    batch.BatchCommands.Add(command);
                    written.Add(entry);
                }
            if (batch.BatchCommands.Count == 0)
                return;
            await batch.ExecuteNonQueryAsync(ct);
            foreach (var entry in written)
                entry.State = EntityState.Unchanged;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>Copies every Added entity of the given types (in this order, for foreign keys) and marks them Unchanged.</summary>
    public static async Task CopyAddedAsync(DbContext db, IReadOnlyList<Type> order, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var clrType in order)
        {
            var entries = db.ChangeTracker.Entries().Where(e => e.State == EntityState.Added && e.Metadata.ClrType == clrType).ToList();
            if (entries.Count == 0)
                continue;
            var shape = Shape(entries[0].Metadata);
            var (properties, types, converters) = (shape.Properties, shape.Types, shape.Converters);

            await using (var writer = await connection.BeginBinaryImportAsync($"COPY {shape.Target} ({shape.Columns}) FROM STDIN (FORMAT BINARY)", ct))
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
