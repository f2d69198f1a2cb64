using System.Globalization;
using Tandem.Features.Capture;

namespace Tandem.Features.Qualification.Scoring;

/// <summary>The lead's attributes in the forms the rules compare, each computed once per lead.</summary>
internal sealed class LeadView
{
    public LeadView(LeadFacts lead, bool needsSeniority)
    {
        Lead = lead;
        Title = TextFold.Padded(lead.JobTitle);
        Seniority = needsSeniority ? Scoring.Seniority.FromFolded(Title) : null;
        Domain = EmailDomainOf(lead.Email);
        Country = CountryCode(lead.Country);
    }

    public LeadFacts Lead { get; }

    public string? Title { get; }

    public string? Seniority { get; }

    public string? Domain { get; }

    public string? Country { get; }

    public string? Industry => field ??= TextFold.Padded(Lead.Industry);

    public string? City => field ??= TextFold.Padded(Lead.City);

    public string? Company => field ??= TextFold.Padded(Lead.Company);

    public string? Custom(string? name) =>
        name is not null && Lead.CustomFields is { } fields && fields.TryGetValue(name, out var value) ? value : null;

    public static string? EmailDomainOf(string? email)
    {
        if (string.IsNullOrWhiteSpace(email))
            return null;
        var at = email.LastIndexOf('@');
        var domain = email[(at + 1)..].Trim().TrimEnd('.');
        return domain.Length == 0 ? null : domain.ToLowerInvariant();
    }

    public static string? CountryCode(string? country)
    {
        if (string.IsNullOrWhiteSpace(country))
            return null;
        var (code, _) = Normalize.Country(country);
        return code ?? country.Trim().ToUpperInvariant();
    }

