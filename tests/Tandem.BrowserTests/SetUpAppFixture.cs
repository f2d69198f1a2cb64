using Microsoft.Playwright;

namespace Tandem.BrowserTests;

/// <summary>A Tandem app already set up: the first admin exists (created through the /setup page).</summary>
public class SetUpAppFixture(BrowserHost browser) : TandemAppFixture(browser)
{
    public const string AdminName = "Ada Admin";
    public const string AdminEmail = "admin@example.test";
    public const string AdminPassword = "Sup3rSecretPass";

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        var page = await NewPageAsync();
        try
        {
            await Ui.SetUpAsync(page, AdminName, AdminEmail, AdminPassword);
            await Assertions.Expect(page).ToHaveURLAsync(BaseUrl + "/");
        }
        catch (Exception ex) when (ex is PlaywrightException or TimeoutException)
        {
            throw new InvalidOperationException($"Setting up the first admin failed: {ex.Message}\n{Output()}", ex);
        }
        finally
        {
            await page.Context.CloseAsync();
        }
    }
}
