using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>First run: every page leads to /setup, which creates the admin and signs them in.</summary>
public sealed class SetupTests(TandemAppFixture app) : BrowserTest<TandemAppFixture>(app)
{
    [Fact]
    public Task FreshAppSetupCreatesAdminAndShowsShell() => RunAsync(async page =>
    {
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(Url("/setup"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Set up Tandem");

        await Ui.FillSetupAsync(page, "Ada Admin", "ada@example.test", "Sup3rSecretPass", "Sup3rSecretPass");

        await Expect(page).ToHaveURLAsync(Url("/"));
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("nav").Locator("a")).ToHaveTextAsync(
            ["Dashboard", "Leads", "Imports", "Inbox", "My tasks", "Speed to lead", "Pipeline", "Campaigns", "Goals", "Qualification", "Reports", "SLA report", "Weekly smarketing report", "Lead quality", "Settings"]);
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");
        await Expect(page.GetByTestId("current-user")).ToHaveTextAsync("ada@example.test");
        await Expect(page.GetByTestId("logout")).ToBeVisibleAsync();
        await Expect(page.Locator("header.mud-appbar")).ToContainTextAsync("Tandem");
        await Expect(page).ToHaveTitleAsync("Dashboard · Tandem");
        await ScreenshotAsync(page);

        // Setup happens once: the form is gone for good.
        await page.GotoAsync("/setup");
        await Expect(page.GetByTestId("setup-done")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("setup-submit")).ToHaveCountAsync(0);
    });
}
