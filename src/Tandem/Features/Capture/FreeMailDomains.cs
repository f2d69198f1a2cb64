namespace Tandem.Features.Capture;

/// <summary>
/// Consumer email domains: an address here never identifies a company (no account is created from it), and
/// fit scoring may treat it as a negative signal.
/// </summary>
public static class FreeMailDomains
{
    private static readonly HashSet<string> Domains = new(StringComparer.OrdinalIgnoreCase)
    {
        "gmail.com", "googlemail.com", "yahoo.com", "yahoo.fr", "yahoo.co.uk", "yahoo.de", "yahoo.es", "yahoo.it", "ymail.com",
        "hotmail.com", "hotmail.fr", "hotmail.co.uk", "hotmail.de", "hotmail.es", "hotmail.it", "outlook.com", "outlook.fr",
        "live.com", "live.fr", "live.co.uk", "msn.com", "windowslive.com", "aol.com", "aol.fr", "icloud.com", "me.com", "mac.com",
        "proton.me", "protonmail.com", "protonmail.ch", "pm.me", "tutanota.com", "tuta.io", "gmx.com", "gmx.fr", "gmx.de", "gmx.net",
        "web.de", "t-online.de", "freenet.de", "mail.com", "mail.ru", "yandex.com", "yandex.ru", "zoho.com", "zohomail.com",
        "orange.fr", "wanadoo.fr", "free.fr", "sfr.fr", "neuf.fr", "laposte.net", "bbox.fr", "numericable.fr", "club-internet.fr",
        "libertysurf.fr", "aliceadsl.fr", "voila.fr", "skynet.be", "telenet.be", "bluewin.ch", "hispeed.ch", "libero.it", "virgilio.it",
        "tiscali.it", "alice.it", "btinternet.com", "sky.com", "virginmedia.com", "ntlworld.com", "comcast.net", "verizon.net",
        "att.net", "sbcglobal.net", "cox.net", "earthlink.net", "qq.com", "163.com", "126.com", "sina.com", "naver.com",
        "hanmail.net", "rediffmail.com", "fastmail.com", "fastmail.fm", "hey.com", "mailbox.org", "posteo.de", "seznam.cz",
        "wp.pl", "o2.pl", "interia.pl", "onet.pl", "terra.com.br", "uol.com.br", "bol.com.br", "rocketmail.com", "inbox.com",
    };

    public static bool Contains(string? domain) => domain is not null && Domains.Contains(domain);

    public static IReadOnlyCollection<string> All => Domains;
}
