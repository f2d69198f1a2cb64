using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bogus;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Features.Revenue;

namespace Tandem.Features.Demo;

/// <summary>One demo sign-in, printed once at the end of seeding. The password is generated on each run.</summary>
public sealed record DemoLogin(string Role, string Email, string DisplayName, string Password);

/// <summary>What went through the real capture paths: the web form, the Typeform webhook and the CSV import.</summary>
public sealed record DemoCaptureSummary(
    int FormSubmissions,
    int WebhookDeliveries,
    int DeadLetters,
    int ImportRows,
    int ImportCreated,
    int ImportMerged,
    int ImportFailed,
    int LeadsMerged);

/// <summary>What the demo seeder wrote (lead, account, activity and transition counts include the capture paths).</summary>
public sealed record DemoSummary(
    int Users,
    int Campaigns,
    int Personas,
    int Accounts,
    int Leads,
    int Activities,
    int StageTransitions,
    int Deals,
    DemoCaptureSummary Capture,
    IReadOnlyList<DemoLogin> Logins,
    TimeSpan Elapsed);

/// <summary>
/// Seeds a fictional company with three months of smarketing history ending now: users, personas, campaigns and
/// spend, about 2,000 leads with their accounts, touchpoints, lifecycle transitions and deals. Dates are relative
/// to the clock; every other choice comes from a fixed seed, so two runs at the same clock time produce the same
/// data (except ids and the generated passwords). Runs only on an empty database (no users, leads or campaigns).
/// History is written directly in one transaction; then, as a second phase, recent traffic goes through the real
/// capture paths (web form, Typeform webhook, CSV import) so forms, dead letters and import history look used.
/// </summary>
public sealed class DemoSeeder(TandemDb db, UserAdmin userAdmin, SetupState setupState, TimeProvider clock, CaptureCatalog catalog,
    AccountDirectory accountDirectory, FormService forms, WebhookSourceService webhookSources, WebhookIngest webhookIngest,
    ImportService imports, ImportRunner importRunner, Microsoft.AspNetCore.DataProtection.IDataProtectionProvider protection, IServiceProvider services)
{
    public const int RandomSeed = 20261123;
    public const string EmailDomain = "tandem-demo.example";
    public const int LeadCount = 2000;
    public const string MqlRule = "demo MQL rule v1";
    public const string DisqualificationRule = "demo disqualification rule v1";
    public const int BatchSize = 500;

    public Task<DemoSummary?> SeedAsync(CancellationToken ct = default) => SeedAsync(TextWriter.Null, ct);

    public async Task<DemoSummary?> SeedAsync(TextWriter output, CancellationToken ct = default)
    {
        if (await db.Users.AnyAsync(ct) || await db.Leads.AnyAsync(ct) || await db.Campaigns.AnyAsync(ct))
        {
            output.WriteLine("Demo data skipped: the database is not empty (users or data already exist).");
            return null;
        }

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        var now = clock.GetUtcNow().ToUniversalTime();
        output.WriteLine("Seeding demo data… creating the demo users");

        // The demo webhook secret is protected inside the seeding transaction; on a fresh database the key ring would then be
        // written on another connection while this one holds SQLite's write lock (a 30 s wait, then "database is locked").
        // Protecting once first writes the key ring before the transaction starts.
        Microsoft.AspNetCore.DataProtection.DataProtectionCommonExtensions.Protect(
            protection.CreateProtector(Features.Platform.OutboundWebhooks.WebhookDispatcher.SecretPurpose), "key ring");
        var autoDetect = db.ChangeTracker.AutoDetectChangesEnabled;
        await using var tx = await db.Database.BeginTransactionAsync(ct);
        try
        {
            var (users, logins) = await CreateUsersAsync(now, ct);
            db.ChangeTracker.Clear();
            db.ChangeTracker.AutoDetectChangesEnabled = false;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {logins.Count} users created ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

            var builder = new DemoDataBuilder(now, users);
            var data = builder.Build();
            var revenue = DemoRevenue.Build(data, now);
            var teams = new DemoTeams(Ids.New(), Ids.New());
            var handoff = DemoHandoffHistory.Build(data, users, teams, now);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Seeding demo data… {data.Leads.Count:N0} leads, {data.Activities.Count:N0} activities, {data.Transitions.Count:N0} stage transitions, {data.Deals.Count:N0} deals, {data.Campaigns.Count} campaigns, {data.Accounts.Count:N0} accounts ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

            await InsertAsync(data.Personas, ct);
            await InsertAsync(data.Campaigns, ct);
            await InsertAsync(data.Accounts, ct);
            await InsertAsync(data.Leads, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  leads and accounts written ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));
            await InsertAsync(data.Activities, ct);
            await InsertAsync(data.Transitions, ct);
            await InsertAsync(data.Deals, ct);
            await InsertAsync(revenue.ExtraDeals, ct);
            await InsertAsync(revenue.Changes, ct);
            await InsertAsync(revenue.Rates, ct);
            await InsertAsync(revenue.SalesCosts, ct);
            await InsertAsync([revenue.Goal], ct);
            // The weekly report job may have written the settings row already (its baseline): take it over.
            if (await db.RevenueSettings.FirstOrDefaultAsync(s => s.Id == RevenueSettings.SingletonId, ct) is { } existing)
            {
                existing.ReportingCurrency = revenue.Settings.ReportingCurrency;
                existing.TimeZone = revenue.Settings.TimeZone;
                existing.UpdatedAt = revenue.Settings.UpdatedAt;
                existing.UpdatedBy = revenue.Settings.UpdatedBy;
                await db.SaveChangesAsync(ct);
                db.ChangeTracker.Clear();
            }
            else
            {
                await InsertAsync([revenue.Settings], ct);
            }
            await InsertAsync(handoff.Assignments, ct);
            await InsertAsync(handoff.Timers, ct);
            SeedOutboundWebhook(now);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {handoff.Assignments.Count:N0} assignments ({handoff.Assignments.Count(a => a.BreachedAt is not null)} breached, {handoff.Assignments.Count(a => a.State == Features.Handoff.AssignmentState.Reassigned)} reassigned) and {handoff.Timers.Count:N0} SLA timers written ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));
            db.AuditEntries.Add(new AuditEntry
            {
                At = now,
                Actor = "demo",
                Action = "demo.seeded",
                EntityType = "Installation",
                EntityId = "1",
                Details = string.Create(CultureInfo.InvariantCulture,
                    $"seed={RandomSeed}; leads={data.Leads.Count}; activities={data.Activities.Count}; deals={data.Deals.Count}"),
            });
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
            await tx.CommitAsync(ct);
            setupState.Done = true;
            // The history was written in bulk (leads and their transitions in one batch, in no set order), so the verdicts filed
            // under each lead's campaign are recomputed once from the raw rows (decision 021).
            await LeadRollups.RebuildAsync(db, ct);
            db.ChangeTracker.AutoDetectChangesEnabled = autoDetect;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  history committed ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

            // The shared definition both teams signed: finance directors of SMEs, not students. Every lead is scored by the
            // rescore job it queues, and the ones that meet the MQL rule move to MQL through the normal scoring path.
            await SeedHandoffAsync(users, teams, handoff, now, ct);
            await SeedDefinitionAsync(data, now, ct);

            // Phase two runs after the commit: capture reads campaigns through its own connection (the catalog) and the
            // import commits each batch in a transaction of its own, so neither can run inside the history's transaction.
            var capture = await SeedCapturePathsAsync(builder.BuildCaptureTraffic(), users, output, stopwatch, ct);

            // Phase three: the feedback loop's story through the real verdict, rating, guard and dispute paths.
            var loop = await DemoFeedback.SeedAsync(services, users, teams, now, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  feedback loop: '{DemoFeedback.CampaignName}' {loop.Status} after {loop.Rejected} rejections, {loop.Accepted} acceptances and {loop.Ratings} ratings; {loop.Disputes} disputes; {loop.WebhookDeliveries} webhook deliveries recorded ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

            // Phase four: notes (one mentions a rep) and tasks (one overdue) on the first rep's leads.
            var work = await DemoWork.SeedAsync(services, users, now, ct);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  notes and tasks: {work.Notes} notes, {work.Tasks} tasks ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

            var accounts = await db.Accounts.CountAsync(ct);
            var leads = await db.Leads.CountAsync(ct);
            var activities = await db.Activities.CountAsync(ct);
            var transitions = await db.StageTransitions.CountAsync(ct);
            stopwatch.Stop();
            var summary = new DemoSummary(logins.Count, data.Campaigns.Count, data.Personas.Count, accounts, leads,
                activities, transitions, data.Deals.Count, capture, logins, stopwatch.Elapsed);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Demo data seeded in {stopwatch.Elapsed.TotalSeconds:0.0} s: {summary.Users} users, {summary.Personas} personas, {summary.Campaigns} campaigns, {summary.Accounts:N0} accounts, {summary.Leads:N0} leads, {summary.Activities:N0} activities, {summary.StageTransitions:N0} stage transitions, {summary.Deals:N0} deals."));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Capture paths: {capture.FormSubmissions} form submissions, {capture.WebhookDeliveries} webhook deliveries ({capture.DeadLetters} dead-lettered), {capture.ImportRows} imported CSV rows ({capture.ImportCreated} created, {capture.ImportMerged} merged, {capture.ImportFailed} in the error report); {capture.LeadsMerged} merged into existing leads."));
            WriteLogins(output, logins);
            return summary;
        }
        finally
        {
            db.ChangeTracker.AutoDetectChangesEnabled = autoDetect;
        }
    }

    /// <summary>
    /// One outbound webhook endpoint: the marketing-automation tool that stops ad spend when a campaign is flagged or paused (at a
    /// host that does not exist; the seed produces no such event, so nothing is sent). Its log holds past test sends: delivered,
    /// delivered on the second attempt after a 503, and one that failed for good after 24 hours of 500s.
    /// </summary>
    private void SeedOutboundWebhook(DateTimeOffset now)
    {
        var random = new Random(RandomSeed);
        var endpoint = new Features.Platform.OutboundWebhooks.WebhookEndpoint
        {
            Url = "https://hooks.tandem-demo.example/marketing-automation",
            Events = "campaign.flagged,campaign.paused",
            SecretProtected = Microsoft.AspNetCore.DataProtection.DataProtectionCommonExtensions.Protect(
                protection.CreateProtector(Features.Platform.OutboundWebhooks.WebhookDispatcher.SecretPurpose),
                Features.Platform.OutboundWebhooks.WebhookSigning.NewSecret()),
            CreatedAt = now.AddDays(-30),
            UpdatedAt = now.AddDays(-30),
            CreatedBy = "admin@" + EmailDomain,
        };
        db.Add(endpoint);
        for (var i = 0; i < 6; i++)
        {
            var at = now.AddDays(-29 + i * 5).AddMinutes(random.Next(0, 600));
            var row = Features.Platform.OutboundWebhooks.WebhookPublisher.Build([endpoint.Id], Features.Platform.OutboundWebhooks.WebhookEvents.Test,
                new { endpointId = endpoint.Id, message = "Test event sent from Tandem.", by = endpoint.CreatedBy }, at,
                new Features.Platform.OutboundWebhooks.WebhookOptions())[0];
            row.Attempts = 1;
            row.Status = Features.Platform.OutboundWebhooks.WebhookDeliveryStatus.Delivered;
            row.LastStatusCode = 200;
            row.LastDurationMs = random.Next(60, 240);
            row.LastAttemptAt = row.DeliveredAt = at.AddSeconds(1);
            if (i == 1)
            {
                row.Attempts = 2;
                row.LastAttemptAt = row.DeliveredAt = at.AddSeconds(12);
            }
            else if (i == 2)
            {
                row.Status = Features.Platform.OutboundWebhooks.WebhookDeliveryStatus.Failed;
                row.Attempts = 17;
                row.LastStatusCode = 500;
                row.LastError = "HTTP 500 Internal Server Error upstream unavailable";
                row.LastAttemptAt = row.RetryUntil.AddMinutes(-40);
                row.DeliveredAt = null;
            }
            row.NextAttemptAt = row.LastAttemptAt.Value;
            db.Add(row);
        }
    }

    /// <summary>
    /// Two teams with reps in four time zones: French-speaking MQLs go round-robin to the Paris/Brussels team, the rest to an
    /// international team (least loaded) whose reps work London and New York hours. New MQLs from the seed are routed at once.
    /// </summary>
    private async Task SeedHandoffAsync(DemoUsers users, DemoTeams teams, DemoHandoff history, DateTimeOffset now, CancellationToken ct)
    {
        var json = Features.Handoff.HandoffJson.Options;
        foreach (var rep in users.Reps.Append(new DemoRep(users.ManagerId, "manager", TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"), ["fr"])))
        {
            var calendar = DemoHandoffHistory.CalendarFor(rep.TimeZone);
            db.Set<Features.Handoff.RepProfile>().Add(new Features.Handoff.RepProfile
            {
                UserId = rep.Id,
                Calendar = System.Text.Json.JsonSerializer.Serialize(calendar, json),
                MaxOpenMqls = 40,
                MaxNewPerDay = 15,
                UpdatedAt = now,
            });
        }
        var french = users.Reps.Where(r => r.Languages[0] == "fr").ToList();
        var international = users.Reps.Where(r => r.Languages[0] != "fr").ToList();
        var france = new Features.Handoff.SalesTeam
        {
            Id = teams.FranceId,
            Name = "Inside sales — France & Benelux",
            ManagerUserId = users.ManagerId,
            Strategy = Features.Handoff.Routing.RoutingStrategy.RoundRobin,
            Overflow = Features.Handoff.Routing.OverflowPolicy.NextRep,
            UpdatedAt = now,
        };
        // The strategies' counters continue from the history.
        Features.Handoff.SalesTeamMember Member(Guid teamId, DemoRep r) => new()
        {
            TeamId = teamId,
            UserId = r.Id,
            AssignedCount = history.Assignments.Count(a => a.RepId == r.Id),
            LastAssignedAt = history.Assignments.Where(a => a.RepId == r.Id).Max(a => (DateTimeOffset?)a.AssignedAt),
        };
        france.Members.AddRange(french.Select(r => Member(france.Id, r)));
        var world = new Features.Handoff.SalesTeam
        {
            Id = teams.WorldId,
            Name = "International",
            ManagerUserId = users.ManagerId,
            Strategy = Features.Handoff.Routing.RoutingStrategy.LeastLoaded,
            Overflow = Features.Handoff.Routing.OverflowPolicy.Manager,
            UpdatedAt = now,
        };
        world.Members.AddRange(international.Select(r => Member(world.Id, r)));
        db.Set<Features.Handoff.SalesTeam>().AddRange(france, world);
        db.Set<Features.Handoff.RoutingRuleRow>().Add(new Features.Handoff.RoutingRuleRow
        {
            Order = 1,
            Name = "Outside France, Belgium, Switzerland and Luxembourg → International",
            Conditions = System.Text.Json.JsonSerializer.Serialize(new[]
            {
                new Features.Handoff.Routing.RoutingCondition(Features.Handoff.Routing.LeadField.Country, Features.Handoff.Routing.ConditionOperator.NotIn, ["FR", "BE", "CH", "LU"]),
                new Features.Handoff.Routing.RoutingCondition(Features.Handoff.Routing.LeadField.Country, Features.Handoff.Routing.ConditionOperator.IsNotEmpty, []),
            }, json),
            TargetTeamId = world.Id,
        });
        await db.SaveChangesAsync(ct);
        await db.Set<Features.Handoff.HandoffSettings>().ExecuteUpdateAsync(x => x.SetProperty(h => h.DefaultTeamId, france.Id)
            .SetProperty(h => h.ConfigVersion, h => h.ConfigVersion + 1).SetProperty(h => h.UpdatedAt, now).SetProperty(h => h.UpdatedBy, "demo"), ct);
    }

    private async Task SeedDefinitionAsync(DemoData data, DateTimeOffset now, CancellationToken ct)
    {
        var profiles = data.Personas.Select(Qualification.ActiveDefinition.ToProfile).ToList();
        var starter = Qualification.Scoring.DefinitionTools.Starter(profiles);
        var definition = starter with
        {
            CompetitorDomains = ["ledgerly.example", "closeflow.example"],
        };
        var version = await Qualification.DefinitionVersions.SeedActiveAsync(db, definition,
            "Nos clients sont des DAF de PME, pas des étudiants: finance and operations leaders of 50–500-person companies; students are kept away from sales.",
            now, ct);
        db.QualificationJobs.Add(new Qualification.QualificationJob
        {
            Kind = Qualification.JobKind.Rescore,
            VersionId = version.Id,
            Reason = "Demo data seeded",
            CreatedAt = now,
            CreatedByName = "demo",
        });
        await db.SaveChangesAsync(ct);
    }

    private async Task<DemoCaptureSummary> SeedCapturePathsAsync(DemoCaptureTraffic traffic, DemoUsers users, TextWriter output,
        System.Diagnostics.Stopwatch stopwatch, CancellationToken ct)
    {
        // Campaigns and accounts were written behind the capture caches' back.
        catalog.Invalidate();
        accountDirectory.Clear();
        var marketer = await db.Users.AsNoTracking().Where(u => u.Id == users.MarketerId).Select(u => u.Email).SingleAsync(ct) ?? "demo";
        var merged = 0;

        var (formDto, formErrors) = await forms.CreateAsync(new FormDefinition(
            "Demander une démo", CampaignId: null,
            [
                new FormField("email", "E-mail professionnel", Required: true, FormFieldType.Email),
                new FormField("firstName", "Prénom", Required: true),
                new FormField("lastName", "Nom", Required: true),
                new FormField("company", "Entreprise", Required: true),
                new FormField("jobTitle", "Fonction"),
                new FormField("phone", "Téléphone", Type: FormFieldType.Phone),
            ],
            "J'accepte de recevoir des informations de Tandem Demo sur ses produits et ses événements. Je peux me désabonner à tout moment.",
            [DemoDataBuilder.Site], DemoDataBuilder.Site + "/merci", MinFillSeconds: 3, HoneypotField: "website", Active: true,
            Intent: nameof(FormIntent.ContactSales)), marketer, ct);
        if (formDto is null)
            throw new InvalidOperationException("Demo form rejected: " + string.Join("; ", formErrors!.SelectMany(e => e.Value)));
        var form = await forms.FindByKeyAsync(formDto.Key, ct) ?? throw new InvalidOperationException("The demo form vanished.");
        var submitted = 0;
        foreach (var post in traffic.FormPosts)
        {
            var result = await forms.SubmitAsync(form, post.Fields, checkBots: true, ct);
            if (result.Verdict != SubmissionVerdict.Accepted)
                throw new InvalidOperationException($"Demo form submission {result.Verdict}: {result.DropReason}{string.Join("; ", result.Errors?.SelectMany(e => e.Value) ?? [])}");
            submitted++;
            merged += post.Known ? 1 : 0;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {submitted} form submissions captured ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

        var (sourceDto, sourceErrors) = await webhookSources.CreateAsync(new WebhookSourceDefinition(
            "Typeform — Livre blanc trésorerie", "typeform", Secret: null, SignatureHeader: null, SignaturePrefix: null, SignatureEncoding: null,
            Mappings: null, ActivityType.ContentDownload, CampaignId: null, Active: true), marketer, ct);
        if (sourceDto is null)
            throw new InvalidOperationException("Demo webhook source rejected: " + string.Join("; ", sourceErrors!.SelectMany(e => e.Value)));
        var source = await db.Set<WebhookSource>().AsNoTracking().SingleAsync(s => s.Id == sourceDto.Id, ct);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            ["Content-Type"] = "application/json",
            ["User-Agent"] = "Typeform Webhooks",
        };
        int delivered = 0, deadLetters = 0;
        foreach (var delivery in traffic.WebhookDeliveries)
        {
            var result = await webhookIngest.ReceiveAsync(source, "application/json", delivery.Body, headers, ct);
            delivered++;
            deadLetters += result.DeadLetterId is null ? 0 : 1;
            merged += result.Captured && !result.Created ? 1 : 0;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {delivered} Typeform deliveries received, {deadLetters} dead-lettered ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));

        var job = await RunImportAsync(traffic, users.MarketerId, marketer, ct);
        merged += job.RowsMerged;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  CSV import {job.Status}: {job.RowsRead} rows, {job.RowsCreated} created, {job.RowsMerged} merged, {job.RowsFailed} failed ({stopwatch.Elapsed.TotalSeconds:0.0} s)"));
        return new DemoCaptureSummary(submitted, delivered, deadLetters, job.RowsRead, job.RowsCreated, job.RowsMerged, job.RowsFailed, merged);
    }

    /// <summary>
    /// Stages the CSV, creates the job and claims it in one transaction — so the background worker never sees it
    /// pending — then runs it here, so the demo is complete when the app starts.
    /// </summary>
    private async Task<ImportJob> RunImportAsync(DemoCaptureTraffic traffic, Guid userId, string actor, CancellationToken ct)
    {
        StagedFile file;
        // Salesforce writes UTF-8 with a byte order mark.
        await using (var content = new MemoryStream([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(traffic.Csv)]))
            file = await imports.StageAsync(content, DemoDataBuilder.ImportFileName, ct);
        var settings = new ImportSettings(Mapping: DemoDataBuilder.ImportColumnMapping, StageValues: DemoDataBuilder.ImportStageValues,
            Policy: MergePolicy.Update, DryRun: false, ExternalSystem: "salesforce");
        Guid jobId;
        await using (var tx = await db.Database.BeginTransactionAsync(ct))
        {
            var (job, errors) = await imports.CreateAsync(file, settings, userId, actor, ct);
            if (job is null)
            {
                ImportRunner.TryDelete(file.Path);
                throw new InvalidOperationException("Demo import rejected: " + string.Join("; ", errors!.SelectMany(e => e.Value)));
            }
            jobId = job.Id;
            var now = clock.GetUtcNow();
            await db.Set<ImportJob>().Where(j => j.Id == jobId && j.Status == ImportStatus.Pending).ExecuteUpdateAsync(s => s
                .SetProperty(j => j.Status, ImportStatus.Running)
                .SetProperty(j => j.RunningOn, "demo seeder")
                .SetProperty(j => j.HeartbeatAt, now)
                .SetProperty(j => j.StartedAt, now), ct);
            await tx.CommitAsync(ct);
        }
        db.ChangeTracker.Clear();
        await importRunner.RunAsync(jobId, ct);
        var finished = await db.Set<ImportJob>().AsNoTracking().SingleAsync(j => j.Id == jobId, ct);
        if (finished.Status != ImportStatus.Completed)
            throw new InvalidOperationException($"The demo import ended {finished.Status}: {finished.Error}");
        return finished;
    }

    private async Task<(DemoUsers Users, IReadOnlyList<DemoLogin> Logins)> CreateUsersAsync(DateTimeOffset now, CancellationToken ct)
    {
        (string Label, string Role, string Name, string Local, string TimeZone, string[] Languages)[] people =
        [
            ("Admin", Roles.Admin, "Camille Laurent", "camille.laurent", "Europe/Paris", ["fr", "en"]),
            ("Marketing", Roles.Marketing, "Inès Moreau", "ines.moreau", "Europe/Paris", ["fr", "en"]),
            ("Sales manager", Roles.SalesManager, "Thomas Girard", "thomas.girard", "Europe/Paris", ["fr", "en"]),
            ("Sales rep", Roles.Sales, "Julie Bernard", "julie.bernard", "Europe/Paris", ["fr"]),
            ("Sales rep", Roles.Sales, "Hugo Petit", "hugo.petit", "Europe/Paris", ["fr"]),
            ("Sales rep", Roles.Sales, "Emma Dubois", "emma.dubois", "Europe/Brussels", ["fr", "en"]),
            ("Sales rep", Roles.Sales, "Oliver Hughes", "oliver.hughes", "Europe/London", ["en", "fr"]),
            ("Sales rep", Roles.Sales, "Daniel Brooks", "daniel.brooks", "America/New_York", ["en"]),
        ];

        var logins = new List<DemoLogin>();
        var ids = new List<Guid>();
        foreach (var person in people)
        {
            var email = $"{person.Local}@{EmailDomain}";
            var result = await userAdmin.CreateAsync(email, person.Name, [person.Role], password: null, actor: "demo", actorId: null);
            if (!result.Succeeded)
                throw new InvalidOperationException(
                    $"Demo user {email} could not be created: {string.Join("; ", result.Errors.SelectMany(e => e.Value))}");
            var id = result.Value.User.Id;
            await db.Users.Where(u => u.Id == id).ExecuteUpdateAsync(s => s.SetProperty(u => u.TimeZone, person.TimeZone), ct);
            ids.Add(id);
            logins.Add(new DemoLogin(person.Label, email, person.Name, result.Value.GeneratedPassword!));
        }

        var installation = await db.Installations.SingleOrDefaultAsync(i => i.Id == 1, ct);
        if (installation is null)
            db.Installations.Add(new Installation { Id = 1, InstalledAt = now, FirstAdminId = ids[0] });
        else
            installation.FirstAdminId = ids[0];
        await db.SaveChangesAsync(ct);

        var reps = people.Select((p, i) => (p, i)).Where(x => x.p.Role == Roles.Sales)
            .Select(x => new DemoRep(ids[x.i], x.p.Name, FindTimeZone(x.p.TimeZone), x.p.Languages))
            .ToList();
        return (new DemoUsers(ids[0], ids[1], ids[2], reps), logins);
    }

    private static TimeZoneInfo FindTimeZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException)
        {
            return TimeZoneInfo.Utc;
        }
    }

    private async Task InsertAsync<T>(IReadOnlyList<T> rows, CancellationToken ct) where T : class
    {
        for (var i = 0; i < rows.Count; i += BatchSize)
        {
            db.Set<T>().AddRange(rows.Skip(i).Take(BatchSize));
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
        }
    }

    private static void WriteLogins(TextWriter output, IReadOnlyList<DemoLogin> logins)
    {
        var emailWidth = Math.Max("Email".Length, logins.Max(l => l.Email.Length));
        var roleWidth = Math.Max("Role".Length, logins.Max(l => l.Role.Length));
        output.WriteLine();
        output.WriteLine("Demo logins (passwords are generated for this run and shown only now):");
        output.WriteLine($"  {"Role".PadRight(roleWidth)}  {"Email".PadRight(emailWidth)}  Password");
        output.WriteLine($"  {new string('-', roleWidth)}  {new string('-', emailWidth)}  {new string('-', 20)}");
        foreach (var login in logins)
            output.WriteLine($"  {login.Role.PadRight(roleWidth)}  {login.Email.PadRight(emailWidth)}  {login.Password}");
        output.WriteLine();
    }
}

