using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>
/// A rep of the demo company adds a note (its script stays inert) and a task on one of their leads (an empty title is refused
/// inline), finds the task in My tasks with the demo's overdue one first, and marks it done in one click (decision 021c).
/// </summary>
public sealed class TasksAndNotesTests(InboxAppFixture app) : BrowserTest<InboxAppFixture>(app)
{
    private static ILocator Field(IPage page, string testId) =>
        page.Locator($"input[data-testid={testId}], [data-testid={testId}] input, textarea[data-testid={testId}], [data-testid={testId}] textarea").First;

    [Fact]
    public Task RepAddsANoteAndATaskOnALeadAndMarksTheTaskDoneInMyTasks() => RunAsync(async page =>
    {
        var (email, password) = App.Login("Sales rep");
        await Ui.SignInAsync(page, email, password);

        // One of the rep's own leads, from the inbox.
        await page.GotoAsync("/inbox");
        await Ui.WaitForCircuitAsync(page);
        var row = page.GetByTestId("inbox-row").First;
        await Expect(row).ToBeVisibleAsync();
        var href = (await row.Locator("a").First.GetAttributeAsync("href"))!;
        await page.GotoAsync(href);
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("work-composer")).ToBeVisibleAsync();

        // A note with markup: the bold stays, the script is dropped and never runs.
        var dialogs = 0;
        page.Dialog += (_, d) => { dialogs++; _ = d.DismissAsync(); };
        await Field(page, "note-body").FillAsync("Spoke with the <b>CFO</b> about the 40 seats.<script>alert('x')</script><img src=x onerror=alert(1)>");
        await page.GetByTestId("note-add").ClickAsync();
        var note = page.GetByTestId("timeline-note").Filter(new() { HasText = "about the 40 seats" });
        await Expect(note).ToHaveCountAsync(1);
        await Expect(note.Locator("b")).ToHaveTextAsync("CFO");
        await Expect(note.Locator("script, img")).ToHaveCountAsync(0);
        Assert.Equal(0, dialogs);

        // A task without a title is refused under the field; with one it joins the timeline (due tomorrow at 9:00 by default).
        await page.GetByTestId("task-add").ClickAsync();
        await Expect(page.GetByTestId("work-composer")).ToContainTextAsync("Give the task a title.");
        await Field(page, "task-title").FillAsync("Send the contract draft");
        await page.GetByTestId("task-add").ClickAsync();
        await Expect(page.GetByTestId("timeline-task").Filter(new() { HasText = "Send the contract draft" })).ToHaveCountAsync(1);
        await ScreenshotAsync(page);

        // My tasks: the demo's overdue task first, the new one later; one click marks it done and it leaves the list.
        await page.GetByTestId("nav-my-tasks").ClickAsync();
        await Expect(page).ToHaveURLAsync(Url("/tasks"));
        await Ui.WaitForCircuitAsync(page);
        var items = page.GetByTestId("my-task");
        await Expect(items.First).ToHaveAttributeAsync("data-bucket", "overdue");
        var mine = items.Filter(new() { HasText = "Send the contract draft" });
        await Expect(mine).ToHaveCountAsync(1);
        await Expect(mine).ToHaveAttributeAsync("data-bucket", "later");
        await Expect(items.Filter(new() { HasText = "Attempt" }).First).ToBeVisibleAsync();
        await ScreenshotAsync(page, "MyTasks");
        await mine.GetByTestId("my-task-toggle").ClickAsync();
        await Expect(mine).ToHaveCountAsync(0);
        await page.GetByTestId("my-tasks-show-done").ClickAsync();
        await Expect(items.Filter(new() { HasText = "Send the contract draft" })).ToHaveAttributeAsync("data-bucket", "done");
    });
}
