using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification.Scoring;

namespace Tandem.Features.Qualification;

public sealed record ApprovalView(Guid UserId, string? UserName, ApprovalSide Side, int Revision, DateTimeOffset At);

public sealed record VersionSummary(Guid Id, int Number, VersionStatus Status, string? Summary, string? AuthorName, DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt, string? UpdatedByName, DateTimeOffset? ActivatedAt, string? ActivatedByName, DateTimeOffset? RetiredAt, int Revision);

public sealed record VersionDetail(VersionSummary Version, QualificationDefinition Definition, IReadOnlyList<ApprovalView> Approvals,
    IReadOnlyList<DefinitionIssue> Issues);

/// <summary>Body of draft create/update. <c>Revision</c> is the revision the editor started from (optimistic concurrency).</summary>
public sealed record DraftRequest(QualificationDefinition? Definition, string? Summary, int? Revision);

public sealed record CreateDraftRequest(Guid? CopyFrom, string? Summary);

/// <summary>Result of a versioning command: exactly one of the members describes what happened.</summary>
public sealed record VersionOutcome(VersionDetail? Detail = null, bool NotFound = false, Dictionary<string, string[]>? Errors = null,
    string? Conflict = null, string? Forbidden = null, QualificationJob? Job = null);

/// <summary>
/// The versioned qualified-lead definition: drafts (Marketing and Sales can both write them), approvals, activation (an Admin, or
/// one Marketing and one Sales approval of the current revision when <c>Tandem:Qualification:ActivationByApprovals</c> is on),
/// retirement of the previous version and the full rescore that follows.
/// </summary>
public sealed class DefinitionVersions(TandemDb db, ActiveDefinition active, TimeProvider clock, IConfiguration configuration,
    QualificationJobSignal jobSignal)
{
    public const int MaxSummary = 1000;

    public static VersionSummary Summarize(QualificationVersion v) => new(v.Id, v.Number, v.Status, v.Summary, v.AuthorName, v.CreatedAt,
        v.UpdatedAt, v.UpdatedByName, v.ActivatedAt, v.ActivatedByName, v.RetiredAt, v.Revision);

    public async Task<IReadOnlyList<VersionSummary>> ListAsync(CancellationToken ct) =>
        (await db.QualificationVersions.AsNoTracking().OrderByDescending(v => v.Number).ToListAsync(ct)).Select(Summarize).ToList();

    public async Task<VersionDetail?> GetAsync(Guid id, CancellationToken ct)
    {
        var v = await db.QualificationVersions.AsNoTracking().FirstOrDefaultAsync(x => x.Id == id, ct);
        return v is null ? null : await DetailAsync(v, ct);
    }

    public async Task<VersionDetail?> GetActiveAsync(CancellationToken ct)
    {
        var v = await db.QualificationVersions.AsNoTracking().FirstOrDefaultAsync(x => x.Status == VersionStatus.Active, ct);
        return v is null ? null : await DetailAsync(v, ct);
    }

    private async Task<VersionDetail> DetailAsync(QualificationVersion v, CancellationToken ct)
    {
        var definition = DefinitionTools.FromJson(v.Definition);
        var approvals = await db.VersionApprovals.AsNoTracking().Where(a => a.VersionId == v.Id).OrderBy(a => a.At)
            .Select(a => new ApprovalView(a.UserId, a.UserName, a.Side, a.Revision, a.At)).ToListAsync(ct);
        var issues = v.Status == VersionStatus.Draft ? await ValidateAsync(definition, ct) : [];
        return new VersionDetail(Summarize(v), definition, approvals, issues);
    }

    public async Task<IReadOnlyList<DefinitionIssue>> ValidateAsync(QualificationDefinition definition, CancellationToken ct)
    {
        var personas = (await db.Personas.Select(p => p.Id).ToListAsync(ct)).ToHashSet();
        var campaigns = (await db.Campaigns.Select(c => c.Id).ToListAsync(ct)).ToHashSet();
        return DefinitionTools.Validate(definition, personas, campaigns);
    }

    public async Task<VersionOutcome> CreateDraftAsync(CreateDraftRequest request, Actor actor, CancellationToken ct)
    {
        if (request.Summary?.Length > MaxSummary)
            return new VersionOutcome(Errors: new() { ["summary"] = [$"At most {MaxSummary} characters."] });
        string json;
        if (request.CopyFrom is { } from)
        {
            var source = await db.QualificationVersions.AsNoTracking().FirstOrDefaultAsync(v => v.Id == from, ct);
            if (source is null)
                return new VersionOutcome(Errors: new() { ["copyFrom"] = [$"No version with id {from}."] });
            json = source.Definition;
        }
        else
        {
            var current = await db.QualificationVersions.AsNoTracking().Where(v => v.Status == VersionStatus.Active).Select(v => v.Definition).FirstOrDefaultAsync(ct);
            json = current ?? DefinitionTools.ToJson(DefinitionTools.Starter(await ActiveDefinition.LoadPersonasAsync(db, ct)));
        }
        var now = clock.GetUtcNow();
        for (var attempt = 0; ; attempt++)
        {
            var number = (await db.QualificationVersions.MaxAsync(v => (int?)v.Number, ct) ?? 0) + 1;
            var version = new QualificationVersion
            {
                Number = number,
                Definition = json,
                Summary = request.Summary?.Trim(),
                AuthorId = actor.Id,
                AuthorName = actor.Name,
                CreatedAt = now,
                UpdatedAt = now,
                UpdatedByName = actor.Name,
            };
            db.QualificationVersions.Add(version);
            try
            {
                await db.SaveChangesAsync(ct);
                return new VersionOutcome(await DetailAsync(version, ct));
            }
            catch (DbUpdateException) when (attempt < 3)
            {
                // Another draft took the number: take the next one.
                db.Entry(version).State = EntityState.Detached;
            }
        }
    }

    public async Task<VersionOutcome> UpdateDraftAsync(Guid id, DraftRequest request, Actor actor, CancellationToken ct)
    {
        var version = await db.QualificationVersions.FirstOrDefaultAsync(v => v.Id == id, ct);
        if (version is null)
            return new VersionOutcome(NotFound: true);
        var errors = new FieldErrors();
        if (request.Definition is null)
            errors.Add("definition", "A definition is required.");
        if (request.Revision is null)
            errors.Add("revision", "The revision you edited is required (optimistic concurrency).");
        if (request.Summary?.Length > MaxSummary)
            errors.Add("summary", $"At most {MaxSummary} characters.");
        if (errors.Any)
            return new VersionOutcome(Errors: errors.ToDictionary());
        if (version.Status != VersionStatus.Draft)
            return new VersionOutcome(Conflict: $"Version {version.Number} is {version.Status}; only drafts can be edited. Create a new draft from it.");
        if (version.Revision != request.Revision)
            return new VersionOutcome(Conflict: $"Version {version.Number} was changed by {version.UpdatedByName} at {version.UpdatedAt:u} (revision {version.Revision}, you edited {request.Revision}). Reload it and apply your change again.");
        var issues = await ValidateAsync(request.Definition!, ct);
        var fieldErrors = issues.Where(i => !i.IsWarning).GroupBy(i => "definition." + i.Path)
            .ToDictionary(g => g.Key, g => g.Select(i => i.Message).ToArray());
        if (fieldErrors.Count > 0)
            return new VersionOutcome(Errors: fieldErrors);
        version.Definition = DefinitionTools.ToJson(request.Definition!);
        version.Summary = request.Summary?.Trim() ?? version.Summary;
        version.UpdatedAt = clock.GetUtcNow();
        version.UpdatedByName = actor.Name;
        version.Revision++;
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            return new VersionOutcome(Conflict: $"Version {version.Number} was changed by someone else while you saved. Reload it and apply your change again.");
        }
        return new VersionOutcome(await DetailAsync(version, ct));
    }

    public async Task<VersionOutcome> DeleteDraftAsync(Guid id, CancellationToken ct)
    {
        var version = await db.QualificationVersions.FirstOrDefaultAsync(v => v.Id == id, ct);
        if (version is null)
            return new VersionOutcome(NotFound: true);
        if (version.Status != VersionStatus.Draft)
            return new VersionOutcome(Conflict: $"Version {version.Number} is {version.Status}; only drafts can be deleted (history is kept).");
        db.QualificationVersions.Remove(version);
        await db.SaveChangesAsync(ct);
        return new VersionOutcome();
    }

    public async Task<VersionOutcome> ApproveAsync(Guid id, Actor actor, IReadOnlyCollection<string> roles, CancellationToken ct)
    {
        var version = await db.QualificationVersions.FirstOrDefaultAsync(v => v.Id == id, ct);
        if (version is null)
            return new VersionOutcome(NotFound: true);
        if (version.Status != VersionStatus.Draft)
            return new VersionOutcome(Conflict: $"Version {version.Number} is {version.Status}; only drafts are approved.");
        // The company-wide definition is approved by the people answerable for each side: a marketer, and a sales manager (never a rep).
        ApprovalSide? side = roles.Contains(Roles.Marketing) ? ApprovalSide.Marketing
            : roles.Contains(Roles.SalesManager) ? ApprovalSide.Sales : null;
        if (side is null || actor.Id is null)
            return new VersionOutcome(Forbidden: "Only a Marketing user or a Sales manager approves a draft (an Admin activates it directly).");
        var existing = await db.VersionApprovals.FirstOrDefaultAsync(a => a.VersionId == id && a.UserId == actor.Id, ct);
        if (existing is not null)
            db.VersionApprovals.Remove(existing);
        db.VersionApprovals.Add(new VersionApproval
        {
            VersionId = id,
            UserId = actor.Id.Value,
            UserName = actor.Name,
            Side = side.Value,
            Revision = version.Revision,
            At = clock.GetUtcNow(),
        });
        await db.SaveChangesAsync(ct);
        return new VersionOutcome(await DetailAsync(version, ct));
    }

    /// <summary>Activates a draft: the previous Active version is retired, and a full rescore job is queued.</summary>
    public async Task<VersionOutcome> ActivateAsync(Guid id, Actor actor, bool isAdmin, CancellationToken ct)
    {
        var version = await db.QualificationVersions.FirstOrDefaultAsync(v => v.Id == id, ct);
        if (version is null)
            return new VersionOutcome(NotFound: true);
        if (version.Status != VersionStatus.Draft)
            return new VersionOutcome(Conflict: $"Version {version.Number} is {version.Status}; only a draft can be activated.");
        if (!isAdmin)
        {
            if (!configuration.GetValue("Tandem:Qualification:ActivationByApprovals", true))
                return new VersionOutcome(Forbidden: "Only an Admin can activate a version on this installation.");
            var sides = await db.VersionApprovals.Where(a => a.VersionId == id && a.Revision == version.Revision).Select(a => a.Side).Distinct().ToListAsync(ct);
            if (!sides.Contains(ApprovalSide.Marketing) || !sides.Contains(ApprovalSide.Sales))
                return new VersionOutcome(Forbidden: "Activation needs an Admin, or one Marketing and one Sales approval of the current revision "
                    + $"(has: {(sides.Count == 0 ? "none" : string.Join(", ", sides))}).");
        }
        var definition = DefinitionTools.FromJson(version.Definition);
        var issues = await ValidateAsync(definition, ct);
        if (issues.Any(i => !i.IsWarning))
            return new VersionOutcome(Errors: issues.Where(i => !i.IsWarning).GroupBy(i => "definition." + i.Path)
                .ToDictionary(g => g.Key, g => g.Select(i => i.Message).ToArray()));
        var running = await db.QualificationJobs.AsNoTracking()
            .Where(j => j.Kind == JobKind.Rescore && j.VersionId != null && (j.Status == JobStatus.Queued || j.Status == JobStatus.Running))
            .OrderBy(j => j.CreatedAt).FirstOrDefaultAsync(ct);
        if (running is not null)
            return new VersionOutcome(Conflict: $"An activation is still rescoring every lead ({Percent(running)} % done, started by {running.CreatedByName}). "
                + "Wait for it to finish, then activate.");

        var now = clock.GetUtcNow();
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        // Retire first: the filtered unique index allows one Active row, so a concurrent activation fails here instead of winning twice.
        await db.QualificationVersions.Where(v => v.Status == VersionStatus.Active)
            .ExecuteUpdateAsync(s => s.SetProperty(v => v.Status, VersionStatus.Retired).SetProperty(v => v.RetiredAt, now), ct);
        version.Status = VersionStatus.Active;
        version.ActivatedAt = now;
        version.ActivatedByName = actor.Name;
        var job = new QualificationJob
        {
            Kind = JobKind.Rescore,
            VersionId = version.Id,
            Reason = $"Version {version.Number} activated",
            CreatedAt = now,
            CreatedByName = actor.Name,
        };
        db.QualificationJobs.Add(job);
        db.AuditEntries.Add(new AuditEntry
        {
            At = now,
            ActorId = actor.Id,
            Actor = actor.Name.Length > 256 ? actor.Name[..256] : actor.Name,
            Action = "qualification.activate",
            EntityType = "QualificationVersion",
            EntityId = version.Id.ToString(),
            Details = $"Version {version.Number} activated: {version.Summary}",
        });
        try
        {
            await db.SaveChangesAsync(ct);
            await tx.CommitAsync(ct);
        }
        catch (DbUpdateException)
        {
            return new VersionOutcome(Conflict: "Another activation happened at the same moment; reload and try again.");
        }
        active.Invalidate();
        jobSignal.Wake();
        return new VersionOutcome(await DetailAsync(version, ct), Job: job);
    }

    public static int Percent(QualificationJob j) => j.Total <= 0 ? 0 : (int)Math.Min(100, j.Processed * 100 / j.Total);

    public async Task<(IReadOnlyList<DefinitionChange>? Changes, bool NotFound)> DiffAsync(Guid from, Guid to, CancellationToken ct)
    {
        var a = await db.QualificationVersions.AsNoTracking().Where(v => v.Id == from).Select(v => v.Definition).FirstOrDefaultAsync(ct);
        var b = await db.QualificationVersions.AsNoTracking().Where(v => v.Id == to).Select(v => v.Definition).FirstOrDefaultAsync(ct);
        if (a is null || b is null)
            return (null, true);
        return (DefinitionTools.Diff(DefinitionTools.FromJson(a), DefinitionTools.FromJson(b)), false);
    }

    /// <summary>Creates and activates a version in one go (first start, demo data): no approvals, no rescore job needed for an empty database.</summary>
    public static async Task<QualificationVersion> SeedActiveAsync(TandemDb db, QualificationDefinition definition, string summary, DateTimeOffset now,
        CancellationToken ct)
    {
        var version = new QualificationVersion
        {
            Number = (await db.QualificationVersions.MaxAsync(v => (int?)v.Number, ct) ?? 0) + 1,
            Status = VersionStatus.Active,
            Definition = DefinitionTools.ToJson(definition),
            Summary = summary,
            AuthorName = "Tandem",
            CreatedAt = now,
            UpdatedAt = now,
            UpdatedByName = "Tandem",
            ActivatedAt = now,
            ActivatedByName = "Tandem",
        };
        db.QualificationVersions.Add(version);
        await db.SaveChangesAsync(ct);
        return version;
    }
}
