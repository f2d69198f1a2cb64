using System.Data.Common;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Feedback;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Features.Qualification;
using Tandem.Features.Revenue;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Leads;

/// <summary>
/// Privacy rights (decision 021b): the export holds a row of every table that refers to the person, the erasure leaves neither their
/// email nor their name in any text column of any table while aggregates stay as they were, re-capture is refused only when asked,
/// and the consent ledger only grows.
/// </summary>
public abstract class PrivacyTests(DatabaseProvider provider)
{
    private const string Email = "quintessa.zorblaxian@privacy.example";
    private const string First = "Quintessa";
    private const string Last = "Zorblaxian";
    private const string Phone = "+33612345678";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<T> DbAsync<T>(TandemApp app, Func<TandemDb, Task<T>> action) =>
        app.WithServiceAsync(sp => action(sp.GetRequiredService<TandemDb>()));

    private static async Task<Guid> CaptureAsync(HttpClient client, object body)
    {
        var response = await client.PostAsJsonAsync("/api/v1/leads", body, Ct);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync(Ct));
        return (await response.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
    }

    private static object Person(Guid? campaignId = null) => new
    {
        email = Email,
        firstName = First,
        lastName = Last,
        phone = Phone,
        company = "Acme",
        campaignId,
        consent = new { emailOptIn = true, text = "I agree to receive the newsletter." },
    };