public static class DemoSeederExtensions
{
    /// <summary>Seeds the demo company in its own scope; prints progress, the summary and the demo logins.</summary>
    public static async Task SeedDemoAsync(this IServiceProvider services, TextWriter output, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var seeder = scope.ServiceProvider.GetRequiredService<DemoSeeder>();
        await seeder.SeedAsync(output, ct);
    }
}

internal sealed record DemoRep(Guid Id, string Name, TimeZoneInfo TimeZone, IReadOnlyList<string> Languages);

internal sealed record DemoUsers(Guid AdminId, Guid MarketerId, Guid ManagerId, IReadOnlyList<DemoRep> Reps);

/// <summary>One post of the demo web form; <see cref="Known"/> when it comes from a lead already in the history.</summary>
internal sealed record DemoFormPost(IReadOnlyList<KeyValuePair<string, string?>> Fields, bool Known);

internal sealed record DemoWebhookDelivery(string Body);

/// <summary>Recent traffic for the capture paths: form posts, Typeform deliveries and an old CRM export.</summary>
internal sealed record DemoCaptureTraffic(IReadOnlyList<DemoFormPost> FormPosts, IReadOnlyList<DemoWebhookDelivery> WebhookDeliveries, string Csv);

internal sealed record DemoPerson(string Email, string? Phone, string FirstName, string LastName, string? Company, string? JobTitle, string Country, int? CompanySize, bool Known);

