using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Platform;

/// <summary>
/// Operator commands in the same executable: <c>dotnet run --project src/Tandem -- admin &lt;command&gt;</c>.
/// Exit codes: 0 success, 1 the operation failed, 2 usage error.
/// </summary>
public static class AdminCli
{
    public const string Usage = """
        Usage: tandem admin <command> [options]

        Commands:
          migrate                                   Apply pending database migrations.
          create-user --email E --role R [--name N] Create a user (roles: Admin, Marketing, Sales, SalesManager;
                                                    several with commas). Prints a generated password once.
          create-api-key --name N --scopes S        Create an API key (scopes: ingest, read, admin; commas).
                                                    Prints the key once; only its hash is stored.
          reset-password --email E                  Set a new generated password (printed once), sign the user out
                                                    everywhere and lift a lockout.
          rotate-secrets                            Revoke every data-protection key, create a new one encrypted with
                                                    the configured certificate or key file, and re-encrypt the stored
                                                    webhook secrets, SMTP password and chat URL. Everyone signs in again.
          backup --to FILE                          SQLite: an online, consistent copy of the database to FILE (safe
                                                    while Tandem runs). PostgreSQL: use pg_dump (see docs/operations.md).
          help                                      Show this text.

        Database settings come from the usual configuration: Tandem__Database__Provider, ConnectionStrings__Tandem.
        """;

    public static async Task<int> RunAsync(IServiceProvider services, string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0)
            return UsageError(error, "No command given.");
        if (args[0] is "help" or "--help" or "-h")
        {
            output.WriteLine(Usage);
            return 0;
        }
        var command = args[0];
        if (!TryParseOptions(args[1..], out var options, out var parseError))
            return UsageError(error, parseError!);
        try
        {
            switch (command)
            {
                case "migrate":
                    await services.MigrateAsync();
                    output.WriteLine("Database is up to date.");
                    return 0;
                case "create-user":
                    return await CreateUserAsync(services, options, output, error);
                case "create-api-key":
                    return await CreateApiKeyAsync(services, options, output, error);
                case "reset-password":
                    return await ResetPasswordAsync(services, options, output, error);
                case "rotate-secrets":
                    await services.MigrateAsync();
                    return await KeyRing.RotateAsync(services, output);
                case "backup":
                    return await BackupAsync(services, options, output, error);
                default:
                    return UsageError(error, $"Unknown command '{command}'.");
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            error.WriteLine($"error: {ex.Message}");
            return 1;
        }
    }

    private static async Task<int> CreateUserAsync(IServiceProvider services, Dictionary<string, string> options, TextWriter output, TextWriter error)
    {
        if (!options.TryGetValue("email", out var email))
            return UsageError(error, "create-user needs --email.");
        if (!options.TryGetValue("role", out var role))
            return UsageError(error, "create-user needs --role.");
        await services.MigrateAsync();
        await using var scope = services.CreateAsyncScope();
        var admin = scope.ServiceProvider.GetRequiredService<UserAdmin>();
        var result = await admin.CreateAsync(email, options.GetValueOrDefault("name"),
            role.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), null, "cli", null);
        if (!result.Succeeded)
            return FieldErrors(error, result.Errors);
        var (user, password) = result.Value;
        if (user.Roles.Contains(Roles.Admin))
            scope.ServiceProvider.GetRequiredService<SetupState>().Done = true;
        output.WriteLine($"Created user {user.Email} ({string.Join(", ", user.Roles)}), id {user.Id}.");
        output.WriteLine($"Password (shown once, store it now): {password}");
        return 0;
    }

    private static async Task<int> CreateApiKeyAsync(IServiceProvider services, Dictionary<string, string> options, TextWriter output, TextWriter error)
    {
        if (!options.TryGetValue("name", out var name) || string.IsNullOrWhiteSpace(name))
            return UsageError(error, "create-api-key needs --name.");
        if (name.Length > 100)
            return UsageError(error, "--name is limited to 100 characters.");
        var (scopes, invalid) = Scopes.Parse(options.GetValueOrDefault("scopes"));
        if (scopes is null)
            return UsageError(error, $"Unknown scope '{invalid}'. Known scopes: {string.Join(", ", Scopes.All)}.");
        if (scopes.Count == 0)
            return UsageError(error, "create-api-key needs --scopes (ingest, read, admin).");
        await services.MigrateAsync();
        await using var scope = services.CreateAsyncScope();
        var created = await scope.ServiceProvider.GetRequiredService<ApiKeyService>().CreateAsync(name, scopes, null, "cli");
        output.WriteLine($"Created API key '{created.Name}' ({string.Join(",", created.Scopes)}), id {created.Id}.");
        output.WriteLine($"Key (shown once, store it now): {created.Key}");
        return 0;
    }

    private static async Task<int> ResetPasswordAsync(IServiceProvider services, Dictionary<string, string> options, TextWriter output, TextWriter error)
    {
        if (!options.TryGetValue("email", out var email) || string.IsNullOrWhiteSpace(email))
            return UsageError(error, "reset-password needs --email.");
        await services.MigrateAsync();
        await using var scope = services.CreateAsyncScope();
        var result = await scope.ServiceProvider.GetRequiredService<UserAdmin>().ResetPasswordAsync(email, "cli", null);
        if (!result.Succeeded)
            return FieldErrors(error, result.Errors);
        var (user, password) = result.Value;
        output.WriteLine($"New password for {user.Email} (shown once, store it now): {password}");
        output.WriteLine("Every open session of this user is signed out.");
        return 0;
    }

    private static async Task<int> BackupAsync(IServiceProvider services, Dictionary<string, string> options, TextWriter output, TextWriter error)
    {
        if (!options.TryGetValue("to", out var target) || string.IsNullOrWhiteSpace(target))
            return UsageError(error, "backup needs --to FILE.");
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        if (db.Database.ProviderName?.Contains("Sqlite", StringComparison.Ordinal) != true)
            return UsageError(error, "backup copies a SQLite database; for PostgreSQL use pg_dump -Fc (docs/operations.md).");
        var path = Path.GetFullPath(target);
        if (File.Exists(path))
            return UsageError(error, $"{path} already exists; choose a new file.");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var source = (Microsoft.Data.Sqlite.SqliteConnection)db.Database.GetDbConnection();
        await source.OpenAsync();
        await using (var destination = new Microsoft.Data.Sqlite.SqliteConnection(
            new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            // SQLite's online backup API: a consistent snapshot while writers go on.
            source.BackupDatabase(destination);
        }
        output.WriteLine($"Backed up the database to {path} ({new FileInfo(path).Length:N0} bytes).");
        return 0;
    }

    private static int FieldErrors(TextWriter error, IReadOnlyDictionary<string, string[]> errors)
    {
        foreach (var (field, messages) in errors)
            foreach (var message in messages)
                error.WriteLine($"error: {field}: {message}");
        return 1;
    }

    private static bool TryParseOptions(string[] args, out Dictionary<string, string> options, out string? error)
    {
        options = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                error = $"Unexpected argument '{arg}'.";
                return false;
            }
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            string key, value;
            if (eq > 0)
            {
                key = arg[2..eq];
                value = arg[(eq + 1)..];
            }
            else
            {
                if (i + 1 >= args.Length)
                {
                    error = $"Option '{arg}' needs a value.";
                    return false;
                }
                key = arg[2..];
                value = args[++i];
            }
            options[key] = value;
        }
        return true;
    }

    private static int UsageError(TextWriter error, string message)
    {
        error.WriteLine($"error: {message}");
        error.WriteLine();
        error.WriteLine(Usage);
        return 2;
    }
}
