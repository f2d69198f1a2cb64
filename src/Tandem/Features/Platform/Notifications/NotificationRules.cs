using System.Text;
using System.Text.Json;

namespace Tandem.Features.Platform.Notifications;

/// <summary>What an admin submits on the settings page or with <c>PUT /api/v1/notifications/settings</c>.</summary>
public sealed record NotificationSettingsInput
{
    public bool EmailEnabled { get; init; }
    public string? SmtpHost { get; init; }
    public int SmtpPort { get; init; } = 587;
    public SmtpSecurity SmtpSecurity { get; init; } = SmtpSecurity.StartTls;
    public string? SmtpUsername { get; init; }
    /// <summary>Null or empty keeps the stored password; see <see cref="ClearSmtpPassword"/>.</summary>
    public string? SmtpPassword { get; init; }
    public bool ClearSmtpPassword { get; init; }
    public string? FromAddress { get; init; }
    public string? FromName { get; init; }
    public bool ChatEnabled { get; init; }
    /// <summary>Null or empty keeps the stored webhook URL.</summary>
    public string? ChatWebhookUrl { get; init; }
    public bool QuietHoursEnabled { get; init; }
    public TimeOnly QuietHoursStart { get; init; } = new(20, 0);
    public TimeOnly QuietHoursEnd { get; init; } = new(8, 0);
    public string? QuietHoursTimeZone { get; init; } = "UTC";
    public int MaxAttempts { get; init; } = NotificationSettings.DefaultMaxAttempts;
    public int BaseBackoffSeconds { get; init; } = NotificationSettings.DefaultBaseBackoffSeconds;
}

/// <summary>Pure rules of the notification outbox: validation, backoff, quiet hours, message formats.</summary>
public static class NotificationRules
{
    public const int MaxAttemptsLimit = 20;
    public const int MaxBaseBackoffSeconds = 3600;

    /// <summary>
    /// Field errors as resource keys (the UI and the API localise them). <paramref name="hasStoredWebhook"/>: a
    /// webhook URL is already saved, so an empty one keeps it.
    /// </summary>
    public static Dictionary<string, string[]> Validate(NotificationSettingsInput input, bool hasStoredWebhook)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        void Add(string field, string key) => errors[field] = [key];

        if (input.EmailEnabled && string.IsNullOrWhiteSpace(input.SmtpHost))
            Add("smtpHost", "Notifications.Error.HostRequired");
        else if (input.SmtpHost is { Length: > 253 } || input.SmtpHost?.Trim().Any(char.IsWhiteSpace) == true)
            Add("smtpHost", "Notifications.Error.HostInvalid");
        if (input.SmtpPort is < 1 or > 65535)
            Add("smtpPort", "Notifications.Error.Port");
        if (!Enum.IsDefined(input.SmtpSecurity))
            Add("smtpSecurity", "Notifications.Error.Security");
        if (input.EmailEnabled && string.IsNullOrWhiteSpace(input.FromAddress))
            Add("fromAddress", "Notifications.Error.FromRequired");
        else if (!string.IsNullOrWhiteSpace(input.FromAddress) && !IsEmail(input.FromAddress.Trim()))
            Add("fromAddress", "Notifications.Error.FromInvalid");
        if (input.FromName is { Length: > 200 })
            Add("fromName", "Notifications.Error.TooLong");
        if (input.SmtpUsername is { Length: > 256 })
            Add("smtpUsername", "Notifications.Error.TooLong");
        if (input.SmtpPassword is { Length: > 1000 })
            Add("smtpPassword", "Notifications.Error.TooLong");

        if (!string.IsNullOrWhiteSpace(input.ChatWebhookUrl))
        {
            if (!IsHttpUrl(input.ChatWebhookUrl.Trim()) || input.ChatWebhookUrl.Length > 2000)
                Add("chatWebhookUrl", "Notifications.Error.WebhookUrl");
        }
        else if (input.ChatEnabled && !hasStoredWebhook)
            Add("chatWebhookUrl", "Notifications.Error.WebhookRequired");

