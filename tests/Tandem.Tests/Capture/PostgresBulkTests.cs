using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Capture;

/// <summary>
/// The one-round-trip save of repeat captures on PostgreSQL: updates and inserts land together, or not at all when a row
/// to update is gone (activities have no foreign key to their lead, so this is what keeps them attached).
/// </summary>
public sealed class PostgresBulkTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<Guid> AddLeadAsync(TandemApp app, string email) =>
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var now = DateTimeOffset.UtcNow;
            var lead = new Lead { Email = email, CreatedAt = now, UpdatedAt = now, StageChangedAt = now };
            db.Leads.Add(lead);
            await db.SaveChangesAsync(Ct);
            return lead.Id;
        });

    private static Activity PageView(Guid leadId) =>
        new() { LeadId = leadId, Type = ActivityType.PageView, OccurredAt = DateTimeOffset.UtcNow, CreatedAt = DateTimeOffset.UtcNow, Source = "test" };

    [Fact]
    public async Task UpdatesAndInsertsLandTogetherInOneBatch()
    {
        await using var app = await TandemApp.CreateAsync(DatabaseProvider.Postgres);
        var leadId = await AddLeadAsync(app, "kept@acme.example");

        var saved = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var lead = await db.Leads.SingleAsync(l => l.Id == leadId, Ct);
            lead.City = "Lyon";
            lead.Stage = LifecycleStage.Mql;
            return await PostgresBulk.SaveInOneBatchAsync(db, [new List<Activity> { PageView(leadId), PageView(leadId) }], Ct);
        });

        Assert.True(saved);
        var stored = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().SingleAsync(l => l.Id == leadId, Ct));
        Assert.Equal(("Lyon", LifecycleStage.Mql), (stored.City, stored.Stage));
        Assert.Equal(2, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.CountAsync(a => a.LeadId == leadId, Ct)));
    }

    [Fact]
    public async Task ARowDeletedSinceItWasReadFailsTheWholeBatch()
    {
        await using var app = await TandemApp.CreateAsync(DatabaseProvider.Postgres);
        var goneId = await AddLeadAsync(app, "gone@acme.example");
        var otherId = await AddLeadAsync(app, "other@acme.example");

        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var leads = await db.Leads.Where(l => l.Id == goneId || l.Id == otherId).ToListAsync(Ct);
            foreach (var lead in leads)
                lead.City = "Paris";
            // Another writer (a merge) deletes one of them before this save.
            await app.WithServiceAsync(other => other.GetRequiredService<TandemDb>().Leads.Where(l => l.Id == goneId).ExecuteDeleteAsync(Ct));
            await Assert.ThrowsAsync<DbUpdateConcurrencyException>(() =>
                PostgresBulk.SaveInOneBatchAsync(db, [new List<Activity> { PageView(goneId), PageView(otherId) }], Ct));
            return 0;
        });

        // Nothing of the batch was written: no activity (not even the other lead's), no update of the other lead.
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.CountAsync(Ct)));
        Assert.Null(await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.Where(l => l.Id == otherId).Select(l => l.City).SingleAsync(Ct)));
    }

    [Fact]
    public async Task DeletesAndAddedEntitiesAreLeftToTheUsualSave()
    {
        await using var app = await TandemApp.CreateAsync(DatabaseProvider.Postgres);
        var leadId = await AddLeadAsync(app, "deleted@acme.example");
        var saved = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            db.Leads.Remove(await db.Leads.SingleAsync(l => l.Id == leadId, Ct));
            return await PostgresBulk.SaveInOneBatchAsync(db, [new List<Activity> { PageView(leadId) }], Ct);
        });
        Assert.False(saved);
        Assert.Equal(1, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.CountAsync(Ct)));
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.CountAsync(Ct)));
    }
}
