using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Localization;
using Tandem.Data;

namespace Tandem.Features.Platform.Notifications;

/// <summary>What a person may choose how to hear about. Each notification kind belongs to at most one category.</summary>
public enum NotificationCategory
{
    /// <summary>A lead of my campaign was rejected or rated low.</summary>
    LeadFeedback,
    /// <summary>A campaign was flagged or paused by the guard.</summary>
    CampaignGuard,
    /// <summary>A dispute was opened on my side's verdict, or mine was resolved.</summary>
    Disputes,
    /// <summary>SLA reminders, breaches, reassignments and recycled leads.</summary>
    Sla,
    /// <summary>A new MQL for me, or no rep could take one.</summary>
    Assignments,
}

public enum EmailDelivery
{
    Off,
    Immediate,
    Digest,
}

/// <summary>How one category reaches the user: in-app, by email (at once or in the daily digest), and to the team chat.</summary>
public sealed record CategoryChoice(NotificationCategory Category, bool InApp, EmailDelivery Email, bool Chat);

/// <summary>A user's choices, one row per user; a user without a row has <see cref="NotificationPreferenceRules.Defaults"/>.</summary>
public sealed class UserNotificationPreferences
{
    public Guid UserId { get; set; }
    /// <summary>JSON list of <see cref="CategoryChoice"/>; categories missing from it have their default.</summary>
    public string Choices { get; set; } = "[]";
    /// <summary>Hour of the day (0–23, in the user's time zone) the daily digest is sent.</summary>
    public int DigestHour { get; set; } = NotificationPreferenceRules.DefaultDigestHour;
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>What <c>GET /api/v1/me/notification-preferences</c> answers and the page shows.</summary>
public sealed record NotificationPreferencesDto(IReadOnlyList<CategoryChoice> Categories, int DigestHour, string TimeZone, bool ChatAvailable, bool EmailAvailable);

/// <summary>What <c>PUT /api/v1/me/notification-preferences</c> takes: categories left out keep their choice.</summary>
public sealed record NotificationPreferencesInput(IReadOnlyList<CategoryChoiceInput>? Categories, int? DigestHour);

/// <summary>
/// One category's change. Category and email are read as names (case-insensitive) and never as numbers: a client sending
/// <c>1</c> meant something, and guessing what is worse than a field error.
/// </summary>
public sealed record CategoryChoiceInput(string? Category, bool? InApp, string? Email, bool? Chat);

/// <summary>Pure rules: which category a kind belongs to, defaults, validation.</summary>
public static class NotificationPreferenceRules
{
    public const int DefaultDigestHour = 8;

    /// <summary>Campaign owners hear of rejections and low ratings in-app and in one email a day; everything else comes at once.</summary>
    public static IReadOnlyList<CategoryChoice> Defaults { get; } =
    [
        new(NotificationCategory.LeadFeedback, true, EmailDelivery.Digest, false),
        new(NotificationCategory.CampaignGuard, true, EmailDelivery.Immediate, false),
        new(NotificationCategory.Disputes, true, EmailDelivery.Immediate, false),
        new(NotificationCategory.Sla, true, EmailDelivery.Immediate, false),
        new(NotificationCategory.Assignments, true, EmailDelivery.Immediate, false),
    ];

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    /// <summary>The category of a notification kind; null for kinds the user cannot tune (test sends, digests).</summary>
    public static NotificationCategory? CategoryOf(string kind) => kind switch
    {
        "feedback.rejected" or "feedback.low-rating" => NotificationCategory.LeadFeedback,
        "campaign.flagged" or "campaign.paused" => NotificationCategory.CampaignGuard,
        "feedback.dispute-opened" or "feedback.dispute-resolved" => NotificationCategory.Disputes,
        "handoff.reminder" or "handoff.breach" or "handoff.reassigned" or "handoff.recycled" => NotificationCategory.Sla,
        "handoff.assigned" or "handoff.no-eligible-rep" => NotificationCategory.Assignments,
        _ => null,
    };

    /// <summary>The stored choices merged over the defaults, in category order; a stored row that no longer reads falls back to the defaults.</summary>
    public static IReadOnlyList<CategoryChoice> Effective(string? stored)
    {
        List<CategoryChoice>? saved = null;
        if (!string.IsNullOrEmpty(stored))
        {
            try
            {
                saved = JsonSerializer.Deserialize<List<CategoryChoice>>(stored, Json);
            }
            catch (JsonException)
            {
                saved = null;
            }
        }
        return [.. Defaults.Select(d => saved?.LastOrDefault(s => s.Category == d.Category && Enum.IsDefined(s.Email)) ?? d)];
    }

    /// <summary>An enum value by its name only (a number, even of a defined value, is refused).</summary>
    public static T? ParseName<T>(string? value) where T : struct, Enum =>
        value is { Length: > 0 } v && char.IsLetter(v.Trim()[0]) && Enum.TryParse<T>(v.Trim(), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
            ? parsed
            : null;

    /// <summary>Field errors as resource keys; nothing is saved when any is returned.</summary>
    public static Dictionary<string, string[]> Validate(NotificationPreferencesInput input)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        if (input.DigestHour is < 0 or > 23)
            errors["digestHour"] = ["Preferences.Error.DigestHour"];
        var seen = new HashSet<NotificationCategory>();
        for (var i = 0; i < (input.Categories?.Count ?? 0); i++)
        {
            var c = input.Categories![i];
            if (ParseName<NotificationCategory>(c?.Category) is not { } category)
                errors[$"categories[{i}].category"] = ["Preferences.Error.Category"];
            else if (!seen.Add(category))
                errors[$"categories[{i}].category"] = ["Preferences.Error.Duplicate"];
            if (c?.Email is not null && ParseName<EmailDelivery>(c.Email) is null)
                errors[$"categories[{i}].email"] = ["Preferences.Error.Email"];
        }
        return errors;
    }

