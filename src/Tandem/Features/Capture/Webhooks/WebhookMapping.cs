using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Tandem.Features.Capture.Webhooks;

/// <summary>HMAC-SHA256 over the raw body, as Typeform, GitHub-style and Meta senders sign their deliveries.</summary>
public static class WebhookSignature
{
    public static string Compute(ReadOnlySpan<byte> body, string secret, SignatureEncoding encoding, string prefix = "")
    {
        var mac = HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), body);
        return prefix + (encoding == SignatureEncoding.Hex ? Convert.ToHexStringLower(mac) : Convert.ToBase64String(mac));
    }

    public const string HubSpotV3Header = "X-HubSpot-Signature-v3";
    public const string HubSpotTimestampHeader = "X-HubSpot-Request-Timestamp";
    public const string WebflowHeader = "x-webflow-signature";
    public const string WebflowTimestampHeader = "x-webflow-timestamp";
    /// <summary>HubSpot and Webflow reject (and so do we) a signed request whose timestamp is older than this.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Verifies a delivery with the scheme its signature header names: HubSpot v3 (base64 HMAC-SHA256 of method + URI + body +
    /// timestamp, <c>X-HubSpot-Request-Timestamp</c> in ms) and Webflow (hex HMAC-SHA256 of <c>timestamp:body</c>,
    /// <c>x-webflow-timestamp</c> in ms) are timestamped and refused after <see cref="MaxAge"/>; any other header carries the HMAC of the body.
    /// Returns null when the delivery is authentic, else why it is not.
    /// </summary>
    public static string? Check(string signatureHeader, string prefix, SignatureEncoding encoding, string secret, ReadOnlySpan<byte> body,
        Func<string, string?> header, string method, IReadOnlyList<string> uris, DateTimeOffset now)
    {
        var given = header(signatureHeader);
        if (signatureHeader.Equals(HubSpotV3Header, StringComparison.OrdinalIgnoreCase) || signatureHeader.Equals(WebflowHeader, StringComparison.OrdinalIgnoreCase))
        {
            var hubspot = signatureHeader.Equals(HubSpotV3Header, StringComparison.OrdinalIgnoreCase);
            var timestampHeader = hubspot ? HubSpotTimestampHeader : WebflowTimestampHeader;
            var timestamp = header(timestampHeader)?.Trim();
            if (!long.TryParse(timestamp, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms))
                return $"The {timestampHeader} header is missing or not a number of milliseconds.";
            var at = DateTimeOffset.FromUnixTimeMilliseconds(Math.Clamp(ms, 0, 253402300799999));
            if (now - at > MaxAge || at - now > MaxAge)
                return $"The {timestampHeader} header is more than {MaxAge.TotalMinutes:0} minutes away from now: the delivery is refused as a possible replay.";
            var text = System.Text.Encoding.UTF8.GetString(body);
            var candidates = hubspot ? uris.Select(uri => method + uri + text + timestamp) : [timestamp + ":" + text];
            foreach (var content in candidates)
                if (Verify(System.Text.Encoding.UTF8.GetBytes(content), secret, given, hubspot ? SignatureEncoding.Base64 : SignatureEncoding.Hex))
                    return null;
            return hubspot
                ? $"The {signatureHeader} header does not match the HMAC-SHA256 of method, URI, body and timestamp."
                : $"The {signatureHeader} header does not match the HMAC-SHA256 of timestamp:body.";
        }
        return Verify(body, secret, given, encoding, prefix) ? null
            : $"The {signatureHeader} header is missing or does not match the HMAC-SHA256 of the body.";
    }

    /// <summary>True when <paramref name="header"/> carries the HMAC of <paramref name="body"/>; compared in constant time.</summary>
    public static bool Verify(ReadOnlySpan<byte> body, string secret, string? header, SignatureEncoding encoding, string prefix = "")
    {
        var value = header?.Trim();
        if (string.IsNullOrEmpty(value))
            return false;
        if (prefix.Length > 0)
        {
            if (!value.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                return false;
            value = value[prefix.Length..];
        }
        byte[] given;
        try
        {
            given = encoding == SignatureEncoding.Hex ? Convert.FromHexString(value) : Convert.FromBase64String(value);
        }
        catch (FormatException)
        {
            return false;
        }
        var expected = HMACSHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret), body);
        return CryptographicOperations.FixedTimeEquals(expected, given);
    }
}

/// <summary>Turns a webhook payload into lead fields with the source's mapping rules. Pure: no database, no clock.</summary>
public static partial class WebhookMapper
{
    /// <summary>Splits "Jean-Pierre Dupont" into first and last name (Meta and others send one full-name field).</summary>
    public const string FullNameTarget = "fullName";

    public static readonly IReadOnlyList<string> ConsentTargets = ["consent.emailOptIn", "consent.doNotEmail", "consent.doNotCall", "consent.text"];

    /// <summary>Every target a mapping may write, besides custom fields and <c>extra.*</c>.</summary>
    public static IReadOnlyList<string> StandardTargets { get; } =
        [.. LeadInputParser.MaxLengths.Keys.Where(k => k != "campaignId"), FullNameTarget, .. ConsentTargets];

