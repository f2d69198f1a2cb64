using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Tandem.Data;

namespace Tandem.Features.Platform.Notifications;

/// <summary>Settings as shown to admins: never the password nor the webhook URL, only whether they are set.</summary>
public sealed record NotificationSettingsDto(
    bool EmailEnabled, string? SmtpHost, int SmtpPort, SmtpSecurity SmtpSecurity, string? SmtpUsername, bool PasswordSet,
    string? FromAddress, string? FromName,
    bool ChatEnabled, bool ChatWebhookUrlSet, string? ChatWebhookHost,
    bool QuietHoursEnabled, TimeOnly QuietHoursStart, TimeOnly QuietHoursEnd, string QuietHoursTimeZone,
    int MaxAttempts, int BaseBackoffSeconds, DateTimeOffset? UpdatedAt, string? UpdatedBy);

/// <summary>One row of the delivery log.</summary>
public sealed record DeliveryDto(
    Guid Id, NotificationChannel Channel, string Kind, Guid? RecipientUserId, string? RecipientAddress, string Subject, bool Urgent,
    NotificationStatus Status, int Attempts, DateTimeOffset NextAttemptAt, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? SentAt);

public sealed record MyNotifications(int UnreadCount, IReadOnlyList<InAppMessage> Items);

public enum RetryOutcome
{
    Queued,
    NotFound,
    AlreadySent,
    InProgress,
}

/// <summary>Decrypted settings for one dispatch round.</summary>
public sealed record SendingSettings(SmtpSettings? Smtp, Uri? ChatWebhook, QuietHours? QuietHours, int MaxAttempts, TimeSpan BaseBackoff);

public sealed record SmtpSettings(SmtpEndpoint Endpoint, string FromAddress, string? FromName);

public sealed record QuietHours(TimeOnly Start, TimeOnly End, TimeZoneInfo Zone);

