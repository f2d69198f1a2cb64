using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Feedback;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Qualification;

namespace Tandem.Tests.Feedback;

/// <summary>
/// Evidence per scoring rule and the weekly trend on real databases, on generated data, compared with a computation written
/// independently of the implementation (plain predicates and loops over the rows the test wrote).
/// </summary>
public abstract class EvidenceTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private sealed record Generated(Guid Id, string Title, int? Size, bool FreeMail, List<(ActivityType Type, DateTimeOffset At)> Activities,
        List<(DateTimeOffset At, bool Accepted)> Verdicts, List<int> Ratings);

    [Fact]
    public async Task EachRulesEvidenceEqualsAPlainComputationOverTheGeneratedLeads()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:PollMilliseconds"] = "3600000",
        });
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var empty = await admin.GetFromJsonAsync<RuleEvidenceReport>("/api/v1/qualification/evidence", TandemApp.ApiJson, Ct);
        Assert.Empty(empty!.Rules);
        var draft = await admin.PostAsJsonAsync("/api/v1/qualification/versions", new { summary = "evidence" }, TandemApp.ApiJson, Ct);
        var version = (await draft.Content.ReadFromJsonAsync<VersionDetail>(TandemApp.ApiJson, Ct))!;
        var saved = await admin.PutAsJsonAsync($"/api/v1/qualification/versions/{version.Version.Id}",
            new DraftRequest(QualificationApiTests.HandDefinition(), "evidence", version.Version.Revision), TandemApp.ApiJson, Ct);
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync(Ct));
        Assert.True((await admin.PostAsync($"/api/v1/qualification/versions/{version.Version.Id}/activate", null, Ct)).IsSuccessStatusCode);

        var random = new Random(14);
        var t0 = new DateTimeOffset(2026, 10, 1, 9, 0, 0, TimeSpan.Zero);
        string[] titles = ["CFO", "Student", "Engineer", "Finance director"];
        int?[] sizes = [null, 20, 100, 1000];
        var generated = new List<Generated>();
        for (var i = 0; i < 60; i++)
        {
            var verdictAt = t0.AddDays(random.Next(1, 30));
            var activities = new List<(ActivityType, DateTimeOffset)>();
            if (random.Next(3) == 0)
                activities.Add((ActivityType.DemoRequest, verdictAt.AddHours(-random.Next(1, 100))));
            if (random.Next(4) == 0)
                activities.Add((ActivityType.DemoRequest, verdictAt.AddHours(random.Next(1, 100)))); // after the verdict: does not count
            if (random.Next(2) == 0)
                activities.Add((ActivityType.ContentDownload, verdictAt.AddHours(-random.Next(1, 100))));
            var verdicts = new List<(DateTimeOffset, bool)> { (verdictAt, random.Next(2) == 0) };
            if (random.Next(5) == 0)
                verdicts.Add((verdictAt.AddDays(2), true)); // rejected, then accepted: the latest verdict counts
            var ratings = Enumerable.Range(0, random.Next(3)).Select(_ => random.Next(1, 6)).ToList();
            generated.Add(new Generated(Guid.CreateVersion7(), titles[random.Next(titles.Length)], sizes[random.Next(sizes.Length)], random.Next(3) == 0,
                activities, verdicts, ratings));
        }
        // A lead never dispositioned is in no figure.
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            foreach (var g in generated.Append(new Generated(Guid.CreateVersion7(), "CFO", 100, false, [], [], [5])))
            {
                db.Leads.Add(new Lead
                {
                    Id = g.Id,
                    Email = $"p{g.Id:N}@{(g.FreeMail ? "gmail.com" : "acme-" + g.Id.ToString("N")[..6] + ".example")}",
                    JobTitle = g.Title,
                    CompanySize = g.Size,
                    Stage = LifecycleStage.Mql,
                    CreatedAt = t0,
                    UpdatedAt = t0,
                    StageChangedAt = t0,
                });
                foreach (var (type, at) in g.Activities)
                    db.Activities.Add(new Activity { LeadId = g.Id, Type = type, OccurredAt = at, CreatedAt = at });
                foreach (var (at, accepted) in g.Verdicts)
                    db.StageTransitions.Add(new StageTransition
                    {
                        LeadId = g.Id,
                        From = LifecycleStage.Mql,
                        To = accepted ? LifecycleStage.Sql : LifecycleStage.Recycled,
                        At = at,
                        ByRule = accepted ? DispositionRules.Accept : DispositionRules.Reject("BadFit"),
                    });
                foreach (var r in g.Ratings)
                    db.Set<LeadRating>().Add(new LeadRating { LeadId = g.Id, ByUserId = Guid.CreateVersion7(), ByName = "rep", LeadQuality = r, CreatedAt = t0, UpdatedAt = t0 });
            }
            await db.SaveChangesAsync(Ct);
            return 0;
        });

        // The rules of HandDefinition written as plain predicates over what the test generated, as of each lead's latest verdict.
        static DateTimeOffset Latest(Generated g) => g.Verdicts.Max(v => v.At);
        var predicates = new Dictionary<string, Func<Generated, bool>>
        {
            ["cfo"] = g => g.Title is "CFO" or "Finance director",
            ["size"] = g => g.Size is >= 50 and <= 500,
            ["freemail"] = g => g.FreeMail,
            ["student"] = g => g.Title == "Student",
            ["demo"] = g => g.Activities.Any(a => a.Type == ActivityType.DemoRequest && a.At <= Latest(g)),
            ["download"] = g => g.Activities.Any(a => a.Type == ActivityType.ContentDownload && a.At <= Latest(g)),
            ["capture"] = _ => false,
        };
        static (int Leads, int Accepted, decimal? Rate, int Ratings, decimal? Mean) Expected(IEnumerable<Generated> leads)
        {
            var list = leads.ToList();
            var accepted = list.Count(g => g.Verdicts.MaxBy(v => v.At).Accepted);
            var ratings = list.SelectMany(g => g.Ratings).ToList();
            return (list.Count, accepted, list.Count == 0 ? null : Math.Round((decimal)accepted / list.Count, 4), ratings.Count,
                ratings.Count == 0 ? null : Math.Round((decimal)ratings.Sum() / ratings.Count, 2));
        }

        var report = await admin.GetFromJsonAsync<RuleEvidenceReport>("/api/v1/qualification/evidence", TandemApp.ApiJson, Ct);
        Assert.Equal(generated.Count, report!.Leads);
        Assert.Equal(generated.Sum(g => g.Verdicts.Count), report.Dispositions);
        Assert.Equal(predicates.Keys.Order(StringComparer.Ordinal), report.Rules.Select(r => r.RuleId).Order(StringComparer.Ordinal));
        foreach (var row in report.Rules)
        {
            var scored = Expected(generated.Where(predicates[row.RuleId]));
            var notScored = Expected(generated.Where(g => !predicates[row.RuleId](g)));
            Assert.Equal(scored, (row.Scored.Leads, row.Scored.Accepted, row.Scored.AcceptanceRate, row.Scored.Ratings, row.Scored.MeanRating));
            Assert.Equal(notScored, (row.NotScored.Leads, row.NotScored.Accepted, row.NotScored.AcceptanceRate, row.NotScored.Ratings, row.NotScored.MeanRating));
        }
        Assert.Contains(report.Rules, r => r.Scored.Leads > 0 && r.NotScored.Leads > 0);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateApiClient().GetAsync("/api/v1/qualification/evidence", Ct)).StatusCode);
    }
    [Fact]
    public async Task TheWeeklyTrendEqualsAPlainComputationPerCampaignAndIsoWeek()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:PollMilliseconds"] = "3600000",
        });
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var random = new Random(41);
        // Monday 2026-11-02 to Sunday 2026-12-13: six ISO weeks (W45–W50); events land before, inside and after the period.
        var from = new DateOnly(2026, 11, 4);
        var to = new DateOnly(2026, 12, 10);
        var t0 = new DateTimeOffset(2026, 10, 20, 0, 0, 0, TimeSpan.Zero);
        var events = new List<(Guid Campaign, string Kind, DateTimeOffset At, int Value)>();
        var campaigns = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var ids = new List<Guid>();
            foreach (var name in new[] { "Alpha", "Beta", "Gamma" })
            {
                var c = new Tandem.Features.Campaigns.Campaign { Name = name, Channel = Tandem.Features.Campaigns.Channel.Email, CreatedAt = t0 };
                db.Campaigns.Add(c);
                ids.Add(c.Id);
            }
            DateTimeOffset Any() => t0.AddMinutes(random.Next(0, 60 * 24 * 63));
            for (var i = 0; i < 150; i++)
            {
                var campaign = ids[random.Next(ids.Count)];
                var created = Any();
                var lead = new Lead { Email = $"t{i}@trend.example", FirstCampaignId = campaign, Stage = LifecycleStage.Lead, CreatedAt = created, UpdatedAt = created, StageChangedAt = created };
                db.Leads.Add(lead);
                events.Add((campaign, "lead", created, 0));
                if (random.Next(3) == 0)
                    continue;
                var mql = created.AddHours(random.Next(1, 200));
                var mqlTimes = new[] { mql, mql.AddDays(random.Next(1, 20)) }.Take(random.Next(1, 3)).ToList(); // a second entry does not count
                foreach (var at in mqlTimes)
                    db.StageTransitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = at, ByRule = "test" });
                events.Add((campaign, "mql", mqlTimes.Min(), 0));
                foreach (var _ in Enumerable.Range(0, random.Next(0, 3)))
                {
                    var at = mql.AddHours(random.Next(1, 300));
                    var accepted = random.Next(2) == 0;
                    db.StageTransitions.Add(new StageTransition
                    {
                        LeadId = lead.Id,
                        From = LifecycleStage.Mql,
                        To = accepted ? LifecycleStage.Sql : LifecycleStage.Recycled,
                        At = at,
                        ByRule = accepted ? DispositionRules.Accept : DispositionRules.Reject("Student"),
                    });
                    events.Add((campaign, accepted ? "accepted" : "rejected", at, 0));
                }
                if (random.Next(2) == 0)
                {
                    var at = mql.AddHours(random.Next(1, 300));
                    var quality = random.Next(1, 6);
                    db.Set<LeadRating>().Add(new LeadRating { LeadId = lead.Id, ByUserId = Guid.CreateVersion7(), ByName = "rep", LeadQuality = quality, CreatedAt = at, UpdatedAt = at });
                    events.Add((campaign, "rating", at, quality));
                }
            }
            await db.SaveChangesAsync(Ct);
            return ids;
        });

        var report = await admin.GetFromJsonAsync<LeadQualityTrendReport>(
            $"/api/v1/reports/lead-quality/trend?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&campaignIds={campaigns[0]},{campaigns[1]}", TandemApp.ApiJson, Ct);
        Assert.Equal(new DateOnly(2026, 11, 2), report!.From);
        Assert.Equal(new DateOnly(2026, 12, 13), report.To);
        Assert.Equal([campaigns[0].ToString(), campaigns[1].ToString()], report.Series.Select(s => s.Key));
        Assert.Equal(["Alpha", "Beta"], report.Series.Select(s => s.Name));
        foreach (var series in report.Series)
        {
            Assert.Equal(["2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49", "2026-W50"], series.Weeks.Select(w => w.Week));
            foreach (var week in series.Weeks)
            {
                var startsAt = new DateTimeOffset(week.WeekStart.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                var inWeek = events.Where(e => e.Campaign.ToString() == series.Key && e.At >= startsAt && e.At < startsAt.AddDays(7)).ToList();
                int Count(string kind) => inWeek.Count(e => e.Kind == kind);
                var accepted = Count("accepted");
                var dispositioned = accepted + Count("rejected");
                var ratings = inWeek.Where(e => e.Kind == "rating").Select(e => e.Value).ToList();
                Assert.Equal(System.Globalization.ISOWeek.GetWeekOfYear(startsAt.UtcDateTime), int.Parse(week.Week[^2..], System.Globalization.CultureInfo.InvariantCulture));
                Assert.Equal((Count("lead"), Count("mql"), accepted, Count("rejected"), dispositioned == 0 ? (decimal?)null : Math.Round((decimal)accepted / dispositioned, 4),
                        ratings.Count, ratings.Count == 0 ? (decimal?)null : Math.Round((decimal)ratings.Sum() / ratings.Count, 2)),
                    (week.Leads, week.Mqls, week.Accepted, week.Rejected, week.AcceptanceRate, week.Ratings, week.MeanRating));
            }
        }
        Assert.True(report.Series.Sum(s => s.Weeks.Sum(w => w.Accepted + w.Rejected)) > 0);
        var all = await admin.GetFromJsonAsync<LeadQualityTrendReport>($"/api/v1/reports/lead-quality/trend?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}", TandemApp.ApiJson, Ct);
        var inPeriod = events.Where(e => e.Kind == "lead" && e.At >= new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero) && e.At < new DateTimeOffset(2026, 12, 14, 0, 0, 0, TimeSpan.Zero));
        Assert.Equal(inPeriod.Count(), Assert.Single(all!.Series).Weeks.Sum(w => w.Leads));
        var csv = await admin.GetStringAsync($"/api/v1/reports/lead-quality/trend.csv?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}&campaignIds={campaigns[0]}", Ct);
        Assert.Equal(7, csv.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        var tooMany = await admin.GetAsync($"/api/v1/reports/lead-quality/trend?campaignIds={string.Join(',', Enumerable.Range(0, 6).Select(_ => Guid.CreateVersion7()))}", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
    }
}

public sealed class EvidenceOnSqlite() : EvidenceTests(DatabaseProvider.Sqlite);

public sealed class EvidenceOnPostgres() : EvidenceTests(DatabaseProvider.Postgres);
