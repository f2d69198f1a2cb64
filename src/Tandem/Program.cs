using Microsoft.AspNetCore.Localization;
using MudBlazor.Services;
using Scalar.AspNetCore;
using Tandem;
using Tandem.Components;
using Tandem.Data;
using Tandem.Features.Campaigns;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Demo;
using Tandem.Features.Feedback;
using Tandem.Features.Handoff;
using Tandem.Features.Leads;
using Tandem.Features.Platform;
using Tandem.Features.Platform.Notifications;
using Tandem.Features.Platform.OutboundWebhooks;
using Tandem.Features.Privacy;
using Tandem.Features.Qualification;
using Tandem.Features.Revenue;
using Tandem.Features.Work;

var launch = LaunchArguments.Parse(args);
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = launch.HostArgs,
    ContentRootPath = LaunchArguments.ContentRoot(launch.HostArgs, Environment.GetEnvironmentVariable, AppContext.BaseDirectory),
});

if (!builder.Environment.IsDevelopment() || launch.IsAdmin)
{
    builder.Logging.ClearProviders();
    if (launch.IsAdmin)
        builder.Logging.AddSimpleConsole().SetMinimumLevel(LogLevel.Warning);
    else
        builder.Logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
}
if (builder.Configuration["urls"] is null && builder.Configuration["ASPNETCORE_URLS"] is null && builder.Configuration["Kestrel:Endpoints:Http:Url"] is null)
    builder.WebHost.UseUrls("http://localhost:5080");
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(builder.Configuration.GetValue("Tandem:ShutdownTimeoutSeconds", 30)));

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddTandemDatabase(builder.Configuration);
builder.Services.AddTandemAuth(builder.Configuration);
builder.Services.AddTandemReverseProxy(builder.Configuration);
builder.Services.AddTandemApiConventions(builder.Configuration);
builder.Services.AddScoped<UserAdmin>();
builder.Services.AddProfiles();
builder.Services.AddScoped<SetupService>();
builder.Services.AddSingleton<SetupState>();
builder.Services.AddScoped<DemoSeeder>();
builder.Services.AddSingleton<CaptureCatalog>();
builder.Services.AddSingleton<AccountDirectory>();
builder.Services.AddSingleton<CaptureQueue>();
builder.Services.AddQualification();
builder.Services.AddScoped<CaptureService>();
builder.Services.AddScoped<Tandem.Features.Privacy.PrivacyService>();
Tandem.Features.Leads.ErasureHash.Configure(builder.Configuration["Tandem:Privacy:HashKey"]);
builder.Services.AddScoped<ActivityCapture>();
builder.Services.AddScoped<IdempotencyStore>();
builder.Services.AddCaptureChannels(builder.Configuration);
builder.Services.AddCsvImport(builder.Configuration);
builder.Services.AddNotifications(builder.Configuration);
builder.Services.AddOutboundWebhooks(builder.Configuration);
builder.Services.AddHandoff(builder.Configuration);
builder.Services.AddFeedback(builder.Configuration);
builder.Services.AddRevenue();
builder.Services.AddWork();
builder.Services.AddGoals();
builder.Services.AddWeeklyReport(builder.Configuration);
builder.Services.AddLocalization(o => o.ResourcesPath = "Resources");
builder.Services.AddOpenApi(o => o.AddDocumentTransformer<ApiKeySecurityTransformer>());
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddCascadingAuthenticationState();
builder.Services.AddMudServices();
builder.Services.AddHttpContextAccessor();

var app = builder.Build();

if (launch.IsAdmin)
    return await AdminCli.RunAsync(app.Services, launch.AdminArgs, Console.Out, Console.Error);

if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DatabaseOptions>>().Value.MigrateOnStart)
    await app.Services.MigrateAsync();
if (launch.Demo)
    await app.Services.SeedDemoAsync(Console.Out);

app.UseForwardedHeaders();
app.UseExceptionHandler();
app.UseWhen(ctx => ctx.Request.Path.StartsWithSegments("/api"), api => api.UseStatusCodePages());
app.UseApiBodyLimit();
app.UseCharsetCheck();
app.UseRateLimiter();
app.UseSetupRedirect();
app.UseAuthentication();
// After authentication: a signed-in user's own language (their profile) comes first, then the cookie, then the browser's.
app.UseRequestLocalization(o =>
{
    string[] cultures = ["en", "fr"];
    o.SetDefaultCulture("en").AddSupportedCultures(cultures).AddSupportedUICultures(cultures);
    o.RequestCultureProviders = [new UserLanguageCultureProvider(), new CookieRequestCultureProvider(), new AcceptLanguageHeaderRequestCultureProvider()];
});
app.UseAuthorization();
app.UseAntiforgery();

app.MapStaticAssets();
app.MapOperationsEndpoints();
app.MapCultureEndpoint();
app.MapAccountEndpoints();
app.MapOpenApi().AllowAnonymous();
app.MapScalarApiReference("/docs/api", o => o
    .WithTitle("Tandem API")
    .WithOpenApiRoutePattern("/openapi/{documentName}.json")
    .DisableDefaultFonts()).AllowAnonymous();

var api = app.MapGroup("/api/v1").RejectUndefinedEnumArguments();
api.MapPlatformApi();
api.MapLeadsApi();
api.MapPrivacyApi();
api.MapCaptureApi();
api.MapImportsApi();
api.MapCaptureSettingsApi();
api.MapCampaignsApi();
api.MapQualificationApi();
api.MapNotificationsApi();
api.MapProfileApi();
api.MapOutboundWebhooksApi();
api.MapHandoffApi();
api.MapFeedbackApi();
api.MapRevenueReportsApi();
api.MapCampaignResultsApi();
api.MapGoalsApi();
api.MapRevenueApi();
api.MapWorkApi();
app.MapCaptureChannels(api);

app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

await app.RunAsync();
return 0;

/// <summary>Exposed for WebApplicationFactory in the tests.</summary>
public partial class Program;
