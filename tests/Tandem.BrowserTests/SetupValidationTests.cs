using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>The setup form rejects bad input inline and creates nothing until a valid submit.</summary>
public sealed class SetupValidationTests(TandemAppFixture app) : BrowserTest<TandemAppFixture>(app)
{
    [Fact]
    public Task SetupWithBadInputShowsInlineMessagesAndCreatesNothing() => RunAsync(async page =>
    {
        await page.GotoAsync("/setup");
        var errors = page.Locator(".field-error");

        // Everything empty.
        await page.ClickAsync("[data-testid=setup-submit]");
        await page.WaitForLoadStateAsync(LoadState.Load);
        await Expect(page).ToHaveURLAsync(Url("/setup"));
        await Expect(errors).ToContainTextAsync(["Enter your name.", "Enter your email address.", "Choose a password."]);

        // Bad email, short password, mismatching confirmation.
        await Ui.FillSetupAsync(page, "Ada Admin", "not-an-email", "short", "different");
        await Expect(page).ToHaveURLAsync(Url("/setup"));
        await Expect(errors).ToContainTextAsync(["Enter a valid email address.", "Use at least 10 characters.", "The passwords do not match."]);
        await Expect(errors).Not.ToContainTextAsync(["Enter your name."]);

        // Long enough but rejected by the identity password rules (no digit, no upper case): nothing may be left behind.
        await Ui.FillSetupAsync(page, "Ada Admin", "ada@example.test", "onlylowercaseletters", "onlylowercaseletters");
        await Expect(page).ToHaveURLAsync(Url("/setup"));
        await Expect(errors.First).ToBeVisibleAsync();
        await Expect(page.GetByTestId("setup-done")).ToHaveCountAsync(0);

        // Still not set up: the dashboard keeps redirecting to the setup form.
        await page.GotoAsync("/");
        await Expect(page).ToHaveURLAsync(Url("/setup"));
        await Expect(page.GetByTestId("setup-submit")).ToBeVisibleAsync();
        await Expect(errors).ToHaveCountAsync(0);

        // A valid submit now works.
        await Ui.FillSetupAsync(page, "Ada Admin", "ada@example.test", "Sup3rSecretPass", "Sup3rSecretPass");
        await Expect(page).ToHaveURLAsync(Url("/"));
        await Expect(page.GetByTestId("current-user")).ToHaveTextAsync("ada@example.test");
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");
    });
}
