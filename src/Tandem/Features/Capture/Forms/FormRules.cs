using System.Security.Cryptography;
using System.Text.RegularExpressions;

namespace Tandem.Features.Capture.Forms;

/// <summary>
/// What a form definition looks like when created or updated through the API or the settings page. <see cref="Intent"/> is a
/// <see cref="FormIntent"/> name (case-insensitive; null keeps <see cref="FormIntent.Other"/> on create and the current intent
/// on update); it is text so a wrong value gets a field error rather than an unreadable body error.
/// </summary>
public sealed record FormDefinition(string? Name, Guid? CampaignId, IReadOnlyList<FormField>? Fields, string? ConsentText,
    IReadOnlyList<string>? AllowedOrigins, string? RedirectUrl, int? MinFillSeconds, string? HoneypotField, bool? Active, string? Intent = null,
    string? PhoneRegion = null);

public enum FillTimeVerdict
{
    Ok,
    TooFast,
    Missing,
    Invalid,
}

/// <summary>Pure rules of web forms: definition checks, origins, bot traps and how posted names become lead fields.</summary>
public static partial class FormRules
{
    public const string FillTimeField = "_ts";
    public const string ConsentField = "consent";
    public const int MaxExtraValues = 50;
    public const int MaxExtraLength = 1000;

    /// <summary>Lead fields a public form may ask for (identity claims such as externalId or campaignId stay server-side).</summary>
    public static readonly IReadOnlyList<string> LeadFields =
        ["email", "phone", "firstName", "lastName", "company", "jobTitle", "companySize", "industry", "country", "city", "language"];