    /// <summary>The new choices: each given category replaces its current one, fields left out keep theirs (input already validated).</summary>
    public static IReadOnlyList<CategoryChoice> Apply(IReadOnlyList<CategoryChoice> current, IReadOnlyList<CategoryChoiceInput>? changes) =>
        [.. current.Select(c => changes?.LastOrDefault(x => ParseName<NotificationCategory>(x?.Category) == c.Category) is { } x
            ? new CategoryChoice(c.Category, x.InApp ?? c.InApp, ParseName<EmailDelivery>(x.Email) ?? c.Email, x.Chat ?? c.Chat)
            : c)];

    /// <summary>
    /// The channels a categorised message goes to for this user, and whether the email waits for the
    /// daily digest. Chat is added only when the workspace has it on.
    /// </summary>
    public static (List<NotificationChannel> Channels, bool DigestEmail) Route(CategoryChoice choice, bool chatOn)
    {
        var channels = new List<NotificationChannel>();
        if (choice.InApp)
            channels.Add(NotificationChannel.InApp);
        if (choice.Email != EmailDelivery.Off)
            channels.Add(NotificationChannel.Email);
        if (choice.Chat && chatOn)
            channels.Add(NotificationChannel.Chat);
        return (channels, choice.Email == EmailDelivery.Digest);
    }

    /// <summary>
    /// The last instant at or before <paramref name="now"/> when the clock of <paramref name="zone"/> showed
    /// <paramref name="hour"/>:00, and the local date of that instant (the digest's day).
    /// </summary>
    public static (DateTimeOffset At, DateOnly Day) LastDigestTime(DateTimeOffset now, int hour, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var day = DateOnly.FromDateTime(local.DateTime);
        for (var i = 0; i < 3; i++, day = day.AddDays(-1))
        {
            var at = Instant(day, hour, zone);
            if (at <= now)
                return (at, day);
        }
        return (Instant(day, hour, zone), day);
    }

    private static DateTimeOffset Instant(DateOnly day, int hour, TimeZoneInfo zone)
    {
        var local = day.ToDateTime(new TimeOnly(hour, 0), DateTimeKind.Unspecified);
        // An hour that does not exist on a spring-forward day is read after the jump.
        while (zone.IsInvalidTime(local))
            local = local.AddMinutes(30);
        var offset = zone.IsAmbiguousTime(local) ? zone.GetAmbiguousTimeOffsets(local).Max() : zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }
}

/// <summary>Reads and saves the signed-in user's own notification preferences.</summary>
public sealed class NotificationPreferencesService(TandemDb db, TimeProvider clock, IStringLocalizer<SharedResource> strings)
{
    public async Task<NotificationPreferencesDto?> GetAsync(Guid userId, CancellationToken ct)
    {
        var user = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => new { u.TimeZone }).FirstOrDefaultAsync(ct);
        if (user is null)
            return null;
        var row = await db.Set<UserNotificationPreferences>().AsNoTracking().FirstOrDefaultAsync(p => p.UserId == userId, ct);
        var settings = await db.Set<NotificationSettings>().AsNoTracking().Where(s => s.Id == NotificationSettings.SingletonId)
            .Select(s => new { s.ChatEnabled, s.EmailEnabled }).FirstOrDefaultAsync(ct);
        return new NotificationPreferencesDto(NotificationPreferenceRules.Effective(row?.Choices), row?.DigestHour ?? NotificationPreferenceRules.DefaultDigestHour,
            user.TimeZone, settings?.ChatEnabled ?? false, settings?.EmailEnabled ?? false);
    }

    /// <summary>Validates and saves; on bad input returns localised field errors and changes nothing. Null when the user does not exist.</summary>
    public async Task<(NotificationPreferencesDto? Saved, Dictionary<string, string[]>? Errors)> SaveAsync(Guid userId, NotificationPreferencesInput input, CancellationToken ct)
    {
        var errors = NotificationPreferenceRules.Validate(input);
        if (errors.Count > 0)
            return (null, errors.ToDictionary(e => e.Key, e => e.Value.Select(k => strings[k].Value).ToArray(), StringComparer.Ordinal));
        var who = await db.Users.AsNoTracking().Where(u => u.Id == userId).Select(u => u.Email ?? u.UserName ?? "").FirstOrDefaultAsync(ct);
        if (who is null)
            return (null, null);
        var row = await db.Set<UserNotificationPreferences>().FirstOrDefaultAsync(p => p.UserId == userId, ct);
        var isNew = row is null;
        row ??= new UserNotificationPreferences { UserId = userId };
        var choices = NotificationPreferenceRules.Apply(NotificationPreferenceRules.Effective(row.Choices), input.Categories);
        row.Choices = JsonSerializer.Serialize(choices, NotificationPreferenceRules.Json);
        row.DigestHour = input.DigestHour ?? row.DigestHour;
        row.UpdatedAt = clock.GetUtcNow();
        if (isNew)
            db.Add(row);
        db.AuditEntries.Add(new AuditEntry
        {
            At = row.UpdatedAt,
            ActorId = userId,
            Actor = NotificationRules.Truncate(who, 256),
            Action = "notifications.preferences-saved",
            EntityType = nameof(AppUser),
            EntityId = userId.ToString(),
            Details = NotificationRules.Truncate(row.Choices, 4000),
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException ex) when (isNew && Capture.CaptureService.IsUniqueViolation(ex))
        {
            // Two tabs saved the first preferences at once: the later one saves over the other.
            db.ChangeTracker.Clear();
            return await SaveAsync(userId, input, ct);
        }
        return (await GetAsync(userId, ct), null);
    }
}
