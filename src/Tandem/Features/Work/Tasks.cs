using System.Security.Claims;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;

namespace Tandem.Features.Work;

public sealed record TaskRequest(string? Title, DateTimeOffset? DueAt, Guid? AssigneeId = null);

/// <summary>PATCH /tasks/{id}: fields left out (null) stay as they are.</summary>
public sealed record TaskPatch(string? Title = null, DateTimeOffset? DueAt = null, Guid? AssigneeId = null, string? Status = null);

public sealed record TaskView(Guid Id, Guid? LeadId, Guid? AccountId, string Title, DateTimeOffset DueAt, Guid AssigneeUserId, string? AssigneeName,
    TaskItemStatus Status, DateTimeOffset? CompletedAt, Guid? CreatedByUserId, string CreatedByName, DateTimeOffset CreatedAt);

/// <summary>Where an item of "My tasks" stands: overdue, due today (in my time zone), later, or done.</summary>
public enum TaskBucket
{
    Overdue,
    Today,
    Later,
    Done,
}

/// <summary>What an item of "My tasks" is: a task someone wrote, or the next attempt of a lead's SLA cadence (computed, never stored).</summary>
public enum MyTaskKind
{
    Task,
    CadenceAttempt,
}

/// <summary>
/// One line of "My tasks". A cadence attempt has no <see cref="Id"/>: it is done by logging the attempt on the lead (a call, an email,
/// a meeting), and it moves to the next attempt or goes away as the cadence does.
/// </summary>
public sealed record MyTaskItem(Guid? Id, MyTaskKind Kind, TaskBucket Bucket, string Title, DateTimeOffset DueAt, Guid? LeadId, Guid? AccountId,
    string? RecordName, TaskItemStatus Status, DateTimeOffset? CompletedAt, int? Attempt = null, int? Attempts = null);

/// <summary>The order of "My tasks", pure: overdue first, then due today, then later (each by due time), then the done ones (latest first).</summary>
public static class MyTasksOrder
{
    public static TaskBucket Bucket(DateTimeOffset due, bool done, DateTimeOffset now, TimeZoneInfo zone)
    {
        if (done)
            return TaskBucket.Done;
        if (due < now)
            return TaskBucket.Overdue;
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, zone).DateTime);
        return DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(due, zone).DateTime) == today ? TaskBucket.Today : TaskBucket.Later;
    }

    public static List<MyTaskItem> Sort(IEnumerable<MyTaskItem> items) =>
        [.. items.OrderBy(i => i.Bucket).ThenBy(i => i.Bucket == TaskBucket.Done ? -(i.CompletedAt ?? i.DueAt).UtcTicks : i.DueAt.UtcTicks)
            .ThenBy(i => i.Title, StringComparer.Ordinal)];
}

/// <summary>
/// Tasks on a lead or an account (decision 021c): a title, a due time (not in the past when set), an assignee (me by default; a sales
/// manager may give tasks to their teams' members, an admin to anyone, everybody else only to themselves), open or done.
/// </summary>
public sealed class TasksService(TandemDb db, WorkAccess access, Notifier notifier, TimeProvider clock)
{
    public const int MaxListed = 500;
    /// <summary>A due time a little behind the clock is accepted (the time it took to submit the form); further back is in the past.</summary>
    public static readonly TimeSpan PastTolerance = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaxAhead = TimeSpan.FromDays(366 * 5);

    public async Task<WorkItemOutcome<List<TaskView>>> ListAsync(ClaimsPrincipal user, WorkTarget target, CancellationToken ct)
    {
        var verdict = await access.CheckAsync(user, target, write: false, ct);
        if (verdict != AccessVerdict.Allowed)
            return new(null, verdict);
        var q = target.Kind == RecordKind.Lead ? db.Tasks.Where(t => t.LeadId == target.Id) : db.Tasks.Where(t => t.AccountId == target.Id);
        var rows = await q.AsNoTracking().OrderBy(t => t.Status == TaskItemStatus.Done).ThenBy(t => t.DueAt).ThenBy(t => t.Id).Take(MaxListed).ToListAsync(ct);
        return new(await ViewsAsync(rows, ct));
    }

