using System.Text;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Options of one import, as sent by the client (JSON) and stored on the job. Every member is optional:
/// without a mapping the suggested one is used.
/// </summary>
/// <param name="Mapping">Column name (as detected, see preview) → target field; null or "" ignores the column.</param>
/// <param name="StageValues">Value of the stage column → lifecycle stage name (e.g. "Closed Won" → "Customer").</param>
/// <param name="Placeholders">Values treated as empty (case-insensitive); defaults to <see cref="ImportMapping.DefaultPlaceholders"/>.</param>
/// <param name="ExternalSystem">System the externalId column comes from (e.g. "hubspot"), when no column gives it.</param>
public sealed record ImportSettings(
    Dictionary<string, string?>? Mapping = null,
    Dictionary<string, string>? StageValues = null,
    List<string>? Placeholders = null,
    MergePolicy? Policy = null,
    bool? DryRun = null,
    string? ExternalSystem = null,
    string? Delimiter = null,
    string? Encoding = null,
    string? PhoneRegion = null,
    string? Preset = null,
    Dictionary<string, string>? WorkStatusValues = null);

/// <summary>A suggested target for a column, and an external system guessed from the header (Record ID → hubspot).</summary>
public sealed record MappingSuggestion(string Column, string? Field, string? ExternalSystem = null);

/// <summary>A validated mapping, ready to turn rows into <see cref="LeadInput"/>.</summary>
public sealed record ImportPlan(
    IReadOnlyList<string> Headers,
    IReadOnlyList<(int Index, string Column, string Field)> Columns,
    IReadOnlyDictionary<string, LifecycleStage> StageValues,
    IReadOnlySet<string> Placeholders,
    string? ExternalSystem,
    MergePolicy Policy,
    string? PhoneRegion = null,
    IReadOnlyDictionary<string, WorkStatus>? WorkStatusValues = null)
{
    /// <summary>The CRM preset the mapping came from (chosen or detected from the headers), or null.</summary>
    public string? Preset { get; init; }
}

/// <summary>One problem on one row of the file; a warning when the row was imported without that value.</summary>
public sealed record RowProblem(int Row, string? Column, string? Field, string? Value, string Message, bool Warning = false);

/// <summary>
/// Pure rules of CSV import: which fields a column can map to, what common CRM export headers mean,
/// value maps for the lifecycle stage, placeholders, and turning a row into a <see cref="LeadInput"/>.
/// </summary>
public static class ImportMapping
{
    public const string Stage = "stage";
    /// <summary>The lead's work status within MQL (New, Attempting, Connected…), from a CRM's status column.</summary>
    public const string WorkStatusField = "workStatus";
    /// <summary>One column with the whole name ("Jean-Pierre Dupont"), split into first and last name.</summary>
    public const string FullName = "fullName";
    public const string ExtraPrefix = "extra.";
    public const string CustomPrefix = "customFields.";

    public static readonly IReadOnlyList<string> DefaultPlaceholders = ["", "-", "--", "N/A", "n/a", "NA", "null", "none", "Select", "(none)", "#N/A"];

    public static readonly IReadOnlyList<string> IdentifierFields = ["email", "phone", "externalId"];

    /// <summary>Fields a column can map to (besides customFields.&lt;key&gt; and extra.&lt;name&gt;).</summary>
    public static readonly IReadOnlyList<string> Fields =
    [
        .. LeadInputParser.MaxLengths.Keys, Stage, WorkStatusField, FullName, "emailOptIn", "doNotEmail", "doNotCall", "consent.text",
        .. ImportHistory.Fields,
    ];

