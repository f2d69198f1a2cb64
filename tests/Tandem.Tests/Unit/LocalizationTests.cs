using System.Collections;
using System.Globalization;
using System.Resources;
using System.Text.RegularExpressions;

namespace Tandem.Tests.Unit;

/// <summary>English and French stay complete: every UI key exists in both, and every key the UI uses exists.</summary>
public sealed partial class LocalizationTests
{
    private static readonly ResourceManager Strings = new("Tandem.Resources.SharedResource", typeof(Tandem.SharedResource).Assembly);

    private static HashSet<string> Keys(CultureInfo culture) =>
        Strings.GetResourceSet(culture, createIfNotExists: true, tryParents: false)!
            .Cast<DictionaryEntry>().Select(e => (string)e.Key).ToHashSet(StringComparer.Ordinal);

    [Fact]
    public void FrenchHasEveryEnglishKey()
    {
        var english = Keys(CultureInfo.InvariantCulture);
        var french = Keys(CultureInfo.GetCultureInfo("fr"));
        Assert.NotEmpty(english);
        Assert.Empty(english.Except(french));
        Assert.Empty(french.Except(english));
    }

    [Fact]
    public void EveryKeyUsedByTheUiExists()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Tandem.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Repository root not found.");
        var english = Keys(CultureInfo.InvariantCulture);
        var missing = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(root, "src", "Tandem", "Components"), "*.razor", SearchOption.AllDirectories))
            foreach (Match m in UsedKey().Matches(File.ReadAllText(file)))
                if (!english.Contains(m.Groups[1].Value))
                    missing.Add($"{Path.GetFileName(file)}: {m.Groups[1].Value}");
        Assert.Empty(missing);
    }

    [GeneratedRegex("""L\["([A-Za-z0-9_.]+)"\]""")]
    private static partial Regex UsedKey();
}
