using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Tandem.Data;
using Tandem.Features.Handoff.Routing;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Qualification;

namespace Tandem.Features.Handoff;

public static class HandoffJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
}

/// <summary>The routing configuration that changes only through the config API (counters and rep states are read per lead).</summary>
public sealed record HandoffConfig(
    long Version,
    Guid? DefaultTeamId,
    IReadOnlyList<RoutingRule> Rules,
    IReadOnlyList<Team> Teams,
    IReadOnlyDictionary<Guid, RepProfile> Profiles,
    IReadOnlyDictionary<Guid, WorkCalendar> Calendars,
    IReadOnlyDictionary<SlaTier, SlaPolicy> Policies,
    SlaTierRule TierRule);

/// <summary>
/// Caches the parsed configuration per <see cref="HandoffSettings.ConfigVersion"/>: every change bumps the version in
/// the database, so every instance sees it on its next lead, and <see cref="WorkCalendar"/> instances are reused
/// (their compiled form is cached per instance).
/// </summary>
public sealed class HandoffConfigCache
{
    private HandoffConfig? _current;

    public async Task<HandoffConfig> GetAsync(TandemDb db, long version, CancellationToken ct)
    {
        if (_current is { } c && c.Version == version)
            return c;
        var loaded = await LoadAsync(db, version, ct);
        _current = loaded;
        return loaded;
    }

    public void Invalidate() => _current = null;

    public static async Task<HandoffConfig> LoadAsync(TandemDb db, long version, CancellationToken ct)
    {
        var settings = await db.Set<HandoffSettings>().AsNoTracking().FirstOrDefaultAsync(ct) ?? new HandoffSettings();
        var rules = (await db.Set<RoutingRuleRow>().AsNoTracking().ToListAsync(ct)).OrderBy(r => r.Order).Select(ToRule).ToList();
        var teams = await db.Set<SalesTeam>().AsNoTracking().Include(t => t.Members).ToListAsync(ct);
        var profiles = await db.Set<RepProfile>().AsNoTracking().ToDictionaryAsync(p => p.UserId, ct);
        var calendars = new Dictionary<Guid, WorkCalendar>();
        foreach (var p in profiles.Values)
            if (ParseCalendar(p.Calendar) is { } cal)
                calendars[p.UserId] = cal;
        var policies = (await db.Set<SlaPolicyRow>().AsNoTracking().ToListAsync(ct)).Select(ToPolicy).ToDictionary(p => p.Tier);
        foreach (var d in SlaPolicy.Defaults)
            policies.TryAdd(d.Tier, d);
        var tierRule = settings.TierRule is { } json ? JsonSerializer.Deserialize<SlaTierRule>(json, HandoffJson.Options) ?? SlaTierRule.Default : SlaTierRule.Default;
        return new HandoffConfig(version, settings.DefaultTeamId, rules, teams.Select(t => ToTeam(t, [])).ToList(), profiles, calendars, policies, tierRule);
    }