    public async Task<WorkItemOutcome<TaskView>> AddAsync(ClaimsPrincipal user, WorkTarget target, TaskRequest body, CancellationToken ct)
    {
        var verdict = await access.CheckAsync(user, target, write: true, ct);
        if (verdict != AccessVerdict.Allowed)
            return new(default, verdict);
        var now = clock.GetUtcNow();
        var actor = Actor.From(user);
        var errors = new WorkErrors();
        var title = ValidateTitle(body.Title, errors);
        if (body.DueAt is null)
            errors.Add("dueAt", "Work.Error.DueRequired");
        else
            ValidateDue(body.DueAt.Value, now, errors);
        var assignee = body.AssigneeId ?? actor.Id;
        if (assignee is null)
            errors.Add("assigneeId", "Work.Error.AssigneeRequired");
        else
            await ValidateAssigneeAsync(user, assignee.Value, errors, ct);
        if (errors.Any)
            return WorkItemOutcome<TaskView>.Invalid(errors);
        var task = new TaskItem
        {
            LeadId = target.Kind == RecordKind.Lead ? target.Id : null,
            AccountId = target.Kind == RecordKind.Account ? target.Id : null,
            Title = title!,
            DueAt = body.DueAt!.Value,
            AssigneeUserId = assignee!.Value,
            CreatedByUserId = actor.Id,
            CreatedByName = await access.DisplayNameAsync(actor, ct),
            Status = TaskItemStatus.Open,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Tasks.Add(task);
        await NotifyAssigneeAsync(task, actor, ct);
        await db.SaveChangesAsync(ct);
        return new((await ViewsAsync([task], ct))[0]);
    }

    public async Task<WorkItemOutcome<TaskView>> UpdateAsync(ClaimsPrincipal user, Guid id, TaskPatch body, CancellationToken ct)
    {
        var task = await db.Tasks.FirstOrDefaultAsync(t => t.Id == id, ct);
        if (task is null)
            return WorkItemOutcome<TaskView>.Missing;
        if (!await MayChangeAsync(user, task, ct))
            return WorkItemOutcome<TaskView>.Refused;
        var now = clock.GetUtcNow();
        var actor = Actor.From(user);
        var errors = new WorkErrors();
        var title = body.Title is null ? null : ValidateTitle(body.Title, errors);
        if (body.DueAt is { } due && due != task.DueAt)
            ValidateDue(due, now, errors);
        if (body.AssigneeId is { } assignee && assignee != task.AssigneeUserId)
            await ValidateAssigneeAsync(user, assignee, errors, ct);
        TaskItemStatus? status = null;
        if (body.Status is not null)
        {
            if (int.TryParse(body.Status, out _) || !Enum.TryParse<TaskItemStatus>(body.Status.Trim(), ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed))
                errors.Add("status", "Work.Error.Status");
            else
                status = parsed;
        }
        if (errors.Any)
            return WorkItemOutcome<TaskView>.Invalid(errors);
        if (title is not null)
            task.Title = title;
        if (body.DueAt is { } d)
            task.DueAt = d;
        var reassigned = body.AssigneeId is { } a && a != task.AssigneeUserId;
        if (reassigned)
            task.AssigneeUserId = body.AssigneeId!.Value;
        if (status is { } s && s != task.Status)
        {
            task.Status = s;
            task.CompletedAt = s == TaskItemStatus.Done ? now : null;
        }
        task.UpdatedAt = now;
        if (reassigned)
            await NotifyAssigneeAsync(task, actor, ct);
        await db.SaveChangesAsync(ct);
        return new((await ViewsAsync([task], ct))[0]);
    }

    /// <summary>Its assignee, its author, a manager of the assignee's team, an admin — and only while they may still read the record.</summary>
    public async Task<bool> MayChangeAsync(ClaimsPrincipal user, TaskItem task, CancellationToken ct)
    {
        var me = Actor.From(user).Id;
        var mine = WorkAccess.IsAdmin(user) || (me is not null && (me == task.AssigneeUserId || me == task.CreatedByUserId))
            || (me is not null && user.IsInRole(Roles.SalesManager) && await access.ManagesAsync(me.Value, task.AssigneeUserId, ct));
        return mine && await access.CheckAsync(user, WorkTarget.Of(task.LeadId, task.AccountId), write: false, ct) == AccessVerdict.Allowed;
    }

    /// <summary>
    /// "My tasks": my open tasks and the next attempt of each MQL whose cadence I am running, overdue first, then today, then later;
    /// with <paramref name="includeDone"/> also the tasks I finished in the last <paramref name="doneDays"/> days.
    /// </summary>
    public async Task<List<MyTaskItem>> MineAsync(Guid userId, bool includeDone, CancellationToken ct, int doneDays = 7)
    {
        var now = clock.GetUtcNow();
        var zoneId = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.TimeZone).FirstOrDefaultAsync(ct);
        var zone = NotificationRules.FindTimeZone(zoneId) ?? TimeZoneInfo.Utc;
        var since = now.AddDays(-doneDays);
        var rows = await db.Tasks.AsNoTracking()
            .Where(t => t.AssigneeUserId == userId && (t.Status == TaskItemStatus.Open || (includeDone && t.CompletedAt >= since)))
            .OrderBy(t => t.DueAt).Take(MaxListed).ToListAsync(ct);
        var names = await NamesAsync(rows.Select(r => r.LeadId).OfType<Guid>(), rows.Select(r => r.AccountId).OfType<Guid>(), ct);
        var items = rows.Select(t => new MyTaskItem(t.Id, MyTaskKind.Task, MyTasksOrder.Bucket(t.DueAt, t.Status == TaskItemStatus.Done, now, zone), t.Title,
            t.DueAt, t.LeadId, t.AccountId, names.GetValueOrDefault(t.LeadId ?? t.AccountId ?? Guid.Empty), t.Status, t.CompletedAt)).ToList();
        items.AddRange(await CadenceAttemptsAsync(userId, now, zone, ct));
        return MyTasksOrder.Sort(items);
    }

