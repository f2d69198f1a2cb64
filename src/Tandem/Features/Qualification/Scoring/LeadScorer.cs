using System.Globalization;
using Tandem.Features.Leads;

namespace Tandem.Features.Qualification.Scoring;

/// <summary>
/// Scores leads against one definition and set of personas. Build once per definition (it pre-compiles the rules),
/// then call <see cref="Score"/> for each lead; thread-safe and allocation-light.
/// </summary>
/// <remarks>
/// Total caps (<see cref="QualificationDefinition.FitCap"/>, <see cref="QualificationDefinition.EngagementCap"/>) limit the
/// positive points only: negative points (free mail, competitor, unsubscribe) always count in full, so a penalty is never
/// hidden by points above the cap.
/// </remarks>
public sealed class LeadScorer
{
    private const int StackRules = 64;

    private readonly CompiledFitRule[] _fit;
    private readonly CompiledEngagementRule[] _engagement;
    private readonly int[][] _engagementByType;
    private readonly CompiledPersona[] _personas;
    private readonly MqlCondition[] _mql;
    private readonly double _halfLifeDays;
    private readonly bool _needsSeniority;

    public LeadScorer(QualificationDefinition definition, IReadOnlyList<PersonaProfile> personas)
    {
        Definition = definition;
        Personas = personas;
        var competitors = new Competitors(definition.CompetitorDomains);
        _fit = [.. definition.FitRules.Select(r => new CompiledFitRule(r, competitors))];
        _engagement = [.. definition.EngagementRules.Select(r => new CompiledEngagementRule(r))];
        var types = Enum.GetValues<ActivityType>();
        _engagementByType = new int[types.Max(t => (int)t) + 1][];
        for (var t = 0; t < _engagementByType.Length; t++)
            _engagementByType[t] = [.. Enumerable.Range(0, _engagement.Length).Where(i => (int)_engagement[i].Rule.ActivityType == t)];
        // Ties go to ideal personas, then by name: sorting once lets the match keep the first of equal percentages.
        _personas = [.. personas.OrderByDescending(p => p.IsIdeal).ThenBy(p => p.Name, StringComparer.OrdinalIgnoreCase)
            .ThenBy(p => p.Name, StringComparer.Ordinal).Select(p => new CompiledPersona(p))];
        _mql = [.. definition.Mql.AnyOf];
        _halfLifeDays = definition.Decay.Days;
        _needsSeniority = _fit.Any(f => f.Rule.Field == FitField.Seniority) || _personas.Any(p => p.Seniorities.Count > 0);
    }

    public QualificationDefinition Definition { get; }

    public IReadOnlyList<PersonaProfile> Personas { get; }

    /// <summary>Fit, engagement (decayed at <paramref name="now"/>), grade, persona, MQL verdict and the explanation.</summary>
    public LeadScore Score(LeadFacts lead, IReadOnlyList<ActivityFacts> activities, DateTimeOffset now)
    {
        var lines = new List<ScoreLine>(_fit.Length + _engagement.Length + 2);
        var view = new LeadView(lead, _needsSeniority);
        var persona = BestPersona(view);
        var (fit, fitCapLine) = ScoreFit(view, persona, lines);
        var fitLineCount = lines.Count;
        var (engagement, engagementCapLine) = ScoreEngagement(activities, now, lines);
        SortByMagnitude(lines, 0, fitLineCount);
        SortByMagnitude(lines, fitLineCount, lines.Count - fitLineCount);
        if (fitCapLine is not null)
            lines.Add(fitCapLine);
        if (engagementCapLine is not null)
            lines.Add(engagementCapLine);
        var grade = GradeOf(fit);
        var results = new MqlConditionResult[_mql.Length];
        var isMql = false;
        for (var i = 0; i < _mql.Length; i++)
        {
            results[i] = EvaluateCondition(i, _mql[i], fit, grade, engagement, activities, now);
            isMql |= results[i].Holds;
        }
        return new LeadScore(fit, engagement, grade, persona, isMql, lines, results);
    }

    /// <summary>The best-matching persona (highest %, ideal personas win ties), or null below 50 %.</summary>
    public PersonaMatch? MatchPersona(LeadFacts lead) => BestPersona(new LeadView(lead, _needsSeniority));

