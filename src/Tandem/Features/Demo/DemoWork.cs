using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Leads;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Work;

namespace Tandem.Features.Demo;

/// <summary>A few notes (one mentioning a rep, who is notified) and tasks (one overdue) on the first rep's leads and one account.</summary>
internal static class DemoWork
{
    public static async Task<(int Notes, int Tasks)> SeedAsync(IServiceProvider services, DemoUsers users, DateTimeOffset now, CancellationToken ct)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var notifier = scope.ServiceProvider.GetRequiredService<Notifier>();
        var rep = users.Reps[0];
        var leads = await db.Leads.AsNoTracking().Where(l => l.OwnerId == rep.Id)
            .OrderBy(l => l.Stage == LifecycleStage.Mql ? 0 : l.Stage == LifecycleStage.Sql ? 1 : 2).ThenBy(l => l.Id).Take(2).ToListAsync(ct);
        if (leads.Count == 0)
            return (0, 0);
        var names = await db.Users.AsNoTracking().Where(u => u.Id == users.ManagerId || u.Id == users.MarketerId || u.Id == rep.Id)
            .ToDictionaryAsync(u => u.Id, u => u.DisplayName, ct);
        var first = leads[0];
        var second = leads.Count > 1 ? leads[1] : first;
        var accountId = leads.Select(l => l.AccountId).FirstOrDefault(a => a is not null);

        Note Note(Guid author, Guid? lead, Guid? account, string text, TimeSpan ago) => new()
        {
            LeadId = lead,
            AccountId = lead is null ? account : null,
            Html = NoteText.ToSafeHtml(text),
            AuthorUserId = author,
            AuthorName = names[author],
            CreatedAt = now - ago,
        };
        TaskItem Task(Guid assignee, Guid by, Guid? lead, Guid? account, string title, TimeSpan due, TimeSpan ago) => new()
        {
            LeadId = lead,
            AccountId = lead is null ? account : null,
            Title = title,
            DueAt = now + due,
            AssigneeUserId = assignee,
            CreatedByUserId = by,
            CreatedByName = names[by],
            Status = TaskItemStatus.Open,
            CreatedAt = now - ago,
            UpdatedAt = now - ago,
        };

        var mention = Note(users.ManagerId, first.Id, null,
            $"@{rep.Name} they asked for pricing for 40 seats. Can you call them before Friday?\nBudget is <b>approved</b> for this quarter.", TimeSpan.FromHours(20));
        List<Note> notes =
        [
            mention,
            Note(rep.Id, first.Id, null, "Left a voicemail, trying again Tuesday morning.", TimeSpan.FromHours(6)),
            Note(users.MarketerId, second.Id, null, "Attended the webinar with two colleagues and downloaded the pricing guide.", TimeSpan.FromDays(3)),
        ];
        List<TaskItem> tasks =
        [
            Task(rep.Id, users.ManagerId, first.Id, null, "Send the pricing proposal", -TimeSpan.FromDays(1), TimeSpan.FromDays(2)),
            Task(rep.Id, rep.Id, first.Id, null, "Call back about the 40 seats", TimeSpan.FromHours(3), TimeSpan.FromHours(6)),
            Task(rep.Id, rep.Id, second.Id, null, "Share the webinar recording", TimeSpan.FromDays(4), TimeSpan.FromDays(1)),
            Task(users.ManagerId, users.ManagerId, second.Id, null, $"Review {rep.Name}'s open MQLs", TimeSpan.FromDays(2), TimeSpan.FromDays(1)),
        ];
        if (accountId is { } account)
        {
            notes.Add(Note(rep.Id, null, account, "Renewal talks start in spring; the finance director is the sponsor.", TimeSpan.FromDays(2)));
            tasks.Add(Task(rep.Id, rep.Id, null, account, "Prepare the account plan", TimeSpan.FromDays(7), TimeSpan.FromDays(2)));
        }
        db.Notes.AddRange(notes);
        db.Tasks.AddRange(tasks);
        await notifier.EnqueueAsync(new NotificationRequest
        {
            Kind = "note.mention",
            RecipientUserId = rep.Id,
            Channels = [NotificationChannel.InApp],
            Subject = $"{names[users.ManagerId]} mentioned you on {first.DisplayName}",
            Body = NoteText.ToPlainText(mention.Html),
            Link = $"/leads/{first.Id}",
            DedupeKey = $"note.mention:{mention.Id}:{rep.Id}",
        }, ct);
        await db.SaveChangesAsync(ct);
        return (notes.Count, tasks.Count);
    }
}