    /// <summary>
    /// The next attempt of each of my open assignments whose cadence runs (an MQL, not connected, fewer than K attempts): the first
    /// one is due at the first-touch due time, the later ones by the end of the attempts window.
    /// </summary>
    private async Task<List<MyTaskItem>> CadenceAttemptsAsync(Guid userId, DateTimeOffset now, TimeZoneInfo zone, CancellationToken ct)
    {
        var open = await (from a in db.Assignments.AsNoTracking()
                          join l in db.Leads.AsNoTracking() on a.LeadId equals l.Id
                          where a.RepId == userId && Assignment.OpenStates.Contains(a.State) && a.Attempts != null && a.ConnectedAt == null
                              && l.Stage == LifecycleStage.Mql && l.WorkStatus != WorkStatus.Connected
                          select new { a.Id, a.LeadId, a.Attempts, a.FirstTouchDueAt, a.FirstTouchedAt, a.AttemptsDueAt, l.FirstName, l.LastName, l.Email, l.Phone })
            .Take(MaxListed).ToListAsync(ct);
        if (open.Count == 0)
            return [];
        var made = await HandoffCadence.AttemptCountsAsync(db, [.. open.Select(o => o.Id)], ct);
        var items = new List<MyTaskItem>();
        foreach (var o in open)
        {
            var count = made.GetValueOrDefault(o.Id);
            if (count >= o.Attempts!.Value)
                continue;
            DateTimeOffset? due = count == 0 && o.FirstTouchedAt is null ? o.FirstTouchDueAt ?? o.AttemptsDueAt : o.AttemptsDueAt ?? o.FirstTouchDueAt;
            if (due is null)
                continue;
            var name = new Lead { FirstName = o.FirstName, LastName = o.LastName, Email = o.Email, Phone = o.Phone, Id = o.LeadId }.DisplayName;
            items.Add(new MyTaskItem(null, MyTaskKind.CadenceAttempt, MyTasksOrder.Bucket(due.Value, false, now, zone),
                $"Attempt {count + 1} of {o.Attempts}: {name}", due.Value, o.LeadId, null, name, TaskItemStatus.Open, null, count + 1, o.Attempts));
        }
        return items;
    }

