using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Tandem.Data;

/// <summary>
/// Queries that find rows by keys in a parameterized array (<c>"Email" = ANY($1)</c>, at most a batch of keys) always read them
/// through the key's index on PostgreSQL: the tagged statement runs with <c>enable_seqscan = off</c> (a cost penalty, not a ban:
/// the planner still scans when no index fits), set before it and reset after it in the same round trip.
/// </summary>
/// <remarks>
/// <para>Why: the planner chose sequential scans for these lookups whenever its picture of the table was out of date. With
/// automatic preparation PostgreSQL switches a statement to a generic plan after five runs and keeps it until the table is next
/// analyzed; capture's lookups first run against an empty table, where a scan is the cheapest plan, so on a new database each
/// lookup scanned the whole, growing table for the first minute of a bulk load (5.7 ms instead of 0.02 ms; capture at half
/// speed). Plans made for the actual values (<c>plan_cache_mode = force_custom_plan</c>) still scanned during a CSV import,
/// before autovacuum had analyzed the new rows (29 ms per 1,000 keys instead of 2 ms). npgsql/efcore.pg#3269 describes the
/// generic-plan trap for every parameterized array.</para>
/// <para>Only the tagged statement is affected. Changing the planner for the whole connection was measured and rejected: PostgreSQL's
/// foreign-key checks are prepared statements too, and re-planning one for every inserted row made an import's COPY much slower.</para>
/// </remarks>
public static class KeyLookup
{
    /// <summary>The EF query tag (<c>.TagWith(KeyLookup.Tag)</c>) that marks a key lookup.</summary>
    public const string Tag = "tandem:key-lookup";

    private const string Before = "SET enable_seqscan = off;\n";
    private const string After = ";\nRESET enable_seqscan";

    private static string Wrap(string sql) => Before + sql + After;

    /// <summary>
    /// A hand-written lookup as a batch: the setting, <paramref name="sql"/> (command 1: add its parameters there) and the reset.
    /// A batch rather than one command text, because a command with positional parameters (<c>$1</c>) holds a single statement.
    /// </summary>
    public static Npgsql.NpgsqlBatch Batch(Npgsql.NpgsqlConnection connection, string sql) => new(connection)
    {
        BatchCommands =
        {
            new Npgsql.NpgsqlBatchCommand(Before.TrimEnd('\n', ';')),
            new Npgsql.NpgsqlBatchCommand(sql),
            new Npgsql.NpgsqlBatchCommand(After.TrimStart(';', '\n')),
        },
    };

    /// <summary>Wraps EF commands that carry <see cref="Tag"/>; registered on the PostgreSQL context only.</summary>
    public sealed class Interceptor : DbCommandInterceptor
    {
        public static readonly Interceptor Instance = new();

        private static void Apply(DbCommand command)
        {
            if (command.CommandText.StartsWith("-- " + Tag, StringComparison.Ordinal))
                command.CommandText = Wrap(command.CommandText);
        }

        public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
        {
            Apply(command);
            return result;
        }

        public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
            InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
        {
            Apply(command);
            return ValueTask.FromResult(result);
        }
    }
}
