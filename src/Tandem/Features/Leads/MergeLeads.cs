using System.Security.Claims;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Platform;
using Tandem.Features.Revenue;

namespace Tandem.Features.Leads;

/// <summary>Why leads were grouped as likely duplicates.</summary>
public enum DuplicateKind
{
    /// <summary>Same first name, last name and company (case-insensitive).</summary>
    NameAndCompany,
    /// <summary>Same first and last name in the same account (company spelled differently, other email domain…).</summary>
    NameAndAccount,
}

public sealed record DuplicateLead(Guid Id, string? Email, string? Phone, string? FirstName, string? LastName, string? Company,
    LifecycleStage Stage, DateTimeOffset CreatedAt);

public sealed record DuplicateGroup(DuplicateKind Kind, string Key, IReadOnlyList<DuplicateLead> Leads);

/// <summary>One profile field whose value differs between the two leads of a merge.</summary>
public sealed record FieldDifference(string Field, string? SurvivorValue, string? MergedValue);

public sealed record MergeRequest(Guid? MergeId, Dictionary<string, string>? FieldChoices);

/// <summary>
/// The outcome of a merge. <see cref="Moved"/> counts the rows re-pointed to the survivor per table (every table that refers to a
/// lead, see <see cref="LeadReferences"/>); the three counters before it are the same counts for the oldest tables.
/// <see cref="AssignmentsClosed"/> counts the merged lead's open assignments closed because the survivor already had one.
/// </summary>
public sealed record MergeResponse(Guid SurvivorId, Guid MergedId, int ActivitiesMoved, int StageTransitionsMoved, int DealsMoved,
    IReadOnlyDictionary<string, int> Moved, int AssignmentsClosed);

/// <summary>Who asked for a change, for the audit trail.</summary>
public sealed record Actor(Guid? Id, string Name)
{
    public static Actor From(ClaimsPrincipal user) =>
        new(Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var id) ? id : null, user.Identity?.Name ?? "unknown");
}

/// <summary>
/// Manual merge of two leads identifier-based dedupe could not join (same person, different emails). The choice of values is a pure
/// function (<see cref="Apply"/>); <see cref="MergeAsync"/> re-points every row that refers to the loser (activities, stage history,
/// deals, assignments with their SLA timers, BANT, dead letters… found from the EF model by <see cref="LeadReferences"/>) to the
/// survivor, writes the audit entry and deletes the loser, all in one transaction.
/// </summary>
public static class MergeLeads
{
    public const string KeepSurvivor = "survivor";
    public const string TakeMerged = "merged";

    /// <summary>Profile fields a person chooses between. Identifiers are never chosen: the survivor keeps its own and inherits missing ones.</summary>
    public static readonly IReadOnlyList<string> ChoosableFields =
        ["firstName", "lastName", "jobTitle", "company", "companySize", "industry", "country", "city", "language"];

    private static string? Get(Lead l, string field) => field switch
    {
        "firstName" => l.FirstName,
        "lastName" => l.LastName,
        "jobTitle" => l.JobTitle,
        "company" => l.Company,
        "companySize" => l.CompanySize?.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "industry" => l.Industry,
        "country" => l.Country,
        "city" => l.City,
        "language" => l.Language,
        _ => throw new ArgumentOutOfRangeException(nameof(field), field, null),
    };

    private static void CopyField(Lead from, Lead to, string field)
    {
        switch (field)
        {
            case "firstName": to.FirstName = from.FirstName; break;
            case "lastName": to.LastName = from.LastName; break;
            case "jobTitle": to.JobTitle = from.JobTitle; break;
            case "company": to.Company = from.Company; break;
            case "companySize": to.CompanySize = from.CompanySize; break;
            case "industry": to.Industry = from.Industry; break;
            case "country": to.Country = from.Country; break;
            case "city": to.City = from.City; break;
            case "language": to.Language = from.Language; break;
        }
    }

    /// <summary>Fields where both leads have a value and the values differ: the ones a person must choose.</summary>
    public static IReadOnlyList<FieldDifference> Differences(Lead survivor, Lead merged) =>
        [.. ChoosableFields
            .Select(f => new FieldDifference(f, Get(survivor, f), Get(merged, f)))
            .Where(d => d.SurvivorValue is not null && d.MergedValue is not null && d.SurvivorValue != d.MergedValue)];

