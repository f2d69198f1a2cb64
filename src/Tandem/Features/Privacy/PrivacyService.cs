using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;

namespace Tandem.Features.Privacy;

public sealed record ConsentEntryDto(ConsentPurpose Purpose, ConsentAction Action, DateTimeOffset At, string? Wording, string? Source,
    Guid? ActorUserId, string? ActorName, string? IpAddress);

/// <summary>A lead's consent: the current state and, for one lead, the append-only ledger that led to it (oldest first).</summary>
public sealed record LeadConsent(bool? EmailOptIn, bool DoNotEmail, bool DoNotCall, DateTimeOffset? ConsentAt, string? ConsentSource,
    IReadOnlyList<ConsentEntryDto>? Ledger);

public sealed record ErasureRequest(string? Reason, bool? BlockRecapture);

public sealed record ErasureResult(Guid LeadId, DateTimeOffset ErasedAt, string ErasedBy, bool AlreadyErased, bool RecaptureBlocked,
    IReadOnlyDictionary<string, int> RowsScrubbed);

public sealed record PrivacySubjects(string Email, IReadOnlyList<Guid> LeadIds, bool RecaptureBlocked);

/// <summary>Everything held on one person: the lead row, its consent, and the rows of every table that refer to it or carry its email.</summary>
public sealed record PrivacyExport(Guid LeadId, DateTimeOffset ExportedAt, string ExportedBy, bool Erased, Dictionary<string, object?> Lead,
    LeadConsent Consent, SortedDictionary<string, List<Dictionary<string, object?>>> Related);

public sealed record ConsentChange(string? Purpose, string? Wording, string? Source);

/// <summary>
/// Privacy rights (decision 021b): export of everything held on a person, erasure that keeps an anonymous tombstone, and the consent
/// ledger's grants and withdrawals.
/// </summary>
public sealed class PrivacyService(TandemDb db, TimeProvider clock, ILogger<PrivacyService> log)
{
    public const int MaxReason = 1000;
    public const string ErasedMark = Scrubber.Mark;

    public static async Task<IReadOnlyList<ConsentEntryDto>> LedgerAsync(TandemDb db, Guid leadId, CancellationToken ct) =>
        await db.ConsentEntries.AsNoTracking().Where(c => c.LeadId == leadId).OrderBy(c => c.At).ThenBy(c => c.CreatedAt)
            .Select(c => new ConsentEntryDto(c.Purpose, c.Action, c.At, c.Wording, c.Source, c.ActorUserId, c.ActorName, c.IpAddress)).ToListAsync(ct);

    public static LeadConsent ConsentOf(Lead l, IReadOnlyList<ConsentEntryDto>? ledger) =>
        new(l.EmailOptIn, l.DoNotEmail, l.DoNotCall, l.ConsentAt, l.ConsentSource, ledger);

    // ---- Subjects ----

