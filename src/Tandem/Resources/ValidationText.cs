using System.Globalization;
using System.Resources;

namespace Tandem.Resources;

/// <summary>
/// Validation messages for DataAnnotations (<c>ErrorMessageResourceType = typeof(ValidationText)</c>), read from
/// the same shared resources as the UI, in the current UI culture.
/// </summary>
public static class ValidationText
{
    private static readonly ResourceManager Strings = new("Tandem.Resources.SharedResource", typeof(ValidationText).Assembly);

    private static string Get(string key) => Strings.GetString(key, CultureInfo.CurrentUICulture) ?? key;

    public static string EmailRequired => Get("Validation.EmailRequired");
    public static string EmailInvalid => Get("Validation.EmailInvalid");
    public static string PasswordRequired => Get("Validation.PasswordRequired");
    public static string NameRequired => Get("Validation.NameRequired");
    public static string PasswordChoose => Get("Validation.PasswordChoose");
    public static string PasswordMin => Get("Validation.PasswordMin");
    public static string Max200 => Get("Validation.Max200");
    public static string Max254 => Get("Validation.Max254");
    public static string PasswordMismatch => Get("Validation.PasswordMismatch");
}