    /// <summary>
    /// The first moment (lead creation or an activity time, not after <paramref name="until"/>) at which the MQL rule
    /// held, replaying activities in time order with decay evaluated at each moment; null if it never held.
    /// </summary>
    /// <remarks>
    /// Engagement only decays between activities and "within N days" only expires, so the rule can only start to hold at
    /// the creation or at an activity: checking those moments is exact. Activities before the creation count from the creation.
    /// </remarks>
    public DateTimeOffset? FirstMqlAt(LeadFacts lead, IReadOnlyList<ActivityFacts> activities, DateTimeOffset until)
    {
        if (_mql.Length == 0 || lead.CreatedAt > until)
            return null;
        var view = new LeadView(lead, _needsSeniority);
        var (fit, _) = ScoreFit(view, BestPersona(view), null);
        var grade = GradeOf(fit);
        var anyPossible = false;
        var needsEngagement = false;
        foreach (var c in _mql)
        {
            if (!HasAnyPart(c) || !FitPartsHold(c, fit, grade))
                continue;
            if (c.MinEngagement is null && c.RequiresActivity is null)
                return lead.CreatedAt;
            anyPossible = true;
            needsEngagement |= c.MinEngagement is not null;
        }
        if (!anyPossible)
            return null;

        // Activities up to the horizon, by time; the matches of each are computed once.
        var ordered = new ActivityFacts[activities.Count];
        var count = 0;
        foreach (var a in activities)
        {
            if (a.OccurredAt <= until)
                ordered[count++] = a;
        }
        Array.Sort(ordered, 0, count, ActivityTimeComparer.Instance);
        var matchRule = new List<int>(count * 2);
        var matchActivity = new List<int>(count * 2);
        if (needsEngagement)
        {
            for (var i = 0; i < count; i++)
            {
                foreach (var r in _engagementByType[(int)ordered[i].Type])
                {
                    if (_engagement[r].Matches(ordered[i]))
                    {
                        matchRule.Add(r);
                        matchActivity.Add(i);
                    }
                }
            }
        }
        var rules = _engagement.Length;
        Span<double> sums = rules <= StackRules ? stackalloc double[rules] : new double[rules];
        Span<long> onceAt = rules <= StackRules ? stackalloc long[rules] : new long[rules];
        // A window drops activities as it moves, so its engagement is recomputed at each moment; no decay or a half-life
        // is carried forward: decaying a sum is multiplying it by the decay factor between the two moments.
        var incremental = Definition.Decay.Kind != DecayKind.Window;
        sums.Clear();
        onceAt.Fill(long.MinValue);
        var applied = 0;
        var next = 0;
        while (next < count && ordered[next].OccurredAt <= lead.CreatedAt)
            next++;
        var moment = lead.CreatedAt;
        var previous = moment;
        while (true)
        {
            var engagement = 0;
            if (needsEngagement && incremental)
            {
                if (moment != previous && Definition.Decay.Kind == DecayKind.HalfLife)
                {
                    var factor = Decay(moment, previous);
                    for (var r = 0; r < rules; r++)
                        sums[r] *= factor;
                }
                for (; applied < matchRule.Count && matchActivity[applied] < next; applied++)
                {
                    var r = matchRule[applied];
                    var at = ordered[matchActivity[applied]].OccurredAt;
                    if (_engagement[r].Rule.Once)
                        onceAt[r] = at.UtcTicks;
                    else
                        sums[r] += _engagement[r].Rule.Points * Decay(moment, at);
                }
                engagement = Total(sums, onceAt, moment);
            }
            else if (needsEngagement)
            {
                engagement = EngagementAt(ordered, next, matchRule, matchActivity, moment, sums, onceAt);
            }
            previous = moment;
            foreach (var c in _mql)
            {
                if (HasAnyPart(c) && FitPartsHold(c, fit, grade) && (c.MinEngagement is not { } min || engagement >= min)
                    && (c.RequiresActivity is not { } type || HasActivity(ordered.AsSpan(0, next), type, c.WithinDays, moment)))
                    return moment;
            }
            if (next >= count)
                return null;
            moment = ordered[next].OccurredAt;
            while (next < count && ordered[next].OccurredAt <= moment)
                next++;
        }
    }

    private int Total(Span<double> sums, Span<long> onceAt, DateTimeOffset moment)
    {
        var positive = 0;
        var negative = 0;
        for (var r = 0; r < _engagement.Length; r++)
        {
            var rule = _engagement[r];
            var sum = rule.Rule.Once
                ? onceAt[r] == long.MinValue ? 0 : rule.Rule.Points * Decay(moment, new DateTimeOffset(onceAt[r], TimeSpan.Zero))
                : sums[r];
            var points = rule.Round(sum);
            if (points > 0)
                positive += points;
            else
                negative += points;
        }
        return ApplyCap(positive, Definition.EngagementCap) + negative;
    }

