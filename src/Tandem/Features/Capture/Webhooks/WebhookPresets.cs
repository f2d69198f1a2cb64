using Tandem.Features.Leads;

namespace Tandem.Features.Capture.Webhooks;

/// <summary>A ready-made source configuration for a known sender; the admin picks one, then adjusts the mapping.</summary>
public sealed record WebhookPreset(string Id, string Name, string Description, string SignatureHeader, string SignaturePrefix,
    SignatureEncoding SignatureEncoding, ActivityType ActivityType, IReadOnlyList<FieldMapping> Mappings, bool Signed = true);

/// <summary>
/// Presets written from each provider's public payload documentation. Field refs and names that the form author
/// chooses (Typeform refs, Webflow labels, HubSpot internal names) follow the providers' defaults and examples.
/// </summary>
public static class WebhookPresets
{
    private static FieldMapping M(string target, string path) => new(target, path);

    private static string Typeform(string refName, string kind) => $"$.form_response.answers[?(@.field.ref=='{refName}')].{kind}";

    /// <summary>The first answer of a Typeform field type (used when the form's questions have no ref set).</summary>
    private static string TypeformByType(string fieldType, string kind) => $"$.form_response.answers[?(@.field.type=='{fieldType}')][0].{kind}";

    public static readonly IReadOnlyList<WebhookPreset> All =
    [
        new("typeform", "Typeform", "Typeform webhook (form_response). Questions whose ref is email, first_name, last_name, company, job_title, phone or company_size map by ref; without refs, the first email, phone number and short text answers give the email, phone and name. Hidden fields utm_* are read from form_response.hidden. Typeform signs with Typeform-Signature: sha256=<base64>.",
            "Typeform-Signature", "sha256=", SignatureEncoding.Base64, ActivityType.FormSubmission,
            [
                M("email", Typeform("email", "email")),
                M("email", TypeformByType("email", "email")),
                M("firstName", Typeform("first_name", "text")),
                M("lastName", Typeform("last_name", "text")),
                M(WebhookMapper.FullNameTarget, TypeformByType("short_text", "text")),
                M("company", Typeform("company", "text")),
                M("jobTitle", Typeform("job_title", "text")),
                M("phone", Typeform("phone", "phone_number")),
                M("phone", TypeformByType("phone_number", "phone_number")),
                M("companySize", Typeform("company_size", "choice.label")),
                M("utmSource", "$.form_response.hidden.utm_source"),
                M("utmMedium", "$.form_response.hidden.utm_medium"),
                M("utmCampaign", "$.form_response.hidden.utm_campaign"),
                M("utmTerm", "$.form_response.hidden.utm_term"),
                M("utmContent", "$.form_response.hidden.utm_content"),
                M("occurredAt", "$.form_response.submitted_at"),
                M("extra.typeformFormId", "$.form_response.form_id"),
                M("extra.typeformToken", "$.form_response.token"),
            ]),
        new("webflow", "Webflow", "Webflow form_submission webhook: payload.data holds one value per form field, keyed by the field's name in the Webflow designer. Webflow signs with x-webflow-signature (hex HMAC-SHA256 of timestamp:body) and x-webflow-timestamp; deliveries older than 5 minutes are refused.",
            "x-webflow-signature", "", SignatureEncoding.Hex, ActivityType.FormSubmission,
            [
                M("email", "$.payload.data.Email"),
                M("email", "$.payload.data.email"),
                M(WebhookMapper.FullNameTarget, "$.payload.data.Name"),
                M("firstName", "$.payload.data['First Name']"),
                M("lastName", "$.payload.data['Last Name']"),
                M("company", "$.payload.data.Company"),
                M("phone", "$.payload.data.Phone"),
                M("phone", "$.payload.data['Phone Number']"),
                M("phone", "$.payload.data['Phone number']"),
                M("phone", "$.payload.data.phone"),
                M("phone", "$.payload.data['Téléphone']"),
                M("phone", "$.payload.data.Telephone"),
                M("landingPage", "$.payload.pageUrl"),
                M("occurredAt", "$.payload.submittedAt"),
                M("extra.webflowForm", "$.payload.name"),
                M("extra.message", "$.payload.data.Message"),
            ]),
        new("meta-lead-ads", "Meta Lead Ads", "A Meta (Facebook/Instagram) Lead Ads lead as returned by the Graph API leadgen object (field_data name/values), forwarded by your relay. Meta signs with X-Hub-Signature-256: sha256=<hex>.",
            "X-Hub-Signature-256", "sha256=", SignatureEncoding.Hex, ActivityType.FormSubmission,
            [
                M("email", "$.field_data[?(@.name=='email')].values[0]"),
                M(WebhookMapper.FullNameTarget, "$.field_data[?(@.name=='full_name')].values[0]"),
                M("firstName", "$.field_data[?(@.name=='first_name')].values[0]"),
                M("lastName", "$.field_data[?(@.name=='last_name')].values[0]"),
                M("phone", "$.field_data[?(@.name=='phone_number')].values[0]"),
                M("company", "$.field_data[?(@.name=='company_name')].values[0]"),
                M("jobTitle", "$.field_data[?(@.name=='job_title')].values[0]"),
                M("city", "$.field_data[?(@.name=='city')].values[0]"),
                M("utmSource", "'facebook'"),
                M("utmMedium", "'paid_social'"),
                M("extra.metaLeadId", "$.id"),
                M("extra.metaAdId", "$.ad_id"),
                M("extra.metaFormId", "$.form_id"),
            ]),
        new("hubspot-forms-v3", "HubSpot Forms (v3)", "A HubSpot Forms API v3 submission body: fields [{name, value}] with HubSpot internal property names, context {pageUri, pageName, hutk}, legalConsentOptions (the marketing-communications consent and its wording are captured). Signed with X-HubSpot-Signature-v3 (base64 HMAC-SHA256 of method, URI, body and X-HubSpot-Request-Timestamp); deliveries older than 5 minutes are refused.",
            "X-HubSpot-Signature-v3", "", SignatureEncoding.Base64, ActivityType.FormSubmission,
            [
                M("email", "$.fields[?(@.name=='email')].value"),
                M("firstName", "$.fields[?(@.name=='firstname')].value"),
                M("lastName", "$.fields[?(@.name=='lastname')].value"),
                M("company", "$.fields[?(@.name=='company')].value"),
                M("jobTitle", "$.fields[?(@.name=='jobtitle')].value"),
                M("phone", "$.fields[?(@.name=='phone')].value"),
                M("country", "$.fields[?(@.name=='country')].value"),
                M("consent.emailOptIn", "$.legalConsentOptions.consent.communications[0].value"),
                M("consent.text", "$.legalConsentOptions.consent.communications[0].text"),
                M("consent.text", "$.legalConsentOptions.consent.text"),
                M("consent.emailOptIn", "$.legalConsentOptions.legitimateInterest.value"),
                M("consent.text", "$.legalConsentOptions.legitimateInterest.text"),
                M("landingPage", "$.context.pageUri"),
                M("extra.pageName", "$.context.pageName"),
                M("extra.hutk", "$.context.hutk"),
            ]),
        new("unbounce", "Unbounce", "Unbounce form webhook: posted form-encoded with a data.json field in which every value is an array. Unbounce does not sign its webhooks: keep the URL secret (it carries the source's random key).",
            "X-Unbounce-Signature", "", SignatureEncoding.Hex, ActivityType.FormSubmission,
            [
                M("email", "$.email[0]"),
                M("firstName", "$.first_name[0]"),
                M("lastName", "$.last_name[0]"),
                M(WebhookMapper.FullNameTarget, "$.name[0]"),
                M("company", "$.company[0]"),
                M("phone", "$.phone_number[0]"),
                M("phone", "$.phone[0]"),
                M("landingPage", "$.page_url[0]"),
                M("utmSource", "$.utm_source[0]"),
                M("utmMedium", "$.utm_medium[0]"),
                M("utmCampaign", "$.utm_campaign[0]"),
                M("extra.unbouncePageId", "$.page_uuid[0]"),
                M("extra.variant", "$.variant[0]"),
            ], Signed: false),
    ];

    public static WebhookPreset? Find(string? id) => All.FirstOrDefault(p => string.Equals(p.Id, id, StringComparison.OrdinalIgnoreCase));
}
