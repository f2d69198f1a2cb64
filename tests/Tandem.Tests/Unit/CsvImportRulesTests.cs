using System.Text;
using Tandem.Features.Capture;
using Tandem.Features.Capture.CsvImport;
using Tandem.Features.Leads;
using Tandem.Features.Platform;

namespace Tandem.Tests.Unit;

public sealed class CsvImportRulesTests
{
    private static readonly IReadOnlySet<string> NoCustom = new HashSet<string>();

    [Theory]
    [InlineData("a,b,c\n1,2,3\n", ',')]
    [InlineData("a;b;c\r\n1;2;3\r\n", ';')]
    [InlineData("a\tb\tc\n1\t2\t3\n", '\t')]
    [InlineData("name;note\n\"Dupont, Jean\";\"a, b, c\"\n\"Martin\";\"x\"\n", ';')]
    [InlineData("\"Company, Inc\",email\n\"A; B\",a@b.example\n", ',')]
    [InlineData("single\nvalue\n", ',')]
    public void DelimiterIsTheOneThatSplitsEveryLineLikeTheHeader(string sample, char expected) =>
        Assert.Equal(expected, CsvSniffer.DetectDelimiter(sample));

    [Fact]
    public void EncodingIsUtf8WithOrWithoutBomAndWindows1252WhenBytesAreNotUtf8()
    {
        var text = "Prénom;Société\nFrançois;Garçon SA\n";
        Assert.Equal((CsvSniffer.Utf8, 3), CsvSniffer.DetectEncoding([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(text)]));
        Assert.Equal((CsvSniffer.Utf8, 0), CsvSniffer.DetectEncoding(Encoding.UTF8.GetBytes(text)));
        Assert.Equal((CsvSniffer.Windows1252, 0), CsvSniffer.DetectEncoding(CsvSniffer.EncodingFor(CsvSniffer.Windows1252).GetBytes(text)));
        Assert.Equal((CsvSniffer.Utf16, 2), CsvSniffer.DetectEncoding([0xFF, 0xFE, .. Encoding.Unicode.GetBytes(text)]));
        // A sample may end in the middle of a multi-byte character: still UTF-8.
        var cut = Encoding.UTF8.GetBytes("email\né");
        Assert.Equal((CsvSniffer.Utf8, 0), CsvSniffer.DetectEncoding(cut.AsSpan(0, cut.Length - 1)));
        var format = CsvSniffer.Detect(CsvSniffer.EncodingFor(CsvSniffer.Windows1252).GetBytes(text));
        Assert.Equal((CsvSniffer.Windows1252, ';'), (format.EncodingName, format.Delimiter));
    }

    [Fact]
    public void BlankAndRepeatedHeadersGetNames() =>
        Assert.Equal(["Email", "Column 2", "email (2)", "Name", "Column 5"], CsvSniffer.NameHeaders(["Email", " ", "email", "\uFEFFName", ""]));

    [Fact]
    public void ReaderHandlesQuotedCommasAndLineBreaksCrlfAndBom()
    {
        var csv = "\uFEFFa,b,c\r\n\"x, y\",\"line 1\r\nline 2\",\"say \"\"hi\"\"\"\r\n\r\n1,2,3,\r\n";
        using var reader = new CsvRecordReader(new MemoryStream([.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes(csv[1..])]), CsvSniffer.Utf8, ',');
        Assert.True(reader.Read());
        Assert.Equal(["a", "b", "c"], reader.Record);
        Assert.True(reader.Read());
        Assert.Equal(["x, y", "line 1\r\nline 2", "say \"hi\""], reader.Record);
        Assert.True(reader.Read());
        Assert.Equal(["1", "2", "3", ""], reader.Record);
        Assert.Equal(3, reader.RecordNumber);
        Assert.False(reader.Read());
    }

