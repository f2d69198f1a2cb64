using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>Campaign results (sortable by ROI, the campaign page's figures and trend) and the shared revenue goals, on the demo company.</summary>
public sealed class ClosedLoopUiTests(PipelineAppFixture app) : BrowserTest<PipelineAppFixture>(app)
{
    private const string RoiOrder = """
        (dir) => {
            const v = [...document.querySelectorAll('[data-testid=roi]')].map(td => td.dataset.value).filter(x => x !== undefined && x !== '').map(Number);
            if (v.length < 2) return false;
            for (let i = 1; i < v.length; i++) if (dir === 'asc' ? v[i] < v[i - 1] : v[i] > v[i - 1]) return false;
            return true;
        }
        """;

    [Fact]
    public Task TheCampaignListSortsByRoiAndTheCampaignPageShowsItsResults() => RunAsync(async page =>
    {
        var (email, password) = App.Login("Marketing");
        await Ui.SignInAsync(page, email, password);
        await page.GotoAsync("/campaigns");
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("campaign-results")).ToBeVisibleAsync();
        await page.GetByTestId("period-year").ClickAsync();
        await Expect(page.GetByTestId("campaign-results").Locator("[data-testid=roi][data-value]").First).ToBeVisibleAsync();

        // ROI ascending, then descending (campaigns without spend have no ROI and are left out of the comparison).
        var sortRoi = page.GetByTestId("sort-roi");
        await sortRoi.ClickAsync();
        await page.WaitForFunctionAsync(RoiOrder, "asc");
        await sortRoi.ClickAsync();
        await page.WaitForFunctionAsync(RoiOrder, "desc");
        await page.EvaluateAsync("() => document.querySelectorAll('[data-testid=campaign-results] .mud-table-container').forEach(e => e.scrollLeft = 0)");
        await page.ScreenshotAsync(new() { Path = Path.Combine(App.RepoRoot, "docs", "screenshots", "campaign-results.png"), FullPage = true });

        // The best campaign's page shows the same ROI for the same period and model, and its weekly trend as a table.
        var best = page.GetByTestId("campaign-results").Locator("tbody tr").First;
        var roiText = (await best.GetByTestId("roi").InnerTextAsync()).Trim();
        var name = (await best.GetByTestId("campaign-link").InnerTextAsync()).Trim();
        await best.GetByTestId("campaign-link").ClickAsync();
        await Expect(page.GetByTestId("campaign-title")).ToHaveTextAsync(name);
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("result-roi")).ToContainTextAsync(roiText);
        await Expect(page.GetByTestId("campaign-trend")).ToBeVisibleAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(App.RepoRoot, "docs", "screenshots", "campaign-page.png"), FullPage = true });
        await page.GetByTestId("trend-table-toggle").ClickAsync();
        await Expect(page.GetByTestId("trend-table").Locator("tbody tr").First).ToBeVisibleAsync();
        Assert.True(await page.GetByTestId("trend-table").Locator("tbody tr").CountAsync() >= 4);
        var csv = await page.GetByTestId("trend-csv").GetAttributeAsync("href");
        Assert.StartsWith("data:text/csv", csv);
    });

    [Fact]
    public Task AMarketerCreatesAGoalSeesItsReverseFunnelAndAdoptsTheMqlCommitment() => RunAsync(async page =>
    {
        var (email, password) = App.Login("Marketing");
        await Ui.SignInAsync(page, email, password);
        await page.GetByTestId("nav").GetByText("Goals").ClickAsync();
        await Expect(page).ToHaveURLAsync(Url("/goals"));
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("goal-plan")).ToBeVisibleAsync();

        // A bad rate: the API's rule, shown next to the field; nothing saved.
        var goals = await page.GetByTestId("goal-row").CountAsync();
        await page.GetByTestId("goal-new").ClickAsync();
        var editor = page.GetByTestId("goal-editor");
        await Expect(editor).ToBeVisibleAsync();
        await page.GetByTestId("goal-amount").FillAsync("300000");
        await page.GetByTestId("goal-deal-size").FillAsync("10000");
        await page.GetByTestId("goal-opp-won").FillAsync("25");
        await page.GetByTestId("goal-sql-opp").FillAsync("50");
        await page.GetByTestId("goal-mql-sql").FillAsync("40");
        await page.GetByTestId("goal-lead-mql").FillAsync("150");
        await page.GetByTestId("goal-save").ClickAsync();
        await Expect(editor).ToContainTextAsync("A rate above 0 % and at most 100 %.");
        await Expect(page.GetByTestId("goal-row")).ToHaveCountAsync(goals);

        // 300,000 / 10,000 = 30 wins; / 25 % = 120 opportunities; / 50 % = 240 SQLs; / 40 % = 600 MQLs; / 20 % = 3,000 leads.
        await page.GetByTestId("goal-lead-mql").FillAsync("20");
        await page.GetByTestId("goal-save").ClickAsync();
        await Expect(editor).ToBeHiddenAsync();
        await Expect(page.GetByTestId("goal-row")).ToHaveCountAsync(goals + 1);
        var plan = page.GetByTestId("goal-plan");
        await Expect(plan.GetByTestId("plan-won")).ToContainTextAsync("30");
        await Expect(plan.GetByTestId("plan-opportunities")).ToContainTextAsync("120");
        await Expect(plan.GetByTestId("plan-sqls")).ToContainTextAsync("240");
        await Expect(plan.GetByTestId("plan-mqls")).ToContainTextAsync("600");
        await Expect(plan.GetByTestId("plan-leads")).ToContainTextAsync("3,000");
        await Expect(plan.GetByTestId("plan-mqls")).ToContainTextAsync("Overridden");
        await Expect(plan.GetByTestId("goal-committed")).ToContainTextAsync("not adopted");
        await Expect(plan.GetByTestId("goal-forecast")).ToContainTextAsync("Run-rate forecast");

        await plan.GetByTestId("goal-adopt").ClickAsync();
        await Expect(plan.GetByTestId("goal-committed")).ToContainTextAsync("600 MQLs");
        await Expect(plan.GetByTestId("goal-adopt")).ToBeDisabledAsync();
        await page.ScreenshotAsync(new() { Path = Path.Combine(App.RepoRoot, "docs", "screenshots", "goals.png"), FullPage = true });
    });

    [Fact]
    public Task ARepReadsTheGoalsButCannotChangeThem() => RunAsync(async page =>
    {
        var (email, password) = App.Login("Sales rep");
        await Ui.SignInAsync(page, email, password);
        await page.GotoAsync("/goals");
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("goal-plan")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("goal-plan")).ToContainTextAsync("Reverse funnel");
        await Expect(page.GetByTestId("goal-new")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("goal-edit")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("goal-adopt")).ToHaveCountAsync(0);
    });
}
