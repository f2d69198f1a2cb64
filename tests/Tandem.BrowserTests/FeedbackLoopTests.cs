using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>
/// The feedback loop in the demo company (issue #14): a rep rates and rejects an MQL in the inbox; the marketer who owns its campaign
/// sees it in the bell and in the lead-quality scorecard; the campaign the guard paused shows its banner.
/// </summary>
public sealed class FeedbackLoopTests(InboxAppFixture app) : BrowserTest<InboxAppFixture>(app)
{
    private static ILocator Input(IPage page, string testId) => page.Locator($"input[data-testid={testId}], [data-testid={testId}] input").First;

    /// <summary>The "dispositioned" figure of a campaign's scorecard row (0 when the campaign has no row yet).</summary>
    private static async Task<int> DispositionedAsync(IPage page, string campaign)
    {
        await page.GotoAsync("/reports/lead-quality");
        await Ui.WaitForCircuitAsync(page);
        await Expect(page.GetByTestId("quality-row").First).ToBeVisibleAsync();
        var row = page.GetByTestId("quality-row").Filter(new() { Has = page.Locator("td").First.Filter(new() { HasTextString = campaign }) });
        if (await row.CountAsync() == 0)
            return 0;
        return int.Parse((await row.First.Locator("td").Nth(4).InnerTextAsync()).Trim().Replace(",", "", StringComparison.Ordinal).Replace("\u202f", "", StringComparison.Ordinal),
            System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public Task ARepsVerdictReachesTheCampaignOwnersBellAndScorecardAndAPausedCampaignShowsItsBanner() => RunAsync(async page =>
    {
        // The rep picks an MQL of the inbox that came from a campaign (its first touch names one).
        var (repEmail, repPassword) = App.Login("Sales rep");
        await Ui.SignInAsync(page, repEmail, repPassword);
        await page.GotoAsync("/inbox");
        await Ui.WaitForCircuitAsync(page);
        var rows = page.GetByTestId("inbox-row");
        await Expect(rows.First).ToBeVisibleAsync();
        var hrefs = new List<string>();
        for (var i = 0; i < Math.Min(await rows.CountAsync(), 12); i++)
            hrefs.Add((await rows.Nth(i).Locator("a").First.GetAttributeAsync("href"))!);
        string? leadHref = null, leadName = null, campaign = null;
        foreach (var href in hrefs)
        {
            await page.GotoAsync(href);
            var link = page.Locator("dd a[href^='/campaigns/']").First;
            await Expect(page.Locator("h4").First).ToBeVisibleAsync();
            if (await link.CountAsync() == 0)
                continue;
            (leadHref, campaign) = (href, (await link.InnerTextAsync()).Trim());
            break;
        }
        Assert.True(leadHref is not null, "one of the rep's MQLs came from a campaign");

        // The marketer (who owns every demo campaign) notes the campaign's scorecard figure first.
        var (marketerEmail, marketerPassword) = App.Login("Marketing");
        var marketer = await App.NewPageAsync();
        try
        {
            await Ui.SignInAsync(marketer, marketerEmail, marketerPassword);
            var before = await DispositionedAsync(marketer, campaign!);

            // One click rates the lead 1/5 in the inbox, then the rep rejects it as a student.
            await page.GotoAsync("/inbox");
            await Ui.WaitForCircuitAsync(page);
            var row = page.GetByTestId("inbox-row").Filter(new() { Has = page.Locator($"a[href='{leadHref}']") });
            leadName = (await row.Locator("a").First.InnerTextAsync()).Trim();
            await row.GetByTestId("inbox-rate").Locator("label, .mud-rating-item").First.ClickAsync();
            await Expect(page.GetByTestId("inbox-message")).ToContainTextAsync("Lead rated 1/5.");
            await row.GetByTestId("inbox-reject").ClickAsync();
            var reason = page.GetByRole(AriaRole.Combobox, new() { Name = "Reason" });
            await reason.ClickAsync();
            await page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasTextRegex = new Regex("^Student") }).ClickAsync();
            await Expect(page.Locator(".mud-popover-open")).ToHaveCountAsync(0);
            await Input(page, "reject-text").FillAsync("Final-year student writing a thesis on cash forecasting");
            await page.GetByTestId("inbox-submit").ClickAsync();
            await Expect(page.GetByTestId("inbox-message")).ToContainTextAsync("Lead rejected");

            // The marketer's bell has the rejection (and the low rating), with the lead's name; opening it goes to the lead.
            await marketer.GotoAsync("/");
            await Ui.WaitForCircuitAsync(marketer);
            var items = marketer.GetByTestId("notification-item");
            // The dispatcher delivers in-app messages within a second or two; the bell is reopened until the message is there.
            var rejectedItem = items.Filter(new() { HasTextString = $"Lead rejected: {leadName}" });
            for (var attempt = 0; ; attempt++)
            {
                await marketer.GetByTestId("notification-button").ClickAsync();
                await Expect(items.First).ToBeVisibleAsync();
                if (await rejectedItem.CountAsync() > 0 || attempt >= 15)
                    break;
                await marketer.WaitForTimeoutAsync(2_000);
                await marketer.ReloadAsync();
                await Ui.WaitForCircuitAsync(marketer);
            }
            await Expect(rejectedItem).ToHaveCountAsync(1);
            await Expect(items.Filter(new() { HasTextString = $"Low rating: {leadName}" })).ToHaveCountAsync(1);
            await ScreenshotAsync(marketer, "FeedbackBell");
            await items.Filter(new() { HasTextString = $"Lead rejected: {leadName}" }).ClickAsync();
            await Expect(marketer).ToHaveURLAsync(new Regex(Regex.Escape(leadHref!) + "$"));

            // The scorecard counts the verdict.
            Assert.Equal(before + 1, await DispositionedAsync(marketer, campaign!));

            // The campaign the guard paused shows its banner with the figures and the rule that fired.
            await marketer.GotoAsync("/campaigns");
            await Ui.WaitForCircuitAsync(marketer);
            await marketer.GetByRole(AriaRole.Link, new() { Name = "Instagram Ads — Campus offer" }).ClickAsync();
            var banner = marketer.GetByTestId("guard-banner");
            await Expect(banner).ToContainTextAsync("Paused by the campaign guard");
            await Expect(banner).ToContainTextAsync(new Regex(@"\d+ %|\d+%"));
            await Expect(marketer.GetByTestId("verdict-row").First).ToBeVisibleAsync();
            await ScreenshotAsync(marketer, "PausedCampaign");
        }
        finally
        {
            await marketer.Context.CloseAsync();
        }
    });
}
