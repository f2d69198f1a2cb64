using System.Globalization;
using System.Text.Json;

namespace Tandem.Features.Capture;

/// <summary>A value a channel received but could not keep in its field (kept on the activity as received).</summary>
public sealed record FieldWarning(string Field, string? Value, string Message);

/// <summary>Consent as captured: any of the three flags, and the wording the person agreed to.</summary>
public sealed record ConsentInput(bool? EmailOptIn, bool? DoNotEmail, bool? DoNotCall, string? Text);

/// <summary>
/// One lead as submitted by any channel (API, form, webhook, CSV row), after field-level validation and
/// normalisation. Identity: at least one of <see cref="Email"/>, <see cref="Phone"/>, or
/// <see cref="ExternalSystem"/> + <see cref="ExternalId"/>.
/// </summary>
public sealed class LeadInput
{
    public string? Email { get; set; }
    public string? Phone { get; set; }
    public string? ExternalId { get; set; }
    public string? ExternalSystem { get; set; }
    public string? FirstName { get; set; }
    public string? LastName { get; set; }
    public string? Company { get; set; }
    public string? JobTitle { get; set; }
    public int? CompanySize { get; set; }
    public string? Industry { get; set; }
    public string? Country { get; set; }
    public string? City { get; set; }
    public string? Language { get; set; }
    public string? UtmSource { get; set; }
    public string? UtmMedium { get; set; }
    public string? UtmCampaign { get; set; }
    public string? UtmTerm { get; set; }
    public string? UtmContent { get; set; }
    public string? Referrer { get; set; }
    public string? LandingPage { get; set; }
    public Guid? CampaignId { get; set; }
    public ConsentInput? Consent { get; set; }
    /// <summary>The submitter's IP address, when the channel knows it (public forms): kept on the consent ledger entry.</summary>
    public string? ClientIp { get; set; }
    /// <summary>Raw custom-field values by key; checked against the defined custom fields when captured.</summary>
    public Dictionary<string, string?> CustomFields { get; } = new(StringComparer.Ordinal);
    /// <summary>Lifecycle stage given by a source system (CSV import from another CRM); used on creation, and to move forward only.</summary>
    public Leads.LifecycleStage? InitialStage { get; set; }
    /// <summary>Work status given by a source system (a CRM's lead status); set on creation and on leads still in MQL.</summary>
    public Leads.WorkStatus? InitialWorkStatus { get; set; }
    /// <summary>Stage dates and deal outcome an import row gives (CRM history).</summary>
    public CsvImport.ImportedHistory? History { get; set; }
    /// <summary>When the person submitted (defaults to the time of capture).</summary>
    public DateTimeOffset? OccurredAt { get; set; }
    /// <summary>Values a channel received that map to no field (form or webhook extras); kept on the activity.</summary>
    public Dictionary<string, string?> Extra { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Values left out of their field because they could not be normalised (imports and webhooks keep the lead: only a missing
    /// identifier fails them). Each is also kept on the activity as <c>notKept.&lt;field&gt;</c>.
    /// </summary>
    public List<FieldWarning> Warnings { get; } = [];
    /// <summary>
    /// Set by public channels that keep the lead when a field is odd (imports, webhooks): capture turns the problems it finds
    /// (an unknown campaign, a custom value of the wrong type) into <see cref="Warnings"/> too.
    /// </summary>
    public bool KeepOnFieldErrors { get; set; }

    /// <summary>Records a value that was not kept: as a warning, and on the activity's properties.</summary>
    public void NotKept(string field, string? value, string message)
    {
        Warnings.Add(new FieldWarning(field, value, message));
        Extra[NotKeptPrefix + field] = value;
    }

    public const string NotKeptPrefix = "notKept.";

    public bool HasIdentifier => Email is not null || Phone is not null || (ExternalId is not null && ExternalSystem is not null);
}

/// <summary>Builds <see cref="LeadInput"/> from JSON or from string fields, collecting every field error (never the first only).</summary>
public static class LeadInputParser
{
    /// <summary>The documented maximum length of each text field.</summary>
    public static readonly IReadOnlyDictionary<string, int> MaxLengths = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["email"] = 254,
        ["phone"] = 40,
        ["externalId"] = 100,
        ["externalSystem"] = 50,
        ["firstName"] = 100,
        ["lastName"] = 100,
        ["company"] = 200,
        ["jobTitle"] = 150,
        ["industry"] = 100,
        ["country"] = 60,
        ["city"] = 100,
        ["language"] = 10,
        ["utmSource"] = 100,
        ["utmMedium"] = 100,
        ["utmCampaign"] = 200,
        ["utmTerm"] = 200,
        ["utmContent"] = 200,
        ["referrer"] = 2048,
        ["landingPage"] = 2048,
        ["companySize"] = 12,
        ["campaignId"] = 36,
        ["occurredAt"] = 40,
    };

    public static readonly IReadOnlyList<string> KnownFields = [.. MaxLengths.Keys, "consent", "customFields"];

    public const int MaxCustomFieldLength = 1000;

    /// <summary>Parses a JSON object. Unknown properties are rejected (a typo must not lose data silently).</summary>
    public static LeadInput Parse(JsonElement json, FieldErrors errors, string prefix = "")
    {
        var input = new LeadInput();
        if (json.ValueKind != JsonValueKind.Object)
        {
            errors.Add(prefix.TrimEnd('.'), "Expected a JSON object.");
            return input;
        }
        foreach (var property in json.EnumerateObject())
        {
            var name = property.Name;
            var value = property.Value;
            var path = prefix + name;
            if (name == "consent")
            {
                input.Consent = ParseConsent(value, errors, path);
                continue;
            }
            if (name == "customFields")
            {
                if (value.ValueKind == JsonValueKind.Null)
                    continue;
                if (value.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(path, "Expected an object of custom field values.");
                    continue;
                }
                foreach (var custom in value.EnumerateObject())
                {
                    var raw = custom.Value.ValueKind switch
                    {
                        JsonValueKind.String => ApiString(custom.Value, errors, $"{path}.{custom.Name}"),
                        JsonValueKind.Number => custom.Value.GetRawText(),
                        JsonValueKind.True => "true",
                        JsonValueKind.False => "false",
                        JsonValueKind.Null => null,
                        _ => Invalid(errors, $"{path}.{custom.Name}", "Expected a string, number, boolean or null."),
                    };
                    input.CustomFields[custom.Name] = raw;
                }
                continue;
            }
            if (!MaxLengths.ContainsKey(name))
            {
                errors.Add(path, $"Unknown field '{name}'. Put extra data in customFields (defined by an admin). Known fields: {string.Join(", ", KnownFields)}.");
                continue;
            }
            string? text = value.ValueKind switch
            {
                JsonValueKind.String => ApiString(value, errors, path),
                JsonValueKind.Null => null,
                JsonValueKind.Number when name is "companySize" => value.GetRawText(),
                _ => Invalid(errors, path, name is "companySize" ? "Expected a whole number." : "Expected a string."),
            };
            Set(input, name, text, errors, path);
        }
        Finish(input, errors, prefix);
        return input;
    }

    /// <summary>
    /// A JSON string of the authenticated API: text with a NUL or an unpaired surrogate is a field error (the caller is a program
    /// that can fix its data), never cleaned silently (decision 016).
    /// </summary>
    internal static string? ApiString(JsonElement value, FieldErrors errors, string path)
    {
        var text = Platform.SafeText.GetString(value, out var repaired);
        return repaired ? Invalid(errors, path, Platform.SafeText.Rejected) : text;
    }

    /// <summary>
    /// Builds an input from string fields (form posts, mapped webhook payloads, CSV rows). Unknown names go to <see cref="LeadInput.Extra"/>.
    /// These are public channels: a NUL or an unpaired surrogate is cleaned away and the lead kept (decision 016).
    /// </summary>
    /// <param name="phoneRegion">Region (ISO alpha-2) for phone numbers written without a country code when the lead has no country.</param>
    /// <param name="keepLead">
    /// Imports and webhooks: a value that cannot be normalised becomes a <see cref="LeadInput.Warnings">warning</see> and the lead is kept;
    /// only a missing identifier is an error.
    /// </param>
    public static LeadInput FromFields(IEnumerable<KeyValuePair<string, string?>> fields, FieldErrors errors, IReadOnlySet<string>? customKeys = null,
        string? phoneRegion = null, bool keepLead = false)
    {
        if (!keepLead)
            return FromFieldsCore(fields, errors, customKeys, phoneRegion, null);
        var all = new FieldErrors();
        var raw = new Dictionary<string, string?>(StringComparer.Ordinal);
        var input = FromFieldsCore(fields, all, customKeys, phoneRegion, raw);
        input.KeepOnFieldErrors = true;
        if (!input.HasIdentifier)
        {
            foreach (var (field, messages) in all.ToDictionary())
                foreach (var message in messages)
                    errors.Add(field, message);
            return input;
        }
        foreach (var (field, messages) in all.ToDictionary())
            input.NotKept(field, raw.GetValueOrDefault(field), string.Join(" ", messages));
        return input;
    }

    private static LeadInput FromFieldsCore(IEnumerable<KeyValuePair<string, string?>> fields, FieldErrors errors, IReadOnlySet<string>? customKeys,
        string? phoneRegion, Dictionary<string, string?>? raw)
    {
        var input = new LeadInput();
        bool? optIn = null, doNotEmail = null, doNotCall = null;
        string? consentText = null;
        foreach (var (rawName, rawValue) in fields)
        {
            var name = Platform.SafeText.Clean(rawName);
            var value = Platform.SafeText.CleanOrNull(rawValue);
            raw?.TryAdd(name, value);
            if (MaxLengths.ContainsKey(name))
                Set(input, name, value, errors, name);
            else if (name.StartsWith("customFields.", StringComparison.Ordinal))
                input.CustomFields[name["customFields.".Length..]] = value;
            else if (customKeys?.Contains(name) == true)
                input.CustomFields[name] = value;
            else if (name is "consent.emailOptIn" or "emailOptIn")
                optIn = ParseBool(value, errors, name);
            else if (name is "consent.doNotEmail" or "doNotEmail")
                doNotEmail = ParseBool(value, errors, name);
            else if (name is "consent.doNotCall" or "doNotCall")
                doNotCall = ParseBool(value, errors, name);
            else if (name is "consent.text")
                consentText = value;
            else
                input.Extra[name] = value;
        }
        if (optIn is not null || doNotEmail is not null || doNotCall is not null)
            input.Consent = new ConsentInput(optIn, doNotEmail, doNotCall, consentText);
        Finish(input, errors, "", phoneRegion);
        return input;
    }

    private static string? Invalid(FieldErrors errors, string path, string message)
    {
        errors.Add(path, message);
        return null;
    }

    private static ConsentInput? ParseConsent(JsonElement value, FieldErrors errors, string path)
    {
        if (value.ValueKind == JsonValueKind.Null)
            return null;
        if (value.ValueKind != JsonValueKind.Object)
        {
            errors.Add(path, "Expected an object: { emailOptIn, doNotEmail, doNotCall, text }.");
            return null;
        }
        bool? optIn = null, doNotEmail = null, doNotCall = null;
        string? text = null;
        foreach (var p in value.EnumerateObject())
        {
            var at = $"{path}.{p.Name}";
            switch (p.Name)
            {
                case "emailOptIn": optIn = JsonBool(p.Value, errors, at); break;
                case "doNotEmail": doNotEmail = JsonBool(p.Value, errors, at); break;
                case "doNotCall": doNotCall = JsonBool(p.Value, errors, at); break;
                case "text":
                    text = p.Value.ValueKind == JsonValueKind.String ? ApiString(p.Value, errors, at) : Invalid(errors, at, "Expected a string.");
                    if (text?.Length > 2000)
                        errors.Add(at, "At most 2000 characters.");
                    break;
                default: errors.Add(at, "Unknown consent field; expected emailOptIn, doNotEmail, doNotCall or text."); break;
            }
        }
        return new ConsentInput(optIn, doNotEmail, doNotCall, text);
    }

    private static bool? JsonBool(JsonElement value, FieldErrors errors, string path) => value.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        _ => InvalidBool(errors, path),
    };