    public async Task<(PrivacySubjects? Subjects, FieldErrors Errors)> FindSubjectsAsync(string? email, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(email))
        {
            errors.Add("email", "Give the email address to look for.");
            return (null, errors);
        }
        var (normalised, error) = Normalize.Email(email);
        if (error is not null || normalised is null)
        {
            errors.Add("email", error ?? "Not an email address.");
            return (null, errors);
        }
        var ids = await db.Leads.AsNoTracking().Where(l => l.Email == normalised).Select(l => l.Id).ToListAsync(ct);
        var hash = ErasureHash.Of("email", normalised);
        var blocked = await db.ErasureBlocks.AsNoTracking().AnyAsync(b => b.Hash == hash, ct);
        return (new PrivacySubjects(normalised, ids, blocked), errors);
    }

    // ---- Export ----

    public async Task<PrivacyExport?> ExportAsync(Guid leadId, Actor actor, CancellationToken ct)
    {
        var lead = await db.Leads.AsNoTracking().FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return null;
        var model = db.Model;
        var related = new SortedDictionary<string, List<Dictionary<string, object?>>>(StringComparer.Ordinal);
        var seen = new HashSet<(string, object)>();
        void Add(Microsoft.EntityFrameworkCore.Metadata.IEntityType entity, System.Collections.IList rows)
        {
            var table = entity.GetTableName()!;
            var key = entity.FindPrimaryKey()!.Properties[0].PropertyInfo!;
            foreach (var row in rows)
                if (seen.Add((table, key.GetValue(row!)!)))
                {
                    if (!related.TryGetValue(table, out var list))
                        related[table] = list = [];
                    list.Add(PersonalData.ToRecord(entity, row!));
                }
        }
        foreach (var reference in LeadReferences.Find(model))
            Add(reference.Entity, await PersonalData.RowsOfLeadAsync(db, reference, leadId, ct));

        var id = leadId.ToString();
        var email = lead.Email;
        Add(model.FindEntityType(typeof(Notification))!, await db.Set<Notification>().AsNoTracking()
            .Where(n => (n.Link != null && n.Link.Contains(id)) || (email != null && (n.Subject.Contains(email) || n.Body.Contains(email)))).ToListAsync(ct));
        Add(model.FindEntityType(typeof(WebhookDelivery))!, await db.Set<WebhookDelivery>().AsNoTracking()
            .Where(d => d.Payload.Contains(id) || (email != null && d.Payload.Contains(email))).ToListAsync(ct));
        if (email is not null)
        {
            Add(model.FindEntityType(typeof(WebhookDeadLetter))!, await db.WebhookDeadLetters.AsNoTracking()
                .Where(d => d.RawBody.Contains(email)).ToListAsync(ct));
            Add(model.FindEntityType(typeof(ImportRowError))!, await db.ImportRowErrors.AsNoTracking()
                .Where(r => (r.Value != null && r.Value.Contains(email)) || r.Message.Contains(email)).ToListAsync(ct));
        }
        Add(model.FindEntityType(typeof(AuditEntry))!, await db.AuditEntries.AsNoTracking()
            .Where(a => a.EntityType == nameof(Lead) && a.EntityId == id).ToListAsync(ct));

        var now = clock.GetUtcNow();
        var ledger = await LedgerAsync(db, leadId, ct);
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name,
            Action = "lead.privacy-exported",
            EntityType = nameof(Lead),
            EntityId = id,
            Details = "tables=" + string.Join(",", related.Select(r => $"{r.Key}:{r.Value.Count}")),
        });
        await db.SaveChangesAsync(ct);
        return new PrivacyExport(leadId, now, actor.Name, lead.ErasedAt is not null, PersonalData.ToRecord(model.FindEntityType(typeof(Lead))!, lead),
            ConsentOf(lead, ledger), related);
    }

    /// <summary>The export as one CSV file: the lead, its consent ledger, then one section per table (a <c># Table</c> line, a header, the rows).</summary>
    public static string ToCsv(PrivacyExport export)
    {
        var sb = new StringBuilder();
        void Section(string name, IReadOnlyList<Dictionary<string, object?>> rows)
        {
            sb.Append(CsvSafe.Line(["# " + name, rows.Count.ToString(CultureInfo.InvariantCulture)]));
            if (rows.Count > 0)
            {
                var columns = rows[0].Keys.ToList();
                sb.Append(CsvSafe.Line(columns));
                foreach (var row in rows)
                    sb.Append(CsvSafe.Line(columns.Select(c => Text(row.GetValueOrDefault(c)))));
            }
            sb.Append("\r\n");
        }
        Section("Leads", [export.Lead]);
        Section("ConsentLedger", [.. (export.Consent.Ledger ?? []).Select(e => new Dictionary<string, object?>
        {
            ["Purpose"] = e.Purpose.ToString(), ["Action"] = e.Action.ToString(), ["At"] = e.At, ["Wording"] = e.Wording, ["Source"] = e.Source,
            ["ActorUserId"] = e.ActorUserId, ["ActorName"] = e.ActorName, ["IpAddress"] = e.IpAddress,
        })]);
        foreach (var (table, rows) in export.Related)
            if (table != "ConsentEntries")
                Section(table, rows);
        return sb.ToString();
    }

    private static string? Text(object? value) => value switch
    {
        null => null,
        DateTimeOffset d => d.ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        System.Collections.IEnumerable e when value is not string => string.Join(";", e.Cast<object?>()),
        _ => value.ToString(),
    };

    // ---- Erasure ----

    public static FieldErrors Validate(ErasureRequest? body)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(body?.Reason))
            errors.Add("reason", "Give the reason for the erasure (e.g. the person's request and its date).");
        else if (body.Reason.Trim().Length > MaxReason)
            errors.Add("reason", $"At most {MaxReason} characters.");
        return errors;
    }

    /// <summary>Erases the person; null when there is no such lead. A second erasure changes nothing and says so.</summary>
    public async Task<ErasureResult?> EraseAsync(Guid leadId, ErasureRequest body, Actor actor, CancellationToken ct)
    {
        var block = body.BlockRecapture == true;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return null;
        var id = leadId.ToString();
        if (lead.ErasedAt is { } erasedAt)
        {
            var wasBlocked = await db.AuditEntries.AsNoTracking().AnyAsync(a => a.EntityId == id && a.Action == "lead.erased" && a.Details!.Contains("blockRecapture=true"), ct);
            return new ErasureResult(leadId, erasedAt, lead.ErasedBy ?? "", true, wasBlocked, new Dictionary<string, int>());
        }
        var now = clock.GetUtcNow();
        var fullName = string.Join(' ', new[] { lead.FirstName, lead.LastName }.Where(s => !string.IsNullOrWhiteSpace(s)));
        // Identifiers that name one person anywhere: replaced in every table. Names alone (and an external id) only on the lead's own rows.
        List<string> global = [.. new[] { lead.Email, lead.Phone, fullName.Contains(' ') ? fullName : null }.OfType<string>()];
        List<string> scoped = [.. global, .. new[] { fullName, lead.FirstName, lead.LastName, lead.ExternalId }
            .Where(s => s is { Length: >= 3 }).OfType<string>()];
        var reason = body.Reason!.Trim();
        foreach (var needle in scoped.OrderByDescending(n => n.Length))
            reason = reason.Replace(needle, Scrubber.Mark, StringComparison.OrdinalIgnoreCase);

        if (block)
            foreach (var (kind, value) in new[] { ("email", lead.Email), ("phone", lead.Phone) })
                if (value is not null)
                {
                    var hash = ErasureHash.Of(kind, value);
                    if (!await db.ErasureBlocks.AnyAsync(b => b.Hash == hash, ct))
                        db.ErasureBlocks.Add(new ErasureBlock { Hash = hash, Kind = kind, CreatedAt = now });
                }

        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        void Count(string table, int n)
        {
            if (n > 0) counts[table] = counts.GetValueOrDefault(table) + n;
        }
        var model = db.Model;
        // 1. The lead's own rows (every table that refers to a lead): free text blanked, identifiers and names replaced.
        foreach (var reference in LeadReferences.Find(model))
            Count(reference.Table, await Scrubber.ScrubAsync(db, reference.Entity, Scrubber.WhereEquals(reference.Entity, reference.Property, leadId), scoped,
                blankFreeText: true, ct));
        // 2. Rows about the lead without a lead column: notifications linking to it, its audit entries, deliveries carrying it.
        System.Linq.Expressions.Expression<Func<Notification, bool>> linked = n => n.Link != null && n.Link.Contains(id);
        Count("Notifications", await Scrubber.ScrubAsync(db, model.FindEntityType(typeof(Notification))!, linked, scoped, false, ct));
        System.Linq.Expressions.Expression<Func<AuditEntry, bool>> audited = a => a.EntityId == id;
        Count("AuditEntries", await Scrubber.ScrubAsync(db, model.FindEntityType(typeof(AuditEntry))!, audited, scoped, false, ct));
        var deliveries = await db.Set<WebhookDelivery>().AsNoTracking().Where(d => d.Payload.Contains(id)).Select(d => new { d.Id, d.EventType }).ToListAsync(ct);
        foreach (var d in deliveries)
        {
            var payload = JsonSerializer.Serialize(new { type = d.EventType, erased = true, data = new { lead = new { id = leadId } } });
            Count("WebhookDeliveries", await db.Set<WebhookDelivery>().Where(x => x.Id == d.Id).ExecuteUpdateAsync(s => s.SetProperty(x => x.Payload, payload), ct));
        }
        // 3. Dead letters carrying the email or phone: the body goes, a pending one is discarded (a replay would capture the person again).
        foreach (var needle in new[] { lead.Email, lead.Phone }.OfType<string>())
            Count("WebhookDeadLetters", await db.WebhookDeadLetters.Where(d => d.RawBody.Contains(needle) || (d.Headers != null && d.Headers.Contains(needle)))
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.RawBody, "").SetProperty(d => d.Headers, (string?)null)
                    .SetProperty(d => d.Status, d => d.Status == DeadLetterStatus.Pending ? DeadLetterStatus.Discarded : d.Status)
                    .SetProperty(d => d.ResolvedBy, d => d.Status == DeadLetterStatus.Pending ? "erasure" : d.ResolvedBy), ct));
        await db.WebhookDeadLetters.Where(d => d.LeadId == leadId && d.Status == DeadLetterStatus.Pending)
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.Status, DeadLetterStatus.Discarded).SetProperty(d => d.ResolvedBy, "erasure"), ct);
        // 4. Import error rows: every value of a file row that carried the email or phone.
        foreach (var needle in global)
        {
            var rows = await db.ImportRowErrors.AsNoTracking().Where(r => (r.Value != null && r.Value.Contains(needle)) || r.Message.Contains(needle))
                .Select(r => new { r.ImportJobId, r.Row }).Distinct().ToListAsync(ct);
            foreach (var r in rows)
                Count("ImportRowErrors", await db.ImportRowErrors.Where(x => x.ImportJobId == r.ImportJobId && x.Row == r.Row)
                    .ExecuteUpdateAsync(s => s.SetProperty(x => x.Value, (string?)null), ct));
        }
        // 5. Everywhere else: the email, the phone and the full name (except other leads, users and keys).
        foreach (var entity in model.GetEntityTypes().Where(e => !PersonalData.IsExcluded(e) && e.ClrType != typeof(Lead)))
            Count(entity.GetTableName()!, await Scrubber.ScrubAsync(db, entity, null, global, false, ct));

        // 6. The tombstone: identifiers, names and contact fields gone; stage, campaign, channel, dates, scores and amounts stay.
        lead.Email = null;
        lead.Phone = null;
        lead.ExternalId = null;
        lead.ExternalSystem = null;
        lead.FirstName = null;
        lead.LastName = null;
        lead.JobTitle = null;
        lead.Company = null;
        lead.City = null;
        lead.CustomFields = null;
        lead.ManualFields = [];
        lead.FirstReferrer = null;
        lead.LatestReferrer = null;
        lead.FirstLandingPage = null;
        lead.LatestLandingPage = null;
        lead.EmailOptIn = false;
        lead.DoNotEmail = true;
        lead.DoNotCall = true;
        lead.ErasedAt = now;
        lead.ErasedBy = actor.Name;
        lead.UpdatedAt = now;
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name,
            Action = "lead.erased",
            EntityType = nameof(Lead),
            EntityId = id,
            Details = Cut($"reason={reason}; blockRecapture={(block ? "true" : "false")}; rows={string.Join(",", counts.Select(c => $"{c.Key}:{c.Value}"))}", 4000),
        });
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        DeleteImportFiles(lead.Email ?? global.FirstOrDefault(g => g.Contains('@')));
        log.LogInformation("Lead {LeadId} erased by {Actor} (re-capture blocked: {Blocked})", leadId, actor.Name, block);
        return new ErasureResult(leadId, now, actor.Name, false, block, counts);

        void DeleteImportFiles(string? email)
        {
            if (email is null)
                return;
            // Files of imports still waiting (failed runs, dry runs) are deleted when they hold the address; finished imports have none.
            foreach (var path in db.ImportJobs.AsNoTracking().Where(j => j.Status != ImportStatus.Pending && j.Status != ImportStatus.Running)
                         .Select(j => j.FilePath).ToList())
                try
                {
                    if (File.Exists(path) && File.ReadAllText(path).Contains(email, StringComparison.OrdinalIgnoreCase))
                        File.Delete(path);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
        }
    }

    private static string Cut(string s, int max) => s.Length <= max ? s : s[..max];

    // ---- Consent ----

    /// <summary>Appends a grant or a withdrawal to the ledger and sets the lead's current state; false when there is no such lead.</summary>
    public async Task<(bool Found, FieldErrors Errors)> RecordConsentAsync(Guid leadId, ConsentChange? body, ConsentAction action, Actor actor, string? ip,
        CancellationToken ct)
    {
        var errors = new FieldErrors();
        var purpose = body?.Purpose?.Trim().ToLowerInvariant() switch
        {
            "email" => ConsentPurpose.Email,
            "calls" or "call" or "phone" => ConsentPurpose.Calls,
            _ => (ConsentPurpose?)null,
        };
        if (purpose is null)
            errors.Add("purpose", "Use email or calls.");
        if (body?.Wording is { Length: > ConsentEntry.MaxWording })
            errors.Add("wording", $"At most {ConsentEntry.MaxWording} characters.");
        if (body?.Source is { Length: > 100 })
            errors.Add("source", "At most 100 characters.");
        if (action == ConsentAction.Granted && string.IsNullOrWhiteSpace(body?.Wording))
            errors.Add("wording", "A grant needs the wording the person agreed to.");
        var lead = await db.Leads.FirstOrDefaultAsync(l => l.Id == leadId, ct);
        if (lead is null)
            return (false, errors);
        if (lead.ErasedAt is not null)
            errors.Add("id", "This lead was erased at the person's request; its consent cannot change.");
        if (errors.Any)
            return (true, errors);
        var now = clock.GetUtcNow();
        var source = string.IsNullOrWhiteSpace(body!.Source) ? "ui" : body.Source.Trim();
        var wording = string.IsNullOrWhiteSpace(body.Wording) ? null : body.Wording.Trim();
        db.ConsentEntries.Add(new ConsentEntry
        {
            LeadId = leadId,
            Purpose = purpose!.Value,
            Action = action,
            At = now,
            Wording = wording,
            Source = source,
            ActorUserId = actor.Id,
            ActorName = actor.Name,
            IpAddress = ip is { Length: <= 64 } ? ip : null,
            CreatedAt = now,
        });
        if (purpose == ConsentPurpose.Email)
        {
            lead.EmailOptIn = action == ConsentAction.Granted;
            lead.DoNotEmail = action == ConsentAction.Withdrawn;
        }
        else
        {
            lead.DoNotCall = action == ConsentAction.Withdrawn;
        }
        lead.ConsentAt = now;
        lead.ConsentSource = Cut(wording is null ? source : $"{source}: {wording}", 200);
        lead.UpdatedAt = now;
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name,
            Action = action == ConsentAction.Granted ? "lead.consent-granted" : "lead.consent-withdrawn",
            EntityType = nameof(Lead),
            EntityId = leadId.ToString(),
            Details = $"purpose={purpose}; source={source}",
        });
        await db.SaveChangesAsync(ct);
        return (true, errors);
    }
}
