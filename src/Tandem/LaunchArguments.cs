namespace Tandem;

/// <summary>
/// Splits the command line: <c>admin ...</c> runs the operator CLI instead of the server; <c>--demo</c> seeds demo
/// data; everything else goes to the ASP.NET Core host (e.g. <c>--urls</c>).
/// </summary>
public sealed record LaunchArguments(bool IsAdmin, bool Demo, string[] AdminArgs, string[] HostArgs)
{
    public static LaunchArguments Parse(string[] args)
    {
        if (args.Length > 0 && args[0] == "admin")
        {
            // Host settings may follow the command as --key value pairs; the CLI takes the rest.
            return new LaunchArguments(true, false, args[1..], HostSettings(args[1..]));
        }
        var demo = args.Contains("--demo", StringComparer.Ordinal);
        return new LaunchArguments(false, demo, [], [.. args.Where(a => a != "--demo")]);
    }

    private static string[] HostSettings(string[] args)
    {
        var result = new List<string>();
        for (var i = 0; i < args.Length - 1; i++)
            if (args[i].StartsWith("--ConnectionStrings", StringComparison.OrdinalIgnoreCase) ||
                args[i].StartsWith("--Tandem", StringComparison.OrdinalIgnoreCase))
                result.AddRange([args[i], args[++i]]);
        return [.. result];
    }

    /// <summary>
    /// The content root: the application's own folder (where <c>appsettings.json</c> and <c>wwwroot</c> are published), so a
    /// service unit or a container can start Tandem from any working directory. Left to the host (null) when it is given
    /// explicitly (<c>--contentRoot</c>, <c>ASPNETCORE_CONTENTROOT</c>, <c>DOTNET_CONTENTROOT</c>), in Development (<c>dotnet run</c>
    /// serves from the project folder) and when the application folder holds no settings file.
    /// </summary>
    public static string? ContentRoot(string[] hostArgs, Func<string, string?> environment, string appFolder)
    {
        if (hostArgs.Any(a => a.StartsWith("--contentRoot", StringComparison.OrdinalIgnoreCase)) ||
            !string.IsNullOrEmpty(environment("ASPNETCORE_CONTENTROOT")) || !string.IsNullOrEmpty(environment("DOTNET_CONTENTROOT")))
            return null;
        var env = EnvironmentName(hostArgs) ?? environment("ASPNETCORE_ENVIRONMENT") ?? environment("DOTNET_ENVIRONMENT");
        if (string.Equals(env, "Development", StringComparison.OrdinalIgnoreCase))
            return null;
        return File.Exists(Path.Combine(appFolder, "appsettings.json")) ? appFolder : null;
    }

    private static string? EnvironmentName(string[] hostArgs)
    {
        for (var i = 0; i < hostArgs.Length; i++)
        {
            var a = hostArgs[i];
            if (a.StartsWith("--environment=", StringComparison.OrdinalIgnoreCase))
                return a["--environment=".Length..];
            if (a.Equals("--environment", StringComparison.OrdinalIgnoreCase) && i + 1 < hostArgs.Length)
                return hostArgs[i + 1];
        }
        return null;
    }
}
