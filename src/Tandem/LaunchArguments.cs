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
}
