using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Tandem.Data;

namespace Tandem.Features.Platform.Notifications;

/// <summary>
/// The outbox loop of each instance. Claims due messages — <c>FOR UPDATE SKIP LOCKED</c> on PostgreSQL, a
/// conditional UPDATE on SQLite — by setting them Sending with a lease and this round's claim token, so two
/// instances never take the same row; a lease that runs out (the sender died) makes the row claimable again.
/// Sends, then records Sent, a retry with exponential backoff, or Failed after the last attempt.
/// </summary>
public sealed class NotificationDispatcher(
    IServiceScopeFactory scopes,
    IOptions<NotificationOptions> options,
    NotificationSignal signal,
    InAppNotifications inApp,
    IEmailTransport email,
    IChatTransport chat,
    TimeProvider clock,
    ILogger<NotificationDispatcher> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.RunDispatcher)
            return;
        // Let the app finish starting (and migrating) before the first query.
        await Task.Yield();
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await DispatchDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                log.LogWarning(ex, "Notification dispatcher could not check for work; retrying");
            }
            if (claimed == 0)
                await signal.WaitAsync(TimeSpan.FromSeconds(Math.Max(0.02, options.Value.PollSeconds)), stoppingToken);
        }
    }

    /// <summary>Claims one batch of due messages and delivers it; returns how many were claimed.</summary>
    public async Task<int> DispatchDueAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<TandemDb>();
        var token = Ids.New();
        if (await ClaimAsync(db, token, ct) == 0)
            return 0;
        var rows = await db.Set<Notification>().AsNoTracking().Where(n => n.ClaimToken == token).OrderBy(n => n.NextAttemptAt).ToListAsync(ct);
        if (rows.Count == 0)
            return 0;
        var settings = await scope.ServiceProvider.GetRequiredService<NotificationAdmin>().LoadForSendingAsync(ct);
        var userIds = rows.Where(r => r.Channel == NotificationChannel.Chat && r.RecipientUserId is not null).Select(r => r.RecipientUserId!.Value).Distinct().ToList();
        var names = userIds.Count == 0 ? [] : await db.Users.AsNoTracking().Where(u => userIds.Contains(u.Id))
            .ToDictionaryAsync(u => u.Id, u => string.IsNullOrWhiteSpace(u.DisplayName) ? u.Email ?? "" : u.DisplayName, ct);
        foreach (var row in rows)
            await DeliverAsync(db, token, row, settings, row.RecipientUserId is { } id && names.TryGetValue(id, out var name) ? name : null, ct);
        return rows.Count;
    }

    private async Task<int> ClaimAsync(TandemDb db, Guid token, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var lease = now + TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        var batch = Math.Max(1, options.Value.BatchSize);
        if (db.Database.IsNpgsql())
            return await db.Database.ExecuteSqlAsync($"""
                WITH due AS (
                    SELECT "Id" FROM "Notifications"
                    WHERE ("Status" = 'Pending' AND "NextAttemptAt" <= {now}) OR ("Status" = 'Sending' AND "LeaseUntil" < {now})
                    ORDER BY "NextAttemptAt"
                    LIMIT {batch}
                    FOR UPDATE SKIP LOCKED)
                UPDATE "Notifications" AS n
                SET "Status" = 'Sending', "LeaseUntil" = {lease}, "ClaimToken" = {token}, "Attempts" = n."Attempts" + 1
                FROM due WHERE n."Id" = due."Id"
                """, ct);
        // SQLite runs one writer at a time, so the conditional UPDATE is the whole claim.
        var due = db.Set<Notification>()
            .Where(n => (n.Status == NotificationStatus.Pending && n.NextAttemptAt <= now) || (n.Status == NotificationStatus.Sending && n.LeaseUntil < now))
            .OrderBy(n => n.NextAttemptAt).Select(n => n.Id).Take(batch);
        return await db.Set<Notification>()
            .Where(n => due.Contains(n.Id) &&
                ((n.Status == NotificationStatus.Pending && n.NextAttemptAt <= now) || (n.Status == NotificationStatus.Sending && n.LeaseUntil < now)))
            .ExecuteUpdateAsync(s => s
                .SetProperty(n => n.Status, NotificationStatus.Sending)
                .SetProperty(n => n.LeaseUntil, lease)
                .SetProperty(n => n.ClaimToken, token)
                .SetProperty(n => n.Attempts, n => n.Attempts + 1), ct);
    }

    /// <summary>Whether the address is a lead's that opted out of email (or was erased with re-capture blocked).</summary>
    internal static async Task<bool> DoNotEmailAsync(TandemDb db, string address, CancellationToken ct)
    {
        var email = address.Trim().ToLowerInvariant();
        if (await db.Leads.AsNoTracking().AnyAsync(l => l.Email == email && (l.DoNotEmail || l.EmailOptIn == false), ct))
            return true;
        var hash = Leads.ErasureHash.Of("email", email);
        return await db.ErasureBlocks.AsNoTracking().AnyAsync(b => b.Hash == hash, ct);
    }

    private async Task DeliverAsync(TandemDb db, Guid token, Notification row, SendingSettings settings, string? recipientName, CancellationToken ct)
    {
        if (row.Channel == NotificationChannel.InApp)
        {
            await FinishAsync(db, token, row.Id, NotificationStatus.Sent, null, ct);
            if (row.RecipientUserId is { } user)
                await inApp.PublishAsync(user, new InAppMessage(row.Id, row.Kind, row.Subject, row.Body, row.Link, row.Urgent, row.CreatedAt, null));
            return;
        }

        var off = row.Channel switch
        {
            NotificationChannel.Email when settings.Smtp is null => "Email delivery is off or not configured (Settings → Notifications).",
            NotificationChannel.Chat when settings.ChatWebhook is null => "Chat delivery is off or not configured (Settings → Notifications).",
            _ => null,
        };
        // Tandem emails its users, never its leads; should an address also be a lead's marked do-not-email (or erased), it is not
        // sent to (decision 021b): do-not-email is honoured by the only email path there is.
        if (off is null && row.Channel == NotificationChannel.Email && row.RecipientAddress is { } address &&
            await DoNotEmailAsync(db, address, ct))
            off = "The address belongs to a lead marked do-not-email; Tandem does not email it.";
        if (off is not null)
        {
            await FinishAsync(db, token, row.Id, NotificationStatus.Skipped, off, ct);
            return;
        }
        if (!row.Urgent && settings.QuietHours is { } quiet &&
            NotificationRules.QuietUntil(clock.GetUtcNow(), quiet.Start, quiet.End, quiet.Zone) is { } until)
        {
            // Deferred, not attempted: the claim's attempt is given back.
            await db.Set<Notification>().Where(n => n.Id == row.Id && n.ClaimToken == token).ExecuteUpdateAsync(s => s
                .SetProperty(n => n.Status, NotificationStatus.Pending)
                .SetProperty(n => n.NextAttemptAt, until)
                .SetProperty(n => n.Attempts, n => n.Attempts - 1)
                .SetProperty(n => n.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(n => n.ClaimToken, (Guid?)null), ct);
            return;
        }

        // Rows later in the batch wait for the sends before them (a dead SMTP server costs a timeout each); renewing
        // the lease just before sending keeps it valid through the send, and a row whose lease ran out meanwhile
        // and was reclaimed by another instance no longer carries our token, so it is left to that instance.
        var renewedLease = clock.GetUtcNow() + TimeSpan.FromSeconds(options.Value.LeaseSeconds);
        if (await db.Set<Notification>().Where(n => n.Id == row.Id && n.ClaimToken == token)
                .ExecuteUpdateAsync(s => s.SetProperty(n => n.LeaseUntil, renewedLease), ct) == 0)
            return;
        var link = NotificationRules.AbsoluteLink(row.Link, options.Value.PublicBaseUrl);
        try
        {
            if (row.Channel == NotificationChannel.Email)
            {
                var smtp = settings.Smtp!;
                EmailMessage message;
                if (row.Kind == NotificationDigest.Kind)
                {
                    // A digest is written from its items at send time, so its links use the current public address.
                    var items = await db.Set<Notification>().AsNoTracking().Where(n => n.DigestId == row.Id).OrderBy(n => n.CreatedAt)
                        .Select(n => new DigestItem(n.Subject, n.Body, n.Link)).ToListAsync(ct);
                    var baseUrl = options.Value.PublicBaseUrl;
                    message = new EmailMessage(row.Id, smtp.FromAddress, smtp.FromName, row.RecipientAddress!, row.Subject,
                        NotificationRules.EmailBody(NotificationRules.DigestText(items, baseUrl), link),
                        DigestFormat.Html(items, row.Subject, l => NotificationRules.AbsoluteLink(l, baseUrl)));
                }
                else
                {
                    message = new EmailMessage(row.Id, smtp.FromAddress, smtp.FromName, row.RecipientAddress!, row.Subject, NotificationRules.EmailBody(row.Body, link),
                        row.HtmlBody);
                }
                await email.SendAsync(smtp.Endpoint, message, ct);
            }
            else
            {
                await chat.PostAsync(settings.ChatWebhook!, NotificationRules.ChatPayload(row.Subject, row.Body, link, recipientName), ct);
            }
        }
        catch (NotificationSendException ex)
        {
            var now = clock.GetUtcNow();
            var error = NotificationRules.Truncate(ex.Message, Notification.MaxErrorLength);
            if (ex.Permanent || row.Attempts >= settings.MaxAttempts)
            {
                // The server's text can quote the recipient's address: it stays in the delivery log (admins only), not in the logs.
                log.LogWarning("Notification {NotificationId} ({Channel}) failed after {Attempts} attempt(s); the reason is in the delivery log",
                    row.Id, row.Channel, row.Attempts);
                await FinishAsync(db, token, row.Id, NotificationStatus.Failed, error, ct);
                return;
            }
            var next = now + NotificationRules.Backoff(row.Attempts, settings.BaseBackoff, TimeSpan.FromSeconds(options.Value.MaxBackoffSeconds), Random.Shared.NextDouble());
            log.LogInformation("Notification {NotificationId} ({Channel}) attempt {Attempts} failed, next at {Next}: {Error}", row.Id, row.Channel, row.Attempts, next, error);
            await db.Set<Notification>().Where(n => n.Id == row.Id && n.ClaimToken == token).ExecuteUpdateAsync(s => s
                .SetProperty(n => n.Status, NotificationStatus.Pending)
                .SetProperty(n => n.NextAttemptAt, next)
                .SetProperty(n => n.LastError, error)
                .SetProperty(n => n.LeaseUntil, (DateTimeOffset?)null)
                .SetProperty(n => n.ClaimToken, (Guid?)null), ct);
            return;
        }
        await FinishAsync(db, token, row.Id, NotificationStatus.Sent, null, ct);
    }

    private async Task FinishAsync(TandemDb db, Guid token, Guid id, NotificationStatus status, string? error, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        DateTimeOffset? sentAt = status == NotificationStatus.Sent ? now : null;
        var lastError = status == NotificationStatus.Sent ? null : error;
        await db.Set<Notification>().Where(n => n.Id == id && n.ClaimToken == token).ExecuteUpdateAsync(s => s
            .SetProperty(n => n.Status, status)
            .SetProperty(n => n.SentAt, sentAt)
            .SetProperty(n => n.LastError, lastError)
            .SetProperty(n => n.LeaseUntil, (DateTimeOffset?)null)
            .SetProperty(n => n.ClaimToken, (Guid?)null), ct);
    }
}