internal sealed class DemoData
{
    public List<Persona> Personas { get; } = [];
    public List<Campaign> Campaigns { get; } = [];
    public List<Account> Accounts { get; } = [];
    public List<Lead> Leads { get; } = [];
    public List<Activity> Activities { get; } = [];
    public List<StageTransition> Transitions { get; } = [];
    public List<Deal> Deals { get; } = [];
}

internal enum DemoLeadKind
{
    Finance,
    Operations,
    It,
    Other,
    Student,
}

/// <summary>Generates the demo world in memory; pure apart from the clock value and the fixed seed.</summary>
internal sealed class DemoDataBuilder
{
    internal const string Site = "https://www.tandem-demo.example";

    private readonly DateTimeOffset _now;
    private readonly DateOnly _today;
    private readonly DemoUsers _users;
    private readonly Random _random = new(DemoSeeder.RandomSeed);
    private readonly Dictionary<string, Faker> _fakers = [];
    private readonly DemoData _data = new();
    private readonly HashSet<string> _emails = new(StringComparer.Ordinal);
    private readonly HashSet<string> _phones = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<Persona, string[]> _personaKeywords = [];
    private readonly List<CampaignPlan> _campaigns = [];
    private readonly List<Company> _companies = [];
    private readonly Dictionary<Guid, int> _repLoad = [];
    private Persona _finance = null!;
    private Persona _operations = null!;
    private Persona _student = null!;

    public DemoDataBuilder(DateTimeOffset now, DemoUsers users)
    {
        _now = now;
        _today = DateOnly.FromDateTime(now.UtcDateTime);
        _users = users;
        foreach (var rep in users.Reps)
            _repLoad[rep.Id] = 0;
        var locales = new[] { "fr", "de", "en_GB", "es", "it", "nl" };
        for (var i = 0; i < locales.Length; i++)
            _fakers[locales[i]] = new Faker(locales[i]) { Random = new Randomizer(DemoSeeder.RandomSeed + i + 1) };
    }

    private sealed record CampaignPlan(
        Campaign Campaign,
        string Key,
        string Source,
        string Medium,
        string LandingPath,
        ActivityType CreationTouch,
        double Weight,
        double[] KindWeights,
        DateOnly LeadsFrom,
        DateOnly LeadsUntil)
    {
        public bool Runs(DateOnly day) => day >= LeadsFrom && day <= LeadsUntil;
    }

    private sealed record Company(string Name, string Domain, string Industry, int Size, string Country, string City);

    private sealed record Touch(DateTimeOffset At, ActivityType Type, Channel? Channel, CampaignPlan? Campaign, string? Source, string? Medium, string? Url,
        string? Outcome, string? Properties);

    private enum SalesOutcome
    {
        Sql,
        Recycle,
        Disqualify,
        Working,
    }

    public DemoData Build()
    {
        BuildPersonas();
        BuildCampaigns();
        BuildCompanies();
        var creations = PlanCreationTimes();
        foreach (var (at, burst) in creations)
            BuildLead(at, burst);
        return _data;
    }

    // ---------------------------------------------------------------- personas

    private void BuildPersonas()
    {
        var created = _now.AddDays(-120);
        _finance = new Persona
        {
            Name = "Finance director of an SME",
            Description = "CFO / DAF of a company of 50–500 employees in France or a French-speaking neighbour; signs the budget for finance tools.",
            Pains = "Month-end close takes two weeks; the cash forecast lives in spreadsheets; no real-time view of margins for the CEO.",
            Objections = "We already have an ERP; switching cost during closing season; data security and hosting in the EU.",
            JobTitleKeywords = ["CFO", "DAF", "RAF", "directeur financier", "directrice financière", "directeur administratif et financier",
                "directrice administrative et financière", "responsable administratif et financier", "finance director", "head of finance",
                "VP finance", "chief financial officer"],
            Seniorities = ["CLevel", "VP", "Director", "Head"],
            CompanySizeMin = 50,
            CompanySizeMax = 500,
            Industries = ["Manufacturing", "Wholesale", "Professional services", "Software", "Retail", "Logistics", "Construction"],
            Countries = ["FR", "BE", "CH", "LU"],
            Languages = ["fr", "en"],
            IsIdeal = true,
            CreatedAt = created,
            UpdatedAt = created,
        };
        _operations = new Persona
        {
            Name = "Operations manager",
            Description = "Runs operations in a mid-sized company and feels the pain of late financial reporting; often the champion who brings in the CFO.",
            Pains = "Decisions made on last month's numbers; purchasing and stock not visible in the finance reports.",
            Objections = "Not my budget; another tool for the team to learn.",
            JobTitleKeywords = ["operations manager", "operations director", "head of operations", "COO", "chief operating officer",
                "directeur des opérations", "directrice des opérations", "responsable des opérations", "directeur d'exploitation",
                "directrice d'exploitation"],
            Seniorities = ["Director", "Head", "Manager"],
            CompanySizeMin = 50,
            CompanySizeMax = 1000,
            Industries = ["Manufacturing", "Logistics", "Retail", "Wholesale", "Construction"],
            Countries = ["FR", "BE", "CH", "LU", "DE", "GB"],
            Languages = ["fr", "en"],
            IsIdeal = true,
            CreatedAt = created,
            UpdatedAt = created,
        };
        _student = new Persona
        {
            Name = "Student",
            Description = "Students and interns who download guides and templates for coursework. Never buyers: recognise them and keep them away from sales.",
            Pains = "Needs examples and templates for a thesis or an internship report.",
            Objections = "No budget, no authority.",
            JobTitleKeywords = ["student", "étudiant", "étudiante", "intern", "stagiaire", "alternant", "alternante"],
            IsIdeal = false,
            CreatedAt = created,
            UpdatedAt = created,
        };
        _data.Personas.AddRange([_finance, _operations, _student]);
        foreach (var persona in _data.Personas)
            _personaKeywords[persona] = [.. persona.JobTitleKeywords.Select(k => " " + Words(k) + " ")];
    }

    // ---------------------------------------------------------------- campaigns and spend

    private void BuildCampaigns()
    {
        //                    Finance Ops  IT  Other Student
        AddCampaign("gads", "Google Ads — Cash-flow forecasting keywords", Channel.PaidSearch, CampaignStatus.Active, -120, 60, 30_000m,
            "gads-prevision-tresorerie", "google", "cpc", "/logiciel-tresorerie-pme", ActivityType.FormSubmission, 18, [35, 20, 10, 25, 10]);
        AddCampaign("linkedin", "LinkedIn Ads — Finance leaders FR/BE/CH", Channel.PaidSocial, CampaignStatus.Active, -75, 45, 22_000m,
            "li-daf-pme", "linkedin", "paid-social", "/guides/cloture-mensuelle", ActivityType.ContentDownload, 15, [52, 20, 5, 18, 5]);
        AddCampaign("newsletter", "Newsletter — Le mensuel du DAF", Channel.Email, CampaignStatus.Active, -400, null, 2_400m,
            "newsletter-mensuel-daf", "newsletter", "email", "/newsletter", ActivityType.FormSubmission, 7, [35, 20, 10, 25, 10]);
        AddCampaign("webinar", "Webinar — Close the books in 5 days", Channel.Events, CampaignStatus.Ended, -75, -50, 4_500m,
            "webinar-cloture-5-jours", "webinar", "event", "/webinars/cloturer-ses-comptes-en-5-jours", ActivityType.FormSubmission, 22, [50, 20, 5, 15, 10],
            leadsUntil: -52);
        AddCampaign("salon", "Salon DAF & Finance — Paris", Channel.Events, CampaignStatus.Ended, -60, -58, 18_000m,
            "salon-daf-paris", "salon-daf-paris", "event", "/salon-daf-paris", ActivityType.FormSubmission, 0, [60, 15, 5, 15, 5]);
        AddCampaign("seo", "SEO — Blog and guides", Channel.OrganicSearch, CampaignStatus.Active, -365, null, 9_000m,
            "seo-blog-guides", "google", "organic", "/blog/prevision-de-tresorerie", ActivityType.ContentDownload, 16, [25, 20, 15, 25, 15]);
        AddCampaign("referral", "Customer referral programme", Channel.Referral, CampaignStatus.Active, -200, null, 6_000m,
            "parrainage-clients", "referral", "referral", "/parrainage", ActivityType.FormSubmission, 4, [45, 25, 5, 25, 0]);
        AddCampaign("partner", "Partners — Accounting firms network", Channel.Partner, CampaignStatus.Active, -100, 80, 12_000m,
            "partenaires-experts-comptables", "partner-portal", "partner", "/partenaires/experts-comptables", ActivityType.FormSubmission, 6, [50, 20, 5, 25, 0]);
        AddCampaign("meta", "Meta Ads — Website retargeting", Channel.PaidSocial, CampaignStatus.Paused, -85, 15, 8_000m,
            "meta-retargeting", "facebook", "paid-social", "/guides/tableau-de-bord-financier", ActivityType.ContentDownload, 8, [20, 20, 10, 30, 20],
            leadsUntil: -21);
        AddCampaign("studentlist", "Purchased list — student fair", Channel.Email, CampaignStatus.Active, -36, 20, 3_500m,
            "liste-achetee-salon-etudiant", "purchased-list", "email", "/offre-speciale", ActivityType.FormSubmission, 0, [3, 2, 5, 15, 75]);

        foreach (var plan in _campaigns)
            AddSpend(plan);
    }

