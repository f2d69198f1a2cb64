using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture;

/// <summary>What to do when a submission matches an existing lead.</summary>
public enum MergePolicy
{
    /// <summary>Merge: newer non-empty values win (except fields edited by hand). The default everywhere.</summary>
    Update,
    /// <summary>Leave existing leads untouched (the submission is still recorded as an activity).</summary>
    SkipExisting,
    /// <summary>Refuse submissions that match an existing lead (field error on the identifier).</summary>
    CreateOnly,
}

/// <summary>Where a capture comes from, what activity it records, and how it treats existing leads.</summary>
/// <param name="Import">
/// A CSV import: a row that changes nothing on a known lead adds no activity, one that changes something adds one "updated by import"
/// note listing the fields; stage dates the row gives become the lead's stage history.
/// </param>
public sealed record CaptureContext(string Source, ActivityType ActivityType = ActivityType.LeadCaptured, Guid? ActorUserId = null,
    MergePolicy Policy = MergePolicy.Update, bool Import = false)
{
    /// <summary>Property of the activity an import adds to a known lead it changed: the fields it changed (names, comma-separated).</summary>
    public const string UpdatedByImportProperty = "updatedByImport";

    public static readonly CaptureContext Api = new("api");
}

/// <summary>The outcome of capturing one lead: the lead (created or merged) or the field errors that stopped it.</summary>
/// <param name="Blocked">
/// The person was erased at their request with re-capture blocked (decision 021b): nothing was stored, and channels must not keep the
/// submission anywhere else (no dead letter, no import error value).
/// </param>
public sealed record CaptureOutcome(Guid? LeadId, bool Created, IReadOnlyDictionary<string, string[]>? Errors, bool Blocked = false)
{
    public bool Succeeded => Errors is null;

    public const string BlockedMessage = "Blocked: this person's data was erased at their request and re-capture is refused.";

    public static CaptureOutcome BlockedOutcome(string field) => new(null, false, new Dictionary<string, string[]> { [field] = [BlockedMessage] }, true);
}

