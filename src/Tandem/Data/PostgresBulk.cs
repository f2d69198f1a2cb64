using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace Tandem.Data;

/// <summary>
/// Writes new entities to PostgreSQL without EF's change tracker or update pipeline: binary COPY for large sets, or one
/// batch of prepared positional INSERTs for small ones (one round trip, no SQL generation or parsing per call). Columns,
/// conversions and property getters come from the EF model, so the statements always match the mapping. Used by capture,
/// whose hot path is inserting leads, activities and stage transitions.
/// </summary>
public static class PostgresBulk
{
    private sealed record TableShape(string Sql, IClrPropertyGetter[] Getters, string[] Types,
        Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter?[] Converters, string Columns, string Target, ColumnWriter[] Writers);

    /// <summary>Writes one column of an entity to COPY: read, converted and written with its types known, without boxing.</summary>
    private delegate Task ColumnWriter(object entity, NpgsqlBinaryImporter writer, CancellationToken ct);

    private static readonly System.Reflection.MethodInfo WriteValue = typeof(NpgsqlBinaryImporter).GetMethods()
        .Single(m => m.Name == nameof(NpgsqlBinaryImporter.WriteAsync) && m.IsGenericMethodDefinition && m.GetParameters() is [_, { ParameterType: var t }, _] && t == typeof(string));

    private static readonly System.Reflection.MethodInfo WriteNull = typeof(NpgsqlBinaryImporter).GetMethod(nameof(NpgsqlBinaryImporter.WriteNullAsync))!;

