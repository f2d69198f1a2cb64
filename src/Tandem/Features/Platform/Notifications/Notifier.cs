using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;

namespace Tandem.Features.Platform.Notifications;

/// <summary>
/// A message to produce. One row is stored per channel; <see cref="DedupeKey"/> names the event and recipient
/// (e.g. <c>sla.breach:{assignmentId}:{userId}</c>) and gets the channel appended, so producing the same event
/// twice stores and sends it once. Without a key every request is new.
/// </summary>
public sealed record NotificationRequest
{
    public required string Kind { get; init; }
    /// <summary>Who receives it; null only for a chat message to the whole channel.</summary>
    public Guid? RecipientUserId { get; init; }
    public required IReadOnlyCollection<NotificationChannel> Channels { get; init; }
    public required string Subject { get; init; }
    public string Body { get; init; } = "";
    /// <summary>Optional HTML version of the email (the producer encodes every user value); kept on the email row only.</summary>
    public string? HtmlBody { get; init; }
    /// <summary>Relative URL inside Tandem, e.g. <c>/leads/{id}</c>.</summary>
    public string? Link { get; init; }
    /// <summary>Urgent messages are sent during quiet hours too.</summary>
    public bool Urgent { get; init; }
    public string? DedupeKey { get; init; }
    /// <summary>Sends the email here instead of to the recipient's address (test sends).</summary>
    public string? EmailAddressOverride { get; init; }
}

/// <summary>
/// Producer API of the outbox. <see cref="EnqueueAsync"/> adds rows to the caller's <see cref="TandemDb"/> without
/// saving, so the notification commits in the same transaction as the business change that caused it.
/// </summary>
public sealed class Notifier(TandemDb db, NotificationSignal signal, TimeProvider clock)
{
    private bool _wakeOnSave;
    // Keys added through this notifier and not yet saved; asking the change tracker would scan every tracked entity.
    private readonly HashSet<string> _addedKeys = new(StringComparer.Ordinal);

    /// <summary>
    /// Adds one row per channel to the current unit of work (not saved). Rows whose dedupe key is already stored
    /// or already added are left out. Returns the rows added. The dispatcher is woken when the context saves.
    /// </summary>
    public async Task<IReadOnlyList<Notification>> EnqueueAsync(NotificationRequest request, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Kind);
        ArgumentException.ThrowIfNullOrWhiteSpace(request.Subject);
        if (!NotificationRules.IsSafeRelativeLink(request.Link))
            throw new ArgumentException("Link must be a relative URL inside Tandem, e.g. /leads/{id}.", nameof(request));
        var channels = request.Channels.Distinct().ToList();
        if (request.RecipientUserId is null && channels.Any(c => c != NotificationChannel.Chat) && request.EmailAddressOverride is null)
            throw new ArgumentException("In-app and email notifications need a recipient.", nameof(request));

        AppUser? user = null;
        if (request.RecipientUserId is { } userId)
            user = await db.Users.AsNoTracking().FirstOrDefaultAsync(u => u.Id == userId, ct)
                ?? throw new ArgumentException($"No user with id {userId}.", nameof(request));

        // The recipient's own choices decide the channels of the kinds they can tune (test sends keep theirs).
        var digestEmail = false;
        if (user is not null && request.EmailAddressOverride is null && NotificationPreferenceRules.CategoryOf(request.Kind) is { } category)
        {
            var stored = await db.Set<UserNotificationPreferences>().AsNoTracking().Where(p => p.UserId == user.Id).Select(p => p.Choices).FirstOrDefaultAsync(ct);
            var choice = NotificationPreferenceRules.Effective(stored).Single(c => c.Category == category);
            var chatOn = choice.Chat && await db.Set<NotificationSettings>().AsNoTracking().AnyAsync(s => s.Id == NotificationSettings.SingletonId && s.ChatEnabled, ct);
            (channels, digestEmail) = NotificationPreferenceRules.Route(choice, chatOn);
        }

        var now = clock.GetUtcNow();
        var baseKey = request.DedupeKey ?? $"{request.Kind}:{Ids.New():N}";
        var keyed = channels.Select(c => (Channel: c, Key: NotificationRules.ChannelDedupeKey(baseKey, c))).ToList();
        var keys = keyed.Select(k => k.Key).ToList();
        var taken = (await db.Set<Notification>().AsNoTracking().Where(n => keys.Contains(n.DedupeKey)).Select(n => n.DedupeKey).ToListAsync(ct))
            .Concat(_addedKeys)
            .ToHashSet(StringComparer.Ordinal);