    [Theory]
    [InlineData("First Name", "firstName")]
    [InlineData("Last Name", "lastName")]
    [InlineData("Email", "email")]
    [InlineData("Email Address", "email")]
    [InlineData("E-mail", "email")]
    [InlineData("Phone", "phone")]
    [InlineData("Mobile Phone", "phone")]
    [InlineData("Company", "company")]
    [InlineData("Company Name", "company")]
    [InlineData("Title", "jobTitle")]
    [InlineData("Job Title", "jobTitle")]
    [InlineData("Lead Source", "utmSource")]
    [InlineData("Lead Status", "stage")]
    [InlineData("Lifecycle Stage", "stage")]
    [InlineData("Country", "country")]
    [InlineData("Country/Region", "country")]
    [InlineData("City", "city")]
    [InlineData("Industry", "industry")]
    [InlineData("Number of Employees", "companySize")]
    [InlineData("Website", "extra.website")]
    [InlineData("Record ID", "externalId")]
    [InlineData("Lead ID", "externalId")]
    [InlineData("Prénom", "firstName")]
    [InlineData("Nom", "lastName")]
    [InlineData("Société", "company")]
    [InlineData("Téléphone", "phone")]
    [InlineData("Fonction", "jobTitle")]
    [InlineData("Pays", "country")]
    [InlineData("Shoe size", null)]
    public void CommonExportHeadersSuggestAField(string header, string? field) =>
        Assert.Equal(field, ImportMapping.Suggest([header])[0].Field);

    [Fact]
    public void EachFieldIsSuggestedOnceAndExternalIdsNameTheirSystem()
    {
        var suggestions = ImportMapping.Suggest(["Record ID", "Email", "Phone", "Mobile Phone", "Email Address", "Lead Status", "Lifecycle Stage", "Tier"], new HashSet<string> { "tier" });
        Assert.Equal(["externalId", "email", "phone", null, null, null, "stage", "customFields.tier"], suggestions.Select(s => s.Field));
        Assert.Equal("hubspot", suggestions[0].ExternalSystem);
        Assert.Equal("salesforce", ImportMapping.Suggest(["Lead ID"])[0].ExternalSystem);
    }

    [Fact]
    public void StageValuesUseTheValueMapThenStageNamesAndCommonCrmValues()
    {
        var map = new Dictionary<string, LifecycleStage>(StringComparer.OrdinalIgnoreCase) { ["1"] = LifecycleStage.Customer, ["Hot"] = LifecycleStage.Sql };
        Assert.Equal(LifecycleStage.Customer, ImportMapping.ParseStage(" 1 ", map));
        Assert.Equal(LifecycleStage.Sql, ImportMapping.ParseStage("hot", map));
        Assert.Equal(LifecycleStage.Mql, ImportMapping.ParseStage("MQL", map));
        Assert.Equal(LifecycleStage.Mql, ImportMapping.ParseStage("marketingqualifiedlead", map));
        Assert.Equal(LifecycleStage.Customer, ImportMapping.ParseStage("Closed Won", map));
        Assert.Equal(LifecycleStage.Customer, ImportMapping.ParseStage("Client", map));
        Assert.Null(ImportMapping.ParseStage("2", map));
        Assert.Null(ImportMapping.ParseStage("Maybe later", map));
    }