    /// <summary>
    /// <c>(entity, writer, ct) =&gt; value is null ? writer.WriteNullAsync(ct) : writer.WriteAsync(convert(value), dataTypeName, ct)</c>, compiled
    /// from the property's member and its value converter; shadow properties fall back to EF's (boxing) getter.
    /// </summary>
    private static ColumnWriter WriterFor(IProperty property, IClrPropertyGetter getter, string dataTypeName)
    {
        var converter = property.GetTypeMapping().Converter;
        if (property.PropertyInfo is not { CanRead: true } member)
            return (entity, writer, ct) => getter.GetClrValueUsingContainingEntity(entity) is { } value
                ? writer.WriteAsync(converter is null ? value : converter.ConvertToProvider(value)!, dataTypeName, ct)
                : writer.WriteNullAsync(ct);

        var entity = Expression.Parameter(typeof(object), "entity");
        var writerParameter = Expression.Parameter(typeof(NpgsqlBinaryImporter), "writer");
        var ct = Expression.Parameter(typeof(CancellationToken), "ct");
        var read = Expression.Property(Expression.Convert(entity, member.DeclaringType!), member);
        var local = Expression.Variable(read.Type, "value");
        var underlying = Nullable.GetUnderlyingType(read.Type);
        Expression present = underlying is null ? local : Expression.Property(local, "Value");
        if (converter is not null)
        {
            var convert = converter.ConvertToProviderExpression;
            present = Expression.Invoke(convert,
                present.Type == convert.Parameters[0].Type ? present : Expression.Convert(present, convert.Parameters[0].Type));
        }
        var write = Expression.Call(writerParameter, WriteValue.MakeGenericMethod(present.Type), present,
            Expression.Constant(dataTypeName), ct);
        Expression body = underlying is not null || !read.Type.IsValueType
            ? Expression.Condition(
                Expression.Equal(local, Expression.Constant(null, read.Type)),
                Expression.Call(writerParameter, WriteNull, ct), write, typeof(Task))
            : write;
        var block = Expression.Block(typeof(Task), [local], Expression.Assign(local, read), body);
        return Expression.Lambda<ColumnWriter>(block, entity, writerParameter, ct).Compile();
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IEntityType, TableShape> Shapes = new();

    private static TableShape Shape(DbContext db, Type clrType) => Shapes.GetOrAdd(db.Model.FindEntityType(clrType)
        ?? throw new InvalidOperationException($"{clrType.Name} is not an entity of this model."), type =>
    {
        var table = StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
        var properties = type.GetProperties().Where(p => p.GetColumnName(table) is not null).ToList();
        var columns = string.Join(", ", properties.Select(p => Quote(p.GetColumnName(table)!)));
        var target = type.GetSchema() is { } schema ? $"{Quote(schema)}.{Quote(table.Name)}" : Quote(table.Name);
        var values = string.Join(", ", properties.Select((_, i) => "$" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return new TableShape($"INSERT INTO {target} ({columns}) VALUES ({values})", [.. properties.Select(p => p.GetGetter())],
            [.. properties.Select(p => BaseType(p.GetColumnType(table)))], [.. properties.Select(p => p.GetTypeMapping().Converter)], columns, target,
            [.. properties.Select(p => WriterFor(p, p.GetGetter(), BaseType(p.GetColumnType(table))))]);
    });

    private static object? Value(TableShape shape, int i, object entity)
    {
        var value = shape.Getters[i].GetClrValueUsingContainingEntity(entity);
        return value is not null && shape.Converters[i] is { } converter ? converter.ConvertToProvider(value) : value;
    }

    /// <summary>
    /// Inserts the rows (one list per table, in foreign-key order) as one batch of prepared INSERTs. Without an explicit
    /// transaction the batch is atomic on its own.
    /// </summary>
    public static Task InsertAsync(DbContext db, IReadOnlyList<System.Collections.IList> tables, CancellationToken ct) =>
        InsertAsync(db, tables, "", ct);

    private static async Task InsertAsync(DbContext db, IReadOnlyList<System.Collections.IList> tables, string suffix, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch(connection) { Transaction = db.Database.CurrentTransaction?.GetDbTransaction() as NpgsqlTransaction };
            AddInserts(db, batch, tables, suffix);
            if (batch.BatchCommands.Count > 0)
                await batch.ExecuteNonQueryAsync(ct);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static void AddInserts(DbContext db, NpgsqlBatch batch, IReadOnlyList<System.Collections.IList> tables, string suffix)
    {
        foreach (var rows in tables)
        {
            if (rows.Count == 0)
                continue;
            var shape = Shape(db, rows[0]!.GetType());
            foreach (var entity in rows)
            {
                var command = new NpgsqlBatchCommand(shape.Sql + suffix);
                for (var i = 0; i < shape.Getters.Length; i++)
                    command.Parameters.Add(new NpgsqlParameter { Value = Value(shape, i, entity!) ?? DBNull.Value, DataTypeName = shape.Types[i] });
                batch.BatchCommands.Add(command);
            }
        }
    }

    /// <summary>
    /// Saves the context's modified entities and inserts the new rows in one batch: one round trip, atomic without an explicit
    /// transaction (PostgreSQL runs a batch as one implicit transaction). Each UPDATE must change exactly one row: one whose row is
    /// gone (a lead merged away since it was read) fails the whole batch, which surfaces as a <see cref="DbUpdateConcurrencyException"/>
    /// as it would from EF. Returns false, having written nothing, when a change is not a plain update by a single-column key (a
    /// delete, an entity added to the context): the caller then saves the usual way.
    /// </summary>
    public static async Task<bool> SaveInOneBatchAsync(DbContext db, IReadOnlyList<System.Collections.IList> tables, CancellationToken ct)
    {
        var changed = db.ChangeTracker.Entries().Where(e => e.State != EntityState.Unchanged).ToList();
        if (db.Database.CurrentTransaction is not null ||
            changed.Any(e => e.State != EntityState.Modified || e.Metadata.FindPrimaryKey() is not { Properties: [_] }))
            return false;

        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = new NpgsqlBatch(connection);
            // Rows are locked in key order, the same in every writer: two batches updating the same rows wait, never deadlock.
            foreach (var entry in changed.OrderBy(e => e.Metadata.Name, StringComparer.Ordinal).ThenBy(e => e.Property(e.Metadata.FindPrimaryKey()!.Properties[0].Name).CurrentValue))
                if (UpdateOf(entry) is { } update)
                    batch.BatchCommands.Add(update);
            AddInserts(db, batch, tables, "");
            if (batch.BatchCommands.Count == 0)
                return true;
            try
            {
                await batch.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.DivisionByZero)
            {
                throw new DbUpdateConcurrencyException("A row to update was deleted or changed its key since it was read; nothing was written.", ex);
            }
            return true;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// <c>WITH u AS (UPDATE t SET "a" = $1, … WHERE "Id" = $n RETURNING 1) SELECT 1 / count(*)::int FROM u</c>: the modified columns of
    /// one entity, and a division by zero when no row matched, so the batch's implicit transaction rolls back as a whole.
    /// </summary>
    private static NpgsqlBatchCommand? UpdateOf(Microsoft.EntityFrameworkCore.ChangeTracking.EntityEntry entry)
    {
        var type = entry.Metadata;
        var table = StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
        var target = Shape(entry.Context, type.ClrType).Target;
        var command = new NpgsqlBatchCommand();
        var sets = new List<string>();
        object? Provider(Microsoft.EntityFrameworkCore.ChangeTracking.PropertyEntry property) =>
            property.CurrentValue is { } value && property.Metadata.GetTypeMapping().Converter is { } converter
                ? converter.ConvertToProvider(value) : property.CurrentValue;
        NpgsqlParameter Parameter(Microsoft.EntityFrameworkCore.ChangeTracking.PropertyEntry property) =>
            new() { Value = Provider(property) ?? DBNull.Value, DataTypeName = BaseType(property.Metadata.GetColumnType(table)) };
        foreach (var property in entry.Properties)
        {
            if (!property.IsModified || property.Metadata.GetColumnName(table) is not { } column)
                continue;
            command.Parameters.Add(Parameter(property));
            sets.Add($"{Quote(column)} = ${command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }
        if (sets.Count == 0)
            return null;
        var key = entry.Property(type.FindPrimaryKey()!.Properties[0].Name);
        command.Parameters.Add(Parameter(key));
        command.CommandText = $"WITH u AS (UPDATE {target} SET {string.Join(", ", sets)} WHERE {Quote(key.Metadata.GetColumnName(table)!)} = " +
            $"${command.Parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)} RETURNING 1) SELECT 1 / count(*)::int FROM u";
        return command;
    }

    /// <summary>
    /// Inserts the rows of one table, skipping each row that conflicts with an existing one on a unique index
    /// (<c>ON CONFLICT DO NOTHING</c>): a row another transaction is inserting waits for it to commit, then is skipped. For rows that
    /// several writers may create at once (an account of a shared company domain), so none of them fails; read the ids back after.
    /// </summary>
    public static Task InsertIgnoringConflictsAsync(DbContext db, System.Collections.IList rows, CancellationToken ct) =>
        InsertAsync(db, [rows], " ON CONFLICT DO NOTHING", ct);

    /// <summary>Copies the rows (one list per table, in foreign-key order) with binary COPY, on the context's open connection.</summary>
    public static async Task CopyAsync(DbContext db, IReadOnlyList<System.Collections.IList> tables, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        foreach (var rows in tables)
        {
            if (rows.Count == 0)
                continue;
            var shape = Shape(db, rows[0]!.GetType());
            await using var writer = await connection.BeginBinaryImportAsync($"COPY {shape.Target} ({shape.Columns}) FROM STDIN (FORMAT BINARY)", ct);
            foreach (var entity in rows)
            {
                await writer.StartRowAsync(ct);
                foreach (var column in shape.Writers)
                    await column(entity!, writer, ct);
            }
            await writer.CompleteAsync(ct);
        }
    }

    /// <summary>The <c>SELECT</c> of every mapped column (in <see cref="Shape"/>'s order) and the row reader; both null when the entity cannot be built.</summary>
    private sealed record Reading(string? Select, Func<NpgsqlDataReader, object>? Read);

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IEntityType, Reading> Readings = new();

    private static readonly System.Reflection.MethodInfo GetFieldValue = typeof(NpgsqlDataReader).GetMethod(nameof(NpgsqlDataReader.GetFieldValue))!;
    private static readonly System.Reflection.MethodInfo IsDbNull = typeof(NpgsqlDataReader).GetMethod(nameof(NpgsqlDataReader.IsDBNull))!;

    /// <summary>
    /// The column list of an entity's table and a compiled reader that builds the entity from a row holding exactly those columns:
    /// <c>new T { P1 = r.IsDBNull(0) ? default : convert(r.GetFieldValue&lt;Provider1&gt;(0)), … }</c>. Null when a property has no
    /// settable CLR member (the caller then queries through EF).
    /// </summary>
    private static Reading ReadingOf(DbContext db, Type clrType) => Readings.GetOrAdd(db.Model.FindEntityType(clrType)!, type =>
    {
        var table = StoreObjectIdentifier.Table(type.GetTableName()!, type.GetSchema());
        var properties = type.GetProperties().Where(p => p.GetColumnName(table) is not null).ToList();
        if (properties.Any(p => p.PropertyInfo is not { CanWrite: true }) || clrType.GetConstructor(Type.EmptyTypes) is null)
            return new Reading(null, null);
        var shape = Shape(db, clrType);
        var reader = Expression.Parameter(typeof(NpgsqlDataReader), "r");
        var entity = Expression.Variable(clrType, "e");
        var body = new List<Expression> { Expression.Assign(entity, Expression.New(clrType)) };
        for (var i = 0; i < properties.Count; i++)
        {
            var property = properties[i];
            var converter = property.GetTypeMapping().Converter;
            var provider = converter?.ProviderClrType ?? property.ClrType;
            provider = Nullable.GetUnderlyingType(provider) ?? provider;
            Expression value = Expression.Call(reader, GetFieldValue.MakeGenericMethod(provider), Expression.Constant(i));
            if (converter is not null)
            {
                var convert = converter.ConvertFromProviderExpression;
                value = Expression.Invoke(convert, value.Type == convert.Parameters[0].Type ? value : Expression.Convert(value, convert.Parameters[0].Type));
            }
            var member = property.PropertyInfo!;
            if (value.Type != member.PropertyType)
                value = Expression.Convert(value, member.PropertyType);
            body.Add(Expression.IfThen(Expression.Not(Expression.Call(reader, IsDbNull, Expression.Constant(i))),
                Expression.Assign(Expression.Property(entity, member), value)));
        }
        body.Add(Expression.Convert(entity, typeof(object)));
        var read = Expression.Lambda<Func<NpgsqlDataReader, object>>(Expression.Block([entity], body), reader).Compile();
        return new Reading($"SELECT {shape.Columns} FROM {shape.Target}", read);
    });

    /// <summary><c>SELECT</c> every mapped column of <typeparamref name="T"/>'s table <c>FROM</c> it (add the <c>WHERE</c>), or null when
    /// <see cref="ReadTracked{T}"/> cannot build the entity.</summary>
    public static string? SelectAll<T>(DbContext db) where T : class => ReadingOf(db, typeof(T)).Select;

    /// <summary>
    /// Builds the entities of the reader's current result set (a <see cref="SelectAll{T}"/> query) and attaches them to the context
    /// as unchanged, as a tracking EF query would.
    /// </summary>
    public static async Task<List<T>> ReadTracked<T>(DbContext db, NpgsqlDataReader reader, CancellationToken ct) where T : class
    {
        var read = ReadingOf(db, typeof(T)).Read!;
        var list = new List<T>();
        while (await reader.ReadAsync(ct))
        {
            var entity = (T)read(reader);
            db.Attach(entity);
            list.Add(entity);
        }
        return list;
    }

    /// <summary>"character varying(254)" → "character varying"; "numeric(18,2)" → "numeric".</summary>
    private static string BaseType(string columnType)
    {
        var paren = columnType.IndexOf('(', StringComparison.Ordinal);
        return paren < 0 ? columnType : columnType[..paren] + columnType[(columnType.IndexOf(')', StringComparison.Ordinal) + 1)..];
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