        var added = new List<Notification>();
        foreach (var (channel, key) in keyed)
        {
            if (taken.Contains(key))
                continue;
            var row = new Notification
            {
                RecipientUserId = request.RecipientUserId,
                Channel = channel,
                Kind = NotificationRules.Truncate(request.Kind, 64),
                Subject = NotificationRules.Truncate(request.Subject, Notification.MaxSubjectLength),
                Body = NotificationRules.Truncate(request.Body, Notification.MaxBodyLength),
                HtmlBody = channel == NotificationChannel.Email ? request.HtmlBody : null,
                Link = request.Link,
                Urgent = request.Urgent,
                DedupeKey = key,
                Status = NotificationStatus.Pending,
                NextAttemptAt = now,
                CreatedAt = now,
            };
            if (channel == NotificationChannel.Email)
            {
                row.RecipientAddress = request.EmailAddressOverride ?? user?.Email;
                if (string.IsNullOrWhiteSpace(row.RecipientAddress))
                    Skip(row, "The recipient has no email address.");
                else if (digestEmail)
                    row.Status = NotificationStatus.Held;
            }
            if (user is { IsActive: false } && request.EmailAddressOverride is null)
                Skip(row, "The recipient is deactivated.");
            db.Set<Notification>().Add(row);
            added.Add(row);
            _addedKeys.Add(key);
        }
        if (added.Count > 0 && !_wakeOnSave)
        {
            _wakeOnSave = true;
            db.SavedChanges += (_, _) =>
            {
                _addedKeys.Clear();
                signal.Wake();
            };
        }
        return added;
    }

    /// <summary>
    /// Adds and saves at once (for producers with no change of their own to commit). A concurrent producer of the
    /// same dedupe key wins the race quietly: the unique violation is absorbed and the losing rows are dropped.
    /// </summary>
    public async Task<IReadOnlyList<Notification>> EnqueueAndSaveAsync(NotificationRequest request, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var added = await EnqueueAsync(request, ct);
            try
            {
                await db.SaveChangesAsync(ct);
                return added;
            }
            catch (DbUpdateException ex) when (attempt < 3 && Capture.CaptureService.IsUniqueViolation(ex))
            {
                foreach (var row in added)
                {
                    db.Entry(row).State = EntityState.Detached;
                    _addedKeys.Remove(row.DedupeKey);
                }
            }
        }
    }

    private static void Skip(Notification row, string reason)
    {
        row.Status = NotificationStatus.Skipped;
        row.LastError = reason;
    }
}

/// <summary>Wakes this instance's dispatcher right after a producer commits, instead of at its next poll.</summary>
public sealed class NotificationSignal : WakeSignal;

/// <summary>An in-app notification as the bell and <c>/api/v1/me/notifications</c> show it.</summary>
public sealed record InAppMessage(Guid Id, string Kind, string Subject, string Body, string? Link, bool Urgent, DateTimeOffset CreatedAt, DateTimeOffset? ReadAt);

/// <summary>
/// Live in-app notifications of this instance: the dispatcher publishes, each open bell subscribes for its user.
/// Other instances' users see new messages at their bell's next refresh.
/// </summary>
public sealed class InAppNotifications
{
    private readonly ConcurrentDictionary<Guid, ImmutableHandlers> _byUser = new();

    public IDisposable Subscribe(Guid userId, Func<InAppMessage, Task> handler)
    {
        _byUser.AddOrUpdate(userId, _ => new ImmutableHandlers([handler]), (_, h) => new ImmutableHandlers([.. h.Items, handler]));
        return new Subscription(() => _byUser.AddOrUpdate(userId, _ => new ImmutableHandlers([]),
            (_, h) => new ImmutableHandlers([.. h.Items.Where(x => x != handler)])));
    }

    /// <summary>Also raised when messages are marked read, so every open tab of the user updates its count.</summary>
    public async Task PublishAsync(Guid userId, InAppMessage? message)
    {
        if (!_byUser.TryGetValue(userId, out var handlers))
            return;
        foreach (var handler in handlers.Items)
        {
            try
            {
                await handler(message ?? new InAppMessage(Guid.Empty, "", "", "", null, false, default, null));
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
            {
                // A circuit that went away between the lookup and the call.
            }
        }
    }

    public int SubscriberCount(Guid userId) => _byUser.TryGetValue(userId, out var h) ? h.Items.Length : 0;

    private sealed record ImmutableHandlers(Func<InAppMessage, Task>[] Items);

    private sealed class Subscription(Action dispose) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
                dispose();
        }
    }
}