    public static WorkCalendar? ParseCalendar(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<WorkCalendar>(json, HandoffJson.Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static RoutingRule ToRule(RoutingRuleRow r) => new(r.Id, r.Order, r.Name,
        JsonSerializer.Deserialize<List<RoutingCondition>>(r.Conditions, HandoffJson.Options) ?? [],
        new RoutingTarget(r.TargetTeamId, r.TargetRepId), r.Enabled);

    public static SlaPolicy ToPolicy(SlaPolicyRow p) => new(p.Tier, p.FirstTouchMinutes,
        JsonSerializer.Deserialize<List<int>>(p.ReminderPercents, HandoffJson.Options) ?? [], p.GraceMinutes, p.Attempts, p.AttemptWindowDays);

    public static Team ToTeam(SalesTeam t, IReadOnlyList<SalesTeamMember> liveMembers) => new(t.Id, t.Name, t.ManagerUserId, t.Strategy,
        (liveMembers.Count > 0 ? liveMembers : t.Members).OrderBy(m => m.UserId).Select(m => new TeamMember(m.UserId, m.Weight, m.AssignedCount, m.LastAssignedAt)).ToList(),
        t.Overflow);
}

/// <summary>Counts actions taken by this instance (tests prove exactly-once across instances with them).</summary>
public sealed class HandoffCounters
{
    private int _assigned;
    private int _breaches;
    private int _reassigned;
    private int _recycled;

    /// <summary>Names this app instance in <see cref="SlaTimer.ClaimedBy"/>.</summary>
    public string InstanceId { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}" is var id && id.Length > 100 ? id[..100] : id;

    public int Assigned => _assigned;
    public int Breaches => _breaches;
    public int Reassigned => _reassigned;
    public int Recycled => _recycled;

    public void CountAssigned() => Interlocked.Increment(ref _assigned);

    public void CountBreach() => Interlocked.Increment(ref _breaches);

    public void CountReassigned() => Interlocked.Increment(ref _reassigned);

    public void CountRecycled() => Interlocked.Increment(ref _recycled);
}

/// <summary>How to route: by the rules (optionally excluding a rep), or to a rep chosen by hand.</summary>
public sealed record RouteRequest(DateTimeOffset MqlAt, Guid? ExcludeRepId = null, Assignment? Previous = null, Guid? ManualRepId = null,
    string? ManualBy = null, string? Why = null);

/// <summary>
/// Turns a routing decision into rows: the assignment with why this rep, its SLA timers, the team counters, the lead's
/// owner and the notifications — all added to the caller's unit of work (the caller saves and commits).
/// </summary>
public sealed class HandoffService(TandemDb db, HandoffConfigCache cache, NotificationSignal signal, TimeProvider clock, HandoffCounters counters,
    IEnumerable<IDispositionListener> dispositionListeners, Platform.OutboundWebhooks.IWebhookPublisher webhooks)
{
    private static readonly ActivityType[] TouchTypes = [ActivityType.Call, ActivityType.EmailSent, ActivityType.Meeting];
    private readonly Notifier _notifier = new(db, signal, clock);

    public TandemDb Db => db;

    public HandoffCounters Counters => counters;

    /// <summary>Tells the feedback loop of a verdict on an MQL, in the caller's transaction.</summary>
    public async Task DispositionAsync(Lead lead, Disposition disposition, CancellationToken ct)
    {
        foreach (var listener in dispositionListeners)
            await listener.OnDispositionAsync(db, lead, disposition, ct);
    }

    /// <summary>Outbound webhooks: events published here commit with the handoff's change.</summary>
    public Platform.OutboundWebhooks.IWebhookPublisher Webhooks => webhooks;

    public static bool IsTouch(ActivityType type) => TouchTypes.Contains(type);

    /// <summary>
    /// Takes the routing lock (PostgreSQL: the settings row, so two instances never assign from the same counts) and
    /// returns the current configuration. Must run inside a transaction.
    /// </summary>
    public async Task<HandoffConfig> LockConfigAsync(CancellationToken ct)
    {
        if (UnitOfWork() is { Config: { } locked })
            return locked; // already locked by this transaction (a scoring pass routes many leads in one)
        long version;
        if (db.Database.IsNpgsql())
            version = await db.Database.SqlQueryRaw<long>(
                "SELECT \"ConfigVersion\" AS \"Value\" FROM \"HandoffSettings\" WHERE \"Id\" = 1 FOR UPDATE").FirstOrDefaultAsync(ct);
        else
            version = await db.Set<HandoffSettings>().Select(s => s.ConfigVersion).FirstOrDefaultAsync(ct);
        var config = await cache.GetAsync(db, version, ct);
        if (UnitOfWork() is { } work)
            work.Config = config;
        return config;
    }

    /// <summary>
    /// What routing read inside the current transaction. The config lock is held until commit, so nobody else assigns meanwhile:
    /// the counts read once stay right, and this unit of work's own new assignments are added from the change tracker.
    /// </summary>
    private sealed class Work(IDbContextTransaction transaction)
    {
        public IDbContextTransaction Transaction { get; } = transaction;
        public HandoffConfig? Config { get; set; }
        public List<SalesTeamMember>? Members { get; set; }
        public Dictionary<Guid, (string Name, bool Active, string? TimeZone)>? Users { get; set; }
        public Dictionary<Guid, int>? Open { get; set; }
        public List<(Guid RepId, DateTimeOffset At)>? Recent { get; set; }
        public HashSet<Guid>? Ids { get; set; }
    }

    private Work? _work;

    private Work? UnitOfWork()
    {
        if (db.Database.CurrentTransaction is not { } tx)
            return null;
        if (_work?.Transaction != tx)
            _work = new Work(tx);
        return _work;
    }

    /// <summary>The current configuration without the routing lock (for reading teams and managers outside routing).</summary>
    public async Task<HandoffConfig> CurrentConfigAsync(CancellationToken ct) =>
        await cache.GetAsync(db, await db.Set<HandoffSettings>().Select(s => s.ConfigVersion).FirstOrDefaultAsync(ct), ct);

    /// <summary>The reps routing knows about now: profiles, team members, managers, and the extra ids given.</summary>
    public async Task<List<RepState>> RepStatesAsync(HandoffConfig config, IEnumerable<Guid> extraIds, Guid? exclude, DateTimeOffset now, CancellationToken ct)
    {
        var ids = config.Profiles.Keys.Concat(config.Teams.SelectMany(t => t.Members.Select(m => m.UserId))).Concat(extraIds).ToHashSet();
        var work = UnitOfWork();
        if (work is { Ids: { } known, Users: { } cachedUsers, Open: { } cachedOpen, Recent: { } cachedRecent } && known.IsSupersetOf(ids))
            return States(config, ids, exclude, now, cachedUsers, cachedOpen, cachedRecent);
        var users = (await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id))
            .Select(u => new { u.Id, u.DisplayName, u.Email, u.IsActive, u.TimeZone }).ToListAsync(ct))
            .ToDictionary(u => u.Id, u => (Name: string.IsNullOrWhiteSpace(u.DisplayName) ? u.Email ?? u.Id.ToString() : u.DisplayName, Active: u.IsActive,
                TimeZone: (string?)u.TimeZone));
        var open = await db.Assignments.AsNoTracking()
            .Where(a => a.RepId != null && ids.Contains(a.RepId.Value)
                && Assignment.OpenStates.Contains(a.State))
            .GroupBy(a => a.RepId!.Value).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);
        // New assignments today only matter for reps with a daily cap; local midnight is never more than a day ago.
        var capped = ids.Where(id => config.Profiles.TryGetValue(id, out var p) && p.MaxNewPerDay is not null).ToList();
        var since = now.AddDays(-1);
        var recent = capped.Count == 0 ? [] : (await db.Assignments.AsNoTracking().Where(a => a.RepId != null && capped.Contains(a.RepId.Value) && a.AssignedAt >= since)
            .Select(a => new { RepId = a.RepId!.Value, a.AssignedAt }).ToListAsync(ct)).Select(a => (a.RepId, a.AssignedAt)).ToList();
        if (work is not null)
            (work.Ids, work.Users, work.Open, work.Recent) = (ids, users, open, recent);
        return States(config, ids, exclude, now, users, open, recent);
    }

    private List<RepState> States(HandoffConfig config, HashSet<Guid> ids, Guid? exclude, DateTimeOffset now,
        Dictionary<Guid, (string Name, bool Active, string? TimeZone)> users, Dictionary<Guid, int> open, List<(Guid RepId, DateTimeOffset At)> recent)
    {
        // Assignments added earlier in this unit of work (a scoring batch routes many leads before saving).
        var pending = db.ChangeTracker.Entries<Assignment>().Where(e => e.State == EntityState.Added && e.Entity.RepId is not null)
            .Select(e => e.Entity).ToList();
        var states = new List<RepState>(users.Count);
        foreach (var (id, u) in users)
        {
            if (!ids.Contains(id))
                continue;
            var calendar = config.Calendars.GetValueOrDefault(id) ?? DefaultCalendar(u.TimeZone);
            config.Profiles.TryGetValue(id, out var profile);
            var openCount = open.GetValueOrDefault(id) + pending.Count(a => a.RepId == id && a.IsOpen);
            var today = 0;
            if (profile?.MaxNewPerDay is not null)
            {
                var midnight = LocalMidnight(now, calendar.TimeZoneId);
                today = recent.Count(a => a.RepId == id && a.At >= midnight) + pending.Count(a => a.RepId == id && a.AssignedAt >= midnight);
            }
            states.Add(new RepState(id, u.Name, u.Active && id != exclude, calendar, profile?.MaxOpenMqls, profile?.MaxNewPerDay, openCount, today));
        }
        return states;
    }

    private static readonly Dictionary<string, WorkCalendar> DefaultCalendars = [];

    /// <summary>A rep without a profile works Monday to Friday, 09:00–18:00 in their own time zone.</summary>
    public static WorkCalendar DefaultCalendar(string? timeZone)
    {
        var zone = string.IsNullOrWhiteSpace(timeZone) || BusinessTime.FindZone(timeZone) is null ? "UTC" : timeZone;
        lock (DefaultCalendars)
        {
            if (!DefaultCalendars.TryGetValue(zone, out var cal))
                DefaultCalendars[zone] = cal = WorkCalendar.Weekdays(zone, ("09:00", "18:00"));
            return cal;
        }
    }

    public static DateTimeOffset LocalMidnight(DateTimeOffset now, string timeZoneId)
    {
        var zone = BusinessTime.FindZone(timeZoneId) ?? TimeZoneInfo.Utc;
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var midnight = local.Date;
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
    }

    public static LeadAttributes Attributes(Lead lead, SlaTier tier) => new(
        lead.Country, lead.CompanySize, lead.Industry, lead.Language, lead.FirstChannel?.ToString(), lead.FirstSource, lead.FirstCampaignId,
        lead.PersonaId, lead.Grade, lead.FitScore, lead.EngagementScore, tier, ScoringFacts.ParseCustomFields(lead.CustomFields));

    public async Task<SlaTier> TierAsync(Lead lead, HandoffConfig config, DateTimeOffset now, CancellationToken ct)
    {
        var hot = config.TierRule.HotActivities ?? [];
        var since = now.AddDays(-Math.Max(1, config.TierRule.HotActivityWithinDays));
        var activities = hot.Count == 0 ? [] : await db.Activities.AsNoTracking()
            .Where(a => a.LeadId == lead.Id && hot.Contains(a.Type) && a.OccurredAt >= since)
            .Select(a => new LastActivity(a.Type, a.OccurredAt)).ToListAsync(ct);
        return SlaTiers.Classify(lead.Grade, activities, now, config.TierRule);
    }

    /// <summary>What routing would decide for the lead now (nothing written): the dry run and the first step of <see cref="AssignAsync"/>.</summary>
    public async Task<(RoutingDecision Decision, SlaTier Tier, List<RepState> Reps)> DecideAsync(HandoffConfig config, Lead lead, Guid? exclude,
        DateTimeOffset now, CancellationToken ct)
    {
        var tier = await TierAsync(lead, config, now, ct);
        var accountOwner = lead.AccountId is { } accountId
            ? await db.Accounts.AsNoTracking().Where(a => a.Id == accountId).Select(a => a.OwnerId).FirstOrDefaultAsync(ct) : null;
        var teams = await LiveTeamsAsync(config, ct);
        var reps = await RepStatesAsync(config, accountOwner is { } o ? [o] : [], exclude, now, ct);
        var decision = RoutingEngine.Route(new RoutingInput(Attributes(lead, tier), accountOwner, now), config.Rules, teams, reps,
            config.DefaultTeamId ?? Guid.Empty);
        return (decision, tier, reps);
    }

    /// <summary>The teams with their live counters (tracked rows, so earlier assignments of this unit of work count).</summary>
    private async Task<List<Team>> LiveTeamsAsync(HandoffConfig config, CancellationToken ct)
    {
        if (config.Teams.Count == 0)
            return [];
        var work = UnitOfWork();
        var members = work?.Members ?? await db.Set<SalesTeamMember>().ToListAsync(ct);
        if (work is not null)
            work.Members = members;
        var byTeam = members.GroupBy(m => m.TeamId).ToDictionary(g => g.Key, g => (IReadOnlyList<SalesTeamMember>)g.ToList());
        return config.Teams.Select(t => t with
        {
            Members = (byTeam.GetValueOrDefault(t.Id) ?? []).OrderBy(m => m.UserId)
                .Select(m => new TeamMember(m.UserId, m.Weight, m.AssignedCount, m.LastAssignedAt)).ToList(),
        }).ToList();
    }

    /// <summary>Routes the lead (or assigns it to the rep a manager chose) and adds every resulting row to the unit of work.</summary>
    public async Task<Assignment> AssignAsync(Lead lead, RouteRequest request, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var config = await LockConfigAsync(ct);
        RoutingDecision decision;
        SlaTier tier;
        List<RepState> reps;
        if (request.ManualRepId is { } manualRep)
        {
            tier = await TierAsync(lead, config, now, ct);
            reps = await RepStatesAsync(config, [manualRep], null, now, ct);
            var rep = reps.First(r => r.UserId == manualRep);
            var team = config.Teams.FirstOrDefault(t => t.Members.Any(m => m.UserId == manualRep));
            decision = new RoutingDecision(RoutingOutcome.Assigned, manualRep, team?.Id, RoutingPath.Manual, null, null, false, null, false,
                $"Assigned by hand to {rep.Name} by {request.ManualBy ?? "a manager"}{(string.IsNullOrWhiteSpace(request.Why) ? "" : ": " + request.Why)}.", []);
        }
        else
        {
            (decision, tier, reps) = await DecideAsync(config, lead, request.ExcludeRepId, now, ct);
        }

        // A lead has at most one open assignment: whatever was open is over now.
        var stillOpen = await db.Assignments.Where(a => a.LeadId == lead.Id
            && Assignment.OpenStates.Contains(a.State)).ToListAsync(ct);
        foreach (var old in stillOpen)
        {
            old.State = request.Previous?.Id == old.Id || request.ExcludeRepId is not null || request.ManualRepId is not null ? AssignmentState.Reassigned : AssignmentState.Closed;
            old.ClosedAt = now;
            await CancelTimersAsync(old.Id, now, "superseded", ct);
        }

        var assignment = new Assignment
        {
            LeadId = lead.Id,
            RepId = decision.Outcome == RoutingOutcome.Assigned ? decision.RepId : null,
            TeamId = decision.TeamId,
            Tier = tier,
            State = AssignmentState.Open,
            MqlAt = request.MqlAt,
            AssignedAt = now,
            PreviousAssignmentId = request.Previous?.Id ?? stillOpen.FirstOrDefault()?.Id,
            Path = decision.Path,
            RuleId = decision.RuleId,
            RuleName = decision.RuleName,
            Strategy = decision.Strategy,
            Reason = Truncate(decision.Reason, Assignment.MaxReasonLength),
            Decision = JsonSerializer.Serialize(decision, HandoffJson.Options),
        };
        db.Assignments.Add(assignment);

        if (assignment.RepId is { } repId)
        {
            var calendar = reps.FirstOrDefault(r => r.UserId == repId)?.Calendar ?? config.Calendars.GetValueOrDefault(repId) ?? DefaultCalendar(null);
            try
            {
                var plan = SlaPlanner.Plan(config.Policies[tier], now, calendar);
                assignment.FirstTouchDueAt = plan.FirstTouchDueAt;
                assignment.BreachAt = plan.BreachAt;
                assignment.ReassignAt = plan.ReassignAt;
                assignment.Attempts = plan.Attempts;
                assignment.AttemptsDueAt = plan.AttemptsDueAt;
                foreach (var r in plan.Reminders)
                    AddTimer(assignment, TimerKind.Reminder, r.DueAt, r.Percent);
                AddTimer(assignment, TimerKind.Breach, plan.BreachAt, null);
                AddTimer(assignment, TimerKind.Reassign, plan.ReassignAt, null);
                AddTimer(assignment, TimerKind.AttemptsEnd, plan.AttemptsDueAt, null);
            }
            catch (NoWorkingTimeException)
            {
                // A calendar without working time cannot pass validation; an old one just gets no SLA clock.
            }
            if (decision.TeamId is { } teamId)
            {
                var member = UnitOfWork()?.Members?.FirstOrDefault(m => m.TeamId == teamId && m.UserId == repId)
                    ?? await db.Set<SalesTeamMember>().FirstOrDefaultAsync(m => m.TeamId == teamId && m.UserId == repId, ct);
                if (member is not null)
                {
                    member.AssignedCount++;
                    member.LastAssignedAt = now;
                }
            }
            lead.OwnerId = repId;
            lead.WorkStatus = WorkStatus.New;
            lead.UpdatedAt = now;
            await NotifyAsync(repId, "handoff.assigned", $"New MQL: {lead.DisplayName}",
                $"{decision.Reason} First touch due {(assignment.FirstTouchDueAt is { } due ? due.ToString("u") : "—")} ({tier}).",
                lead.Id, tier == SlaTier.Hot, $"handoff.assigned:{assignment.Id}", ct);
        }
        if (decision.AlertManagers || decision.Path == RoutingPath.OverflowNextRep)
        {
            var subject = assignment.RepId is null ? $"No eligible rep: {lead.DisplayName} is queued" : $"No rep on shift: {lead.DisplayName} went to the next shift";
            foreach (var manager in await ManagersAsync(config, decision.TeamId, ct))
                await NotifyAsync(manager, "handoff.no-eligible-rep", subject, decision.Reason, lead.Id, true, $"handoff.no-eligible-rep:{assignment.Id}:{manager}", ct);
        }
        if (assignment.RepId is not null)
            await webhooks.PublishAsync(db, Platform.OutboundWebhooks.WebhookEvents.LeadAssigned, new
            {
                lead = LeadWebhookData.Of(lead),
                assignment = new
                {
                    id = assignment.Id,
                    repId = assignment.RepId,
                    teamId = assignment.TeamId,
                    tier = assignment.Tier,
                    path = assignment.Path,
                    reason = assignment.Reason,
                    assignedAt = assignment.AssignedAt,
                    firstTouchDueAt = assignment.FirstTouchDueAt
                },
            }, ct);
        counters.CountAssigned();
        return assignment;
    }

    private void AddTimer(Assignment a, TimerKind kind, DateTimeOffset due, int? percent) =>
        db.SlaTimers.Add(new SlaTimer { AssignmentId = a.Id, Kind = kind, DueAt = due, Percent = percent, Status = TimerStatus.Pending });

    /// <param name="keepCadence">Keep the attempts-window timer (the first touch stops the SLA clock, not the cadence).</param>
    public async Task CancelTimersAsync(Guid assignmentId, DateTimeOffset now, string why, CancellationToken ct, bool keepCadence = false)
    {
        foreach (var t in await db.SlaTimers.Where(t => t.AssignmentId == assignmentId && t.Status == TimerStatus.Pending
            && !(keepCadence && t.Kind == TimerKind.AttemptsEnd)).ToListAsync(ct))
        {
            t.Status = TimerStatus.Cancelled;
            t.DoneAt = now;
            t.Outcome = why;
        }
        foreach (var e in db.ChangeTracker.Entries<SlaTimer>().Where(e => e.State == EntityState.Added && e.Entity.AssignmentId == assignmentId
            && !(keepCadence && e.Entity.Kind == TimerKind.AttemptsEnd)))
            e.Entity.Status = TimerStatus.Cancelled;
    }

    /// <summary>The team's manager, or every active admin when there is no team or no manager (someone always hears of it).</summary>
    public async Task<List<Guid>> ManagersAsync(HandoffConfig config, Guid? teamId, CancellationToken ct)
    {
        if (config.Teams.FirstOrDefault(t => t.Id == teamId)?.ManagerUserId is { } manager
            && await db.Users.AnyAsync(u => u.Id == manager && u.IsActive, ct))
            return [manager];
        var adminRole = await db.Roles.Where(r => r.Name == Roles.Admin).Select(r => r.Id).FirstOrDefaultAsync(ct);
        return await db.UserRoles.Where(ur => ur.RoleId == adminRole).Join(db.Users.Where(u => u.IsActive), ur => ur.UserId, u => u.Id, (ur, u) => u.Id)
            .ToListAsync(ct);
    }

    public async Task NotifyAsync(Guid recipient, string kind, string subject, string body, Guid leadId, bool urgent, string dedupeKey, CancellationToken ct) =>
        await _notifier.EnqueueAsync(new NotificationRequest
        {
            Kind = kind,
            RecipientUserId = recipient,
            Channels = [NotificationChannel.InApp, NotificationChannel.Email],
            Subject = subject,
            Body = body,
            Link = $"/leads/{leadId}",
            Urgent = urgent,
            DedupeKey = dedupeKey,
        }, ct);

    /// <summary>
    /// Records the first touch of the lead's open assignment (if any and not yet touched): stops the SLA clock and
    /// cancels the pending timers. Returns the assignment touched, or null.
    /// </summary>
    public async Task<Assignment?> FirstTouchAsync(Guid leadId, DateTimeOffset at, CancellationToken ct)
    {
        var open = await db.Assignments.Where(a => a.LeadId == leadId && a.RepId != null && a.FirstTouchedAt == null
            && (a.State == AssignmentState.Open || a.State == AssignmentState.Breached)).ToListAsync(ct);
        foreach (var a in open)
        {
            a.FirstTouchedAt = at;
            a.State = AssignmentState.Touched;
            await CancelTimersAsync(a.Id, clock.GetUtcNow(), "first touch", ct, keepCadence: true);
        }
        return open.FirstOrDefault();
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}

