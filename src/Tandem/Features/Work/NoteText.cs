using System.Net;
using Ganss.Xss;

namespace Tandem.Features.Work;

/// <summary>A mention found in a note's text: where the <c>@</c> is and the user it names.</summary>
public sealed record MentionMatch(int Index, string Written, Guid? UserId, bool Active);

/// <summary>A person a mention may name.</summary>
public sealed record MentionCandidate(Guid Id, string Name, bool Active);

/// <summary>
/// The text rules of notes (decision 021c), pure: plain text is HTML-encoded with its line breaks kept; text that contains markup is
/// sanitized down to a few inert tags (no script, style, event handler, image, iframe or non-http link survives).
/// </summary>
public static class NoteText
{
    /// <summary>The only tags a note keeps.</summary>
    public static readonly IReadOnlySet<string> AllowedTags = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
        { "b", "strong", "i", "em", "u", "s", "p", "br", "ul", "ol", "li", "a", "code", "pre", "blockquote" };

    private static readonly HtmlSanitizer Sanitizer = CreateSanitizer();

    private static HtmlSanitizer CreateSanitizer()
    {
        var sanitizer = new HtmlSanitizer(new HtmlSanitizerOptions
        {
            AllowedTags = new HashSet<string>(AllowedTags, StringComparer.OrdinalIgnoreCase),
            AllowedAttributes = new HashSet<string>(["href"], StringComparer.OrdinalIgnoreCase),
            AllowedSchemes = new HashSet<string>(["http", "https", "mailto"], StringComparer.OrdinalIgnoreCase),
            UriAttributes = new HashSet<string>(["href"], StringComparer.OrdinalIgnoreCase),
            AllowedCssProperties = new HashSet<string>(StringComparer.OrdinalIgnoreCase),
            AllowedAtRules = new HashSet<AngleSharp.Css.Dom.CssRuleType>(),
        });
        // Links open elsewhere and never hand this page to the target.
        sanitizer.PostProcessNode += (_, e) =>
        {
            if (e.Node is AngleSharp.Dom.IElement { LocalName: "a" } a)
                a.SetAttribute("rel", "noopener noreferrer nofollow");
        };
        return sanitizer;
    }

    /// <summary>Whether the text contains markup (a tag or a closing tag); otherwise it is plain text.</summary>
    public static bool LooksLikeHtml(string text)
    {
        for (var i = text.IndexOf('<'); i >= 0 && i < text.Length - 1; i = text.IndexOf('<', i + 1))
        {
            var next = text[i + 1];
            if (char.IsAsciiLetter(next) || next is '/' or '!' or '?')
                return true;
        }
        return false;
    }

    /// <summary>The HTML stored for <paramref name="input"/>: encoded plain text with line breaks, or sanitized markup.</summary>
    public static string ToSafeHtml(string input)
    {
        var text = input.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
        if (!LooksLikeHtml(text))
            return string.Join("<br>", text.Split('\n').Select(WebUtility.HtmlEncode));
        return Sanitizer.Sanitize(text).Trim();
    }

    /// <summary>Stored note HTML made safe again for display (defence in depth: rows written by other means are cleaned too).</summary>
    public static string Render(string storedHtml) => Sanitizer.Sanitize(storedHtml);

    /// <summary>The visible text of stored note HTML (line breaks and block ends become new lines).</summary>
    public static string ToPlainText(string html)
    {
        var parser = new AngleSharp.Html.Parser.HtmlParser();
        var document = parser.ParseDocument("<!DOCTYPE html><html><body></body></html>");
        var nodes = parser.ParseFragment(html, document.Body!);
        var sb = new System.Text.StringBuilder();
        foreach (var node in nodes)
            AppendText(node, sb);
        return sb.ToString().Trim();
    }

    private static void AppendText(AngleSharp.Dom.INode node, System.Text.StringBuilder sb)
    {
        if (node is AngleSharp.Dom.IText t)
        {
            sb.Append(t.Data);
            return;
        }
        if (node is AngleSharp.Dom.IElement { LocalName: "br" })
        {
            sb.Append('\n');
            return;
        }
        foreach (var child in node.ChildNodes)
            AppendText(child, sb);
        if (node is AngleSharp.Dom.IElement { LocalName: "p" or "li" or "blockquote" or "pre" })
            sb.Append('\n');
    }

    /// <summary>
    /// The mentions in <paramref name="text"/>: an <c>@</c> at the start or after a character that is not a letter or digit (so an email
    /// address is not a mention), followed by a letter. Each names the candidate with the longest name written right after it (whole
    /// words, case-insensitive; an active person wins a tie); one naming nobody has a null <see cref="MentionMatch.UserId"/> and the
    /// word written after the <c>@</c>.
    /// </summary>
    public static IReadOnlyList<MentionMatch> FindMentions(string text, IReadOnlyCollection<MentionCandidate> candidates)
    {
        var found = new List<MentionMatch>();
        var ordered = candidates.Where(c => !string.IsNullOrWhiteSpace(c.Name))
            .OrderByDescending(c => c.Name.Trim().Length).ThenByDescending(c => c.Active).ToList();
        for (var at = text.IndexOf('@'); at >= 0; at = text.IndexOf('@', at + 1))
        {
            if (at > 0 && char.IsLetterOrDigit(text[at - 1]) || at + 1 >= text.Length || !char.IsLetter(text[at + 1]))
                continue;
            var rest = text.AsSpan(at + 1);
            MentionCandidate? match = null;
            foreach (var c in ordered)
            {
                var name = c.Name.Trim();
                if (rest.StartsWith(name, StringComparison.OrdinalIgnoreCase) && (rest.Length == name.Length || !char.IsLetterOrDigit(rest[name.Length])))
                {
                    match = c;
                    break;
                }
            }
            if (match is not null)
            {
                found.Add(new MentionMatch(at, "@" + match.Name.Trim(), match.Id, match.Active));
                continue;
            }
            var end = 0;
            while (end < rest.Length && (char.IsLetterOrDigit(rest[end]) || rest[end] is '-' or '.' or '\'' or '_'))
                end++;
            found.Add(new MentionMatch(at, "@" + rest[..end].ToString().TrimEnd('.'), null, false));
        }
        return found;
    }
}