    /// <summary>
    /// Applies a merge to <paramref name="survivor"/> (in memory): chosen fields, gaps filled from the other lead, missing identifiers
    /// inherited, the stricter consent, the earlier first touch and the later latest touch. Unknown fields or choices are field errors.
    /// </summary>
    public static void Apply(Lead survivor, Lead merged, IReadOnlyDictionary<string, string>? choices, FieldErrors errors)
    {
        choices ??= new Dictionary<string, string>();
        foreach (var (field, choice) in choices)
        {
            if (!ChoosableFields.Contains(field))
                errors.Add($"fieldChoices.{field}", $"Unknown field '{field}'. Choose among {string.Join(", ", ChoosableFields)}.");
            else if (choice is not (KeepSurvivor or TakeMerged))
                errors.Add($"fieldChoices.{field}", $"Choose '{KeepSurvivor}' or '{TakeMerged}'.");
        }
        if (errors.Any)
            return;

        foreach (var field in ChoosableFields)
        {
            var take = choices.TryGetValue(field, out var c) ? c == TakeMerged : Get(survivor, field) is null;
            if (take && Get(merged, field) is not null)
            {
                CopyField(merged, survivor, field);
                // A person picked this value: later automatic merges must not undo the choice.
                if (choices.ContainsKey(field) && !survivor.ManualFields.Contains(field))
                    survivor.ManualFields.Add(field);
            }
        }
        foreach (var field in merged.ManualFields.Where(f => !survivor.ManualFields.Contains(f)).ToList())
            survivor.ManualFields.Add(field);

        survivor.Email ??= merged.Email;
        survivor.Phone ??= merged.Phone;
        if (survivor.ExternalId is null && merged.ExternalId is not null)
            (survivor.ExternalSystem, survivor.ExternalId) = (merged.ExternalSystem, merged.ExternalId);
        survivor.AccountId ??= merged.AccountId;
        survivor.OwnerId ??= merged.OwnerId;
        survivor.PersonaId ??= merged.PersonaId;

        // Consent: an opt-out on either record stands; an opt-in only counts when nobody opted out.
        survivor.DoNotEmail |= merged.DoNotEmail;
        survivor.DoNotCall |= merged.DoNotCall;
        survivor.EmailOptIn = survivor.EmailOptIn == false || merged.EmailOptIn == false ? false : survivor.EmailOptIn ?? merged.EmailOptIn;
        if (survivor.ConsentAt is null || (merged.ConsentAt is { } mc && mc > survivor.ConsentAt))
            (survivor.ConsentAt, survivor.ConsentSource) = (merged.ConsentAt ?? survivor.ConsentAt, merged.ConsentSource ?? survivor.ConsentSource);

        survivor.CustomFields = MergeCustomFields(survivor.CustomFields, merged.CustomFields);
        survivor.FitScore = Math.Max(survivor.FitScore, merged.FitScore);
        survivor.EngagementScore = Math.Max(survivor.EngagementScore, merged.EngagementScore);

        if (merged.FirstTouchAt is { } mf && (survivor.FirstTouchAt is null || mf < survivor.FirstTouchAt))
        {
            survivor.FirstTouchAt = mf;
            survivor.FirstChannel = merged.FirstChannel;
            survivor.FirstSource = merged.FirstSource;
            survivor.FirstMedium = merged.FirstMedium;
            survivor.FirstCampaignId = merged.FirstCampaignId;
            survivor.FirstReferrer = merged.FirstReferrer;
            survivor.FirstLandingPage = merged.FirstLandingPage;
        }
        if (merged.LatestTouchAt is { } ml && (survivor.LatestTouchAt is null || ml > survivor.LatestTouchAt))
        {
            survivor.LatestTouchAt = ml;
            survivor.LatestChannel = merged.LatestChannel;
            survivor.LatestSource = merged.LatestSource;
            survivor.LatestMedium = merged.LatestMedium;
            survivor.LatestCampaignId = merged.LatestCampaignId;
            survivor.LatestReferrer = merged.LatestReferrer;
            survivor.LatestLandingPage = merged.LatestLandingPage;
        }
        if (merged.CreatedAt < survivor.CreatedAt)
            survivor.CreatedAt = merged.CreatedAt;
    }

