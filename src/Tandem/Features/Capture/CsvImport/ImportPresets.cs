using Tandem.Features.Leads;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// A CRM export an import knows: its header names (as the CRM writes them, matched like every header: case, accents and punctuation
/// ignored) → Tandem fields, the system its record id comes from, and its status values → stages and work statuses (defaults the
/// import mapping may change).
/// </summary>
public sealed record ImportPreset(
    string Id,
    string Name,
    string ExternalSystem,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlyDictionary<string, string> StageValues,
    IReadOnlyDictionary<string, string> WorkStatusValues,
    IReadOnlyList<string> SignatureHeaders);

/// <summary>
/// Presets written from the CRMs' documented export columns: Salesforce leads and contacts (report labels and API field names of the
/// Data Export), HubSpot contacts (the property labels of the "Export" of the contacts view) and Pipedrive people ("Person - …").
/// </summary>
public static class ImportPresets
{
    private static Dictionary<string, string> Map(params (string Header, string Field)[] pairs)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (header, field) in pairs)
            map.TryAdd(ImportMapping.Key(header), field);
        return map;
    }

    private static Dictionary<string, string> Values(params (string Value, string Target)[] pairs) =>
        pairs.ToDictionary(p => p.Value, p => p.Target, StringComparer.OrdinalIgnoreCase);

    private static readonly Dictionary<string, string> SalesforceLeadStatus = Values(
        ("Open - Not Contacted", nameof(LifecycleStage.Mql)), ("Working - Contacted", nameof(LifecycleStage.Mql)),
        ("Closed - Converted", nameof(LifecycleStage.Opportunity)), ("Closed - Not Converted", nameof(LifecycleStage.Disqualified)),
        ("Open", nameof(LifecycleStage.Mql)), ("Contacted", nameof(LifecycleStage.Mql)), ("Qualified", nameof(LifecycleStage.Sql)),
        ("Unqualified", nameof(LifecycleStage.Disqualified)), ("Nurturing", nameof(LifecycleStage.Recycled)));

    private static readonly Dictionary<string, string> SalesforceWorkStatus = Values(
        ("Open - Not Contacted", nameof(WorkStatus.New)), ("Working - Contacted", nameof(WorkStatus.Attempting)),
        ("Open", nameof(WorkStatus.New)), ("Contacted", nameof(WorkStatus.Connected)), ("Qualified", nameof(WorkStatus.Accepted)),
        ("Closed - Converted", nameof(WorkStatus.Accepted)), ("Closed - Not Converted", nameof(WorkStatus.Rejected)), ("Unqualified", nameof(WorkStatus.Rejected)));

    public static readonly IReadOnlyList<ImportPreset> All =
    [
        new("salesforce-leads", "Salesforce leads", "salesforce",
            Map(("Lead ID", "externalId"), ("Id", "externalId"), ("First Name", "firstName"), ("FirstName", "firstName"), ("Last Name", "lastName"),
                ("LastName", "lastName"), ("Title", "jobTitle"), ("Company", "company"), ("Company / Account", "company"), ("Email", "email"),
                ("Phone", "phone"), ("Mobile", "extra.mobile"), ("MobilePhone", "extra.mobile"), ("City", "city"), ("State/Province", "extra.state"),
                ("State", "extra.state"), ("Country", "country"), ("Lead Source", "utmSource"), ("LeadSource", "utmSource"), ("Lead Status", ImportMapping.Stage),
                ("Status", ImportMapping.Stage), ("Industry", "industry"), ("No. of Employees", "companySize"), ("NumberOfEmployees", "companySize"),
                ("Created Date", "occurredAt"), ("CreatedDate", "occurredAt"), ("Converted", ImportHistory.Won), ("IsConverted", ImportHistory.Won),
                ("Converted Date", "stageDate.opportunity"), ("ConvertedDate", "stageDate.opportunity"), ("Email Opt Out", "doNotEmail"),
                ("HasOptedOutOfEmail", "doNotEmail"), ("Do Not Call", "doNotCall"), ("DoNotCall", "doNotCall"), ("Website", "extra.website"),
                ("Rating", "extra.rating"), ("Lead Owner", "extra.owner"), ("Annual Revenue", "extra.annualRevenue")),
            SalesforceLeadStatus, SalesforceWorkStatus, ["leadstatus", "leadsource"]),
        new("salesforce-contacts", "Salesforce contacts", "salesforce",
            Map(("Contact ID", "externalId"), ("Id", "externalId"), ("First Name", "firstName"), ("FirstName", "firstName"), ("Last Name", "lastName"),
                ("LastName", "lastName"), ("Title", "jobTitle"), ("Account Name", "company"), ("Email", "email"), ("Phone", "phone"),
                ("Business Phone", "phone"), ("Mobile", "extra.mobile"), ("MobilePhone", "extra.mobile"), ("Mailing City", "city"), ("MailingCity", "city"),
                ("Mailing Country", "country"), ("MailingCountry", "country"), ("Lead Source", "utmSource"), ("LeadSource", "utmSource"),
                ("Created Date", "occurredAt"), ("CreatedDate", "occurredAt"), ("Email Opt Out", "doNotEmail"), ("HasOptedOutOfEmail", "doNotEmail"),
                ("Do Not Call", "doNotCall"), ("DoNotCall", "doNotCall"), ("Department", "extra.department"), ("Contact Owner", "extra.owner")),
            new Dictionary<string, string>(), new Dictionary<string, string>(), ["contactid", "accountname"]),
        new("hubspot-contacts", "HubSpot contacts", "hubspot",
            Map(("Record ID", "externalId"), ("Contact ID", "externalId"), ("First Name", "firstName"), ("Last Name", "lastName"), ("Email", "email"),
                ("Phone Number", "phone"), ("Mobile Phone Number", "extra.mobile"), ("Company Name", "company"), ("Job Title", "jobTitle"),
                ("Lifecycle Stage", ImportMapping.Stage), ("Lead Status", ImportMapping.WorkStatusField), ("Create Date", "occurredAt"),
                ("Country/Region", "country"), ("Country", "country"), ("City", "city"), ("State/Region", "extra.state"), ("Industry", "industry"),
                ("Number of Employees", "companySize"), ("Original Source", "utmSource"), ("Original Source Drill-Down 1", "extra.sourceDetail"),
                ("Preferred language", "language"), ("Website URL", "extra.website"), ("Contact owner", "extra.owner"),
                ("Became a Subscriber Date", "stageDate.subscriber"), ("Became a Lead Date", "stageDate.lead"),
                ("Became a Marketing Qualified Lead Date", "stageDate.mql"), ("Became a Sales Qualified Lead Date", "stageDate.sql"),
                ("Became an Opportunity Date", "stageDate.opportunity"), ("Became a Customer Date", "stageDate.customer"),
                ("Became an Evangelist Date", "stageDate.advocate"), ("Unsubscribed from all email", "doNotEmail"),
                ("Recent Deal Amount", ImportHistory.Amount), ("Recent Deal Close Date", ImportHistory.CloseDate), ("Total Revenue", "extra.totalRevenue")),
            Values(("Subscriber", "Subscriber"), ("Lead", "Lead"), ("Marketing Qualified Lead", "Mql"), ("Sales Qualified Lead", "Sql"),
                ("Opportunity", "Opportunity"), ("Customer", "Customer"), ("Evangelist", "Advocate"), ("Other", "Lead"),
                ("marketingqualifiedlead", "Mql"), ("salesqualifiedlead", "Sql")),
            Values(("New", nameof(WorkStatus.New)), ("Open", nameof(WorkStatus.New)), ("In Progress", nameof(WorkStatus.Attempting)),
                ("Attempted to Contact", nameof(WorkStatus.Attempting)), ("Connected", nameof(WorkStatus.Connected)), ("Open Deal", nameof(WorkStatus.Accepted)),
                ("Unqualified", nameof(WorkStatus.Rejected)), ("Bad Timing", nameof(WorkStatus.Rejected)),
                ("ATTEMPTED_TO_CONTACT", nameof(WorkStatus.Attempting)), ("IN_PROGRESS", nameof(WorkStatus.Attempting)), ("OPEN_DEAL", nameof(WorkStatus.Accepted)),
                ("BAD_TIMING", nameof(WorkStatus.Rejected))),
            ["recordid", "lifecyclestage"]),
        new("pipedrive-people", "Pipedrive people", "pipedrive",
            Map(("Person - ID", "externalId"), ("Person - Name", ImportMapping.FullName), ("Person - First name", "firstName"),
                ("Person - Last name", "lastName"), ("Person - Email", "email"), ("Person - Email - Work", "email"), ("Person - Email - Home", "extra.emailHome"),
                ("Person - Phone", "phone"), ("Person - Phone - Work", "phone"), ("Person - Phone - Mobile", "extra.mobile"),
                ("Person - Organization", "company"), ("Person - Job title", "jobTitle"), ("Person - Label", ImportMapping.Stage),
                ("Person - Person created", "occurredAt"), ("Person - Owner", "extra.owner"), ("Person - Won deals", "extra.wonDeals"),
                ("Person - Lost deals", "extra.lostDeals"), ("Person - Open deals", "extra.openDeals"), ("Person - Marketing status", "extra.marketingStatus")),
            Values(("Customer", "Customer"), ("Hot lead", "Mql"), ("Warm lead", "Lead"), ("Cold lead", "Subscriber")),
            new Dictionary<string, string>(), ["personid", "personname"]),
    ];

    public static ImportPreset? Find(string? id) => All.FirstOrDefault(p => string.Equals(p.Id, id?.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The preset whose characteristic headers the file has (all of them), or null.</summary>
    public static ImportPreset? Detect(IReadOnlyList<string> headers)
    {
        var keys = headers.Select(ImportMapping.Key).ToHashSet(StringComparer.Ordinal);
        return All.FirstOrDefault(p => p.SignatureHeaders.All(keys.Contains) && p.Headers.Any(h => h.Value == "externalId" && keys.Contains(h.Key)));
    }
}
