using Microsoft.EntityFrameworkCore;

namespace Tandem.Features.Platform.Notifications;

public enum NotificationChannel
{
    InApp,
    Email,
    Chat,
}

public enum NotificationStatus
{
    /// <summary>Waiting for its <see cref="Notification.NextAttemptAt"/>.</summary>
    Pending,
    /// <summary>Claimed by a dispatcher until <see cref="Notification.LeaseUntil"/>; an expired lease is claimed again.</summary>
    Sending,
    Sent,
    /// <summary>Gave up after the last attempt, or the receiving server refused it for good.</summary>
    Failed,
    /// <summary>Never sent because there was nowhere to send it (channel off, no address, deactivated recipient).</summary>
    Skipped,
    /// <summary>An email kept for the recipient's daily digest (the dispatcher does not send it on its own).</summary>
    Held,
    /// <summary>An email sent as one item of a daily digest (<see cref="Notification.DigestId"/>).</summary>
    Digested,
}

public enum SmtpSecurity
{
    None,
    StartTls,
    SslOnConnect,
}

/// <summary>
/// One message on one channel to one recipient (or to the team chat). Rows are the outbox and the delivery log
/// at once: they are never deleted, so a failure stays visible and can be retried.
/// </summary>
public sealed class Notification
{
    public const int MaxSubjectLength = 300;
    public const int MaxBodyLength = 8000;
    public const int MaxErrorLength = 2000;

    public Guid Id { get; set; } = Ids.New();
    /// <summary>Null for a chat message to the whole channel.</summary>
    public Guid? RecipientUserId { get; set; }
    /// <summary>The email address resolved when the message was produced (the log shows where it went).</summary>
    public string? RecipientAddress { get; set; }
    public NotificationChannel Channel { get; set; }
    /// <summary>What happened, e.g. <c>lead.assigned</c>, <c>sla.breach</c>, <c>test</c>.</summary>
    public required string Kind { get; set; }
    public required string Subject { get; set; }
    public string Body { get; set; } = "";
    /// <summary>An HTML version of an email (reports); the plain <see cref="Body"/> stays the text alternative. Every user value in it is encoded by its producer.</summary>
    public string? HtmlBody { get; set; }
    /// <summary>Relative URL in the app, e.g. <c>/leads/{id}</c>.</summary>
    public string? Link { get; set; }
    /// <summary>Urgent messages ignore quiet hours.</summary>
    public bool Urgent { get; set; }
    /// <summary>Unique: producing the same message twice stores (and sends) it once.</summary>
    public required string DedupeKey { get; set; }

    public NotificationStatus Status { get; set; }
    /// <summary>Sends started (a claim counts; a deferral for quiet hours does not).</summary>
    public int Attempts { get; set; }
    public DateTimeOffset NextAttemptAt { get; set; }
    public DateTimeOffset? LeaseUntil { get; set; }
    /// <summary>Identifies one claim, so a dispatcher finds the rows it won and never those another one took.</summary>
    public Guid? ClaimToken { get; set; }
    public string? LastError { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? SentAt { get; set; }
    public DateTimeOffset? ReadAt { get; set; }
    /// <summary>For a <see cref="NotificationStatus.Digested"/> email: the digest email that carried it.</summary>
    public Guid? DigestId { get; set; }
}

/// <summary>How Tandem reaches people: SMTP server, team chat webhook, quiet hours, retry policy. One row.</summary>
public sealed class NotificationSettings
{
    public const int SingletonId = 1;
    public const int DefaultMaxAttempts = 6;
    public const int DefaultBaseBackoffSeconds = 30;

    public int Id { get; set; } = SingletonId;

    public bool EmailEnabled { get; set; }
    public string? SmtpHost { get; set; }
    public int SmtpPort { get; set; } = 587;
    public SmtpSecurity SmtpSecurity { get; set; } = SmtpSecurity.StartTls;
    public string? SmtpUsername { get; set; }
    /// <summary>Encrypted with Data Protection; never leaves the server.</summary>
    public string? SmtpPasswordProtected { get; set; }
    public string? FromAddress { get; set; }
    public string? FromName { get; set; }

    public bool ChatEnabled { get; set; }
    /// <summary>The incoming-webhook URL carries its own secret token, so it is encrypted like a password.</summary>
    public string? ChatWebhookUrlProtected { get; set; }
    /// <summary>Scheme and host of the webhook, shown so admins recognise which one is set.</summary>
    public string? ChatWebhookHost { get; set; }

    public bool QuietHoursEnabled { get; set; }
    public TimeOnly QuietHoursStart { get; set; } = new(20, 0);
    public TimeOnly QuietHoursEnd { get; set; } = new(8, 0);
    public string QuietHoursTimeZone { get; set; } = "UTC";

