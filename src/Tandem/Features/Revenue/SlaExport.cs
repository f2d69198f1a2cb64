using System.Globalization;
using System.Net;
using System.Text;
using Tandem.Features.Platform;

namespace Tandem.Features.Revenue;

/// <summary>The monthly SLA statement as CSV and as a printable HTML page (labels in the reader's language, every value encoded).</summary>
public static class SlaExport
{
    /// <summary>A statement figure for display: rates as percentages, the rating out of 5, the speed in minutes, MQLs as counts.</summary>
    public static string Value(string line, decimal? value, CultureInfo culture, Func<string, string> label) => value is not { } v ? "–" : line switch
    {
        "mqls" => v.ToString(v == decimal.Truncate(v) ? "N0" : "N1", culture),
        "rating" => v.ToString("0.00", culture) + " / 5",
        "speedToLead" => string.Format(culture, label("Sla.MinutesValue"), v.ToString("N0", culture)),
        _ => v.ToString("P1", culture),
    };

    public static string Csv(SlaStatement s, CultureInfo culture, Func<string, string> label)
    {
        var sb = new StringBuilder();
        sb.Append(CsvSafe.Line([label("Sla.Side"), label("Sla.Line"), label("Sla.Actual"), label("Sla.Target"), label("Sla.Verdict"),
            label("Sla.ActualValue"), label("Sla.TargetValue")]));
        foreach (var l in s.Lines)
        {
            sb.Append(CsvSafe.Line([label($"Sla.Side.{l.Side}"), label($"Sla.Line.{l.Line}"), Value(l.Line, l.Actual, culture, label),
                Value(l.Line, l.Target, culture, label), label($"Sla.Verdict.{l.Verdict}"),
                l.Actual?.ToString(CultureInfo.InvariantCulture), l.Target?.ToString(CultureInfo.InvariantCulture)]));
        }
        return sb.ToString();
    }

    /// <summary>A self-contained HTML document to print or save as PDF.</summary>
    public static string Html(SlaStatement s, CultureInfo culture, Func<string, string> label)
    {
        var month = new DateTime(s.Year, s.Month, 1).ToString("MMMM yyyy", culture);
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html><html lang=\"").Append(E(culture.TwoLetterISOLanguageName)).Append("\"><head><meta charset=\"utf-8\"><title>")
            .Append(E(label("Sla.Statement"))).Append(" · ").Append(E(month)).Append("</title><style>")
            .Append("body{font-family:system-ui,sans-serif;margin:2rem;color:#222}table{border-collapse:collapse;width:100%;margin:1rem 0}")
            .Append("th,td{border:1px solid #ccc;padding:.35rem .6rem;text-align:left}td.num{text-align:right}.Met{color:#1b5e20;font-weight:600}")
            .Append(".Missed{color:#b71c1c;font-weight:600}@media print{button{display:none}}</style></head><body>");
        sb.Append("<h1>").Append(E(label("Sla.Statement"))).Append(" · ").Append(E(month)).Append("</h1>");
        sb.Append("<p>").Append(E(string.Format(culture, label("Sla.PeriodLine"), s.From.ToString("d", culture), s.To.ToString("d", culture), s.TimeZone))).Append("</p>");
        sb.Append("<button onclick=\"window.print()\">").Append(E(label("Sla.Print"))).Append("</button>");
        AppendLines(sb, s.Lines, culture, label);
        AppendWeeks(sb, s.Report.Weeks, culture, label);
        sb.Append("</body></html>");
        return sb.ToString();
    }

    /// <summary>The statement lines as an HTML table (also used in the weekly email).</summary>
    public static void AppendLines(StringBuilder sb, IEnumerable<SlaStatementLine> lines, CultureInfo culture, Func<string, string> label)
    {
        sb.Append("<table><thead><tr><th>").Append(E(label("Sla.Side"))).Append("</th><th>").Append(E(label("Sla.Line"))).Append("</th><th>")
            .Append(E(label("Sla.Actual"))).Append("</th><th>").Append(E(label("Sla.Target"))).Append("</th><th>").Append(E(label("Sla.Verdict")))
            .Append("</th></tr></thead><tbody>");
        foreach (var l in lines)
        {
            sb.Append("<tr><td>").Append(E(label($"Sla.Side.{l.Side}"))).Append("</td><td>").Append(E(label($"Sla.Line.{l.Line}")))
                .Append("</td><td class=\"num\">").Append(E(Value(l.Line, l.Actual, culture, label))).Append("</td><td class=\"num\">")
                .Append(E(Value(l.Line, l.Target, culture, label))).Append("</td><td class=\"").Append(l.Verdict).Append("\">")
                .Append(E(label($"Sla.Verdict.{l.Verdict}"))).Append("</td></tr>");
        }
        sb.Append("</tbody></table>");
    }

    public static void AppendWeeks(StringBuilder sb, IEnumerable<SlaWeek> weeks, CultureInfo culture, Func<string, string> label)
    {
        sb.Append("<h2>").Append(E(label("Sla.ByWeek"))).Append("</h2><table><thead><tr>");
        foreach (var h in new[] { "Dash.Week", "Sla.Delivered", "Sla.Committed", "Sla.Line.acceptance", "Sla.Line.rating", "Sla.Line.firstTouch", "Sla.Line.speedToLead", "Sla.Line.attempts" })
            sb.Append("<th>").Append(E(label(h))).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        foreach (var w in weeks)
        {
            sb.Append("<tr><td>").Append(E(w.From.ToString("d", culture) + " – " + w.To.ToString("d", culture))).Append("</td>");
            Cell("mqls", w.Marketing.MqlsDelivered);
            Cell("mqls", w.Marketing.MqlsCommitted);
            Cell("acceptance", w.Marketing.AcceptanceRate);
            Cell("rating", w.Marketing.MeanRating);
            Cell("firstTouch", w.Sales.FirstTouchCompliance);
            Cell("speedToLead", w.Sales.MedianSpeedToLeadMinutes is { } m ? (decimal)m : null);
            Cell("attempts", w.Sales.AttemptsCompliance);
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");

        void Cell(string line, decimal? value) => sb.Append("<td class=\"num\">").Append(E(Value(line, value, culture, label))).Append("</td>");
    }

    public static string E(string? value) => WebUtility.HtmlEncode(value ?? "");
}