    private int EngagementAt(ActivityFacts[] ordered, int upTo, List<int> matchRule, List<int> matchActivity, DateTimeOffset moment, Span<double> sums, Span<long> onceAt)
    {
        sums.Clear();
        onceAt.Fill(long.MinValue);
        for (var m = 0; m < matchRule.Count && matchActivity[m] < upTo; m++)
        {
            var rule = _engagement[matchRule[m]];
            var at = ordered[matchActivity[m]].OccurredAt;
            var factor = Decay(moment, at);
            if (factor <= 0)
                continue;
            if (rule.Rule.Once)
            {
                // Matches are in time order: the last one seen is the most recent.
                onceAt[matchRule[m]] = at.UtcTicks;
                sums[matchRule[m]] = rule.Rule.Points * factor;
            }
            else
            {
                sums[matchRule[m]] += rule.Rule.Points * factor;
            }
        }
        var positive = 0;
        var negative = 0;
        for (var r = 0; r < _engagement.Length; r++)
        {
            var points = _engagement[r].Round(sums[r]);
            if (points > 0)
                positive += points;
            else
                negative += points;
        }
        return ApplyCap(positive, Definition.EngagementCap) + negative;
    }

    private (int Fit, ScoreLine? CapLine) ScoreFit(in LeadView view, PersonaMatch? persona, List<ScoreLine>? lines)
    {
        var positive = 0;
        var negative = 0;
        foreach (var rule in _fit)
        {
            if (!rule.TryMatch(view, persona, out var matched))
                continue;
            if (rule.Rule.Points > 0)
                positive += rule.Rule.Points;
            else
                negative += rule.Rule.Points;
            lines?.Add(new ScoreLine(ScoreLineKind.Fit, rule.Rule.Id, rule.Rule.Label, rule.Rule.Points, rule.Rule.Points, 1, null, matched));
        }
        var capped = ApplyCap(positive, Definition.FitCap);
        var capLine = capped < positive
            ? new ScoreLine(ScoreLineKind.Cap, "fitCap", "Fit cap", capped - positive, capped - positive, 0, null, capped.ToString(CultureInfo.InvariantCulture))
            : null;
        return (capped + negative, capLine);
    }

    private (int Engagement, ScoreLine? CapLine) ScoreEngagement(IReadOnlyList<ActivityFacts> activities, DateTimeOffset now, List<ScoreLine> lines)
    {
        var rules = _engagement.Length;
        if (rules == 0)
            return (0, null);
        Span<double> sums = rules <= StackRules ? stackalloc double[rules] : new double[rules];
        Span<int> raw = rules <= StackRules ? stackalloc int[rules] : new int[rules];
        Span<int> counts = rules <= StackRules ? stackalloc int[rules] : new int[rules];
        Span<long> latest = rules <= StackRules ? stackalloc long[rules] : new long[rules];
        Span<int> latestIndex = rules <= StackRules ? stackalloc int[rules] : new int[rules];
        latest.Fill(long.MinValue);
        var nowTicks = now.UtcTicks;
        for (var i = 0; i < activities.Count; i++)
        {
            var activity = activities[i];
            if (activity.OccurredAt.UtcTicks > nowTicks || (uint)activity.Type >= (uint)_engagementByType.Length)
                continue;
            var factor = -1.0;
            foreach (var r in _engagementByType[(int)activity.Type])
            {
                var rule = _engagement[r];
                if (!rule.Matches(activity))
                    continue;
                if (factor < 0)
                    factor = Decay(now, activity.OccurredAt);
                // A window drops old activities entirely; a half-life only shrinks them.
                if (factor <= 0 && Definition.Decay.Kind == DecayKind.Window)
                    continue;
                counts[r]++;
                var at = activity.OccurredAt.UtcTicks;
                if (rule.Rule.Once)
                {
                    if (at >= latest[r])
                    {
                        sums[r] = rule.Rule.Points * factor;
                        raw[r] = rule.Rule.Points;
                    }
                }
                else
                {
                    sums[r] += rule.Rule.Points * factor;
                    raw[r] += rule.Rule.Points;
                }
                if (at >= latest[r])
                {
                    latest[r] = at;
                    latestIndex[r] = i;
                }
            }
        }
        var positive = 0;
        var negative = 0;
        for (var r = 0; r < rules; r++)
        {
            if (counts[r] == 0)
                continue;
            var rule = _engagement[r];
            var points = rule.Round(sums[r]);
            if (points > 0)
                positive += points;
            else
                negative += points;
            lines.Add(new ScoreLine(ScoreLineKind.Engagement, rule.Rule.Id, rule.Rule.Label, points, raw[r], counts[r], activities[latestIndex[r]].OccurredAt, null));
        }
        var capped = ApplyCap(positive, Definition.EngagementCap);
        var capLine = capped < positive
            ? new ScoreLine(ScoreLineKind.Cap, "engagementCap", "Engagement cap", capped - positive, capped - positive, 0, null, capped.ToString(CultureInfo.InvariantCulture))
            : null;
        return (capped + negative, capLine);
    }

