using Microsoft.AspNetCore.Identity;

namespace Tandem.Features.Platform;

/// <summary>A person who signs in to Tandem: marketer, rep, manager or admin.</summary>
public sealed class AppUser : IdentityUser<Guid>
{
    public AppUser()
    {
        Id = Ids.New();
        SecurityStamp = Guid.NewGuid().ToString("N");
    }

    public string DisplayName { get; set; } = "";
    public bool IsActive { get; set; } = true;
    public string TimeZone { get; set; } = "UTC";
    /// <summary>The user's language ("en", "fr"); null follows the browser. Also the language of their emails.</summary>
    public string? Language { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? DeactivatedAt { get; set; }
}

/// <summary>Single-row marker written in the same transaction as the first admin, so two concurrent setups cannot both succeed.</summary>
public sealed class Installation
{
    public int Id { get; set; } = 1;
    public DateTimeOffset InstalledAt { get; set; }
    public Guid FirstAdminId { get; set; }
}
