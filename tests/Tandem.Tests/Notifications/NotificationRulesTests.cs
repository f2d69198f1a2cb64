using System.Text.Json;
using Tandem.Features.Platform.Notifications;

namespace Tandem.Tests.Notifications;

/// <summary>Pure rules of the outbox: no database, no network.</summary>
public sealed class NotificationRulesTests
{
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
    private static readonly TimeZoneInfo NewYork = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");

    [Theory]
    [InlineData(1, 30)]
    [InlineData(2, 60)]
    [InlineData(3, 120)]
    [InlineData(6, 960)]
    public void BackoffDoublesFromTheBaseDelay(int failures, double expected)
    {
        var middle = NotificationRules.Backoff(failures, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), 0.5);
        Assert.Equal(expected, middle.TotalSeconds, 3);
        Assert.Equal(expected * 0.8, NotificationRules.Backoff(failures, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), 0).TotalSeconds, 3);
        Assert.True(NotificationRules.Backoff(failures, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), 0.999).TotalSeconds < expected * 1.2);
    }

    [Fact]
    public void BackoffIsCappedEvenAfterManyFailures() =>
        Assert.Equal(TimeSpan.FromHours(1), NotificationRules.Backoff(500, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1), 0.5));

    [Theory]
    [InlineData("2026-11-23T20:59:00Z", null)]                       // 21:59 Paris: before the window
    [InlineData("2026-11-23T21:00:00Z", "2026-11-24T06:00:00Z")]     // 22:00 Paris: the window starts
    [InlineData("2026-11-23T23:30:00Z", "2026-11-24T06:00:00Z")]     // after midnight
    [InlineData("2026-11-24T05:59:00Z", "2026-11-24T06:00:00Z")]     // one minute before the end
    [InlineData("2026-11-24T06:00:00Z", null)]                       // 07:00 Paris: over
    [InlineData("2026-07-01T21:30:00Z", "2026-07-02T05:00:00Z")]     // summer time: UTC+2
    public void QuietHoursAcrossMidnightEndAtTheLocalEndTime(string now, string? until)
    {
        var result = NotificationRules.QuietUntil(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture), new TimeOnly(22, 0), new TimeOnly(7, 0), Paris);
        Assert.Equal(until is null ? null : DateTimeOffset.Parse(until, System.Globalization.CultureInfo.InvariantCulture), result);
    }

    [Fact]
    public void QuietHoursWithinOneDayAndEmptyWindows()
    {
        var lunch = NotificationRules.QuietUntil(new DateTimeOffset(2026, 11, 23, 17, 30, 0, TimeSpan.Zero), new TimeOnly(12, 0), new TimeOnly(13, 0), NewYork);
        Assert.Equal(new DateTimeOffset(2026, 11, 23, 18, 0, 0, TimeSpan.Zero), lunch);
        Assert.Null(NotificationRules.QuietUntil(new DateTimeOffset(2026, 11, 23, 19, 0, 0, TimeSpan.Zero), new TimeOnly(12, 0), new TimeOnly(13, 0), NewYork));
        Assert.Null(NotificationRules.QuietUntil(DateTimeOffset.UnixEpoch, new TimeOnly(8, 0), new TimeOnly(8, 0), Paris));
    }

    [Fact]
    public void QuietHoursEndingInADstGapEndAfterTheJump()
    {
        // 29 March 2026, Paris: 02:00 jumps to 03:00. A window ending at 02:30 ends at 03:00 local = 01:00 UTC.
        var until = NotificationRules.QuietUntil(new DateTimeOffset(2026, 3, 28, 23, 30, 0, TimeSpan.Zero), new TimeOnly(0, 0), new TimeOnly(2, 30), Paris);
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 0, 0, TimeSpan.Zero), until);
    }

    [Fact]
    public void ValidationNamesEachBadFieldWithAResourceKey()
    {
        var errors = NotificationRules.Validate(new NotificationSettingsInput
        {
            EmailEnabled = true,
            SmtpPort = 0,
            FromAddress = "nope",
            ChatWebhookUrl = "javascript:alert(1)",
            MaxAttempts = 21,
            BaseBackoffSeconds = 0,
            QuietHoursEnabled = true,
            QuietHoursStart = new TimeOnly(8, 0),
            QuietHoursEnd = new TimeOnly(8, 0),
            QuietHoursTimeZone = "Nowhere/Land",
        }, hasStoredWebhook: false);
        Assert.Equal(["baseBackoffSeconds", "chatWebhookUrl", "fromAddress", "maxAttempts", "quietHoursEnd", "quietHoursTimeZone", "smtpHost", "smtpPort"],
            errors.Keys.Order(StringComparer.Ordinal));
        Assert.All(errors.Values, v => Assert.StartsWith("Notifications.Error.", v[0], StringComparison.Ordinal));
        Assert.Empty(NotificationRules.Validate(new NotificationSettingsInput(), hasStoredWebhook: false));
        Assert.Empty(NotificationRules.Validate(new NotificationSettingsInput { ChatEnabled = true }, hasStoredWebhook: true));
        Assert.Contains("chatWebhookUrl", NotificationRules.Validate(new NotificationSettingsInput { ChatEnabled = true }, hasStoredWebhook: false).Keys);
    }

    [Fact]
    public void ChatPayloadIsSlackJsonWithEscapedTextAndAnAbsoluteLink()
    {
        var json = NotificationRules.ChatPayload("Lead <b> & co", "Body > text", "https://t.example.com/leads/1", "Rita");
        var text = JsonDocument.Parse(json).RootElement.GetProperty("text").GetString();
        Assert.Equal("Rita: *Lead &lt;b&gt; &amp; co*\nBody &gt; text\n<https://t.example.com/leads/1|Open in Tandem>", text);
    }

    [Theory]
    [InlineData("/leads/1", "https://t.example.com/", "https://t.example.com/leads/1")]
    [InlineData("/leads/1", null, null)]
    [InlineData(null, "https://t.example.com", null)]
    public void LinksBecomeAbsoluteOnlyWithAPublicBaseUrl(string? link, string? baseUrl, string? expected) =>
        Assert.Equal(expected, NotificationRules.AbsoluteLink(link, baseUrl));

    [Theory]
    [InlineData("/leads/1", true)]
    [InlineData(null, true)]
    [InlineData("//evil.example.com", false)]
    [InlineData("https://evil.example.com", false)]
    [InlineData("javascript:alert(1)", false)]
    public void OnlyRelativeLinksInsideTheAppAreAccepted(string? link, bool ok) =>
        Assert.Equal(ok, NotificationRules.IsSafeRelativeLink(link));

    [Fact]
    public void MessageIdAndDedupeKeysAreStable()
    {
        var id = Guid.Parse("0193a000-0000-7000-8000-000000000001");
        Assert.Equal("0193a000000070008000000000000001@acme.example", NotificationRules.MessageId(id, "tandem@acme.example"));
        Assert.Equal("0193a000000070008000000000000001@tandem.local", NotificationRules.MessageId(id, null));
        Assert.Equal("sla.breach:1:2:email", NotificationRules.ChannelDedupeKey("sla.breach:1:2", NotificationChannel.Email));
    }
}