    /// <summary>Union of both custom-field objects; the survivor's value wins on a shared key.</summary>
    internal static string? MergeCustomFields(string? survivor, string? merged)
    {
        if (merged is null)
            return survivor;
        if (survivor is null)
            return merged;
        var target = JsonNode.Parse(survivor)!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(merged)!.AsObject().ToList())
            if (!target.ContainsKey(key))
                target[key] = value?.DeepClone();
        return target.ToJsonString();
    }

    public sealed record MergeOutcome(MergeResponse? Response, bool NotFound, Dictionary<string, string[]>? Errors);

    /// <summary>Merges <paramref name="mergeId"/> into <paramref name="survivorId"/> in one transaction.</summary>
    public static async Task<MergeOutcome> MergeAsync(TandemDb db, Guid survivorId, Guid? mergeId, IReadOnlyDictionary<string, string>? choices,
        Actor actor, DateTimeOffset now, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (mergeId is null)
            errors.Add("mergeId", "Give the id of the lead to merge into this one.");
        else if (mergeId == survivorId)
            errors.Add("mergeId", "A lead cannot be merged into itself.");
        if (errors.Any)
            return new MergeOutcome(null, false, errors.ToDictionary());

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // Activities and stage transitions have no foreign key to their lead (decision 009). Every writer that adds one to an
        // existing lead also updates that lead in the same transaction, so locking both leads first means none is added to the
        // merged lead after its history has moved: such a writer either commits before (and its rows move with the rest) or
        // finds the lead gone once this commits (and captures again, into the survivor).
        if (db.Database.IsNpgsql())
        {
            var other = mergeId!.Value;
            await db.Database.ExecuteSqlAsync($"""SELECT 1 FROM "Leads" WHERE "Id" IN ({survivorId}, {other}) ORDER BY "Id" FOR UPDATE""", ct);
        }
        var survivor = await db.Leads.FirstOrDefaultAsync(l => l.Id == survivorId, ct);
        if (survivor is null)
            return new MergeOutcome(null, true, null);
        var merged = await db.Leads.FirstOrDefaultAsync(l => l.Id == mergeId, ct);
        if (merged is null)
            return new MergeOutcome(null, false, new() { ["mergeId"] = [$"No lead with id {mergeId}."] });

        var mergedId = merged.Id;
        var mergedEmail = merged.Email;
        var differences = Differences(survivor, merged);
        Apply(survivor, merged, choices, errors);
        if (errors.Any)
            return new MergeOutcome(null, false, errors.ToDictionary());
        survivor.UpdatedAt = now;
        Qualification.ScoringFacts.RequestScore(survivor, now);

        // Open assignments of the survivor, read before anything moves: the merged lead's open ones are closed below when it has one.
        var survivorOpen = await db.Assignments.AnyAsync(a => a.LeadId == survivorId && Handoff.Assignment.OpenStates.Contains(a.State), ct);
        var mergedOpen = await db.Assignments.Where(a => a.LeadId == mergedId && Handoff.Assignment.OpenStates.Contains(a.State))
            .Select(a => a.Id).ToListAsync(ct);
        // Every table that refers to a lead, from the EF model: a table added later moves too (decision 015).
        var moved = await LeadReferences.RepointAsync(db, mergedId, survivorId, ct);
        var closed = 0;
        if (survivorOpen && mergedOpen.Count > 0)
        {
            // One lead, one rep clock: the survivor's assignment stays, the merged lead's stops (kept as history, timers cancelled).
            closed = await db.Assignments.Where(a => mergedOpen.Contains(a.Id))
                .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, Handoff.AssignmentState.Closed).SetProperty(a => a.ClosedAt, now), ct);
            await db.SlaTimers.Where(t => mergedOpen.Contains(t.AssignmentId) && t.Status == Handoff.TimerStatus.Pending)
                .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, Handoff.TimerStatus.Cancelled).SetProperty(t => t.DoneAt, now)
                    .SetProperty(t => t.Outcome, $"lead merged into {survivorId}"), ct);
        }
        var activities = moved.GetValueOrDefault(TableOf<Activity>(db));
        var stages = moved.GetValueOrDefault(TableOf<StageTransition>(db));
        var deals = moved.GetValueOrDefault(TableOf<Deal>(db));
        // The loser goes first so the survivor can take over its identifiers without tripping the unique indexes.
        db.Leads.Remove(merged);
        await db.SaveChangesAsync(ct);

        var chosen = string.Join(",", differences.Select(d =>
            $"{d.Field}:{(choices is not null && choices.TryGetValue(d.Field, out var c) ? c : KeepSurvivor)}"));
        var movedText = string.Join(",", moved.Where(m => m.Value > 0).Select(m => $"{m.Key}:{m.Value}"));
        var details = $"merged={mergedId}; mergedEmail={mergedEmail}; activities={activities}; stages={stages}; deals={deals}; " +
            $"moved={movedText}; assignmentsClosed={closed}; choices={chosen}";
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name.Length > 256 ? actor.Name[..256] : actor.Name,
            Action = "lead.merged",
            EntityType = nameof(Lead),
            EntityId = survivorId.ToString(),
            Details = details.Length > 4000 ? details[..4000] : details,
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new MergeOutcome(new MergeResponse(survivorId, mergedId, activities, stages, deals, moved, closed), false, null);
    }

    private static string TableOf<T>(TandemDb db) => db.Model.FindEntityType(typeof(T))!.GetTableName()!;

    internal static async Task<Results<Ok<MergeResponse>, ProblemHttpResult, ValidationProblem>> MergeEndpointAsync(
        Guid id, MergeRequest body, HttpContext http, TandemDb db, TimeProvider clock, CancellationToken ct)
    {
        var outcome = await MergeAsync(db, id, body.MergeId, body.FieldChoices, Actor.From(http.User), clock.GetUtcNow(), ct);
        if (outcome.NotFound)
            return ApiConventions.NotFoundProblem($"No lead with id {id}.");
        if (outcome.Errors is not null)
            return TypedResults.ValidationProblem(outcome.Errors);
        return TypedResults.Ok(outcome.Response!);
    }

    /// <summary>
    /// Likely duplicates, found with two GROUP BY queries (same lower-cased first name + last name + company; same names + account),
    /// biggest groups first, then one query for their members. A scan of the leads table; fine on demand, not on every page view.
    /// </summary>
    public static async Task<IReadOnlyList<DuplicateGroup>> FindDuplicatesAsync(TandemDb db, int maxGroups, CancellationToken ct)
    {
        var leads = db.Leads.AsNoTracking().Where(l => l.FirstName != null && l.LastName != null);
        var byCompany = await leads.Where(l => l.Company != null)
            .GroupBy(l => new { First = l.FirstName!.ToLower(), Last = l.LastName!.ToLower(), Company = l.Company!.ToLower() })
            .Where(g => g.Count() > 1)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Last).ThenBy(g => g.Key.First).ThenBy(g => g.Key.Company)
            .Select(g => new { g.Key.First, g.Key.Last, g.Key.Company })
            .Take(maxGroups).ToListAsync(ct);
        var byAccount = await leads.Where(l => l.AccountId != null)
            .GroupBy(l => new { First = l.FirstName!.ToLower(), Last = l.LastName!.ToLower(), Account = l.AccountId!.Value })
            .Where(g => g.Count() > 1 && g.Select(l => l.Company!.ToLower()).Distinct().Count() > 1)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key.Last).ThenBy(g => g.Key.First)
            .Select(g => new { g.Key.First, g.Key.Last, g.Key.Account })
            .Take(maxGroups).ToListAsync(ct);
        if (byCompany.Count == 0 && byAccount.Count == 0)
            return [];

        var lastNames = byCompany.Select(g => g.Last).Concat(byAccount.Select(g => g.Last)).Distinct().ToList();
        var members = await leads.Where(l => lastNames.Contains(l.LastName!.ToLower()))
            .Select(l => new { Lead = new DuplicateLead(l.Id, l.Email, l.Phone, l.FirstName, l.LastName, l.Company, l.Stage, l.CreatedAt), l.AccountId })
            .ToListAsync(ct);

        // SQLite's lower() folds ASCII only, so members are matched to their group without re-lowering in .NET.
        static bool Same(string? a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
        var groups = new List<DuplicateGroup>();
        foreach (var g in byCompany)
            groups.Add(new DuplicateGroup(DuplicateKind.NameAndCompany, $"{g.First} {g.Last} · {g.Company}",
                [.. members.Where(m => Same(m.Lead.FirstName, g.First) && Same(m.Lead.LastName, g.Last) && Same(m.Lead.Company, g.Company))
                    .Select(m => m.Lead).OrderBy(l => l.CreatedAt)]));
        foreach (var g in byAccount)
            groups.Add(new DuplicateGroup(DuplicateKind.NameAndAccount, $"{g.First} {g.Last} · {g.Account}",
                [.. members.Where(m => Same(m.Lead.FirstName, g.First) && Same(m.Lead.LastName, g.Last) && m.AccountId == g.Account)
                    .Select(m => m.Lead).OrderBy(l => l.CreatedAt)]));
        return [.. groups.Where(g => g.Leads.Count > 1)];
    }
}