    [Fact]
    public void PlaceholdersAreEmptyAndAStageOutsideTheMapIsARowProblem()
    {
        var headers = new[] { "Email", "Title", "Stage", "Column 4" };
        var errors = new FieldErrors();
        var plan = ImportMapping.Plan(headers, new ImportSettings(StageValues: new() { ["1"] = "Customer" }), NoCustom, errors);
        Assert.False(errors.Any, errors.Summary());

        var (input, problems) = ImportMapping.ToInput(plan!, 2, ["a@b.example", "N/A", "1", ""], NoCustom);
        Assert.Null(problems);
        Assert.Null(input!.JobTitle);
        Assert.Equal(LifecycleStage.Customer, input.InitialStage);

        (input, problems) = ImportMapping.ToInput(plan!, 3, ["Select", "-", "null", ""], NoCustom);
        Assert.Null(input);
        Assert.Null(problems);

        // A stage outside the map keeps the lead (at the default stage) and is a warning on the row (decision 019).
        (input, problems) = ImportMapping.ToInput(plan!, 4, ["a@b.example", "CEO", "Someday", ""], NoCustom);
        Assert.Null(problems);
        Assert.NotNull(input);
        Assert.Null(input.InitialStage);
        var warning = Assert.Single(ImportMapping.Warnings(plan!, 4, input));
        Assert.Equal(("Stage", "stage", "Someday", true), (warning.Column, warning.Field, warning.Value, warning.Warning));

        // Trailing delimiter: the header's blank last column may be missing on a row; any other width is a problem.
        Assert.NotNull(ImportMapping.ToInput(plan!, 5, ["a@b.example", "CEO", "1"], NoCustom).Input);
        Assert.Contains("Expected 4 columns, found 2", ImportMapping.ToInput(plan!, 6, ["a@b.example", "CEO"], NoCustom).Problems![0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadMappingsAreFieldErrors()
    {
        string[] headers = ["Email", "Email Address", "Record ID", "Title"];
        var errors = new FieldErrors();
        Assert.Null(ImportMapping.Plan(headers, new ImportSettings(Mapping: new() { ["Email"] = "email", ["Email Address"] = "email", ["Title"] = "shoeSize", ["Nope"] = "city" }), NoCustom, errors));
        var e = errors.ToDictionary();
        Assert.Contains("both map to 'email'", e["mapping.Email Address"][0], StringComparison.Ordinal);
        Assert.Contains("Unknown field", e["mapping.Title"][0], StringComparison.Ordinal);
        Assert.Contains("no column", e["mapping.Nope"][0], StringComparison.Ordinal);

        errors = new FieldErrors();
        Assert.Null(ImportMapping.Plan(headers, new ImportSettings(Mapping: new() { ["Title"] = "jobTitle" }), NoCustom, errors));
        Assert.True(errors.HasAny("mapping"));

        errors = new FieldErrors();
        Assert.Null(ImportMapping.Plan(headers, new ImportSettings(Mapping: new() { ["Record ID"] = "externalId" }), NoCustom, errors));
        Assert.True(errors.HasAny("externalSystem"));

        errors = new FieldErrors();
        Assert.Null(ImportMapping.Plan(headers, new ImportSettings(StageValues: new() { ["1"] = "Champion" }), NoCustom, errors));
        Assert.True(errors.HasAny("stageValues.1"));

        // Without a mapping, the suggested one applies, with the system guessed from "Record ID".
        errors = new FieldErrors();
        var plan = ImportMapping.Plan(headers, new ImportSettings(), NoCustom, errors);
        Assert.Equal("hubspot", plan!.ExternalSystem);
    }

    [Theory]
    [InlineData("=1+2", "'=1+2")]
    [InlineData("+33 6 12", "'+33 6 12")]
    [InlineData("-2", "'-2")]
    [InlineData("@SUM(A1)", "'@SUM(A1)")]
    [InlineData("\tx", "'\tx")]
    [InlineData("\rx", "'\rx")]
    [InlineData("plain", "plain")]
    [InlineData("a=b", "a=b")]
    [InlineData("", "")]
    [InlineData(null, "")]
    public void CsvSafeNeutralisesFormulas(string? value, string expected) => Assert.Equal(expected, CsvSafe.Neutralise(value));

    [Fact]
    public void CsvSafeQuotesWhatNeedsQuoting()
    {
        Assert.Equal("1,\"a, b\",\"say \"\"hi\"\"\",'=cmd|' /C calc'!A0,\"'=x\r\ny\",\r\n",
            CsvSafe.Line(["1", "a, b", "say \"hi\"", "=cmd|' /C calc'!A0", "=x\r\ny", null]));
        Assert.Equal(",x\r\n", CsvSafe.Line(["", "x"]));
    }

    [Fact]
    public void GeneratedFilesParseIntoValidLeads()
    {
        using var stream = new MemoryStream();
        CsvImportGenerator.Write(stream, 200, seed: 7);
        stream.Position = 0;
        using var reader = new CsvRecordReader(stream, CsvSniffer.Utf8, ',');
        Assert.True(reader.Read());
        var headers = CsvSniffer.NameHeaders(reader.Record);
        var errors = new FieldErrors();
        var plan = ImportMapping.Plan(headers, new ImportSettings(), NoCustom, errors);
        Assert.False(errors.Any, errors.Summary());
        var valid = 0;
        while (reader.Read())
            if (ImportMapping.ToInput(plan!, reader.RecordNumber, reader.Record, NoCustom).Input is not null)
                valid++;
        Assert.Equal(200, valid);
    }
}
