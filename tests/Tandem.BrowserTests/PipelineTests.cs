using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>The demo company, whose reps have open opportunities on the pipeline board.</summary>
public sealed class PipelineAppFixture(BrowserHost browser) : TandemAppFixture(browser)
{
    protected override IReadOnlyList<string> ExtraArguments => ["--demo"];

    public (string Email, string Password) Login(string role)
    {
        var match = new Regex($@"^\s+{Regex.Escape(role)}\s+(\S+@\S+)\s+(\S+)\s*$", RegexOptions.Multiline).Match(Output());
        if (!match.Success)
            throw new InvalidOperationException($"No {role} login in the demo output:\n{Output()}");
        return (match.Groups[1].Value, match.Groups[2].Value);
    }
}

/// <summary>A rep drags an opportunity to Won on the pipeline board, gives the reason, and its account is a customer.</summary>
public sealed class PipelineTests(PipelineAppFixture app) : BrowserTest<PipelineAppFixture>(app)
{
    [Fact]
    public Task RepDragsACardToWonAndTheAccountBecomesACustomer() => RunAsync(async page =>
    {
        var (email, password) = App.Login("Sales rep");
        await Ui.SignInAsync(page, email, password);
        await page.GotoAsync("/pipeline");
        await Ui.WaitForCircuitAsync(page);
        var open = page.Locator("[data-testid=zone-Qualification], [data-testid=zone-NeedsAnalysis], [data-testid=zone-Proposal], [data-testid=zone-Negotiation]")
            .GetByTestId("deal-card");
        await Expect(open.First).ToBeVisibleAsync();
        var card = open.First;
        var id = await card.GetAttributeAsync("data-deal");
        await ScreenshotAsync(page);

        // MudBlazor's drop zones follow HTML5 drag events sent to the server: press, move over the target twice (dragenter, dragover), release.
        var won = page.GetByTestId("zone-Won");
        await card.HoverAsync();
        await page.Mouse.DownAsync();
        await won.HoverAsync(new() { Position = new() { X = 40, Y = 40 } });
        await won.HoverAsync(new() { Position = new() { X = 60, Y = 60 } });
        await page.Mouse.UpAsync();
        var reason = page.GetByRole(AriaRole.Combobox, new() { Name = "Why it was won" });
        await Expect(reason).ToBeVisibleAsync();
        await reason.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = "Product fit" }).ClickAsync();
        await Expect(page.Locator(".mud-popover-open")).ToHaveCountAsync(0);
        await page.GetByTestId("move-confirm").ClickAsync();
        await Expect(page.GetByTestId("zone-Won").Locator($"[data-deal='{id}']")).ToHaveCountAsync(1);
        await page.ScreenshotAsync(new() { Path = Path.Combine(App.RepoRoot, "docs", "screenshots", "pipeline.png"), FullPage = true });

        await page.GotoAsync($"/opportunities/{id}");
        await Expect(page.GetByTestId("deal-stage")).ToHaveTextAsync("Won");
        await Expect(page.GetByTestId("deal-details")).ToContainTextAsync("Product fit");
        await page.GetByTestId("deal-account").ClickAsync();
        await Expect(page.GetByTestId("account-status")).ToHaveTextAsync("Customer");
        await Expect(page.GetByTestId("account-deals")).ToContainTextAsync("Won");
    });
}
