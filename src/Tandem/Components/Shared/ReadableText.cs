using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Localization;

namespace Tandem.Components.Shared;

/// <summary>
/// Turns the codes stored with a lead's history (activity sources, transition rules, activity properties) into text for
/// people, in the reader's language. Anything it does not recognise is shown as stored, never as JSON.
/// </summary>
public static partial class ReadableText
{
    /// <summary>"form:Ab12" → "Web form «Request a demo»", "import:…" → "CSV import", "sales" → "Sales", "webhook:Typeform" → "Webhook «Typeform»".</summary>
    public static string Source(string? source, IReadOnlyDictionary<string, string> formNamesByKey, IStringLocalizer l)
    {
        if (string.IsNullOrWhiteSpace(source))
            return "";
        var (kind, rest) = source.IndexOf(':') is var i and > 0 ? (source[..i], source[(i + 1)..]) : (source, "");
        return kind switch
        {
            "form" => l["Source.Form", formNamesByKey.GetValueOrDefault(rest) ?? l["Source.UnknownForm"]],
            "webhook" => l["Source.Webhook", rest],
            "import" => l["Source.Import"],
            "api" => l["Source.Api"],
            "sales" => l["Source.Sales"],
            "capture" => Source(rest, formNamesByKey, l),
            _ => source,
        };
    }

    /// <summary>Who or what moved a lead: the rule stored on the transition, in words.</summary>
    public static string Rule(string? rule, IReadOnlyDictionary<string, string> formNamesByKey, IStringLocalizer l)
    {
        if (string.IsNullOrWhiteSpace(rule))
            return "";
        if (rule.StartsWith("capture:", StringComparison.Ordinal))
            return l["Rule.Capture", Source(rule["capture:".Length..], formNamesByKey, l)];
        if (rule.StartsWith("manual:", StringComparison.Ordinal))
            return l["Rule.Manual"];
        if (rule.StartsWith("handoff:reject:", StringComparison.Ordinal))
            return l["Rule.Rejected", RejectReason(rule["handoff:reject:".Length..], l)];
        if (rule == "handoff:cadence")
            return l["Rule.Cadence"];
        if (QualificationRule().Match(rule) is { Success: true } m)
            return l["Rule.Qualification", m.Groups[1].Value, m.Groups[2].Value];
        return rule;
    }

    /// <summary>A transition's reason; a rejection's "NoBudget: next year" becomes "No budget: next year".</summary>
    public static string? Reason(string? rule, string? reason, IStringLocalizer l)
    {
        if (reason is null || rule is null || !rule.StartsWith("handoff:reject:", StringComparison.Ordinal))
            return reason;
        var code = rule["handoff:reject:".Length..];
        return reason == code ? RejectReason(code, l)
            : reason.StartsWith(code + ": ", StringComparison.Ordinal) ? $"{RejectReason(code, l)}: {reason[(code.Length + 2)..]}"
            : reason;
    }

    public static string RejectReason(string code, IStringLocalizer l) =>
        l[$"Reject.{code}"] is { ResourceNotFound: false } text ? text.Value : code;

    /// <summary>
    /// An activity's properties as labelled values: known keys get a label from the resources ("note" → "Note"), others keep
    /// their name; JSON escapes are decoded, true/false read as yes/no.
    /// </summary>
    public static List<(string Label, string Value)> Properties(string? json, IStringLocalizer l)
    {
        var result = new List<(string, string)>();
        if (string.IsNullOrWhiteSpace(json))
            return result;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                return [(l["Activity.Details"], json)];
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                var label = p.Name.StartsWith(Features.Capture.LeadInput.NotKeptPrefix, StringComparison.Ordinal)
                    ? l["Activity.NotKept", FieldLabel(p.Name[Features.Capture.LeadInput.NotKeptPrefix.Length..], l)].Value
                    : l[$"Activity.Property.{p.Name}"] is { ResourceNotFound: false } known ? known.Value : p.Name;
                if (p.Name == Features.Capture.CaptureContext.UpdatedByImportProperty && p.Value.ValueKind == JsonValueKind.String)
                {
                    result.Add((label, string.Join(", ", (p.Value.GetString() ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
                        .Select(f => FieldLabel(f, l)))));
                    continue;
                }
                var value = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString() ?? "",
                    JsonValueKind.True => l["Common.Yes"],
                    JsonValueKind.False => l["Common.No"],
                    JsonValueKind.Null => "—",
                    JsonValueKind.Number => p.Value.TryGetDecimal(out var d) ? d.ToString(CultureInfo.CurrentCulture) : p.Value.GetRawText(),
                    _ => string.Join(", ", Flatten(p.Value)),
                };
                if (p.Value.ValueKind == JsonValueKind.String && value is "true" or "false")
                    value = value == "true" ? l["Common.Yes"] : l["Common.No"];
                result.Add((label, value));
            }
        }
        catch (JsonException)
        {
            result.Add((l["Activity.Details"], json));
        }
        return result;
    }

    /// <summary>A lead field's name for people ("country" → "Country" / "Pays"); a custom field keeps its key.</summary>
    public static string FieldLabel(string field, IStringLocalizer l)
    {
        if (field.StartsWith("customFields.", StringComparison.Ordinal))
            return field["customFields.".Length..];
        return l[$"LeadField.{field}"] is { ResourceNotFound: false } known ? known.Value : field;
    }

    private static IEnumerable<string> Flatten(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => e.EnumerateArray().SelectMany(Flatten),
        JsonValueKind.Object => e.EnumerateObject().Select(p => $"{p.Name}: {string.Join(", ", Flatten(p.Value))}"),
        JsonValueKind.String => [e.GetString() ?? ""],
        _ => [e.GetRawText()],
    };

    [GeneratedRegex(@"^qualification v(\d+) · MQL condition (\d+)$")]
    private static partial Regex QualificationRule();
}
