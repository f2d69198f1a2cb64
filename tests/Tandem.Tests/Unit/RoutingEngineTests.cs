using System.Globalization;
using Tandem.Features.Handoff;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Tests.Unit;

public sealed class RoutingEngineTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.Parse("2026-11-24T10:00:00+01:00", CultureInfo.InvariantCulture);
    private static readonly WorkCalendar Always = new("UTC", [.. Enum.GetValues<DayOfWeek>().Select(d => new WorkingHours(d, TimeOnly.MinValue, TimeOnly.MinValue))]);
    private static readonly WorkCalendar ParisOffice = WorkCalendar.Weekdays("Europe/Paris", ("09:00", "18:00"));
    private static readonly WorkCalendar TokyoOffice = WorkCalendar.Weekdays("Asia/Tokyo", ("09:00", "18:00"));
    private static readonly WorkCalendar NewYorkOffice = WorkCalendar.Weekdays("America/New_York", ("09:00", "17:00"));
    private static readonly Guid DefaultTeam = Id(900);
    private static readonly Guid Manager = Id(999);

    private static Guid Id(int n) => new($"00000000-0000-0000-0000-{n:D12}");

    private static RepState Rep(int n, bool active = true, WorkCalendar? calendar = null, int? maxOpen = null, int? maxNew = null, int open = 0, int today = 0) =>
        new(Id(n), $"Rep {n}", active, calendar ?? Always, maxOpen, maxNew, open, today);

    private static Team TeamOf(Guid id, RoutingStrategy strategy, IEnumerable<int> members, OverflowPolicy overflow = OverflowPolicy.TeamQueue) =>
        new(id, $"Team {id.ToString()[^3..]}", Manager, strategy, [.. members.Select(m => new TeamMember(Id(m)))], overflow);

    private static RoutingInput Lead(LeadAttributes? lead = null, Guid? owner = null) => new(lead ?? new LeadAttributes(), owner, Now);

    private static RoutingCondition When(LeadField field, ConditionOperator op, params string[] values) => new(field, op, values);

    private static readonly LeadAttributes Sample = new(
        Country: "FR", CompanySize: 250, Industry: "Financial services", Language: "fr", Channel: "paid-search", Source: "google",
        CampaignId: Id(501), PersonaId: Id(601), Grade: Grade.B, Fit: 72, Engagement: 40, Tier: SlaTier.Hot,
        CustomFields: new Dictionary<string, string?> { ["erp"] = "SAP S/4", ["seats"] = "120" });

    public static TheoryData<RoutingCondition, bool> Conditions => new()
    {
        { When(LeadField.Country, ConditionOperator.In, "de", "fr"), true },
        { When(LeadField.Country, ConditionOperator.In, "DE"), false },
        { When(LeadField.Country, ConditionOperator.NotIn, "DE", "ES"), true },
        { When(LeadField.Country, ConditionOperator.NotIn, "FR"), false },
        { When(LeadField.Industry, ConditionOperator.Contains, "bank", "FINANCIAL"), true },
        { When(LeadField.Industry, ConditionOperator.Contains, "retail"), false },
        { When(LeadField.Language, ConditionOperator.IsNotEmpty), true },
        { When(LeadField.Language, ConditionOperator.IsEmpty), false },
        { When(LeadField.Channel, ConditionOperator.In, "paid-search"), true },
        { When(LeadField.Source, ConditionOperator.In, "linkedin"), false },
        { When(LeadField.CompanySize, ConditionOperator.GreaterOrEqual, "250"), true },
        { When(LeadField.CompanySize, ConditionOperator.GreaterOrEqual, "251"), false },
        { When(LeadField.CompanySize, ConditionOperator.LessOrEqual, "250"), true },
        { When(LeadField.CompanySize, ConditionOperator.Between, "500", "50"), true },
        { When(LeadField.CompanySize, ConditionOperator.Between, "251", "500"), false },
        { When(LeadField.CompanySize, ConditionOperator.In, "100", "250"), true },
        { When(LeadField.CompanySize, ConditionOperator.NotIn, "250"), false },
        { When(LeadField.Fit, ConditionOperator.GreaterOrEqual, "70"), true },
        { When(LeadField.Engagement, ConditionOperator.GreaterOrEqual, "50"), false },
        { When(LeadField.Grade, ConditionOperator.GreaterOrEqual, "B"), true },
        { When(LeadField.Grade, ConditionOperator.GreaterOrEqual, "A"), false },
        { When(LeadField.Grade, ConditionOperator.LessOrEqual, "b"), true },
        { When(LeadField.Grade, ConditionOperator.Between, "C", "A"), true },
        { When(LeadField.Grade, ConditionOperator.In, "A"), false },
        { When(LeadField.Tier, ConditionOperator.In, "hot", "standard"), true },
        { When(LeadField.Tier, ConditionOperator.NotIn, "Hot"), false },
        { When(LeadField.CampaignId, ConditionOperator.In, Id(501).ToString().ToUpperInvariant()), true },
        { When(LeadField.CampaignId, ConditionOperator.NotIn, Id(501).ToString()), false },
        { When(LeadField.PersonaId, ConditionOperator.In, Id(602).ToString()), false },
        { When(LeadField.PersonaId, ConditionOperator.IsNotEmpty), true },
        { new RoutingCondition(LeadField.CustomField, ConditionOperator.Contains, ["sap"], "erp"), true },
        { new RoutingCondition(LeadField.CustomField, ConditionOperator.GreaterOrEqual, ["100"], "seats"), true },
        { new RoutingCondition(LeadField.CustomField, ConditionOperator.IsEmpty, [], "missing"), true },
        { new RoutingCondition(LeadField.CustomField, ConditionOperator.In, ["x"], "missing"), false },
    };

    [Theory]
    [MemberData(nameof(Conditions))]
    public void EachOperatorHolds(RoutingCondition condition, bool expected) =>
        Assert.Equal(expected, RoutingEngine.Holds(Sample, condition));

    [Fact]
    public void EmptyAttributesOnlyMatchEmptinessAndNotIn()
    {
        var empty = new LeadAttributes();
        Assert.True(RoutingEngine.Holds(empty, When(LeadField.Country, ConditionOperator.NotIn, "FR")));
        Assert.True(RoutingEngine.Holds(empty, When(LeadField.CompanySize, ConditionOperator.NotIn, "10")));
        Assert.True(RoutingEngine.Holds(empty, When(LeadField.Grade, ConditionOperator.IsEmpty)));
        Assert.False(RoutingEngine.Holds(empty, When(LeadField.CompanySize, ConditionOperator.LessOrEqual, "10")));
        Assert.False(RoutingEngine.Holds(empty, When(LeadField.Grade, ConditionOperator.LessOrEqual, "D")));
        Assert.False(RoutingEngine.Holds(empty, When(LeadField.Industry, ConditionOperator.Contains, "a")));
    }

    [Fact]
    public void FirstMatchingRuleByOrderWinsAndDisabledRulesAreIgnored()
    {
        Guid fr = Id(801), big = Id(802), disabled = Id(803);
        RepState[] reps = [Rep(1), Rep(2), Rep(3)];
        Team[] teams = [TeamOf(fr, RoutingStrategy.RoundRobin, [1]), TeamOf(big, RoutingStrategy.RoundRobin, [2]), TeamOf(disabled, RoutingStrategy.RoundRobin, [3]), TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [3])];
        RoutingRule[] rules =
        [
            new(Id(12), 20, "France", [When(LeadField.Country, ConditionOperator.In, "FR")], RoutingTarget.Team(fr)),
            new(Id(11), 10, "Big companies", [When(LeadField.CompanySize, ConditionOperator.GreaterOrEqual, "200")], RoutingTarget.Team(big)),
            new(Id(10), 5, "Paused", [], RoutingTarget.Team(disabled), Enabled: false),
        ];
        var decision = RoutingEngine.Route(Lead(Sample), rules, teams, reps, DefaultTeam);
        Assert.Equal((RoutingOutcome.Assigned, Id(2), big, Id(11), "Big companies", RoutingPath.TeamStrategy, false),
            (decision.Outcome, decision.RepId, decision.TeamId, decision.RuleId, decision.RuleName, decision.Path, decision.UsedDefaultTeam));
        Assert.Contains("Big companies", decision.Reason);

        var small = RoutingEngine.Route(Lead(Sample with { CompanySize = 20 }), rules, teams, reps, DefaultTeam);
        Assert.Equal(Id(1), small.RepId);
        var none = RoutingEngine.Route(Lead(Sample with { CompanySize = 20, Country = "DE" }), rules, teams, reps, DefaultTeam);
        Assert.Equal((Id(3), DefaultTeam, true, (Guid?)null), (none.RepId, none.TeamId, none.UsedDefaultTeam, none.RuleId));
    }

    [Fact]
    public void AccountOwnerComesFirstWhenEligible()
    {
        RepState[] reps = [Rep(1), Rep(2)];
        Team[] teams = [TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [1])];
        var decision = RoutingEngine.Route(Lead(Sample, owner: Id(2)), [], teams, reps, DefaultTeam);
        Assert.Equal((Id(2), RoutingPath.AccountOwner, (Guid?)null), (decision.RepId, decision.Path, decision.TeamId));
        Assert.Empty(decision.Skipped);

        var offShiftOwner = RoutingEngine.Route(Lead(Sample, owner: Id(3)), [], teams, [.. reps, Rep(3, calendar: TokyoOffice)], DefaultTeam);
        Assert.Equal((Id(1), RoutingPath.TeamStrategy), (offShiftOwner.RepId, offShiftOwner.Path));
        Assert.Equal([new SkippedRep(Id(3), "Rep 3", SkipReason.OffShift)], offShiftOwner.Skipped);

        var unknownOwner = RoutingEngine.Route(Lead(Sample, owner: Id(77)), [], teams, reps, DefaultTeam);
        Assert.Equal(Id(1), unknownOwner.RepId);
        Assert.Equal(SkipReason.Unknown, Assert.Single(unknownOwner.Skipped).Reason);
    }

    [Fact]
    public void EachSkipReasonIsRecordedInStrategyOrder()
    {
        var ooo = Always with { OutOfOffice = [new OutOfOfficePeriod(Now.AddDays(-1), Now.AddDays(1))] };
        RepState[] reps =
        [
            Rep(1, active: false),
            Rep(2, calendar: ooo),
            Rep(3, calendar: NewYorkOffice),
            Rep(4, maxOpen: 10, open: 10),
            Rep(5, maxNew: 3, today: 3),
            Rep(6),
        ];
        var team = TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [1, 2, 3, 4, 5, 6]) is var t
            ? t with { Members = [.. t.Members.Select(m => m.UserId == Id(6) ? m with { AssignedCount = 5 } : m)] }
            : null!;
        var decision = RoutingEngine.Route(Lead(), [], [team], reps, DefaultTeam);
        Assert.Equal(Id(6), decision.RepId);
        Assert.Equal(
            [SkipReason.Inactive, SkipReason.OutOfOffice, SkipReason.OffShift, SkipReason.AtCapacity, SkipReason.DailyLimit],
            decision.Skipped.Select(s => s.Reason));
        Assert.Equal([Id(1), Id(2), Id(3), Id(4), Id(5)], decision.Skipped.Select(s => s.UserId));
    }

    [Fact]
    public void HolidayCountsAsOffShift()
    {
        var rep = Rep(1, calendar: ParisOffice with { Holidays = [new DateOnly(2026, 11, 24)] });
        Assert.Equal(SkipReason.OffShift, RoutingEngine.Check(rep, Now));
        Assert.Null(RoutingEngine.Check(Rep(2, calendar: ParisOffice), Now));
    }

    [Fact]
    public void AllRepsOffShiftQueuesOnTheTeamAndAlertsManagers()
    {
        RepState[] reps = [Rep(1, calendar: TokyoOffice), Rep(2, calendar: NewYorkOffice)];
        var decision = RoutingEngine.Route(Lead(), [], [TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [1, 2])], reps, DefaultTeam);
        Assert.Equal((RoutingOutcome.Queued, (Guid?)null, DefaultTeam, true, RoutingPath.Queue), (decision.Outcome, decision.RepId, decision.TeamId, decision.AlertManagers, decision.Path));
        Assert.All(decision.Skipped, s => Assert.Equal(SkipReason.OffShift, s.Reason));
        Assert.Equal(2, decision.Skipped.Count);
    }

    [Fact]
    public void OverflowToTheManager()
    {
        var decision = RoutingEngine.Route(Lead(), [], [TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [1], OverflowPolicy.Manager)], [Rep(1, active: false)], DefaultTeam);
        Assert.Equal((RoutingOutcome.Assigned, Manager, RoutingPath.OverflowManager, false), (decision.Outcome, decision.RepId, decision.Path, decision.AlertManagers));
    }

    [Fact]
    public void OverflowToTheRepWhoseShiftStartsNext()
    {
        // 10:00 in Paris: New York starts at 15:00 Paris time, Tokyo at 01:00 the next night.
        RepState[] reps = [Rep(1, calendar: TokyoOffice), Rep(2, calendar: NewYorkOffice), Rep(3, calendar: NewYorkOffice, maxOpen: 1, open: 1), Rep(4, active: false)];
        var team = TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [1, 2, 3, 4], OverflowPolicy.NextRep);
        var decision = RoutingEngine.Route(Lead(), [], [team], reps, DefaultTeam);
        Assert.Equal((Id(2), RoutingPath.OverflowNextRep, false), (decision.RepId, decision.Path, decision.AlertManagers));
        Assert.Equal(4, decision.Skipped.Count);

        var nobody = RoutingEngine.Route(Lead(), [], [team], [Rep(1, active: false)], DefaultTeam);
        Assert.Equal((RoutingOutcome.Queued, true), (nobody.Outcome, nobody.AlertManagers));
    }

    [Fact]
    public void RuleRepTargetFallsBackToItsTeamThenTheDefaultTeam()
    {
        Guid vip = Id(810);
        Team[] teams = [TeamOf(vip, RoutingStrategy.RoundRobin, [2]), TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [3])];
        RepState[] reps = [Rep(1), Rep(2), Rep(3)];
        RoutingRule[] withFallback = [new(Id(20), 1, "Key account", [], RoutingTarget.Rep(Id(1), vip))];
        var direct = RoutingEngine.Route(Lead(), withFallback, teams, reps, DefaultTeam);
        Assert.Equal((Id(1), RoutingPath.RuleRep), (direct.RepId, direct.Path));

        RepState[] repOneAway = [Rep(1, active: false), Rep(2), Rep(3)];
        var fallback = RoutingEngine.Route(Lead(), withFallback, teams, repOneAway, DefaultTeam);
        Assert.Equal((Id(2), vip, false), (fallback.RepId, fallback.TeamId, fallback.UsedDefaultTeam));
        var toDefault = RoutingEngine.Route(Lead(), [new(Id(20), 1, "Key account", [], RoutingTarget.Rep(Id(1)))], teams, repOneAway, DefaultTeam);
        Assert.Equal((Id(3), DefaultTeam, true), (toDefault.RepId, toDefault.TeamId, toDefault.UsedDefaultTeam));
    }

    [Fact]
    public void MissingTeamsNeverLoseTheLead()
    {
        RoutingRule[] rules = [new(Id(20), 1, "Gone", [], RoutingTarget.Team(Id(404)))];
        var toDefault = RoutingEngine.Route(Lead(), rules, [TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, [1])], [Rep(1)], DefaultTeam);
        Assert.Equal((Id(1), DefaultTeam, true), (toDefault.RepId, toDefault.TeamId, toDefault.UsedDefaultTeam));
        var queued = RoutingEngine.Route(Lead(), rules, [], [Rep(1)], DefaultTeam);
        Assert.Equal((RoutingOutcome.Queued, DefaultTeam, true), (queued.Outcome, queued.TeamId, queued.AlertManagers));
    }

    [Fact]
    public void LeastLoadedAndCapacityAwarePickTheLightestRep()
    {
        RepState[] reps = [Rep(1, maxOpen: 10, open: 5), Rep(2, maxOpen: 40, open: 12), Rep(3, maxOpen: 20, open: 8), Rep(4, open: 0)];
        Assert.Equal(Id(4), RoutingEngine.Route(Lead(), [], [TeamOf(DefaultTeam, RoutingStrategy.LeastLoaded, [1, 2, 3, 4])], reps, DefaultTeam).RepId);
        // 12/40 = 30 % beats 8/20 = 40 % and 5/10 = 50 %; the uncapped rep only takes the spill-over.
        Assert.Equal(Id(2), RoutingEngine.Route(Lead(), [], [TeamOf(DefaultTeam, RoutingStrategy.CapacityAware, [1, 2, 3, 4])], reps, DefaultTeam).RepId);
    }

    [Fact]
    public void RoundRobinTiesGoToTheOldestLastAssignmentThenTheId()
    {
        var team = new Team(DefaultTeam, "T", Manager, RoutingStrategy.RoundRobin,
            [new TeamMember(Id(3), 1, 4, Now.AddHours(-1)), new TeamMember(Id(2), 1, 4, Now.AddHours(-2)), new TeamMember(Id(1), 1, 4, Now.AddHours(-1))]);
        Assert.Equal(Id(2), RoutingEngine.Route(Lead(), [], [team], [Rep(1), Rep(2), Rep(3)], DefaultTeam).RepId);
        var tied = team with { Members = [.. team.Members.Select(m => m with { LastAssignedAt = Now.AddHours(-1) })] };
        Assert.Equal(Id(1), RoutingEngine.Route(Lead(), [], [tied], [Rep(1), Rep(2), Rep(3)], DefaultTeam).RepId);
    }

    /// <summary>Routes leads one by one, persisting the counts the way the caller does after each decision.</summary>
    private static Dictionary<Guid, int> Simulate(Team team, RepState[] reps, int leads, Random random, double closeProbability, Action<RoutingDecision, RepState[]>? check = null)
    {
        var counts = team.Members.ToDictionary(m => m.UserId, _ => 0);
        var now = Now;
        for (var i = 0; i < leads; i++)
        {
            now = now.AddSeconds(7);
            var decision = RoutingEngine.Route(new RoutingInput(new LeadAttributes(), null, now), [], [team], reps, DefaultTeam);
            if (decision.RepId is { } repId)
            {
                counts[repId]++;
                team = team with { Members = [.. team.Members.Select(m => m.UserId == repId ? m with { AssignedCount = m.AssignedCount + 1, LastAssignedAt = now } : m)] };
                reps = [.. reps.Select(r => r.UserId == repId ? r with { OpenMqlCount = r.OpenMqlCount + 1, AssignedTodayCount = r.AssignedTodayCount + 1 } : r)];
            }
            check?.Invoke(decision, reps);
            // Reps close some of their open MQLs (accepted or rejected) between leads.
            reps = [.. reps.Select(r => r.OpenMqlCount > 0 && random.NextDouble() < closeProbability ? r with { OpenMqlCount = r.OpenMqlCount - 1 } : r)];
        }
        return counts;
    }

    [Fact]
    public void RoundRobinOverTenThousandLeadsKeepsEveryRepWithinOneOfTheMean()
    {
        var team = TeamOf(DefaultTeam, RoutingStrategy.RoundRobin, Enumerable.Range(1, 7));
        var reps = Enumerable.Range(1, 7).Select(n => Rep(n)).ToArray();
        var leads = 0;
        var counts = Simulate(team, reps, 10_000, new Random(7), 0.5, (_, _) => leads++);
        var mean = 10_000 / 7.0;
        Assert.All(counts.Values, c => Assert.InRange(c, mean - 1, mean + 1));
        Assert.Equal(10_000, counts.Values.Sum());
    }

    [Fact]
    public void WeightedRoundRobinIsProportionalWithinOne()
    {
        int[] weights = [1, 2, 3, 5, 1, 4, 2];
        var team = new Team(DefaultTeam, "Weighted", Manager, RoutingStrategy.WeightedRoundRobin,
            [.. weights.Select((w, i) => new TeamMember(Id(i + 1), w))]);
        var reps = Enumerable.Range(1, 7).Select(n => Rep(n)).ToArray();
        var total = weights.Sum();
        var step = 0;
        var counts = team.Members.ToDictionary(m => m.UserId, _ => 0);
        Simulate(team, reps, 10_000, new Random(8), 0.5, (d, _) =>
        {
            step++;
            counts[d.RepId!.Value]++;
            // Proportional at every point of the run, not only at the end.
            for (var i = 0; i < weights.Length; i++)
                Assert.InRange(counts[Id(i + 1)], (double)step * weights[i] / total - 1, (double)step * weights[i] / total + 1);
        });
        Assert.Equal(10_000, counts.Values.Sum());
    }

    [Fact]
    public void WeightedRoundRobinStaysWithinOneForRandomWeights()
    {
        var random = new Random(10);
        for (var set = 0; set < 25; set++)
        {
            var weights = Enumerable.Range(0, random.Next(2, 12)).Select(_ => random.Next(1, random.Next(2, 30))).ToArray();
            var team = new Team(DefaultTeam, "Weighted", Manager, RoutingStrategy.WeightedRoundRobin, [.. weights.Select((w, i) => new TeamMember(Id(i + 1), w))]);
            var reps = weights.Select((_, i) => Rep(i + 1)).ToArray();
            var counts = new int[weights.Length];
            var step = 0;
            Simulate(team, reps, 1_500, random, 0.5, (d, _) =>
            {
                step++;
                counts[Array.FindIndex(reps, r => r.UserId == d.RepId)]++;
                for (var i = 0; i < weights.Length; i++)
                {
                    var quota = (double)step * weights[i] / weights.Sum();
                    Assert.True(Math.Abs(counts[i] - quota) <= 1, $"weights [{string.Join(", ", weights)}] after {step}: rep {i + 1} has {counts[i]}, quota {quota:F2}");
                }
            });
        }
    }

    [Fact]
    public void CapacityIsNeverExceededOverTenThousandLeadsWithRandomCloses()
    {
        foreach (var strategy in Enum.GetValues<RoutingStrategy>())
        {
            var random = new Random(9);
            var reps = Enumerable.Range(1, 7).Select(n => Rep(n, maxOpen: 3 + 2 * n)).ToArray();
            var team = TeamOf(DefaultTeam, strategy, Enumerable.Range(1, 7));
            var queued = 0;
            Simulate(team, reps, 10_000, random, 0.05, (d, current) =>
            {
                Assert.All(current, r => Assert.True(r.OpenMqlCount <= r.MaxOpenMqls, $"{strategy}: {r.Name} has {r.OpenMqlCount} open, max {r.MaxOpenMqls}"));
                if (d.Outcome == RoutingOutcome.Queued)
                {
                    queued++;
                    Assert.True(d.AlertManagers);
                    Assert.All(d.Skipped, s => Assert.Equal(SkipReason.AtCapacity, s.Reason));
                }
            });
            // Closes are slower than arrivals, so the team fills up and the queue takes the rest.
            Assert.True(queued > 0, $"{strategy}: the team never filled up");
        }
    }

    [Fact]
    public void ValidConfigurationHasNoErrors()
    {
        var users = new HashSet<Guid> { Id(1), Id(2), Manager };
        Team[] teams = [TeamOf(DefaultTeam, RoutingStrategy.WeightedRoundRobin, [1, 2])];
        RoutingRule[] rules =
        [
            new(Id(20), 1, "France", [When(LeadField.Country, ConditionOperator.In, "FR")], RoutingTarget.Rep(Id(1), DefaultTeam)),
            new(Id(21), 2, "Hot", [When(LeadField.Tier, ConditionOperator.In, "Hot"), When(LeadField.Grade, ConditionOperator.Between, "A", "B")], RoutingTarget.Team(DefaultTeam)),
            new(Id(22), 3, "Everything else", [], RoutingTarget.Team(DefaultTeam)),
        ];
        Assert.Equal("", RoutingValidation.Validate(rules, teams, users, DefaultTeam).Summary());
    }

    [Fact]
    public void InvalidRulesAndTeamsGetFieldErrors()
    {
        var users = new HashSet<Guid> { Id(1), Id(2) };
        Team[] teams =
        [
            new(DefaultTeam, "", Id(55), (RoutingStrategy)9, [new TeamMember(Id(1), 0), new TeamMember(Id(1)), new TeamMember(Id(66))], (OverflowPolicy)9),
            new(Id(901), "No manager", null, RoutingStrategy.RoundRobin, [], OverflowPolicy.Manager),
        ];
        RoutingRule[] rules =
        [
            new(Id(20), 1, "", [], RoutingTarget.Team(Id(404))),
            new(Id(21), 1, "Bad conditions", [
                When(LeadField.CompanySize, ConditionOperator.Contains, "big"),
                When(LeadField.CompanySize, ConditionOperator.Between, "10"),
                When(LeadField.Grade, ConditionOperator.In, "E"),
                When(LeadField.Fit, ConditionOperator.GreaterOrEqual, "lots"),
                When(LeadField.CampaignId, ConditionOperator.In, "not-a-guid"),
                When(LeadField.Country, ConditionOperator.In),
                When(LeadField.Country, ConditionOperator.IsEmpty, "x"),
                new RoutingCondition(LeadField.CustomField, ConditionOperator.In, ["x"]),
                When((LeadField)99, ConditionOperator.In, "x"),
                When(LeadField.Tier, ConditionOperator.In, "Warm"),
            ], new RoutingTarget(null, Id(77))),
            new(Id(22), 2, "No target", [When(LeadField.Country, ConditionOperator.In, "FR")], new RoutingTarget(null, null)),
        ];
        var errors = RoutingValidation.Validate(rules, teams, users, Id(404)).ToDictionary();
        string[] expected =
        [
            "defaultTeamId",
            "rules[0].conditions", "rules[0].name", "rules[0].target.teamId",
            "rules[1].conditions[0].operator", "rules[1].conditions[1].values", "rules[1].conditions[2].values[0]",
            "rules[1].conditions[3].values[0]", "rules[1].conditions[4].values[0]", "rules[1].conditions[5].values",
            "rules[1].conditions[6].values", "rules[1].conditions[7].customField", "rules[1].conditions[8].field",
            "rules[1].conditions[9].values[0]", "rules[1].order", "rules[1].target.repId",
            "rules[2].target",
            "teams[0].managerUserId", "teams[0].members[0].weight", "teams[0].members[1].userId", "teams[0].members[2].userId",
            "teams[0].name", "teams[0].overflow", "teams[0].strategy",
            "teams[1].managerUserId",
        ];
        Assert.Equal(expected, errors.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RepSettingsAreValidated()
    {
        var errors = new Tandem.Features.Capture.FieldErrors();
        RoutingValidation.ValidateRep(-1, -5, new WorkCalendar("Nowhere/City", []), errors);
        Assert.Equal(["calendar.hours", "calendar.timeZoneId", "maxNewPerDay", "maxOpenMqls"], errors.ToDictionary().Keys.Order(StringComparer.Ordinal));
        var ok = new Tandem.Features.Capture.FieldErrors();
        RoutingValidation.ValidateRep(0, null, Always, ok);
        Assert.False(ok.Any);
    }
}
