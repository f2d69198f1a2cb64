using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Tandem.Data;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture;

/// <summary>
/// Workspace-wide capture settings (one row, id 1). The default phone region reads numbers written without a country code
/// (<c>06 12 34 56 78</c>) when neither the lead's country nor the import, form or webhook source gives one.
/// </summary>
public sealed class CaptureSettings
{
    public int Id { get; set; } = 1;
    /// <summary>ISO 3166 alpha-2 region, or null (numbers without a country code are then warnings).</summary>
    public string? DefaultPhoneRegion { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public string? UpdatedBy { get; set; }

    public static void Configure(ModelBuilder builder) =>
        builder.Entity<CaptureSettings>(e =>
        {
            e.ToTable("CaptureSettings");
            e.Property(s => s.Id).ValueGeneratedNever();
            e.Property(s => s.DefaultPhoneRegion).HasMaxLength(2);
            e.Property(s => s.UpdatedBy).HasMaxLength(256);
        });
}

/// <summary>What <c>GET/PUT /api/v1/capture/settings</c> carry.</summary>
public sealed record CaptureSettingsDto(string? DefaultPhoneRegion);

public static class CaptureSettingsApi
{
    /// <summary>A phone region as given by a client: null/empty for none, else an assigned ISO alpha-2 code (upper-cased).</summary>
    public static string? PhoneRegion(string? value, FieldErrors errors, string field)
    {
        var v = value?.Trim();
        if (string.IsNullOrEmpty(v))
            return null;
        if (!Normalize.IsCountryCode(v))
        {
            errors.Add(field, $"'{value}' is not an ISO 3166 two-letter country code (e.g. FR, GB, US).");
            return null;
        }
        return v.ToUpperInvariant();
    }

    public static async Task<CaptureSettingsDto> GetAsync(TandemDb db, CancellationToken ct) =>
        new((await db.Set<CaptureSettings>().AsNoTracking().FirstOrDefaultAsync(s => s.Id == 1, ct))?.DefaultPhoneRegion);

    public static async Task<(CaptureSettingsDto? Saved, Dictionary<string, string[]>? Errors)> SaveAsync(TandemDb db, CaptureCatalog catalog,
        CaptureSettingsDto input, string actor, TimeProvider clock, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var region = PhoneRegion(input.DefaultPhoneRegion, errors, "defaultPhoneRegion");
        if (errors.Any)
            return (null, errors.ToDictionary());
        var row = await db.Set<CaptureSettings>().FirstOrDefaultAsync(s => s.Id == 1, ct);
        if (row is null)
            db.Set<CaptureSettings>().Add(row = new CaptureSettings());
        row.DefaultPhoneRegion = region;
        row.UpdatedAt = clock.GetUtcNow();
        row.UpdatedBy = actor.Length > 256 ? actor[..256] : actor;
        await db.SaveChangesAsync(ct);
        catalog.Invalidate();
        return (new CaptureSettingsDto(region), null);
    }

    public static RouteGroupBuilder MapCaptureSettingsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/capture/settings").RequireAuthorization(Policies.ScopeAdmin).WithTags("Capture");
        group.MapGet("/", async (TandemDb db, CancellationToken ct) => TypedResults.Ok(await GetAsync(db, ct)))
            .WithSummary("Workspace capture settings: the default region for phone numbers written without a country code.");
        group.MapPut("/", PutAsync)
            .WithSummary("Set the default phone region (ISO alpha-2, e.g. FR; null for none). Imports, forms and webhook sources may override it.");
        return api;
    }

    private static async Task<Results<Ok<CaptureSettingsDto>, ValidationProblem>> PutAsync(CaptureSettingsDto input, TandemDb db, CaptureCatalog catalog,
        TimeProvider clock, ClaimsPrincipal who, CancellationToken ct)
    {
        var (saved, errors) = await SaveAsync(db, catalog, input, PlatformApi.Actor(who).Actor, clock, ct);
        return saved is null ? TypedResults.ValidationProblem(errors!) : TypedResults.Ok(saved);
    }
}
