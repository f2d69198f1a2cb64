using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Leads;

/// <summary>
/// A merge loses nothing: a row of every entity that refers to a lead (found here from the EF model, independently of the
/// merge's own lookup) is put on the merged lead, and after the merge each is on the survivor. Adding an entity that refers to
/// a lead, or hangs on one that does, without a row builder here fails <see cref="EveryLeadLinkedEntityHasARowBuilder"/>.
/// </summary>
public abstract class MergeCoverageTests(DatabaseProvider provider)
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal sealed record RowContext(Guid LeadId, Guid WebhookSourceId, IReadOnlyDictionary<Type, object> Parents, DateTimeOffset Now);

    /// <summary>A valid row of each entity type that refers to a lead (or hangs on such a row), for the given lead.</summary>
    internal static readonly Dictionary<Type, Func<RowContext, object>> Builders = new()
    {
        [typeof(Activity)] = c => new Activity { LeadId = c.LeadId, Type = ActivityType.PageView, OccurredAt = c.Now, CreatedAt = c.Now, Url = "https://a.example/" },
        [typeof(StageTransition)] = c => new StageTransition { LeadId = c.LeadId, To = LifecycleStage.Mql, At = c.Now, ByRule = "test" },
        [typeof(Deal)] = c => new Deal { Name = "Deal", LeadId = c.LeadId, Amount = 10, CreatedAt = c.Now },
        [typeof(DealStageChange)] = c => new DealStageChange { DealId = ((Deal)c.Parents[typeof(Deal)]).Id, To = DealStage.Qualification, At = c.Now },
        [typeof(BantAssessment)] = c => new BantAssessment { LeadId = c.LeadId, Budget = true, BudgetNote = "ok", At = c.Now },
        [typeof(Tandem.Features.Feedback.LeadRating)] = c => new Tandem.Features.Feedback.LeadRating
        {
            LeadId = c.LeadId,
            ByUserId = Guid.CreateVersion7(),
            ByName = "rep",
            LeadQuality = 2,
            CreatedAt = c.Now,
            UpdatedAt = c.Now,
        },
        [typeof(Tandem.Features.Feedback.Dispute)] = c => new Tandem.Features.Feedback.Dispute
        {
            LeadId = c.LeadId,
            Kind = Tandem.Features.Feedback.DisputeKind.MarketingContestsRejection,
            Comment = "a fit",
            OpenedByName = "marketer",
            OpenedAt = c.Now,
        },
        [typeof(Assignment)] = c => new Assignment
        {
            LeadId = c.LeadId,
            Tier = SlaTier.Hot,
            State = AssignmentState.Open,
            MqlAt = c.Now,
            AssignedAt = c.Now,
            Path = RoutingPath.TeamStrategy,
            Reason = "test",
        },
        [typeof(SlaTimer)] = c => new SlaTimer { AssignmentId = ((Assignment)c.Parents[typeof(Assignment)]).Id, Kind = TimerKind.Breach, DueAt = c.Now.AddHours(1), Status = TimerStatus.Pending },
        [typeof(Tandem.Features.Work.Note)] = c => new Tandem.Features.Work.Note { LeadId = c.LeadId, Html = "note", AuthorName = "rep", CreatedAt = c.Now },
        [typeof(Tandem.Features.Work.TaskItem)] = c => new Tandem.Features.Work.TaskItem
        {
            LeadId = c.LeadId,
            Title = "Call back",
            DueAt = c.Now.AddDays(1),
            AssigneeUserId = ((AppUser)c.Parents[typeof(AppUser)]).Id,
            CreatedByName = "rep",
            CreatedAt = c.Now,
            UpdatedAt = c.Now,
        },
        [typeof(ConsentEntry)] = c => new ConsentEntry { LeadId = c.LeadId, Purpose = ConsentPurpose.Email, Action = ConsentAction.Granted, At = c.Now, CreatedAt = c.Now },
        [typeof(WebhookDeadLetter)] = c => new WebhookDeadLetter { SourceId = c.WebhookSourceId, RawBody = "{}", Error = "replayed", ReceivedAt = c.Now, LeadId = c.LeadId },
    };

    /// <summary>Entity types with a column that refers to a lead: a foreign key to Lead, or a Guid property named LeadId.</summary>
    private static List<(IEntityType Entity, IProperty Property)> LeadLinked(IModel model)
    {
        var lead = model.FindEntityType(typeof(Lead))!;
        // Trigger-maintained tables (decision 021) follow the moved transitions by themselves; LeadRollupTests proves it.
        return [.. model.GetEntityTypes().Where(e => e != lead && e.FindAnnotation(LeadRollups.DerivedAnnotation) is null)
            .SelectMany(e => e.GetProperties().Select(p => (Entity: e, Property: p)))
            .Where(x => !x.Property.IsPrimaryKey()
                && (x.Property.GetContainingForeignKeys().Any(fk => fk.PrincipalEntityType == lead)
                    || (x.Property.Name == "LeadId" && (Nullable.GetUnderlyingType(x.Property.ClrType) ?? x.Property.ClrType) == typeof(Guid))))];
    }

    /// <summary>Entity types that hang (by a foreign key) on a lead-linked one, and so must follow it through a merge.</summary>
    private static List<IEntityType> Dependents(IModel model, IEnumerable<IEntityType> linked)
    {
        var set = linked.ToHashSet();
        return [.. model.GetEntityTypes().Where(e => !set.Contains(e) && e.GetForeignKeys().Any(fk => set.Contains(fk.PrincipalEntityType)))];
    }

    private static Task<T> DbAsync<T>(TandemApp app, Func<TandemDb, Task<T>> action) =>
        app.WithServiceAsync(sp => action(sp.GetRequiredService<TandemDb>()));

    [Fact]
    public async Task EveryLeadLinkedEntityHasARowBuilder()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var model = await DbAsync(app, db => Task.FromResult(db.Model));
        var linked = LeadLinked(model);
        var needed = linked.Select(x => x.Entity).Concat(Dependents(model, linked.Select(x => x.Entity))).Select(e => e.ClrType).Distinct().ToList();
        var missing = needed.Where(t => !Builders.ContainsKey(t)).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0,
            $"These entities refer to a lead but this test cannot build them: {string.Join(", ", missing)}. Add a builder, and make sure a merge moves them.");
        // The merge finds the same columns as this test.
        Assert.Equal(linked.Select(x => $"{x.Entity.ClrType.Name}.{x.Property.Name}").Order(StringComparer.Ordinal),
            LeadReferences.Find(model).Select(r => $"{r.Entity.ClrType.Name}.{r.Property.Name}").Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task MergeMovesARowOfEveryLeadLinkedEntityToTheSurvivor()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var client = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        var now = DateTimeOffset.UtcNow;
        (Guid survivorId, Guid mergedId, List<object> built) = await DbAsync(app, async db =>
        {
            var survivor = new Lead { Email = "keep@acme.example", LastName = "Martin", Stage = LifecycleStage.Mql, FirstChannel = Channel.Email, CreatedAt = now, UpdatedAt = now, StageChangedAt = now };
            var merged = new Lead { Email = "gone@acme.example", LastName = "Martin", Stage = LifecycleStage.Mql, FirstChannel = Channel.Email, CreatedAt = now, UpdatedAt = now, StageChangedAt = now };
            var source = new WebhookSource { Name = "Hooks", Key = "merge-test-key" };
            var rep = new AppUser { Id = Guid.CreateVersion7(), UserName = "rep@acme.example", Email = "rep@acme.example", DisplayName = "Rep" };
            db.AddRange(survivor, merged, source, rep);
            // The survivor is already in a rep's hands: the merged lead's open assignment must stop, not run a second SLA clock.
            db.Add(new Assignment { LeadId = survivor.Id, Tier = SlaTier.Hot, State = AssignmentState.Open, MqlAt = now, AssignedAt = now, Path = RoutingPath.TeamStrategy, Reason = "own" });
            await db.SaveChangesAsync(Ct);

            var linked = LeadLinked(db.Model);
            var order = linked.Select(x => x.Entity.ClrType).Distinct().Concat(Dependents(db.Model, linked.Select(x => x.Entity)).Select(e => e.ClrType)).ToList();
            var parents = new Dictionary<Type, object> { [typeof(AppUser)] = rep };
            var rows = new List<object>();
            foreach (var type in order)
            {
                var row = Builders[type](new RowContext(merged.Id, source.Id, parents, now));
                parents[type] = row;
                rows.Add(row);
                db.Add(row);
            }
            await db.SaveChangesAsync(Ct);
            return (SurvivorId: survivor.Id, MergedId: merged.Id, Rows: rows);
        });

        var response = await client.PostAsJsonAsync($"/api/v1/leads/{survivorId}/merge", new { mergeId = mergedId }, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync(Ct));
        var result = (await response.Content.ReadFromJsonAsync<MergeResponse>(JsonOptions, Ct))!;

        await DbAsync(app, async db =>
        {
            Assert.False(await db.Leads.AnyAsync(l => l.Id == mergedId, Ct));
            foreach (var (entity, property) in LeadLinked(db.Model))
            {
                var rows = await RowsAsync(db, entity.ClrType);
                Assert.DoesNotContain(rows, r => Equals(property.PropertyInfo!.GetValue(r), mergedId));
                var mine = built.Where(b => b.GetType() == entity.ClrType).Select(Key).ToList();
                Assert.All(mine, id => Assert.Equal(survivorId, property.PropertyInfo!.GetValue(rows.Single(r => Key(r) == id))));
                Assert.True(result.Moved.GetValueOrDefault(entity.GetTableName()!) >= mine.Count, $"{entity.GetTableName()} not counted in {string.Join(",", result.Moved)}");
            }
            // Rows hanging on a moved row are still there (not deleted by a cascade).
            foreach (var dependent in Dependents(db.Model, LeadLinked(db.Model).Select(x => x.Entity)))
            {
                var rows = await RowsAsync(db, dependent.ClrType);
                Assert.All(built.Where(b => b.GetType() == dependent.ClrType).Select(Key), id => Assert.Contains(rows, r => Key(r) == id));
            }
            var movedAssignment = await db.Assignments.SingleAsync(a => a.Reason == "test", Ct);
            Assert.Equal(survivorId, movedAssignment.LeadId);
            Assert.Equal(AssignmentState.Closed, movedAssignment.State);
            Assert.Equal(AssignmentState.Open, (await db.Assignments.SingleAsync(a => a.Reason == "own", Ct)).State);
            Assert.Equal(TimerStatus.Cancelled, (await db.SlaTimers.SingleAsync(t => t.AssignmentId == movedAssignment.Id, Ct)).Status);
            Assert.Equal(1, result.AssignmentsClosed);
            var audit = await db.AuditEntries.SingleAsync(a => a.Action == "lead.merged", Ct);
            Assert.Contains("Assignments:1", audit.Details, StringComparison.Ordinal);
            Assert.Contains("BantAssessments:1", audit.Details, StringComparison.Ordinal);
            return 0;
        });
    }

    private static Guid Key(object row) => (Guid)row.GetType().GetProperty("Id")!.GetValue(row)!;

    private static async Task<List<object>> RowsAsync(TandemDb db, Type type)
    {
        var set = (IQueryable<object>)typeof(DbContext).GetMethod(nameof(DbContext.Set), Type.EmptyTypes)!.MakeGenericMethod(type).Invoke(db, null)!;
        return await set.ToListAsync(Ct);
    }
}

public sealed class MergeCoverageOnSqlite() : MergeCoverageTests(DatabaseProvider.Sqlite);

public sealed class MergeCoverageOnPostgres() : MergeCoverageTests(DatabaseProvider.Postgres);
