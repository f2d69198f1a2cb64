using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>An admin creates a user with a generated password; that user can sign in; deactivated, their open page closes.</summary>
public sealed class UserAdminTests(SetUpAppFixture app) : BrowserTest<SetUpAppFixture>(app)
{
    [Fact]
    public Task AdminCreatesUserWhoCanThenSignInWithTheGeneratedPassword() => RunAsync(async page =>
    {
        const string email = "mia.marketing@example.test";
        await Ui.SignInAsync(page, SetUpAppFixture.AdminEmail, SetUpAppFixture.AdminPassword);
        await page.GotoAsync("/settings/users");
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Users");
        await Ui.WaitForCircuitAsync(page);

        await page.GetByTestId("user-email").FillAsync(email);
        var role = page.GetByRole(AriaRole.Combobox, new() { Name = "Role" });
        await Expect(role).ToHaveTextAsync("Sales rep");
        await role.ClickAsync();
        await page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = "Marketing" }).ClickAsync();
        await Expect(page.Locator(".mud-popover-open")).ToHaveCountAsync(0);
        await Expect(role).ToHaveTextAsync("Marketing");
        await page.GetByTestId("user-create").ClickAsync();

        var generated = page.GetByTestId("generated-password");
        await Expect(generated).ToBeVisibleAsync();
        var password = (await generated.Locator("code").InnerTextAsync()).Trim();
        Assert.True(password.Length >= 10, $"Generated password '{password}' is too short.");
        var row = page.Locator("table tbody tr").Filter(new() { HasText = email });
        await Expect(row).ToHaveCountAsync(1);
        await Expect(row.Locator("td").Nth(2)).ToContainTextAsync("Marketing");
        await ScreenshotAsync(page);

        // The new user signs in from another browser context (own cookies).
        var other = await App.NewPageAsync();
        try
        {
            await Ui.SignInAsync(other, email, password);
            await Expect(other.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");

            // Not an admin: the users page is off limits.
            await other.GotoAsync("/settings/users");
            await Expect(other.GetByTestId("user-create")).ToHaveCountAsync(0);
            await Expect(other.Locator("body")).ToContainTextAsync("You do not have access to this page.");

            // Deactivated by the admin, the user's open page is sent to the sign-in form within seconds: the circuit
            // re-checks its session (decision 021a) and the reload closes it.
            await other.GotoAsync("/");
            await Expect(other.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");
            await Ui.WaitForCircuitAsync(other);
            await row.GetByRole(AriaRole.Button, new() { Name = "Deactivate" }).ClickAsync();
            await Expect(row).ToContainTextAsync("Deactivated");
            await Expect(other).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/login"), new() { Timeout = 20_000 });
        }
        finally
        {
            await other.Context.CloseAsync();
        }
    });
}
