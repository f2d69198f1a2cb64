using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>Both teams read the same SLA: the report with its monthly statement and exports, the dashboard gauges and their table, the weekly report.</summary>
public sealed class SlaUiTests(PipelineAppFixture app) : BrowserTest<PipelineAppFixture>(app)
{
    [Fact]
    public Task AMarketerReadsTheSlaReportTheStatementTheGaugesAndTheWeeklyReport() => RunAsync(async page =>
    {
        var (email, password) = App.Login("Marketing");
        await Ui.SignInAsync(page, email, password);

        await page.GotoAsync("/");
        await Ui.WaitForCircuitAsync(page);
        var gauges = page.GetByTestId("sla-gauges");
        await Expect(gauges.GetByTestId("sla-gauge-marketing")).ToContainTextAsync("MQLs committed");
        await Expect(gauges.GetByTestId("sla-gauge-sales")).ToContainTextAsync("first-touched within SLA");
        await gauges.GetByTestId("sla-table-toggle").ClickAsync();
        await Expect(gauges.GetByTestId("sla-gauge-table")).ToContainTextAsync("Median speed to lead");

        await page.GotoAsync("/reports");
        await page.GetByTestId("reports-sla").ClickAsync();
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("SLA report");
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("sla-weeks")).ToContainTextAsync("MQLs delivered");
        var statement = page.GetByTestId("sla-statement-table");
        await Expect(statement).ToContainTextAsync("First touch within SLA");
        await Expect(statement).Not.ToContainTextAsync("NoTarget");
        await ScreenshotAsync(page);
        var csv = await page.GetByTestId("sla-csv").GetAttributeAsync("href");
        var response = await page.APIRequest.GetAsync(csv!);
        Assert.Equal(200, response.Status);
        Assert.Contains("Team,Commitment,Actual,Target,Verdict", await response.TextAsync(), StringComparison.Ordinal);
        var print = await page.GetByTestId("sla-print").GetAttributeAsync("href");
        var html = await page.APIRequest.GetAsync(print!);
        Assert.Contains("Monthly SLA statement", await html.TextAsync(), StringComparison.Ordinal);

        await page.GotoAsync("/reports/weekly");
        await Ui.WaitForCircuitAsync(page);
        var range = await page.GetByTestId("week-range").InnerTextAsync();
        await page.GetByTestId("week-previous").ClickAsync();
        await Expect(page.GetByTestId("week-range")).Not.ToHaveTextAsync(range);
        await Expect(page.GetByTestId("weekly-sla")).ToContainTextAsync("Acceptance rate");
        await Expect(page.GetByTestId("weekly-wins")).ToBeVisibleAsync();
    });
}
