using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Tandem.BrowserTests;

/// <summary>The app started with <c>--demo</c>: the demo company is seeded and the printed admin login is used.</summary>
public sealed partial class DemoAppFixture(BrowserHost browser) : TandemAppFixture(browser)
{
    protected override IReadOnlyList<string> ExtraArguments => ["--demo"];

    /// <summary>The admin login printed by the seeder (role, email, password).</summary>
    public (string Email, string Password) AdminLogin()
    {
        var match = AdminLine().Match(Output());
        if (!match.Success)
            throw new InvalidOperationException($"No admin login in the demo output:\n{Output()}");
        return (match.Groups[1].Value, match.Groups[2].Value);
    }

    [GeneratedRegex(@"^\s+Admin\s+(\S+@\S+)\s+(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex AdminLine();
}

public sealed class DemoTests(DemoAppFixture app) : BrowserTest<DemoAppFixture>(app)
{
    [Fact]
    public Task PrintedDemoLoginOpensADashboardWithData() => RunAsync(async page =>
    {
        var (email, password) = App.AdminLogin();
        await Ui.SignInAsync(page, email, password);
        await Assertions.Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");
        await Assertions.Expect(page.Locator(".mud-paper h5, .mud-paper .mud-typography-h5").First).Not.ToHaveTextAsync("0");
        await page.WaitForTimeoutAsync(300);
        await Ui.ScreenshotAsync(page, App.RepoRoot, "demo-dashboard");

        await page.GotoAsync("/leads");
        await Ui.WaitForCircuitAsync(page);
        await Assertions.Expect(page.Locator("tbody tr").First).ToBeVisibleAsync();
        await Ui.ScreenshotAsync(page, App.RepoRoot, "demo-leads");

        await page.Locator("[data-testid=leads-grid] tbody tr a").First.ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/leads/[0-9a-f-]{36}$"));
        await Ui.WaitForCircuitAsync(page);
        await page.WaitForTimeoutAsync(500);
        await Ui.ScreenshotAsync(page, App.RepoRoot, "demo-lead");

        await page.GotoAsync("/campaigns");
        await Ui.WaitForCircuitAsync(page);
        await Assertions.Expect(page.GetByText("Purchased list", new PageGetByTextOptions { Exact = false }).First).ToBeVisibleAsync();
        await Ui.ScreenshotAsync(page, App.RepoRoot, "demo-campaigns");
    });

    [Fact]
    public Task QualificationShowsTheDefinitionAndADraftCanBeEditedAndBacktested() => RunAsync(async page =>
    {
        var (email, password) = App.AdminLogin();
        await Ui.SignInAsync(page, email, password);
        await page.GotoAsync("/qualification");
        await Ui.WaitForCircuitAsync(page);
        await Assertions.Expect(page.GetByTestId("definition-text")).ToContainTextAsync("A lead becomes an MQL when");
        await Ui.ScreenshotAsync(page, App.RepoRoot, "qualification-definition");

        await page.GetByText("Buyer personas").ClickAsync();
        await Assertions.Expect(page.GetByTestId("persona-card").First).ToBeVisibleAsync();
        await Ui.ScreenshotAsync(page, App.RepoRoot, "qualification-personas");

        await page.GetByTestId("new-draft").ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/qualification/versions/[0-9a-f-]{36}$"));
        await Ui.WaitForCircuitAsync(page);
        await Assertions.Expect(page.GetByTestId("version-status")).ToHaveTextAsync("Draft");
        var engagement = page.GetByTestId("mql-min-engagement").First;
        await engagement.FillAsync("40");
        await page.GetByTestId("summary").FillAsync("Lower the engagement bar to 40");
        await page.GetByTestId("save-draft").ClickAsync();
        await Assertions.Expect(page.GetByTestId("version-message")).ToContainTextAsync("Draft saved.");
        await Ui.ScreenshotAsync(page, App.RepoRoot, "qualification-draft-editor");

        await page.GetByText("Backtest").First.ClickAsync();
        await page.GetByTestId("run-backtest").ClickAsync();
        await Assertions.Expect(page.GetByTestId("backtest-result")).ToBeVisibleAsync(new() { Timeout = 60_000 });
        await page.WaitForTimeoutAsync(300);
        await Ui.ScreenshotAsync(page, App.RepoRoot, "qualification-backtest");

        await page.GotoAsync("/leads");
        await Ui.WaitForCircuitAsync(page);
        await page.Locator("[data-testid=leads-grid] tbody tr a").First.ClickAsync();
        await Ui.WaitForCircuitAsync(page);
        await Assertions.Expect(page.GetByTestId("score-lines")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByTestId("mql-verdict")).ToContainTextAsync("MQL rule of version");
        await Ui.ScreenshotAsync(page, App.RepoRoot, "lead-score");
    });
}