    private static bool? InvalidBool(FieldErrors errors, string path)
    {
        errors.Add(path, "Expected true or false.");
        return null;
    }

    internal static bool? ParseBool(string? value, FieldErrors errors, string path)
    {
        var v = value?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(v))
            return null;
        if (v is "true" or "1" or "yes" or "on" or "oui" or "y" or "checked")
            return true;
        if (v is "false" or "0" or "no" or "off" or "non" or "n")
            return false;
        return InvalidBool(errors, path);
    }

    private static void Set(LeadInput input, string name, string? raw, FieldErrors errors, string path)
    {
        var value = raw?.Trim();
        if (string.IsNullOrEmpty(value))
            return;
        if (value.Length > MaxLengths[name])
        {
            errors.Add(path, $"At most {MaxLengths[name]} characters.");
            return;
        }
        switch (name)
        {
            case "email": input.Email = value; break;
            case "phone": input.Phone = value; break;
            case "externalId": input.ExternalId = value; break;
            case "externalSystem": input.ExternalSystem = value.ToLowerInvariant(); break;
            case "firstName": input.FirstName = value; break;
            case "lastName": input.LastName = value; break;
            case "company": input.Company = value; break;
            case "jobTitle": input.JobTitle = value; break;
            case "industry": input.Industry = value; break;
            case "country": input.Country = value; break;
            case "city": input.City = value; break;
            case "language": input.Language = value.ToLowerInvariant(); break;
            case "utmSource": input.UtmSource = value; break;
            case "utmMedium": input.UtmMedium = value; break;
            case "utmCampaign": input.UtmCampaign = value; break;
            case "utmTerm": input.UtmTerm = value; break;
            case "utmContent": input.UtmContent = value; break;
            case "referrer": input.Referrer = value; break;
            case "landingPage": input.LandingPage = value; break;
            case "companySize":
                if (int.TryParse(value.Replace(" ", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var size) && size >= 0)
                    input.CompanySize = size;
                else if (CompanySizeRange(value) is { } mid)
                    input.CompanySize = mid;
                else
                    errors.Add(path, "Expected a whole number of employees (or a range such as 51-200).");
                break;
            case "campaignId":
                if (Guid.TryParse(value, out var id))
                    input.CampaignId = id;
                else
                    errors.Add(path, "Expected a campaign id (UUID).");
                break;
            case "occurredAt":
                if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                    input.OccurredAt = at.ToUniversalTime();
                else
                    errors.Add(path, "Expected an ISO 8601 date and time.");
                break;
            default:
                errors.Add(path, "Unknown field.");
                break;
        }
    }

    /// <summary>"51-200" → 200 (the upper bound: fit rules ask "at least N employees"); "1000+" → 1000.</summary>
    private static int? CompanySizeRange(string value)
    {
        var v = value.Replace(" ", "", StringComparison.Ordinal).TrimEnd('+');
        var parts = v.Split(['-', '–'], 2);
        return parts.Length switch
        {
            2 when int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var hi) && hi >= 0 => hi,
            1 when value.EndsWith('+') && int.TryParse(parts[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var lo) && lo >= 0 => lo,
            _ => null,
        };
    }

    /// <summary>Normalises identifiers and the country, and checks the lead can be identified.</summary>
    private static void Finish(LeadInput input, FieldErrors errors, string prefix, string? phoneRegion = null)
    {
        if (input.Country is not null)
        {
            var (country, error) = Normalize.Country(input.Country);
            if (error is not null) errors.Add(prefix + "country", error);
            input.Country = country;
        }
        if (input.Email is not null)
        {
            var (email, error) = Normalize.Email(input.Email);
            if (error is not null) errors.Add(prefix + "email", error);
            input.Email = email;
        }
        if (input.Phone is not null)
        {
            var (phone, error) = Normalize.Phone(input.Phone, input.Country ?? phoneRegion);
            if (error is not null) errors.Add(prefix + "phone", error);
            input.Phone = phone;
        }
        if ((input.ExternalId is null) != (input.ExternalSystem is null))
        {
            errors.Add(prefix + (input.ExternalId is null ? "externalId" : "externalSystem"), "externalId and externalSystem go together.");
            // The pair is one identifier: half of it is not kept.
            input.ExternalId = input.ExternalSystem = null;
        }
        if (!input.HasIdentifier && !errors.HasAny(prefix + "email") && !errors.HasAny(prefix + "phone"))
            errors.Add(prefix + "email", "A lead needs at least one identifier: email, phone, or externalSystem + externalId.");
    }
}

/// <summary>Field errors keyed by field path (camelCase, dotted for nested and batch items: <c>items[3].email</c>).</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public void Add(string field, string message)
    {
        if (!_errors.TryGetValue(field, out var list))
            _errors[field] = list = [];
        list.Add(message);
    }

    public bool Any => _errors.Count > 0;
    public bool HasAny(string field) => _errors.ContainsKey(field);
    public int Count => _errors.Count;

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);

    public string Summary() => string.Join("; ", _errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));
}