    /// <summary>Checks mapping rules; errors are keyed <c>mappings[i].target</c> / <c>mappings[i].path</c>.</summary>
    public static void Validate(IReadOnlyList<FieldMapping>? mappings, IReadOnlySet<string> customKeys, FieldErrors errors)
    {
        if (mappings is null || mappings.Count == 0)
        {
            errors.Add("mappings", "Add at least one mapping rule (e.g. email ← $.email).");
            return;
        }
        if (mappings.Count > 100)
            errors.Add("mappings", "At most 100 mapping rules.");
        for (var i = 0; i < mappings.Count; i++)
        {
            var m = mappings[i];
            if (!IsKnownTarget(m.Target, customKeys))
                errors.Add($"mappings[{i}].target", $"Unknown target '{m.Target}'. Use a lead field ({string.Join(", ", StandardTargets)}), a custom field key, or extra.<name>.");
            if (m.Path is { Length: > 500 })
                errors.Add($"mappings[{i}].path", "At most 500 characters.");
            else if (JsonPathLite.TryParse(m.Path, out var error) is null)
                errors.Add($"mappings[{i}].path", error!);
        }
        if (!mappings.Any(m => m.Target is "email" or "phone" or "externalId"))
            errors.Add("mappings", "Map at least one identifier: email, phone or externalId.");
    }

    public static bool IsKnownTarget(string? target, IReadOnlySet<string> customKeys) =>
        !string.IsNullOrWhiteSpace(target) &&
        (StandardTargets.Contains(target) || customKeys.Contains(target) ||
         (target.StartsWith("customFields.", StringComparison.Ordinal) && customKeys.Contains(target["customFields.".Length..])) ||
         ExtraTarget().IsMatch(target));

    /// <summary>
    /// Evaluates every rule against <paramref name="root"/>. The first rule that yields a value wins for its target,
    /// so a second rule can serve as a fallback. Returns the fields for <see cref="LeadInputParser.FromFields"/>.
    /// </summary>
    public static List<KeyValuePair<string, string?>> Map(JsonElement root, IReadOnlyList<FieldMapping> mappings, FieldErrors errors)
    {
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        var order = new List<string>();
        for (var i = 0; i < mappings.Count; i++)
        {
            var m = mappings[i];
            if (values.TryGetValue(m.Target, out var already) && already is not null)
                continue;
            var path = JsonPathLite.TryParse(m.Path, out var error);
            if (path is null)
            {
                errors.Add($"mappings[{i}].path", error!);
                continue;
            }
            if (!values.ContainsKey(m.Target))
                order.Add(m.Target);
            values[m.Target] = path.SelectText(root);
        }
        var fields = new List<KeyValuePair<string, string?>>();
        foreach (var target in order)
        {
            var value = values[target];
            if (value is null)
                continue;
            if (target == FullNameTarget)
            {
                var parts = value.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length > 0 && values.GetValueOrDefault("firstName") is null)
                    fields.Add(new("firstName", parts[0]));
                if (parts.Length > 1 && values.GetValueOrDefault("lastName") is null)
                    fields.Add(new("lastName", parts[1]));
                continue;
            }
            fields.Add(new(target, value));
        }
        return fields;
    }

    /// <summary>Maps a payload and parses the result into a lead input; every problem lands in <paramref name="errors"/>.</summary>
    public static LeadInput ToLeadInput(JsonElement root, IReadOnlyList<FieldMapping> mappings, IReadOnlySet<string> customKeys, FieldErrors errors) =>
        LeadInputParser.FromFields(Map(root, mappings, errors), errors, customKeys);

    /// <summary>
    /// Maps a delivery the way the webhook endpoint does: a value that cannot be normalised is a warning on the input (the lead is
    /// kept); only a missing identifier is an error, and it says which mapping rules were looked at.
    /// </summary>
    public static LeadInput ToLeadInputKeepingLead(JsonElement root, IReadOnlyList<FieldMapping> mappings, IReadOnlySet<string> customKeys,
        FieldErrors errors, string? phoneRegion)
    {
        var fields = Map(root, mappings, errors);
        var parsed = new FieldErrors();
        var input = LeadInputParser.FromFields(fields, parsed, customKeys, phoneRegion, keepLead: true);
        if (!parsed.Any)
            return input;
        var looked = mappings.Where(m => m.Target is "email" or "phone" or "externalId").Select(m => $"{m.Target} ← {m.Path}").ToList();
        var found = fields.Where(f => f.Key is "email" or "phone" or "externalId" && !string.IsNullOrWhiteSpace(f.Value)).Select(f => f.Key).Distinct().ToList();
        errors.Add("identifier", found.Count == 0
            ? $"No email, phone or external id in the payload: looked at {(looked.Count == 0 ? "no mapping rule (add one for email, phone or externalId)" : string.Join(", ", looked))}."
            : $"No usable email, phone or external id in the payload (found {string.Join(", ", found)}, but not valid; looked at {string.Join(", ", looked)}).");
        foreach (var (field, messages) in parsed.ToDictionary())
            foreach (var message in messages.Where(m => !m.StartsWith("A lead needs", StringComparison.Ordinal)))
                errors.Add(field, message);
        return input;
    }

    [GeneratedRegex("^extra\\.[A-Za-z0-9_.-]{1,60}$")]
    private static partial Regex ExtraTarget();
}