    [Fact]
    public async Task ExportHoldsEveryRelatedTableAndErasureLeavesNoTraceWhileAggregatesStay()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var ingest = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Read));
        var campaignId = await DbAsync(app, async db =>
        {
            var campaign = new Campaign { Name = "Spring webinar" };
            db.Add(campaign);
            await db.SaveChangesAsync(Ct);
            return campaign.Id;
        });
        var leadId = await CaptureAsync(ingest, Person(campaignId));
        var otherId = await CaptureAsync(ingest, new { email = "someone.else@privacy.example", lastName = "Other", campaignId });
        var now = DateTimeOffset.UtcNow;

        // A row of every lead-linked entity (and of those hanging on one), with the person's name or email in its text where it has some.
        var seeded = await DbAsync(app, async db =>
        {
            var source = new WebhookSource { Name = "Hooks", Key = "privacy-test-key" };
            var endpoint = new WebhookEndpoint { Url = "https://hooks.example/in", Events = "lead.created", SecretProtected = "x", CreatedAt = now, UpdatedAt = now };
            var job = new ImportJob { FileName = "list.csv", FilePath = "/nonexistent/list.csv", Encoding = "utf-8", Delimiter = ",", Settings = "{}", CreatedBy = "test" };
            // A teammate for the rows that name a user (a task's assignee).
            var teammate = new AppUser { UserName = "teammate@privacy.example", NormalizedUserName = "TEAMMATE@PRIVACY.EXAMPLE", Email = "teammate@privacy.example", DisplayName = "Teammate", CreatedAt = now };
            db.AddRange(source, endpoint, job, teammate);
            await db.SaveChangesAsync(Ct);
            var references = LeadReferences.Find(db.Model);
            var linked = references.Select(r => r.Entity).Distinct().ToList();
            var dependents = db.Model.GetEntityTypes().Where(e => !linked.Contains(e) && e.GetForeignKeys().Any(fk => linked.Contains(fk.PrincipalEntityType))).ToList();
            var parents = new Dictionary<Type, object> { [typeof(AppUser)] = teammate };
            foreach (var entity in linked.Concat(dependents))
            {
                var row = MergeCoverageTests.Builders[entity.ClrType](new MergeCoverageTests.RowContext(leadId, source.Id, parents, now));
                switch (row)
                {
                    case Activity a: a.Properties = JsonSerializer.Serialize(new { email = Email, note = $"{First} {Last} asked for a demo" }); break;
                    case LeadRating r: r.Comment = $"Call {First} {Last} back"; break;
                    case Dispute d: d.Comment = $"{Last} is a good fit"; break;
                    case BantAssessment b: b.BudgetNote = $"{First} has the budget"; break;
                    case Deal deal: deal.Name = $"{Last} deal"; break;
                    case WebhookDeadLetter l: l.RawBody = JsonSerializer.Serialize(new { email = Email }); break;
                }
                parents[entity.ClrType] = row;
                db.Add(row);
            }
            db.Add(new Notification
            {
                Kind = "lead.assigned",
                Subject = $"New MQL: {First} {Last}",
                Body = $"{Email} from Acme",
                Link = $"/leads/{leadId}",
                DedupeKey = "privacy-1",
                Channel = NotificationChannel.InApp,
                CreatedAt = now,
                NextAttemptAt = now,
            });
            db.Add(new Notification
            {
                Kind = "digest",
                Subject = "Your digest",
                Body = $"{First} {Last} was rated 2/5",
                DedupeKey = "privacy-2",
                Channel = NotificationChannel.Email,
                CreatedAt = now,
                NextAttemptAt = now,
            });
            db.Add(new WebhookDelivery
            {
                EndpointId = endpoint.Id,
                EventType = "lead.created",
                CreatedAt = now,
                NextAttemptAt = now,
                RetryUntil = now,
                Payload = JsonSerializer.Serialize(new { type = "lead.created", data = new { lead = new { id = leadId, email = Email, firstName = First, lastName = Last } } }),
            });
            db.Add(new WebhookDeadLetter { SourceId = source.Id, RawBody = JsonSerializer.Serialize(new { contact = Email, name = $"{First} {Last}" }), Error = "Mapping", ReceivedAt = now });
            db.Add(new ImportRowError { ImportJobId = job.Id, Row = 7, Column = "Email", Field = "email", Value = Email, Message = "A lead with this email already exists." });
            db.Add(new ImportRowError { ImportJobId = job.Id, Row = 7, Column = "Name", Field = "lastName", Value = Last, Message = "Too long." });
            db.Add(new AuditEntry { At = now, Actor = "rep", Action = "lead.rated", EntityType = nameof(Lead), EntityId = leadId.ToString(), Details = $"rated {First} {Last}" });
            await db.SaveChangesAsync(Ct);
            return references.Select(r => r.Table).Distinct().ToList();
        });

        // Export: JSON with every table, CSV with every section.
        var json = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/leads/{leadId}/privacy-export?format=json", Ct);
        Assert.Equal(Email, json.GetProperty("lead").GetProperty("email").GetString());
        var related = json.GetProperty("related");
        foreach (var table in seeded.Concat(["Notifications", "WebhookDeliveries", "WebhookDeadLetters", "ImportRowErrors", "AuditEntries"]))
            Assert.True(related.TryGetProperty(table, out var rows) && rows.GetArrayLength() > 0, $"The export has no {table}.");
        Assert.Equal("Granted", json.GetProperty("consent").GetProperty("ledger")[0].GetProperty("action").GetString());
        var csv = await admin.GetAsync($"/api/v1/leads/{leadId}/privacy-export?format=csv", Ct);
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var csvText = await csv.Content.ReadAsStringAsync(Ct);
        Assert.Contains(Email, csvText, StringComparison.Ordinal);
        Assert.Contains("# Activities", csvText, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync($"/api/v1/leads/{leadId}/privacy-export?format=xml", Ct)).StatusCode);

        var before = await AggregatesAsync(app);
        var erase = await admin.PostAsJsonAsync($"/api/v1/leads/{leadId}/erase", new { reason = $"Request from {First} {Last} by email on 2026-12-01", blockRecapture = true }, Ct);
        Assert.True(erase.StatusCode == HttpStatusCode.OK, await erase.Content.ReadAsStringAsync(Ct));
        Assert.Equal(before, await AggregatesAsync(app));

        // Nothing left: no text column of any table holds the email, the phone or the names.
        var found = await DbAsync(app, db => ScanAsync(db, [Email, Phone, First.ToLowerInvariant(), Last.ToLowerInvariant()]));
        Assert.True(found.Count == 0, "Still found: " + string.Join("; ", found));

        await DbAsync(app, async db =>
        {
            var tombstone = await db.Leads.AsNoTracking().SingleAsync(l => l.Id == leadId, Ct);
            Assert.NotNull(tombstone.ErasedAt);
            Assert.Null(tombstone.Email);
            Assert.Equal(campaignId, tombstone.FirstCampaignId);
            Assert.True(await db.StageTransitions.AnyAsync(t => t.LeadId == leadId, Ct));
            Assert.Equal("Other", (await db.Leads.AsNoTracking().SingleAsync(l => l.Id == otherId, Ct)).LastName);
            Assert.Equal(DeadLetterStatus.Discarded, (await db.WebhookDeadLetters.AsNoTracking().SingleAsync(l => l.Error == "Mapping", Ct)).Status);
            var audit = await db.AuditEntries.AsNoTracking().SingleAsync(a => a.Action == "lead.erased", Ct);
            Assert.Contains("blockRecapture=true", audit.Details, StringComparison.Ordinal);
            return 0;
        });

        // The lead API shows the tombstone; a second erasure changes nothing.
        var detail = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/leads/{leadId}", Ct);
        Assert.Equal(JsonValueKind.Null, detail.GetProperty("email").ValueKind);
        Assert.NotEqual(JsonValueKind.Null, detail.GetProperty("erasedAt").ValueKind);
        var again = await admin.PostAsJsonAsync($"/api/v1/leads/{leadId}/erase", new { reason = "again" }, Ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var againBody = await again.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(againBody.GetProperty("alreadyErased").GetBoolean());
        Assert.True(againBody.GetProperty("recaptureBlocked").GetBoolean());
    }

    /// <summary>Counts the KPIs and reports rest on: leads per campaign and stage, stage moves, deals and their amounts, ratings, disputes.</summary>
    private static Task<string> AggregatesAsync(TandemApp app) => DbAsync(app, async db =>
    {
        var leads = await db.Leads.AsNoTracking().GroupBy(l => new { l.FirstCampaignId, l.Stage, l.FirstChannel }).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(Ct);
        var deals = await db.Deals.AsNoTracking().Select(d => d.Amount).ToListAsync(Ct);
        return string.Join("|", leads.OrderBy(x => x.Key.ToString()).Select(x => $"{x.Key}:{x.Count}")) +
            $"|transitions={await db.StageTransitions.CountAsync(Ct)}|deals={deals.Count}:{deals.Sum()}|ratings={await db.Set<LeadRating>().CountAsync(Ct)}" +
            $"|disputes={await db.Set<Dispute>().CountAsync(Ct)}|activities={await db.Activities.CountAsync(Ct)}|assignments={await db.Assignments.CountAsync(Ct)}";
    });

    /// <summary>Every text column of every table (read from the EF model, users and keys aside) searched for each needle, case-insensitively.</summary>
    private static async Task<List<string>> ScanAsync(TandemDb db, IReadOnlyList<string> needles)
    {
        var found = new List<string>();
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(Ct);
        try
        {
            foreach (var entity in db.Model.GetEntityTypes().Where(e => e.GetTableName() is { } t && !t.StartsWith("AspNet", StringComparison.Ordinal) && !e.IsOwned()))
            {
                var table = entity.GetTableName()!;
                var store = StoreObjectIdentifier.Table(table, entity.GetSchema());
                foreach (var property in entity.GetProperties().Where(p => p.GetProviderClrType() == typeof(string) || p.ClrType == typeof(string)))
                {
                    var column = property.GetColumnName(store);
                    if (column is null)
                        continue;
                    foreach (var needle in needles)
                    {
                        await using DbCommand command = connection.CreateCommand();
                        command.CommandText = $"SELECT COUNT(*) FROM \"{table}\" WHERE lower(CAST(\"{column}\" AS TEXT)) LIKE @needle";
                        var parameter = command.CreateParameter();
                        parameter.ParameterName = "@needle";
                        parameter.Value = "%" + needle.ToLowerInvariant() + "%";
                        command.Parameters.Add(parameter);
                        if (Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture) > 0)
                            found.Add($"{table}.{column} holds {needle}");
                    }
                }
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
        return found;
    }

    [Fact]
    public async Task RecaptureIsRefusedOnEveryApiPathOnlyWhenBlocked()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var ingest = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Read));
        var blockedId = await CaptureAsync(ingest, Person());
        var freeId = await CaptureAsync(ingest, new { email = "free.again@privacy.example", lastName = "Free" });
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/leads/{blockedId}/erase", new { reason = "Art. 17 request", blockRecapture = true }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/leads/{freeId}/erase", new { reason = "Art. 17 request", blockRecapture = false }, Ct)).StatusCode);
        var subjects = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/privacy/subjects?email={Uri.EscapeDataString(Email.ToUpperInvariant())}", Ct);
        Assert.True(subjects.GetProperty("recaptureBlocked").GetBoolean());
        Assert.Equal(0, subjects.GetProperty("leadIds").GetArrayLength());

        // Single capture: a field error on the email, nothing written.
        var single = await ingest.PostAsJsonAsync("/api/v1/leads", new { email = Email.ToUpperInvariant(), firstName = First }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, single.StatusCode);
        Assert.Contains("erased", (await single.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").GetProperty("email")[0].GetString(), StringComparison.Ordinal);
        // By phone alone too.
        Assert.Equal(HttpStatusCode.BadRequest, (await ingest.PostAsJsonAsync("/api/v1/leads", new { phone = Phone }, Ct)).StatusCode);
        // Batch: one blocked item, the other created.
        var batch = await ingest.PostAsJsonAsync("/api/v1/leads/batch", new { items = new object[] { new { email = Email }, new { email = "new.person@privacy.example" } } }, Ct);
        Assert.Equal(HttpStatusCode.OK, batch.StatusCode);
        var result = await batch.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Equal("blocked", result.GetProperty("items")[0].GetProperty("status").GetString());
        Assert.Equal("created", result.GetProperty("items")[1].GetProperty("status").GetString());
        Assert.Equal(1, result.GetProperty("blocked").GetInt32());
        // Not blocked: the same person comes back as a new lead.
        await CaptureAsync(ingest, new { email = "free.again@privacy.example", lastName = "Free" });
        await DbAsync(app, async db =>
        {
            Assert.Equal(0, await db.Leads.CountAsync(l => l.Email == Email, Ct));
            Assert.Equal(1, await db.Leads.CountAsync(l => l.Email == "free.again@privacy.example", Ct));
            Assert.Equal(2, await db.ErasureBlocks.CountAsync(Ct));
            return 0;
        });
    }

    [Fact]
    public async Task ConsentLedgerOnlyGrowsAndTheLeadApiShowsIt()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var ingest = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        var reader = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Read));
        var leadId = await CaptureAsync(ingest, Person());
        var first = (await reader.GetFromJsonAsync<JsonElement>($"/api/v1/leads/{leadId}", Ct)).GetProperty("consent");
        Assert.True(first.GetProperty("emailOptIn").GetBoolean());
        var granted = first.GetProperty("ledger")[0];
        Assert.Equal("I agree to receive the newsletter.", granted.GetProperty("wording").GetString());
        Assert.Equal("api", granted.GetProperty("source").GetString());

        var withdraw = await reader.PostAsJsonAsync($"/api/v1/leads/{leadId}/consent/withdraw", new { purpose = "email", source = "phone call" }, Ct);
        Assert.True(withdraw.StatusCode == HttpStatusCode.OK, await withdraw.Content.ReadAsStringAsync(Ct));
        Assert.Equal(HttpStatusCode.BadRequest, (await reader.PostAsJsonAsync($"/api/v1/leads/{leadId}/consent/withdraw", new { purpose = "fax" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await reader.PostAsJsonAsync($"/api/v1/leads/{Guid.NewGuid()}/consent/withdraw", new { purpose = "email" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await reader.PostAsJsonAsync($"/api/v1/leads/{leadId}/consent/grant", new { purpose = "email", wording = "x" }, Ct)).StatusCode);
        // Captured again with a new consent: a third entry.
        await CaptureAsync(ingest, new { email = Email, consent = new { doNotCall = true } });

        var after = (await reader.GetFromJsonAsync<JsonElement>($"/api/v1/leads/{leadId}", Ct)).GetProperty("consent");
        Assert.True(after.GetProperty("doNotEmail").GetBoolean());
        Assert.True(after.GetProperty("doNotCall").GetBoolean());
        var ledger = after.GetProperty("ledger");
        Assert.Equal(3, ledger.GetArrayLength());
        // The original grant is unchanged: wording and time.
        Assert.Equal(granted.GetRawText(), ledger[0].GetRawText());
        Assert.Equal("Withdrawn", ledger[1].GetProperty("action").GetString());
        Assert.Equal("Calls", ledger[2].GetProperty("purpose").GetString());

        var list = await reader.GetFromJsonAsync<JsonElement>("/api/v1/leads", Ct);
        Assert.True(list.GetProperty("items")[0].GetProperty("doNotEmail").GetBoolean());
    }

    [Fact]
    public async Task ErasureRefusesBadInputAndOtherRoles()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var ingest = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Ingest, Scopes.Read));
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Read));
        var leadId = await CaptureAsync(ingest, Person());

        var missing = await admin.PostAsJsonAsync($"/api/v1/leads/{leadId}/erase", new { blockRecapture = true }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.True((await missing.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("errors").TryGetProperty("reason", out _));
        var tooLong = await admin.PostAsJsonAsync($"/api/v1/leads/{leadId}/erase", new { reason = new string('x', 1001) }, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsJsonAsync($"/api/v1/leads/{Guid.NewGuid()}/erase", new { reason = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/v1/leads/{Guid.NewGuid()}/privacy-export", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/api/v1/privacy/subjects?email=not-an-email", Ct)).StatusCode);
        // Keys without the admin scope, and a sales rep's session: refused.
        Assert.Equal(HttpStatusCode.Forbidden, (await ingest.PostAsJsonAsync($"/api/v1/leads/{leadId}/erase", new { reason = "x" }, Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await ingest.GetAsync($"/api/v1/leads/{leadId}/privacy-export", Ct)).StatusCode);
        var (_, password) = await app.CreateUserAsync("rep@privacy.example", Roles.Sales);
        var rep = app.CreateBrowserClient();
        await TandemApp.SignInAsync(rep, "rep@privacy.example", password);
        Assert.Equal(HttpStatusCode.Forbidden, (await rep.GetAsync($"/api/v1/leads/{leadId}/privacy-export", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await rep.GetAsync($"/api/v1/privacy/subjects?email={Email}", Ct)).StatusCode);
        await DbAsync(app, async db =>
        {
            Assert.Equal(Email, (await db.Leads.AsNoTracking().SingleAsync(l => l.Id == leadId, Ct)).Email);
            Assert.Equal(0, await db.ErasureBlocks.CountAsync(Ct));
            return 0;
        });
    }

    private static string Here([System.Runtime.CompilerServices.CallerFilePath] string file = "") => file;

    [Fact]
    public async Task FormsWebhooksAndImportsRefuseAnErasedPersonWithoutKeepingTheirData()
    {
        await using var app = await TandemApp.CreateAsync(provider);
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var anonymous = app.CreateApiClient();
        const string hookEmail = "laura.petit@acme-industrie.fr";
        var sourceResponse = await admin.PostAsJsonAsync("/api/v1/webhook-sources", new { name = "Typeform", preset = "typeform" }, Ct);
        Assert.Equal(HttpStatusCode.Created, sourceResponse.StatusCode);
        var hookPath = (await sourceResponse.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("endpointPath").GetString()!;
        var payload = Tandem.Tests.Capture.CaptureChannelRulesTests.Payload("typeform.json", Path.Combine(Path.GetDirectoryName(Here())!, "..", "Capture", "x.cs"));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.PostAsync(hookPath, new StringContent(payload, System.Text.Encoding.UTF8, "application/json"), Ct)).StatusCode);
        // Without a phone: the webhook's sample person has one that Person() shares.
        var formLeadId = await CaptureAsync(admin, new { email = Email, firstName = First, lastName = Last });
        var hookLeadId = await DbAsync(app, db => db.Leads.Where(l => l.Email == hookEmail).Select(l => l.Id).SingleAsync(Ct));
        foreach (var id in new[] { formLeadId, hookLeadId })
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsJsonAsync($"/api/v1/leads/{id}/erase", new { reason = "Request", blockRecapture = true }, Ct)).StatusCode);

        // Webhook: 200 "blocked", no lead, no dead letter.
        var hook = await anonymous.PostAsync(hookPath, new StringContent(payload, System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, hook.StatusCode);
        Assert.Equal("blocked", (await hook.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("status").GetString());

        // Form: the visitor sees the usual answer, nothing is stored.
        var formResponse = await admin.PostAsJsonAsync("/api/v1/forms", new
        {
            name = "Newsletter",
            fields = new object[] { new { name = "email", label = "Email", required = true, type = "Email" }, new { name = "firstName", label = "First name" } },
            minFillSeconds = 3,
        }, Ct);
        Assert.Equal(HttpStatusCode.Created, formResponse.StatusCode);
        var formKey = (await formResponse.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("key").GetString();
        var submitted = await anonymous.PostAsync($"/f/{formKey}", new StringContent($$"""{"email":"{{Email}}","firstName":"{{First}}","_ts":6000}""",
            System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, submitted.StatusCode);

        // CSV import: the row fails with the reason and without its value; the other row is imported.
        var csv = new MultipartFormDataContent();
        var file = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes($"email,firstName\n{Email},{First}\nfresh.person@privacy.example,Fresh\n"));
        file.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("text/csv");
        csv.Add(file, "file", "list.csv");
        var started = await admin.PostAsync("/api/v1/imports", csv, Ct);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, await started.Content.ReadAsStringAsync(Ct));
        var jobId = (await started.Content.ReadFromJsonAsync<JsonElement>(Ct)).GetProperty("id").GetGuid();
        JsonElement job = default;
        for (var i = 0; i < 300; i++)
        {
            job = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/imports/{jobId}", Ct);
            if (job.GetProperty("status").GetString() is not ("Pending" or "Running"))
                break;
            await Task.Delay(100, Ct);
        }
        Assert.Equal("Completed", job.GetProperty("status").GetString());
        Assert.True(job.GetProperty("rowsFailed").GetInt32() == 1, job.GetRawText());
        Assert.Equal(1, job.GetProperty("rowsCreated").GetInt32());
        var errors = await admin.GetStringAsync($"/api/v1/imports/{jobId}/errors.csv", Ct);
        Assert.Contains("erased", errors, StringComparison.Ordinal);
        Assert.DoesNotContain(Email, errors, StringComparison.OrdinalIgnoreCase);

        await DbAsync(app, async db =>
        {
            Assert.Equal(0, await db.Leads.CountAsync(l => l.Email == Email || l.Email == hookEmail, Ct));
            Assert.Equal(0, await db.WebhookDeadLetters.CountAsync(Ct));
            Assert.Equal(1, await db.Leads.CountAsync(l => l.Email == "fresh.person@privacy.example", Ct));
            return 0;
        });
    }
}

public sealed class PrivacyOnSqlite() : PrivacyTests(DatabaseProvider.Sqlite);

public sealed class PrivacyOnPostgres() : PrivacyTests(DatabaseProvider.Postgres);