    /// <summary>Hidden tracking fields the snippet fills, in both snake_case and camelCase, and the lead field they feed.</summary>
    public static readonly IReadOnlyDictionary<string, string> TrackingFields = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["utm_source"] = "utmSource",
        ["utmSource"] = "utmSource",
        ["utm_medium"] = "utmMedium",
        ["utmMedium"] = "utmMedium",
        ["utm_campaign"] = "utmCampaign",
        ["utmCampaign"] = "utmCampaign",
        ["utm_term"] = "utmTerm",
        ["utmTerm"] = "utmTerm",
        ["utm_content"] = "utmContent",
        ["utmContent"] = "utmContent",
        ["referrer"] = "referrer",
        ["landing_page"] = "landingPage",
        ["landingPage"] = "landingPage",
    };

    public static string NewKey(int bytes = 12) => Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes))
        .Replace('+', '-').Replace('/', '_').TrimEnd('=');

    /// <summary>"https://WWW.Acme.example/" → "https://www.acme.example"; null when it is not a bare http(s) origin.</summary>
    public static string? NormalizeOrigin(string? value)
    {
        var text = value?.Trim().TrimEnd('/');
        if (string.IsNullOrEmpty(text) || !Uri.TryCreate(text, UriKind.Absolute, out var uri) ||
            uri.Scheme is not ("http" or "https") || uri.PathAndQuery != "/" || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0 ||
            text.Count(c => c == '/') != 2)
            return null;
        return uri.IsDefaultPort ? $"{uri.Scheme}://{uri.Host}" : $"{uri.Scheme}://{uri.Host}:{uri.Port}";
    }

    /// <summary>No Origin header (server-side posts, old browsers) is allowed; an empty list allows any origin.</summary>
    public static bool IsOriginAllowed(IReadOnlyList<string> allowed, string? origin) =>
        string.IsNullOrEmpty(origin) || allowed.Count == 0 || (NormalizeOrigin(origin) is { } o && allowed.Contains(o, StringComparer.Ordinal));

    public static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0;

    /// <summary>
    /// The snippet measures the fill time in the page (render → submit, monotonic clock, so a wrong client clock does
    /// not matter) and posts it in milliseconds. Bots posting directly send nothing or nonsense.
    /// </summary>
    public static FillTimeVerdict CheckFillTime(string? value, int minSeconds)
    {
        if (minSeconds <= 0)
            return FillTimeVerdict.Ok;
        if (string.IsNullOrWhiteSpace(value))
            return FillTimeVerdict.Missing;
        if (!long.TryParse(value.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms) ||
            ms > TimeSpan.FromDays(1).TotalMilliseconds)
            return FillTimeVerdict.Invalid;
        return ms < minSeconds * 1000L ? FillTimeVerdict.TooFast : FillTimeVerdict.Ok;
    }

    /// <summary>"contactSales", "ContactSales" → <see cref="FormIntent.ContactSales"/>; null for anything else (numbers too).</summary>
    public static FormIntent? ParseIntent(string? value) =>
        value?.Trim() is { Length: > 0 } text && !char.IsAsciiDigit(text[0]) && text[0] != '-' && Enum.TryParse<FormIntent>(text, ignoreCase: true, out var intent)
            && Enum.IsDefined(intent) ? intent : null;

    public static void Validate(FormDefinition d, IReadOnlySet<string> customKeys, FieldErrors errors)
    {
        if (d.Intent is not null && ParseIntent(d.Intent) is null)
            errors.Add("intent", $"'{d.Intent}' is not a form intent. Choose one of: {string.Join(", ", Enum.GetNames<FormIntent>())}.");
        CaptureSettingsApi.PhoneRegion(d.PhoneRegion, errors, "phoneRegion");
        if (string.IsNullOrWhiteSpace(d.Name))
            errors.Add("name", "A name is required.");
        else if (d.Name.Length > 200)
            errors.Add("name", "At most 200 characters.");
        if (d.Fields is null || d.Fields.Count == 0)
            errors.Add("fields", "Add at least one field.");
        else
        {
            if (d.Fields.Count > 50)
                errors.Add("fields", "At most 50 fields.");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < d.Fields.Count; i++)
            {
                var f = d.Fields[i];
                if (string.IsNullOrWhiteSpace(f.Name) || !(LeadFields.Contains(f.Name) || customKeys.Contains(f.Name)))
                    errors.Add($"fields[{i}].name", $"Unknown field '{f.Name}'. Use a lead field ({string.Join(", ", LeadFields)}) or a custom field key.");
                else if (!seen.Add(f.Name))
                    errors.Add($"fields[{i}].name", $"The field '{f.Name}' appears twice.");
                if (string.IsNullOrWhiteSpace(f.Label))
                    errors.Add($"fields[{i}].label", "A label is required.");
                else if (f.Label.Length > 200)
                    errors.Add($"fields[{i}].label", "At most 200 characters.");
                if (!Enum.IsDefined(f.Type))
                    errors.Add($"fields[{i}].type", "Unknown field type.");
            }
            if (!d.Fields.Any(f => f.Name is "email" or "phone"))
                errors.Add("fields", "A form needs an email or phone field to identify the lead.");
        }
        if (d.ConsentText is { Length: > 2000 })
            errors.Add("consentText", "At most 2000 characters.");
        if (d.AllowedOrigins is { } origins)
        {
            if (origins.Count > 20)
                errors.Add("allowedOrigins", "At most 20 origins.");
            for (var i = 0; i < origins.Count; i++)
                if (NormalizeOrigin(origins[i]) is null)
                    errors.Add($"allowedOrigins[{i}]", $"'{origins[i]}' is not an origin: use scheme and host only, e.g. https://www.acme.example.");
        }
        if (!string.IsNullOrWhiteSpace(d.RedirectUrl) && (!IsHttpUrl(d.RedirectUrl) || d.RedirectUrl.Length > 2048))
            errors.Add("redirectUrl", "Use an absolute http or https URL, e.g. https://www.acme.example/thank-you.");
        if (d.MinFillSeconds is < 0 or > 3600)
            errors.Add("minFillSeconds", "Between 0 (no check) and 3600 seconds.");
        if (d.HoneypotField is { } honeypot)
        {
            if (!HoneypotName().IsMatch(honeypot))
                errors.Add("honeypotField", "Letters, digits, - and _ only, starting with a letter (at most 50).");
            else if (d.Fields?.Any(f => f.Name == honeypot) == true || TrackingFields.ContainsKey(honeypot) || honeypot is FillTimeField or ConsentField)
                errors.Add("honeypotField", "The honeypot must not share its name with a real field.");
        }
    }

    /// <summary>Applies a definition (already validated) to a form entity.</summary>
    public static void Apply(FormDefinition d, LeadForm form)
    {
        form.Name = d.Name!.Trim();
        form.CampaignId = d.CampaignId;
        form.Fields = [.. d.Fields!.Select(f => f with { Label = f.Label.Trim() })];
        form.ConsentText = string.IsNullOrWhiteSpace(d.ConsentText) ? null : d.ConsentText.Trim();
        form.AllowedOrigins = [.. (d.AllowedOrigins ?? []).Select(o => NormalizeOrigin(o)!).Distinct(StringComparer.Ordinal)];
        form.RedirectUrl = string.IsNullOrWhiteSpace(d.RedirectUrl) ? null : d.RedirectUrl.Trim();
        form.MinFillSeconds = d.MinFillSeconds ?? 3;
        form.HoneypotField = string.IsNullOrWhiteSpace(d.HoneypotField) ? "website" : d.HoneypotField;
        form.Active = d.Active ?? true;
        if (ParseIntent(d.Intent) is { } intent)
            form.Intent = intent;
        // Null keeps the form's region, "" clears it.
        if (d.PhoneRegion is not null)
            form.PhoneRegion = CaptureSettingsApi.PhoneRegion(d.PhoneRegion, new FieldErrors(), "phoneRegion");
    }

    /// <summary>
    /// Turns posted values into lead fields: the form's fields and the tracking fields by name, the consent box with the
    /// form's wording, the form's campaign; anything else goes to <see cref="LeadInput.Extra"/> so nothing posted is lost
    /// but a public post cannot set fields the form does not ask for.
    /// </summary>
    public static LeadInput ToLeadInput(LeadForm form, IReadOnlyList<KeyValuePair<string, string?>> posted, IReadOnlySet<string> customKeys, FieldErrors errors,
        string? defaultPhoneRegion = null)
    {
        var byName = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in posted)
            byName.TryAdd(name, value);
        var fields = new List<KeyValuePair<string, string?>>();
        var extra = new List<KeyValuePair<string, string?>>();
        foreach (var field in form.Fields)
        {
            byName.TryGetValue(field.Name, out var value);
            if (field.Required && string.IsNullOrWhiteSpace(value))
                errors.Add(field.Name, "This field is required.");
            else if (value is not null)
                fields.Add(new(field.Name, value));
        }
        foreach (var (name, value) in byName)
        {
            if (form.Fields.Any(f => f.Name == name) || name == form.HoneypotField || name == FillTimeField)
                continue;
            if (TrackingFields.TryGetValue(name, out var target))
                fields.Add(new(target, value));
            else if (name == ConsentField && form.ConsentText is not null)
            {
                fields.Add(new("consent.emailOptIn", value));
                fields.Add(new("consent.text", form.ConsentText));
            }
            else if (extra.Count < MaxExtraValues && !string.IsNullOrEmpty(value))
                extra.Add(new(name, value.Length > MaxExtraLength ? value[..MaxExtraLength] : value));
        }
        if (form.CampaignId is { } campaign)
            fields.Add(new("campaignId", campaign.ToString()));
        var input = LeadInputParser.FromFields(fields, errors, customKeys, form.PhoneRegion ?? defaultPhoneRegion);
        foreach (var (name, value) in extra)
            input.Extra[name] = value;
        input.Extra["form"] = form.Name;
        return input;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,49}$")]
    private static partial Regex HoneypotName();
}
