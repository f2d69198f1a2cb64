using System.Globalization;
using BenchmarkDotNet.Attributes;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Bench;

/// <summary>
/// The pure routing choice with 100 reps (Paris, New York and Tokyo hours with lunch breaks, holidays and leave) in
/// 5 teams of 20 and 50 rules, the matching rule near the end. Target: under 50 µs per lead.
/// Run: <c>dotnet run -c Release --project bench/Tandem.Bench -- micro --filter '*Routing*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class RoutingBenchmarks
{
    private static readonly string[] Countries = ["FR", "DE", "ES", "IT", "BE", "NL", "GB", "US", "CA", "JP"];
    private static readonly string[] Industries = ["Finance", "Retail", "Healthcare", "Manufacturing", "Software"];

    private RoutingRule[] _rules = [];
    private Team[] _teams = [];
    private Team[] _bigTeam = [];
    private RepState[] _reps = [];
    private RoutingInput _lead = null!;
    private RoutingInput _nightLead = null!;
    private Guid _defaultTeam;
    private SlaPolicy _hot = null!;

    private static Guid Id(int kind, int n) => new($"00000000-0000-0000-{kind:D4}-{n:D12}");

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.Parse("2026-11-24T10:00:00+01:00", CultureInfo.InvariantCulture);
        var calendars = new[]
        {
            WorkCalendar.Weekdays("Europe/Paris", ("09:00", "12:30"), ("13:30", "18:00")) with { Holidays = [new DateOnly(2026, 12, 25), new DateOnly(2027, 1, 1)] },
            WorkCalendar.Weekdays("America/New_York", ("09:00", "17:00")),
            WorkCalendar.Weekdays("Asia/Tokyo", ("09:00", "12:00"), ("13:00", "18:00")),
            WorkCalendar.Weekdays("Europe/Paris", ("08:00", "16:00")) with { OutOfOffice = [new OutOfOfficePeriod(now.AddDays(5), now.AddDays(12))] },
        };
        _reps = [.. Enumerable.Range(0, 100).Select(i => new RepState(
            Id(1, i), $"Rep {i}", i % 23 != 0, calendars[i % calendars.Length], 20 + i % 10, 15, i % 25, i % 16))];
        _teams = [.. Enumerable.Range(0, 5).Select(t => new Team(
            Id(2, t), $"Team {t}", Id(1, t * 20), (RoutingStrategy)(t % 4),
            [.. Enumerable.Range(t * 20, 20).Select(i => new TeamMember(Id(1, i), 1 + i % 3, 100 + i % 7, now.AddMinutes(-i)))]))];
        _defaultTeam = _teams[0].Id;
        _rules = [.. Enumerable.Range(0, 49).Select(r => new RoutingRule(
            Id(3, r), r, $"Rule {r}",
            [
                new RoutingCondition(LeadField.Country, ConditionOperator.In, [Countries[r % Countries.Length], Countries[(r + 3) % Countries.Length]]),
                new RoutingCondition(LeadField.CompanySize, ConditionOperator.Between, [(r * 40).ToString(CultureInfo.InvariantCulture), (r * 40 + 60).ToString(CultureInfo.InvariantCulture)]),
                new RoutingCondition(LeadField.Industry, ConditionOperator.Contains, [Industries[r % Industries.Length]]),
            ],
            r % 7 == 0 ? RoutingTarget.Rep(Id(1, r), Id(2, r % 5)) : RoutingTarget.Team(Id(2, r % 5)))),
            new RoutingRule(Id(3, 99), 99, "Everything else", [], RoutingTarget.Team(_defaultTeam))];
        // Rule 45: country ES or CA, size 1800–1860, Finance → team 0 (round robin).
        var attributes = new LeadAttributes("CA", 1830, "Finance", "en", "paid-search", "google", Id(4, 1), Id(5, 1), Grade.A, 80, 55, SlaTier.Hot);
        _lead = new RoutingInput(attributes, null, now);
        // 23:00 UTC: off shift in Paris, New York and Tokyo alike, so every member is checked and the lead is queued.
        _nightLead = new RoutingInput(attributes, Id(1, 3), now.AddHours(14));
        _bigTeam = [_teams[0] with { Strategy = RoutingStrategy.CapacityAware, Members = [.. _reps.Select(r => new TeamMember(r.UserId))] }];
        _hot = SlaPolicy.Defaults[0];
        if (RoutingEngine.Route(_lead, _rules, _teams, _reps, _defaultTeam) is not { RuleName: "Rule 45", Outcome: RoutingOutcome.Assigned })
            throw new InvalidOperationException("The benchmark lead should match rule 45 and be assigned.");
        if (RoutingEngine.Route(_nightLead, _rules, _bigTeam, _reps, _defaultTeam) is not { Outcome: RoutingOutcome.Queued, Skipped.Count: 100 })
            throw new InvalidOperationException("The night lead should skip all 100 reps.");
    }

    [Benchmark(Baseline = true)]
    public RoutingDecision RouteOneLead() => RoutingEngine.Route(_lead, _rules, _teams, _reps, _defaultTeam);

    /// <summary>Worst case: a 100-rep capacity-aware team at night, every rep checked and skipped.</summary>
    [Benchmark]
    public RoutingDecision RouteAtNightThroughAHundredRepTeam() => RoutingEngine.Route(_nightLead, _rules, _bigTeam, _reps, _defaultTeam);

    /// <summary>The SLA timers of one assignment (next working moment, two reminders, deadline, attempts window).</summary>
    [Benchmark]
    public SlaPlan PlanHotSla() => SlaPlanner.Plan(_hot, _nightLead.Now, _reps[0].Calendar);
}