    private void AddCampaign(string key, string name, Channel channel, CampaignStatus status, int startsIn, int? endsIn, decimal budget,
        string utm, string source, string medium, string landing, ActivityType creationTouch, double weight, double[] kindWeights, int? leadsUntil = null)
    {
        var starts = _today.AddDays(startsIn);
        var ends = endsIn is { } e ? _today.AddDays(e) : (DateOnly?)null;
        var campaign = new Campaign
        {
            Name = name,
            Channel = channel,
            Status = status,
            StartsOn = starts,
            EndsOn = ends,
            Budget = budget,
            Currency = "EUR",
            OwnerId = _users.MarketerId,
            UtmCampaign = utm,
            CreatedAt = At(starts.AddDays(-10), 9.5),
        };
        var until = leadsUntil is { } u ? _today.AddDays(u) : ends is { } end && end < _today ? end : _today;
        _campaigns.Add(new CampaignPlan(campaign, key, source, medium, landing, creationTouch, weight, kindWeights, starts, until));
        _data.Campaigns.Add(campaign);
    }

    private void AddSpend(CampaignPlan plan)
    {
        var c = plan.Campaign;
        var starts = c.StartsOn!.Value;
        switch (plan.Key)
        {
            case "webinar":
                AddLine(c, starts.AddDays(-5), 1_200m, "Webinar platform licence");
                AddLine(c, starts.AddDays(10), 2_850m, "LinkedIn sponsored posts promoting the webinar");
                return;
            case "salon":
                AddLine(c, starts.AddDays(-45), 7_200m, "Booth booking (deposit)");
                AddLine(c, starts.AddDays(-3), 8_100m, "Booth balance and stand design");
                AddLine(c, starts.AddDays(2), 2_145.60m, "Travel and hospitality");
                return;
            case "studentlist":
                AddLine(c, starts.AddDays(-1), 2_400m, "List purchase (4,000 contacts)");
                for (var d = starts; d <= _today; d = d.AddDays(7))
                    AddLine(c, d, 85m, "Email sending to the purchased list");
                return;
        }

        var last = c.Status == CampaignStatus.Paused ? plan.LeadsUntil : c.EndsOn is { } e && e < _today ? e : _today;
        var plannedEnd = c.EndsOn ?? _today.AddDays(90); // open-ended: the budget runs to the end of next quarter
        var share = c.EndsOn is { } end && end <= _today
            ? 0.92 + 0.06 * _random.NextDouble()
            : (last.DayNumber - starts.DayNumber + 1) / (double)(plannedEnd.DayNumber - starts.DayNumber + 1) * (0.9 + 0.15 * _random.NextDouble());
        var total = Math.Round(c.Budget * (decimal)Math.Min(share, 1.0), 2);
        var weeks = new List<DateOnly>();
        for (var d = starts; d <= last; d = d.AddDays(7))
            weeks.Add(d);
        var weights = weeks.Select(_ => 0.7 + 0.6 * _random.NextDouble()).ToArray();
        var sum = weights.Sum();
        var vendor = plan.Key switch
        {
            "gads" => "Google Ads",
            "linkedin" => "LinkedIn Campaign Manager",
            "meta" => "Meta Ads",
            "newsletter" => "Newsletter sending and design",
            "seo" => "Freelance content writing",
            "referral" => "Referral rewards (gift cards)",
            "partner" => "Partner commissions",
            _ => "Spend",
        };
        var spent = 0m;
        for (var i = 0; i < weeks.Count; i++)
        {
            var amount = i == weeks.Count - 1 ? total - spent : Math.Round(total * (decimal)(weights[i] / sum), 2);
            spent += amount;
            AddLine(c, weeks[i], amount, string.Create(CultureInfo.InvariantCulture, $"{vendor}, week of {weeks[i]:yyyy-MM-dd}"));
        }
    }

    private void AddLine(Campaign campaign, DateOnly on, decimal amount, string note)
    {
        if (on > _today || amount <= 0)
            return;
        campaign.Spend.Add(new CampaignSpend { CampaignId = campaign.Id, On = on, Amount = amount, Note = note });
    }

    private CampaignPlan Plan(string key) => _campaigns.First(c => c.Key == key);

    // ---------------------------------------------------------------- companies

    private static string[] Industries { get; } =
        ["Manufacturing", "Wholesale", "Professional services", "Software", "Retail", "Logistics", "Construction", "Healthcare", "Hospitality", "Agrifood", "Energy"];

    private static (string Country, double Weight)[] Countries { get; } =
        [("FR", 58), ("BE", 12), ("CH", 9), ("LU", 3), ("DE", 6), ("GB", 6), ("ES", 3), ("IT", 2), ("NL", 1)];

    private static Dictionary<string, string[]> Cities { get; } = new(StringComparer.Ordinal)
    {
        ["FR"] = ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux", "Strasbourg", "Rennes", "Nice", "Grenoble", "Montpellier", "Paris", "Lyon"],
        ["BE"] = ["Bruxelles", "Liège", "Namur", "Charleroi", "Mons", "Anvers"],
        ["CH"] = ["Genève", "Lausanne", "Neuchâtel", "Fribourg", "Sion"],
        ["LU"] = ["Luxembourg", "Esch-sur-Alzette"],
        ["DE"] = ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"],
        ["GB"] = ["London", "Manchester", "Bristol", "Leeds", "Edinburgh"],
        ["ES"] = ["Madrid", "Barcelona", "Valencia"],
        ["IT"] = ["Milano", "Roma", "Torino"],
        ["NL"] = ["Amsterdam", "Rotterdam", "Utrecht"],
    };

