using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Handoff;

/// <summary>How urgent an MQL is for sales; each tier has its own <see cref="SlaPolicy"/>.</summary>
public enum SlaTier
{
    Hot,
    Standard,
    Low,
}

/// <summary>
/// Sales' side of the SLA for one tier. <see cref="FirstTouchMinutes"/> are business minutes of the assigned rep's
/// calendar; <see cref="GraceMinutes"/> are wall-clock minutes after the breach (see <see cref="SlaPlanner"/>).
/// </summary>
/// <param name="ReminderPercents">Reminders to the rep at these shares of the first-touch time, e.g. [50, 80].</param>
/// <param name="Attempts">The rep makes K attempts…</param>
/// <param name="AttemptWindowDays">…within D working days of the rep's calendar, then the lead is recycled.</param>
public sealed record SlaPolicy(
    SlaTier Tier,
    int FirstTouchMinutes,
    IReadOnlyList<int> ReminderPercents,
    int GraceMinutes,
    int Attempts,
    int AttemptWindowDays)
{
    /// <summary>Sensible defaults: hot 60 business minutes, standard one working day (8 h), low two days.</summary>
    public static IReadOnlyList<SlaPolicy> Defaults { get; } =
    [
        new(SlaTier.Hot, 60, [50, 80], 15, 6, 5),
        new(SlaTier.Standard, 8 * 60, [50, 80], 60, 4, 10),
        new(SlaTier.Low, 16 * 60, [80], 240, 2, 15),
    ];

    public const int MaxFirstTouchMinutes = 60 * 24 * 90;

    public void Validate(FieldErrors errors, string prefix = "")
    {
        if (!Enum.IsDefined(Tier))
            errors.Add(prefix + "tier", "Unknown tier (Hot, Standard or Low).");
        if (FirstTouchMinutes is < 1 or > MaxFirstTouchMinutes)
            errors.Add(prefix + "firstTouchMinutes", $"Must be between 1 and {MaxFirstTouchMinutes} business minutes.");
        var reminders = ReminderPercents ?? [];
        for (var i = 0; i < reminders.Count; i++)
        {
            if (reminders[i] is < 1 or > 99)
                errors.Add($"{prefix}reminderPercents[{i}]", "A reminder is a percentage between 1 and 99 of the first-touch time.");
            else if (i > 0 && reminders[i] <= reminders[i - 1])
                errors.Add($"{prefix}reminderPercents[{i}]", "Reminders must be in increasing order without repeats.");
        }
        if (GraceMinutes is < 0 or > 60 * 24 * 30)
            errors.Add(prefix + "graceMinutes", "Must be between 0 and 43200 minutes (30 days).");
        if (Attempts is < 1 or > 100)
            errors.Add(prefix + "attempts", "Must be between 1 and 100.");
        if (AttemptWindowDays is < 1 or > 365)
            errors.Add(prefix + "attemptWindowDays", "Must be between 1 and 365 working days.");
    }

    public FieldErrors Validate()
    {
        var errors = new FieldErrors();
        Validate(errors);
        return errors;
    }

    /// <summary>Field errors for a policy set: each tier exactly once, each policy valid (paths <c>[i].field</c>).</summary>
    public static FieldErrors ValidateSet(IReadOnlyList<SlaPolicy> policies)
    {
        var errors = new FieldErrors();
        for (var i = 0; i < policies.Count; i++)
        {
            if (policies[i] is null)
            {
                errors.Add($"[{i}]", "A policy is required.");
                continue;
            }
            policies[i].Validate(errors, $"[{i}].");
            if (policies.Take(i).Any(p => p?.Tier == policies[i].Tier))
                errors.Add($"[{i}].tier", $"There is already a policy for tier {policies[i].Tier}.");
        }
        foreach (var tier in Enum.GetValues<SlaTier>())
            if (!policies.Any(p => p?.Tier == tier))
                errors.Add("tiers", $"A policy for tier {tier} is required.");
        return errors;
    }
}

/// <summary>
/// Which MQLs are hot and which are low, as data. Hot: grade at least <see cref="HotMinGrade"/>, or an activity of
/// one of <see cref="HotActivities"/> within <see cref="HotActivityWithinDays"/> days (from a lead graded at least
/// <see cref="HotActivityMinGrade"/> when set). Low: grade <see cref="LowGrade"/> or worse. Otherwise standard.
/// Hot is checked first, so a demo request can make a weak lead hot unless <see cref="HotActivityMinGrade"/> says no.
/// An ungraded lead is standard unless an activity makes it hot.
/// </summary>
public sealed record SlaTierRule(
    Grade? HotMinGrade,
    IReadOnlyList<ActivityType> HotActivities,
    int HotActivityWithinDays,
    Grade? HotActivityMinGrade,
    Grade? LowGrade)
{
    /// <summary>Hot = grade A or a demo request in the last 7 days (grade C or better); low = grade D.</summary>
    public static SlaTierRule Default { get; } = new(Grade.A, [ActivityType.DemoRequest], 7, Grade.C, Grade.D);

    public void Validate(FieldErrors errors, string prefix = "")
    {
        if (HotMinGrade is { } g && !Enum.IsDefined(g))
            errors.Add(prefix + "hotMinGrade", "Unknown grade (A to D).");
        if (HotActivityMinGrade is { } a && !Enum.IsDefined(a))
            errors.Add(prefix + "hotActivityMinGrade", "Unknown grade (A to D).");
        if (LowGrade is { } l && !Enum.IsDefined(l))
            errors.Add(prefix + "lowGrade", "Unknown grade (A to D).");
        var activities = HotActivities ?? [];
        for (var i = 0; i < activities.Count; i++)
            if (!Enum.IsDefined(activities[i]))
                errors.Add($"{prefix}hotActivities[{i}]", "Unknown activity type.");
        if (activities.Count > 0 && HotActivityWithinDays is < 1 or > 365)
            errors.Add(prefix + "hotActivityWithinDays", "Must be between 1 and 365 days.");
        if (HotMinGrade is { } hot && LowGrade is { } low && low <= hot)
            errors.Add(prefix + "lowGrade", "The low grade must be worse than the hot grade.");
    }

    public FieldErrors Validate()
    {
        var errors = new FieldErrors();
        Validate(errors);
        return errors;
    }
}

