using System.Linq.Expressions;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Tandem.Data;

namespace Tandem.Features.Privacy;

/// <summary>Replaces a person's identifiers in the text columns of a table's rows, with EF's REPLACE translation (both providers).</summary>
internal static class Scrubber
{
    public const string Mark = "[erased]";

    /// <summary>Free-text columns that are blanked on the erased lead's own rows (comments, notes, raw payloads), whatever they hold.</summary>
    public static readonly IReadOnlySet<string> FreeText = new HashSet<string>(StringComparer.Ordinal)
    {
        "Comment", "Note", "Notes", "ResolutionNote", "Properties", "RawBody", "Headers", "BudgetNote", "AuthorityNote", "NeedNote", "TimingNote",
        "IpAddress", "Referrer",
    };

    /// <summary>
    /// For the rows <paramref name="filter"/> selects (null = every row), blanks the free-text columns (when <paramref name="blankFreeText"/>) and replaces each needle in
    /// the other text columns; the number of rows changed.
    /// </summary>
    public static async Task<int> ScrubAsync(TandemDb db, IEntityType entity, LambdaExpression? filter, IReadOnlyList<string> needles, bool blankFreeText,
        CancellationToken ct)
    {
        var method = Method.MakeGenericMethod(entity.ClrType);
        return await (Task<int>)method.Invoke(null, [db, entity, filter, needles, blankFreeText, ct])!;
    }

    private static readonly MethodInfo Method = typeof(Scrubber).GetMethod(nameof(ScrubOneAsync), BindingFlags.NonPublic | BindingFlags.Static)!;

    private static async Task<int> ScrubOneAsync<TEntity>(TandemDb db, IEntityType entity, Expression<Func<TEntity, bool>>? filter, IReadOnlyList<string> needles,
        bool blankFreeText, CancellationToken ct) where TEntity : class
    {
        var columns = PersonalData.TextColumns(entity);
        if (columns.Count == 0)
            return 0;
        var changed = 0;
        var rows = filter is null ? db.Set<TEntity>() : db.Set<TEntity>().Where(filter);
        var blanks = blankFreeText ? columns.Where(c => FreeText.Contains(c.Name)).ToList() : [];
        if (blanks.Count > 0)
            changed += await rows.ExecuteUpdateAsync(s =>
            {
                foreach (var column in blanks)
                    s.SetProperty(Property<TEntity>(column.Name), Constant<TEntity>(column.IsNullable ? null : ""));
            }, ct);
        var texts = columns.Where(c => !blanks.Contains(c)).ToList();
        if (texts.Count == 0)
            return changed;
        foreach (var needle in needles.Where(n => !string.IsNullOrEmpty(n)).Distinct().OrderByDescending(n => n.Length))
        {
            var row = Expression.Parameter(typeof(TEntity), "row");
            Expression? any = null;
            foreach (var column in texts)
            {
                var contains = Expression.Call(Column(row, column.Name), nameof(string.Contains), Type.EmptyTypes, Captured(needle));
                var test = Expression.AndAlso(Expression.NotEqual(Column(row, column.Name), Expression.Constant(null, typeof(string))), contains);
                any = any is null ? test : Expression.OrElse(any, test);
            }
            var where = Expression.Lambda<Func<TEntity, bool>>(any!, row);
            changed += await rows.Where(where).ExecuteUpdateAsync(s =>
            {
                foreach (var column in texts)
                {
                    var r = Expression.Parameter(typeof(TEntity), "r");
                    var replaced = Expression.Call(Column(r, column.Name), typeof(string).GetMethod(nameof(string.Replace), [typeof(string), typeof(string)])!,
                        Captured(needle), Captured(Mark));
                    s.SetProperty(Property<TEntity>(column.Name), Expression.Lambda<Func<TEntity, string?>>(replaced, r));
                }
            }, ct);
        }
        return changed;
    }

    private static Expression Column(ParameterExpression row, string name) =>
        Expression.Call(typeof(EF), nameof(EF.Property), [typeof(string)], row, Expression.Constant(name));

    private static Expression<Func<TEntity, string?>> Property<TEntity>(string name)
    {
        var row = Expression.Parameter(typeof(TEntity), "p");
        return Expression.Lambda<Func<TEntity, string?>>(Column(row, name), row);
    }

    private static Expression<Func<TEntity, string?>> Constant<TEntity>(string? value)
    {
        var row = Expression.Parameter(typeof(TEntity), "c");
        return Expression.Lambda<Func<TEntity, string?>>(Captured(value), row);
    }

    /// <summary>A value as a captured variable, so EF sends it as a parameter (never inlined into the SQL).</summary>
    private static Expression Captured(string? value)
    {
        Expression<Func<string?>> holder = () => value;
        return holder.Body;
    }

    /// <summary>A filter "column = value" on a Guid or Guid? column.</summary>
    public static LambdaExpression WhereEquals(IEntityType entity, IProperty property, Guid value)
    {
        var row = Expression.Parameter(entity.ClrType, "row");
        var column = Expression.Call(typeof(EF), nameof(EF.Property), [property.ClrType], row, Expression.Constant(property.Name));
        Expression boxed = property.ClrType == typeof(Guid) ? HolderOf(value) : Expression.Convert(HolderOf(value), typeof(Guid?));
        return Expression.Lambda(Expression.Equal(column, boxed), row);
    }

    private static Expression HolderOf(Guid value)
    {
        Expression<Func<Guid>> holder = () => value;
        return holder.Body;
    }
}
