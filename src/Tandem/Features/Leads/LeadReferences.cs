using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Tandem.Data;

namespace Tandem.Features.Leads;

/// <summary>One column of one table that holds the id of a lead.</summary>
public sealed record LeadReference(IEntityType Entity, IProperty Property)
{
    /// <summary>The table's name, as the merge response and the audit entry count moved rows.</summary>
    public string Table => Entity.GetTableName() ?? Entity.ClrType.Name;
}

/// <summary>
/// Every column that refers to a lead, read from the EF model so a table added later is found without anyone listing it:
/// a property of a foreign key whose principal is <see cref="Lead"/>, or a <see cref="Guid"/> property named <c>LeadId</c>
/// (decision 009 dropped some foreign keys to leads for capture speed; the name is the convention that keeps them found).
/// Rows that hang on such a row (SLA timers on an assignment) follow it without being re-pointed. Trigger-maintained tables
/// (<see cref="LeadRollups"/>) are left to their triggers.
/// </summary>
public static class LeadReferences
{
    public const string ConventionalName = "LeadId";

    private static readonly ConcurrentDictionary<IModel, IReadOnlyList<LeadReference>> Cache = new();

    public static IReadOnlyList<LeadReference> Find(IModel model) => Cache.GetOrAdd(model, m =>
    {
        var lead = m.FindEntityType(typeof(Lead)) ?? throw new InvalidOperationException("The model has no Lead entity.");
        var found = new List<LeadReference>();
        foreach (var entity in m.GetEntityTypes().Where(e => e != lead && !e.IsOwned() && e.GetTableName() is not null
                     && e.FindAnnotation(LeadRollups.DerivedAnnotation) is null).OrderBy(e => e.GetTableName(), StringComparer.Ordinal))
            foreach (var property in entity.GetProperties())
            {
                if (property.IsPrimaryKey() || (Nullable.GetUnderlyingType(property.ClrType) ?? property.ClrType) != typeof(Guid))
                    continue;
                if (property.Name == ConventionalName || property.GetContainingForeignKeys().Any(fk => fk.PrincipalEntityType == lead))
                    found.Add(new LeadReference(entity, property));
            }
        return found;
    });

    /// <summary>Points every row of <paramref name="from"/> at <paramref name="to"/>, table by table; the count of rows moved per table.</summary>
    public static async Task<IReadOnlyDictionary<string, int>> RepointAsync(TandemDb db, Guid from, Guid to, CancellationToken ct)
    {
        var moved = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var reference in Find(db.Model))
        {
            var method = RepointMethod.MakeGenericMethod(reference.Entity.ClrType, reference.Property.ClrType);
            var count = await (Task<int>)method.Invoke(null, [db, reference.Property.Name, from, to, ct])!;
            moved[reference.Table] = moved.GetValueOrDefault(reference.Table) + count;
        }
        return moved;
    }

    private static readonly MethodInfo RepointMethod =
        typeof(LeadReferences).GetMethod(nameof(RepointOneAsync), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static Task<int> RepointOneAsync<TEntity, TId>(TandemDb db, string property, Guid from, Guid to, CancellationToken ct) where TEntity : class
    {
        // TId is Guid or Guid?: the casts let one method serve both column kinds, and EF translates them to plain parameters.
        var fromValue = (TId)(object)from;
        var toValue = (TId)(object)to;
        var row = System.Linq.Expressions.Expression.Parameter(typeof(TEntity), "row");
        var column = System.Linq.Expressions.Expression.Call(typeof(EF), nameof(EF.Property), [typeof(TId)], row,
            System.Linq.Expressions.Expression.Constant(property));
        System.Linq.Expressions.Expression<Func<TId>> parameter = () => fromValue; // a captured variable: sent as a parameter
        var isFrom = System.Linq.Expressions.Expression.Lambda<Func<TEntity, bool>>(
            System.Linq.Expressions.Expression.Equal(column, parameter.Body), row);
        return db.Set<TEntity>()
            .Where(isFrom)
            .ExecuteUpdateAsync(s => s.SetProperty(e => EF.Property<TId>(e, property), toValue), ct);
    }
}
