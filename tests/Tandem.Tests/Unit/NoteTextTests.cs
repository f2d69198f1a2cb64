using Tandem.Features.Work;

namespace Tandem.Tests.Unit;

/// <summary>The pure rules of notes and of "My tasks" (decision 021c).</summary>
public sealed class NoteTextTests
{
    private static readonly MentionCandidate Julie = new(Guid.CreateVersion7(), "Julie Bernard", true);
    private static readonly MentionCandidate JulieB = new(Guid.CreateVersion7(), "Julie", true);
    private static readonly MentionCandidate Gone = new(Guid.CreateVersion7(), "Hugo Petit", false);

    [Fact]
    public void PlainTextIsEncodedAndKeepsItsLineBreaks() =>
        Assert.Equal("a &lt; b &amp; c<br>second line", NoteText.ToSafeHtml("a < b & c\r\nsecond line"));

    [Theory]
    [InlineData("<script>alert(1)</script><b>bold</b>")]
    [InlineData("<img src=x onerror=alert(1)><b>bold</b>")]
    [InlineData("<b onclick=\"alert(1)\">bold</b><iframe src=\"https://evil.example\"></iframe>")]
    [InlineData("<b>bold</b><a href=\"javascript:alert(1)\">x</a><style>body{display:none}</style>")]
    [InlineData("<svg onload=alert(1)></svg><b>bold</b><form action=\"https://evil.example\"><input></form>")]
    public void MarkupIsSanitizedToInertTags(string input)
    {
        var html = NoteText.ToSafeHtml(input);
        Assert.Contains("<b>bold</b>", html, StringComparison.Ordinal);
        foreach (var bad in new[] { "<script", "onerror", "onclick", "onload", "javascript:", "<iframe", "<img", "<style", "<svg", "<form", "<input" })
            Assert.DoesNotContain(bad, html, StringComparison.OrdinalIgnoreCase);
        // Rendering sanitizes again and changes nothing already clean.
        Assert.Equal(html, NoteText.Render(html));
    }

    [Fact]
    public void LinksKeepHttpAndGetNoOpenerRel()
    {
        var html = NoteText.ToSafeHtml("see <a href=\"https://docs.example/x\" target=\"_blank\">docs</a>");
        Assert.Contains("href=\"https://docs.example/x\"", html, StringComparison.Ordinal);
        Assert.Contains("rel=\"noopener noreferrer nofollow\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("target", html, StringComparison.Ordinal);
    }

    [Fact]
    public void PlainTextOfHtmlKeepsLineBreaks() =>
        Assert.Equal("one\ntwo & three", NoteText.ToPlainText(NoteText.ToSafeHtml("one\ntwo & three")));

    [Fact]
    public void MentionNamesTheLongestMatchingPerson()
    {
        var found = NoteText.FindMentions("Hi @Julie Bernard, and @julie too.", [JulieB, Julie]);
        Assert.Equal([Julie.Id, JulieB.Id], found.Select(m => m.UserId));
    }

    [Fact]
    public void EmailAddressesAndLoneAtSignsAreNotMentions() =>
        Assert.Empty(NoteText.FindMentions("Write to julie@acme.example at 3 @ 4pm, or @ 5.", [Julie]));

    [Fact]
    public void UnknownAndDeactivatedMentionsAreReported()
    {
        var found = NoteText.FindMentions("@Nobody Here and @Hugo Petit", [Julie, Gone]);
        Assert.Equal(2, found.Count);
        Assert.Null(found[0].UserId);
        Assert.Equal("@Nobody", found[0].Written);
        Assert.Equal(Gone.Id, found[1].UserId);
        Assert.False(found[1].Active);
    }

    [Fact]
    public void MentionNeedsAWholeName() =>
        Assert.Null(NoteText.FindMentions("@JulieBernard", [JulieB])[0].UserId);

    [Fact]
    public void MyTasksAreOverdueFirstThenTodayThenLaterThenDone()
    {
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        var now = new DateTimeOffset(2026, 12, 8, 20, 0, 0, TimeSpan.Zero); // 21:00 in Paris
        MyTaskItem Item(string title, DateTimeOffset due, bool done = false) =>
            new(Guid.CreateVersion7(), MyTaskKind.Task, MyTasksOrder.Bucket(due, done, now, paris), title, due, null, null, null,
                done ? TaskItemStatus.Done : TaskItemStatus.Open, done ? now : null);
        var items = new[]
        {
            Item("later", now.AddHours(3)), // past midnight in Paris: tomorrow
            Item("today", now.AddHours(2)),
            Item("done", now.AddHours(-5), done: true),
            Item("overdue, older", now.AddDays(-2)),
            Item("today, earlier", now.AddMinutes(30)),
            Item("overdue", now.AddMinutes(-1)),
        };
        var sorted = MyTasksOrder.Sort(items);
        Assert.Equal(["overdue, older", "overdue", "today, earlier", "today", "later", "done"], sorted.Select(i => i.Title));
        Assert.Equal([TaskBucket.Overdue, TaskBucket.Overdue, TaskBucket.Today, TaskBucket.Today, TaskBucket.Later, TaskBucket.Done], sorted.Select(i => i.Bucket));
    }
}
