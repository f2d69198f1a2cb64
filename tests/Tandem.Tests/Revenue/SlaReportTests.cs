using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Tandem.Data;
using Tandem.Features.Feedback;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Revenue;

/// <summary>
/// The two-sided SLA report on real databases: every figure of every week and of the whole period compared with plain loops over the raw rows
/// of a generated dataset in a time zone with a DST change inside the period; weeks cut at local midnight; no commitment and no MQLs; the
/// planner's figure as the commitment; the monthly statement as JSON, CSV and printable HTML; bad periods answered with field errors.
/// </summary>
public abstract class SlaReportTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    private static readonly DateTimeOffset Now = new(2026, 12, 1, 15, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
    private static readonly ActivityType[] AttemptTypes = [ActivityType.Call, ActivityType.EmailSent, ActivityType.Meeting];

    private sealed record Raw(List<StageTransition> Transitions, List<LeadRating> Ratings, List<Assignment> Assignments, List<Activity> Activities,
        List<RevenueGoal> Goals);

    private static async Task<(TandemApp App, HttpClient Client)> StartAsync(DatabaseProvider provider)
    {
        var clock = new FakeTimeProvider(Now);
        var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:Notifications:RunDispatcher"] = "false",
            ["Tandem:Handoff:RunMonitor"] = "false",
            ["Tandem:Webhooks:RunDispatcher"] = "false",
            ["Tandem:WeeklyReport:RunJob"] = "false",
        });
        app.TestServices = s => s.AddSingleton<TimeProvider>(clock);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read)));
    }

    private static DateTimeOffset Local(int y, int m, int d, int h = 0, int min = 0, int s = 0) =>
        new(TimeZoneInfo.ConvertTimeToUtc(new DateTime(y, m, d, h, min, s, DateTimeKind.Unspecified), NewYork), TimeSpan.Zero);

    /// <summary>MQLs, verdicts, ratings, assignments with cadences and touches over four months, in New York (DST ends on 1 November 2026).</summary>
    private static Task<Raw> SeedAsync(TandemApp app, bool goals = true) => app.WithServiceAsync(async sp =>
    {
        var db = sp.GetRequiredService<TandemDb>();
        var random = new Random(11);
        var reps = new[] { (await app.CreateUserAsync("rep1@example.com", Roles.Sales)).Item1, (await app.CreateUserAsync("rep2@example.com", Roles.Sales)).Item1 };
        db.RevenueSettings.Add(new RevenueSettings { TimeZone = "America/New_York", SlaFirstTouchTarget = 0.5m, SlaAttemptsTarget = 0.4m });
        var goalRows = new List<RevenueGoal>();
        if (goals)
        {
            goalRows.Add(new RevenueGoal { Period = GoalPeriod.Quarter, StartsOn = new DateOnly(2026, 7, 1), Amount = 100_000m, CommittedMqls = 80, AcceptanceFloor = 0.5m, RatingFloor = 3m, CreatedAt = Now.AddDays(-100) });
            goalRows.Add(new RevenueGoal { Period = GoalPeriod.Quarter, StartsOn = new DateOnly(2026, 10, 1), Amount = 100_000m, CommittedMqls = 100, AcceptanceFloor = 0.45m, CreatedAt = Now.AddDays(-60) });
            // A month goal wins over the quarter for its days; a segment goal is not the workspace's commitment.
            goalRows.Add(new RevenueGoal { Period = GoalPeriod.Month, StartsOn = new DateOnly(2026, 11, 1), Amount = 40_000m, CommittedMqls = 40, AcceptanceFloor = 0.7m, RatingFloor = 3.5m, CreatedAt = Now.AddDays(-30) });
            goalRows.Add(new RevenueGoal { Period = GoalPeriod.Month, StartsOn = new DateOnly(2026, 11, 1), Amount = 10_000m, Segment = "Enterprise", CommittedMqls = 5000, CreatedAt = Now.AddDays(-20) });
            db.RevenueGoals.AddRange(goalRows);
        }
        var leads = new List<Lead>();
        var transitions = new List<StageTransition>();
        var ratings = new List<LeadRating>();
        var assignments = new List<Assignment>();
        var activities = new List<Activity>();
        var start = Local(2026, 8, 25);
        // Week boundaries in the zone: the last second of a Sunday and the first of a Monday, both sides of the DST change.
        DateTimeOffset[] boundaries = [Local(2026, 11, 1, 23, 59, 59), Local(2026, 11, 2), Local(2026, 10, 25, 23, 59, 59), Local(2026, 10, 26), Local(2026, 11, 30, 23, 59, 59)];
        for (var i = 0; i < 140; i++)
        {
            var mqlAt = i < boundaries.Length ? boundaries[i] : start.AddMinutes(random.Next(0, 98 * 24 * 60));
            var lead = new Lead { Email = $"s{i}@example.com", CreatedAt = mqlAt.AddDays(-2), UpdatedAt = mqlAt, StageChangedAt = mqlAt, Stage = LifecycleStage.Mql };
            leads.Add(lead);
            transitions.Add(new StageTransition { LeadId = lead.Id, From = null, To = LifecycleStage.Lead, At = lead.CreatedAt, ByRule = "capture" });
            if (random.Next(8) == 0)
                continue; // never an MQL
            transitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Lead, To = LifecycleStage.Mql, At = mqlAt, ByRule = "scoring" });
            var at = mqlAt.AddMinutes(random.Next(1, 30));
            var rep = random.Next(6) == 0 ? (Guid?)null : reps[random.Next(2)];
            var due = at.AddMinutes(random.Next(30, 3000));
            DateTimeOffset? touched = rep is null || random.Next(5) == 0 ? null : at.AddMinutes(random.Next(5, 4000));
            if (touched > Now)
                touched = null;
            int? k = random.Next(4) == 0 ? null : random.Next(2, 5);
            var windowEnd = at.AddDays(random.Next(2, 6));
            DateTimeOffset? connected = random.Next(4) == 0 ? at.AddHours(random.Next(1, 150)) : null;
            DateTimeOffset? closed = random.Next(3) == 0 ? at.AddHours(random.Next(1, 200)) : null;
            var state = random.Next(7) == 0 ? AssignmentState.Reassigned : closed is not null ? AssignmentState.Closed : touched is null ? AssignmentState.Open : AssignmentState.Touched;
            assignments.Add(new Assignment
            {
                LeadId = lead.Id,
                RepId = rep,
                Tier = (SlaTier)random.Next(3),
                State = state,
                MqlAt = mqlAt,
                AssignedAt = at,
                FirstTouchDueAt = due,
                FirstTouchedAt = touched,
                Attempts = k,
                AttemptsDueAt = k is null ? null : windowEnd,
                ConnectedAt = connected,
                ClosedAt = closed,
                Reason = "test",
            });
            var touches = random.Next(0, 6);
            for (var t = 0; t < touches; t++)
            {
                var type = random.Next(5) == 0 ? ActivityType.PageView : AttemptTypes[random.Next(3)];
                var when = at.AddHours(random.Next(-10, 140));
                activities.Add(new Activity { LeadId = lead.Id, Type = type, OccurredAt = when, CreatedAt = when });
            }
            // A lead recycled then MQL again: only its first entry counts.
            if (random.Next(10) == 0)
            {
                transitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Mql, To = LifecycleStage.Recycled, At = mqlAt.AddDays(3), ByRule = "manual" });
                transitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Recycled, To = LifecycleStage.Mql, At = mqlAt.AddDays(9), ByRule = "scoring" });
            }
            var verdictAt = mqlAt.AddHours(random.Next(1, 200));
            switch (random.Next(4))
            {
                case 0:
                    transitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Mql, To = LifecycleStage.Sql, At = verdictAt, ByRule = DispositionRules.Accept });
                    break;
                case 1:
                    transitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Mql, To = LifecycleStage.Recycled, At = verdictAt, ByRule = DispositionRules.Reject("NoBudget") });
                    if (random.Next(2) == 0)
                        transitions.Add(new StageTransition { LeadId = lead.Id, From = LifecycleStage.Mql, To = LifecycleStage.Sql, At = verdictAt.AddHours(random.Next(1, 300)), ByRule = DispositionRules.Accept });
                    break;
            }
            if (random.Next(2) == 0)
            {
                var ratedAt = mqlAt.AddHours(random.Next(1, 300));
                ratings.Add(new LeadRating { LeadId = lead.Id, ByUserId = reps[0], LeadQuality = random.Next(1, 6), CreatedAt = ratedAt, UpdatedAt = ratedAt });
            }
        }
        db.Leads.AddRange(leads);
        db.StageTransitions.AddRange(transitions);
        db.AddRange(ratings);
        db.Assignments.AddRange(assignments);
        db.Activities.AddRange(activities);
        await db.SaveChangesAsync(Ct);
        return new Raw(transitions, ratings, assignments, activities, goalRows);
    });

    // ---- The independent computation: plain loops over the raw rows. ----

    private static DateTimeOffset StartOf(DateOnly day) => new(TimeZoneInfo.ConvertTimeToUtc(day.ToDateTime(TimeOnly.MinValue), NewYork), TimeSpan.Zero);

    private static RevenueGoal? GoalOn(Raw raw, DateOnly day)
    {
        RevenueGoal? best = null;
        foreach (var g in raw.Goals)
        {
            if (g.Segment is not null || day < g.StartsOn || day >= g.EndsOn)
                continue;
            var isMonth = g.Period == GoalPeriod.Month;
            var bestMonth = best?.Period == GoalPeriod.Month;
            if (best is null || (isMonth && !bestMonth) || (isMonth == bestMonth && g.CreatedAt > best.CreatedAt))
                best = g;
        }
        return best;
    }

    private static SlaMarketingSide PlainMarketing(Raw raw, DateOnly from, DateOnly to)
    {
        var (s, e) = (StartOf(from), StartOf(to.AddDays(1)));
        var first = new Dictionary<Guid, DateTimeOffset>();
        foreach (var t in raw.Transitions)
        {
            if (t.To == LifecycleStage.Mql && (!first.TryGetValue(t.LeadId, out var f) || t.At < f))
                first[t.LeadId] = t.At;
        }
        var delivered = 0;
        foreach (var at in first.Values)
        {
            if (at >= s && at < e)
                delivered++;
        }
        decimal total = 0;
        var any = false;
        decimal? acceptanceFloor = null, ratingFloor = null;
        for (var d = from; d <= to; d = d.AddDays(1))
        {
            var g = GoalOn(raw, d);
            if (g is null)
                continue;
            if (g.AcceptanceFloor is { } af && (acceptanceFloor is null || af > acceptanceFloor))
                acceptanceFloor = af;
            if (g.RatingFloor is { } rf && (ratingFloor is null || rf > ratingFloor))
                ratingFloor = rf;
            if (g.CommittedMqls is { } c)
            {
                any = true;
                total += (decimal)c / (g.EndsOn.DayNumber - g.StartsOn.DayNumber);
            }
        }
        decimal? committed = any ? Math.Round(total, 1, MidpointRounding.AwayFromZero) : null;
        var verdicts = new Dictionary<Guid, bool>();
        foreach (var t in raw.Transitions)
        {
            if (t.At < s || t.At >= e || t.ByRule is null || !(t.ByRule == DispositionRules.Accept || t.ByRule.StartsWith(DispositionRules.RejectPrefix, StringComparison.Ordinal)))
                continue;
            verdicts[t.LeadId] = verdicts.GetValueOrDefault(t.LeadId) || t.ByRule == DispositionRules.Accept;
        }
        var accepted = verdicts.Values.Count(v => v);
        decimal? acceptance = verdicts.Count == 0 ? null : Math.Round((decimal)accepted / verdicts.Count, 4, MidpointRounding.AwayFromZero);
        int sum = 0, n = 0;
        foreach (var r in raw.Ratings)
        {
            if (r.CreatedAt >= s && r.CreatedAt < e)
            {
                sum += r.LeadQuality;
                n++;
            }
        }
        decimal? mean = n == 0 ? null : Math.Round((decimal)sum / n, 2, MidpointRounding.AwayFromZero);
        bool? am = acceptanceFloor is not null && acceptance is not null ? acceptance >= acceptanceFloor : null;
        bool? rm = ratingFloor is not null && mean is not null ? mean >= ratingFloor : null;
        bool? quality = am is null && rm is null ? null : am != false && rm != false;
        return new SlaMarketingSide(delivered, committed, committed is null ? null : delivered >= committed, verdicts.Count, accepted, acceptance, acceptanceFloor, am,
            n, mean, ratingFloor, rm, quality);
    }

    private static SlaSalesSide PlainSales(Raw raw, DateOnly from, DateOnly to, decimal firstTouchTarget, decimal attemptsTarget)
    {
        var (s, e) = (StartOf(from), StartOf(to.AddDays(1)));
        int due = 0, inTime = 0;
        var speeds = new List<double>();
        int cadences = 0, kept = 0, made = 0, required = 0;
        foreach (var a in raw.Assignments)
        {
            if (a.RepId is not null && a.FirstTouchDueAt is { } d && d >= s && d < e && (d <= Now || a.FirstTouchedAt is not null))
            {
                due++;
                if (a.FirstTouchedAt is { } t && t <= d)
                    inTime++;
            }
            if (a.RepId is not null && a.AssignedAt >= s && a.AssignedAt < e && a.FirstTouchedAt is { } touched)
                speeds.Add((touched - a.AssignedAt).TotalMinutes);
            if (a.RepId is null || a.Attempts is null || a.AttemptsDueAt is null || a.State == AssignmentState.Reassigned)
                continue;
            var end = a.ClosedAt is { } c && c < a.AttemptsDueAt ? c : a.AttemptsDueAt.Value;
            if (end < s || end >= e || end > Now)
                continue;
            var count = 0;
            foreach (var x in raw.Activities)
            {
                if (x.LeadId == a.LeadId && AttemptTypes.Contains(x.Type) && x.OccurredAt >= a.AssignedAt && x.OccurredAt <= end)
                    count++;
            }
            count = Math.Min(count, a.Attempts.Value);
            var connected = a.ConnectedAt is { } cn && cn <= end;
            if (!connected && end < a.AttemptsDueAt && count < a.Attempts)
                continue;
            cadences++;
            if (connected || count >= a.Attempts)
                kept++;
            if (!connected)
            {
                made += count;
                required += a.Attempts.Value;
            }
        }
        speeds.Sort();
        double? median = speeds.Count == 0 ? null
            : Math.Round(speeds.Count % 2 == 1 ? speeds[speeds.Count / 2] : (speeds[speeds.Count / 2 - 1] + speeds[speeds.Count / 2]) / 2, 2);
        decimal? ft = due == 0 ? null : Math.Round((decimal)inTime / due, 4, MidpointRounding.AwayFromZero);
        decimal? at = cadences == 0 ? null : Math.Round((decimal)kept / cadences, 4, MidpointRounding.AwayFromZero);
        return new SlaSalesSide(due, inTime, ft, firstTouchTarget, ft is null ? null : ft >= firstTouchTarget, speeds.Count, median, cadences, kept, made, required,
            at, attemptsTarget, at is null ? null : at >= attemptsTarget);
    }

    private static void AssertSame(SlaSalesSide expected, SlaSalesSide actual, string where)
    {
        Assert.True(expected with { MedianSpeedToLeadMinutes = null } == actual with { MedianSpeedToLeadMinutes = null }, $"{where}: expected {expected}, got {actual}");
        if (expected.MedianSpeedToLeadMinutes is { } m)
            Assert.Equal(m, actual.MedianSpeedToLeadMinutes!.Value, 2);
        else
            Assert.Null(actual.MedianSpeedToLeadMinutes);
    }

    [Fact]
    public async Task EveryFigureOfEveryWeekEqualsAPlainComputation()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        // A period starting on a Thursday and ending on a Wednesday: the first and last weeks are cut to the period.
        var (from, to) = (new DateOnly(2026, 9, 3), new DateOnly(2026, 12, 2));
        var report = await client.GetFromJsonAsync<SlaReportResult>($"/api/v1/reports/sla?from={from:yyyy-MM-dd}&to={to:yyyy-MM-dd}", JsonOptions, Ct);
        Assert.NotNull(report);
        Assert.Equal("America/New_York", report.TimeZone);
        Assert.Equal(PlainMarketing(raw, from, to), report.Marketing);
        AssertSame(PlainSales(raw, from, to, 0.5m, 0.4m), report.Sales, "period");
        Assert.Equal(14, report.Weeks.Count);
        Assert.Equal((new DateOnly(2026, 8, 31), from), (report.Weeks[0].WeekOf, report.Weeks[0].From));
        Assert.Equal((new DateOnly(2026, 11, 30), to), (report.Weeks[^1].WeekOf, report.Weeks[^1].To));
        foreach (var w in report.Weeks)
        {
            Assert.Equal(PlainMarketing(raw, w.From, w.To), w.Marketing);
            AssertSame(PlainSales(raw, w.From, w.To, 0.5m, 0.4m), w.Sales, $"week of {w.WeekOf}");
        }
        // The dataset exercises what it should: commitments, floors, verdicts both ways, cadences judged.
        Assert.Contains(report.Weeks, w => w.Marketing.MqlsMet == true);
        Assert.Contains(report.Weeks, w => w.Marketing.MqlsMet == false);
        Assert.True(report.Sales.CadencesDue > 5 && report.Sales.FirstTouchDue > 20, report.Sales.ToString());
        // November's month goal (40 MQLs, floors 70 % and 3.5) sets the terms of its weeks, not the quarter's.
        var november = report.Weeks.Single(w => w.WeekOf == new DateOnly(2026, 11, 9));
        Assert.Equal(9.3m, november.Marketing.MqlsCommitted);
        Assert.Equal((0.7m, 3.5m), (november.Marketing.AcceptanceFloor, november.Marketing.RatingFloor));

        // Week boundaries are local midnights: the MQL at Monday 00:00 New York time is in its week, the one a second before in the previous one.
        var one = await client.GetFromJsonAsync<SlaReportResult>("/api/v1/reports/sla?from=2026-11-02&to=2026-11-02", JsonOptions, Ct);
        var before = await client.GetFromJsonAsync<SlaReportResult>("/api/v1/reports/sla?from=2026-11-01&to=2026-11-01", JsonOptions, Ct);
        Assert.Equal(PlainMarketing(raw, new DateOnly(2026, 11, 2), new DateOnly(2026, 11, 2)).MqlsDelivered, one!.Marketing.MqlsDelivered);
        Assert.True(one.Marketing.MqlsDelivered >= 1 && before!.Marketing.MqlsDelivered >= 1);
    }

    [Fact]
    public async Task TheMonthlyStatementJudgesEachLineAndExportsAsCsvAndPrintableHtml()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        var raw = await SeedAsync(app);
        var statement = await client.GetFromJsonAsync<SlaStatement>("/api/v1/reports/sla/statement?month=2026-11", JsonOptions, Ct);
        Assert.NotNull(statement);
        var (from, to) = (new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 30));
        Assert.Equal((from, to), (statement.From, statement.To));
        var m = PlainMarketing(raw, from, to);
        var s = PlainSales(raw, from, to, 0.5m, 0.4m);
        Assert.Equal(40m, m.MqlsCommitted);
        Assert.Equal(["mqls", "acceptance", "rating", "firstTouch", "speedToLead", "attempts"], statement.Lines.Select(l => l.Line));
        var lines = statement.Lines.ToDictionary(l => l.Line);
        Assert.Equal(((decimal?)m.MqlsDelivered, m.MqlsCommitted, m.MqlsDelivered >= 40 ? SlaVerdict.Met : SlaVerdict.Missed),
            (lines["mqls"].Actual, lines["mqls"].Target, lines["mqls"].Verdict));
        Assert.Equal((m.AcceptanceRate, (decimal?)0.7m, m.AcceptanceMet == true ? SlaVerdict.Met : SlaVerdict.Missed),
            (lines["acceptance"].Actual, lines["acceptance"].Target, lines["acceptance"].Verdict));
        Assert.Equal((m.MeanRating, (decimal?)3.5m), (lines["rating"].Actual, lines["rating"].Target));
        Assert.Equal((s.FirstTouchCompliance, (decimal?)0.5m, s.FirstTouchMet == true ? SlaVerdict.Met : SlaVerdict.Missed),
            (lines["firstTouch"].Actual, lines["firstTouch"].Target, lines["firstTouch"].Verdict));
        Assert.Equal(SlaVerdict.NoTarget, lines["speedToLead"].Verdict);
        Assert.Equal((s.AttemptsCompliance, s.AttemptsMet == true ? SlaVerdict.Met : SlaVerdict.Missed), (lines["attempts"].Actual, lines["attempts"].Verdict));
        Assert.Equal(6, statement.Report.Weeks.Count); // Sunday 1 and Monday 30 November are weeks of their own

        var csv = await client.GetAsync("/api/v1/reports/sla/statement?month=2026-11&format=csv", Ct);
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var text = await csv.Content.ReadAsStringAsync(Ct);
        var rows = text.TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, rows.Length);
        Assert.StartsWith("Team,Commitment,Actual,Target,Verdict", rows[0], StringComparison.Ordinal);
        Assert.StartsWith($"Marketing,MQLs delivered vs committed,{m.MqlsDelivered},40,", rows[1], StringComparison.Ordinal);
        Assert.DoesNotContain("NoTarget", text, StringComparison.Ordinal);
        Assert.Contains("No target", text, StringComparison.Ordinal);

        var html = await client.GetAsync("/api/v1/reports/sla/statement?month=2026-11&format=html", Ct);
        Assert.Equal("text/html", html.Content.Headers.ContentType!.MediaType);
        var page = await html.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<h1>Monthly SLA statement · November 2026</h1>", page, StringComparison.Ordinal);
        Assert.Contains("First touch within SLA", page, StringComparison.Ordinal);

        // French for a French reader.
        var fr = new HttpRequestMessage(HttpMethod.Get, "/api/v1/reports/sla/statement?month=2026-11&format=csv");
        fr.Headers.AcceptLanguage.ParseAdd("fr");
        var frText = await (await client.SendAsync(fr, Ct)).Content.ReadAsStringAsync(Ct);
        Assert.Contains("Équipe", frText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutGoalsOrMqlsNothingIsJudgedAndThePlannerFigureIsTheCommitmentWhenNoneIsSet()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        // Nothing at all: zeros and no verdicts.
        var empty = await client.GetFromJsonAsync<SlaReportResult>("/api/v1/reports/sla?from=2026-11-01&to=2026-11-30", JsonOptions, Ct);
        Assert.Equal(new SlaMarketingSide(0, null, null, 0, 0, null, null, null, 0, null, null, null, null), empty!.Marketing);
        Assert.Equal((0, (decimal?)null, (bool?)null, 0, (double?)null), (empty.Sales.FirstTouchDue, empty.Sales.FirstTouchCompliance, empty.Sales.FirstTouchMet,
            empty.Sales.CadencesDue, empty.Sales.MedianSpeedToLeadMinutes));
        var statement = await client.GetFromJsonAsync<SlaStatement>("/api/v1/reports/sla/statement?month=2026-11", JsonOptions, Ct);
        Assert.Equal([SlaVerdict.NoTarget, SlaVerdict.NoTarget, SlaVerdict.NoTarget, SlaVerdict.NoData, SlaVerdict.NoTarget, SlaVerdict.NoData],
            statement!.Lines.Select(l => l.Verdict));

        // A goal without a committed number: the planner's MQLs (from the overridden rates) are the commitment.
        await app.WithServiceAsync(async sp =>
        {
            var db = sp.GetRequiredService<TandemDb>();
            db.RevenueGoals.Add(new RevenueGoal
            {
                Period = GoalPeriod.Month,
                StartsOn = new DateOnly(2026, 11, 1),
                Amount = 60_000m,
                AverageDealSize = 10_000m,
                OpportunityToWonRate = 0.5m,
                SqlToOpportunityRate = 0.5m,
                MqlToSqlRate = 0.4m,
                LeadToMqlRate = 0.2m,
                CreatedAt = Now,
            });
            await db.SaveChangesAsync(Ct);
            return 0;
        });
        // 6 deals → 12 opportunities → 24 SQLs → 60 MQLs for the month.
        var planned = await client.GetFromJsonAsync<SlaReportResult>("/api/v1/reports/sla?from=2026-11-01&to=2026-11-30", JsonOptions, Ct);
        Assert.Equal(60m, planned!.Marketing.MqlsCommitted);
        Assert.False(planned.Marketing.MqlsMet);
        Assert.Equal(14m, planned.Weeks.Single(w => w.WeekOf == new DateOnly(2026, 11, 9)).Marketing.MqlsCommitted);
        Assert.Equal(2m, planned.Weeks[0].Marketing.MqlsCommitted); // Sunday 1 November alone

        // No MQL and no verdict in a week with a commitment: missed, quality not judged.
        Assert.Equal((0, (bool?)false, (bool?)null), (planned.Weeks[1].Marketing.MqlsDelivered, planned.Weeks[1].Marketing.MqlsMet, planned.Weeks[1].Marketing.QualityMet));
    }

    [Fact]
    public async Task BadPeriodsAndMonthsAreFieldErrors()
    {
        var (app, client) = await StartAsync(provider);
        await using var _ = app;
        foreach (var (url, field) in new[]
        {
            ("/api/v1/reports/sla?from=2026-13-01", "from"),
            ("/api/v1/reports/sla?from=2026-11-10&to=2026-11-01", "to"),
            ("/api/v1/reports/sla?from=2020-01-01&to=2026-11-01", "from"),
            ("/api/v1/reports/sla/statement?month=2026-13", "month"),
            ("/api/v1/reports/sla/statement?month=november", "month"),
            ("/api/v1/reports/sla/statement?month=2026-11&format=pdf", "format"),
            ("/api/v1/reports/weekly?week=2026-02-30", "week"),
        })
        {
            var response = await client.GetAsync(url, Ct);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<Microsoft.AspNetCore.Mvc.ValidationProblemDetails>(Ct);
            Assert.True(problem!.Errors.ContainsKey(field), url);
        }
    }
}

public sealed class SlaReportOnSqlite() : SlaReportTests(DatabaseProvider.Sqlite);

public sealed class SlaReportOnPostgres() : SlaReportTests(DatabaseProvider.Postgres);
