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

    [GeneratedRegex("^extra\\.[A-Za-z0-9_.-]{1,60}$")]
    private static partial Regex ExtraTarget();
}
