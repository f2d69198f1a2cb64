namespace Tandem.Features.Qualification.Scoring;

/// <summary>
/// Seniority derived from a job title (English and French), used by fit rules on <see cref="FitField.Seniority"/>
/// and by personas. Interns and students are recognised first, so "Stagiaire auprès du DAF" is an intern, not a DAF.
/// </summary>
public static class Seniority
{
    public const string CLevel = "CLevel";
    public const string VP = "VP";
    public const string Director = "Director";
    public const string Head = "Head";
    public const string Manager = "Manager";
    public const string Senior = "Senior";
    public const string Individual = "Individual";
    public const string Intern = "Intern";
    public const string Student = "Student";

    /// <summary>Every level, most senior first.</summary>
    public static IReadOnlyList<string> All { get; } = [CLevel, VP, Director, Head, Manager, Senior, Individual, Intern, Student];

    // Checked in this order; the first level with a phrase in the title wins.
    private static readonly (string Level, string[] Phrases)[] Levels =
    [
        (Intern, Pad("intern", "interns", "internship", "stagiaire", "stage", "alternant", "alternante", "alternance", "apprenti", "apprentie",
            "apprentice", "apprentissage", "trainee", "werkstudent", "praktikant", "praktikantin", "becario", "becaria", "stagista", "v i e")),
        (Student, Pad("student", "students", "etudiant", "etudiante", "etudiants", "phd student", "doctorant", "doctorante", "eleve",
            "graduate student", "undergraduate", "studentin", "estudiante", "studente", "studentessa")),
        // Assistants to an executive carry the executive's title but not the seniority.
        (Individual, Pad("assistant", "assistante", "secretaire", "secretary", "executive assistant")),
        (VP, Pad("vp", "svp", "evp", "avp", "vice president", "vice presidente", "vicepresident")),
        (CLevel, Pad("ceo", "cfo", "cto", "coo", "cmo", "cio", "ciso", "cso", "cro", "cpo", "cdo", "chro", "cco", "chief", "pdg", "dg", "dga",
            "daf", "president", "presidente", "directeur general", "directrice generale", "directeur generale", "managing director",
            "founder", "co founder", "cofounder", "fondateur", "fondatrice", "co fondateur", "co fondatrice", "cofondateur", "cofondatrice",
            "owner", "gerant", "gerante", "geschaftsfuhrer", "geschaeftsfuehrer")),
        (Director, Pad("director", "directeur", "directrice", "directors", "direktor", "directora", "direttore", "drh", "dsi", "dircom")),
        (Head, Pad("head", "heads")),
        (Manager, Pad("manager", "managers", "responsable", "chef de", "chef d", "cheffe de", "cheffe d", "team lead", "team leader",
            "lead manager", "supervisor", "superviseur", "superviseuse", "encadrant", "encadrante", "leiter", "leiterin", "gestionnaire")),
        (Senior, Pad("senior", "sr", "principal", "staff engineer", "lead", "expert", "experte", "confirme", "confirmee", "architect", "architecte")),
    ];

    /// <summary>The seniority of a job title, <see cref="Individual"/> when no level word occurs, null when the title is empty.</summary>
    public static string? FromTitle(string? title) => FromFolded(TextFold.Padded(title));

    /// <summary>Same as <see cref="FromTitle"/> for an already padded folded title (see <see cref="TextFold.Padded"/>).</summary>
    public static string? FromFolded(string? paddedTitle)
    {
        if (paddedTitle is null)
            return null;
        // The earliest level with a phrase in the title wins: words are looked up, the few multi-word phrases searched.
        var best = int.MaxValue;
        var span = paddedTitle.AsSpan();
        foreach (var range in span.Split(' '))
        {
            if (range.End.Value > range.Start.Value && WordLookup.TryGetValue(span[range], out var rank) && rank < best)
                best = rank;
        }
        foreach (var (phrase, rank) in Phrases)
        {
            if (rank < best && paddedTitle.Contains(phrase, StringComparison.Ordinal))
                best = rank;
        }
        return best == int.MaxValue ? Individual : Levels[best].Level;
    }

    /// <summary>The canonical level name for a value typed by an admin ("clevel", "C-Level" → "CLevel"), or null.</summary>
    public static string? Parse(string? value)
    {
        var bare = TextFold.Bare(value).Replace(" ", "", StringComparison.Ordinal);
        foreach (var level in All)
        {
            if (string.Equals(level, bare, StringComparison.OrdinalIgnoreCase))
                return level;
        }
        return null;
    }

    private static readonly Dictionary<string, int> Words = BuildWords();
    private static readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> WordLookup = Words.GetAlternateLookup<ReadOnlySpan<char>>();
    private static readonly (string Phrase, int Rank)[] Phrases =
        [.. Levels.SelectMany((level, rank) => level.Phrases.Where(p => p.Trim().Contains(' ', StringComparison.Ordinal)).Select(p => (p, rank)))];

    private static Dictionary<string, int> BuildWords()
    {
        var words = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var rank = 0; rank < Levels.Length; rank++)
        {
            foreach (var phrase in Levels[rank].Phrases.Select(p => p.Trim()).Where(p => !p.Contains(' ', StringComparison.Ordinal)))
                words.TryAdd(phrase, rank);
        }
        return words;
    }

    private static string[] Pad(params string[] phrases) => [.. phrases.Select(p => " " + p + " ")];
}
