using Tandem.Data;

namespace Tandem.Features.Demo;

/// <summary>Seeds the demo company (placeholder until the full seeder lands).</summary>
public sealed class DemoSeeder(TandemDb db)
{
    public TandemDb Db => db;
}

public static class DemoSeederExtensions
{
    public static Task SeedDemoAsync(this IServiceProvider services, TextWriter output)
    {
        _ = services;
        output.WriteLine("Demo seeding not implemented yet.");
        return Task.CompletedTask;
    }
}
