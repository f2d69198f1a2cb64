using Microsoft.EntityFrameworkCore;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Features.Handoff;

/// <summary>
/// A rep's routing settings. Whether the rep is active comes from the user (<see cref="AppUser.IsActive"/>), never
/// from here, so deactivating a user stops routing to them at once.
/// </summary>
public sealed class RepProfile
{
    public Guid UserId { get; set; }
    /// <summary>The <see cref="WorkCalendar"/> as JSON.</summary>
    public required string Calendar { get; set; }
    public int? MaxOpenMqls { get; set; }
    public int? MaxNewPerDay { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

public sealed class SalesTeam
{
    public Guid Id { get; set; } = Ids.New();
    public required string Name { get; set; }
    public Guid? ManagerUserId { get; set; }
    public RoutingStrategy Strategy { get; set; }
    public OverflowPolicy Overflow { get; set; }
    public List<SalesTeamMember> Members { get; set; } = [];
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>A membership with the persisted counters the strategies read (see <see cref="TeamMember"/>).</summary>
public sealed class SalesTeamMember
{
    public Guid TeamId { get; set; }
    public Guid UserId { get; set; }
    public int Weight { get; set; } = 1;
    public int AssignedCount { get; set; }
    public DateTimeOffset? LastAssignedAt { get; set; }
}

public sealed class RoutingRuleRow
{
    public Guid Id { get; set; } = Ids.New();
    public int Order { get; set; }
    public required string Name { get; set; }
    public bool Enabled { get; set; } = true;
    /// <summary>The <see cref="RoutingCondition"/> list as JSON.</summary>
    public required string Conditions { get; set; }
    public Guid? TargetTeamId { get; set; }
    public Guid? TargetRepId { get; set; }
}

public sealed class SlaPolicyRow
{
    public SlaTier Tier { get; set; }
    public int FirstTouchMinutes { get; set; }
    /// <summary>Percentages as JSON, e.g. <c>[50,80]</c>.</summary>
    public required string ReminderPercents { get; set; }
    public int GraceMinutes { get; set; }
    public int Attempts { get; set; }
    public int AttemptWindowDays { get; set; }
}

/// <summary>
/// The single row of handoff settings. Routing locks it (PostgreSQL) so assignments are serialized across instances,
/// and <see cref="ConfigVersion"/> (bumped by every configuration change) keys the in-memory configuration cache.
/// </summary>
public sealed class HandoffSettings
{
    public const int SingletonId = 1;
    public int Id { get; set; } = SingletonId;
    public Guid? DefaultTeamId { get; set; }
    /// <summary>The <see cref="SlaTierRule"/> as JSON; null = <see cref="SlaTierRule.Default"/>.</summary>
    public string? TierRule { get; set; }
    public long ConfigVersion { get; set; }
    public DateTimeOffset? UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }
}

public enum AssignmentState
{
    /// <summary>Assigned (or queued when <see cref="Assignment.RepId"/> is null), not touched yet.</summary>
    Open,
    Touched,
    Breached,
    Reassigned,
    Closed,
}

/// <summary>One hand-over of an MQL to a rep (or to a team queue), with the SLA deadlines and why this rep.</summary>
public sealed class Assignment
{
    public const int MaxReasonLength = 2000;

    public Guid Id { get; set; } = Ids.New();
    public Guid LeadId { get; set; }
    /// <summary>Null while queued.</summary>
    public Guid? RepId { get; set; }
    public Guid? TeamId { get; set; }
    public SlaTier Tier { get; set; }
    public AssignmentState State { get; set; }
    /// <summary>When the lead became MQL (speed to lead, system side: MQL → assignment).</summary>
    public DateTimeOffset MqlAt { get; set; }
    public DateTimeOffset AssignedAt { get; set; }
    public DateTimeOffset? FirstTouchDueAt { get; set; }
    public DateTimeOffset? BreachAt { get; set; }
    public DateTimeOffset? ReassignAt { get; set; }
    public DateTimeOffset? FirstTouchedAt { get; set; }
    public DateTimeOffset? BreachedAt { get; set; }
    public DateTimeOffset? ClosedAt { get; set; }
    /// <summary>The attempts cadence planned at assignment (K of the tier's policy); null for older assignments.</summary>
    public int? Attempts { get; set; }
    /// <summary>End of the attempts window (D working days of the rep): without a connection by then, the lead is recycled.</summary>
    public DateTimeOffset? AttemptsDueAt { get; set; }
    /// <summary>When the rep reached the person (a touch with outcome "connected", or the lead marked Connected): the cadence ends.</summary>
    public DateTimeOffset? ConnectedAt { get; set; }
    public Guid? PreviousAssignmentId { get; set; }
    public RoutingPath Path { get; set; }
    public Guid? RuleId { get; set; }
    public string? RuleName { get; set; }
    public RoutingStrategy? Strategy { get; set; }
    public string Reason { get; set; } = "";
    /// <summary>The whole <see cref="RoutingDecision"/> as JSON (skipped reps with reasons included).</summary>
    public string Decision { get; set; } = "{}";

    /// <summary>States of an assignment still waiting for the rep (translated to SQL <c>IN</c> in queries).</summary>
    public static readonly AssignmentState[] OpenStates = [AssignmentState.Open, AssignmentState.Touched, AssignmentState.Breached];

    public bool IsOpen => OpenStates.Contains(State);
}

public enum TimerKind
{
    Reminder,
    Breach,
    Reassign,
    /// <summary>The attempts window ends: recycle the lead unless the rep connected (survives the first touch).</summary>
    AttemptsEnd,
}

public enum TimerStatus
{
    Pending,
    Done,
    Cancelled,
}

/// <summary>An SLA deadline as a row: the monitor claims due rows, so a restart loses nothing and two instances never act twice.</summary>
public sealed class SlaTimer
{
    public Guid Id { get; set; } = Ids.New();
    public Guid AssignmentId { get; set; }
    public TimerKind Kind { get; set; }
    /// <summary>For reminders: the share of the first-touch time elapsed (50, 80…).</summary>
    public int? Percent { get; set; }
    public DateTimeOffset DueAt { get; set; }
    public TimerStatus Status { get; set; }
    /// <summary>The instance that acted on it (diagnostics).</summary>
    public string? ClaimedBy { get; set; }
    public DateTimeOffset? DoneAt { get; set; }
    public string? Outcome { get; set; }
}

public static class HandoffModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<RepProfile>(e =>
        {
            e.ToTable("RepProfiles");
            e.HasKey(r => r.UserId);
            e.Property(r => r.Calendar).HasMaxLength(64_000);
            e.HasOne<AppUser>().WithOne().HasForeignKey<RepProfile>(r => r.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<SalesTeam>(e =>
        {
            e.ToTable("SalesTeams");
            e.Property(t => t.Name).HasMaxLength(200);
            e.Property(t => t.Strategy).HasConversion<string>().HasMaxLength(32);
            e.Property(t => t.Overflow).HasConversion<string>().HasMaxLength(16);
            e.HasIndex(t => t.Name).IsUnique();
            e.HasOne<AppUser>().WithMany().HasForeignKey(t => t.ManagerUserId).OnDelete(DeleteBehavior.SetNull);
            e.HasMany(t => t.Members).WithOne().HasForeignKey(m => m.TeamId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<SalesTeamMember>(e =>
        {
            e.ToTable("SalesTeamMembers");
            e.HasKey(m => new { m.TeamId, m.UserId });
            e.HasIndex(m => m.UserId);
            e.HasOne<AppUser>().WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<RoutingRuleRow>(e =>
        {
            e.ToTable("RoutingRules");
            e.Property(r => r.Name).HasMaxLength(200);
            e.Property(r => r.Conditions).HasMaxLength(64_000);
            e.HasIndex(r => r.Order);
        });
        builder.Entity<SlaPolicyRow>(e =>
        {
            e.ToTable("SlaPolicies");
            e.HasKey(p => p.Tier);
            e.Property(p => p.Tier).HasConversion<string>().HasMaxLength(16);
            e.Property(p => p.ReminderPercents).HasMaxLength(400);
            e.HasData(SlaPolicy.Defaults.Select(d => new SlaPolicyRow
            {
                Tier = d.Tier,
                FirstTouchMinutes = d.FirstTouchMinutes,
                ReminderPercents = "[" + string.Join(",", d.ReminderPercents) + "]",
                GraceMinutes = d.GraceMinutes,
                Attempts = d.Attempts,
                AttemptWindowDays = d.AttemptWindowDays,
            }));
        });
        builder.Entity<HandoffSettings>(e =>
        {
            e.ToTable("HandoffSettings");
            e.HasKey(s => s.Id);
            e.Property(s => s.Id).ValueGeneratedNever();
            e.Property(s => s.TierRule).HasMaxLength(4000);
            e.Property(s => s.UpdatedBy).HasMaxLength(256);
            // The row exists from the start: routing locks it, so it must never be created concurrently.
            e.HasData(new HandoffSettings());
        });
        builder.Entity<Assignment>(e =>
        {
            e.ToTable("Assignments");
            e.Property(a => a.Tier).HasConversion<string>().HasMaxLength(16);
            e.Property(a => a.State).HasConversion<string>().HasMaxLength(16);
            e.Property(a => a.Path).HasConversion<string>().HasMaxLength(32);
            e.Property(a => a.Strategy).HasConversion<string>().HasMaxLength(32);
            e.Property(a => a.RuleName).HasMaxLength(200);
            e.Property(a => a.Reason).HasMaxLength(Assignment.MaxReasonLength);
            e.Property(a => a.Decision).HasMaxLength(64_000);
            e.Ignore(a => a.IsOpen);
            e.HasIndex(a => new { a.LeadId, a.State });
            e.HasIndex(a => new { a.RepId, a.State });
            e.HasIndex(a => new { a.State, a.AssignedAt });
            e.HasIndex(a => a.AssignedAt);
            e.HasOne<Lead>().WithMany().HasForeignKey(a => a.LeadId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<AppUser>().WithMany().HasForeignKey(a => a.RepId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<SlaTimer>(e =>
        {
            e.ToTable("SlaTimers");
            e.Property(t => t.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(t => t.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(t => t.ClaimedBy).HasMaxLength(100);
            e.Property(t => t.Outcome).HasMaxLength(500);
            e.HasIndex(t => new { t.Status, t.DueAt });
            e.HasIndex(t => t.AssignmentId);
            e.HasOne<Assignment>().WithMany().HasForeignKey(t => t.AssignmentId).OnDelete(DeleteBehavior.Cascade);
        });
    }
}
