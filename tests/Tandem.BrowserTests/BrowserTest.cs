using System.Runtime.CompilerServices;
using Microsoft.Playwright;

namespace Tandem.BrowserTests;

/// <summary>Base class: one app (and browser) per test class, a fresh browser context per test.</summary>
public abstract class BrowserTest<TFixture>(TFixture app) : IClassFixture<TFixture>
    where TFixture : TandemAppFixture
{
    protected TFixture App { get; } = app;

    /// <summary>
    /// Runs a test body on a fresh page; on failure saves artifacts/screenshots/&lt;test&gt;.failure.png and writes
    /// the app's recent output to the test output before rethrowing.
    /// </summary>
    protected async Task RunAsync(Func<IPage, Task> body, [CallerMemberName] string testName = "")
    {
        var screenshots = Directory.CreateDirectory(Path.Combine(App.RepoRoot, "artifacts", "screenshots")).FullName;
        File.Delete(Path.Combine(screenshots, testName + ".failure.png"));
        var page = await App.NewPageAsync();
        try
        {
            await body(page);
        }
        catch (Exception)
        {
            var output = TestContext.Current.TestOutputHelper;
            try
            {
                var shot = await Ui.ScreenshotAsync(page, App.RepoRoot, testName + ".failure");
                output?.WriteLine($"Failure screenshot: {shot} (page {page.Url})");
            }
            catch (PlaywrightException ex)
            {
                output?.WriteLine($"No failure screenshot: {ex.Message}");
            }
            output?.WriteLine("Recent app output:\n" + App.Output());
            throw;
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }

    protected Task<string> ScreenshotAsync(IPage page, [CallerMemberName] string testName = "") =>
        Ui.ScreenshotAsync(page, App.RepoRoot, testName);

    protected string Url(string path) => App.BaseUrl + path;
}
