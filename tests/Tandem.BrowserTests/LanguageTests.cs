using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>The language choice (English / French) changes the labels and is remembered in a cookie.</summary>
public sealed class LanguageTests(SetUpAppFixture app) : BrowserTest<SetUpAppFixture>(app)
{
    [Fact]
    public Task SwitchingToFrenchShowsFrenchLabelsAndIsRemembered() => RunAsync(async page =>
    {
        await Ui.SignInAsync(page, SetUpAppFixture.AdminEmail, SetUpAppFixture.AdminPassword);
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");

        await page.GetByTestId("language-menu").ClickAsync();
        await page.GetByTestId("lang-fr").ClickAsync();

        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "fr");
        await Expect(page).ToHaveURLAsync(Url("/"));
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Tableau de bord");
        var nav = page.GetByTestId("nav");
        await Expect(nav).ToContainTextAsync("Tableau de bord");
        await Expect(nav).ToContainTextAsync("Campagnes");
        await Expect(nav).ToContainTextAsync("Paramètres");
        await Expect(page.GetByTestId("logout")).ToHaveTextAsync("Se déconnecter");
        await Ui.WaitForCircuitAsync(page);
        await ScreenshotAsync(page);

        // Remembered across a reload and on another page of the same browser.
        await page.ReloadAsync();
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Tableau de bord");
        var other = await page.Context.NewPageAsync();
        await other.GotoAsync("/campaigns");
        await Expect(other.GetByTestId("page-title")).ToHaveTextAsync("Campagnes");
        await Expect(other.GetByTestId("nav")).ToContainTextAsync("Tableau de bord");
        await other.CloseAsync();

        // And back to English.
        await Ui.WaitForCircuitAsync(page);
        await page.GetByTestId("language-menu").ClickAsync();
        await page.GetByTestId("lang-en").ClickAsync();
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", "en");
        await Expect(page.GetByTestId("page-title")).ToHaveTextAsync("Dashboard");
        await Expect(page.GetByTestId("nav")).ToContainTextAsync("Campaigns");
    });

    [Fact]
    public Task LanguageLinksOnTheSignInPageSwitchItsLabels() => RunAsync(async page =>
    {
        await page.GotoAsync("/login");
        await Expect(page.GetByTestId("login-submit")).ToHaveTextAsync("Sign in");

        await page.GetByTestId("lang-fr").ClickAsync();
        await Expect(page).ToHaveURLAsync(Url("/login"));
        await Expect(page.GetByTestId("login-submit")).ToHaveTextAsync("Se connecter");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Connexion");

        await page.GotoAsync("/setup");
        await Expect(page.Locator("h1")).ToHaveTextAsync("Configurer Tandem");

        await page.GetByTestId("lang-en").ClickAsync();
        await Expect(page.Locator("h1")).ToHaveTextAsync("Set up Tandem");
    });
}