    public int MaxAttempts { get; set; } = DefaultMaxAttempts;
    public int BaseBackoffSeconds { get; set; } = DefaultBaseBackoffSeconds;

    public DateTimeOffset? UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }
}

/// <summary>Settings under <c>Tandem:Notifications</c> (and <c>Tandem:PublicBaseUrl</c> for absolute links).</summary>
public sealed class NotificationOptions
{
    /// <summary>How often an idle dispatcher looks for due messages (it also wakes at once after an enqueue on this instance).</summary>
    public double PollSeconds { get; set; } = 2;
    /// <summary>A claimed message not finished within this time is claimed again (its sender is presumed dead).</summary>
    public double LeaseSeconds { get; set; } = 120;
    /// <summary>Messages claimed per round.</summary>
    public int BatchSize { get; set; } = 20;
    /// <summary>Longest wait between two attempts.</summary>
    public double MaxBackoffSeconds { get; set; } = 3600;
    public double SmtpTimeoutSeconds { get; set; } = 30;
    public double ChatTimeoutSeconds { get; set; } = 15;
    /// <summary>Start the background dispatcher (tests turn it off to drive rounds step by step).</summary>
    public bool RunDispatcher { get; set; } = true;
    /// <summary>Start the daily digest loop (tests turn it off to drive rounds step by step).</summary>
    public bool RunDigest { get; set; } = true;
    /// <summary>How often the digest loop looks for users whose digest hour has come.</summary>
    public double DigestPollSeconds { get; set; } = 60;
    /// <summary>Makes links absolute in emails and chat messages, e.g. <c>https://tandem.example.com</c>.</summary>
    public string? PublicBaseUrl { get; set; }
}

public static class NotificationModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<Notification>(e =>
        {
            e.ToTable("Notifications");
            e.Property(n => n.Channel).HasConversion<string>().HasMaxLength(16);
            e.Property(n => n.Status).HasConversion<string>().HasMaxLength(16);
            e.Property(n => n.RecipientAddress).HasMaxLength(254);
            e.Property(n => n.Kind).HasMaxLength(64);
            e.Property(n => n.Subject).HasMaxLength(Notification.MaxSubjectLength);
            e.Property(n => n.Body).HasMaxLength(Notification.MaxBodyLength);
            e.Property(n => n.Link).HasMaxLength(2048);
            e.Property(n => n.DedupeKey).HasMaxLength(300);
            e.Property(n => n.LastError).HasMaxLength(Notification.MaxErrorLength);
            e.HasIndex(n => n.DedupeKey).IsUnique();
            // The dispatcher's claim: due pending rows, and sending rows whose lease ran out.
            e.HasIndex(n => new { n.Status, n.NextAttemptAt });
            e.HasIndex(n => n.ClaimToken);
            e.HasIndex(n => new { n.RecipientUserId, n.Channel, n.CreatedAt });
            e.HasIndex(n => n.CreatedAt);
            e.HasIndex(n => n.DigestId);
            e.HasOne<AppUser>().WithMany().HasForeignKey(n => n.RecipientUserId).OnDelete(DeleteBehavior.SetNull);
        });
        builder.Entity<UserNotificationPreferences>(e =>
        {
            e.ToTable("NotificationPreferences");
            e.HasKey(p => p.UserId);
            e.Property(p => p.Choices).HasMaxLength(4000);
            e.HasOne<AppUser>().WithMany().HasForeignKey(p => p.UserId).OnDelete(DeleteBehavior.Cascade);
        });
        builder.Entity<NotificationSettings>(e =>
        {
            e.ToTable("NotificationSettings");
            e.HasKey(s => s.Id);
            e.Property(s => s.Id).ValueGeneratedNever();
            e.Property(s => s.SmtpHost).HasMaxLength(253);
            e.Property(s => s.SmtpSecurity).HasConversion<string>().HasMaxLength(16);
            e.Property(s => s.SmtpUsername).HasMaxLength(256);
            e.Property(s => s.SmtpPasswordProtected).HasMaxLength(4000);
            e.Property(s => s.FromAddress).HasMaxLength(254);
            e.Property(s => s.FromName).HasMaxLength(200);
            e.Property(s => s.ChatWebhookUrlProtected).HasMaxLength(8000);
            e.Property(s => s.ChatWebhookHost).HasMaxLength(300);
            e.Property(s => s.QuietHoursTimeZone).HasMaxLength(64);
            e.Property(s => s.UpdatedBy).HasMaxLength(256);
        });
    }
}