/// <summary>Notification settings, delivery log, retries, test sends, and a user's in-app inbox.</summary>
public sealed class NotificationAdmin(TandemDb db, Notifier notifier, NotificationSignal signal, InAppNotifications inApp,
    IDataProtectionProvider protection, TimeProvider clock, IStringLocalizer<SharedResource> strings, OutboundWebhooks.TargetGuard guard)
{
    public const string SecretPurpose = "Tandem.Notifications.Settings.v1";
    private readonly IDataProtector _protector = protection.CreateProtector(SecretPurpose);

    private async Task<NotificationSettings> LoadAsync(bool tracking, CancellationToken ct)
    {
        var query = tracking ? db.Set<NotificationSettings>() : db.Set<NotificationSettings>().AsNoTracking();
        return await query.FirstOrDefaultAsync(s => s.Id == NotificationSettings.SingletonId, ct) ?? new NotificationSettings();
    }

    public async Task<NotificationSettingsDto> GetSettingsAsync(CancellationToken ct) => ToDto(await LoadAsync(false, ct));

    private static NotificationSettingsDto ToDto(NotificationSettings s) => new(
        s.EmailEnabled, s.SmtpHost, s.SmtpPort, s.SmtpSecurity, s.SmtpUsername, s.SmtpPasswordProtected is not null,
        s.FromAddress, s.FromName, s.ChatEnabled, s.ChatWebhookUrlProtected is not null, s.ChatWebhookHost,
        s.QuietHoursEnabled, s.QuietHoursStart, s.QuietHoursEnd, s.QuietHoursTimeZone, s.MaxAttempts, s.BaseBackoffSeconds, s.UpdatedAt, s.UpdatedBy);

    /// <summary>Validates and saves; on bad input returns localised field errors and changes nothing.</summary>
    public async Task<(NotificationSettingsDto? Saved, Dictionary<string, string[]>? Errors)> SaveSettingsAsync(NotificationSettingsInput input, string actor, CancellationToken ct)
    {
        var settings = await LoadAsync(true, ct);
        var errors = NotificationRules.Validate(input, settings.ChatWebhookUrlProtected is not null);
        // SSRF guard: the chat webhook must not point into the server's own networks.
        if (!errors.ContainsKey("chatWebhookUrl") && Blank(input.ChatWebhookUrl) is { } chatUrl && await guard.CheckAsync(new Uri(chatUrl), ct) is { } refused)
            errors["chatWebhookUrl"] = [refused];
        if (errors.Count > 0)
            return (null, errors.ToDictionary(e => e.Key, e => e.Value.Select(k => strings[k].Value).ToArray(), StringComparer.Ordinal));

        if (db.Entry(settings).State == EntityState.Detached)
            db.Add(settings);
        settings.EmailEnabled = input.EmailEnabled;
        settings.SmtpHost = Blank(input.SmtpHost);
        settings.SmtpPort = input.SmtpPort;
        settings.SmtpSecurity = input.SmtpSecurity;
        settings.SmtpUsername = Blank(input.SmtpUsername);
        if (input.ClearSmtpPassword)
            settings.SmtpPasswordProtected = null;
        else if (!string.IsNullOrEmpty(input.SmtpPassword))
            settings.SmtpPasswordProtected = _protector.Protect(input.SmtpPassword);
        settings.FromAddress = Blank(input.FromAddress);
        settings.FromName = Blank(input.FromName);
        settings.ChatEnabled = input.ChatEnabled;
        if (Blank(input.ChatWebhookUrl) is { } url)
        {
            settings.ChatWebhookUrlProtected = _protector.Protect(url);
            var uri = new Uri(url);
            settings.ChatWebhookHost = $"{uri.Scheme}://{uri.Authority}";
        }
        settings.QuietHoursEnabled = input.QuietHoursEnabled;
        settings.QuietHoursStart = input.QuietHoursStart;
        settings.QuietHoursEnd = input.QuietHoursEnd;
        settings.QuietHoursTimeZone = input.QuietHoursTimeZone!.Trim();
        settings.MaxAttempts = input.MaxAttempts;
        settings.BaseBackoffSeconds = input.BaseBackoffSeconds;
        settings.UpdatedAt = clock.GetUtcNow();
        settings.UpdatedBy = NotificationRules.Truncate(actor, 256);
        db.AuditEntries.Add(new AuditEntry
        {
            At = settings.UpdatedAt.Value,
            Actor = settings.UpdatedBy,
            Action = "notifications.settings-saved",
            EntityType = "NotificationSettings",
            EntityId = NotificationSettings.SingletonId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex) when (Capture.CaptureService.IsUniqueViolation(ex))
        {
            // Two admins saved the very first settings at once; the other one won, this one saves over it.
            db.ChangeTracker.Clear();
            return await SaveSettingsAsync(input, actor, ct);
        }
        return (ToDto(settings), null);
    }

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The settings the dispatcher needs, decrypted; a channel that is off or incomplete is null.</summary>
    public async Task<SendingSettings> LoadForSendingAsync(CancellationToken ct)
    {
        var s = await LoadAsync(false, ct);
        SmtpSettings? smtp = s.EmailEnabled && s.SmtpHost is { } host && s.FromAddress is { } from
            ? new SmtpSettings(new SmtpEndpoint(host, s.SmtpPort, s.SmtpSecurity, s.SmtpUsername, Unprotect(s.SmtpPasswordProtected)), from, s.FromName)
            : null;
        Uri? chat = s.ChatEnabled && Unprotect(s.ChatWebhookUrlProtected) is { } url && Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : null;
        QuietHours? quiet = s.QuietHoursEnabled && NotificationRules.FindTimeZone(s.QuietHoursTimeZone) is { } zone
            ? new QuietHours(s.QuietHoursStart, s.QuietHoursEnd, zone)
            : null;
        return new SendingSettings(smtp, chat, quiet, Math.Max(1, s.MaxAttempts), TimeSpan.FromSeconds(Math.Max(1, s.BaseBackoffSeconds)));
    }

    private string? Unprotect(string? value)
    {
        if (value is null)
            return null;
        try
        {
            return _protector.Unprotect(value);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            // Keys lost (database restored without its Data Protection keys): treat the secret as unset.
            return null;
        }
    }

    public async Task<Page<DeliveryDto>> DeliveriesAsync(NotificationStatus? status, NotificationChannel? channel, PageQuery page, CancellationToken ct)
    {
        var query = db.Set<Notification>().AsNoTracking();
        if (status is { } st)
            query = query.Where(n => n.Status == st);
        if (channel is { } ch)
            query = query.Where(n => n.Channel == ch);
        var total = await query.CountAsync(ct);
        var items = await query.OrderByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id).Skip(page.Skip).Take(page.Size)
            .Select(n => new DeliveryDto(n.Id, n.Channel, n.Kind, n.RecipientUserId, n.RecipientAddress, n.Subject, n.Urgent,
                n.Status, n.Attempts, n.NextAttemptAt, n.LastError, n.CreatedAt, n.SentAt))
            .ToListAsync(ct);
        return new Page<DeliveryDto>(items, page.PageNumber, page.Size, total);
    }

    public async Task<DeliveryDto?> DeliveryAsync(Guid id, CancellationToken ct) =>
        await db.Set<Notification>().AsNoTracking().Where(n => n.Id == id)
            .Select(n => new DeliveryDto(n.Id, n.Channel, n.Kind, n.RecipientUserId, n.RecipientAddress, n.Subject, n.Urgent,
                n.Status, n.Attempts, n.NextAttemptAt, n.LastError, n.CreatedAt, n.SentAt))
            .FirstOrDefaultAsync(ct);

    /// <summary>
    /// Sends a failed or skipped message again with a fresh set of attempts, or a pending one now instead of at its
    /// next retry. The last error stays until it is sent.
    /// </summary>
    public async Task<RetryOutcome> RetryAsync(Guid id, string actor, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var updated = await db.Set<Notification>()
            .Where(n => n.Id == id && (n.Status == NotificationStatus.Failed || n.Status == NotificationStatus.Skipped || n.Status == NotificationStatus.Pending))
            .ExecuteUpdateAsync(s => s
                .SetProperty(n => n.Attempts, n => n.Status == NotificationStatus.Pending ? n.Attempts : 0)
                .SetProperty(n => n.Status, NotificationStatus.Pending)
                .SetProperty(n => n.NextAttemptAt, now), ct);
        if (updated == 1)
        {
            db.AuditEntries.Add(new AuditEntry { At = now, Actor = NotificationRules.Truncate(actor, 256), Action = "notifications.retry", EntityType = "Notification", EntityId = id.ToString() });
            await db.SaveChangesAsync(ct);
            signal.Wake();
            return RetryOutcome.Queued;
        }
        var status = await db.Set<Notification>().Where(n => n.Id == id).Select(n => (NotificationStatus?)n.Status).FirstOrDefaultAsync(ct);
        return status switch
        {
            null => RetryOutcome.NotFound,
            NotificationStatus.Sent => RetryOutcome.AlreadySent,
            _ => RetryOutcome.InProgress,
        };
    }

    /// <summary>Enqueues a real test message (email to <paramref name="to"/> or the user's own address, or chat) and returns its id.</summary>
    public async Task<(Guid? Id, Dictionary<string, string[]>? Errors)> TestAsync(NotificationChannel channel, Guid? userId, string? to, string actor, CancellationToken ct)
    {
        if (channel == NotificationChannel.InApp && userId is null)
            return (null, new() { ["channel"] = [strings["Notifications.Error.TestNeedsUser"].Value] });
        string? address = null;
        if (channel == NotificationChannel.Email)
        {
            address = Blank(to) ?? (userId is { } u ? await db.Users.Where(x => x.Id == u).Select(x => x.Email).FirstOrDefaultAsync(ct) : null);
            if (address is null || !NotificationRules.IsEmail(address))
                return (null, new() { ["to"] = [strings["Notifications.Error.TestAddress"].Value] });
        }
        var added = await notifier.EnqueueAndSaveAsync(new NotificationRequest
        {
            Kind = "test",
            RecipientUserId = channel == NotificationChannel.Chat ? null : userId,
            Channels = [channel],
            Subject = strings["Notifications.TestSubject"],
            Body = string.Format(System.Globalization.CultureInfo.CurrentCulture, strings["Notifications.TestBody"], actor),
            Link = "/settings/notifications",
            Urgent = true,
            EmailAddressOverride = address,
        }, ct);
        return (added.Single().Id, null);
    }

    public async Task<MyNotifications> MineAsync(Guid userId, int take, CancellationToken ct)
    {
        var mine = db.Set<Notification>().AsNoTracking()
            .Where(n => n.RecipientUserId == userId && n.Channel == NotificationChannel.InApp && n.Status != NotificationStatus.Skipped);
        var unread = await mine.CountAsync(n => n.ReadAt == null, ct);
        // Unread first (newest first within each), so what still needs attention is never pushed out by read messages.
        var items = await mine.OrderBy(n => n.ReadAt == null ? 0 : 1).ThenByDescending(n => n.CreatedAt).ThenByDescending(n => n.Id).Take(Math.Clamp(take, 1, 100))
            .Select(n => new InAppMessage(n.Id, n.Kind, n.Subject, n.Body, n.Link, n.Urgent, n.CreatedAt, n.ReadAt))
            .ToListAsync(ct);
        return new MyNotifications(unread, items);
    }

    /// <summary>Marks the given in-app messages (or all when none are given) of this user read; returns how many changed.</summary>
    public async Task<int> MarkReadAsync(Guid userId, IReadOnlyCollection<Guid>? ids, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var query = db.Set<Notification>().Where(n => n.RecipientUserId == userId && n.Channel == NotificationChannel.InApp && n.ReadAt == null);
        if (ids is { Count: > 0 })
            query = query.Where(n => ids.Contains(n.Id));
        var changed = await query.ExecuteUpdateAsync(s => s.SetProperty(n => n.ReadAt, now), ct);
        if (changed > 0)
            await inApp.PublishAsync(userId, null);
        return changed;
    }

    /// <summary>For tests and operations: whether a stored secret decrypts to <paramref name="plain"/>.</summary>
    internal bool IsProtectedValueOf(string? stored, string plain) => Unprotect(stored) == plain;
}
