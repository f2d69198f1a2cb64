using System.Text;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Tandem.BrowserTests;

/// <summary>Marketing's capture screens in a real browser: a web form with its snippet and test submission, and a CSV import.</summary>
public sealed class CaptureUiTests(SetUpAppFixture app) : BrowserTest<SetUpAppFixture>(app)
{
    [Fact]
    public Task AdminCreatesAFormSeesItsSnippetAndSendsATestSubmission() => RunAsync(async page =>
    {
        await Ui.SignInAsync(page, SetUpAppFixture.AdminEmail, SetUpAppFixture.AdminPassword);
        await page.GotoAsync("/settings/forms");
        await Ui.WaitForCircuitAsync(page);
        await page.GetByTestId("form-name").FillAsync("Newsletter signup");
        await page.GetByTestId("form-save").ClickAsync();
        await Expect(page.GetByTestId("form-snippet")).ToContainTextAsync("/f/");
        await page.GetByTestId("form-test-submit").ClickAsync();
        await Expect(page.GetByTestId("form-test-result")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("forms-table")).ToContainTextAsync("Newsletter signup");
        await ScreenshotAsync(page);
    });

    [Fact]
    public Task ACsvFileIsPreviewedMappedAndImportedWithProgress() => RunAsync(async page =>
    {
        await Ui.SignInAsync(page, SetUpAppFixture.AdminEmail, SetUpAppFixture.AdminPassword);
        await page.GotoAsync("/imports");
        await Ui.WaitForCircuitAsync(page);
        var csv = "First Name;Last Name;Email Address;Company;Title\r\nAda;Lovelace;ada@engines.example;Engines Ltd;CFO\r\n"
            + "Alan;Turing;alan@bletchley.example;\"Bletchley; Park\";Head of finance\r\nGrace;Hopper;not-an-email;Navy;Admiral\r\n";
        var chooser = await page.RunAndWaitForFileChooserAsync(() => page.GetByTestId("import-upload").ClickAsync());
        await chooser.SetFilesAsync(new FilePayload { Name = "hubspot-export.csv", MimeType = "text/csv", Buffer = Encoding.UTF8.GetBytes(csv) });
        var preview = page.GetByTestId("import-preview");
        await Expect(preview).ToContainTextAsync("Bletchley; Park");
        await ScreenshotAsync(page, "import-preview");
        await page.GetByTestId("import-start").ClickAsync();
        var progress = page.GetByTestId("import-progress");
        await Expect(progress).ToContainTextAsync("Completed", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("import-error-report")).ToBeVisibleAsync();
        await ScreenshotAsync(page, "import-done");
    });
}