    private double Decay(DateTimeOffset now, DateTimeOffset at)
    {
        switch (Definition.Decay.Kind)
        {
            case DecayKind.HalfLife when _halfLifeDays > 0:
                var ageDays = (double)(now.UtcTicks - at.UtcTicks) / TimeSpan.TicksPerDay;
                return ageDays <= 0 ? 1 : Math.Pow(2.0, -ageDays / _halfLifeDays);
            case DecayKind.Window:
                return now.UtcTicks - at.UtcTicks <= Definition.Decay.Days * TimeSpan.TicksPerDay ? 1 : 0;
            default:
                return 1;
        }
    }

    private static int ApplyCap(int positive, int? cap) => cap is { } c && positive > c ? Math.Max(c, 0) : positive;

    private Grade GradeOf(int fit) =>
        fit >= Definition.Grades.A ? Grade.A : fit >= Definition.Grades.B ? Grade.B : fit >= Definition.Grades.C ? Grade.C : Grade.D;

    private int GradeMinimum(Grade grade) => grade switch
    {
        Grade.A => Definition.Grades.A,
        Grade.B => Definition.Grades.B,
        Grade.C => Definition.Grades.C,
        _ => int.MinValue,
    };

    private static bool HasAnyPart(MqlCondition c) =>
        c.MinGrade is not null || c.MinFit is not null || c.MinEngagement is not null || c.RequiresActivity is not null;

    private static bool FitPartsHold(MqlCondition c, int fit, Grade grade) =>
        (c.MinGrade is not { } g || grade <= g) && (c.MinFit is not { } f || fit >= f);

    private static bool HasActivity(ReadOnlySpan<ActivityFacts> activities, ActivityType type, int? withinDays, DateTimeOffset now)
    {
        foreach (var a in activities)
        {
            if (a.Type == type && a.OccurredAt <= now && (withinDays is not { } d || now - a.OccurredAt <= TimeSpan.FromDays(d)))
                return true;
        }
        return false;
    }

    private static MqlConditionResult EvaluateCondition(int index, MqlCondition c, int fit, Grade grade, int engagement, IReadOnlyList<ActivityFacts> activities, DateTimeOffset now)
    {
        if (!HasAnyPart(c))
            return new MqlConditionResult(index, false, []);
        List<MqlGap>? gaps = null;
        if (c.MinGrade is { } g && grade > g)
            (gaps ??= []).Add(new MqlGap(MqlRequirement.Grade, g.ToString(), grade.ToString()));
        if (c.MinFit is { } f && fit < f)
            (gaps ??= []).Add(new MqlGap(MqlRequirement.Fit, Invariant(f), Invariant(fit)));
        if (c.MinEngagement is { } e && engagement < e)
            (gaps ??= []).Add(new MqlGap(MqlRequirement.Engagement, Invariant(e), Invariant(engagement)));
        if (c.RequiresActivity is { } type)
        {
            DateTimeOffset? last = null;
            var within = false;
            for (var i = 0; i < activities.Count; i++)
            {
                var a = activities[i];
                if (a.Type != type || a.OccurredAt > now)
                    continue;
                if (last is null || a.OccurredAt > last)
                    last = a.OccurredAt;
                within |= c.WithinDays is not { } d || now - a.OccurredAt <= TimeSpan.FromDays(d);
            }
            if (!within)
            {
                var required = c.WithinDays is { } d ? string.Create(CultureInfo.InvariantCulture, $"{type} within {d} days") : type.ToString();
                var actual = last is { } l ? "last " + l.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "none";
                (gaps ??= []).Add(new MqlGap(MqlRequirement.Activity, required, actual));
            }
        }
        return new MqlConditionResult(index, gaps is null, gaps ?? (IReadOnlyList<MqlGap>)[]);
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);

    private PersonaMatch? BestPersona(in LeadView view)
    {
        PersonaMatch? best = null;
        foreach (var persona in _personas)
        {
            var percent = persona.Percent(view);
            if (percent >= 50 && (best is null || percent > best.Percent))
                best = new PersonaMatch(persona.Profile.Id, persona.Profile.Name, percent, persona.Profile.IsIdeal);
        }
        return best;
    }

    private static void SortByMagnitude(List<ScoreLine> lines, int index, int count)
    {
        // Insertion sort: stable (rule order breaks ties) and the lists are short.
        for (var i = index + 1; i < index + count; i++)
        {
            var line = lines[i];
            var j = i - 1;
            while (j >= index && Math.Abs(lines[j].Points) < Math.Abs(line.Points))
            {
                lines[j + 1] = lines[j];
                j--;
            }
            lines[j + 1] = line;
        }
    }

    private sealed class ActivityTimeComparer : IComparer<ActivityFacts>
    {
        public static readonly ActivityTimeComparer Instance = new();

        public int Compare(ActivityFacts? x, ActivityFacts? y) => x!.OccurredAt.UtcTicks.CompareTo(y!.OccurredAt.UtcTicks);
    }
}
