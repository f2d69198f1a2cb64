using Microsoft.Playwright;

namespace Tandem.BrowserTests;

/// <summary>Page helpers shared by the browser tests.</summary>
public static class Ui
{
    /// <summary>
    /// Blazor Server drops clicks sent before the SignalR circuit is up. MudPopoverProvider (in the main layout)
    /// initialises MudBlazor's popover helper from OnAfterRenderAsync, which only runs once the circuit is connected
    /// and the layout has rendered interactively.
    /// </summary>
    public static Task WaitForCircuitAsync(IPage page) =>
        page.WaitForFunctionAsync("() => !!(window.Blazor && window.mudpopoverHelper && window.mudpopoverHelper.mainContainerClass)");

    /// <summary>Fills and submits the static /setup form (the page must be open).</summary>
    public static async Task FillSetupAsync(IPage page, string name, string email, string password, string confirm)
    {
        await page.FillAsync("#name", name);
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", password);
        await page.FillAsync("#confirm", confirm);
        await page.ClickAsync("[data-testid=setup-submit]");
        await page.WaitForLoadStateAsync(LoadState.Load);
    }

    /// <summary>Creates the first admin through /setup; the browser is then signed in on the dashboard.</summary>
    public static async Task SetUpAsync(IPage page, string name, string email, string password)
    {
        await page.GotoAsync("/setup");
        await FillSetupAsync(page, name, email, password, password);
    }

    /// <summary>Submits the static /login form (the page must be open).</summary>
    public static async Task SubmitLoginAsync(IPage page, string email, string password)
    {
        await page.FillAsync("#email", email);
        await page.FillAsync("#password", password);
        // The sign-in lands on the Dashboard, whose first server render over the demo company (KPIs, SLA gauges, attribution) can
        // take longer than the default timeout on a loaded 2-core machine.
        await page.ClickAsync("[data-testid=login-submit]", new PageClickOptions { Timeout = 60_000 });
        await page.WaitForLoadStateAsync(LoadState.Load, new PageWaitForLoadStateOptions { Timeout = 60_000 });
    }

    /// <summary>Opens /login, signs in and waits for the interactive dashboard.</summary>
    public static async Task SignInAsync(IPage page, string email, string password)
    {
        await page.GotoAsync("/login");
        await SubmitLoginAsync(page, email, password);
        await Assertions.Expect(page.GetByTestId("current-user")).ToHaveTextAsync(email);
        await WaitForCircuitAsync(page);
    }

    /// <summary>Saves a full-page screenshot to artifacts/screenshots/&lt;name&gt;.png and returns its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string repoRoot, string name)
    {
        var path = Path.Combine(repoRoot, "artifacts", "screenshots", name + ".png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        return path;
    }
}
