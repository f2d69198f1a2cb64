using Microsoft.EntityFrameworkCore;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Leads;

namespace Tandem.Features.Capture.Forms;

public enum FormFieldType
{
    Text,
    Email,
    Phone,
    Number,
    TextArea,
    Checkbox,
}

/// <summary>
/// What a visitor means by sending the form. It sets the activity type the qualification rules see: a demo request can make an
/// MQL on its own, a newsletter sign-up cannot.
/// </summary>
public enum FormIntent
{
    /// <summary>Contact sales or request a demo: recorded as a <see cref="ActivityType.DemoRequest"/>.</summary>
    ContactSales,
    ContentDownload,
    WebinarRegistration,
    Newsletter,
    /// <summary>Anything else: a plain <see cref="ActivityType.FormSubmission"/> (the behaviour of forms made before intents).</summary>
    Other,
}

public static class FormIntents
{
    /// <summary>The activity a submission of a form with this intent records.</summary>
    public static ActivityType ActivityOf(FormIntent intent) => intent switch
    {
        FormIntent.ContactSales => ActivityType.DemoRequest,
        FormIntent.ContentDownload => ActivityType.ContentDownload,
        FormIntent.WebinarRegistration => ActivityType.Webinar,
        _ => ActivityType.FormSubmission,
    };
}

/// <summary>One input of a form: <see cref="Name"/> is a lead field (<c>email</c>, <c>firstName</c>…) or a custom field key.</summary>
public sealed record FormField(string Name, string Label, bool Required = false, FormFieldType Type = FormFieldType.Text);

/// <summary>A web form embedded on a marketing site; submissions post to <c>/f/{Key}</c> and become leads.</summary>
public sealed class LeadForm
{
    public Guid Id { get; set; } = Ids.New();
    /// <summary>Random, URL-safe, unique; public (it is in the page's HTML).</summary>
    public required string Key { get; set; }
    public required string Name { get; set; }
    public Guid? CampaignId { get; set; }
    public List<FormField> Fields { get; set; } = [];
    /// <summary>Wording next to the consent checkbox; when set, ticking it records an email opt-in with this text.</summary>
    public string? ConsentText { get; set; }
    /// <summary>Exact origins (<c>https://www.acme.example</c>) allowed to post; empty allows any origin.</summary>
    public List<string> AllowedOrigins { get; set; } = [];
    public string? RedirectUrl { get; set; }
    /// <summary>Sets the activity type a submission records (see <see cref="FormIntents.ActivityOf"/>).</summary>
    public FormIntent Intent { get; set; } = FormIntent.Other;
    public int MinFillSeconds { get; set; } = 3;
    /// <summary>Region (ISO alpha-2) of phone numbers posted without a country code; null uses the workspace default.</summary>
    public string? PhoneRegion { get; set; }
    public string HoneypotField { get; set; } = "website";
    public bool Active { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public string? CreatedBy { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }
}

public static class FormModel
{
    public static void Configure(ModelBuilder builder)
    {
        builder.Entity<LeadForm>(e =>
        {
            e.Property(f => f.Key).HasMaxLength(40);
            e.Property(f => f.Name).HasMaxLength(200);
            e.Property(f => f.ConsentText).HasMaxLength(2000);
            e.Property(f => f.RedirectUrl).HasMaxLength(2048);
            e.Property(f => f.HoneypotField).HasMaxLength(50);
            e.Property(f => f.PhoneRegion).HasMaxLength(2);
            e.Property(f => f.Intent).HasConversion<string>().HasMaxLength(32);
            e.Property(f => f.CreatedBy).HasMaxLength(256);
            e.Property(f => f.UpdatedBy).HasMaxLength(256);
            e.Property(f => f.Fields).HasConversion(JsonConversion.Converter<List<FormField>>(), JsonConversion.Comparer<List<FormField>>()).HasMaxLength(16000);
            e.Property(f => f.AllowedOrigins).HasConversion(JsonConversion.Converter<List<string>>(), JsonConversion.Comparer<List<string>>()).HasMaxLength(4000);
            e.HasIndex(f => f.Key).IsUnique();
            e.HasOne<Campaign>().WithMany().HasForeignKey(f => f.CampaignId).OnDelete(DeleteBehavior.SetNull);
        });
    }
}
