using System.Net.Mail;
using PhoneNumbers;
using Tandem.Features.Campaigns;

namespace Tandem.Features.Capture;

/// <summary>Pure normalisation rules for identifiers and sources. No I/O.</summary>
public static class Normalize
{
    private static readonly PhoneNumberUtil Phones = PhoneNumberUtil.GetInstance();

    /// <summary>Trimmed, lower-cased email, or an error message when it is not a plausible address.</summary>
    public static (string? Value, string? Error) Email(string? raw)
    {
        var value = raw?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(value))
            return (null, null);
        if (value.Length > 254)
            return (null, "The email address is longer than 254 characters.");
        var at = value.LastIndexOf('@');
        if (at <= 0 || at == value.Length - 1 || value.Contains(' ', StringComparison.Ordinal) || !value[(at + 1)..].Contains('.', StringComparison.Ordinal))
            return (null, $"'{raw}' is not a valid email address.");
        if (!MailAddress.TryCreate(value, out var parsed) || parsed.Address != value)
            return (null, $"'{raw}' is not a valid email address.");
        return (value, null);
    }

    /// <summary>E.164 phone number. Numbers without a leading + are read in <paramref name="countryCode"/> (ISO 3166 alpha-2).</summary>
    public static (string? Value, string? Error) Phone(string? raw, string? countryCode)
    {
        var value = raw?.Trim();
        if (string.IsNullOrEmpty(value))
            return (null, null);
        if (value.Length > 40)
            return (null, "The phone number is longer than 40 characters.");
        if (value.StartsWith("00", StringComparison.Ordinal))
            value = "+" + value[2..];
        var region = value.StartsWith('+') ? null : countryCode?.Trim().ToUpperInvariant();
        if (!value.StartsWith('+') && string.IsNullOrEmpty(region))
            return (null, $"'{raw}' has no country code: use the +CC format or give the lead's country.");
        try
        {
            var number = Phones.Parse(value, region);
            if (!Phones.IsPossibleNumber(number))
                return (null, $"'{raw}' is not a valid phone number.");
            return (Phones.Format(number, PhoneNumberFormat.E164), null);
        }
        catch (NumberParseException)
        {
            return (null, $"'{raw}' is not a valid phone number.");
        }
    }

    /// <summary>
    /// ISO 3166 alpha-2 country code from an alpha-2 or alpha-3 code, or a country name in English, French or the language of any
    /// culture .NET knows (its native name), or a common alias (UK, USA, Angleterre…). Reserved and unknown codes (XX, ZZ) are errors.
    /// </summary>
    public static (string? Value, string? Error) Country(string? raw)
    {
        var value = raw?.Trim();
        if (string.IsNullOrEmpty(value))
            return (null, null);
        var key = CountryKey(value);
        if (Countries.Value.TryGetValue(key, out var code))
            return (code, null);
        if (value.Length is 2 or 3 && value.All(char.IsAsciiLetter))
            return (null, $"'{raw}' is not an assigned ISO 3166 country code.");
        return (null, $"'{raw}' is not a known country; use a country name or an ISO code such as FR.");
    }

    /// <summary>True for an assigned ISO 3166 alpha-2 code (as a default phone region, say).</summary>
    public static bool IsCountryCode(string? code) =>
        code is { Length: 2 } && Countries.Value.TryGetValue(code.ToLowerInvariant(), out var found) && found == code.ToUpperInvariant();

    /// <summary>Lower case, accents and punctuation removed, "&amp;" and "and"/"et" kept as words: "Côte d'Ivoire" → "cotedivoire".</summary>
    private static string CountryKey(string name)
    {
        var decomposed = name.Normalize(System.Text.NormalizationForm.FormD);
        var sb = new System.Text.StringBuilder(decomposed.Length);
        foreach (var c in decomposed)
            if (char.IsLetterOrDigit(c))
                sb.Append(char.ToLowerInvariant(c));
        return sb.ToString();
    }

    private static readonly Lazy<Dictionary<string, string>> Countries = new(BuildCountries);

    private static Dictionary<string, string> BuildCountries()
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        void Add(string name, string code)
        {
            var key = CountryKey(name);
            if (key.Length > 0)
                map.TryAdd(key, code);
        }
        // Aliases first: they win over a culture's name that happens to collide.
        foreach (var (name, code) in CountryAliases)
            Add(name, code);
        var regions = new List<System.Globalization.RegionInfo>();
        foreach (var culture in System.Globalization.CultureInfo.GetCultures(System.Globalization.CultureTypes.SpecificCultures))
        {
            System.Globalization.RegionInfo region;
            try
            {
                region = new System.Globalization.RegionInfo(culture.Name);
            }
            catch (ArgumentException)
            {
                continue;
            }
            var code = region.TwoLetterISORegionName;
            if (code.Length != 2 || !code.All(char.IsAsciiLetter))
                continue;
            regions.Add(region);
            Add(code, code);
            if (region.ThreeLetterISORegionName is { Length: 3 } alpha3 && alpha3.All(char.IsAsciiLetter))
                Add(alpha3, code);
        }
        foreach (var region in regions)
        {
            var code = region.TwoLetterISORegionName;
            Add(region.EnglishName, code);
            Add(region.NativeName, code);
            Add(region.DisplayName, code);
        }
        return map;
    }

    public static string? EmailDomain(string? email) =>
        email is null ? null : email[(email.LastIndexOf('@') + 1)..];

    /// <summary>The channel a touch belongs to, from its UTM medium/source and referrer (campaign channel wins when known).</summary>
    public static Channel Channel(string? utmSource, string? utmMedium, string? referrer)
    {
        var medium = utmMedium?.Trim().ToLowerInvariant() ?? "";
        var source = utmSource?.Trim().ToLowerInvariant() ?? "";
        var isSocialSource = SocialSources.Any(s => source.Contains(s, StringComparison.Ordinal));
        if (medium is "cpc" or "ppc" or "paid" or "paidsearch" or "paid-search" or "sem" or "display" or "cpm" or "paid_social" or "paidsocial" or "paid-social")
            return isSocialSource || medium.Contains("social", StringComparison.Ordinal) ? Campaigns.Channel.PaidSocial : Campaigns.Channel.PaidSearch;
        if (medium is "email" or "e-mail" or "newsletter")
            return Campaigns.Channel.Email;
        if (medium is "social" or "social-network" or "social-media" or "sm" || (medium.Length == 0 && isSocialSource))
            return Campaigns.Channel.OrganicSocial;
        if (medium is "organic" or "seo")
            return Campaigns.Channel.OrganicSearch;
        if (medium is "referral")
            return Campaigns.Channel.Referral;
        if (medium is "event" or "events" or "webinar" or "tradeshow" or "trade-show")
            return Campaigns.Channel.Events;
        if (medium is "partner" or "affiliate")
            return Campaigns.Channel.Partner;
        if (medium.Length > 0)
            return Campaigns.Channel.Other;
        if (Uri.TryCreate(referrer, UriKind.Absolute, out var uri))
        {
            var host = uri.Host.ToLowerInvariant();
            if (SearchEngines.Any(s => host.Contains(s, StringComparison.Ordinal)))
                return Campaigns.Channel.OrganicSearch;
            if (SocialSources.Any(s => host.Contains(s, StringComparison.Ordinal)))
                return Campaigns.Channel.OrganicSocial;
            return Campaigns.Channel.Referral;
        }
        return Campaigns.Channel.Direct;
    }

    private static readonly string[] SearchEngines = ["google.", "bing.", "duckduckgo.", "yahoo.", "qwant.", "ecosia.", "baidu.", "yandex."];
    private static readonly string[] SocialSources = ["facebook", "fb", "instagram", "linkedin", "twitter", "x.com", "t.co", "tiktok", "youtube", "meta", "reddit", "pinterest"];

    /// <summary>Aliases and French names of countries whose own cultures do not speak French (the native names come from .NET).</summary>
    private static readonly (string Name, string Code)[] CountryAliases =
    [
        ("UK", "GB"), ("U.K.", "GB"), ("Great Britain", "GB"), ("Britain", "GB"), ("England", "GB"), ("Scotland", "GB"), ("Wales", "GB"),
        ("Northern Ireland", "GB"), ("Angleterre", "GB"), ("Écosse", "GB"), ("Pays de Galles", "GB"), ("Royaume-Uni", "GB"), ("Grande-Bretagne", "GB"),
        ("USA", "US"), ("U.S.A.", "US"), ("U.S.", "US"), ("United States of America", "US"), ("America", "US"), ("États-Unis", "US"),
        ("États-Unis d'Amérique", "US"), ("Amérique", "US"),
        ("Allemagne", "DE"), ("Espagne", "ES"), ("Italie", "IT"), ("Pays-Bas", "NL"), ("Holland", "NL"), ("Hollande", "NL"), ("The Netherlands", "NL"),
        ("Irlande", "IE"), ("Autriche", "AT"), ("Suède", "SE"), ("Danemark", "DK"), ("Norvège", "NO"), ("Finlande", "FI"), ("Pologne", "PL"),
        ("Portugal", "PT"), ("Grèce", "GR"), ("République tchèque", "CZ"), ("Czech Republic", "CZ"), ("Tchéquie", "CZ"), ("Hongrie", "HU"),
        ("Roumanie", "RO"), ("Bulgarie", "BG"), ("Croatie", "HR"), ("Slovaquie", "SK"), ("Slovénie", "SI"), ("Lituanie", "LT"), ("Lettonie", "LV"),
        ("Estonie", "EE"), ("Islande", "IS"), ("Turquie", "TR"), ("Turkey", "TR"), ("Russie", "RU"), ("Russia", "RU"), ("Ukraine", "UA"),
        ("Maroc", "MA"), ("Tunisie", "TN"), ("Algérie", "DZ"), ("Sénégal", "SN"), ("Côte d'Ivoire", "CI"), ("Ivory Coast", "CI"), ("Cameroun", "CM"),
        ("Égypte", "EG"), ("Afrique du Sud", "ZA"), ("Nigéria", "NG"), ("Kenya", "KE"),
        ("Australie", "AU"), ("Nouvelle-Zélande", "NZ"), ("Japon", "JP"), ("Chine", "CN"), ("Inde", "IN"), ("Corée du Sud", "KR"), ("South Korea", "KR"),
        ("Korea", "KR"), ("Singapour", "SG"), ("Hong Kong", "HK"), ("Taïwan", "TW"), ("Indonésie", "ID"), ("Thaïlande", "TH"), ("Vietnam", "VN"),
        ("Viêt Nam", "VN"), ("Malaisie", "MY"), ("Philippines", "PH"), ("Israël", "IL"), ("Émirats arabes unis", "AE"), ("UAE", "AE"),
        ("Arabie saoudite", "SA"), ("Brésil", "BR"), ("Mexique", "MX"), ("Argentine", "AR"), ("Chili", "CL"), ("Colombie", "CO"), ("Pérou", "PE"),
        ("Canada", "CA"), ("Suisse", "CH"), ("Belgique", "BE"), ("Luxembourg", "LU"), ("Monaco", "MC"), ("France", "FR"),
    ];
}