    /// <summary>"fr" matches "fr", "FR" and "fr-CA"; "fr-CA" matches only "fr-CA".</summary>
    public static bool SameLanguage(string? lead, string wanted)
    {
        if (string.IsNullOrWhiteSpace(lead))
            return false;
        var l = lead.AsSpan().Trim();
        if (l.Equals(wanted, StringComparison.OrdinalIgnoreCase))
            return true;
        var dash = l.IndexOfAny('-', '_');
        return dash > 0 && wanted.IndexOfAny(['-', '_']) < 0 && l[..dash].Equals(wanted, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>The definition's competitors: email domains (subdomains included) and company names (case/accent-insensitive).</summary>
internal sealed class Competitors
{
    private readonly HashSet<string> _domains = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public Competitors(IReadOnlyList<string> entries)
    {
        foreach (var entry in entries)
        {
            var domain = Domain(entry);
            if (domain is not null)
                _domains.Add(domain);
            if (TextFold.Padded(entry) is { } name)
                _names.Add(name);
        }
    }

    public bool IsEmpty => _domains.Count == 0 && _names.Count == 0;

    public static string? Domain(string? entry)
    {
        var value = entry?.Trim().TrimStart('@').TrimEnd('.', '/').ToLowerInvariant();
        if (string.IsNullOrEmpty(value))
            return null;
        if (value.StartsWith("https://", StringComparison.Ordinal))
            value = value[8..];
        else if (value.StartsWith("http://", StringComparison.Ordinal))
            value = value[7..];
        if (value.StartsWith("www.", StringComparison.Ordinal))
            value = value[4..];
        return value.Contains('.', StringComparison.Ordinal) && !value.Contains(' ', StringComparison.Ordinal) ? value : null;
    }

    public string? Match(LeadView view)
    {
        if (view.Domain is { } domain)
        {
            for (var rest = domain; ;)
            {
                if (_domains.Contains(rest))
                    return domain;
                var dot = rest.IndexOf('.', StringComparison.Ordinal);
                if (dot < 0)
                    break;
                rest = rest[(dot + 1)..];
            }
        }
        return view.Company is { } company && _names.Contains(company) ? view.Lead.Company!.Trim() : null;
    }
}

internal sealed class CompiledFitRule
{
    private readonly string[] _phrases;
    private readonly HashSet<string> _equals;
    private readonly HashSet<Guid> _personaIds;
    private readonly Competitors _competitors;

    public CompiledFitRule(FitRule rule, Competitors competitors)
    {
        Rule = rule;
        _competitors = competitors;
        var values = rule.Values ?? [];
        _phrases = [.. values.Select(TextFold.Padded).OfType<string>().Distinct()];
        _equals = rule.Field switch
        {
            FitField.Country => new(values.Select(LeadView.CountryCode).OfType<string>(), StringComparer.OrdinalIgnoreCase),
            FitField.Seniority => new(values.Select(Seniority.Parse).OfType<string>(), StringComparer.Ordinal),
            FitField.EmailDomain => new(values.Select(LeadView.EmailDomainOf).OfType<string>(), StringComparer.OrdinalIgnoreCase),
            FitField.Language => new(values.Where(v => !string.IsNullOrWhiteSpace(v)).Select(v => v.Trim()), StringComparer.OrdinalIgnoreCase),
            _ => new(_phrases, StringComparer.Ordinal),
        };
        _personaIds = [.. values.Select(v => Guid.TryParse(v, out var id) ? id : Guid.Empty).Where(id => id != Guid.Empty)];
    }

    public FitRule Rule { get; }

    public bool TryMatch(LeadView view, PersonaMatch? persona, out string? matched)
    {
        matched = null;
        var lead = view.Lead;
        switch (Rule.Operator)
        {
            case FitOperator.IsPersona:
                if (persona is null || !_personaIds.Contains(persona.PersonaId) || persona.Percent < (Rule.Min ?? 50))
                    return false;
                matched = string.Create(CultureInfo.InvariantCulture, $"{persona.Name} ({persona.Percent} %)");
                return true;
            case FitOperator.IsFreeMail:
                matched = view.Domain;
                return FreeMailDomains.Contains(view.Domain);
            case FitOperator.IsStudentDomain:
                matched = view.Domain;
                return StudentDomains.Contains(view.Domain);
            case FitOperator.IsCompetitor:
                matched = _competitors.Match(view);
                return matched is not null;
            case FitOperator.Between:
                decimal? number = Rule.Field == FitField.CompanySize ? lead.CompanySize
                    : decimal.TryParse(view.Custom(Rule.CustomField)?.Trim(), NumberStyles.Number, CultureInfo.InvariantCulture, out var parsed) ? parsed : null;
                if (number is not { } n || (Rule.Min is { } min && n < min) || (Rule.Max is { } max && n > max))
                    return false;
                matched = n.ToString(CultureInfo.InvariantCulture);
                return true;
            case FitOperator.IsEmpty:
                return Rule.Field switch
                {
                    FitField.Persona => persona is null,
                    FitField.CompanySize => lead.CompanySize is null,
                    _ => string.IsNullOrWhiteSpace(Raw(view)),
                };
        }
        var raw = Raw(view);
        if (string.IsNullOrWhiteSpace(raw))
            return false;
        matched = raw.Trim();
        if (Rule.Operator == FitOperator.Contains)
        {
            var text = Folded(view);
            if (text is null)
                return false;
            foreach (var phrase in _phrases)
            {
                if (text.Contains(phrase, StringComparison.Ordinal))
                    return true;
            }
            return false;
        }
        // In
        return Rule.Field switch
        {
            FitField.Country => view.Country is { } c && _equals.Contains(c),
            FitField.Seniority => view.Seniority is { } s && _equals.Contains(s),
            FitField.EmailDomain => view.Domain is { } d && _equals.Contains(d),
            FitField.Language => _equals.Any(v => LeadView.SameLanguage(raw, v)),
            _ => Folded(view) is { } f && _equals.Contains(f),
        };
    }

    private string? Raw(LeadView view)
    {
        var lead = view.Lead;
        return Rule.Field switch
        {
            FitField.JobTitle => lead.JobTitle,
            FitField.Seniority => view.Seniority ?? Seniority.FromTitle(lead.JobTitle),
            FitField.EmailDomain => view.Domain,
            FitField.CompanySize => lead.CompanySize?.ToString(CultureInfo.InvariantCulture),
            FitField.Industry => lead.Industry,
            FitField.Country => lead.Country,
            FitField.Language => lead.Language,
            FitField.City => lead.City,
            FitField.Company => lead.Company,
            FitField.CustomField => view.Custom(Rule.CustomField),
            _ => null,
        };
    }

    private string? Folded(LeadView view) => Rule.Field switch
    {
        FitField.JobTitle => view.Title,
        FitField.Industry => view.Industry,
        FitField.City => view.City,
        FitField.Company => view.Company,
        _ => TextFold.Padded(Raw(view)),
    };
}

internal sealed class CompiledEngagementRule(EngagementRule rule)
{
    public EngagementRule Rule { get; } = rule;

    private readonly string? _url = string.IsNullOrWhiteSpace(rule.UrlContains) ? null : rule.UrlContains.Trim();
    private readonly string? _key = string.IsNullOrWhiteSpace(rule.PropertyKey) ? null : rule.PropertyKey;

    public bool Matches(ActivityFacts activity)
    {
        if (_url is not null && (activity.Url is null || !activity.Url.Contains(_url, StringComparison.OrdinalIgnoreCase)))
            return false;
        if (Rule.CampaignId is { } campaign && activity.CampaignId != campaign)
            return false;
        if (_key is null)
            return true;
        if (activity.Properties is null || !activity.Properties.TryGetValue(_key, out var value))
            return false;
        return Rule.PropertyValue is null || string.Equals(value?.Trim(), Rule.PropertyValue.Trim(), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The rule's cap (a bound on the magnitude, for negative rules too), then rounding half away from zero.</summary>
    public int Round(double sum)
    {
        if (Rule.Cap is { } cap && cap >= 0)
            sum = Math.Clamp(sum, -cap, cap);
        return (int)Math.Round(sum, MidpointRounding.AwayFromZero);
    }
}

internal sealed class CompiledPersona
{
    private const int TitleWeight = 35;
    private const int SeniorityWeight = 15;
    private const int SizeWeight = 20;
    private const int IndustryWeight = 10;
    private const int CountryWeight = 10;
    private const int LanguageWeight = 10;

    private readonly string[] _titles;
    private readonly string[] _industries;
    private readonly HashSet<string> _countries;
    private readonly string[] _languages;
    private readonly int _definedWeight;

    public CompiledPersona(PersonaProfile profile)
    {
        Profile = profile;
        _titles = [.. (profile.JobTitleKeywords ?? []).Select(TextFold.Padded).OfType<string>().Distinct()];
        Seniorities = [.. (profile.Seniorities ?? []).Select(Seniority.Parse).OfType<string>()];
        _industries = [.. (profile.Industries ?? []).Select(TextFold.Padded).OfType<string>().Distinct()];
        _countries = new((profile.Countries ?? []).Select(LeadView.CountryCode).OfType<string>(), StringComparer.OrdinalIgnoreCase);
        _languages = [.. (profile.Languages ?? []).Where(l => !string.IsNullOrWhiteSpace(l)).Select(l => l.Trim())];
        _definedWeight = (_titles.Length > 0 ? TitleWeight : 0) + (Seniorities.Count > 0 ? SeniorityWeight : 0)
            + (HasSize ? SizeWeight : 0) + (_industries.Length > 0 ? IndustryWeight : 0)
            + (_countries.Count > 0 ? CountryWeight : 0) + (_languages.Length > 0 ? LanguageWeight : 0);
    }

    public PersonaProfile Profile { get; }

    public HashSet<string> Seniorities { get; }

    private bool HasSize => Profile.CompanySizeMin is not null || Profile.CompanySizeMax is not null;

    public int Percent(LeadView view)
    {
        if (_definedWeight == 0)
            return 0;
        var matched = 0;
        if (_titles.Length > 0 && view.Title is { } title && AnyPhrase(title, _titles))
            matched += TitleWeight;
        if (Seniorities.Count > 0 && view.Seniority is { } seniority && Seniorities.Contains(seniority))
            matched += SeniorityWeight;
        if (HasSize && view.Lead.CompanySize is { } size && (Profile.CompanySizeMin is not { } min || size >= min) && (Profile.CompanySizeMax is not { } max || size <= max))
            matched += SizeWeight;
        if (_industries.Length > 0 && view.Industry is { } industry && AnyPhrase(industry, _industries))
            matched += IndustryWeight;
        if (_countries.Count > 0 && view.Country is { } country && _countries.Contains(country))
            matched += CountryWeight;
        if (_languages.Length > 0 && _languages.Any(l => LeadView.SameLanguage(view.Lead.Language, l)))
            matched += LanguageWeight;
        return (int)Math.Round(matched * 100.0 / _definedWeight, MidpointRounding.AwayFromZero);
    }

    private static bool AnyPhrase(string text, string[] phrases)
    {
        foreach (var phrase in phrases)
        {
            if (text.Contains(phrase, StringComparison.Ordinal))
                return true;
        }
        return false;
    }
}
