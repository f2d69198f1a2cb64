using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform.Notifications;

/// <summary>
/// The daily digest loop of each instance. Emails that a user chose to receive as a digest wait as
/// <see cref="NotificationStatus.Held"/> rows; once the user's digest hour has passed in their time zone, the held rows
/// created before that hour are bundled into one digest email (an ordinary outbox row, sent by the dispatcher). The digest's
/// dedupe key names the user and the local day, and the bundle commits with it, so a second run or a second instance
/// stores nothing more: one digest per user per day.
/// </summary>
public sealed class NotificationDigest(
    IServiceScopeFactory scopes,
    IOptions<NotificationOptions> options,
    NotificationSignal signal,
    TimeProvider clock,
    ILogger<NotificationDigest> log) : BackgroundService
{
    public const string Kind = "digest";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunDigest)
            return;
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                log.LogWarning(ex, "Notification digest could not run; retrying");
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(Math.Max(1, options.Value.DigestPollSeconds)), clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Stores every digest that is due now; returns how many were stored by this call.</summary>
    public async Task<int> RunAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var now = clock.GetUtcNow();
        var users = await db.Set<Notification>().AsNoTracking()
            .Where(n => n.Status == NotificationStatus.Held && n.RecipientUserId != null)
            .Select(n => n.RecipientUserId!.Value).Distinct().ToListAsync(ct);
        var stored = 0;
        foreach (var user in users)
        {
            if (await DigestAsync(db, user, now, ct))
                stored++;
            db.ChangeTracker.Clear();
        }
        if (stored > 0)
            signal.Wake();
        return stored;
    }

    private async Task<bool> DigestAsync(TandemDb db, Guid userId, DateTimeOffset now, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, ct);
        if (user is null)
            return false;
        var hour = await db.Set<UserNotificationPreferences>().AsNoTracking().Where(p => p.UserId == userId).Select(p => (int?)p.DigestHour)
            .FirstOrDefaultAsync(ct) ?? NotificationPreferenceRules.DefaultDigestHour;
        var zone = NotificationRules.FindTimeZone(user.TimeZone) ?? TimeZoneInfo.Utc;
        var (cutoff, day) = NotificationPreferenceRules.LastDigestTime(now, hour, zone);
        var items = await db.Set<Notification>().AsNoTracking()
            .Where(n => n.RecipientUserId == userId && n.Status == NotificationStatus.Held && n.CreatedAt < cutoff)
            .OrderBy(n => n.CreatedAt).ToListAsync(ct);
        if (items.Count == 0)
            return false;
        var key = NotificationRules.ChannelDedupeKey($"{Kind}:{userId}:{day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}", NotificationChannel.Email);
        // Today's digest went out already (these items were committed after it was made): they wait for tomorrow's.
        if (await db.Set<Notification>().AnyAsync(n => n.DedupeKey == key, ct))
            return false;

        var digest = new Notification
        {
            RecipientUserId = userId,
            RecipientAddress = user.Email,
            Channel = NotificationChannel.Email,
            Kind = Kind,
            Subject = NotificationRules.DigestSubject(day, items.Count),
            Body = NotificationRules.Truncate(NotificationRules.DigestText(items.Select(i => new DigestItem(i.Subject, i.Body, i.Link)).ToList(), null), Notification.MaxBodyLength),
            Link = "/account/notifications",
            DedupeKey = key,
            Status = NotificationStatus.Pending,
            NextAttemptAt = now,
            CreatedAt = now,
        };
        if (string.IsNullOrWhiteSpace(user.Email))
        {
            digest.Status = NotificationStatus.Skipped;
            digest.LastError = "The recipient has no email address.";
        }
        else if (!user.IsActive)
        {
            digest.Status = NotificationStatus.Skipped;
            digest.LastError = "The recipient is deactivated.";
        }

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Add(digest);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex) when (Capture.CaptureService.IsUniqueViolation(ex))
        {
            // Another instance stored this digest a moment ago.
            return false;
        }
        var ids = items.Select(i => i.Id).ToList();
        var bundled = await db.Set<Notification>().Where(n => ids.Contains(n.Id) && n.Status == NotificationStatus.Held)
            .ExecuteUpdateAsync(s => s
                .SetProperty(n => n.Status, NotificationStatus.Digested)
                .SetProperty(n => n.DigestId, digest.Id)
                .SetProperty(n => n.SentAt, digest.Status == NotificationStatus.Pending ? now : (DateTimeOffset?)null), ct);
        if (bundled == 0)
            return false;
        await tx.CommitAsync(ct);
        log.LogInformation("Daily digest {DigestId} for user {UserId} ({Day}) carries {Count} item(s)", digest.Id, userId, day, bundled);
        return true;
    }
}

/// <summary>One line of a digest: what the original notification said, and where it pointed.</summary>
public sealed record DigestItem(string Subject, string Body, string? Link);

/// <summary>Digest formats (plain text and HTML) live next to the other message formats.</summary>
public static class DigestFormat
{
    public static string Html(IReadOnlyList<DigestItem> items, string subject, Func<string?, string?> absolute)
    {
        static string E(string s) => WebUtility.HtmlEncode(s);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>").Append(E(subject)).Append("</title></head>")
            .Append("<body style=\"font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f3b57\">")
            .Append("<h1 style=\"font-size:18px\">").Append(E(subject)).Append("</h1><ul style=\"padding-left:18px\">");
        foreach (var item in items)
        {
            html.Append("<li style=\"margin-bottom:12px\"><strong>").Append(E(item.Subject)).Append("</strong>");
            if (!string.IsNullOrWhiteSpace(item.Body))
                html.Append("<br>").Append(E(item.Body));
            if (absolute(item.Link) is { } link)
                html.Append("<br><a href=\"").Append(E(link)).Append("\">Open in Tandem</a>");
            html.Append("</li>");
        }
        html.Append("</ul><p style=\"font-size:12px;color:#666\">You receive this digest once a day. Change what arrives and when in Tandem: My notifications.</p></body></html>");
        return html.ToString();
    }
}
