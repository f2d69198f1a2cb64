using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>Signing out and back in through the static login form.</summary>
public sealed partial class SignInTests(SetUpAppFixture app) : BrowserTest<SetUpAppFixture>(app)
{
    [Fact]
    public Task SignOutThenWrongPasswordShowsErrorAndRightPasswordSignsIn() => RunAsync(async page =>
    {
        await Ui.SignInAsync(page, SetUpAppFixture.AdminEmail, SetUpAppFixture.AdminPassword);

        await page.GetByTestId("logout").ClickAsync();
        await Expect(page).ToHaveURLAsync(Url("/login"));
        await Expect(page.GetByTestId("login-submit")).ToBeVisibleAsync();

        // Signed out: an app page sends back to the sign-in form, remembering where we were going.
        await page.GotoAsync("/leads");
        await Expect(page).ToHaveURLAsync(LoginForLeads());

        await Ui.SubmitLoginAsync(page, SetUpAppFixture.AdminEmail, "Wr0ngPassword!");
        await Expect(page.GetByTestId("login-error")).ToHaveTextAsync("Sign-in failed: check your email and password. If it keeps failing, ask an admin.");
        await Expect(page).ToHaveURLAsync(LoginForLeads());
        await Expect(page.GetByTestId("current-user")).ToHaveCountAsync(0);

        await Ui.SubmitLoginAsync(page, SetUpAppFixture.AdminEmail, SetUpAppFixture.AdminPassword);
        await Expect(page).ToHaveURLAsync(Url("/leads"));
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Leads");
        await Expect(page.GetByTestId("current-user")).ToHaveTextAsync(SetUpAppFixture.AdminEmail);

        await page.GotoAsync("/");
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");
    });

    [GeneratedRegex(@"/login\?returnUrl=%2Fleads$", RegexOptions.IgnoreCase)]
    private static partial Regex LoginForLeads();
}