        if (input.QuietHoursEnabled && input.QuietHoursStart == input.QuietHoursEnd)
            Add("quietHoursEnd", "Notifications.Error.QuietHoursEmpty");
        if (FindTimeZone(input.QuietHoursTimeZone) is null)
            Add("quietHoursTimeZone", "Notifications.Error.TimeZone");
        if (input.MaxAttempts is < 1 or > MaxAttemptsLimit)
            Add("maxAttempts", "Notifications.Error.MaxAttempts");
        if (input.BaseBackoffSeconds is < 1 or > MaxBaseBackoffSeconds)
            Add("baseBackoffSeconds", "Notifications.Error.Backoff");
        return errors;
    }

    public static bool IsEmail(string value) =>
        value.Length <= 254 && new System.ComponentModel.DataAnnotations.EmailAddressAttribute().IsValid(value) &&
        MimeKit.MailboxAddress.TryParse(value, out _);

    public static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) &&
        !string.IsNullOrEmpty(uri.Host);

    public static TimeZoneInfo? FindTimeZone(string? id)
    {
        if (string.IsNullOrWhiteSpace(id))
            return null;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id.Trim());
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    /// <summary>
    /// Wait before the next attempt after <paramref name="failedAttempts"/> failures: base × 2^(failures − 1),
    /// ±20 % jitter (<paramref name="jitter"/> in [0, 1)) so a crowd of retries spreads out, capped.
    /// </summary>
    public static TimeSpan Backoff(int failedAttempts, TimeSpan baseDelay, TimeSpan cap, double jitter)
    {
        var exponent = Math.Clamp(failedAttempts - 1, 0, 30);
        var seconds = baseDelay.TotalSeconds * Math.Pow(2, exponent) * (0.8 + 0.4 * jitter);
        return TimeSpan.FromSeconds(Math.Min(seconds, cap.TotalSeconds));
    }

    /// <summary>
    /// When <paramref name="now"/> falls inside the daily quiet window [start, end) of <paramref name="zone"/>
    /// (which may cross midnight), the instant the window ends; otherwise null. An empty window (start = end) is never quiet.
    /// </summary>
    public static DateTimeOffset? QuietUntil(DateTimeOffset now, TimeOnly start, TimeOnly end, TimeZoneInfo zone)
    {
        if (start == end)
            return null;
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var time = TimeOnly.FromDateTime(local.DateTime);
        var date = DateOnly.FromDateTime(local.DateTime);
        DateOnly endDate;
        if (start < end)
        {
            if (time < start || time >= end)
                return null;
            endDate = date;
        }
        else if (time >= start)
            endDate = date.AddDays(1);
        else if (time < end)
            endDate = date;
        else
            return null;
        var endLocal = endDate.ToDateTime(end, DateTimeKind.Unspecified);
        // A window ending inside a DST gap ends when the clocks have jumped.
        while (zone.IsInvalidTime(endLocal))
            endLocal = endLocal.AddMinutes(30);
        var offset = zone.IsAmbiguousTime(endLocal) ? zone.GetAmbiguousTimeOffsets(endLocal).Max() : zone.GetUtcOffset(endLocal);
        var result = new DateTimeOffset(endLocal, offset).ToUniversalTime();
        return result > now ? result : null;
    }

    /// <summary>The stored key of one channel's row: producers give one key per event and recipient.</summary>
    public static string ChannelDedupeKey(string key, NotificationChannel channel) =>
        $"{key}:{channel.ToString().ToLowerInvariant()}";

    /// <summary>An absolute URL for a relative link when a public base URL is known; null otherwise.</summary>
    public static string? AbsoluteLink(string? link, string? publicBaseUrl)
    {
        if (string.IsNullOrWhiteSpace(link))
            return null;
        if (Uri.TryCreate(link, UriKind.Absolute, out var absolute) && (absolute.Scheme == Uri.UriSchemeHttps || absolute.Scheme == Uri.UriSchemeHttp))
            return link;
        if (string.IsNullOrWhiteSpace(publicBaseUrl) || !IsHttpUrl(publicBaseUrl))
            return null;
        return publicBaseUrl.TrimEnd('/') + "/" + link.TrimStart('/');
    }

    /// <summary>A relative link is kept only when it stays inside the app (no scheme, no protocol-relative <c>//host</c>).</summary>
    public static bool IsSafeRelativeLink(string? link) =>
        link is null || (link.StartsWith('/') && !link.StartsWith("//", StringComparison.Ordinal) && !link.StartsWith("/\\", StringComparison.Ordinal) && link.Length <= 2048);

    /// <summary>Slack mrkdwn treats &amp;, &lt; and &gt; as control characters; everything else passes as is.</summary>
    public static string EscapeSlack(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>The Slack-compatible incoming-webhook payload: <c>{"text": "..."}</c>.</summary>
    public static string ChatPayload(string subject, string body, string? absoluteLink, string? recipientName)
    {
        var text = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(recipientName))
            text.Append(EscapeSlack(recipientName)).Append(": ");
        text.Append('*').Append(EscapeSlack(subject)).Append('*');
        if (!string.IsNullOrWhiteSpace(body))
            text.Append('\n').Append(EscapeSlack(body));
        if (absoluteLink is not null)
            text.Append("\n<").Append(absoluteLink.Replace(">", "%3E", StringComparison.Ordinal).Replace("|", "%7C", StringComparison.Ordinal)).Append("|Open in Tandem>");
        return JsonSerializer.Serialize(new { text = text.ToString() });
    }

    /// <summary>The plain-text email body: the message, then the link on its own line.</summary>
    public static string EmailBody(string body, string? absoluteLink) =>
        absoluteLink is null ? body : $"{body}{(body.Length == 0 ? "" : "\n\n")}{absoluteLink}";

    /// <summary>A Message-Id fixed by the notification, so a resend after a crash is recognisably the same message.</summary>
    public static string MessageId(Guid notificationId, string? fromAddress)
    {
        var at = fromAddress?.LastIndexOf('@') ?? -1;
        var domain = at > 0 && at < fromAddress!.Length - 1 ? fromAddress[(at + 1)..] : "tandem.local";
        return $"{notificationId:N}@{domain}";
    }

    /// <summary>The subject of a daily digest, e.g. "Tandem daily digest, 7 Dec 2026: 3 updates".</summary>
    public static string DigestSubject(DateOnly day, int count) =>
        $"Tandem daily digest, {day.ToString("d MMM yyyy", System.Globalization.CultureInfo.InvariantCulture)}: {count} update{(count == 1 ? "" : "s")}";

    /// <summary>The plain-text digest: each item's subject, body and link, separated by blank lines.</summary>
    public static string DigestText(IReadOnlyList<DigestItem> items, string? publicBaseUrl)
    {
        var text = new StringBuilder();
        foreach (var item in items)
        {
            if (text.Length > 0)
                text.Append("\n\n");
            text.Append("- ").Append(item.Subject);
            if (!string.IsNullOrWhiteSpace(item.Body))
                text.Append('\n').Append("  ").Append(item.Body);
            if ((AbsoluteLink(item.Link, publicBaseUrl) ?? item.Link) is { } link)
                text.Append('\n').Append("  ").Append(link);
        }
        return text.ToString();
    }

    public static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
