using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Qualification;
using Tandem.Features.Revenue;

namespace Tandem.Data;

/// <summary>
/// The one database of Tandem. Provider-specific subclasses (<see cref="SqliteTandemDb"/>,
/// <see cref="PostgresTandemDb"/>) exist so each provider keeps its own migration set.
/// </summary>
public abstract class TandemDb(DbContextOptions options) : IdentityDbContext<AppUser, IdentityRole<Guid>, Guid>(options), IDataProtectionKeyContext
{
    /// <summary>ASP.NET Core Data Protection keys (cookies, antiforgery, encrypted secrets), shared by every instance.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<Installation> Installations => Set<Installation>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();
    public DbSet<Lead> Leads => Set<Lead>();
    public DbSet<Account> Accounts => Set<Account>();
    public DbSet<Activity> Activities => Set<Activity>();
    public DbSet<StageTransition> StageTransitions => Set<StageTransition>();
    /// <summary>Trigger-maintained (decision 021): never written by the application.</summary>
    public DbSet<LeadMilestone> LeadMilestones => Set<LeadMilestone>();
    /// <summary>Trigger-maintained (decision 021): never written by the application.</summary>
    public DbSet<CampaignVerdict> CampaignVerdicts => Set<CampaignVerdict>();
    public DbSet<ConsentEntry> ConsentEntries => Set<ConsentEntry>();
    public DbSet<ErasureBlock> ErasureBlocks => Set<ErasureBlock>();
    public DbSet<Campaign> Campaigns => Set<Campaign>();
    public DbSet<CampaignSpend> CampaignSpend => Set<CampaignSpend>();
    public DbSet<Persona> Personas => Set<Persona>();
    public DbSet<Deal> Deals => Set<Deal>();
    public DbSet<DealStageChange> DealStageChanges => Set<DealStageChange>();
    public DbSet<ExchangeRate> ExchangeRates => Set<ExchangeRate>();
    public DbSet<RevenueGoal> RevenueGoals => Set<RevenueGoal>();
    public DbSet<SalesCost> SalesCosts => Set<SalesCost>();
    public DbSet<RevenueSettings> RevenueSettings => Set<RevenueSettings>();
    public DbSet<CustomFieldDefinition> CustomFieldDefinitions => Set<CustomFieldDefinition>();
    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();
    public DbSet<Features.Capture.Forms.LeadForm> LeadForms => Set<Features.Capture.Forms.LeadForm>();
    public DbSet<Features.Capture.Webhooks.WebhookSource> WebhookSources => Set<Features.Capture.Webhooks.WebhookSource>();
    public DbSet<Features.Capture.Webhooks.WebhookDeadLetter> WebhookDeadLetters => Set<Features.Capture.Webhooks.WebhookDeadLetter>();
    public DbSet<Features.Capture.CsvImport.ImportJob> ImportJobs => Set<Features.Capture.CsvImport.ImportJob>();
    public DbSet<Features.Capture.CsvImport.ImportRowError> ImportRowErrors => Set<Features.Capture.CsvImport.ImportRowError>();
    public DbSet<QualificationVersion> QualificationVersions => Set<QualificationVersion>();
    public DbSet<VersionApproval> VersionApprovals => Set<VersionApproval>();
    public DbSet<QualificationJob> QualificationJobs => Set<QualificationJob>();
    public DbSet<BantAssessment> BantAssessments => Set<BantAssessment>();
    public DbSet<Features.Handoff.Assignment> Assignments => Set<Features.Handoff.Assignment>();
    public DbSet<Features.Handoff.SlaTimer> SlaTimers => Set<Features.Handoff.SlaTimer>();
    public DbSet<Features.Work.Note> Notes => Set<Features.Work.Note>();
    public DbSet<Features.Work.TaskItem> Tasks => Set<Features.Work.TaskItem>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // Enums are stored by name: readable in SQL, stable when members are reordered.
        configurationBuilder.Properties<Channel>().HaveConversion<string>().HaveMaxLength(32);
        configurationBuilder.Properties<CampaignStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<LifecycleStage>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<WorkStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<ActivityType>().HaveConversion<string>().HaveMaxLength(32);
        configurationBuilder.Properties<DealStatus>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<CustomFieldType>().HaveConversion<string>().HaveMaxLength(16);
        configurationBuilder.Properties<decimal>().HavePrecision(18, 2);
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        CaptureChannels.ConfigureModel(builder);
        ConsentModel.Configure(builder);
        Features.Capture.CsvImport.ImportJob.Configure(builder);
        Features.Capture.CaptureSettings.Configure(builder);
        QualificationModel.Configure(builder);
        Features.Platform.Notifications.NotificationModel.Configure(builder);
        Features.Handoff.HandoffModel.Configure(builder);
        Features.Feedback.FeedbackModel.Configure(builder);
        Features.Platform.OutboundWebhooks.OutboundWebhookModel.Configure(builder);
        Features.Revenue.RevenueModel.Configure(builder);
        LeadRollups.Configure(builder);
        Features.Work.WorkModel.Configure(builder);