/// <summary>The last time the lead did an activity of a type (what tier classification needs of the timeline).</summary>
public sealed record LastActivity(ActivityType Type, DateTimeOffset At);

public static class SlaTiers
{
    /// <summary>The tier of an MQL from its grade (null = not graded) and its recent activities.</summary>
    public static SlaTier Classify(Grade? grade, IReadOnlyList<LastActivity> activities, DateTimeOffset now, SlaTierRule rule)
    {
        // Grades are ordered A < B < C < D, so "at least B" is grade <= B.
        if (rule.HotMinGrade is { } hotGrade && grade is { } g && g <= hotGrade)
            return SlaTier.Hot;
        if ((rule.HotActivities?.Count ?? 0) > 0
            && (rule.HotActivityMinGrade is not { } minGrade || grade is { } ag && ag <= minGrade))
        {
            var since = now.AddDays(-rule.HotActivityWithinDays);
            foreach (var a in activities)
                if (a.At >= since && a.At <= now && rule.HotActivities!.Contains(a.Type))
                    return SlaTier.Hot;
        }
        if (rule.LowGrade is { } lowGrade && grade is { } lg && lg >= lowGrade)
            return SlaTier.Low;
        return SlaTier.Standard;
    }
}

/// <summary>When a reminder to the rep is due: <see cref="Percent"/> % of the first-touch time elapsed.</summary>
public sealed record SlaReminder(int Percent, DateTimeOffset DueAt);

/// <summary>The timers of one assignment, ready to be stored as rows with due times.</summary>
/// <param name="ClockStartsAt">The first working moment of the rep at or after the assignment.</param>
/// <param name="FirstTouchDueAt">Deadline for the first touch; the SLA is breached at this instant without one.</param>
/// <param name="BreachAt">Equal to <see cref="FirstTouchDueAt"/>: the breach (manager notified) is recorded then.</param>
/// <param name="ReassignAt"><see cref="BreachAt"/> + grace in wall-clock minutes.</param>
/// <param name="AttemptsDueAt">End of the attempts window: without a connection by then, the lead is recycled.</param>
public sealed record SlaPlan(
    SlaTier Tier,
    DateTimeOffset AssignedAt,
    DateTimeOffset ClockStartsAt,
    IReadOnlyList<SlaReminder> Reminders,
    DateTimeOffset FirstTouchDueAt,
    DateTimeOffset BreachAt,
    DateTimeOffset ReassignAt,
    int Attempts,
    DateTimeOffset AttemptsDueAt);

public static class SlaPlanner
{
    /// <summary>
    /// Plans the timers of an assignment made at <paramref name="assignedAt"/> to a rep with <paramref name="calendar"/>.
    /// Reminders and the first-touch deadline count business time of the rep (exact to the tick, so 50 % of 45 minutes
    /// is 22.5 minutes). The grace before reassignment counts wall-clock minutes: once breached, the lead is the
    /// manager's problem, and reassignment routes it to someone on shift rather than waiting for the late rep's
    /// next working day. The attempts window ends at the end of the D-th working day of the rep.
    /// </summary>
    /// <exception cref="NoWorkingTimeException">The rep has no working time within <see cref="BusinessTime.SearchLimitDays"/> days.</exception>
    public static SlaPlan Plan(SlaPolicy policy, DateTimeOffset assignedAt, WorkCalendar calendar)
    {
        var clockStarts = BusinessTime.NextWorkingMoment(assignedAt, calendar);
        var firstTouch = TimeSpan.FromMinutes(policy.FirstTouchMinutes);
        var reminders = (policy.ReminderPercents ?? [])
            .Select(p => new SlaReminder(p, BusinessTime.AddBusinessTime(clockStarts, TimeSpan.FromTicks(firstTouch.Ticks * p / 100), calendar)))
            .ToList();
        var due = BusinessTime.AddBusinessTime(clockStarts, firstTouch, calendar);
        return new SlaPlan(
            policy.Tier,
            assignedAt,
            clockStarts,
            reminders,
            due,
            due,
            due.AddMinutes(policy.GraceMinutes),
            policy.Attempts,
            BusinessTime.EndOfWorkingDays(clockStarts, policy.AttemptWindowDays, calendar));
    }
}
