using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Tandem.Features.Capture;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Capture.Webhooks;

namespace Tandem.Tests.Capture;

/// <summary>Pure rules of the capture channels: JSON path subset, signatures, preset mappings, form rules and snippet.</summary>
public sealed class CaptureChannelRulesTests
{
    private static readonly HashSet<string> NoCustomKeys = [];

    public static string Payload(string name, [CallerFilePath] string file = "") =>
        File.ReadAllText(Path.Combine(Path.GetDirectoryName(file)!, "WebhookPayloads", name));

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement;

    [Theory]
    [InlineData("$.a.b", "x")]
    [InlineData("$['a']['b']", "x")]
    [InlineData("$.list[1]", "2")]
    [InlineData("$.list[*]", "1, 2, 3")]
    [InlineData("$.list", "1, 2, 3")]
    [InlineData("$.items[?(@.k.ref=='two')].v", "second")]
    [InlineData("$.items[?(@.k.ref == \"one\")].v", "first")]
    [InlineData("$.items[*].v", "first, second")]
    [InlineData("$['with space']", "ok")]
    [InlineData("$.flag", "true")]
    [InlineData("'constant'", "constant")]
    [InlineData("$.missing", null)]
    [InlineData("$.list[9]", null)]
    [InlineData("$.items[?(@.k.ref=='none')].v", null)]
    [InlineData("$.a", null)]
    public void JsonPathSubsetSelectsWhatItSays(string path, string? expected)
    {
        var root = Json("""{"a":{"b":"x"},"list":[1,2,3],"items":[{"k":{"ref":"one"},"v":"first"},{"k":{"ref":"two"},"v":"second"}],"with space":"ok","flag":true}""");
        var parsed = JsonPathLite.TryParse(path, out var error);
        Assert.True(parsed is not null, error);
        Assert.Equal(expected, parsed.SelectText(root));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a.b")]
    [InlineData("$.")]
    [InlineData("$.a[")]
    [InlineData("$.a[x]")]
    [InlineData("$.a[?(@.b=x)]")]
    [InlineData("$.a[?(@.b=='x']")]
    [InlineData("$['open")]
    [InlineData("$.a b")]
    [InlineData("'unterminated")]
    public void MalformedPathsAreRefusedWithAPosition(string path)
    {
        Assert.Null(JsonPathLite.TryParse(path, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Fact]
    public void SignaturesVerifyInHexAndBase64WithOrWithoutPrefix()
    {
        var body = Encoding.UTF8.GetBytes("""{"hello":"world"}""");
        var hex = WebhookSignature.Compute(body, "s3cret-key", SignatureEncoding.Hex, "sha256=");
        Assert.StartsWith("sha256=", hex, StringComparison.Ordinal);
        Assert.True(WebhookSignature.Verify(body, "s3cret-key", hex, SignatureEncoding.Hex, "sha256="));
        Assert.True(WebhookSignature.Verify(body, "s3cret-key", hex.ToUpperInvariant().Replace("SHA256=", "sha256=", StringComparison.Ordinal), SignatureEncoding.Hex, "sha256="));
        var b64 = WebhookSignature.Compute(body, "s3cret-key", SignatureEncoding.Base64);
        Assert.True(WebhookSignature.Verify(body, "s3cret-key", b64, SignatureEncoding.Base64));

        Assert.False(WebhookSignature.Verify(body, "other-key", hex, SignatureEncoding.Hex, "sha256="));
        Assert.False(WebhookSignature.Verify(Encoding.UTF8.GetBytes("""{"hello":"World"}"""), "s3cret-key", hex, SignatureEncoding.Hex, "sha256="));
        Assert.False(WebhookSignature.Verify(body, "s3cret-key", hex[7..], SignatureEncoding.Hex, "sha256="));
        Assert.False(WebhookSignature.Verify(body, "s3cret-key", null, SignatureEncoding.Hex));
        Assert.False(WebhookSignature.Verify(body, "s3cret-key", "not hex!", SignatureEncoding.Hex));
        Assert.False(WebhookSignature.Verify(body, "s3cret-key", "%%%", SignatureEncoding.Base64));
    }

    private static LeadInput MapPreset(string presetId, string json)
    {
        var preset = WebhookPresets.Find(presetId)!;
        var errors = new FieldErrors();
        var input = WebhookMapper.ToLeadInput(Json(json), preset.Mappings, NoCustomKeys, errors);
        Assert.False(errors.Any, errors.Summary());
        return input;
    }

    [Fact]
    public void TypeformPresetMapsAnswersByRefAndHiddenUtms()
    {
        var input = MapPreset("typeform", Payload("typeform.json"));
        Assert.Equal("laura.petit@acme-industrie.fr", input.Email);
        Assert.Equal(("Laura", "Petit", "Acme Industrie"), (input.FirstName, input.LastName, input.Company));
        Assert.Equal("+33612345678", input.Phone);
        Assert.Equal(200, input.CompanySize);
        Assert.Equal(("linkedin", "paid_social", "webinar-daf-2026"), (input.UtmSource, input.UtmMedium, input.UtmCampaign));
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 1, 45, TimeSpan.Zero), input.OccurredAt);
        Assert.Equal("lT4Z3j", input.Extra["extra.typeformFormId"]);
    }

    [Fact]
    public void WebflowPresetMapsTheDataObjectAndSplitsTheName()
    {
        var input = MapPreset("webflow", Payload("webflow.json"));
        Assert.Equal("marc.durand@globex.example", input.Email);
        Assert.Equal(("Marc", "Durand", "Globex"), (input.FirstName, input.LastName, input.Company));
        Assert.Equal("https://www.globex.example/contact", input.LandingPage);
        Assert.Equal("Please call me back about pricing.", input.Extra["extra.message"]);
    }

    [Fact]
    public void MetaLeadAdsPresetMapsFieldData()
    {
        var input = MapPreset("meta-lead-ads", Payload("meta-lead-ads.json"));
        Assert.Equal("sophie.bernard@initech.example", input.Email);
        Assert.Equal(("Sophie", "Bernard"), (input.FirstName, input.LastName));
        Assert.Equal("+33711223344", input.Phone);
        Assert.Equal(("Initech", "Head of Finance"), (input.Company, input.JobTitle));
        Assert.Equal(("facebook", "paid_social"), (input.UtmSource, input.UtmMedium));
        Assert.Equal("1234567890123456", input.Extra["extra.metaLeadId"]);
    }

    [Fact]
    public void HubSpotPresetMapsFieldsAndContext()
    {
        var input = MapPreset("hubspot-forms-v3", Payload("hubspot-forms-v3.json"));
        Assert.Equal("tom.leroy@umbrella.example", input.Email);
        Assert.Equal(("Tom", "Leroy", "Umbrella", "CFO"), (input.FirstName, input.LastName, input.Company, input.JobTitle));
        Assert.Equal("https://www.umbrella.example/pricing", input.LandingPage);
        Assert.Equal("Pricing", input.Extra["extra.pageName"]);
        Assert.Equal("2e6a8f2f1c9d4b7a8e3f5c1d9b7a6e4f", input.Extra["extra.hutk"]);
    }

    [Fact]
    public void UnbouncePresetTakesTheFirstValueOfEachArray()
    {
        var input = MapPreset("unbounce", Payload("unbounce-data.json"));
        Assert.Equal("alan.turing@hooli.example", input.Email);
        Assert.Equal(("Alan", "Turing", "Hooli"), (input.FirstName, input.LastName, input.Company));
        Assert.Equal("+442079460958", input.Phone);
        Assert.Equal(("google", "cpc", "ebook-q4"), (input.UtmSource, input.UtmMedium, input.UtmCampaign));
        Assert.Equal("https://get.hooli.example/ebook?utm_source=google&utm_medium=cpc", input.LandingPage);
    }

    [Fact]
    public void EveryPresetIsAValidMapping()
    {
        foreach (var preset in WebhookPresets.All)
        {
            var errors = new FieldErrors();
            WebhookMapper.Validate(preset.Mappings, NoCustomKeys, errors);
            Assert.False(errors.Any, $"{preset.Id}: {errors.Summary()}");
        }
    }

    [Fact]
    public void MappingValidationNamesEachBadRule()
    {
        var errors = new FieldErrors();
        WebhookMapper.Validate([new("email", "$.email"), new("favouriteColour", "$.c"), new("phone", "$.p[")], new HashSet<string> { "plan" }, errors);
        var d = errors.ToDictionary();
        Assert.Contains("mappings[1].target", d.Keys);
        Assert.Contains("mappings[2].path", d.Keys);
        Assert.Equal(2, d.Count);

        var none = new FieldErrors();
        WebhookMapper.Validate([new("company", "$.c"), new("plan", "$.plan"), new("extra.anything", "$.x")], new HashSet<string> { "plan" }, none);
        Assert.Equal(["mappings"], none.ToDictionary().Keys);
    }

    [Fact]
    public void UnmappableEmailIsAFieldError()
    {
        var errors = new FieldErrors();
        WebhookMapper.ToLeadInput(Json("""{"email":"not-an-email"}"""), [new("email", "$.email")], NoCustomKeys, errors);
        Assert.True(errors.HasAny("email"));
        var missing = new FieldErrors();
        WebhookMapper.ToLeadInput(Json("""{"other":"x"}"""), [new("email", "$.email")], NoCustomKeys, missing);
        Assert.True(missing.HasAny("email"));
    }

    [Theory]
    [InlineData("https://www.acme.example", "https://www.acme.example")]
    [InlineData("HTTPS://WWW.Acme.example/", "https://www.acme.example")]
    [InlineData("http://localhost:3000", "http://localhost:3000")]
    [InlineData("https://www.acme.example:443", "https://www.acme.example")]
    [InlineData("https://www.acme.example/page", null)]
    [InlineData("https://www.acme.example?x=1", null)]
    [InlineData("ftp://acme.example", null)]
    [InlineData("*", null)]
    [InlineData("www.acme.example", null)]
    public void OriginsAreBareSchemeAndHost(string value, string? expected) => Assert.Equal(expected, FormRules.NormalizeOrigin(value));

    [Theory]
    [InlineData(null, 3, FillTimeVerdict.Missing)]
    [InlineData("", 3, FillTimeVerdict.Missing)]
    [InlineData("abc", 3, FillTimeVerdict.Invalid)]
    [InlineData("-5", 3, FillTimeVerdict.Invalid)]
    [InlineData("999999999999", 3, FillTimeVerdict.Invalid)]
    [InlineData("2999", 3, FillTimeVerdict.TooFast)]
    [InlineData("3000", 3, FillTimeVerdict.Ok)]
    [InlineData(null, 0, FillTimeVerdict.Ok)]
    public void FillTimeIsCheckedInMilliseconds(string? value, int min, FillTimeVerdict expected) =>
        Assert.Equal(expected, FormRules.CheckFillTime(value, min));

    [Fact]
    public void FormDefinitionErrorsAreNamedPerField()
    {
        var errors = new FieldErrors();
        FormRules.Validate(new FormDefinition("", null,
            [new("email", "Email"), new("email", "Again"), new("shoeSize", "Shoe size"), new("company", "")],
            null, ["https://ok.example", "https://bad.example/path"], "javascript:alert(1)", 9999, "email", null), NoCustomKeys, errors);
        var d = errors.ToDictionary();
        Assert.Equal(
            ["allowedOrigins[1]", "fields[1].name", "fields[2].name", "fields[3].label", "honeypotField", "minFillSeconds", "name", "redirectUrl"],
            d.Keys.Order(StringComparer.Ordinal));

        var noIdentifier = new FieldErrors();
        FormRules.Validate(new FormDefinition("Contact", null, [new("company", "Company")], null, null, null, null, null, null), NoCustomKeys, noIdentifier);
        Assert.Equal(["fields"], noIdentifier.ToDictionary().Keys);
    }

    [Fact]
    public void PostedValuesMapToFormFieldsTrackingAndConsentAndTheRestIsExtra()
    {
        var form = new LeadForm
        {
            Key = "k",
            Name = "Demo",
            Fields = [new("email", "Email", true, FormFieldType.Email), new("firstName", "First name")],
            ConsentText = "I agree",
        };
        var errors = new FieldErrors();
        var input = FormRules.ToLeadInput(form,
        [
            new("email", "a@acme.example"), new("firstName", "Ann"), new("utm_source", "google"), new("utmMedium", "cpc"),
            new("landing_page", "https://acme.example/lp"), new("consent", "true"), new("website", ""), new("_ts", "5000"),
            new("company", "Sneaky Corp"), new("favourite", "blue"),
        ], NoCustomKeys, errors);
        Assert.False(errors.Any, errors.Summary());
        Assert.Equal(("a@acme.example", "Ann", "google", "cpc"), (input.Email, input.FirstName, input.UtmSource, input.UtmMedium));
        Assert.Equal("https://acme.example/lp", input.LandingPage);
        Assert.Equal(new ConsentInput(true, null, null, "I agree"), input.Consent);
        Assert.Null(input.Company);
        Assert.Equal("Sneaky Corp", input.Extra["company"]);
        Assert.Equal("blue", input.Extra["favourite"]);
        Assert.False(input.Extra.ContainsKey("_ts"));

        var missing = new FieldErrors();
        FormRules.ToLeadInput(form, [new("firstName", "Ann")], NoCustomKeys, missing);
        Assert.True(missing.HasAny("email"));
    }

    [Fact]
    public void SnippetEncodesLabelsAndCarriesTheTraps()
    {
        var form = new LeadForm
        {
            Key = "AbC-123_x",
            Name = "Demo",
            Fields = [new("email", "Email <b>now</b>", true, FormFieldType.Email)],
            ConsentText = "I agree to \"emails\"",
            HoneypotField = "website",
        };
        var html = FormSnippet.Build(form, "https://tandem.acme.example/");
        Assert.Contains("action=\"https://tandem.acme.example/f/AbC-123_x\"", html, StringComparison.Ordinal);
        Assert.Contains("Email &lt;b&gt;now&lt;/b&gt;", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<b>now", html, StringComparison.Ordinal);
        Assert.Contains("name=\"website\"", html, StringComparison.Ordinal);
        Assert.Contains("left:-10000px", html, StringComparison.Ordinal);
        Assert.Contains("name=\"_ts\"", html, StringComparison.Ordinal);
        Assert.Contains("name=\"consent\"", html, StringComparison.Ordinal);
        Assert.Contains("location.search", html, StringComparison.Ordinal);
        Assert.Contains("document.referrer", html, StringComparison.Ordinal);
        Assert.Contains("location.href", html, StringComparison.Ordinal);
        Assert.Contains(" required", html, StringComparison.Ordinal);
    }
}