/// <summary>Routes every new MQL in the scoring transaction, so the lead and its assignment commit together.</summary>
public sealed class HandoffRouter(HandoffConfigCache cache, NotificationSignal signal, TimeProvider clock, HandoffCounters counters,
    IEnumerable<IDispositionListener> dispositionListeners, Platform.OutboundWebhooks.IWebhookPublisher webhooks) : IMqlListener
{
    // One service per context: the leads of one scoring pass share what routing has read in its transaction.
    private HandoffService? _service;

    public async Task PrepareAsync(TandemDb db, CancellationToken ct) => await Service(db).LockConfigAsync(ct);

    public async Task OnMqlAsync(TandemDb db, Lead lead, StageTransition transition, CancellationToken ct)
    {
        // A paused campaign's MQLs are held: captured and scored, not routed, until marketing resumes the campaign (decision 011).
        if (lead.FirstCampaignId is { } campaign && await db.Campaigns.AnyAsync(c => c.Id == campaign && c.Status == Campaigns.CampaignStatus.Paused, ct))
            return;
        await Service(db).AssignAsync(lead, new RouteRequest(transition.At), ct);
    }

    /// <summary>Routes the MQLs that have no assignment since they entered the stage (it was given by a source system or an import).</summary>
    public async Task OnStillMqlAsync(TandemDb db, IReadOnlyList<Lead> leads, CancellationToken ct)
    {
        var ids = leads.Select(l => l.Id).ToList();
        var assigned = (await db.Assignments.AsNoTracking().Where(a => ids.Contains(a.LeadId)).Select(a => new { a.LeadId, a.AssignedAt }).ToListAsync(ct))
            .ToLookup(a => a.LeadId, a => a.AssignedAt);
        var campaigns = leads.Select(l => l.FirstCampaignId).OfType<Guid>().Distinct().ToList();
        var paused = campaigns.Count == 0 ? [] : (await db.Campaigns.AsNoTracking()
            .Where(c => campaigns.Contains(c.Id) && c.Status == Campaigns.CampaignStatus.Paused).Select(c => c.Id).ToListAsync(ct)).ToHashSet();
        // MQLs of a paused campaign stay held until marketing resumes it (decision 011), as in OnMqlAsync.
        foreach (var lead in leads.Where(l => l.Stage == LifecycleStage.Mql && !assigned[l.Id].Any(at => at >= l.StageChangedAt)
                     && !(l.FirstCampaignId is { } c && paused.Contains(c))))
            await Service(db).AssignAsync(lead, new RouteRequest(lead.StageChangedAt), ct);
    }

    private HandoffService Service(TandemDb db)
    {
        if (_service?.Db != db)
            _service = new HandoffService(db, cache, signal, clock, counters, dispositionListeners, webhooks);
        return _service;
    }
}