    /// <summary>Normalised header (lower case, no accents, letters and digits only) → field; the first list wins over later ones.</summary>
    private static readonly (string Field, string[] Headers)[] Synonyms =
    [
        ("email", ["email", "emailaddress", "e-mail", "mail", "courriel", "adresseemail", "adressemail", "adressee-mail", "workemail"]),
        ("firstName", ["firstname", "first", "givenname", "prenom"]),
        ("lastName", ["lastname", "last", "surname", "familyname", "nom", "nomdefamille"]),
        ("phone", ["phone", "phonenumber", "telephone", "tel", "mobilephone", "mobile", "mobilephonenumber", "portable", "numerodetelephone", "businessphone"]),
        ("company", ["company", "companyname", "account", "accountname", "organisation", "organization", "societe", "entreprise", "nomdelentreprise", "raisonsociale"]),
        ("jobTitle", ["title", "jobtitle", "fonction", "poste", "titre", "intituledeposte"]),
        ("utmSource", ["leadsource", "source", "originalsource", "sourcedelead", "sourceduprospect", "utmsource"]),
        ("utmMedium", ["medium", "utmmedium"]),
        ("utmCampaign", ["campaign", "campaignname", "utmcampaign", "campagne"]),
        (Stage, ["lifecyclestage", "stage", "lifecycle", "etapeducycledevie", "phaseducycledevie", "cycledevie"]),
        (Stage, ["leadstatus", "status", "statut", "statutduprospect", "statutdulead"]),
        ("country", ["country", "countryregion", "pays", "mailingcountry", "billingcountry"]),
        ("city", ["city", "ville", "mailingcity", "billingcity"]),
        ("industry", ["industry", "secteur", "secteurdactivite", "industrie"]),
        ("companySize", ["numberofemployees", "employees", "companysize", "employeecount", "nombredemployes", "nombredesalaries", "effectif", "taille"]),
        ("language", ["language", "langue", "preferredlanguage"]),
        ("externalId", ["recordid", "leadid", "contactid", "externalid"]),
        ("externalSystem", ["externalsystem", "system"]),
        ("occurredAt", ["createdate", "createddate", "datedecreation", "creedate", "occurredat"]),
        ("landingPage", ["landingpage", "firstpageseen", "pagedentree"]),
        ("referrer", ["referrer", "referringsite", "firstreferringsite"]),
        ("emailOptIn", ["emailoptin", "optin", "marketingemailconsent"]),
        ("doNotEmail", ["emailoptout", "donotemail", "unsubscribed", "hasoptedoutofemail"]),
        ("doNotCall", ["donotcall"]),
        (ExtraPrefix + "website", ["website", "websiteurl", "siteweb", "siteinternet", "url"]),
    ];

    private static readonly Dictionary<string, string> ExternalSystems = new(StringComparer.Ordinal)
    {
        ["recordid"] = "hubspot",
        ["contactid"] = "hubspot",
        ["leadid"] = "salesforce",
    };

    /// <summary>Stage names and the values CRMs export (HubSpot internal names, Salesforce statuses, French labels).</summary>
    private static readonly Dictionary<string, LifecycleStage> KnownStageValues = new(StringComparer.OrdinalIgnoreCase)
    {
        ["subscriber"] = LifecycleStage.Subscriber,
        ["abonne"] = LifecycleStage.Subscriber,
        ["lead"] = LifecycleStage.Lead,
        ["prospect"] = LifecycleStage.Lead,
        ["mql"] = LifecycleStage.Mql,
        ["marketingqualifiedlead"] = LifecycleStage.Mql,
        ["sql"] = LifecycleStage.Sql,
        ["salesqualifiedlead"] = LifecycleStage.Sql,
        ["opportunity"] = LifecycleStage.Opportunity,
        ["opportunite"] = LifecycleStage.Opportunity,
        ["customer"] = LifecycleStage.Customer,
        ["client"] = LifecycleStage.Customer,
        ["closedwon"] = LifecycleStage.Customer,
        ["advocate"] = LifecycleStage.Advocate,
        ["evangelist"] = LifecycleStage.Advocate,
        ["ambassadeur"] = LifecycleStage.Advocate,
        ["recycled"] = LifecycleStage.Recycled,
        ["recycle"] = LifecycleStage.Recycled,
        ["disqualified"] = LifecycleStage.Disqualified,
        ["disqualifie"] = LifecycleStage.Disqualified,
        ["unqualified"] = LifecycleStage.Disqualified,
    };

