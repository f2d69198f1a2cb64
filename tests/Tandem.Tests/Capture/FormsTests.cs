using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;
using Tandem.Tests.Platform;

namespace Tandem.Tests.Capture;

/// <summary>Web forms end to end: management API, the public /f/{key} endpoint with its traps, limits, CORS and answers.</summary>
public abstract class FormsTests(DatabaseProvider provider)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static JsonSerializerOptions JsonOptions => TandemApp.ApiJson;

    private static async Task<(TandemApp App, HttpClient Admin)> StartAsync(DatabaseProvider provider, IDictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?>
        {
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerIp"] = "1000",
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerForm"] = "1000",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            all[k] = v;
        var app = await TandemApp.CreateAsync(provider, all);
        return (app, app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read)));
    }

    private static async Task<FormDto> CreateFormAsync(HttpClient admin, object? overrides = null)
    {
        var body = new Dictionary<string, object?>
        {
            ["name"] = "Demo request",
            ["fields"] = new object[]
            {
                new { name = "email", label = "Work email", required = true, type = "Email" },
                new { name = "firstName", label = "First name" },
                new { name = "company", label = "Company" },
            },
            ["consentText"] = "I agree to receive emails from Acme.",
            ["allowedOrigins"] = new[] { "https://www.acme.example" },
            ["minFillSeconds"] = 3,
        };
        if (overrides is not null)
            foreach (var p in overrides.GetType().GetProperties())
                body[p.Name] = p.GetValue(overrides);
        var response = await admin.PostAsJsonAsync("/api/v1/forms", body, Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<FormDto>(JsonOptions, Ct))!;
    }

    private static FormUrlEncodedContent Form(params (string Key, string Value)[] fields) =>
        new(fields.Select(f => new KeyValuePair<string, string>(f.Key, f.Value)));

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static Task<int> CountAsync<T>(TandemApp app) where T : class =>
        app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Set<T>().CountAsync());

    [Fact]
    public async Task UrlEncodedMultipartAndJsonSubmissionsCreateAndMergeOneLeadWithUtmAndConsent()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var form = await CreateFormAsync(admin);
        var client = app.CreateApiClient();

        var urlencoded = await client.PostAsync($"/f/{form.Key}", Form(("email", "Nina.Rossi@Acme.example"), ("firstName", "Nina"),
            ("utm_source", "google"), ("utm_medium", "cpc"), ("utm_campaign", "brand"), ("referrer", "https://www.google.com/"),
            ("landing_page", "https://www.acme.example/demo?utm_source=google"), ("consent", "true"), ("website", ""), ("_ts", "4200"), ("favourite", "blue")), Ct);
        Assert.Equal(HttpStatusCode.OK, urlencoded.StatusCode);
        Assert.Contains("<h1>", await urlencoded.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);

        using var multipart = new MultipartFormDataContent
        {
            { new StringContent("nina.rossi@acme.example"), "email" },
            { new StringContent("Acme"), "company" },
            { new StringContent("newsletter"), "utmSource" },
            { new StringContent("email"), "utmMedium" },
            { new StringContent("5000"), "_ts" },
        };
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/f/{form.Key}", multipart, Ct)).StatusCode);

        var json = await client.PostAsync($"/f/{form.Key}", Json("""{"email":"nina.rossi@acme.example","utm_term":"crm","utmContent":"banner","_ts":6000}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.True((await json.Content.ReadFromJsonAsync<JsonElement>(JsonOptions, Ct)).GetProperty("ok").GetBoolean());

        var lead = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.AsNoTracking().SingleAsync());
        Assert.Equal(("nina.rossi@acme.example", "Nina", "Acme"), (lead.Email, lead.FirstName, lead.Company));
        Assert.True(lead.EmailOptIn);
        Assert.Equal(Channel.PaidSearch, lead.FirstChannel);
        var activities = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Activities.AsNoTracking().OrderBy(a => a.CreatedAt).ThenBy(a => a.Id).ToListAsync());
        Assert.Equal(3, activities.Count);
        Assert.All(activities, a => Assert.Equal(ActivityType.FormSubmission, a.Type));
        Assert.All(activities, a => Assert.Equal("form:" + form.Key, a.Source));
        Assert.Equal(("google", "cpc", "brand"), (activities[0].UtmSource, activities[0].UtmMedium, activities[0].UtmCampaign));
        Assert.Equal(("https://www.google.com/", "https://www.acme.example/demo?utm_source=google"), (activities[0].Referrer, activities[0].Url));
        Assert.Contains("\"favourite\":\"blue\"", activities[0].Properties, StringComparison.Ordinal);
        Assert.Equal(("newsletter", "email"), (activities[1].UtmSource, activities[1].UtmMedium));
        Assert.Equal(("crm", "banner"), (activities[2].UtmTerm, activities[2].UtmContent));
    }

    [Fact]
    public async Task HoneypotAndTooFastSubmissionsStoreNothingButAnswerLikeSuccess()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var form = await CreateFormAsync(admin, new { redirectUrl = "https://www.acme.example/thanks" });
        var client = app.CreateApiClient();

        var honeypot = await client.PostAsync($"/f/{form.Key}", Form(("email", "bot@spam.example"), ("website", "http://spam.example"), ("_ts", "9000")), Ct);
        var tooFast = await client.PostAsync($"/f/{form.Key}", Form(("email", "bot@spam.example"), ("_ts", "400")), Ct);
        var noTime = await client.PostAsync($"/f/{form.Key}", Form(("email", "bot@spam.example")), Ct);
        var human = await client.PostAsync($"/f/{form.Key}", Form(("email", "human@acme.example"), ("_ts", "8000")), Ct);
        foreach (var r in new[] { honeypot, tooFast, noTime, human })
        {
            Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
            Assert.Equal("https://www.acme.example/thanks", r.Headers.Location?.OriginalString);
        }
        var jsonBot = await client.PostAsync($"/f/{form.Key}", Json("""{"email":"bot@spam.example","website":"x","_ts":"9000"}"""), Ct);
        Assert.Equal(HttpStatusCode.OK, jsonBot.StatusCode);
        Assert.True((await jsonBot.Content.ReadFromJsonAsync<JsonElement>(JsonOptions, Ct)).GetProperty("ok").GetBoolean());

        var emails = await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.Select(l => l.Email).ToListAsync());
        Assert.Equal(["human@acme.example"], emails);
        Assert.Equal(1, await CountAsync<Activity>(app));
    }

    [Fact]
    public async Task SubmissionsAreRateLimitedPerIpWith429AndRetryAfter()
    {
        var (app, admin) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:RateLimits:FormSubmissionsPerMinutePerIp"] = "3" });
        await using var _ = app;
        var form = await CreateFormAsync(admin, new { minFillSeconds = 0 });
        var client = app.CreateApiClient();
        for (var i = 0; i < 3; i++)
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/f/{form.Key}", Json($$"""{"email":"p{{i}}@acme.example"}"""), Ct)).StatusCode);

        var limited = await client.PostAsync($"/f/{form.Key}", Json("""{"email":"p9@acme.example"}"""), Ct);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(3, await CountAsync<Lead>(app));
        // The API's own limiter is separate: the admin key still works.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/api/v1/forms", Ct)).StatusCode);
    }

    [Fact]
    public async Task SubmissionsAreRateLimitedPerForm()
    {
        var (app, admin) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:RateLimits:FormSubmissionsPerMinutePerForm"] = "2" });
        await using var _ = app;
        var busy = await CreateFormAsync(admin, new { minFillSeconds = 0 });
        var other = await CreateFormAsync(admin, new { minFillSeconds = 0 });
        var client = app.CreateApiClient();
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/f/{busy.Key}", Json("""{"email":"a@acme.example"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/f/{busy.Key}", Json("""{"email":"b@acme.example"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, (await client.PostAsync($"/f/{busy.Key}", Json("""{"email":"c@acme.example"}"""), Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/f/{other.Key}", Json("""{"email":"d@acme.example"}"""), Ct)).StatusCode);
    }

    [Fact]
    public async Task OnlyAllowedOriginsPassCorsPreflightAndPost()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var form = await CreateFormAsync(admin, new { minFillSeconds = 0 });
        var client = app.CreateApiClient();

        using var preflight = new HttpRequestMessage(HttpMethod.Options, $"/f/{form.Key}");
        preflight.Headers.Add("Origin", "https://www.acme.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        var ok = await client.SendAsync(preflight, Ct);
        Assert.Equal(HttpStatusCode.NoContent, ok.StatusCode);
        Assert.Equal("https://www.acme.example", ok.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", ok.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);

        using var badPreflight = new HttpRequestMessage(HttpMethod.Options, $"/f/{form.Key}");
        badPreflight.Headers.Add("Origin", "https://evil.example");
        badPreflight.Headers.Add("Access-Control-Request-Method", "POST");
        var refused = await client.SendAsync(badPreflight, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));

        using var post = new HttpRequestMessage(HttpMethod.Post, $"/f/{form.Key}") { Content = Json("""{"email":"cors@acme.example"}""") };
        post.Headers.Add("Origin", "https://www.acme.example");
        var accepted = await client.SendAsync(post, Ct);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal("https://www.acme.example", accepted.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var evil = new HttpRequestMessage(HttpMethod.Post, $"/f/{form.Key}") { Content = Json("""{"email":"evil@acme.example"}""") };
        evil.Headers.Add("Origin", "https://evil.example");
        var forbidden = await client.SendAsync(evil, Ct);
        Assert.Equal(HttpStatusCode.Forbidden, forbidden.StatusCode);
        Assert.Equal("application/problem+json", forbidden.Content.Headers.ContentType?.MediaType);
        Assert.Equal(["cors@acme.example"], await app.WithServiceAsync(sp => sp.GetRequiredService<TandemDb>().Leads.Select(l => l.Email).ToListAsync()));
    }

    [Fact]
    public async Task TooLargeUnsupportedUnknownAndInactiveAreRefusedWithProblems()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var form = await CreateFormAsync(admin, new { minFillSeconds = 0 });
        var client = app.CreateApiClient();

        var big = await client.PostAsync($"/f/{form.Key}", Form(("email", "big@acme.example"), ("notes", new string('x', 70 * 1024))), Ct);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
        var xml = await client.PostAsync($"/f/{form.Key}", new StringContent("<lead/>", Encoding.UTF8, "application/xml"), Ct);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, xml.StatusCode);
        Assert.Equal("application/problem+json", xml.Content.Headers.ContentType?.MediaType);
        using var withFile = new MultipartFormDataContent
        {
            { new StringContent("file@acme.example"), "email" },
            { new ByteArrayContent([1, 2, 3]), "cv", "cv.pdf" },
        };
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.PostAsync($"/f/{form.Key}", withFile, Ct)).StatusCode);
        var unknown = await client.PostAsync("/f/nope", Json("""{"email":"x@acme.example"}"""), Ct);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/v1/forms/{form.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/f/{form.Key}", Json("""{"email":"x@acme.example"}"""), Ct)).StatusCode);
        Assert.Equal(0, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task InvalidSubmissionsGetProblemDetailsOrAnEncodedHtmlPage()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        var form = await CreateFormAsync(admin, new { minFillSeconds = 0 });
        var client = app.CreateApiClient();

        var json = await client.PostAsync($"/f/{form.Key}", Json("""{"firstName":"No email"}"""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
        var problem = await json.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct);
        Assert.Contains("email", problem!.Errors!.Keys);
        var notObject = await client.PostAsync($"/f/{form.Key}", Json("""["x"]"""), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, notObject.StatusCode);

        var browser = await client.PostAsync($"/f/{form.Key}", Form(("email", "<script>alert(1)</script>"), ("firstName", "Eve")), Ct);
        Assert.Equal(HttpStatusCode.BadRequest, browser.StatusCode);
        Assert.Equal("text/html", browser.Content.Headers.ContentType?.MediaType);
        var html = await browser.Content.ReadAsStringAsync(Ct);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("Work email", html, StringComparison.Ordinal);
        Assert.Contains("<a href=", html, StringComparison.Ordinal);

        using var fetch = new HttpRequestMessage(HttpMethod.Post, $"/f/{form.Key}") { Content = Form(("firstName", "Eve")) };
        fetch.Headers.Accept.ParseAdd("application/json");
        var fetched = await client.SendAsync(fetch, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, fetched.StatusCode);
        Assert.Equal("application/problem+json", fetched.Content.Headers.ContentType?.MediaType);
        Assert.Equal(0, await CountAsync<Lead>(app));
    }

    [Fact]
    public async Task SnippetPointsAtThePublicEndpointAndTestSubmitUsesTheRealPath()
    {
        var (app, admin) = await StartAsync(provider, new Dictionary<string, string?> { ["Tandem:PublicBaseUrl"] = "https://tandem.acme.example/" });
        await using var _ = app;
        var form = await CreateFormAsync(admin);
        var snippet = await admin.GetFromJsonAsync<FormSnippetDto>($"/api/v1/forms/{form.Id}/snippet", JsonOptions, Ct);
        Assert.Equal($"https://tandem.acme.example/f/{form.Key}", snippet!.ActionUrl);
        Assert.Contains($"action=\"https://tandem.acme.example/f/{form.Key}\"", snippet.Html, StringComparison.Ordinal);
        Assert.Contains("name=\"website\"", snippet.Html, StringComparison.Ordinal);
        Assert.Contains("I agree to receive emails from Acme.", snippet.Html, StringComparison.Ordinal);

        var result = await app.WithServiceAsync(async sp =>
        {
            var forms = sp.GetRequiredService<FormService>();
            var entity = (await forms.FindByKeyAsync(form.Key, Ct))!;
            return await forms.SubmitAsync(entity, [new("email", "test-submit@acme.example")], checkBots: false, Ct);
        });
        Assert.Equal(SubmissionVerdict.Accepted, result.Verdict);
        Assert.NotNull(result.LeadId);
    }

    [Fact]
    public async Task ManagementApiValidatesEachFieldAndNeedsTheRightScope()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;

        var bad = await admin.PostAsJsonAsync("/api/v1/forms", new
        {
            name = "",
            fields = new object[] { new { name = "email", label = "Email" }, new { name = "email", label = "Email 2" }, new { name = "shoeSize", label = "Shoe" } },
            allowedOrigins = new[] { "https://www.acme.example/contact", "*" },
            redirectUrl = "/thanks",
        }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<ProblemShape>(JsonOptions, Ct))!.Errors!.Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["allowedOrigins[0]", "allowedOrigins[1]", "fields[1].name", "fields[2].name", "name", "redirectUrl"], errors);

        var form = await CreateFormAsync(admin);
        var updated = await admin.PutAsJsonAsync($"/api/v1/forms/{form.Id}", new
        {
            name = "Renamed",
            fields = new object[] { new { name = "email", label = "Email", required = true } },
            allowedOrigins = new[] { "HTTPS://Acme.example/" },
        }, Ct);
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        var dto = await updated.Content.ReadFromJsonAsync<FormDto>(JsonOptions, Ct);
        Assert.Equal(("Renamed", form.Key), (dto!.Name, dto.Key));
        Assert.Equal(["https://acme.example"], dto.AllowedOrigins);
        var list = await admin.GetFromJsonAsync<List<FormDto>>("/api/v1/forms", JsonOptions, Ct);
        Assert.Single(list!);

        var reader = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync($"/api/v1/forms/{form.Id}", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync("/api/v1/forms", new { name = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.CreateApiClient().GetAsync("/api/v1/forms", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/forms/{Guid.CreateVersion7()}", Ct)).StatusCode);
    }
    [Fact]
    public async Task SettingsPageListsFormsWithTheirSnippetForMarketingOnly()
    {
        var (app, admin) = await StartAsync(provider);
        await using var _ = app;
        await app.CreateUserAsync("admin@acme.example", Roles.Admin);
        await CreateFormAsync(admin, new { name = "Webinar <signup>" });
        var (_, password) = await app.CreateUserAsync("marketing@acme.example", Roles.Marketing);
        var marketing = app.CreateBrowserClient();
        await TandemApp.SignInAsync(marketing, "marketing@acme.example", password);

        var page = await marketing.GetAsync("/settings/forms", Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Webinar &lt;signup&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("Webinar <signup>", html, StringComparison.Ordinal);

        var (_, salesPassword) = await app.CreateUserAsync("sales@acme.example", Roles.Sales);
        var sales = app.CreateBrowserClient();
        await TandemApp.SignInAsync(sales, "sales@acme.example", salesPassword);
        var denied = await sales.GetAsync("/settings/forms", Ct);
        Assert.NotEqual(HttpStatusCode.OK, denied.StatusCode);
    }
}

public sealed class FormsOnSqlite() : FormsTests(DatabaseProvider.Sqlite);

public sealed class FormsOnPostgres() : FormsTests(DatabaseProvider.Postgres);