    private static string? ValidateTitle(string? raw, WorkErrors errors)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            errors.Add("title", "Work.Error.TitleRequired");
            return null;
        }
        if (!SafeText.IsStorable(raw))
        {
            errors.Add("title", "Work.Error.NotText");
            return null;
        }
        var title = raw.Trim();
        if (title.Length > TaskItem.MaxTitle)
        {
            errors.Add("title", "Work.Error.TitleTooLong", TaskItem.MaxTitle);
            return null;
        }
        return title;
    }

    private static void ValidateDue(DateTimeOffset due, DateTimeOffset now, WorkErrors errors)
    {
        if (due < now - PastTolerance)
            errors.Add("dueAt", "Work.Error.DueInPast");
        else if (due > now + MaxAhead)
            errors.Add("dueAt", "Work.Error.DueTooFar");
    }

    private async Task ValidateAssigneeAsync(ClaimsPrincipal user, Guid assignee, WorkErrors errors, CancellationToken ct)
    {
        var found = await db.Users.AsNoTracking().Where(u => u.Id == assignee).Select(u => new { u.IsActive }).FirstOrDefaultAsync(ct);
        if (found is null)
            errors.Add("assigneeId", "Work.Error.AssigneeUnknown");
        else if (!found.IsActive)
            errors.Add("assigneeId", "Work.Error.AssigneeDeactivated");
        else if (!await access.MayAssignToAsync(user, assignee, ct))
            errors.Add("assigneeId", user.IsInRole(Roles.SalesManager) ? "Work.Error.AssigneeNotInTeam" : "Work.Error.AssigneeOnlyMe");
    }

    private async Task NotifyAssigneeAsync(TaskItem task, Actor actor, CancellationToken ct)
    {
        if (task.AssigneeUserId == actor.Id)
            return;
        var target = WorkTarget.Of(task.LeadId, task.AccountId);
        var by = await access.DisplayNameAsync(actor, ct);
        await notifier.EnqueueAsync(new NotificationRequest
        {
            Kind = "task.assigned",
            RecipientUserId = task.AssigneeUserId,
            Channels = [NotificationChannel.InApp],
            Subject = $"{by} gave you a task: {task.Title}",
            Body = $"Due {task.DueAt:u} on {await access.NameAsync(target, ct)}.",
            Link = target.Link,
            DedupeKey = $"task.assigned:{task.Id}:{task.AssigneeUserId}",
        }, ct);
    }

    private async Task<List<TaskView>> ViewsAsync(List<TaskItem> rows, CancellationToken ct)
    {
        var ids = rows.Select(r => r.AssigneeUserId).Distinct().ToList();
        var users = await db.Users.AsNoTracking().Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.DisplayName == "" ? u.Email : u.DisplayName, ct);
        return [.. rows.Select(t => new TaskView(t.Id, t.LeadId, t.AccountId, t.Title, t.DueAt, t.AssigneeUserId, users.GetValueOrDefault(t.AssigneeUserId),
            t.Status, t.CompletedAt, t.CreatedByUserId, t.CreatedByName, t.CreatedAt))];
    }

    private async Task<Dictionary<Guid, string>> NamesAsync(IEnumerable<Guid> leadIds, IEnumerable<Guid> accountIds, CancellationToken ct)
    {
        var l = leadIds.Distinct().ToList();
        var a = accountIds.Distinct().ToList();
        var names = new Dictionary<Guid, string>();
        if (l.Count > 0)
            foreach (var lead in await db.Leads.AsNoTracking().Where(x => l.Contains(x.Id)).ToListAsync(ct))
                names[lead.Id] = lead.DisplayName;
        if (a.Count > 0)
            foreach (var acc in await db.Accounts.AsNoTracking().Where(x => a.Contains(x.Id)).Select(x => new { x.Id, x.Name }).ToListAsync(ct))
                names[acc.Id] = acc.Name;
        return names;
    }
}
