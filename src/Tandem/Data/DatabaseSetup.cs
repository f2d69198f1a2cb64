using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Tandem.Data;

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Settings under <c>Tandem:Database</c>.</summary>
public sealed class DatabaseOptions
{
    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;
    /// <summary>Apply pending migrations when the web app starts (default true).</summary>
    public bool MigrateOnStart { get; set; } = true;
}

public static class DatabaseSetup
{
    public const string ConnectionStringName = "Tandem";
    public const string DefaultSqliteConnectionString = "Data Source=data/tandem.db";

    public static DatabaseProvider GetProvider(IConfiguration configuration)
    {
        var value = configuration["Tandem:Database:Provider"];
        if (string.IsNullOrWhiteSpace(value))
            return DatabaseProvider.Sqlite;
        return value.Trim().ToLowerInvariant() switch
        {
            "sqlite" => DatabaseProvider.Sqlite,
            "postgres" or "postgresql" or "npgsql" => DatabaseProvider.Postgres,
            _ => throw new InvalidOperationException(
                $"Tandem:Database:Provider is '{value}'; expected 'Sqlite' or 'Postgres'."),
        };
    }

    /// <summary>Registers <see cref="TandemDb"/> (scoped) and <see cref="IDbContextFactory{TandemDb}"/> for the configured provider.</summary>
    public static IServiceCollection AddTandemDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var provider = GetProvider(configuration);
        services.Configure<DatabaseOptions>(o =>
        {
            configuration.GetSection("Tandem:Database").Bind(o);
            o.Provider = provider;
        });
        var connectionString = configuration.GetConnectionString(ConnectionStringName);

        if (provider == DatabaseProvider.Postgres)
        {
            if (string.IsNullOrWhiteSpace(connectionString))
                throw new InvalidOperationException(
                    "Tandem:Database:Provider is Postgres but ConnectionStrings:Tandem is empty. " +
                    "Set ConnectionStrings__Tandem, e.g. 'Host=localhost;Database=tandem;Username=tandem;Password=...'.");
            services.AddDbContextFactory<PostgresTandemDb>(o => ConfigurePostgres(o, connectionString));
            services.AddScoped<TandemDb>(sp => sp.GetRequiredService<IDbContextFactory<PostgresTandemDb>>().CreateDbContext());
            services.AddSingleton<IDbContextFactory<TandemDb>, TandemDbFactory<PostgresTandemDb>>();
        }
        else
        {
            var sqlite = PrepareSqliteConnectionString(connectionString);
            services.AddDbContextFactory<SqliteTandemDb>(o => ConfigureSqlite(o, sqlite));
            services.AddScoped<TandemDb>(sp => sp.GetRequiredService<IDbContextFactory<SqliteTandemDb>>().CreateDbContext());
            services.AddSingleton<IDbContextFactory<TandemDb>, TandemDbFactory<SqliteTandemDb>>();
        }
        return services;
    }

    internal static void ConfigurePostgres(DbContextOptionsBuilder o, string connectionString) =>
        o.UseNpgsql(WithAutoPrepare(connectionString), n => n.MigrationsHistoryTable("__ef_migrations_history"))
            .AddInterceptors(KeyLookup.Interceptor.Instance);

    /// <summary>
    /// Turns on Npgsql automatic statement preparation unless the connection string sets it: capture runs the same
    /// few statements thousands of times a second, and prepared statements skip PostgreSQL's parse and plan. Lookups by
    /// parameterized arrays of keys are kept on their indexes (<see cref="KeyLookup"/>).
    /// </summary>
    /// <remarks>
    /// Whether the string sets it is read with a plain <see cref="System.Data.Common.DbConnectionStringBuilder"/>: Npgsql's builder
    /// answers <c>ContainsKey</c> for every keyword it knows, set or not, which silently left preparation off.
    /// </remarks>
    internal static string WithAutoPrepare(string connectionString)
    {
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (given.ContainsKey("Max Auto Prepare") || given.ContainsKey("MaxAutoPrepare"))
            return connectionString;
        return new Npgsql.NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 64 }.ConnectionString;
    }

    internal static void ConfigureSqlite(DbContextOptionsBuilder o, string connectionString) =>
        o.UseSqlite(connectionString, s => s.MigrationsHistoryTable("__ef_migrations_history"));

    /// <summary>Makes a relative SQLite path absolute (against the working directory) and creates its folder.</summary>
    internal static string PrepareSqliteConnectionString(string? connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(
            string.IsNullOrWhiteSpace(connectionString) ? DefaultSqliteConnectionString : connectionString);
        if (builder.DataSource is { Length: > 0 } path && path != ":memory:" && builder.Mode != SqliteOpenMode.Memory)
        {
            var full = Path.GetFullPath(path);
            builder.DataSource = full;
            if (builder.Mode is SqliteOpenMode.ReadWriteCreate)
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        }
        if (builder.DefaultTimeout < 30)
            builder.DefaultTimeout = 30;
        return builder.ToString();
    }

    /// <summary>Applies pending migrations; on SQLite also switches the file to WAL so readers never block the writer.</summary>
    public static async Task MigrateAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        if (db.Database.IsSqlite())
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        await db.Database.MigrateAsync(ct);
        // A later SQLite table rebuild (an EF migration that alters StageTransitions or Leads) drops triggers: put them back.
        await Features.Leads.LeadRollups.EnsureInstalledAsync(db, ct);
    }

    private sealed class TandemDbFactory<T>(IDbContextFactory<T> inner) : IDbContextFactory<TandemDb> where T : TandemDb
    {
        public TandemDb CreateDbContext() => inner.CreateDbContext();
    }
}

/// <summary>Used by <c>dotnet ef migrations add ... --context SqliteTandemDb</c>.</summary>
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteTandemDb>
{
    public SqliteTandemDb CreateDbContext(string[] args)
    {
        var o = new DbContextOptionsBuilder<SqliteTandemDb>();
        DatabaseSetup.ConfigureSqlite(o, "Data Source=design-time.db");
        return new SqliteTandemDb(o.Options);
    }
}

/// <summary>Used by <c>dotnet ef migrations add ... --context PostgresTandemDb</c>; no server is contacted.</summary>
public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresTandemDb>
{
    public PostgresTandemDb CreateDbContext(string[] args)
    {
        var o = new DbContextOptionsBuilder<PostgresTandemDb>();
        DatabaseSetup.ConfigurePostgres(o, "Host=localhost;Database=tandem_design");
        return new PostgresTandemDb(o.Options);
    }
}
