using System.Globalization;
using System.Text;
using Tandem.Features.Platform;

namespace Tandem.Features.Capture.CsvImport;

/// <summary>
/// Writes realistic CRM-export CSV files (HubSpot-style headers, unique email, phone and record id per row,
/// companies shared by many rows) for tests and the import benchmark.
/// </summary>
public static class CsvImportGenerator
{
    private static readonly string[] FirstNames = ["Amélie", "François", "Claire", "Luc", "Nina", "Paul", "Sophie", "Hugo", "Léa", "Jean", "Maria", "John", "Anna", "Karl", "Émile", "Inès"];
    private static readonly string[] LastNames = ["Martin", "Bernard", "Garçon", "Dubois", "Leroy", "Moreau", "Müller", "Smith", "García", "Rossi", "Lefèvre", "Fontaine"];
    private static readonly string[] Titles = ["CFO", "DAF", "Head of Finance", "Controller", "CEO", "Directeur financier", "Accountant", "VP Sales, EMEA", "IT Manager"];
    private static readonly string[] Industries = ["Manufacturing", "Software", "Retail", "Healthcare", "Banking", "Logistics"];
    private static readonly string[] Countries = ["FR", "FR", "FR", "BE", "DE", "US", "GB", "ES"];
    private static readonly string[] Cities = ["Paris", "Lyon", "Lille", "Bruxelles", "Berlin", "Boston", "London", "Madrid"];
    private static readonly string[] Stages = ["subscriber", "lead", "lead", "lead", "marketingqualifiedlead", "salesqualifiedlead", "customer"];
    private static readonly string[] Sources = ["google", "linkedin", "newsletter", "webinar", "partner", "N/A"];

    public static readonly IReadOnlyList<string> Headers =
        ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name", "Job Title", "Country/Region", "City", "Industry", "Number of Employees", "Lifecycle Stage", "Lead Source"];

    /// <summary>
    /// Writes a header and <paramref name="rows"/> rows (UTF-8, comma, CRLF) to <paramref name="output"/>, numbered from
    /// <paramref name="firstRow"/>: files with rows numbered apart share no email, phone or record id.
    /// </summary>
    public static void Write(Stream output, int rows, int seed = 1, int companies = 2000, int firstRow = 1)
    {
        var random = new Random(seed);
        using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        writer.Write(CsvSafe.Line(Headers));
        var inv = CultureInfo.InvariantCulture;
        for (var i = firstRow; i < firstRow + rows; i++)
        {
            var first = FirstNames[random.Next(FirstNames.Length)];
            var last = LastNames[random.Next(LastNames.Length)];
            var company = random.Next(companies);
            var name = $"Company {company.ToString(inv)}, SA";
            var email = $"{Ascii(first)}.{Ascii(last)}.{i.ToString(inv)}@company{company.ToString(inv)}.example";
            var phone = $"+33 6 {(i % 100_000_000).ToString("D8", inv)}";
            var country = Countries[random.Next(Countries.Length)];
            writer.Write(CsvSafe.Line(
            [
                i.ToString(inv), first, last, email, phone, name, Titles[random.Next(Titles.Length)], country,
                Cities[random.Next(Cities.Length)], Industries[company % Industries.Length], (10 + company % 990).ToString(inv),
                Stages[random.Next(Stages.Length)], Sources[random.Next(Sources.Length)],
            ]));
        }
    }

    private static string Ascii(string name) =>
        new([.. name.Normalize(NormalizationForm.FormD).Where(char.IsAsciiLetter).Select(char.ToLowerInvariant)]);
}
