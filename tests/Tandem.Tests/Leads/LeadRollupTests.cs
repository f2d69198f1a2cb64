using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Leads;

/// <summary>
/// The trigger-maintained milestones and campaign verdicts (decision 021) stay equal to a plain computation over the raw stage
/// transitions through inserts (EF and raw SQL), moves of transitions between leads (merges), deletions, a lead's campaign
/// changing and a lead deleted — and equal to the full rebuild.
/// </summary>
public abstract class LeadRollupTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task MilestonesAndVerdictsEqualTheRawTransitionsThroughEveryKindOfWrite()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            Assert.Equal(LeadRollups.TriggerCount(db.Database.IsNpgsql()), await LeadRollups.InstalledTriggersAsync(db, Ct));
            var random = new Random(7);
            var campaigns = Enumerable.Range(0, 3).Select(i => new Campaign { Name = $"R{i}", CreatedAt = T0 }).ToList();
            db.Campaigns.AddRange(campaigns);
            var leads = new List<Lead>();
            for (var i = 0; i < 60; i++)
            {
                var lead = new Lead
                {
                    Email = $"r{i}@x.example",
                    Stage = LifecycleStage.Lead,
                    CreatedAt = T0.AddHours(i),
                    UpdatedAt = T0.AddHours(i),
                    FirstCampaignId = random.Next(5) == 0 ? null : campaigns[random.Next(3)].Id,
                };
                leads.Add(lead);
                db.Leads.Add(lead);
            }
            await db.SaveChangesAsync(Ct);

            string[] rules = ["rule", DispositionRules.Accept, DispositionRules.Reject("Student"), DispositionRules.Reject("BadFit"), "reopen", null!];
            LifecycleStage[] stages = [LifecycleStage.Lead, LifecycleStage.Mql, LifecycleStage.Sql, LifecycleStage.Opportunity, LifecycleStage.Customer, LifecycleStage.Recycled];
            StageTransition Random1(Guid leadId, DateTimeOffset at) => new()
            {
                LeadId = leadId,
                From = random.Next(3) == 0 ? null : stages[random.Next(stages.Length)],
                To = stages[random.Next(stages.Length)],
                // Same instant now and then: ties are broken by id.
                At = random.Next(4) == 0 ? at : at.AddMinutes(random.Next(0, 600)),
                ByRule = rules[random.Next(rules.Length)],
            };

            // 1. Inserts through EF, many per lead, out of time order.
            for (var i = 0; i < 400; i++)
            {
                var lead = leads[random.Next(leads.Count)];
                var t = Random1(lead.Id, lead.CreatedAt);
                if (random.Next(3) == 0)
                    t.From = LifecycleStage.Mql;
                db.StageTransitions.Add(t);
            }
            await db.SaveChangesAsync(Ct);
            await AssertEqualToRawAsync(db);

            // 2. Inserts through raw SQL (as bulk writers do).
            var raw = leads[5];
            var rawAt = db.Database.IsNpgsql() ? (object)raw.CreatedAt.AddDays(1) : raw.CreatedAt.AddDays(1).UtcTicks;
            await db.Database.ExecuteSqlRawAsync(
                "INSERT INTO \"StageTransitions\" (\"Id\", \"LeadId\", \"From\", \"To\", \"At\", \"ByRule\") VALUES ({0}, {1}, 'Mql', 'Recycled', {2}, {3})",
                [Ids.New(), raw.Id, rawAt, DispositionRules.Reject("NoBudget")], Ct);
            await AssertEqualToRawAsync(db);

            // 3. A merge: every transition of one lead moves to another, then the merged lead is deleted.
            var survivor = leads[1];
            var merged = leads[2];
            await db.StageTransitions.Where(t => t.LeadId == merged.Id).ExecuteUpdateAsync(s => s.SetProperty(t => t.LeadId, survivor.Id), Ct);
            await db.Leads.Where(l => l.Id == merged.Id).ExecuteDeleteAsync(Ct);
            leads.Remove(merged);
            await AssertEqualToRawAsync(db);

            // 4. Tracked updates and deletions of single transitions.
            var some = await db.StageTransitions.OrderBy(t => t.Id).Take(40).ToListAsync(Ct);
            foreach (var t in some.Take(20))
            {
                t.At = t.At.AddHours(-3);
                t.ByRule = rules[random.Next(rules.Length)];
                t.LeadId = leads[random.Next(leads.Count)].Id;
            }
            db.StageTransitions.RemoveRange(some.Skip(20));
            await db.SaveChangesAsync(Ct);
            await AssertEqualToRawAsync(db);

            // 5. A lead's first-touch campaign changes (and is cleared on another).
            await db.Leads.Where(l => l.Id == leads[3].Id).ExecuteUpdateAsync(s => s.SetProperty(l => l.FirstCampaignId, campaigns[2].Id), Ct);
            await db.Leads.Where(l => l.Id == leads[4].Id).ExecuteUpdateAsync(s => s.SetProperty(l => l.FirstCampaignId, (Guid?)null), Ct);
            await AssertEqualToRawAsync(db);

            // 6. The full rebuild gives the same rows.
            var before = await SnapshotAsync(db);
            await LeadRollups.RebuildAsync(db, Ct);
            Assert.Equal(before, await SnapshotAsync(db));
            return 0;
        });
    }

    [Fact]
    public async Task AMissingTriggerIsReinstalledAndTheTablesRebuiltAtStart()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var postgres = db.Database.IsNpgsql();
            var lead = new Lead { Email = "m@x.example", Stage = LifecycleStage.Lead, CreatedAt = T0, UpdatedAt = T0 };
            db.Leads.Add(lead);
            await db.SaveChangesAsync(Ct);
            // As a SQLite table rebuild would: the insert trigger is gone, and a transition is written without it.
            await db.Database.ExecuteSqlRawAsync(postgres
                ? "DROP TRIGGER tandem_rollup_transition_insert ON \"StageTransitions\""
                : "DROP TRIGGER tandem_rollup_transition_insert", Ct);
            db.StageTransitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = T0.AddHours(1), ByRule = "rule" });
            await db.SaveChangesAsync(Ct);
            Assert.Null(await db.LeadMilestones.AsNoTracking().Where(m => m.LeadId == lead.Id).Select(m => m.MqlAt).SingleOrDefaultAsync(Ct));

            await LeadRollups.EnsureInstalledAsync(db, Ct);
            Assert.Equal(LeadRollups.TriggerCount(postgres), await LeadRollups.InstalledTriggersAsync(db, Ct));
            Assert.Equal(T0.AddHours(1), await db.LeadMilestones.AsNoTracking().Where(m => m.LeadId == lead.Id).Select(m => m.MqlAt).SingleAsync(Ct));
            await AssertEqualToRawAsync(db);
            return 0;
        });
    }

    private static async Task<string> SnapshotAsync(TandemDb db)
    {
        var milestones = await db.LeadMilestones.AsNoTracking().ToListAsync(Ct);
        var verdicts = await db.CampaignVerdicts.AsNoTracking().ToListAsync(Ct);
        // Rows with no milestone at all carry no information (a lead that lost its transitions); compare the meaningful ones.
        return string.Join('\n', milestones.Where(m => m.MqlAt != null || m.SqlAt != null || m.OpportunityAt != null || m.CustomerAt != null
                                                       || m.AcceptedAt != null || m.RejectedAt != null)
                   .OrderBy(m => m.LeadId).Select(m => $"{m.LeadId} {m.MqlAt:O} {m.SqlAt:O} {m.OpportunityAt:O} {m.CustomerAt:O} {m.AcceptedAt:O} {m.RejectedAt:O} {m.RejectRule} {m.RejectTransitionId}"))
               + "\n--\n"
               + string.Join('\n', verdicts.OrderBy(v => v.TransitionId).Select(v => $"{v.TransitionId} {v.CampaignId} {v.LeadId} {v.At:O} {v.Accepted} {v.Rule}"));
    }

    /// <summary>The independent computation: every row loaded, plain loops.</summary>
    private static async Task AssertEqualToRawAsync(TandemDb db)
    {
        var leads = await db.Leads.AsNoTracking().Select(l => new { l.Id, l.FirstCampaignId }).ToListAsync(Ct);
        var transitions = await db.StageTransitions.AsNoTracking().ToListAsync(Ct);
        var isPostgres = db.Database.IsNpgsql();
        // Ties at the same instant are broken by id in the database's own order (uuid on PostgreSQL, text on SQLite).
        int CompareIds(Guid a, Guid b) => isPostgres
            ? string.CompareOrdinal(a.ToString("N"), b.ToString("N"))
            : string.CompareOrdinal(a.ToString().ToUpperInvariant(), b.ToString().ToUpperInvariant());

        var expected = new List<LeadMilestone>();
        foreach (var lead in leads)
        {
            var mine = transitions.Where(t => t.LeadId == lead.Id).ToList();
            DateTimeOffset? First(Func<StageTransition, bool> p) => mine.Where(p).Select(t => (DateTimeOffset?)t.At).Min();
            var rejects = mine.Where(t => DispositionRules.RejectReasonOf(t.ByRule) is not null).ToList();
            rejects.Sort((a, b) => a.At != b.At ? b.At.CompareTo(a.At) : CompareIds(b.Id, a.Id));
            var latest = rejects.FirstOrDefault();
            var m = new LeadMilestone
            {
                LeadId = lead.Id,
                MqlAt = First(t => t.To == LifecycleStage.Mql),
                SqlAt = First(t => t.To == LifecycleStage.Sql),
                OpportunityAt = First(t => t.To == LifecycleStage.Opportunity),
                CustomerAt = First(t => t.To == LifecycleStage.Customer),
                AcceptedAt = First(t => t.ByRule == DispositionRules.Accept),
                RejectedAt = latest?.At,
                RejectRule = latest?.ByRule,
                RejectTransitionId = latest?.Id,
            };
            if (m.MqlAt != null || m.SqlAt != null || m.OpportunityAt != null || m.CustomerAt != null || m.AcceptedAt != null || m.RejectedAt != null)
                expected.Add(m);
        }
        var campaignOf = leads.ToDictionary(l => l.Id, l => l.FirstCampaignId);
        var expectedVerdicts = transitions
            .Where(t => t.From == LifecycleStage.Mql && (t.ByRule == DispositionRules.Accept || DispositionRules.RejectReasonOf(t.ByRule) is not null)
                        && campaignOf.GetValueOrDefault(t.LeadId) is not null)
            .Select(t => new CampaignVerdict
            {
                TransitionId = t.Id,
                CampaignId = campaignOf[t.LeadId]!.Value,
                LeadId = t.LeadId,
                At = t.At,
                Accepted = t.ByRule == DispositionRules.Accept,
                Rule = t.ByRule!,
            }).ToList();

        var actual = await SnapshotAsync(db);
        var want = string.Join('\n', expected.OrderBy(m => m.LeadId).Select(m => $"{m.LeadId} {m.MqlAt:O} {m.SqlAt:O} {m.OpportunityAt:O} {m.CustomerAt:O} {m.AcceptedAt:O} {m.RejectedAt:O} {m.RejectRule} {m.RejectTransitionId}"))
                   + "\n--\n"
                   + string.Join('\n', expectedVerdicts.OrderBy(v => v.TransitionId).Select(v => $"{v.TransitionId} {v.CampaignId} {v.LeadId} {v.At:O} {v.Accepted} {v.Rule}"));
        Assert.Equal(want, actual);
        // No milestone row for a lead that no longer exists.
        var known = leads.Select(l => l.Id).ToHashSet();
        Assert.All(await db.LeadMilestones.AsNoTracking().Select(m => m.LeadId).ToListAsync(Ct), id => Assert.Contains(id, known));
    }
}

public sealed class LeadRollupsOnSqlite() : LeadRollupTests(DatabaseProvider.Sqlite);

public sealed class LeadRollupsOnPostgres() : LeadRollupTests(DatabaseProvider.Postgres);
