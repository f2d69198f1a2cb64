using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Demo;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Platform;

/// <summary>The demo company seeds on both databases, is consistent, and never touches a database in use.</summary>
public abstract class DemoSeederTests(DatabaseProvider provider)
{
    [Fact]
    public async Task DemoSeedsAConsistentCompanyOnceAndItsLoginsWork()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var summary = await app.WithServiceAsync(sp => sp.GetRequiredService<DemoSeeder>().SeedAsync(TestContext.Current.CancellationToken));

        Assert.NotNull(summary);
        Assert.InRange(summary.Leads, 1800, 2200);
        Assert.True(summary.Activities > summary.Leads);
        Assert.InRange(summary.Campaigns, 8, 12);
        Assert.True(summary.Deals > 0);
        Assert.Equal(8, summary.Logins.Count);

        var (leads, stages, deals, reps, futureTransitions) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow.AddMinutes(1);
            return (await db.Leads.CountAsync(), await db.Leads.GroupBy(l => l.Stage).Select(g => g.Key).ToListAsync(),
                await db.Deals.Select(d => d.Status).Distinct().ToListAsync(),
                (await sp.GetRequiredService<UserAdmin>().ListAsync()).Count(u => u.Roles.Contains(Roles.Sales)),
                await db.StageTransitions.CountAsync(t => t.At > now));
        });
        Assert.Equal(summary.Leads, leads);
        Assert.Contains(LifecycleStage.Mql, stages);
        Assert.Contains(LifecycleStage.Customer, stages);
        Assert.Contains(LifecycleStage.Disqualified, stages);
        Assert.Contains(DealStatus.Won, deals);
        Assert.Contains(DealStatus.Lost, deals);
        Assert.Equal(5, reps);
        Assert.Equal(0, futureTransitions);

        // Setup is done and a printed login signs in.
        var admin = summary.Logins.First(l => l.Role == Roles.Admin);
        await TandemApp.SignInAsync(app.CreateBrowserClient(), admin.Email, admin.Password);

        // A second run leaves the database alone.
        Assert.Null(await app.WithServiceAsync(sp => sp.GetRequiredService<DemoSeeder>().SeedAsync(TestContext.Current.CancellationToken)));
    }
}

public sealed class DemoSeederOnSqlite() : DemoSeederTests(DatabaseProvider.Sqlite);

public sealed class DemoSeederOnPostgres() : DemoSeederTests(DatabaseProvider.Postgres);
