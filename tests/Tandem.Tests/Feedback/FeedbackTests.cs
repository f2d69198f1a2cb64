using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Feedback;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Qualification;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Feedback;

/// <summary>
/// The way back from sales to marketing on real databases: ratings (bounds, ownership, the 48-hour lock, audit), the campaign
/// owner told of each rejection and low rating, the guard flagging then pausing exactly at its thresholds, paused MQLs held and
/// routed on resume, impossible guard rules refused, and the scorecard equal to a computation by plain loops over the raw rows.
/// </summary>
public abstract class FeedbackTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly DateTimeOffset Monday10 = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private sealed record World(TandemApp App, FakeTimeProvider Clock, HttpClient Admin, HttpClient Rep, Guid RepId, HttpClient OtherRep, Guid MarketerId,
        Guid CampaignId, string RepPassword)
    {
        /// <summary>A fresh session for the rep (after the fake clock moved past the cookie's lifetime).</summary>
        public async Task<HttpClient> RepAgainAsync()
        {
            var client = App.CreateBrowserClient();
            await TandemApp.SignInAsync(client, "rep@example.com", RepPassword);
            return client;
        }
    }

    private static async Task<World> StartAsync(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(Monday10);
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:PollMilliseconds"] = "3600000",
            ["Tandem:Webhooks:AllowPrivateTargets"] = "true",
            ["Tandem:Webhooks:RunDispatcher"] = "false",
        });
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var (repId, repPassword) = await app.CreateUserAsync("rep@example.com", Roles.Sales);
        var (_, otherPassword) = await app.CreateUserAsync("other@example.com", Roles.Sales);
        var (marketerId, _) = await app.CreateUserAsync("mia@example.com", Roles.Marketing);
        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rep@example.com", repPassword);
        var other = app.CreateBrowserClient();
        await TandemApp.SignInAsync(other, "other@example.com", otherPassword);
        var campaign = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var c = new Campaign { Name = "Student list", Channel = Channel.PaidSocial, Status = CampaignStatus.Active, OwnerId = marketerId, CreatedAt = Monday10 };
            db.Campaigns.Add(c);
            await db.SaveChangesAsync(Ct);
            return c.Id;
        });
        return new World(app, clock, admin, rep, repId, other, marketerId, campaign, repPassword);
    }

    /// <summary>MQLs of the campaign owned by the rep, written directly (the capture path is tested elsewhere).</summary>
    private static Task<List<Guid>> MqlsAsync(World w, int count, Guid? campaign = null, string prefix = "lead") =>
        w.App.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var leads = Enumerable.Range(0, count).Select(i => new Lead
            {
                Email = $"{prefix}{i}@{Guid.NewGuid():N}.example",
                FirstName = $"{prefix}{i}",
                Stage = LifecycleStage.Mql,
                WorkStatus = WorkStatus.New,
                OwnerId = w.RepId,
                FirstCampaignId = campaign ?? w.CampaignId,
                CreatedAt = Monday10,
                UpdatedAt = Monday10,
                StageChangedAt = Monday10,
            }).ToList();
            db.Leads.AddRange(leads);
            await db.SaveChangesAsync(Ct);
            return leads.Select(l => l.Id).ToList();
        });

    private static async Task RejectAsync(HttpClient client, Guid lead, string reason)
    {
        var r = await client.PostAsync($"/api/v1/leads/{lead}/reject", Json($$"""{"reason":"{{reason}}","text":"from the test"}"""), Ct);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync(Ct));
    }

    private static async Task AcceptAsync(HttpClient client, Guid lead)
    {
        var r = await client.PostAsync($"/api/v1/leads/{lead}/accept", Json("""
            {"budget":true,"budgetNote":"b","authority":true,"authorityNote":"a","need":true,"needNote":"n","timing":true,"timingNote":"t"}
            """), Ct);
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync(Ct));
    }

    private static Task<CampaignStatus> StatusAsync(World w) =>
        w.App.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Campaigns.AsNoTracking().Where(c => c.Id == w.CampaignId).Select(c => c.Status).FirstAsync(Ct));

    [Fact]
    public async Task ARepRatesTheirLeadWithinBoundsEditsItFor48HoursAndTheOwnerHearsOfALowRating()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var lead = (await MqlsAsync(w, 1))[0];

        foreach (var bad in new[] { """{"leadQuality":0}""", """{"leadQuality":6}""", """{}""", """{"leadQuality":3,"meetingQuality":9}""" })
        {
            var r = await w.Rep.PostAsync($"/api/v1/leads/{lead}/rating", Json(bad), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var problem = await r.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.True(problem.GetProperty("errors").EnumerateObject().Any(e => e.Name is "leadQuality" or "meetingQuality"), problem.ToString());
        }
        Assert.Equal(HttpStatusCode.Forbidden, (await w.OtherRep.PostAsync($"/api/v1/leads/{lead}/rating", Json("""{"leadQuality":4}"""), Ct)).StatusCode);
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<LeadRating>().CountAsync(Ct)));

        var created = await w.Rep.PostAsync($"/api/v1/leads/{lead}/rating", Json("""{"leadQuality":1,"meetingQuality":2,"comment":"A student, no company"}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        w.Clock.Advance(TimeSpan.FromHours(47));
        var rep = await w.RepAgainAsync();
        var edited = await rep.PostAsync($"/api/v1/leads/{lead}/rating", Json("""{"leadQuality":2}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, edited.StatusCode);
        w.Clock.Advance(TimeSpan.FromHours(2));
        rep = await w.RepAgainAsync();
        var locked = await rep.PostAsync($"/api/v1/leads/{lead}/rating", Json("""{"leadQuality":5}"""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, locked.StatusCode);

        var ratings = await rep.GetFromJsonAsync<List<RatingView>>($"/api/v1/leads/{lead}/ratings", TandemApp.ApiJson, Ct);
        var rating = Assert.Single(ratings!);
        Assert.Equal((2, (int?)null, true), (rating.LeadQuality, rating.MeetingQuality, rating.Locked));
        var (audits, notes) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            return (await db.AuditEntries.Where(a => a.EntityId == lead.ToString()).Select(a => a.Action).ToListAsync(Ct),
                await db.Set<Notification>().Where(n => n.RecipientUserId == w.MarketerId && n.Channel == NotificationChannel.InApp && n.Kind == "feedback.low-rating")
                    .Select(n => new { n.Subject, n.Link }).ToListAsync(Ct));
        });
        Assert.Equal(["lead.rated", "lead.rating-changed"], audits.Order(StringComparer.Ordinal));
        Assert.Equal(2, notes.Count);
        Assert.All(notes, n => Assert.Equal($"/leads/{lead}", n.Link));
    }

    [Fact]
    public async Task EachRejectionNotifiesTheCampaignOwnerWithTheReasonInWords()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var lead = (await MqlsAsync(w, 1))[0];
        await RejectAsync(w.Rep, lead, "Student");
        var note = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .Where(n => n.RecipientUserId == w.MarketerId && n.Channel == NotificationChannel.InApp && n.Kind == "feedback.rejected").SingleAsync(Ct));
        Assert.Contains("student", note.Subject, StringComparison.Ordinal);
        Assert.DoesNotContain("Student", note.Subject, StringComparison.Ordinal);
        Assert.Contains("from the test", note.Body, StringComparison.Ordinal);
        Assert.Equal($"/leads/{lead}", note.Link);
    }

    [Fact]
    public async Task TheGuardFlagsExactlyAtTheWindowAndPausesAfterTheConfiguredLeadsThenHoldsAndResumes()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var leads = await MqlsAsync(w, 26);
        var endpoint = await w.Admin.PostAsync("/api/v1/webhook-endpoints", Json("""{"url":"http://127.0.0.1:9/ads","events":["campaign.paused","campaign.flagged"]}"""), Ct);
        Assert.Equal(HttpStatusCode.Created, endpoint.StatusCode);
        // 7 accepted and 12 rejected: 19 verdicts, the window (20) is not full, nothing is judged yet.
        foreach (var l in leads.Take(7))
            await AcceptAsync(w.Admin, l);
        foreach (var l in leads.Skip(7).Take(12))
            await RejectAsync(w.Rep, l, "NoBudget");
        Assert.Equal(CampaignStatus.Active, await StatusAsync(w));
        // The 20th verdict: 7/20 = 35 % < 40 % → Flagged.
        await RejectAsync(w.Rep, leads[19], "NoBudget");
        Assert.Equal(CampaignStatus.Flagged, await StatusAsync(w));
        var guard = await w.Admin.GetFromJsonAsync<GuardView>($"/api/v1/campaigns/{w.CampaignId}/guard", TandemApp.ApiJson, Ct);
        Assert.Equal((20, 7, 0.35m), (guard!.Figures.Dispositions, guard.Figures.Accepted, guard.Figures.Acceptance));
        Assert.Contains("acceptance", guard.Figures.Fired);
        Assert.Contains("35", guard.LastDecision, StringComparison.Ordinal);
        // Four more bad verdicts: still flagged; the fifth (pauseAfter = 5) pauses it.
        foreach (var l in leads.Skip(20).Take(4))
            await RejectAsync(w.Rep, l, "NoBudget");
        Assert.Equal(CampaignStatus.Flagged, await StatusAsync(w));
        await RejectAsync(w.Rep, leads[24], "NoBudget");
        Assert.Equal(CampaignStatus.Paused, await StatusAsync(w));
        var events = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Tandem.Features.Platform.OutboundWebhooks.WebhookDelivery>()
            .Select(d => new { d.EventType, d.Payload }).ToListAsync(Ct));
        Assert.Equal(["campaign.flagged", "campaign.paused"], events.Select(e => e.EventType).Order(StringComparer.Ordinal));
        Assert.Contains(w.CampaignId.ToString(), events.Single(e => e.EventType == "campaign.paused").Payload, StringComparison.OrdinalIgnoreCase);
        var campaigns = await w.Admin.GetFromJsonAsync<JsonElement>("/api/v1/campaigns", Ct);
        Assert.Contains(campaigns.GetProperty("items").EnumerateArray(), c => c.GetProperty("status").GetString() == "Paused");

        // A new MQL of the paused campaign is held (not routed); one of another campaign is routed.
        var (held, routed) = await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var other = new Campaign { Name = "Healthy", Channel = Channel.Email, Status = CampaignStatus.Active, CreatedAt = Monday10 };
            db.Campaigns.Add(other);
            var a = new Lead { Email = "held@x.example", Stage = LifecycleStage.Mql, FirstCampaignId = w.CampaignId, CreatedAt = Monday10, UpdatedAt = Monday10 };
            var b = new Lead { Email = "routed@x.example", Stage = LifecycleStage.Mql, FirstCampaignId = other.Id, CreatedAt = Monday10, UpdatedAt = Monday10 };
            db.Leads.AddRange(a, b);
            await db.SaveChangesAsync(Ct);
            foreach (var lead in new[] { a, b })
            {
                await using var tx = await db.Database.BeginTransactionAsync(Ct);
                foreach (var listener in sp.GetServices<IMqlListener>())
                {
                    await listener.PrepareAsync(db, Ct);
                    await listener.OnMqlAsync(db, lead, new StageTransition { LeadId = lead.Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = Monday10 }, Ct);
                }
                await db.SaveChangesAsync(Ct);
                await tx.CommitAsync(Ct);
            }
            return (a.Id, b.Id);
        });
        async Task<int> AssignmentsAsync(Guid id) => await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Assignments.CountAsync(x => x.LeadId == id, Ct));
        Assert.Equal(0, await AssignmentsAsync(held));
        Assert.Equal(1, await AssignmentsAsync(routed));

        // Resuming needs a note; with one the campaign is active again and the held MQL is routed.
        var noNote = await w.Admin.PostAsync($"/api/v1/campaigns/{w.CampaignId}/resume", Json("{}"), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, noNote.StatusCode);
        Assert.Contains("note", await noNote.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var resumed = await w.Admin.PostAsync($"/api/v1/campaigns/{w.CampaignId}/resume", Json("""{"note":"Student list removed from the audience"}"""), Ct);
        Assert.True(resumed.IsSuccessStatusCode, await resumed.Content.ReadAsStringAsync(Ct));
        Assert.Equal(CampaignStatus.Active, await StatusAsync(w));
        Assert.Equal(1, await AssignmentsAsync(held));
        var actions = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().AuditEntries.Where(a => a.EntityId == w.CampaignId.ToString())
            .Select(a => a.Action).ToListAsync(Ct));
        Assert.Equal(["campaign.flagged", "campaign.paused", "campaign.resumed"], actions.Order(StringComparer.Ordinal));
        var flagged = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<Notification>()
            .CountAsync(n => n.RecipientUserId == w.MarketerId && n.Channel == NotificationChannel.InApp && n.Kind == "campaign.paused", Ct));
        Assert.Equal(1, flagged);
    }

    [Fact]
    public async Task AGuardRuleThatCanNeverFireIsRefusedWithAFieldErrorAndNothingIsWritten()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        foreach (var (body, field) in new[]
                 {
                     ("""{"minAcceptance":0}""", "minAcceptance"),
                     ("""{"minAcceptance":1.5}""", "minAcceptance"),
                     ("""{"minMeanRating":1}""", "minMeanRating"),
                     ("""{"maxBadFitShare":1.2}""", "maxBadFitShare"),
                     ("""{"window":0}""", "window"),
                     ("""{"minAcceptance":null,"minMeanRating":null,"maxBadFitShare":null}""", "minAcceptance"),
                 })
        {
            var r = await w.Admin.PutAsync($"/api/v1/campaigns/{w.CampaignId}/guard", Json(body), Ct);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var problem = await r.Content.ReadFromJsonAsync<JsonElement>(Ct);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{body}: {problem}");
        }
        Assert.Equal(0, await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<CampaignGuardState>().CountAsync(Ct)));
        var ok = await w.Admin.PutAsync($"/api/v1/campaigns/{w.CampaignId}/guard", Json("""{"window":10,"minAcceptance":0.5,"pauseAfter":0}"""), Ct);
        Assert.True(ok.IsSuccessStatusCode, await ok.Content.ReadAsStringAsync(Ct));
        var view = await ok.Content.ReadFromJsonAsync<GuardView>(TandemApp.ApiJson, Ct);
        Assert.Equal((10, 0.5m, false), (view!.Rule.Window, view.Rule.MinAcceptance, view.RuleIsDefault));
    }

    [Fact]
    public async Task TheScorecardEqualsAPlainComputationOverTheRawRows()
    {
        var w = await StartAsync(provider);
        await using var app = w.App;
        var random = new Random(42);
        string[] reasons = ["Student", "BadFit", "NoBudget", "BadTiming"];
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            var campaigns = Enumerable.Range(0, 3).Select(i => new Campaign { Name = $"C{i}", Channel = (Channel)i, CreatedAt = Monday10 }).ToList();
            db.Campaigns.AddRange(campaigns);
            for (var i = 0; i < 120; i++)
            {
                var created = Monday10.AddDays(-random.Next(0, 40));
                var lead = new Lead
                {
                    Email = $"s{i}@x.example",
                    Stage = LifecycleStage.Lead,
                    CreatedAt = created,
                    UpdatedAt = created,
                    FirstCampaignId = random.Next(4) == 0 ? null : campaigns[random.Next(3)].Id,
                    FirstChannel = (Channel)random.Next(3),
                };
                db.Leads.Add(lead);
                var at = created.AddHours(1);
                void T(LifecycleStage from, LifecycleStage to, string? rule) =>
                    db.StageTransitions.Add(new StageTransition { LeadId = lead.Id, From = from, To = to, At = at = at.AddMinutes(5), ByRule = rule });
                if (random.Next(3) == 0)
                    continue;
                T(LifecycleStage.Lead, LifecycleStage.Mql, "rule");
                switch (random.Next(4))
                {
                    case 0:
                        T(LifecycleStage.Mql, LifecycleStage.Sql, DispositionRules.Accept);
                        break;
                    case 1:
                        T(LifecycleStage.Mql, LifecycleStage.Recycled, DispositionRules.Reject(reasons[random.Next(4)]));
                        if (random.Next(2) == 0)
                        {
                            T(LifecycleStage.Recycled, LifecycleStage.Mql, "reopen");
                            T(LifecycleStage.Mql, LifecycleStage.Disqualified, DispositionRules.Reject(reasons[random.Next(4)]));
                        }
                        break;
                    case 2:
                        T(LifecycleStage.Mql, LifecycleStage.Recycled, DispositionRules.Reject("Student"));
                        T(LifecycleStage.Recycled, LifecycleStage.Mql, "reopen");
                        T(LifecycleStage.Mql, LifecycleStage.Sql, DispositionRules.Accept);
                        break;
                }
                if (random.Next(2) == 0)
                {
                    db.Add(new LeadRating
                    {
                        LeadId = lead.Id,
                        ByUserId = w.RepId,
                        LeadQuality = random.Next(1, 6),
                        MeetingQuality = random.Next(3) == 0 ? null : random.Next(1, 6),
                        CreatedAt = at,
                        UpdatedAt = at,
                    });
                }
            }
            await db.SaveChangesAsync(Ct);
            return 0;
        });

        var from = DateOnly.FromDateTime(Monday10.AddDays(-30).UtcDateTime);
        var to = DateOnly.FromDateTime(Monday10.UtcDateTime);
        foreach (var by in new[] { "campaign", "channel" })
        {
            var card = await w.Admin.GetFromJsonAsync<Scorecard>($"/api/v1/reports/lead-quality?by={by}&from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}",
                TandemApp.ApiJson, Ct);
            // The independent computation: every row loaded, plain loops.
            var expected = await app.WithServiceAsync(async sp =>
            {
                var db = sp.GetRequiredService<TandemDb>();
                var leads = await db.Leads.AsNoTracking().ToListAsync(Ct);
                var transitions = await db.StageTransitions.AsNoTracking().ToListAsync(Ct);
                var ratings = await db.Set<LeadRating>().AsNoTracking().ToListAsync(Ct);
                var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                var end = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
                var result = new Dictionary<string, (int Leads, int Mqls, int Acc, int Rej, int Sqls, List<int> Lr, List<int> Mr, Dictionary<string, int> Reasons)>();
                foreach (var l in leads.Where(l => l.CreatedAt >= start && l.CreatedAt < end))
                {
                    var key = by == "campaign" ? l.FirstCampaignId?.ToString() ?? "none" : l.FirstChannel?.ToString() ?? "none";
                    if (!result.TryGetValue(key, out var r))
                        r = (0, 0, 0, 0, 0, [], [], []);
                    var mine = transitions.Where(t => t.LeadId == l.Id).OrderBy(t => t.At).ToList();
                    var accepted = mine.Any(t => t.ByRule == DispositionRules.Accept);
                    var rejects = mine.Where(t => t.ByRule?.StartsWith(DispositionRules.RejectPrefix, StringComparison.Ordinal) == true).ToList();
                    r.Leads++;
                    if (mine.Any(t => t.To == LifecycleStage.Mql)) r.Mqls++;
                    if (accepted) r.Acc++;
                    if (!accepted && rejects.Count > 0)
                    {
                        r.Rej++;
                        var reason = rejects[^1].ByRule![DispositionRules.RejectPrefix.Length..];
                        r.Reasons[reason] = r.Reasons.GetValueOrDefault(reason) + 1;
                    }
                    if (mine.Any(t => t.To == LifecycleStage.Sql)) r.Sqls++;
                    foreach (var rating in ratings.Where(x => x.LeadId == l.Id))
                    {
                        r.Lr.Add(rating.LeadQuality);
                        if (rating.MeetingQuality is { } m) r.Mr.Add(m);
                    }
                    result[key] = r;
                }
                return result;
            });
            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), card!.Rows.Select(r => r.Key).Order(StringComparer.Ordinal));
            foreach (var row in card.Rows)
            {
                var e = expected[row.Key];
                Assert.Equal((e.Leads, e.Mqls, e.Acc, e.Rej, e.Acc + e.Rej, e.Sqls), (row.Leads, row.Mqls, row.Accepted, row.Rejected, row.Dispositioned, row.Sqls));
                Assert.Equal(e.Acc + e.Rej == 0 ? null : Math.Round((decimal)e.Acc / (e.Acc + e.Rej), 4), row.AcceptanceRate);
                Assert.Equal(e.Leads == 0 ? null : Math.Round((decimal)e.Mqls / e.Leads, 4), row.MqlRate);
                Assert.Equal(e.Lr.Count == 0 ? null : Math.Round((decimal)e.Lr.Sum() / e.Lr.Count, 2), row.MeanLeadRating);
                Assert.Equal(e.Mr.Count == 0 ? null : Math.Round((decimal)e.Mr.Sum() / e.Mr.Count, 2), row.MeanMeetingRating);
                Assert.Equal(e.Reasons.OrderBy(x => x.Key, StringComparer.Ordinal), row.RejectionReasons.OrderBy(x => x.Key, StringComparer.Ordinal));
            }
        }
        var csv = await w.Admin.GetStringAsync($"/api/v1/reports/lead-quality.csv?by=campaign&from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}", Ct);
        Assert.StartsWith("key,name,leads,mqls", csv, StringComparison.Ordinal);
        var bad = await w.Admin.GetAsync("/api/v1/reports/lead-quality?by=nonsense&from=2026-13-01", Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var problem = await bad.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(problem.GetProperty("errors").TryGetProperty("by", out _) && problem.GetProperty("errors").TryGetProperty("from", out _));
    }
}

public sealed class FeedbackOnSqlite() : FeedbackTests(DatabaseProvider.Sqlite);

public sealed class FeedbackOnPostgres() : FeedbackTests(DatabaseProvider.Postgres);
