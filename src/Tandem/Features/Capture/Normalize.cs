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

    /// <summary>ISO 3166 alpha-2 country code from a code or a common English/French name.</summary>
    public static (string? Value, string? Error) Country(string? raw)
    {
        var value = raw?.Trim();
        if (string.IsNullOrEmpty(value))
            return (null, null);
        if (value.Length == 2 && char.IsAsciiLetter(value[0]) && char.IsAsciiLetter(value[1]))
            return (value.ToUpperInvariant(), null);
        return CountryNames.TryGetValue(value, out var code) ? (code, null) : (null, $"'{raw}' is not a known country; use a two-letter ISO code such as FR.");
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

    private static readonly Dictionary<string, string> CountryNames = new(StringComparer.OrdinalIgnoreCase)
    {
        ["France"] = "FR",
        ["Belgium"] = "BE",
        ["Belgique"] = "BE",
        ["Switzerland"] = "CH",
        ["Suisse"] = "CH",
        ["Germany"] = "DE",
        ["Allemagne"] = "DE",
        ["Spain"] = "ES",
        ["Espagne"] = "ES",
        ["Italy"] = "IT",
        ["Italie"] = "IT",
        ["United Kingdom"] = "GB",
        ["UK"] = "GB",
        ["Royaume-Uni"] = "GB",
        ["Great Britain"] = "GB",
        ["England"] = "GB",
        ["United States"] = "US",
        ["USA"] = "US",
        ["United States of America"] = "US",
        ["États-Unis"] = "US",
        ["Etats-Unis"] = "US",
        ["Canada"] = "CA",
        ["Netherlands"] = "NL",
        ["Pays-Bas"] = "NL",
        ["Luxembourg"] = "LU",
        ["Portugal"] = "PT",
        ["Ireland"] = "IE",
        ["Irlande"] = "IE",
        ["Austria"] = "AT",
        ["Autriche"] = "AT",
        ["Sweden"] = "SE",
        ["Suède"] = "SE",
        ["Denmark"] = "DK",
        ["Danemark"] = "DK",
        ["Norway"] = "NO",
        ["Norvège"] = "NO",
        ["Finland"] = "FI",
        ["Finlande"] = "FI",
        ["Poland"] = "PL",
        ["Pologne"] = "PL",
        ["Morocco"] = "MA",
        ["Maroc"] = "MA",
        ["Tunisia"] = "TN",
        ["Tunisie"] = "TN",
        ["Algeria"] = "DZ",
        ["Algérie"] = "DZ",
        ["Senegal"] = "SN",
        ["Sénégal"] = "SN",
        ["Côte d'Ivoire"] = "CI",
        ["Ivory Coast"] = "CI",
        ["Australia"] = "AU",
        ["Australie"] = "AU",
        ["Japan"] = "JP",
        ["Japon"] = "JP",
        ["China"] = "CN",
        ["Chine"] = "CN",
        ["India"] = "IN",
        ["Inde"] = "IN",
        ["Brazil"] = "BR",
        ["Brésil"] = "BR",
        ["Mexico"] = "MX",
        ["Mexique"] = "MX",
    };
}