        builder.Entity<AppUser>(e =>
        {
            e.Property(u => u.DisplayName).HasMaxLength(200);
            e.Property(u => u.Language).HasMaxLength(8);
            e.Property(u => u.TimeZone).HasMaxLength(64);
        });

        builder.Entity<Installation>(e =>
        {
            e.HasKey(i => i.Id);
            e.Property(i => i.Id).ValueGeneratedNever();
        });

        builder.Entity<ApiKey>(e =>
        {
            e.Property(k => k.Name).HasMaxLength(100);
            e.Property(k => k.Prefix).HasMaxLength(16);
            e.Property(k => k.SecretHash).HasMaxLength(32);
            e.HasIndex(k => k.Prefix).IsUnique();
        });

        builder.Entity<AuditEntry>(e =>
        {
            e.Property(a => a.Actor).HasMaxLength(256);
            e.Property(a => a.Action).HasMaxLength(64);
            e.Property(a => a.EntityType).HasMaxLength(64);
            e.Property(a => a.EntityId).HasMaxLength(64);
            e.Property(a => a.Details).HasMaxLength(4000);
            e.HasIndex(a => a.At);
        });

        builder.Entity<Lead>(e =>
        {
            e.Property(l => l.Email).HasMaxLength(254);
            e.Property(l => l.Phone).HasMaxLength(20);
            e.Property(l => l.ExternalSystem).HasMaxLength(50);
            e.Property(l => l.ExternalId).HasMaxLength(100);
            e.Property(l => l.FirstName).HasMaxLength(100);
            e.Property(l => l.LastName).HasMaxLength(100);
            e.Property(l => l.JobTitle).HasMaxLength(150);
            e.Property(l => l.Company).HasMaxLength(200);
            e.Property(l => l.Industry).HasMaxLength(100);
            e.Property(l => l.Country).HasMaxLength(2);
            e.Property(l => l.City).HasMaxLength(100);
            e.Property(l => l.Language).HasMaxLength(10);
            e.Property(l => l.FirstSource).HasMaxLength(100);
            e.Property(l => l.FirstMedium).HasMaxLength(100);
            e.Property(l => l.LatestSource).HasMaxLength(100);
            e.Property(l => l.LatestMedium).HasMaxLength(100);
            e.Property(l => l.FirstReferrer).HasMaxLength(2048);
            e.Property(l => l.FirstLandingPage).HasMaxLength(2048);
            e.Property(l => l.LatestReferrer).HasMaxLength(2048);
            e.Property(l => l.LatestLandingPage).HasMaxLength(2048);
            e.Property(l => l.ConsentSource).HasMaxLength(200);
            e.Property(l => l.CustomFields).HasMaxLength(16000);
            e.Ignore(l => l.DisplayName);
            e.Ignore(l => l.IsErased);
            e.Property(l => l.ErasedBy).HasMaxLength(256);
            // One person = one lead: each identifier is unique where present.
            // Indexes on columns that are often empty at capture (no phone, no owner, no persona yet) are partial: a new lead adds no entry
            // for an empty value, which nobody looks up, and every entry is work on the capture path (decision 009).
            e.HasIndex(l => l.Email).IsUnique().HasFilter(NotNull(nameof(Lead.Email)));
            e.HasIndex(l => l.Phone).IsUnique().HasFilter(NotNull(nameof(Lead.Phone)));
            // ExternalId first: capture looks leads up by the id alone, then checks the system.
            e.HasIndex(l => new { l.ExternalId, l.ExternalSystem }).IsUnique().HasFilter(NotNull(nameof(Lead.ExternalId)));
            e.HasIndex(l => l.CreatedAt);
            e.HasIndex(l => new { l.Stage, l.CreatedAt });
            e.HasIndex(l => l.OwnerId).HasFilter(NotNull(nameof(Lead.OwnerId)));
            e.HasIndex(l => l.AccountId).HasFilter(NotNull(nameof(Lead.AccountId)));
            e.HasIndex(l => l.FirstCampaignId).HasFilter(NotNull(nameof(Lead.FirstCampaignId)));
            e.HasIndex(l => l.LatestCampaignId).HasFilter(NotNull(nameof(Lead.LatestCampaignId)));
            e.HasIndex(l => l.PersonaId).HasFilter(NotNull(nameof(Lead.PersonaId)));
            // No index on FitScore/EngagementScore: with none, a full rescore's updates are HOT (heap-only) on PostgreSQL and touch no
            // index at all; sorting the list by score is a top-N sort instead (decision 008).
            e.HasIndex(l => new { l.FirstChannel, l.CreatedAt });
            // lower(LastName) and lower(Company) expression indexes for prefix search are created in the migrations' SQL.
            // No foreign key to Accounts: accounts are never deleted, and on PostgreSQL the per-row check locked each company's
            // account row in every import writer at once (decision 009).
            e.HasOne<AppUser>().WithMany().HasForeignKey(l => l.OwnerId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Persona>().WithMany().HasForeignKey(l => l.PersonaId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Campaign>().WithMany().HasForeignKey(l => l.FirstCampaignId).OnDelete(DeleteBehavior.SetNull);
            e.HasOne<Campaign>().WithMany().HasForeignKey(l => l.LatestCampaignId).OnDelete(DeleteBehavior.SetNull);
        });

        builder.Entity<Account>(e =>
        {
            e.Property(a => a.Name).HasMaxLength(200);
            e.Property(a => a.Domain).HasMaxLength(253);
            e.Property(a => a.Industry).HasMaxLength(100);
            e.Property(a => a.Country).HasMaxLength(2);
            e.HasIndex(a => a.Domain).IsUnique();
            // lower(Name) for accounts without a domain (capture matches free-mail leads by company) is created in migration SQL.
            e.HasOne<AppUser>().WithMany().HasForeignKey(a => a.OwnerId).OnDelete(DeleteBehavior.SetNull);
        });

        builder.Entity<Activity>(e =>
        {
            e.Property(a => a.UtmSource).HasMaxLength(100);
            e.Property(a => a.UtmMedium).HasMaxLength(100);
            e.Property(a => a.UtmCampaign).HasMaxLength(200);
            e.Property(a => a.UtmTerm).HasMaxLength(200);
            e.Property(a => a.UtmContent).HasMaxLength(200);
            e.Property(a => a.Referrer).HasMaxLength(2048);
            e.Property(a => a.Source).HasMaxLength(120);
            e.Property(a => a.Url).HasMaxLength(2048);
            e.Property(a => a.Outcome).HasMaxLength(100);
            e.Ignore(a => a.IsMarketingTouch);
            e.HasIndex(a => new { a.LeadId, a.OccurredAt });
            e.HasIndex(a => new { a.CampaignId, a.OccurredAt }).HasFilter(NotNull(nameof(Activity.CampaignId)));
            // No foreign key to Leads (nor on stage transitions): the per-row check was a quarter of PostgreSQL's work in a capture.
            // Integrity is kept by the writers instead (decision 009): every transaction that adds an activity or a transition to an
            // existing lead also updates that lead, and a merge locks both leads before it moves their history and deletes one.
            e.HasOne<Campaign>().WithMany().HasForeignKey(a => a.CampaignId).OnDelete(DeleteBehavior.SetNull);
        });

        builder.Entity<StageTransition>(e =>
        {
            e.Property(t => t.ByRule).HasMaxLength(200);
            e.Property(t => t.Reason).HasMaxLength(1000);
            e.HasIndex(t => new { t.LeadId, t.At });
            e.HasIndex(t => new { t.To, t.At });
        });

        builder.Entity<Campaign>(e =>
        {
            e.Property(c => c.Name).HasMaxLength(200);
            e.Property(c => c.Currency).HasMaxLength(3).IsFixedLength();
            e.Property(c => c.UtmCampaign).HasMaxLength(200);
            e.HasIndex(c => c.UtmCampaign);
            e.HasMany(c => c.Spend).WithOne().HasForeignKey(s => s.CampaignId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<AppUser>().WithMany().HasForeignKey(c => c.OwnerId).OnDelete(DeleteBehavior.SetNull);
        });

        builder.Entity<CampaignSpend>(e =>
        {
            e.Property(s => s.Note).HasMaxLength(500);
            e.HasIndex(s => new { s.CampaignId, s.On });
        });

        builder.Entity<Persona>(e =>
        {
            e.Property(p => p.Name).HasMaxLength(100);
            e.Property(p => p.Description).HasMaxLength(2000);
            e.Property(p => p.Pains).HasMaxLength(2000);
            e.Property(p => p.Objections).HasMaxLength(2000);
            e.HasIndex(p => p.Name).IsUnique();
        });

        builder.Entity<CustomFieldDefinition>(e =>
        {
            e.Property(c => c.Key).HasMaxLength(50);
            e.Property(c => c.Label).HasMaxLength(100);
            e.HasIndex(c => c.Key).IsUnique();
        });

        builder.Entity<IdempotencyRecord>(e =>
        {
            e.Property(r => r.Key).HasMaxLength(300);
            e.Property(r => r.RequestHash).HasMaxLength(32);
            e.Property(r => r.Location).HasMaxLength(300);
            e.HasIndex(r => r.Key).IsUnique();
            e.HasIndex(r => r.ExpiresAt);
        });
    }

    /// <summary>Filter of a partial index: the same SQL on PostgreSQL and SQLite.</summary>
    private static string NotNull(string column) => $"\"{column}\" IS NOT NULL";
}

/// <summary>SQLite flavour: stores times as UTC ticks so they sort and compare in SQL.</summary>
public sealed class SqliteTandemDb(DbContextOptions<SqliteTandemDb> options) : TandemDb(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        base.ConfigureConventions(configurationBuilder);
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
        configurationBuilder.Properties<DateTimeOffset?>().HaveConversion<UtcTicksConverter>();
        // SQLite has no decimal type: money is stored as integer cents so it sorts, compares and sums correctly in SQL.
        configurationBuilder.Properties<decimal>().HaveConversion<CentsConverter>();
        configurationBuilder.Properties<decimal?>().HaveConversion<CentsConverter>();
    }

    protected override void OnModelCreating(ModelBuilder builder)
    {
        base.OnModelCreating(builder);
        // Rates (exchange rates, conversion rates, margins) need more than cents: a decimal declared with a scale above 2 is stored
        // as an integer scaled by 10^scale instead.
        foreach (var property in builder.Model.GetEntityTypes().SelectMany(t => t.GetProperties()))
        {
            if (property.ClrType.IsAssignableTo(typeof(decimal?)) && property.GetScale() is > 2 and var scale)
            {
                property.SetValueConverter(new ScaledConverter(scale));
            }
        }
    }

    private sealed class ScaledConverter(int scale) : ValueConverter<decimal, long>(
        v => (long)Math.Round(v * Pow10(scale), MidpointRounding.ToEven),
        v => v / Pow10(scale))
    {
        private static decimal Pow10(int n)
        {
            var result = 1m;
            for (var i = 0; i < n; i++)
            {
                result *= 10m;
            }

            return result;
        }
    }

    private sealed class CentsConverter() : ValueConverter<decimal, long>(
        v => (long)Math.Round(v * 100m, MidpointRounding.ToEven),
        v => v / 100m);

    private sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(
        v => v.UtcTicks,
        v => new DateTimeOffset(v, TimeSpan.Zero));
}

/// <summary>PostgreSQL flavour: native <c>timestamptz</c>, <c>uuid</c> and <c>numeric</c>.</summary>
public sealed class PostgresTandemDb(DbContextOptions<PostgresTandemDb> options) : TandemDb(options);
