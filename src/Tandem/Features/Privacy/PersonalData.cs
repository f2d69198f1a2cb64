using System.Collections;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Tandem.Data;
using Tandem.Features.Leads;

namespace Tandem.Features.Privacy;

/// <summary>
/// The tables and text columns where a person's data can sit, read from the EF model (decision 021b), so a table added later is
/// exported and scrubbed without anyone listing it. Identity, keys and the erasure blocks themselves are left out.
/// </summary>
public static class PersonalData
{
    /// <summary>Tables never searched nor scrubbed: users and their logins, keys, the erasure blocks, installation facts.</summary>
    public static bool IsExcluded(IEntityType entity)
    {
        var table = entity.GetTableName();
        return table is null || entity.IsOwned() || table.StartsWith("AspNet", StringComparison.Ordinal) ||
            entity.ClrType == typeof(Microsoft.AspNetCore.DataProtection.EntityFrameworkCore.DataProtectionKey) ||
            entity.ClrType == typeof(Platform.ApiKey) || entity.ClrType == typeof(ErasureBlock) || entity.ClrType == typeof(Platform.Installation);
    }

    /// <summary>Every plain text column (strings without a value converter: enums stored as text are not text) of a table.</summary>
    public static IReadOnlyList<IProperty> TextColumns(IEntityType entity) =>
        [.. entity.GetProperties().Where(p => p.ClrType == typeof(string) && p.GetValueConverter() is null && p.GetTypeMapping().Converter is null && !p.IsPrimaryKey())];

    public static string Column(IEntityType entity, IProperty property) =>
        property.GetColumnName(StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema())) ?? property.Name;

    public static string Quote(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    public static string Table(IEntityType entity) =>
        entity.GetSchema() is { } schema ? Quote(schema) + "." + Quote(entity.GetTableName()!) : Quote(entity.GetTableName()!);

    /// <summary>The rows of the referring table whose lead column equals <paramref name="leadId"/>.</summary>
    public static async Task<IList> RowsOfLeadAsync(TandemDb db, LeadReference reference, Guid leadId, CancellationToken ct)
    {
        var method = RowsMethod.MakeGenericMethod(reference.Entity.ClrType, reference.Property.ClrType);
        return await (Task<IList>)method.Invoke(null, [db, reference.Property.Name, leadId, ct])!;
    }

    private static readonly MethodInfo RowsMethod = typeof(PersonalData).GetMethod(nameof(RowsOneAsync), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static async Task<IList> RowsOneAsync<TEntity, TId>(TandemDb db, string property, Guid leadId, CancellationToken ct) where TEntity : class
    {
        var value = (TId)(object)leadId;
        var row = System.Linq.Expressions.Expression.Parameter(typeof(TEntity), "row");
        var column = System.Linq.Expressions.Expression.Call(typeof(EF), nameof(EF.Property), [typeof(TId)], row,
            System.Linq.Expressions.Expression.Constant(property));
        System.Linq.Expressions.Expression<Func<TId>> parameter = () => value; // a captured variable: sent as a parameter
        var isLead = System.Linq.Expressions.Expression.Lambda<Func<TEntity, bool>>(System.Linq.Expressions.Expression.Equal(column, parameter.Body), row);
        return await db.Set<TEntity>().AsNoTracking().Where(isLead).ToListAsync(ct);
    }

    /// <summary>One row as property (camelCase, as everywhere in the API) → value, in model order.</summary>
    public static Dictionary<string, object?> ToRecord(IEntityType entity, object row)
    {
        var record = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var property in entity.GetProperties())
            if (property.PropertyInfo is { } info)
                record[System.Text.Json.JsonNamingPolicy.CamelCase.ConvertName(property.Name)] = info.GetValue(row) switch
                {
                    Enum e => e.ToString(),
                    byte[] => null,
                    var v => v,
                };
        return record;
    }
}
