namespace Tandem.Features.Qualification.Scoring;

/// <summary>
/// Student and academic email domains: a shipped list of French and European universities and grandes écoles
/// (subdomains included) plus patterns (.edu, .edu.xx, .ac.xx, etu./student. subdomains, univ-*.fr, u-*.fr, uni-*.de).
/// </summary>
public static class StudentDomains
{
    private static readonly HashSet<string> Domains = new(StringComparer.OrdinalIgnoreCase)
    {
        // France: universities whose students get their own subdomain, grandes écoles and engineering schools.
        "etu.univ-paris1.fr", "etu.sorbonne-universite.fr", "sorbonne-universite.fr", "sorbonne-nouvelle.fr", "etu.u-paris.fr",
        "etu.unistra.fr", "unistra.fr", "etu.unice.fr", "etu.umontpellier.fr", "umontpellier.fr", "etu.unilim.fr", "unilim.fr",
        "universite-paris-saclay.fr", "etu-upsaclay.fr", "ut-capitole.fr", "ens.fr", "ens-lyon.fr", "ens-paris-saclay.fr", "psl.eu",
        "dauphine.eu", "dauphine.psl.eu", "sciencespo.fr", "edu.ece.fr", "ece.fr", "edu.esiee.fr", "esiee.fr", "hec.edu", "hec.fr",
        "essec.edu", "escp.eu", "edu.escp.eu", "polytechnique.edu", "polytechnique.org", "epita.fr", "epitech.eu", "efrei.net", "efrei.fr",
        "isep.fr", "eleve.isep.fr", "esme.fr", "supinfo.com", "42.fr", "student-cs.fr", "centralesupelec.fr", "mines-paristech.fr",
        "minesparis.psl.eu", "enpc.fr", "telecom-paris.fr", "insa-lyon.fr", "insa-toulouse.fr", "insa-rennes.fr", "grenoble-inp.fr",
        "grenoble-em.com", "edu.em-lyon.com", "kedgebs.com", "skema.edu", "neoma-bs.com", "audencia.com", "tbs-education.org",
        "edhec.com", "iseg.fr", "utc.fr", "etu.utc.fr", "utt.fr",
        // Europe.
        "tum.de", "mytum.de", "tu-berlin.de", "campus.tu-berlin.de", "lmu.de", "campus.lmu.de", "rwth-aachen.de", "kuleuven.be",
        "ulb.be", "uclouvain.be", "unige.ch", "etu.unige.ch", "unil.ch", "uzh.ch", "epfl.ch", "ethz.ch", "uva.nl", "tudelft.nl", "uu.nl",
        "unibo.it", "studio.unibo.it", "polimi.it", "mail.polimi.it", "uc3m.es", "alumnos.uc3m.es", "upm.es", "alumnos.upm.es", "ucm.es",
        "ku.dk", "kth.se", "ug.kth.se", "aalto.fi", "helsinki.fi",
    };

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Lookup = Domains.GetAlternateLookup<ReadOnlySpan<char>>();

    // A label that marks a students' subdomain anywhere before the registered domain (etu.univ-lyon1.fr, student.tudelft.nl).
    private static readonly string[] StudentLabels = ["etu", "etud", "etudiant", "etudiants", "student", "students", "stud", "edu", "eleve", "alumnos", "studenti"];

    public static bool Contains(string? domain)
    {
        if (string.IsNullOrWhiteSpace(domain))
            return false;
        var d = domain.AsSpan().Trim().TrimEnd('.');
        // The domain itself or any parent domain in the list.
        for (var rest = d; ;)
        {
            if (Lookup.Contains(rest))
                return true;
            var dot = rest.IndexOf('.');
            if (dot < 0)
                break;
            rest = rest[(dot + 1)..];
        }
        var labels = d.ToString().ToLowerInvariant().Split('.');
        var n = labels.Length;
        if (n < 2)
            return false;
        if (labels[n - 1] == "edu")
            return true;
        // .edu.xx and .ac.xx (ac.uk, ac.jp, ac.be…): academic second-level domains of a country.
        if (n >= 3 && labels[n - 1].Length == 2 && labels[n - 2] is "edu" or "ac")
            return true;
        if (labels[n - 1] == "fr" && (labels[n - 2].StartsWith("univ-", StringComparison.Ordinal) || labels[n - 2].StartsWith("u-", StringComparison.Ordinal)))
            return true;
        if (labels[n - 1] == "de" && labels[n - 2].StartsWith("uni-", StringComparison.Ordinal))
            return true;
        for (var i = 0; i < n - 2; i++)
        {
            if (StudentLabels.Contains(labels[i]))
                return true;
        }
        return false;
    }

    public static IReadOnlyCollection<string> All => Domains;
}