/// <summary>
/// Capture: validate, normalise, deduplicate and store a lead with its activity and first stage, in one
/// SaveChanges (one transaction). The same identifier (email, phone, external system + id) is the same lead:
/// later submissions merge into it — newer non-empty values win, except fields a person edited by hand — and
/// every submission is kept as an activity.
/// </summary>
public sealed class CaptureService(TandemDb db, CaptureCatalog catalog, AccountDirectory accountDirectory, TimeProvider clock, ILogger<CaptureService> log,
    Qualification.ScoringSignal scoring, Qualification.ActiveDefinition activeDefinition, Platform.OutboundWebhooks.IWebhookPublisher webhooks)
{
    private const int MaxAttempts = 4;
    private bool _scoreRequested;

    /// <summary>From this many leads in one call, new rows go to PostgreSQL with COPY rather than INSERT.</summary>
    internal static int BulkThreshold { get; set; } = 100;

    /// <summary>Rows a capture call creates, in foreign-key order. They never enter EF's change tracker on PostgreSQL (written directly).</summary>
    private sealed class NewRows
    {
        public List<Account> Accounts { get; } = [];
        public List<Lead> Leads { get; } = [];
        public List<StageTransition> Transitions { get; } = [];
        public List<Activity> Activities { get; } = [];
        /// <summary><c>lead.created</c> outbox rows, only when an endpoint subscribes (committed with the leads).</summary>
        public List<Platform.OutboundWebhooks.WebhookDelivery> Webhooks { get; } = [];
        /// <summary>Consent ledger entries of the consents captured (decision 021b).</summary>
        public List<ConsentEntry> Consents { get; } = [];
        public System.Collections.IList[] Tables => [Accounts, Leads, Transitions, Activities, Webhooks, Consents];
    }

    public async Task<CaptureOutcome> CaptureAsync(LeadInput input, CaptureContext context, CancellationToken ct = default) =>
        (await CaptureManyAsync([input], context, ct))[0];

    /// <summary>
    /// Captures many leads at once (one query to find existing leads, one SaveChanges). Items that fail
    /// validation are reported and skipped; they never stop the others and never leave partial rows.
    /// </summary>
    public async Task<IReadOnlyList<CaptureOutcome>> CaptureManyAsync(IReadOnlyList<LeadInput> inputs, CaptureContext context, CancellationToken ct = default)
    {
        var snapshot = await catalog.GetAsync(ct);
        var outcomes = new CaptureOutcome?[inputs.Count];
        var prepared = new List<Prepared>(inputs.Count);
        for (var i = 0; i < inputs.Count; i++)
        {
            var errors = new FieldErrors();
            var item = Prepare(inputs[i], snapshot, errors);
            if (errors.Any)
                outcomes[i] = new CaptureOutcome(null, false, errors.ToDictionary());
            else
                prepared.Add(item with { Index = i });
        }
        if (prepared.Count > 0)
            prepared = await RefuseErasedAsync(prepared, outcomes, ct);
        if (prepared.Count == 0)
            return outcomes!;

        // Inside a caller's transaction on PostgreSQL (a CSV import commits each batch with its checkpoint) an error aborts the whole
        // transaction: each attempt runs behind a savepoint, so a failed one is undone alone and can be retried.
        const string savepoint = "capture";
        var outer = db.Database.IsNpgsql() ? db.Database.CurrentTransaction : null;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                if (outer is not null)
                    await outer.CreateSavepointAsync(savepoint, ct);
                List<(int Index, CaptureOutcome Outcome)> results;
                try
                {
                    results = await StoreAsync(prepared, context, ct);
                }
                catch when (outer is not null)
                {
                    await outer.RollbackToSavepointAsync(savepoint, CancellationToken.None);
                    throw;
                }
                if (outer is not null)
                    await outer.ReleaseSavepointAsync(savepoint, ct);
                foreach (var (index, outcome) in results)
                    outcomes[index] = outcome;
                if (_scoreRequested)
                    scoring.Wake();
                return outcomes!;
            }
            catch (Exception ex) when (attempt < MaxAttempts && ToDbUpdate(ex) is { } update && (IsUniqueViolation(update) || IsForeignKeyViolation(update) || IsDeadlock(update) || update is DbUpdateConcurrencyException))
            {
                // Another writer created the same lead or account between our read and our write (or a campaign it points to
                // was deleted, or two writers — an import's parallel batches — waited on each other's new rows, or the lead was merged
                // away and its update found no row): read again and merge.
                db.ChangeTracker.Clear();
                if (IsForeignKeyViolation(ToDbUpdate(ex)!))
                    accountDirectory.Clear();
                log.LogDebug("Capture retry {Attempt} after a concurrent insert", attempt);
                await Task.Delay(Random.Shared.Next(1, 5 * attempt), ct);
            }
        }
    }

    /// <summary>
    /// Refuses the submissions of people erased with re-capture blocked (one indexed lookup of the keyed hashes of their email and
    /// phone): each gets a <see cref="CaptureOutcome.Blocked"/> outcome on its identifier; the others go on.
    /// </summary>
    private async Task<List<Prepared>> RefuseErasedAsync(List<Prepared> prepared, CaptureOutcome?[] outcomes, CancellationToken ct)
    {
        var hashes = prepared.SelectMany(p => ErasureHash.For(p.Input.Email, p.Input.Phone)).Distinct().ToList();
        if (hashes.Count == 0)
            return prepared;
        var blocked = (await db.Set<ErasureBlock>().AsNoTracking().Where(b => hashes.Contains(b.Hash)).Select(b => b.Hash).ToListAsync(ct)).ToHashSet();
        if (blocked.Count == 0)
            return prepared;
        var kept = new List<Prepared>(prepared.Count);
        foreach (var item in prepared)
        {
            if (item.Input.Email is { } email && blocked.Contains(ErasureHash.Of("email", email)))
                outcomes[item.Index] = CaptureOutcome.BlockedOutcome("email");
            else if (item.Input.Phone is { } phone && blocked.Contains(ErasureHash.Of("phone", phone)))
                outcomes[item.Index] = CaptureOutcome.BlockedOutcome("phone");
            else
                kept.Add(item);
        }
        if (kept.Count < prepared.Count)
            log.LogInformation("Capture refused {Count} submission(s) of erased people (re-capture blocked)", prepared.Count - kept.Count);
        return kept;
    }

    private sealed record Prepared(LeadInput Input, CaptureCatalog.CampaignRef? Campaign, Channel Channel, string? CustomJson, int Index = 0);

    private static Prepared Prepare(LeadInput input, CaptureCatalog.Snapshot snapshot, FieldErrors errors)
    {
        // Imports and webhooks keep the lead when a value is odd: the problem becomes a warning and the value stays on the activity.
        void Problem(string field, string? value, string message)
        {
            if (input.KeepOnFieldErrors)
                input.NotKept(field, value, message);
            else
                errors.Add(field, message);
        }
        CaptureCatalog.CampaignRef? campaign = null;
        if (input.CampaignId is { } id && !snapshot.CampaignsById.TryGetValue(id, out campaign))
            Problem("campaignId", id.ToString(), $"No campaign with id {id}.");
        if (campaign is null && input.UtmCampaign is { } utm)
            snapshot.CampaignsByUtm.TryGetValue(utm.Trim(), out campaign);
        var channel = campaign?.Channel ?? Normalize.Channel(input.UtmSource, input.UtmMedium, input.Referrer);
        string? customJson = null;
        if (input.CustomFields.Count > 0)
        {
            var obj = new JsonObject();
            foreach (var (key, raw) in input.CustomFields)
            {
                if (!snapshot.CustomFields.TryGetValue(key, out var definition))
                {
                    Problem($"customFields.{key}", raw, $"Unknown custom field '{key}'. An admin defines custom fields under Settings.");
                    continue;
                }
                if (ConvertCustom(definition, raw, out var node, out var error))
                    obj[key] = node;
                else
                    Problem($"customFields.{key}", raw, error!);
            }
            customJson = obj.ToJsonString();
        }
        return new Prepared(input, campaign, channel, customJson);
    }

    internal static bool ConvertCustom(CustomFieldDefinition definition, string? raw, out JsonNode? node, out string? error)
    {
        node = null;
        error = null;
        var value = raw?.Trim();
        if (string.IsNullOrEmpty(value))
            return true;
        switch (definition.Type)
        {
            case CustomFieldType.Text:
                if (value.Length > LeadInputParser.MaxCustomFieldLength)
                {
                    error = $"At most {LeadInputParser.MaxCustomFieldLength} characters.";
                    return false;
                }
                node = JsonValue.Create(value);
                return true;
            case CustomFieldType.Number:
                if (decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out var number))
                {
                    node = JsonValue.Create(number);
                    return true;
                }
                error = "Expected a number.";
                return false;
            case CustomFieldType.Date:
                if (DateOnly.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    node = JsonValue.Create(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
                    return true;
                }
                error = "Expected a date (YYYY-MM-DD).";
                return false;
            default:
                var errors = new FieldErrors();
                var flag = LeadInputParser.ParseBool(value, errors, "x");
                if (flag is null)
                {
                    error = "Expected true or false.";
                    return false;
                }
                node = JsonValue.Create(flag.Value);
                return true;
        }
    }

    /// <summary>
    /// Writes the new rows without EF's update pipeline — binary COPY for bulk, one batch of prepared INSERTs for
    /// small groups — and EF's UPDATEs for merged leads, atomically: inside the caller's transaction (a CSV import
    /// commits each batch with its checkpoint; the attempt has its savepoint), or in a transaction of its own. With nothing
    /// to update, a small INSERT batch is atomic by itself (one round trip), and so is a small one with updates by key.
    /// </summary>
    private async Task SavePostgresAsync(bool bulk, NewRows added, CancellationToken ct)
    {
        var hasUpdates = db.ChangeTracker.Entries().Any(e => e.State is EntityState.Modified or EntityState.Deleted);
        async Task WriteAsync()
        {
            if (bulk)
                await PostgresBulk.CopyAsync(db, added.Tables, ct);
            else
                await PostgresBulk.InsertAsync(db, added.Tables, ct);
            if (hasUpdates)
                await db.SaveChangesAsync(ct);
        }

        // Inside a caller's transaction: CaptureManyAsync put a savepoint before this attempt.
        if (db.Database.CurrentTransaction is not null || (!bulk && !hasUpdates))
        {
            await WriteAsync();
            return;
        }
        // A few new rows and updates (repeat captures): UPDATEs and INSERTs in one atomic batch, one round trip instead of three.
        if (!bulk && await PostgresBulk.SaveInOneBatchAsync(db, added.Tables, ct))
            return;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        await WriteAsync();
        await tx.CommitAsync(ct);
    }

    private async Task<List<(int Index, CaptureOutcome Outcome)>> StoreAsync(List<Prepared> items, CaptureContext context, CancellationToken ct)
    {
        db.ChangeTracker.AutoDetectChangesEnabled = false;
        try
        {
            return await StoreCoreAsync(items, context, ct);
        }
        finally
        {
            db.ChangeTracker.AutoDetectChangesEnabled = true;
        }
    }

    private async Task<List<(int Index, CaptureOutcome Outcome)>> StoreCoreAsync(List<Prepared> items, CaptureContext context, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var emails = items.Select(p => p.Input.Email).OfType<string>().Distinct().ToList();
        var phones = items.Select(p => p.Input.Phone).OfType<string>().Distinct().ToList();
        var externalIds = items.Where(p => p.Input.ExternalId is not null).Select(p => p.Input.ExternalId!).Distinct().ToList();

        var active = await activeDefinition.GetAsync(db, ct);
        Dictionary<Guid, List<Qualification.Scoring.ActivityFacts>>? history = null;
        List<Lead> existing;
        // Small groups (single captures) read the history of the leads they find in the same round trip; a bulk group, mostly new
        // people, would probe every identifier twice for it: it reads the history of the leads it found afterwards, if any.
        if (db.Database.IsNpgsql() && PostgresBulk.SelectAll<Lead>(db) is { } selectLeads)
            (existing, history) = await LookupPostgresAsync(selectLeads, emails, phones, externalIds, items.Count < BulkThreshold ? active : null, ct);
        else
            existing = await db.Leads.TagWith(KeyLookup.Tag).Where(l =>
                    (l.Email != null && emails.Contains(l.Email)) ||
                    (l.Phone != null && phones.Contains(l.Phone)) ||
                    (l.ExternalId != null && externalIds.Contains(l.ExternalId)))
                .ToListAsync(ct);

        var byEmail = new Dictionary<string, Lead>(StringComparer.Ordinal);
        var byPhone = new Dictionary<string, Lead>(StringComparer.Ordinal);
        var byExternal = new Dictionary<(string, string), Lead>();
        void Index(Lead lead)
        {
            if (lead.Email is not null) byEmail.TryAdd(lead.Email, lead);
            if (lead.Phone is not null) byPhone.TryAdd(lead.Phone, lead);
            if (lead.ExternalSystem is not null && lead.ExternalId is not null) byExternal.TryAdd((lead.ExternalSystem, lead.ExternalId), lead);
        }
        existing.ForEach(Index);

        var added = new NewRows();
        var accounts = await ResolveAccountsAsync(items, now, added, ct);
        var results = new List<(int, CaptureOutcome)>(items.Count);
        var touched = new Dictionary<Lead, Touched>(ReferenceEqualityComparer.Instance);

        foreach (var item in items)
        {
            var input = item.Input;
            var at = input.OccurredAt is { } o && o <= now ? o : now;
            Lead? lead = null;
            if (input.Email is not null) byEmail.TryGetValue(input.Email, out lead);
            if (lead is null && input.ExternalId is not null) byExternal.TryGetValue((input.ExternalSystem!, input.ExternalId), out lead);
            if (lead is null && input.Phone is not null) byPhone.TryGetValue(input.Phone, out lead);

            var isNew = lead is null;
            if (lead is not null && context.Policy == MergePolicy.CreateOnly)
            {
                var field = input.Email is not null && lead.Email == input.Email ? "email"
                    : input.ExternalId is not null && lead.ExternalId == input.ExternalId ? "externalId" : "phone";
                results.Add((item.Index, new CaptureOutcome(null, false, new Dictionary<string, string[]> { [field] = [$"A lead with this {field} already exists."] })));
                continue;
            }
            var path = input.History is { } h && (h.StageDates.Count > 0 || h.Won == true)
                ? CsvImport.ImportHistory.Path(at, input.InitialStage, h.StageDates, h.Won == true ? h.CloseDate ?? (h.StageDates.Count > 0 ? h.StageDates.Values.Max() : at) : null)
                : null;
            LeadState? before = isNew || !context.Import || context.Policy != MergePolicy.Update ? null : LeadState.Of(lead!);
            if (lead is null && path is not null)
            {
                // An import with the lead's history: every step with its date, the lead in its last stage since the last date.
                var (_, last, lastAt) = path[^1];
                lead = new Lead { CreatedAt = path[0].At, UpdatedAt = at, StageChangedAt = lastAt, Stage = last };
                added.Leads.Add(lead);
                foreach (var (from, to, stepAt) in path)
                    added.Transitions.Add(new StageTransition
                    {
                        LeadId = lead.Id,
                        From = from,
                        To = to,
                        At = stepAt,
                        ByUserId = context.ActorUserId,
                        ByRule = $"capture:{context.Source}",
                        Reason = from is null ? "Lead captured" : "Stage history given by the source system",
                    });
            }
            else if (lead is null)
            {
                var stage = input.InitialStage ?? LifecycleStage.Lead;
                lead = new Lead { CreatedAt = at, UpdatedAt = at, StageChangedAt = at, Stage = stage };
                added.Leads.Add(lead);
                added.Transitions.Add(new StageTransition
                {
                    LeadId = lead.Id,
                    From = null,
                    To = stage,
                    At = at,
                    ByUserId = context.ActorUserId,
                    ByRule = $"capture:{context.Source}",
                    Reason = input.InitialStage is null ? "Lead captured" : "Stage given by the source system",
                });
            }
            else if (path is not null && context.Policy == MergePolicy.Update)
            {
                // A known lead moves forward along the dated steps it has not reached yet.
                foreach (var (_, to, stepAt) in path.Skip(1))
                {
                    if (!IsForward(lead.Stage, to) && !(to is LifecycleStage.Disqualified && lead.Stage < LifecycleStage.Sql && lead.Stage != to))
                        continue;
                    if (to is LifecycleStage.Disqualified)
                        continue;
                    added.Transitions.Add(new StageTransition
                    {
                        LeadId = lead.Id,
                        From = lead.Stage,
                        To = to,
                        At = stepAt,
                        ByUserId = context.ActorUserId,
                        ByRule = $"capture:{context.Source}",
                        Reason = "Stage history given by the source system",
                    });
                    lead.Stage = to;
                    lead.StageChangedAt = stepAt;
                }
            }
            else if (input.InitialStage is { } stage && IsForward(lead.Stage, stage) && context.Policy == MergePolicy.Update)
            {
                added.Transitions.Add(new StageTransition
                {
                    LeadId = lead.Id,
                    From = lead.Stage,
                    To = stage,
                    At = at,
                    ByUserId = context.ActorUserId,
                    ByRule = $"capture:{context.Source}",
                    Reason = "Stage given by the source system",
                });
                lead.Stage = stage;
                lead.StageChangedAt = at;
            }
            List<ConsentEntry>? consents = null;
            if (isNew || context.Policy == MergePolicy.Update)
            {
                Merge(lead, input, item, at, isNew, byEmail, byPhone, byExternal, context);
                // Every consent a submission gives is a ledger entry, older ones too (the lead's flags only follow newer ones).
                if (input.Consent is { } consent)
                    consents = ConsentModel.EntriesFor(lead.Id, consent.EmailOptIn, consent.DoNotEmail, consent.DoNotCall, consent.Text,
                        context.Source, at, now, context.ActorUserId, input.ClientIp);
                // A CRM's lead status: the work status of a lead in MQL (or of a new lead given one).
                if (input.InitialWorkStatus is { } work && (isNew || lead.Stage == LifecycleStage.Mql))
                    lead.WorkStatus = work;
            }
            Index(lead);
            if (lead.AccountId is null && AccountKey(input) is { } key && accounts.TryGetValue(key, out var accountId))
                lead.AccountId = accountId;

            if (before is not null)
            {
                // A re-import: nothing changed, nothing recorded; a change is one note naming the fields it changed.
                var changed = before.Changes(LeadState.Of(lead));
                if (changed.Count == 0)
                {
                    results.Add((item.Index, new CaptureOutcome(lead.Id, false, null)));
                    continue;
                }
                if (consents is not null)
                    added.Consents.AddRange(consents);
                var note = new Activity
                {
                    LeadId = lead.Id,
                    Type = ActivityType.Note,
                    OccurredAt = at,
                    Source = context.Source,
                    ActorUserId = context.ActorUserId,
                    Properties = JsonSerializer.Serialize(new Dictionary<string, string?>(input.Extra.Where(e => e.Key.StartsWith(LeadInput.NotKeptPrefix, StringComparison.Ordinal)))
                    {
                        [CaptureContext.UpdatedByImportProperty] = string.Join(", ", changed),
                    }),
                    CreatedAt = now,
                };
                added.Activities.Add(note);
                if (!touched.TryGetValue(lead, out var noted))
                    touched[lead] = noted = new Touched(false, lead.ScoreDirtyAt is not null, []);
                noted.Added.Add(new Qualification.Scoring.ActivityFacts(note.Type, note.OccurredAt, null, null, null));
                results.Add((item.Index, new CaptureOutcome(lead.Id, false, null)));
                continue;
            }

            if (consents is not null)
                added.Consents.AddRange(consents);
            var activity = new Activity
            {
                LeadId = lead.Id,
                Type = context.ActivityType,
                OccurredAt = at,
                Channel = item.Channel,
                CampaignId = item.Campaign?.Id,
                UtmSource = input.UtmSource,
                UtmMedium = input.UtmMedium,
                UtmCampaign = input.UtmCampaign,
                UtmTerm = input.UtmTerm,
                UtmContent = input.UtmContent,
                Referrer = input.Referrer,
                Url = input.LandingPage,
                Source = context.Source,
                ActorUserId = context.ActorUserId,
                Properties = input.Extra.Count > 0 ? JsonSerializer.Serialize(input.Extra) : null,
                CreatedAt = now,
            };
            added.Activities.Add(activity);
            if (!touched.TryGetValue(lead, out var seen))
                touched[lead] = seen = new Touched(isNew, lead.ScoreDirtyAt is not null, []);
            seen.Added.Add(new Qualification.Scoring.ActivityFacts(activity.Type, activity.OccurredAt, activity.CampaignId, activity.Url,
                input.Extra.Count > 0 ? new Dictionary<string, string?>(input.Extra, StringComparer.OrdinalIgnoreCase) : null));
            // A second mention of the same person in one batch merges into the lead the first one created.
            results.Add((item.Index, new CaptureOutcome(lead.Id, isNew, null)));
        }
        await ScoreAsync(touched, active, history, now, ct);
        // The subscription set is cached: with no endpoint on lead.created this costs a dictionary lookup (decision 009).
        if (added.Leads.Count > 0 && await webhooks.HasSubscribersAsync(Platform.OutboundWebhooks.WebhookEvents.LeadCreated, ct))
            foreach (var lead in added.Leads)
                added.Webhooks.AddRange(await webhooks.CreateDeliveriesAsync(Platform.OutboundWebhooks.WebhookEvents.LeadCreated,
                    new { lead = LeadWebhookData.Of(lead) }, now, ct));
        // One change detection for the whole call (automatic detection is off while building it).
        db.ChangeTracker.DetectChanges();
        // Activities have no foreign key to their lead (decision 009): an existing lead is always updated with its new activity,
        // even when nothing else changed (skip-existing imports), so a lead merged away meanwhile fails the update and the
        // attempt is retried rather than leaving an activity without its lead.
        foreach (var (lead, seen) in touched)
            if (!seen.IsNew && db.Entry(lead).State == EntityState.Unchanged)
                db.Entry(lead).Property(l => l.UpdatedAt).IsModified = true;
        if (db.Database.IsNpgsql())
        {
            await SavePostgresAsync(bulk: items.Count >= BulkThreshold, added, ct);
        }
        else
        {
            foreach (var table in added.Tables)
                foreach (var row in table)
                    db.Add(row!);
            await db.SaveChangesAsync(ct);
        }
        db.ChangeTracker.Clear();
        if (added.Webhooks.Count > 0)
            webhooks.Wake();
        // Inside a caller's transaction (an import batch) the new accounts are not committed yet: another writer must not use their
        // ids before they are (a rollback would leave its leads pointing at no account); the next lookup finds and remembers them
        // once committed.
        if (db.Database.CurrentTransaction is null)
            foreach (var account in added.Accounts)
                accountDirectory.Remember(account.Domain is null ? "n:" + account.Name.ToLowerInvariant() : "d:" + account.Domain, account.Id);
        return results;
    }

    private sealed record Touched(bool IsNew, bool WasDirty, List<Qualification.Scoring.ActivityFacts> Added);

    /// <summary>The values of a lead a person reads (not the touch bookkeeping), to tell whether a re-import changed anything.</summary>
    private sealed record LeadState(string? Email, string? Phone, string? ExternalId, string? FirstName, string? LastName, string? Company, string? JobTitle,
        int? CompanySize, string? Industry, string? Country, string? City, string? Language, string? CustomFields, bool? EmailOptIn, bool DoNotEmail,
        bool DoNotCall, LifecycleStage Stage, WorkStatus WorkStatus, Guid? AccountId)
    {
        public static LeadState Of(Lead l) => new(l.Email, l.Phone, l.ExternalId, l.FirstName, l.LastName, l.Company, l.JobTitle, l.CompanySize, l.Industry,
            l.Country, l.City, l.Language, l.CustomFields, l.EmailOptIn, l.DoNotEmail, l.DoNotCall, l.Stage, l.WorkStatus, l.AccountId);

        public List<string> Changes(LeadState after)
        {
            var changed = new List<string>();
            void Check<T>(string name, T a, T b)
            {
                if (!EqualityComparer<T>.Default.Equals(a, b))
                    changed.Add(name);
            }
            Check("email", Email, after.Email);
            Check("phone", Phone, after.Phone);
            Check("externalId", ExternalId, after.ExternalId);
            Check("firstName", FirstName, after.FirstName);
            Check("lastName", LastName, after.LastName);
            Check("company", Company, after.Company);
            Check("jobTitle", JobTitle, after.JobTitle);
            Check("companySize", CompanySize, after.CompanySize);
            Check("industry", Industry, after.Industry);
            Check("country", Country, after.Country);
            Check("city", City, after.City);
            Check("language", Language, after.Language);
            Check("customFields", CustomFields, after.CustomFields);
            Check("emailOptIn", EmailOptIn, after.EmailOptIn);
            Check("doNotEmail", DoNotEmail, after.DoNotEmail);
            Check("doNotCall", DoNotCall, after.DoNotCall);
            Check("stage", Stage, after.Stage);
            Check("workStatus", WorkStatus, after.WorkStatus);
            Check("account", AccountId, after.AccountId);
            return changed;
        }
    }

    /// <summary>
    /// Every capture adds an activity, so the score can move: the lead is scored here, in the capture's own write, with the stored
    /// activities and the new ones. Only a lead that now meets the MQL rule (or was already waiting for a score) is flagged for the
    /// scoring worker, which records the transition and routes it; the others cost no second write. With no active definition there
    /// is nothing to score against: activating one rescores every lead.
    /// </summary>
    /// <summary>
    /// PostgreSQL: the leads matching any identifier and, in the same round trip, the activity history that scoring needs for them
    /// when <paramref name="active"/> is given (one batch: the key-lookup planner setting, the leads, their activities, the reset).
    /// The leads are tracked as EF would.
    /// </summary>
    private async Task<(List<Lead>, Dictionary<Guid, List<Qualification.Scoring.ActivityFacts>>?)> LookupPostgresAsync(string selectLeads,
        List<string> emails, List<string> phones, List<string> externalIds, Qualification.ActiveScoring? active, CancellationToken ct)
    {
        const string Match = "(\"Email\" = ANY($1) OR \"Phone\" = ANY($2) OR \"ExternalId\" = ANY($3))";
        var connection = (Npgsql.NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var batch = KeyLookup.Batch(connection, $"{selectLeads} WHERE {Match}");
            batch.Transaction = db.Database.CurrentTransaction?.GetDbTransaction() as Npgsql.NpgsqlTransaction;
            void Keys(Npgsql.NpgsqlBatchCommand command)
            {
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = emails.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = phones.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
                command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = externalIds.ToArray(), NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text });
            }
            Keys(batch.BatchCommands[1]);
            var withProperties = active is not null && Qualification.ScoringFacts.NeedsProperties(active.Definition);
            if (active is not null)
            {
                var activities = new Npgsql.NpgsqlBatchCommand(Qualification.ScoringFacts.SelectActivities(withProperties) +
                    $"\"LeadId\" IN (SELECT \"Id\" FROM \"Leads\" WHERE {Match})");
                Keys(activities);
                batch.BatchCommands.Insert(2, activities);
            }
            await using var reader = await batch.ExecuteReaderAsync(ct);
            // Result sets: the setting (none), the leads, then the activities.
            while (reader.FieldCount == 0 && await reader.NextResultAsync(ct))
            {
            }
            var leads = await PostgresBulk.ReadTracked<Lead>(db, reader, ct);
            if (active is null || !await reader.NextResultAsync(ct))
                return (leads, null);
            var history = new Dictionary<Guid, List<Qualification.Scoring.ActivityFacts>>();
            await Qualification.ScoringFacts.ReadActivitiesAsync(reader, withProperties, null, history, ct);
            foreach (var list in history.Values)
                list.Sort((x, y) => x.OccurredAt.CompareTo(y.OccurredAt));
            return (leads, history);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task ScoreAsync(Dictionary<Lead, Touched> touched, Qualification.ActiveScoring? active,
        Dictionary<Guid, List<Qualification.Scoring.ActivityFacts>>? history, DateTimeOffset now, CancellationToken ct)
    {
        if (active is null)
        {
            // Nothing to score against yet (or this instance has not seen the activation), but an MQL the source gave without an owner
            // is still flagged: the scoring pass routes it whether or not a definition is active.
            foreach (var (lead, _) in touched)
                if (lead.Stage == LifecycleStage.Mql && lead.OwnerId is null)
                {
                    Qualification.ScoringFacts.RequestScore(lead, now);
                    _scoreRequested = true;
                }
            return;
        }
        var existing = touched.Where(t => !t.Value.IsNew).Select(t => t.Key.Id).ToList();
        var stored = history ?? await Qualification.ScoringFacts.ActivitiesAsync(db, existing, Qualification.ScoringFacts.NeedsProperties(active.Definition), ct);
        foreach (var (lead, t) in touched)
        {
            var activities = t.Added;
            if (stored.TryGetValue(lead.Id, out var before))
                activities = [.. before, .. t.Added];
            activities.Sort((x, y) => x.OccurredAt.CompareTo(y.OccurredAt));
            var (_, verdict) = Qualification.LeadQualifier.ScoreInto(lead, activities, active, now);
            // Always a new flag value (never ??=): a scoring pass that read the lead before this write must not clear it.
            // An MQL without an owner (the source system gave the stage) is flagged too: the scoring pass routes it like any MQL.
            if (verdict is not null || t.WasDirty || (lead.Stage == LifecycleStage.Mql && lead.OwnerId is null))
            {
                Qualification.ScoringFacts.RequestScore(lead, now);
                _scoreRequested = true;
            }
        }
    }

    /// <summary>Stages move forward along Subscriber → … → Advocate; side stages are never entered by capture.</summary>
    private static bool IsForward(LifecycleStage from, LifecycleStage to) =>
        to is not (LifecycleStage.Recycled or LifecycleStage.Disqualified) &&
        from is not (LifecycleStage.Recycled or LifecycleStage.Disqualified) && to > from;

    private static void Merge(Lead lead, LeadInput input, Prepared item, DateTimeOffset at, bool isNew,
        Dictionary<string, Lead> byEmail, Dictionary<string, Lead> byPhone, Dictionary<(string, string), Lead> byExternal, CaptureContext context)
    {
        // Identifiers: fill a missing one unless it already belongs to another lead (then it stays a possible duplicate).
        if (lead.Email is null && input.Email is not null && (!byEmail.TryGetValue(input.Email, out var e) || e == lead))
            lead.Email = input.Email;
        if (lead.Phone is null && input.Phone is not null && (!byPhone.TryGetValue(input.Phone, out var p) || p == lead))
            lead.Phone = input.Phone;
        if (lead.ExternalId is null && input.ExternalId is not null && (!byExternal.TryGetValue((input.ExternalSystem!, input.ExternalId), out var x) || x == lead))
        {
            lead.ExternalSystem = input.ExternalSystem;
            lead.ExternalId = input.ExternalId;
        }

        // Newer submissions overwrite; older ones (e.g. an import of last year's list) only fill gaps.
        var newer = isNew || at >= lead.UpdatedAt;
        string? Pick(string field, string? current, string? incoming) =>
            incoming is null || lead.ManualFields.Contains(field) ? current : current is null || newer ? incoming : current;
        lead.FirstName = Pick("firstName", lead.FirstName, input.FirstName);
        lead.LastName = Pick("lastName", lead.LastName, input.LastName);
        lead.Company = Pick("company", lead.Company, input.Company);
        lead.JobTitle = Pick("jobTitle", lead.JobTitle, input.JobTitle);
        lead.Industry = Pick("industry", lead.Industry, input.Industry);
        lead.Country = Pick("country", lead.Country, input.Country);
        lead.City = Pick("city", lead.City, input.City);
        lead.Language = Pick("language", lead.Language, input.Language);
        if (input.CompanySize is { } size && !lead.ManualFields.Contains("companySize") && (lead.CompanySize is null || newer))
            lead.CompanySize = size;
        if (item.CustomJson is not null)
            lead.CustomFields = MergeCustom(lead.CustomFields, item.CustomJson, newer, lead.ManualFields);

        if (input.Consent is { } consent && (newer || lead.ConsentAt is null))
        {
            if (consent.EmailOptIn is { } optIn)
            {
                lead.EmailOptIn = optIn;
                if (optIn) lead.DoNotEmail = false;
            }
            if (consent.DoNotEmail is { } dne) lead.DoNotEmail = dne;
            if (consent.DoNotCall is { } dnc) lead.DoNotCall = dnc;
            lead.ConsentAt = at;
            lead.ConsentSource = Truncate(consent.Text is null ? context.Source : $"{context.Source}: {consent.Text}", 200);
        }

        // First touch is kept forever; latest touch follows the newest submission.
        var source = input.UtmSource ?? HostOf(input.Referrer);
        if (lead.FirstTouchAt is null || at < lead.FirstTouchAt)
        {
            lead.FirstTouchAt = at;
            lead.FirstChannel = item.Channel;
            lead.FirstSource = source;
            lead.FirstMedium = input.UtmMedium;
            lead.FirstCampaignId = item.Campaign?.Id;
            lead.FirstReferrer = input.Referrer;
            lead.FirstLandingPage = input.LandingPage;
        }
        if (lead.LatestTouchAt is null || at >= lead.LatestTouchAt)
        {
            lead.LatestTouchAt = at;
            lead.LatestChannel = item.Channel;
            lead.LatestSource = source;
            lead.LatestMedium = input.UtmMedium;
            lead.LatestCampaignId = item.Campaign?.Id;
            lead.LatestReferrer = input.Referrer;
            lead.LatestLandingPage = input.LandingPage;
        }
        if (at > lead.UpdatedAt)
            lead.UpdatedAt = at;
    }

    private static string? MergeCustom(string? current, string incoming, bool newer, List<string> manual)
    {
        if (current is null)
            return incoming;
        var target = JsonNode.Parse(current)!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(incoming)!.AsObject().ToList())
        {
            if (manual.Contains($"customFields.{key}") || (!newer && target.ContainsKey(key)))
                continue;
            target[key] = value?.DeepClone();
        }
        return target.ToJsonString();
    }

    /// <summary>Account key: the email's company domain, or the company name when the email is free-mail or absent.</summary>
    private static string? AccountKey(LeadInput input)
    {
        var domain = Normalize.EmailDomain(input.Email);
        if (domain is not null && !FreeMailDomains.Contains(domain))
            return "d:" + domain;
        return input.Company is { Length: > 0 } company ? "n:" + company.Trim().ToLowerInvariant() : null;
    }

    /// <summary>Finds or creates the account of each lead: known ones from the directory cache, the rest in two queries.</summary>
    private async Task<Dictionary<string, Guid>> ResolveAccountsAsync(List<Prepared> items, DateTimeOffset now, NewRows added, CancellationToken ct)
    {
        var result = new Dictionary<string, Guid>(StringComparer.Ordinal);
        var wanted = new Dictionary<string, LeadInput>(StringComparer.Ordinal);
        foreach (var item in items)
            if (AccountKey(item.Input) is { } key && !result.ContainsKey(key))
            {
                if (accountDirectory.TryGet(key, out var known))
                    result[key] = known;
                else
                    wanted.TryAdd(key, item.Input);
            }
        if (wanted.Count == 0)
            return result;
        var domains = wanted.Keys.Where(k => k.StartsWith("d:", StringComparison.Ordinal)).Select(k => k[2..]).ToList();
        var names = wanted.Keys.Where(k => k.StartsWith("n:", StringComparison.Ordinal)).Select(k => k[2..]).ToList();
        async Task<List<(Guid Id, string Domain)>> ByDomainAsync(List<string> wantedDomains) =>
            [.. (await db.Accounts.AsNoTracking().TagWith(KeyLookup.Tag).Where(a => a.Domain != null && wantedDomains.Contains(a.Domain))
                .Select(a => new { a.Id, a.Domain }).ToListAsync(ct)).Select(a => (a.Id, a.Domain!))];
        if (domains.Count > 0)
            foreach (var (id, domain) in await ByDomainAsync(domains))
            {
                result["d:" + domain] = id;
                accountDirectory.Remember("d:" + domain, id);
            }
        if (names.Count > 0)
            foreach (var a in await db.Accounts.AsNoTracking().TagWith(KeyLookup.Tag).Where(a => a.Domain == null && names.Contains(a.Name.ToLower())).Select(a => new { a.Id, a.Name }).ToListAsync(ct))
                result.TryAdd("n:" + a.Name.ToLowerInvariant(), a.Id);
        // Inside a caller's transaction on PostgreSQL (an import batch, with other batches written at once) new domain accounts are
        // inserted first, skipping any another writer is creating, then read back: two writers never fail on the same company.
        var shared = db.Database.IsNpgsql() && db.Database.CurrentTransaction is not null ? new List<Account>() : null;
        foreach (var (key, input) in wanted)
        {
            if (result.ContainsKey(key))
                continue;
            var isDomain = key.StartsWith("d:", StringComparison.Ordinal);
            var account = new Account
            {
                Name = Truncate(input.Company ?? key[2..], 200)!,
                Domain = isDomain ? key[2..] : null,
                Industry = input.Industry,
                EmployeeCount = input.CompanySize,
                Country = input.Country,
                CreatedAt = now,
            };
            if (isDomain && shared is not null)
            {
                shared.Add(account);
                continue;
            }
            added.Accounts.Add(account);
            result[key] = account.Id;
        }
        if (shared is { Count: > 0 })
        {
            // Always in the same order, so two writers inserting the same companies wait for each other instead of deadlocking.
            shared.Sort((x, y) => string.CompareOrdinal(x.Domain, y.Domain));
            await PostgresBulk.InsertIgnoringConflictsAsync(db, shared, ct);
            foreach (var (id, domain) in await ByDomainAsync([.. shared.Select(a => a.Domain!)]))
                result["d:" + domain] = id;
        }
        return result;
    }

    private static string? HostOf(string? url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) ? Truncate(uri.Host, 100) : null;

    private static string? Truncate(string? value, int max) => value is null || value.Length <= max ? value : value[..max];

    /// <summary>COPY raises PostgresException directly; INSERT through EF wraps it in DbUpdateException.</summary>
    private static DbUpdateException? ToDbUpdate(Exception ex) => ex switch
    {
        DbUpdateException update => update,
        Npgsql.PostgresException pg => new DbUpdateException(pg.Message, pg),
        _ => null,
    };

    internal static bool IsForeignKeyViolation(DbUpdateException ex) => ex.InnerException switch
    {
        Npgsql.PostgresException pg => pg.SqlState == "23503",
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteExtendedErrorCode == 787,
        _ => false,
    };

    /// <summary>PostgreSQL aborted this writer to break a deadlock with another one: the write can simply be tried again.</summary>
    internal static bool IsDeadlock(DbUpdateException ex) => ex.InnerException is Npgsql.PostgresException { SqlState: "40P01" };

    internal static bool IsUniqueViolation(DbUpdateException ex) => ex.InnerException switch
    {
        Npgsql.PostgresException pg => pg.SqlState == "23505",
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode == 19,
        _ => false,
    };
}

/// <summary>
/// Account ids by key (company email domain, or company name for free-mail leads), remembered across requests so
/// capture does not look the account up for every lead. Accounts are rarely deleted; if one is, the foreign-key
/// error clears this directory and capture retries.
/// </summary>
public sealed class AccountDirectory
{
    private const int MaxEntries = 200_000;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Guid> _ids = new(StringComparer.Ordinal);

    public bool TryGet(string key, out Guid id) => _ids.TryGetValue(key, out id);

    public void Remember(string key, Guid id)
    {
        if (_ids.Count >= MaxEntries)
            _ids.Clear();
        _ids[key] = id;
    }

    public void Clear() => _ids.Clear();
}