    private void BuildCompanies()
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var domains = new HashSet<string>(StringComparer.Ordinal);
        while (_companies.Count < 560)
        {
            var country = Weighted(Countries);
            var last = LastName(country);
            var other = LastName(country);
            var industry = Pick(Industries);
            var french = country is "FR" or "BE" or "CH" or "LU";
            var name = _random.Next(8) switch
            {
                0 => french ? $"Groupe {last}" : $"{last} Group",
                1 => french ? $"{last} & Associés" : $"{last} & Partners",
                2 => $"{last} {IndustryWord(industry, french)}",
                3 => $"{last} {other}",
                4 => french ? $"{last} SAS" : country == "DE" ? $"{last} GmbH" : country == "GB" ? $"{last} Ltd" : $"{last} SA",
                5 => french ? $"{IndustryWord(industry, french)} {last}" : $"{last} {IndustryWord(industry, french)}",
                6 => french ? $"Établissements {last}" : $"{last} & Co",
                _ => $"{last} {Choose("Solutions", "Industries", "Services", "Distribution", "Technologies")}",
            };
            if (!names.Add(name))
                continue;
            var domain = Slug(name, '-') + ".example";
            if (!domains.Add(domain))
                continue;
            var size = _random.NextDouble() switch
            {
                < 0.22 => _random.Next(5, 50),
                < 0.72 => _random.Next(50, 501),
                < 0.90 => _random.Next(501, 2001),
                _ => _random.Next(2001, 12001),
            };
            _companies.Add(new Company(name, domain, industry, size, country, Pick(Cities[country])));
        }
    }

    private static string IndustryWord(string industry, bool french) => industry switch
    {
        "Manufacturing" => french ? "Industrie" : "Manufacturing",
        "Wholesale" => french ? "Négoce" : "Trading",
        "Professional services" => french ? "Conseil" : "Consulting",
        "Software" => french ? "Logiciels" : "Software",
        "Retail" => french ? "Distribution" : "Retail",
        "Logistics" => french ? "Logistique" : "Logistics",
        "Construction" => french ? "Bâtiment" : "Construction",
        "Healthcare" => french ? "Santé" : "Health",
        "Hospitality" => french ? "Hôtellerie" : "Hospitality",
        "Agrifood" => french ? "Agroalimentaire" : "Foods",
        _ => french ? "Énergie" : "Energy",
    };

    private Company PickCompany()
    {
        // A skewed pick: a few accounts get many leads, most get one or two.
        var index = (int)(_companies.Count * Math.Pow(_random.NextDouble(), 1.6));
        return _companies[Math.Min(index, _companies.Count - 1)];
    }

    // ---------------------------------------------------------------- lead creation times

    private List<(DateTimeOffset At, CampaignPlan? Burst)> PlanCreationTimes()
    {
        var result = new List<(DateTimeOffset, CampaignPlan?)>();
        var salon = Plan("salon");
        var list = Plan("studentlist");

        // Badge scans on the two show days, a few typed in the day after.
        const int SalonLeads = 110;
        for (var i = 0; i < SalonLeads; i++)
        {
            var day = salon.LeadsFrom.AddDays(i < 50 ? 0 : i < 100 ? 1 : 2);
            result.Add((At(day, 8 + 9 * _random.NextDouble()), salon));
        }

        // The purchased list is imported in two waves, a week apart.
        const int ListLeads = 170;
        for (var i = 0; i < ListLeads; i++)
        {
            var day = list.LeadsFrom.AddDays(i < 120 ? 0 : 7);
            result.Add((At(day, 13.5 + 0.4 * _random.NextDouble()), list));
        }

        // The rest grows linearly over 90 days (the last day 2.4 times the first), fewer on weekends.
        const double Growth = 1.4;
        const int Days = 90;
        var first = _today.AddDays(-(Days - 1));
        for (var i = result.Count; i < DemoSeeder.LeadCount; i++)
        {
            var u = _random.NextDouble();
            var x = (Math.Sqrt(1 + 2 * Growth * u * (1 + Growth / 2)) - 1) * Days / Growth;
            var day = first.AddDays(Math.Min(Days - 1, (int)x));
            var weekendRoll = _random.NextDouble();
            if (day.DayOfWeek == DayOfWeek.Saturday && weekendRoll < 0.65)
                day = day.AddDays(-1);
            else if (day.DayOfWeek == DayOfWeek.Sunday && weekendRoll < 0.65 && day < _today)
                day = day.AddDays(1);
            var hourRoll = _random.NextDouble();
            var hour = hourRoll < 0.75 ? 6.5 + 11 * _random.NextDouble() : 24 * _random.NextDouble();
            var at = At(day, hour);
            if (at > _now)
                at = _now.AddMinutes(-_random.Next(5, 600));
            result.Add((at, null));
        }

        return [.. result.OrderBy(r => r.Item1)];
    }

    // ---------------------------------------------------------------- leads

    private void BuildLead(DateTimeOffset createdAt, CampaignPlan? burst)
    {
        var day = DateOnly.FromDateTime(createdAt.UtcDateTime);
        var campaign = burst ?? PickCampaign(day);
        var kind = (DemoLeadKind)WeightedIndex(campaign?.KindWeights ?? [30, 20, 15, 30, 5]);

        // Identity
        var company = kind == DemoLeadKind.Student ? null : PickCompany();
        var country = company?.Country ?? (kind == DemoLeadKind.Student && campaign?.Key == "studentlist" ? "FR" : Weighted(Countries));
        var female = _random.NextDouble() < 0.5;
        var firstName = FirstName(country, female);
        var lastName = LastName(country);
        var language = country switch
        {
            "FR" or "LU" => "fr",
            "BE" or "CH" => _random.NextDouble() < 0.85 ? "fr" : "en",
            _ => "en",
        };
        var freeMail = company is null || _random.NextDouble() < (kind == DemoLeadKind.Other ? 0.2 : 0.1);
        var email = MakeEmail(firstName, lastName, freeMail ? null : company!.Domain, country);
        var phone = _random.NextDouble() < 0.4 ? MakePhone(country) : null;
        var title = JobTitle(kind, language, female);
        var size = company?.Size;
        var lead = new Lead
        {
            Email = email,
            Phone = phone,
            FirstName = firstName,
            LastName = lastName,
            JobTitle = title,
            Company = company?.Name ?? (kind == DemoLeadKind.Student && _random.NextDouble() < 0.4 ? Pick(Schools) : null),
            CompanySize = size,
            Industry = company?.Industry ?? (kind == DemoLeadKind.Student ? "Education" : null),
            Country = country,
            City = company?.City ?? Pick(Cities[country]),
            Language = language,
            CreatedAt = createdAt,
        };
        if (campaign?.Key == "partner")
        {
            lead.ExternalSystem = "partner-portal";
            lead.ExternalId = string.Create(CultureInfo.InvariantCulture, $"P-{10_000 + _data.Leads.Count}");
        }
        if (company is not null && !freeMail)
            lead.AccountId = AccountFor(company, createdAt).Id;

        var persona = MatchPersona(title, size, country);
        lead.PersonaId = persona?.Id;
        var fit = FitScore(persona, title, size, country, freeMail);
        lead.FitScore = fit;

        // Touches, then the lifecycle that follows from them.
        var engaged = _random.NextDouble() < kind switch
        {
            DemoLeadKind.Finance => 0.8,
            DemoLeadKind.Operations => 0.7,
            DemoLeadKind.Student => 0.3,
            _ => 0.4,
        };
        var touches = MarketingTouches(lead, campaign, kind, engaged, createdAt);
        var transitions = new List<StageTransition>();
        var subscriber = campaign?.Key == "newsletter" && _random.NextDouble() < 0.7;
        var stage = subscriber ? LifecycleStage.Subscriber : LifecycleStage.Lead;
        transitions.Add(new StageTransition
        {
            LeadId = lead.Id,
            From = null,
            To = stage,
            At = createdAt,
            ByRule = "capture",
            Reason = touches[0].Type switch
            {
                ActivityType.ContentDownload => $"Content download on {touches[0].Url?.Split('?')[0]}",
                _ when subscriber => "Newsletter sign-up",
                _ when campaign?.Key == "studentlist" => "Imported from a purchased list",
                _ when campaign?.Key == "salon" => "Badge scanned at the trade show",
                _ => $"Form submission on {touches[0].Url?.Split('?')[0]}",
            },
        });

        var activities = new List<Activity>();
        var points = 0;
        DateTimeOffset? mqlAt = null;
        var disqualifiedByRule = persona == _student && _random.NextDouble() < 0.85;
        if (disqualifiedByRule)
        {
            var at = createdAt.AddMinutes(1 + _random.Next(0, 30));
            if (at <= _now)
            {
                transitions.Add(Transition(lead, stage, LifecycleStage.Disqualified, at, rule: DemoSeeder.DisqualificationRule,
                    reason: "Matches the Student persona: not a buyer"));
                stage = LifecycleStage.Disqualified;
            }
            else
            {
                disqualifiedByRule = false;
            }
        }

        var grade = Grade(fit);
        foreach (var touch in touches)
        {
            activities.Add(ToActivity(lead, touch, null));
            points += Points(touch.Type);
            if (stage == LifecycleStage.Subscriber && touch.Type is ActivityType.FormSubmission or ActivityType.ContentDownload
                    or ActivityType.Webinar or ActivityType.DemoRequest or ActivityType.Chat && touch.At > createdAt)
            {
                transitions.Add(Transition(lead, stage, LifecycleStage.Lead, touch.At.AddSeconds(10), rule: "capture",
                    reason: $"{Humanize(touch.Type)} by a subscriber"));
                stage = LifecycleStage.Lead;
            }
            if (mqlAt is null && !disqualifiedByRule && stage is LifecycleStage.Lead or LifecycleStage.Subscriber
                && ((points >= 50 && grade <= 'B') || (touch.Type == ActivityType.DemoRequest && grade <= 'C')))
            {
                mqlAt = touch.At.AddSeconds(30);
                transitions.Add(Transition(lead, stage, LifecycleStage.Mql, mqlAt.Value, rule: DemoSeeder.MqlRule,
                    reason: touch.Type == ActivityType.DemoRequest
                        ? $"Demo request with fit grade {grade}"
                        : string.Create(CultureInfo.InvariantCulture, $"Fit grade {grade} and engagement {Math.Min(points, 100)} ≥ 50")));
                stage = LifecycleStage.Mql;
            }
        }
        lead.EngagementScore = Math.Min(100, points);
        var last = touches[^1];
        lead.LatestChannel = last.Channel;
        lead.LatestSource = last.Source;
        lead.LatestCampaignId = last.Campaign?.Campaign.Id;
        lead.LatestMedium = last.Medium;
        lead.LatestTouchAt = last.At;
        lead.LatestLandingPage = last.Url;
        lead.FirstChannel = touches[0].Channel;
        lead.FirstSource = touches[0].Source;
        lead.FirstMedium = touches[0].Medium;
        lead.FirstCampaignId = touches[0].Campaign?.Campaign.Id;
        lead.FirstTouchAt = touches[0].At;
        lead.FirstLandingPage = touches[0].Url;

        if (mqlAt is { } mql)
            stage = WorkLead(lead, kind, grade, mql, activities, transitions);

        lead.Stage = stage;
        lead.StageChangedAt = transitions[^1].At;
        lead.UpdatedAt = Max(transitions[^1].At, activities.Max(a => a.OccurredAt));
        _data.Leads.Add(lead);
        _data.Activities.AddRange(activities.OrderBy(a => a.OccurredAt));
        _data.Transitions.AddRange(transitions);
    }

    private CampaignPlan? PickCampaign(DateOnly day)
    {
        var running = _campaigns.Where(c => c.Weight > 0 && c.Runs(day)).ToList();
        var total = running.Sum(c => c.Weight) + 7; // 7: direct traffic without a campaign
        var roll = _random.NextDouble() * total;
        foreach (var c in running)
        {
            if (roll < c.Weight)
                return c;
            roll -= c.Weight;
        }
        return null;
    }

    private Account AccountFor(Company company, DateTimeOffset at)
    {
        if (!_accounts.TryGetValue(company.Domain, out var account))
        {
            account = new Account
            {
                Name = company.Name,
                Domain = company.Domain,
                Industry = company.Industry,
                EmployeeCount = company.Size,
                Country = company.Country,
                CreatedAt = at,
            };
            _accounts[company.Domain] = account;
            _data.Accounts.Add(account);
        }
        return account;
    }

    private static string[] Schools { get; } =
        ["Université de Lyon", "Université de Lille", "IAE de Bordeaux", "École de commerce de Rennes", "Université Paris-Est", "Business school de Nantes"];

    private string JobTitle(DemoLeadKind kind, string language, bool female)
    {
        var fr = language == "fr";
        return kind switch
        {
            DemoLeadKind.Finance => fr
                ? (female
                    ? Choose("Directrice financière", "DAF", "Directrice administrative et financière", "Responsable administratif et financier", "CFO", "RAF")
                    : Choose("Directeur financier", "DAF", "Directeur administratif et financier", "Responsable administratif et financier", "CFO", "RAF"))
                : Choose("CFO", "Finance Director", "Head of Finance", "VP Finance", "Chief Financial Officer"),
            DemoLeadKind.Operations => fr
                ? (female
                    ? Choose("Directrice des opérations", "Responsable des opérations", "Directrice d'exploitation", "COO")
                    : Choose("Directeur des opérations", "Responsable des opérations", "Directeur d'exploitation", "COO"))
                : Choose("Operations Manager", "Head of Operations", "Operations Director", "COO"),
            DemoLeadKind.It => fr
                ? Choose("DSI", "Responsable informatique", "Chef de projet ERP", "Administrateur systèmes")
                : Choose("IT Manager", "CTO", "Head of IT", "ERP Project Manager"),
            DemoLeadKind.Other => fr
                ? (female
                    ? Choose("Gérante", "PDG", "Contrôleuse de gestion", "Comptable", "Assistante de direction", "Responsable marketing", "Office manager", "Consultante", "Responsable RH")
                    : Choose("Gérant", "PDG", "Contrôleur de gestion", "Comptable", "Assistant de direction", "Responsable marketing", "Office manager", "Consultant", "Responsable RH"))
                : Choose("CEO", "Financial Controller", "Accountant", "Office Manager", "Marketing Manager", "Consultant", "HR Manager"),
            _ => fr
                ? (female
                    ? Choose("Étudiante", "Étudiante en master finance", "Stagiaire", "Stagiaire contrôle de gestion", "Alternante comptabilité")
                    : Choose("Étudiant", "Étudiant en master finance", "Stagiaire", "Stagiaire contrôle de gestion", "Alternant comptabilité"))
                : Choose("Student", "Intern", "Finance intern", "MBA student"),
        };
    }

    private Persona? MatchPersona(string? title, int? size, string? country)
    {
        var words = " " + Words(title) + " ";
        Persona? best = null;
        var bestScore = 0;
        foreach (var persona in _data.Personas)
        {
            if (!_personaKeywords[persona].Any(k => words.Contains(k, StringComparison.Ordinal)))
                continue;
            var score = 10
                + (size is { } s && (persona.CompanySizeMin is null || s >= persona.CompanySizeMin) && (persona.CompanySizeMax is null || s <= persona.CompanySizeMax) ? 2 : 0)
                + (country is not null && persona.Countries.Contains(country) ? 1 : 0);
            if (score > bestScore)
            {
                best = persona;
                bestScore = score;
            }
        }
        return best;
    }

    private int FitScore(Persona? persona, string title, int? size, string country, bool freeMail)
    {
        var words = " " + Words(title) + " ";
        var fit = 20;
        if (persona == _finance)
            fit += 35;
        else if (persona == _operations)
            fit += 25;
        else if (persona == _student)
            fit -= 40;
        else if (new[] { " directeur ", " directrice ", " head ", " chief ", " ceo ", " pdg ", " gerant ", " gerante ", " cto ", " dsi ", " vp " }.Any(words.Contains))
            fit += 10;
        fit += size switch
        {
            >= 50 and <= 500 => 15,
            > 500 and <= 2000 => 5,
            < 20 => -10,
            _ => 0,
        };
        if (country is "FR" or "BE" or "CH" or "LU")
            fit += 10;
        fit += freeMail ? -15 : 10;
        fit += _random.Next(-4, 5);
        return Math.Clamp(fit, 0, 100);
    }

    private static char Grade(int fit) => fit switch
    {
        >= 75 => 'A',
        >= 55 => 'B',
        >= 35 => 'C',
        _ => 'D',
    };

    private static int Points(ActivityType type) => type switch
    {
        ActivityType.PageView => 3,
        ActivityType.EmailOpen => 1,
        ActivityType.EmailClick => 5,
        ActivityType.ContentDownload => 12,
        ActivityType.Webinar => 20,
        ActivityType.FormSubmission => 10,
        ActivityType.Chat => 6,
        ActivityType.DemoRequest => 25,
        _ => 0,
    };

    // ---------------------------------------------------------------- marketing touches

    private static string[] Pages { get; } =
        ["/", "/tarifs", "/fonctionnalites/cloture", "/fonctionnalites/tresorerie", "/fonctionnalites/reporting", "/clients", "/integrations", "/securite",
         "/blog/prevision-de-tresorerie", "/blog/cloture-mensuelle-5-jours", "/blog/kpi-du-daf", "/blog/bfr-pme"];

    private static string[] Assets { get; } =
        ["Guide du prévisionnel de trésorerie", "Modèle Excel de clôture mensuelle", "Baromètre des DAF de PME", "Checklist de l'audit annuel", "Livre blanc : le BFR expliqué"];

    private List<Touch> MarketingTouches(Lead lead, CampaignPlan? campaign, DemoLeadKind kind, bool engaged, DateTimeOffset createdAt)
    {
        var touches = new List<Touch>();
        var creationType = campaign?.CreationTouch ?? ActivityType.FormSubmission;
        if (campaign is not null && campaign.Key is "gads" or "seo" or "linkedin" && kind is DemoLeadKind.Finance or DemoLeadKind.Operations && _random.NextDouble() < 0.05)
            creationType = ActivityType.DemoRequest;
        var firstPath = campaign?.LandingPath ?? (creationType == ActivityType.DemoRequest ? "/demo" : "/contact");
        touches.Add(campaign is null
            ? new Touch(createdAt, creationType, Channel.Direct, null, "(direct)", "(none)", Site + firstPath, null, Json("form", "contact"))
            : new Touch(createdAt, creationType, campaign.Campaign.Channel, campaign, campaign.Source, campaign.Medium, Url(firstPath, campaign),
                null, creationType == ActivityType.ContentDownload ? Json("asset", Pick(Assets)) : Json("form", FormName(campaign.Key))));

        var webinar = Plan("webinar");
        var webinarDay = webinar.LeadsUntil;
        if (campaign == webinar)
        {
            var attended = _random.NextDouble() < 0.55;
            var at = At(webinarDay, 9 + _random.NextDouble() * 0.2);
            if (attended && at > createdAt && at <= _now)
                touches.Add(new Touch(at, ActivityType.Webinar, Channel.Events, webinar, webinar.Source, webinar.Medium, Url("/webinars/live", webinar), "Attended", null));
        }

        var count = engaged ? _random.Next(5, 11) : 1 + (int)Math.Floor(Math.Pow(_random.NextDouble(), 1.8) * 4);
        var meanGapDays = engaged ? 2.5 : 7.0;
        var t = touches[^1].At;
        var demoWeight = kind switch
        {
            DemoLeadKind.Finance or DemoLeadKind.Operations => 3.5,
            DemoLeadKind.Student => 0.3,
            _ => 1.5,
        };
        (ActivityType, double)[] mix = engaged
            ? [(ActivityType.PageView, 20), (ActivityType.EmailOpen, 12), (ActivityType.EmailClick, 14), (ActivityType.ContentDownload, 18),
               (ActivityType.Webinar, 9), (ActivityType.FormSubmission, 8), (ActivityType.Chat, 5), (ActivityType.DemoRequest, demoWeight)]
            : [(ActivityType.PageView, 40), (ActivityType.EmailOpen, 35), (ActivityType.EmailClick, 10), (ActivityType.ContentDownload, 10),
               (ActivityType.Webinar, 2), (ActivityType.FormSubmission, 2), (ActivityType.Chat, 1), (ActivityType.DemoRequest, demoWeight / 5)];
        var demoRequested = creationType == ActivityType.DemoRequest;
        while (touches.Count < count)
        {
            t = t.AddDays(Math.Max(0.004, -Math.Log(1 - _random.NextDouble()) * meanGapDays));
            var type = Weighted(mix);
            if (type == ActivityType.DemoRequest && demoRequested)
                type = ActivityType.PageView;
            if (t > _now)
                break;
            var touch = MakeTouch(type, t, campaign);
            demoRequested |= touch.Type == ActivityType.DemoRequest;
            touches.Add(touch);
        }
        return [.. touches.OrderBy(x => x.At)];
    }

    private Touch MakeTouch(ActivityType type, DateTimeOffset at, CampaignPlan? first)
    {
        var day = DateOnly.FromDateTime(at.UtcDateTime);
        var newsletter = Plan("newsletter");
        var webinar = Plan("webinar");
        switch (type)
        {
            case ActivityType.EmailOpen or ActivityType.EmailClick:
                {
                    var source = first?.Key == "studentlist" && _random.NextDouble() < 0.7 ? first : newsletter;
                    var path = Pick(Pages);
                    return new Touch(at, type, Channel.Email, source, source.Source, source.Medium,
                        type == ActivityType.EmailClick ? Url(path, source) : null, null,
                        Json("email", source == newsletter ? "Le mensuel du DAF" : "Offre spéciale étudiants"));
                }
            case ActivityType.Webinar when day > webinar.LeadsUntil:
                return new Touch(at, type, Channel.Events, webinar, webinar.Source, webinar.Medium, Url("/webinars/cloturer-ses-comptes-en-5-jours/replay", webinar),
                    "Replay watched", null);
            case ActivityType.Webinar:
                type = ActivityType.ContentDownload;
                break;
        }

        // Web touches: organic, direct, or a campaign running that day (the lead's own first, else a paid one).
        var roll = _random.NextDouble();
        CampaignPlan? campaign;
        if (roll < 0.35)
            campaign = Plan("seo");
        else if (roll < 0.55)
            campaign = null;
        else if (roll < 0.8 && first is not null && first.Runs(day) && first.Weight > 0)
            campaign = first;
        else
        {
            var paid = _campaigns.Where(c => c.Campaign.Channel is Channel.PaidSearch or Channel.PaidSocial && c.Runs(day)).ToList();
            campaign = paid.Count > 0 ? Pick(paid) : null;
        }

        var pagePath = type switch
        {
            ActivityType.DemoRequest => "/demo",
            ActivityType.ContentDownload => "/ressources",
            ActivityType.FormSubmission => Choose("/contact", "/tarifs/devis", "/newsletter"),
            _ => Pick(Pages),
        };
        var properties = type switch
        {
            ActivityType.ContentDownload => Json("asset", Pick(Assets)),
            ActivityType.FormSubmission => Json("form", pagePath.TrimStart('/').Replace('/', '-')),
            ActivityType.DemoRequest => Json("form", "demo"),
            ActivityType.Chat => Json("topic", Choose("pricing", "ERP integration", "security", "onboarding")),
            _ => null,
        };
        return campaign is null
            ? new Touch(at, type, Channel.Direct, null, "(direct)", "(none)", Site + pagePath, null, properties)
            : new Touch(at, type, campaign.Campaign.Channel, campaign, campaign.Source, campaign.Medium, Url(pagePath, campaign), null, properties);
    }

    private static string FormName(string key) => key switch
    {
        "gads" => "free-trial",
        "newsletter" => "newsletter",
        "webinar" => "webinar-registration",
        "salon" => "badge-scan",
        "referral" => "referral",
        "partner" => "partner-referral",
        "studentlist" => "list-import",
        _ => "contact",
    };

    private static string Url(string path, CampaignPlan campaign) =>
        campaign.Campaign.Channel == Channel.OrganicSearch
            ? Site + path
            : $"{Site}{path}?utm_source={campaign.Source}&utm_medium={campaign.Medium}&utm_campaign={campaign.Campaign.UtmCampaign}";

    private static JsonSerializerOptions JsonOptions { get; } = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static string Json(string key, string value) => JsonSerializer.Serialize(new Dictionary<string, string> { [key] = value }, JsonOptions);

    private static Activity ToActivity(Lead lead, Touch touch, Guid? actor) => new()
    {
        LeadId = lead.Id,
        Type = touch.Type,
        OccurredAt = touch.At,
        Channel = touch.Channel,
        CampaignId = touch.Campaign?.Campaign.Id,
        UtmSource = touch.Campaign is null || touch.Campaign.Campaign.Channel == Channel.OrganicSearch ? null : touch.Source,
        UtmMedium = touch.Campaign is null || touch.Campaign.Campaign.Channel == Channel.OrganicSearch ? null : touch.Medium,
        UtmCampaign = touch.Campaign is null || touch.Campaign.Campaign.Channel == Channel.OrganicSearch ? null : touch.Campaign.Campaign.UtmCampaign,
        Url = touch.Url,
        ActorUserId = actor,
        Outcome = touch.Outcome,
        Properties = touch.Properties,
        CreatedAt = touch.At,
    };

    private static string Humanize(ActivityType type) => type switch
    {
        ActivityType.FormSubmission => "Form submission",
        ActivityType.ContentDownload => "Content download",
        ActivityType.DemoRequest => "Demo request",
        ActivityType.Webinar => "Webinar",
        ActivityType.Chat => "Chat",
        _ => type.ToString(),
    };

    // ---------------------------------------------------------------- sales work

    private static string[] RecycleReasons { get; } =
        ["Timing: revisit next quarter", "No budget this year", "Signed with a competitor for two years", "Project on hold after a reorganisation"];

    private static string[] DisqualifyReasons { get; } =
        ["Bad fit: company too small", "Competitor doing research", "Duplicate of an existing contact", "Consultant researching for a client"];

    private static string[] LostReasons { get; } =
        ["Price too high", "Chose a competitor", "No decision (status quo)", "Budget frozen", "Missing ERP integration", "Project postponed"];

    private LifecycleStage WorkLead(Lead lead, DemoLeadKind kind, char grade, DateTimeOffset mqlAt, List<Activity> activities, List<StageTransition> transitions)
    {
        var rep = AssignRep(lead.Language);
        lead.OwnerId = rep.Id;
        lead.WorkStatus = WorkStatus.New;
        var account = lead.AccountId is { } accountId ? _accounts.Values.First(a => a.Id == accountId) : null;
        if (account is not null && account.OwnerId is null)
            account.OwnerId = rep.Id;

        var roll = _random.NextDouble();
        var outcome = kind == DemoLeadKind.Student
            ? roll < 0.85 ? SalesOutcome.Disqualify : SalesOutcome.Recycle
            : grade switch
            {
                'A' => roll < 0.62 ? SalesOutcome.Sql : roll < 0.82 ? SalesOutcome.Recycle : roll < 0.9 ? SalesOutcome.Disqualify : SalesOutcome.Working,
                'B' => roll < 0.5 ? SalesOutcome.Sql : roll < 0.75 ? SalesOutcome.Recycle : roll < 0.87 ? SalesOutcome.Disqualify : SalesOutcome.Working,
                _ => roll < 0.3 ? SalesOutcome.Sql : roll < 0.6 ? SalesOutcome.Recycle : roll < 0.85 ? SalesOutcome.Disqualify : SalesOutcome.Working,
            };
        var connected = outcome is SalesOutcome.Sql or SalesOutcome.Disqualify || _random.NextDouble() < 0.45;
        var attempts = connected ? _random.Next(1, 4) : _random.Next(3, 6);

        // Speed to lead: most within the hour, some the next business day.
        var speedRoll = _random.NextDouble();
        var speedHours = speedRoll < 0.55 ? 0.05 + 1.2 * _random.NextDouble() : speedRoll < 0.85 ? 1 + 7 * _random.NextDouble() : 8 + 40 * _random.NextDouble();
        var t = BusinessTime(mqlAt.AddHours(speedHours), rep);
        for (var a = 1; a <= attempts; a++)
        {
            var type = a == 1 ? (_random.NextDouble() < 0.7 ? ActivityType.Call : ActivityType.EmailSent) : (_random.NextDouble() < 0.6 ? ActivityType.Call : ActivityType.EmailSent);
            var reached = connected && a == attempts;
            var result = type == ActivityType.Call
                ? reached ? "Connected" : Choose("No answer", "Voicemail left", "No answer")
                : reached ? "Replied" : "Sent";
            if (t > _now)
                return LifecycleStage.Mql;
            activities.Add(RepActivity(lead, type, t, rep, result));
            lead.WorkStatus = reached ? WorkStatus.Connected : WorkStatus.Attempting;
            t = BusinessTime(t.AddHours(16 + 40 * _random.NextDouble()), rep);
        }

        switch (outcome)
        {
            case SalesOutcome.Working:
                return LifecycleStage.Mql;
            case SalesOutcome.Recycle:
                {
                    var reason = connected ? Pick(RecycleReasons) : $"No answer after {attempts} attempts";
                    if (t > _now)
                        return LifecycleStage.Mql;
                    transitions.Add(Transition(lead, LifecycleStage.Mql, LifecycleStage.Recycled, t, user: rep.Id, reason: reason));
                    lead.WorkStatus = WorkStatus.Rejected;
                    return LifecycleStage.Recycled;
                }
            case SalesOutcome.Disqualify:
                {
                    var reason = kind == DemoLeadKind.Student ? "Student: not a buyer" : Pick(DisqualifyReasons);
                    if (t > _now)
                        return LifecycleStage.Mql;
                    transitions.Add(Transition(lead, LifecycleStage.Mql, LifecycleStage.Disqualified, t, user: rep.Id, reason: reason));
                    lead.WorkStatus = WorkStatus.Rejected;
                    return LifecycleStage.Disqualified;
                }
        }

        // SQL: a discovery meeting, BANT confirmed, then (usually) a deal.
        var meeting = BusinessTime(t.AddDays(1 + 4 * _random.NextDouble()), rep);
        var sqlAt = meeting.AddHours(1 + 2 * _random.NextDouble());
        var opens = _random.NextDouble() < 0.85;
        var oppAt = BusinessTime(sqlAt.AddDays(1 + 7 * _random.NextDouble()), rep);
        var statusRoll = _random.NextDouble();
        var closeDays = 10 + 40 * _random.NextDouble();
        var compress = 0.4 + 0.55 * _random.NextDouble();
        var amount = DealAmount(lead.CompanySize);
        var lostReason = Pick(LostReasons);
        var advocate = _random.NextDouble() < 0.15;
        var advocateDays = 20 + 25 * _random.NextDouble();

        if (meeting > _now)
            return LifecycleStage.Mql;
        activities.Add(RepActivity(lead, ActivityType.Meeting, meeting, rep, "Held"));
        if (sqlAt > _now)
            return LifecycleStage.Mql;
        transitions.Add(Transition(lead, LifecycleStage.Mql, LifecycleStage.Sql, sqlAt, user: rep.Id, reason: "BANT confirmed"));
        lead.WorkStatus = WorkStatus.Accepted;
        if (!opens || oppAt > _now)
            return LifecycleStage.Sql;

        transitions.Add(Transition(lead, LifecycleStage.Sql, LifecycleStage.Opportunity, oppAt, user: rep.Id, reason: "Deal opened"));
        var deal = new Deal
        {
            Name = $"{lead.Company ?? lead.DisplayName} — {(amount < 15_000m ? "Essentials" : amount < 40_000m ? "Business" : "Enterprise")} annual subscription",
            LeadId = lead.Id,
            AccountId = lead.AccountId,
            OwnerId = rep.Id,
            Amount = amount,
            Currency = "EUR",
            Status = DealStatus.Open,
            Stage = DealStage.Qualification,
            CreatedAt = oppAt,
            UpdatedAt = oppAt,
            StageChangedAt = oppAt,
            Source = "demo",
        };
        _data.Deals.Add(deal);
        var demo = BusinessTime(oppAt.AddDays(2 + 4 * _random.NextDouble()), rep);
        if (demo <= _now)
            activities.Add(RepActivity(lead, ActivityType.Meeting, demo, rep, "Product demo held"));

        var status = statusRoll < 0.3 ? DealStatus.Won : statusRoll < 0.7 ? DealStatus.Lost : DealStatus.Open;
        if (status == DealStatus.Open)
            return LifecycleStage.Opportunity;
        var closeAt = oppAt.AddDays(closeDays);
        if (closeAt > _now)
        {
            var room = _now - oppAt;
            if (room < TimeSpan.FromDays(4))
                return LifecycleStage.Opportunity;
            closeAt = oppAt + room * compress;
        }
        var proposal = oppAt + (closeAt - oppAt) * 0.6;
        if (proposal > demo)
            activities.Add(RepActivity(lead, ActivityType.EmailSent, proposal, rep, "Proposal sent"));
        deal.Status = status;
        deal.Stage = status == DealStatus.Won ? DealStage.Won : DealStage.Lost;
        deal.ClosedAt = closeAt;
        deal.UpdatedAt = closeAt;
        deal.StageChangedAt = closeAt;
        if (status == DealStatus.Lost)
        {
            deal.LostReason = lostReason;
            transitions.Add(Transition(lead, LifecycleStage.Opportunity, LifecycleStage.Recycled, closeAt, user: rep.Id, reason: $"Deal lost: {lostReason}"));
            return LifecycleStage.Recycled;
        }
        transitions.Add(Transition(lead, LifecycleStage.Opportunity, LifecycleStage.Customer, closeAt, user: rep.Id, reason: "Deal won"));
        var advocateAt = closeAt.AddDays(advocateDays);
        if (!advocate || advocateAt > _now)
            return LifecycleStage.Customer;
        transitions.Add(Transition(lead, LifecycleStage.Customer, LifecycleStage.Advocate, advocateAt, user: rep.Id, reason: "Agreed to a case study"));
        return LifecycleStage.Advocate;
    }

    /// <summary>The least-loaded rep speaking the lead's language (any rep when none does).</summary>
    private DemoRep AssignRep(string? language)
    {
        var speakers = _users.Reps.Where(r => r.Languages.Contains(language ?? "en")).ToList();
        var pool = speakers.Count > 0 ? speakers : _users.Reps;
        var rep = pool.MinBy(r => _repLoad[r.Id])!;
        _repLoad[rep.Id]++;
        return rep;
    }

    private decimal DealAmount(int? size)
    {
        var (min, max) = size switch
        {
            null or < 50 => (5_000, 18_000),
            <= 500 => (8_000, 45_000),
            <= 2000 => (20_000, 65_000),
            _ => (30_000, 80_000),
        };
        var value = min + (max - min) * _random.NextDouble();
        return Math.Clamp(Math.Round((decimal)value / 500m) * 500m, 5_000m, 80_000m);
    }

    /// <summary>The time itself when it falls in the rep's working hours (08:00–19:00 on weekdays), else the next morning.</summary>
    private DateTimeOffset BusinessTime(DateTimeOffset at, DemoRep rep)
    {
        var jitter = 30 + 90 * _random.NextDouble();
        var local = TimeZoneInfo.ConvertTime(at, rep.TimeZone).DateTime;
        var weekday = local.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday);
        if (weekday && local.Hour is >= 8 and < 19)
            return at;
        var date = local.Date;
        if (!weekday || local.Hour >= 19)
        {
            date = date.AddDays(1);
            while (date.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
                date = date.AddDays(1);
        }
        var start = DateTime.SpecifyKind(date.AddHours(8).AddMinutes(jitter), DateTimeKind.Unspecified);
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(start, rep.TimeZone), TimeSpan.Zero);
    }

    private static Activity RepActivity(Lead lead, ActivityType type, DateTimeOffset at, DemoRep rep, string outcome) => new()
    {
        LeadId = lead.Id,
        Type = type,
        OccurredAt = at,
        ActorUserId = rep.Id,
        Outcome = outcome,
        CreatedAt = at,
    };

    private static StageTransition Transition(Lead lead, LifecycleStage? from, LifecycleStage to, DateTimeOffset at,
        Guid? user = null, string? rule = null, string? reason = null) => new()
        {
            LeadId = lead.Id,
            From = from,
            To = to,
            At = at,
            ByUserId = user,
            ByRule = rule,
            Reason = reason,
        };

    // ---------------------------------------------------------------- identities

    private static Dictionary<string, string[]> FreeMail { get; } = new(StringComparer.Ordinal)
    {
        ["FR"] = ["gmail.com", "gmail.com", "orange.fr", "free.fr", "hotmail.fr", "yahoo.fr", "laposte.net", "outlook.fr"],
        ["BE"] = ["gmail.com", "hotmail.com", "skynet.be", "outlook.com"],
        ["CH"] = ["gmail.com", "bluewin.ch", "hotmail.com"],
        ["DE"] = ["gmail.com", "gmx.de", "web.de"],
        ["GB"] = ["gmail.com", "outlook.com", "yahoo.co.uk"],
    };

    private static string[] FrenchFemaleNames { get; } =
        ["Marie", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Sophie", "Valérie", "Christine", "Sandrine", "Céline", "Stéphanie", "Caroline",
         "Émilie", "Aurélie", "Julie", "Camille", "Laura", "Pauline", "Claire", "Anne", "Hélène", "Virginie", "Delphine", "Élodie", "Mathilde",
         "Charlotte", "Léa", "Manon", "Chloé", "Sarah", "Amandine", "Audrey", "Laetitia", "Agnès", "Florence", "Karine", "Inès", "Margaux", "Lucie", "Nadia"];

    private static string[] FrenchMaleNames { get; } =
        ["Jean", "Pierre", "Nicolas", "Philippe", "Christophe", "Laurent", "Stéphane", "Olivier", "Sébastien", "Julien", "Thomas", "Alexandre",
         "David", "Frédéric", "Éric", "Vincent", "François", "Guillaume", "Antoine", "Mathieu", "Romain", "Benoît", "Jérôme", "Arnaud", "Maxime",
         "Hugo", "Lucas", "Clément", "Damien", "Fabien", "Karim", "Mehdi", "Thierry", "Patrick", "Franck", "Yann", "Cédric", "Xavier", "Bruno", "Marc"];

    private string MakeEmail(string firstName, string lastName, string? domain, string country)
    {
        var first = Slug(firstName, '-');
        var last = Slug(lastName, '-');
        var free = domain is null;
        domain ??= Pick(FreeMail.TryGetValue(country, out var list) ? list : ["gmail.com", "outlook.com", "hotmail.com"]);
        var roll = _random.NextDouble();
        var local = free
            ? roll switch
            {
                < 0.45 => $"{first}.{last}",
                < 0.75 => string.Create(CultureInfo.InvariantCulture, $"{first}.{last}{_random.Next(1, 99)}"),
                < 0.9 => string.Create(CultureInfo.InvariantCulture, $"{first}{last}{_random.Next(1960, 2006)}"),
                _ => $"{first[0]}{last}",
            }
            : roll switch
            {
                < 0.7 => $"{first}.{last}",
                < 0.9 => $"{first[0]}.{last}",
                _ => $"{first}{last[0]}",
            };
        var email = $"{local}@{domain}".Trim().ToLowerInvariant();
        for (var n = 2; !_emails.Add(email); n++)
            email = string.Create(CultureInfo.InvariantCulture, $"{local}{n}@{domain}").ToLowerInvariant();
        return email;
    }

    /// <summary>Numbers from ranges reserved for fiction (ARCEP 06 39 98, Ofcom 07700 900), so no real person is ever called.</summary>
    private string? MakePhone(string country)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var phone = country switch
            {
                "FR" => string.Create(CultureInfo.InvariantCulture, $"+3363998{_random.Next(0, 10_000):D4}"),
                "GB" => string.Create(CultureInfo.InvariantCulture, $"+447700900{_random.Next(0, 1_000):D3}"),
                _ => null,
            };
            if (phone is null)
                return null;
            if (_phones.Add(phone))
                return phone;
        }
        return null;
    }

    /// <summary>
    /// Bogus' French first names are mostly antique (Abeline, Gislebert) and its en_GB names fall back to US ones
    /// (Lueilwitz), so French and British people get common modern names from short lists; the others come from Bogus.
    /// </summary>
    private string FirstName(string country, bool female) => FakerFor(country).Locale switch
    {
        "fr" => Pick(female ? FrenchFemaleNames : FrenchMaleNames),
        "en_GB" => Pick(female ? BritishFemaleNames : BritishMaleNames),
        _ => FakerFor(country).Name.FirstName(female ? Bogus.DataSets.Name.Gender.Female : Bogus.DataSets.Name.Gender.Male),
    };

    private string LastName(string country) => FakerFor(country).Locale == "en_GB" ? Pick(BritishLastNames) : FakerFor(country).Name.LastName();

    private static string[] BritishFemaleNames { get; } =
        ["Emma", "Olivia", "Sophie", "Charlotte", "Emily", "Hannah", "Lucy", "Rebecca", "Sarah", "Laura", "Rachel", "Jessica", "Amy", "Claire",
         "Helen", "Kate", "Victoria", "Anna", "Grace", "Megan"];

    private static string[] BritishMaleNames { get; } =
        ["James", "Oliver", "Thomas", "William", "Jack", "Harry", "George", "Daniel", "Matthew", "Andrew", "David", "Richard", "Simon", "Mark",
         "Paul", "Peter", "Robert", "Edward", "Samuel", "Benjamin"];

    private static string[] BritishLastNames { get; } =
        ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson", "Wright", "Thompson", "Evans", "Walker",
         "White", "Roberts", "Green", "Hall", "Wood", "Jackson", "Clarke", "Hughes", "Edwards", "Turner", "Harris", "Cooper", "Ward", "Morris",
         "King", "Baker", "Harrison"];

    private Faker FakerFor(string country) => _fakers[country switch
    {
        "FR" or "BE" or "LU" or "CH" => "fr",
        "DE" => "de",
        "GB" => "en_GB",
        "ES" => "es",
        "IT" => "it",
        "NL" => "nl",
        _ => "fr",
    }];

    // ---------------------------------------------------------------- capture-path traffic

    internal const int FormSubmissions = 60;
    internal const int WebhookDeliveries = 40;
    internal const int ImportRows = 150;
    internal const string ImportFileName = "export-salesforce-leads.csv";
    internal const string TypeformFormId = "tD3m0Wp";

    private static readonly string[] ImportHeaders =
        ["Lead ID", "First Name", "Last Name", "Email", "Company", "Title", "Phone", "Lead Source", "Lead Status", "Country", "Created Date"];

    /// <summary>What an admin confirms on the import page for this Salesforce export.</summary>
    internal static Dictionary<string, string?> ImportColumnMapping { get; } = new(StringComparer.Ordinal)
    {
        ["Lead ID"] = "externalId",
        ["First Name"] = "firstName",
        ["Last Name"] = "lastName",
        ["Email"] = "email",
        ["Company"] = "company",
        ["Title"] = "jobTitle",
        ["Phone"] = "phone",
        ["Lead Source"] = "utmSource",
        ["Lead Status"] = "stage",
        ["Country"] = "country",
        ["Created Date"] = "occurredAt",
    };

    internal static Dictionary<string, string> ImportStageValues { get; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Open - Not Contacted"] = nameof(LifecycleStage.Lead),
        ["Working - Contacted"] = nameof(LifecycleStage.Mql),
        ["Qualified"] = nameof(LifecycleStage.Sql),
        ["Unqualified"] = nameof(LifecycleStage.Disqualified),
        ["Closed - Not Converted"] = nameof(LifecycleStage.Recycled),
    };

    private static readonly JsonSerializerOptions WebhookJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Call after <see cref="Build"/>: new people come from the same generators (unique emails and phones), and about
    /// one in five is a lead of the history coming back, so capture merges them.
    /// </summary>
    public DemoCaptureTraffic BuildCaptureTraffic()
    {
        var returning = _data.Leads.Where(l => l.Email is not null && l.ExternalSystem is null && l.FirstName is not null && l.LastName is not null
            && l.Company is not null && l.Stage is not (LifecycleStage.Customer or LifecycleStage.Disqualified)).ToList();
        var used = new HashSet<string>(StringComparer.Ordinal);
        DemoPerson Person(double knownShare)
        {
            if (_random.NextDouble() < knownShare)
            {
                for (var attempt = 0; attempt < 20; attempt++)
                {
                    var lead = returning[_random.Next(returning.Count)];
                    if (used.Add(lead.Email!))
                        return new DemoPerson(lead.Email!, lead.Phone, lead.FirstName!, lead.LastName!, lead.Company, lead.JobTitle, lead.Country ?? "FR", lead.CompanySize, true);
                }
            }
            return NewPerson();
        }
        var forms = Enumerable.Range(0, FormSubmissions).Select(_ => FormPost(Person(0.2))).ToList();
        var hooks = Enumerable.Range(0, WebhookDeliveries - 2).Select(_ => Person(0.2)).ToList();
        var deliveries = hooks.Select(p => (At: _now.AddMinutes(-_random.Next(5, 14 * 24 * 60)), Person: (DemoPerson?)p, Broken: 0)).ToList();
        deliveries.Add((_now.AddHours(-_random.Next(30, 200)), null, 1));
        deliveries.Add((_now.AddHours(-_random.Next(2, 30)), NewPerson(), 2));
        var webhooks = deliveries.OrderBy(d => d.At).Select(d => TypeformDelivery(d.At, d.Person, d.Broken)).ToList();
        var csv = ImportCsv(Enumerable.Range(0, ImportRows - 3).Select(_ => Person(0.15)).ToList());
        return new DemoCaptureTraffic(forms, webhooks, csv);
    }

    private DemoPerson NewPerson()
    {
        var kind = (DemoLeadKind)WeightedIndex([45, 25, 10, 20, 0]);
        var company = PickCompany();
        var female = _random.NextDouble() < 0.5;
        var firstName = FirstName(company.Country, female);
        var lastName = LastName(company.Country);
        var language = company.Country is "FR" or "BE" or "CH" or "LU" ? "fr" : "en";
        var email = MakeEmail(firstName, lastName, _random.NextDouble() < 0.1 ? null : company.Domain, company.Country);
        var phone = _random.NextDouble() < 0.5 ? MakePhone(company.Country) : null;
        return new DemoPerson(email, phone, firstName, lastName, company.Name, JobTitle(kind, language, female), company.Country, company.Size, false);
    }

    private DemoFormPost FormPost(DemoPerson person)
    {
        var (source, medium, campaign, referrer) = Weighted<(string?, string?, string?, string?)>(
        [
            (("google", "cpc", "gads-prevision-tresorerie", "https://www.google.com/"), 35),
            (("linkedin", "paid-social", "li-daf-pme", "https://www.linkedin.com/"), 20),
            (("newsletter", "email", "newsletter-mensuel-daf", null), 12),
            (("google", "organic", "seo-blog-guides", "https://www.google.fr/"), 15),
            (("partner-portal", "partner", "partenaires-experts-comptables", null), 5),
            ((null, null, null, null), 13),
        ]);
        var landing = Site + "/demo" + (source is null ? "" : $"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}");
        var fields = new List<KeyValuePair<string, string?>>
        {
            new("email", person.Email),
            new("firstName", person.FirstName),
            new("lastName", person.LastName),
            new("company", person.Company),
            new("jobTitle", person.JobTitle),
            new("phone", person.Phone is null ? "" : DisplayPhone(person.Phone)),
            new("website", ""),
            new(FormRules.FillTimeField, (_random.Next(12, 140) * 1000 + _random.Next(1000)).ToString(CultureInfo.InvariantCulture)),
            new("landing_page", landing),
        };
        if (_random.NextDouble() < 0.75)
            fields.Add(new(FormRules.ConsentField, "true"));
        if (source is not null)
        {
            fields.Add(new("utm_source", source));
            fields.Add(new("utm_medium", medium));
            fields.Add(new("utm_campaign", campaign));
        }
        if (referrer is not null)
            fields.Add(new("referrer", referrer));
        return new DemoFormPost(fields, person.Known);
    }

    /// <summary>"+33639981234" → "+33 6 39 98 12 34", as people type it.</summary>
    private static string DisplayPhone(string e164) => e164.StartsWith("+33", StringComparison.Ordinal) && e164.Length == 12
        ? $"+33 {e164[3]} {e164[4..6]} {e164[6..8]} {e164[8..10]} {e164[10..12]}"
        : e164;

    private static string SizeLabel(int? size) => size switch
    {
        null or < 11 => "1-10",
        < 51 => "11-50",
        < 201 => "51-200",
        < 501 => "201-500",
        _ => "501-1000",
    };

    /// <summary>
    /// A Typeform form_response delivery. <paramref name="broken"/> 1 is a response without its email question
    /// (an older version of the form), 2 a mistyped address and no phone: both cannot become leads and are dead-lettered.
    /// </summary>
    private DemoWebhookDelivery TypeformDelivery(DateTimeOffset submittedAt, DemoPerson? person, int broken)
    {
        var (source, medium, campaign) = Weighted<(string, string, string)>(
        [
            (("linkedin", "paid-social", "li-daf-pme"), 50),
            (("google", "cpc", "gads-prevision-tresorerie"), 20),
            (("google", "organic", "seo-blog-guides"), 20),
            (("newsletter", "email", "newsletter-mensuel-daf"), 10),
        ]);
        static JsonObject Field(string refName, string type) => new() { ["id"] = "fld_" + refName, ["type"] = type, ["ref"] = refName };
        static JsonObject Text(string refName, string value) => new() { ["type"] = "text", ["text"] = value, ["field"] = Field(refName, "short_text") };
        var answers = new JsonArray();
        if (person is not null)
        {
            answers.Add(Text("first_name", person.FirstName));
            answers.Add(Text("last_name", person.LastName));
            var email = broken == 2 ? person.Email.Replace("@", " @ ", StringComparison.Ordinal) : person.Email;
            answers.Add(new JsonObject { ["type"] = "email", ["email"] = email, ["field"] = Field("email", "email") });
            if (person.Company is not null)
                answers.Add(Text("company", person.Company));
            if (person.JobTitle is not null)
                answers.Add(Text("job_title", person.JobTitle));
            // The mistyped address comes without a phone: with no identifier left the delivery cannot become a lead (a bad value
            // next to a valid identifier would be kept as a warning, decision 019).
            if (person.Phone is not null && broken != 2)
                answers.Add(new JsonObject { ["type"] = "phone_number", ["phone_number"] = person.Phone, ["field"] = Field("phone", "phone_number") });
            answers.Add(new JsonObject
            {
                ["type"] = "choice",
                ["choice"] = new JsonObject { ["label"] = SizeLabel(person.CompanySize) },
                ["field"] = Field("company_size", "multiple_choice"),
            });
        }
        else
        {
            answers.Add(Text("first_name", "Sandrine"));
            answers.Add(Text("company", "Cabinet Roussel Expertise"));
        }
        var token = Token(32);
        var body = new JsonObject
        {
            ["event_id"] = Token(26).ToUpperInvariant(),
            ["event_type"] = "form_response",
            ["form_response"] = new JsonObject
            {
                ["form_id"] = TypeformFormId,
                ["token"] = token,
                ["landed_at"] = Iso(submittedAt.AddSeconds(-_random.Next(40, 400))),
                ["submitted_at"] = Iso(submittedAt),
                ["hidden"] = new JsonObject { ["utm_source"] = source, ["utm_medium"] = medium, ["utm_campaign"] = campaign },
                ["definition"] = new JsonObject { ["id"] = TypeformFormId, ["title"] = "Livre blanc : piloter sa trésorerie en PME" },
                ["answers"] = answers,
            },
        };
        return new DemoWebhookDelivery(body.ToJsonString(WebhookJson));
    }

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private string Token(int length)
    {
        const string alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
        return string.Create(length, this, (span, builder) =>
        {
            for (var i = 0; i < span.Length; i++)
                span[i] = alphabet[builder._random.Next(alphabet.Length)];
        });
    }

    /// <summary>
    /// A Salesforce leads export from the CRM used before Tandem: leads created 4 to 14 months ago, plus three rows
    /// the import reports: a mistyped email (a warning: the Salesforce id keeps the lead), a "Nurturing" status (the preset maps
    /// it to Recycled), and a company name with an unquoted comma (the row fails).
    /// </summary>
    private string ImportCsv(List<DemoPerson> people)
    {
        var sb = new StringBuilder();
        sb.Append(string.Join(',', ImportHeaders)).Append("\r\n");
        var broken = new Dictionary<int, int> { [37] = 1, [88] = 2, [121] = 3 };
        var person = 0;
        for (var row = 0; row < ImportRows; row++)
        {
            var kind = broken.GetValueOrDefault(row);
            var p = kind == 0 ? people[person++] : NewPerson();
            var status = p.Known ? "Open - Not Contacted"
                : kind == 3 ? "Nurturing"
                : Weighted<string>([("Open - Not Contacted", 45), ("Working - Contacted", 25), ("Qualified", 8), ("Unqualified", 10), ("Closed - Not Converted", 12)]);
            var email = kind == 1 ? p.Email.Replace("@", "[at]", StringComparison.Ordinal) : p.Email;
            var company = kind == 2 ? $"{p.LastName}, {p.FirstName} & Associés" : p.Company;
            var created = _today.AddDays(-_random.Next(120, 420));
            string?[] values =
            [
                "00Q7R0000" + Token(9).ToUpperInvariant(), p.FirstName, p.LastName, email, company, p.JobTitle,
                p.Phone is null ? "" : DisplayPhone(p.Phone),
                Weighted<string>([("Web", 40), ("Trade Show", 20), ("Partner Referral", 10), ("Purchased List", 15), ("Phone Inquiry", 10), ("", 5)]),
                status, CountryName(p.Country), created.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ];
            // The unquoted comma is the error: this row has one column too many.
            sb.Append(string.Join(',', values.Select((v, i) => kind == 2 && i == 4 ? v! : CsvField(v)))).Append("\r\n");
        }
        return sb.ToString();
    }

    private static string CountryName(string code) => code switch
    {
        "FR" => "France",
        "BE" => "Belgique",
        "CH" => "Suisse",
        "DE" => "Germany",
        "GB" => "United Kingdom",
        "ES" => "Spain",
        "IT" => "Italy",
        _ => code,
    };

    private static string CsvField(string? value) =>
        value is null ? "" : value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    // ---------------------------------------------------------------- helpers

    private DateTimeOffset At(DateOnly day, double hourOfDay) =>
        new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddHours(hourOfDay);

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    private string Choose(params string[] options) => options[_random.Next(options.Length)];

    private T Weighted<T>(IReadOnlyList<(T Item, double Weight)> items)
    {
        var roll = _random.NextDouble() * items.Sum(i => i.Weight);
        foreach (var (item, weight) in items)
        {
            if (roll < weight)
                return item;
            roll -= weight;
        }
        return items[^1].Item;
    }

    private int WeightedIndex(double[] weights)
    {
        var roll = _random.NextDouble() * weights.Sum();
        for (var i = 0; i < weights.Length; i++)
        {
            if (roll < weights[i])
                return i;
            roll -= weights[i];
        }
        return weights.Length - 1;
    }

    /// <summary>Lower-case ASCII words separated by single spaces, for keyword matching ("Directrice financière" → "directrice financiere").</summary>
    internal static string Words(string? text) => Slug(text ?? "", ' ');

    /// <summary>Lower-case ASCII with accents removed and every other character run replaced by <paramref name="separator"/>.</summary>
    internal static string Slug(string text, char separator)
    {
        var decomposed = text.Replace("ß", "ss", StringComparison.Ordinal).Replace("æ", "ae", StringComparison.Ordinal)
            .Replace("œ", "oe", StringComparison.Ordinal).Replace("ø", "o", StringComparison.Ordinal).Normalize(NormalizationForm.FormD);
        var sb = new StringBuilder(decomposed.Length);
        var pendingSeparator = false;
        foreach (var ch in decomposed)
        {
            if (CharUnicodeInfo.GetUnicodeCategory(ch) == UnicodeCategory.NonSpacingMark)
                continue;
            var c = char.ToLowerInvariant(ch);
            if (c is >= 'a' and <= 'z' or >= '0' and <= '9')
            {
                if (pendingSeparator && sb.Length > 0)
                    sb.Append(separator);
                sb.Append(c);
                pendingSeparator = false;
            }
            else
            {
                pendingSeparator = true;
            }
        }
        return sb.ToString();
    }
}