    /// <summary>"Prénom " → "prenom", "E-mail Address" → "emailaddress".</summary>
    public static string Key(string header)
    {
        var decomposed = header.Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
            if (char.IsAsciiLetterOrDigit(c))
                sb.Append(char.ToLowerInvariant(c));
        return sb.ToString();
    }

    /// <summary>
    /// Suggests a field for each column from its header. A field is suggested once (the column with the better
    /// synonym wins; on a tie, the first column); a header equal to a custom field key maps to that custom field.
    /// </summary>
    public static IReadOnlyList<MappingSuggestion> Suggest(IReadOnlyList<string> headers, IReadOnlySet<string>? customKeys = null, ImportPreset? preset = null)
    {
        if (preset is not null)
        {
            // The preset's columns first (each field once), then the usual suggestions for the columns it does not know.
            var usual = Suggest(headers, customKeys);
            var used = new HashSet<string>(StringComparer.Ordinal);
            var fromPreset = headers.Select(h => preset.Headers.TryGetValue(Key(h), out var f) && used.Add(f) ? f : null).ToList();
            return [.. headers.Select((h, i) => fromPreset[i] is { } f
                ? new MappingSuggestion(h, f, f == "externalId" ? preset.ExternalSystem : null)
                : usual[i].Field is { } u && !used.Contains(u) && !preset.Headers.ContainsKey(Key(h)) ? usual[i] : new MappingSuggestion(h, null))];
        }
        var candidates = new List<(int Column, string Field, int Rank, string? System)>();
        var customByKey = (customKeys ?? new HashSet<string>()).ToDictionary(Key, k => k, StringComparer.Ordinal);
        for (var c = 0; c < headers.Count; c++)
        {
            var key = Key(headers[c]);
            if (key.Length == 0)
                continue;
            if (customByKey.TryGetValue(key, out var custom))
            {
                candidates.Add((c, CustomPrefix + custom, -1, null));
                continue;
            }
            for (var rank = 0; rank < Synonyms.Length; rank++)
            {
                var (field, names) = Synonyms[rank];
                var at = Array.IndexOf(names, key);
                if (at < 0)
                    continue;
                candidates.Add((c, field, rank * 100 + at, ExternalSystems.GetValueOrDefault(key)));
                break;
            }
        }
        var chosen = new Dictionary<int, (string Field, string? System)>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (column, field, _, system) in candidates.OrderBy(x => x.Rank).ThenBy(x => x.Column))
            if (taken.Add(field))
                chosen[column] = (field, system);
        return [.. headers.Select((h, i) => chosen.TryGetValue(i, out var f) ? new MappingSuggestion(h, f.Field, f.System) : new MappingSuggestion(h, null))];
    }

    /// <summary>The suggested mapping as the options of an import would carry it.</summary>
    public static Dictionary<string, string?> SuggestedMapping(IReadOnlyList<string> headers, IReadOnlySet<string>? customKeys = null, ImportPreset? preset = null) =>
        Suggest(headers, customKeys, preset).ToDictionary(s => s.Column, s => s.Field, StringComparer.Ordinal);

    /// <summary>A stage from a raw value: the import's value map first (case-insensitive), then stage names and common CRM values.</summary>
    public static LifecycleStage? ParseStage(string value, IReadOnlyDictionary<string, LifecycleStage> valueMap)
    {
        var trimmed = value.Trim();
        if (valueMap.TryGetValue(trimmed, out var mapped))
            return mapped;
        if (Enum.TryParse<LifecycleStage>(trimmed, ignoreCase: true, out var named) && Enum.IsDefined(named) && !int.TryParse(trimmed, out _))
            return named;
        return KnownStageValues.TryGetValue(Key(trimmed), out var known) ? known : null;
    }

    public static bool IsPlaceholder(string? value, IReadOnlySet<string> placeholders) =>
        value is null || string.IsNullOrWhiteSpace(value) || placeholders.Contains(value.Trim());

    /// <summary>
    /// Checks the options against the file's headers and builds the plan. Errors are keyed like the request:
    /// <c>mapping.&lt;column&gt;</c>, <c>mapping</c>, <c>stageValues.&lt;value&gt;</c>, <c>externalSystem</c>.
    /// </summary>
    public static ImportPlan? Plan(IReadOnlyList<string> headers, ImportSettings settings, IReadOnlySet<string> customKeys, FieldErrors errors)
    {
        ImportPreset? preset = null;
        if (!string.IsNullOrWhiteSpace(settings.Preset) && !settings.Preset.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            preset = ImportPresets.Find(settings.Preset);
            if (preset is null)
                errors.Add("preset", $"Unknown preset '{settings.Preset}'. Known: {string.Join(", ", ImportPresets.All.Select(p => p.Id))} (or none).");
        }
        else if (settings.Preset is null)
            preset = ImportPresets.Detect(headers);
        var mapping = settings.Mapping ?? SuggestedMapping(headers, customKeys, preset);
        var columns = new List<(int, string, string)>();
        var byField = new Dictionary<string, string>(StringComparer.Ordinal);
        var headerIndex = headers.Select((h, i) => (h, i)).ToDictionary(x => x.h, x => x.i, StringComparer.OrdinalIgnoreCase);
        foreach (var (column, target) in mapping)
        {
            if (string.IsNullOrWhiteSpace(target))
                continue;
            var field = target.Trim();
            if (!headerIndex.TryGetValue(column, out var index))
            {
                errors.Add($"mapping.{column}", $"The file has no column '{column}'. Columns: {string.Join(", ", headers)}.");
                continue;
            }
            if (!IsKnownTarget(field, customKeys))
            {
                errors.Add($"mapping.{column}", $"Unknown field '{field}'. Map to one of: {string.Join(", ", Fields)}, customFields.<key> or extra.<name>.");
                continue;
            }
            if (byField.TryGetValue(field, out var other))
            {
                errors.Add($"mapping.{column}", $"Columns '{other}' and '{column}' both map to '{field}'; a field takes one column.");
                continue;
            }
            byField[field] = column;
            columns.Add((index, headers[index], field));
        }
        if (!errors.Any && !IdentifierFields.Any(byField.ContainsKey))
            errors.Add("mapping", "Map at least one identifier column: email, phone or externalId.");
        var externalSystem = string.IsNullOrWhiteSpace(settings.ExternalSystem) ? null : settings.ExternalSystem.Trim();
        if (byField.ContainsKey("externalId") && !byField.ContainsKey("externalSystem") && externalSystem is null)
        {
            var guessed = preset?.ExternalSystem ?? (settings.Mapping is null
                ? Suggest(headers, customKeys).FirstOrDefault(s => s.Field == "externalId")?.ExternalSystem
                : null);
            if (guessed is null)
                errors.Add("externalSystem", "externalId is mapped: say which system the ids come from (e.g. hubspot, salesforce).");
            externalSystem = guessed;
        }
        if (externalSystem?.Length > LeadInputParser.MaxLengths["externalSystem"])
            errors.Add("externalSystem", $"At most {LeadInputParser.MaxLengths["externalSystem"]} characters.");

        var stageValues = new Dictionary<string, LifecycleStage>(StringComparer.OrdinalIgnoreCase);
        foreach (var (raw, stageName) in preset?.StageValues ?? new Dictionary<string, string>())
            stageValues[raw] = Enum.Parse<LifecycleStage>(stageName);
        foreach (var (raw, stageName) in settings.StageValues ?? [])
        {
            if (Enum.TryParse<LifecycleStage>(stageName?.Trim(), ignoreCase: true, out var stage) && Enum.IsDefined(stage) && !int.TryParse(stageName, out _))
                stageValues[raw.Trim()] = stage;
            else
                errors.Add($"stageValues.{raw}", $"'{stageName}' is not a lifecycle stage. Expected one of: {string.Join(", ", Enum.GetNames<LifecycleStage>())}.");
        }
        var workStatuses = new Dictionary<string, WorkStatus>(StringComparer.OrdinalIgnoreCase);
        foreach (var (raw, statusName) in preset?.WorkStatusValues ?? new Dictionary<string, string>())
            workStatuses[raw] = Enum.Parse<WorkStatus>(statusName);
        foreach (var (raw, statusName) in settings.WorkStatusValues ?? [])
        {
            if (Enum.TryParse<WorkStatus>(statusName?.Trim(), ignoreCase: true, out var status) && Enum.IsDefined(status) && !int.TryParse(statusName, out _))
                workStatuses[raw.Trim()] = status;
            else
                errors.Add($"workStatusValues.{raw}", $"'{statusName}' is not a work status. Expected one of: {string.Join(", ", Enum.GetNames<WorkStatus>())}.");
        }
        var phoneRegion = CaptureSettingsApi.PhoneRegion(settings.PhoneRegion, errors, "phoneRegion");
        if (settings.Placeholders?.Any(p => p is null || p.Length > 100) == true)
            errors.Add("placeholders", "Placeholders are strings of at most 100 characters.");
        var placeholders = new HashSet<string>(settings.Placeholders?.Where(p => p is not null).Select(p => p.Trim()) ?? DefaultPlaceholders, StringComparer.OrdinalIgnoreCase);
        if (settings.Policy is { } p && !Enum.IsDefined(p))
            errors.Add("policy", "Expected Update, SkipExisting or CreateOnly.");
        if (errors.Any)
            return null;
        return new ImportPlan(headers, columns, stageValues, placeholders, externalSystem, settings.Policy ?? MergePolicy.Update, phoneRegion, workStatuses)
        {
            Preset = preset?.Id,
        };
    }

    private static bool IsKnownTarget(string field, IReadOnlySet<string> customKeys) =>
        Fields.Contains(field, StringComparer.Ordinal)
        || (field.StartsWith(CustomPrefix, StringComparison.Ordinal) && customKeys.Contains(field[CustomPrefix.Length..]))
        || (field.StartsWith(ExtraPrefix, StringComparison.Ordinal) && field.Length > ExtraPrefix.Length && field.Length <= 100);

    /// <summary>
    /// Turns one record into a lead input, or into the problems that stop it. Null input and no problems means
    /// an empty row (skipped). A row may have one field more or less than the header when the extra column is a
    /// trailing delimiter.
    /// </summary>
    public static (LeadInput? Input, List<RowProblem>? Problems) ToInput(ImportPlan plan, int row, IReadOnlyList<string> record, IReadOnlySet<string> customKeys)
    {
        var width = plan.Headers.Count;
        var trailingHeader = width > 0 && plan.Headers[^1] == $"Column {width}";
        var ok = record.Count == width
            || (record.Count == width + 1 && string.IsNullOrWhiteSpace(record[^1]))
            || (record.Count == width - 1 && trailingHeader);
        if (!ok)
            return (null, [new RowProblem(row, null, null, null, $"Expected {width} columns, found {record.Count}.")]);

        var fields = new List<KeyValuePair<string, string?>>(plan.Columns.Count + 1);
        // Values that cannot be read are warnings: the row is imported without them (only a missing identifier fails it).
        var notKept = new List<(string Field, string? Value, string Message)>();
        LifecycleStage? stage = null;
        WorkStatus? workStatus = null;
        ImportedHistory? history = null;
        string? fullName = null;
        var any = false;
        foreach (var (index, column, field) in plan.Columns)
        {
            var value = index < record.Count ? record[index] : null;
            if (IsPlaceholder(value, plan.Placeholders))
                continue;
            any = true;
            if (field == Stage)
            {
                stage = ParseStage(value!, plan.StageValues);
                if (stage is null)
                    notKept.Add((Stage, value, $"'{value!.Trim()}' is not a lifecycle stage; add it to the stage value map."));
                // One status column may say both (Salesforce's Lead Status): its work status too, unless a column of its own gives it.
                if (plan.WorkStatusValues?.TryGetValue(value!.Trim(), out var fromStatus) == true)
                    workStatus ??= fromStatus;
                continue;
            }
            if (field == WorkStatusField)
            {
                workStatus = plan.WorkStatusValues?.TryGetValue(value!.Trim(), out var ws) == true ? ws
                    : Enum.TryParse<WorkStatus>(value!.Trim(), ignoreCase: true, out var named) && Enum.IsDefined(named) && !int.TryParse(value, out _) ? named : null;
                if (workStatus is null)
                    notKept.Add((WorkStatusField, value, $"'{value!.Trim()}' is not a work status; add it to the work status value map."));
                continue;
            }
            if (field == FullName)
            {
                fullName = value;
                continue;
            }
            if (ImportHistory.IsHistoryField(field))
            {
                if (ImportHistory.Read(history ??= new ImportedHistory(), field, value!) is { } problem)
                    notKept.Add((field, value, problem));
                continue;
            }
            fields.Add(new(field.StartsWith(ExtraPrefix, StringComparison.Ordinal) ? field[ExtraPrefix.Length..] : field, value));
        }
        if (!any)
            return (null, null);
        if (fullName is not null)
        {
            var parts = fullName.Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length > 0 && !fields.Any(f => f.Key == "firstName"))
                fields.Add(new("firstName", parts[0]));
            if (parts.Length > 1 && !fields.Any(f => f.Key == "lastName"))
                fields.Add(new("lastName", parts[1]));
        }
        if (plan.ExternalSystem is not null && fields.Any(f => f.Key == "externalId") && !fields.Any(f => f.Key == "externalSystem"))
            fields.Add(new("externalSystem", plan.ExternalSystem));

        var errors = new FieldErrors();
        var input = LeadInputParser.FromFields(fields, errors, customKeys, plan.PhoneRegion, keepLead: true);
        if (errors.Any)
            return (null, [.. Problems(plan, row, record, errors.ToDictionary())]);
        // A customer whose export carries a deal amount or close date (HubSpot's "Recent Deal …") has won it.
        if (history is { Won: null } && (history.Amount is not null || history.CloseDate is not null) && stage is LifecycleStage.Customer or LifecycleStage.Advocate)
            history.Won = true;
        input.InitialStage = stage;
        input.InitialWorkStatus = workStatus;
        input.History = history;
        foreach (var (field, value, message) in notKept)
            input.NotKept(field, value, message);
        return (input, null);
    }

    /// <summary>The warnings of an imported row (values left out of their field), as row problems naming the column.</summary>
    public static IEnumerable<RowProblem> Warnings(ImportPlan plan, int row, LeadInput input)
    {
        foreach (var w in input.Warnings)
        {
            var column = plan.Columns.FirstOrDefault(c => c.Field == w.Field || c.Field == CustomPrefix + w.Field
                || (w.Field.StartsWith(CustomPrefix, StringComparison.Ordinal) && c.Field == w.Field[CustomPrefix.Length..])
                || (w.Field == "firstName" || w.Field == "lastName") && c.Field == FullName);
            yield return new RowProblem(row, column.Column, w.Field, w.Value, w.Message, Warning: true);
        }
    }

    /// <summary>Field errors (from parsing or from capture) as row problems naming the column and its value.</summary>
    public static IEnumerable<RowProblem> Problems(ImportPlan plan, int row, IReadOnlyList<string> record, IReadOnlyDictionary<string, string[]> errors)
    {
        foreach (var (field, messages) in errors)
        {
            var column = plan.Columns.FirstOrDefault(c => c.Field == field || c.Field == CustomPrefix + field || (field.StartsWith(CustomPrefix, StringComparison.Ordinal) && c.Field == field[CustomPrefix.Length..]));
            var value = column.Column is null || column.Index >= record.Count ? null : record[column.Index];
            foreach (var message in messages)
                yield return new RowProblem(row, column.Column, field, value, message);
        }
    }
}
