using System.Text;
using System.Text.Encodings.Web;

namespace Tandem.Features.Capture.Forms;

/// <summary>The HTML a marketer pastes into a site page. Every text from the form definition is HTML-encoded.</summary>
public static class FormSnippet
{
    public static string ActionUrl(string publicBaseUrl, string key) => $"{publicBaseUrl.TrimEnd('/')}/f/{Uri.EscapeDataString(key)}";

    public static string Build(LeadForm form, string publicBaseUrl)
    {
        var h = HtmlEncoder.Default;
        var id = "tandem-form-" + form.Key;
        var sb = new StringBuilder();
        sb.Append("<form id=\"").Append(h.Encode(id)).Append("\" method=\"post\" action=\"").Append(h.Encode(ActionUrl(publicBaseUrl, form.Key)))
          .Append("\" accept-charset=\"utf-8\">\n");
        foreach (var field in form.Fields)
        {
            var inputId = h.Encode($"{id}-{field.Name}");
            var name = h.Encode(field.Name);
            var required = field.Required ? " required" : "";
            var label = h.Encode(field.Label);
            sb.Append("  <p>");
            switch (field.Type)
            {
                case FormFieldType.Checkbox:
                    sb.Append($"<label><input type=\"checkbox\" name=\"{name}\" value=\"true\"{required}> {label}</label>");
                    break;
                case FormFieldType.TextArea:
                    sb.Append($"<label for=\"{inputId}\">{label}</label><br><textarea id=\"{inputId}\" name=\"{name}\"{required}></textarea>");
                    break;
                default:
                    var type = field.Type switch
                    {
                        FormFieldType.Email => "email",
                        FormFieldType.Phone => "tel",
                        FormFieldType.Number => "number",
                        _ => "text",
                    };
                    var autocomplete = field.Name switch
                    {
                        "email" => " autocomplete=\"email\"",
                        "firstName" => " autocomplete=\"given-name\"",
                        "lastName" => " autocomplete=\"family-name\"",
                        "phone" => " autocomplete=\"tel\"",
                        "company" => " autocomplete=\"organization\"",
                        "jobTitle" => " autocomplete=\"organization-title\"",
                        _ => "",
                    };
                    sb.Append($"<label for=\"{inputId}\">{label}</label><br><input id=\"{inputId}\" type=\"{type}\" name=\"{name}\"{autocomplete}{required}>");
                    break;
            }
            sb.Append("</p>\n");
        }
        if (form.ConsentText is { } consent)
            sb.Append($"  <p><label><input type=\"checkbox\" name=\"{FormRules.ConsentField}\" value=\"true\"> {h.Encode(consent)}</label></p>\n");
        // Humans never see the honeypot (moved off-screen rather than display:none, which some bots skip).
        sb.Append($"  <div style=\"position:absolute;left:-10000px;top:auto;width:1px;height:1px;overflow:hidden\" aria-hidden=\"true\"><label>Leave this empty <input type=\"text\" name=\"{h.Encode(form.HoneypotField)}\" tabindex=\"-1\" autocomplete=\"off\"></label></div>\n");
        foreach (var hidden in new[] { "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page", FormRules.FillTimeField })
            sb.Append($"  <input type=\"hidden\" name=\"{hidden}\">\n");
        sb.Append("  <p><button type=\"submit\">Send</button></p>\n</form>\n");
        sb.Append("<script>(function(){var f=document.getElementById('").Append(id).Append("');if(!f)return;")
          .Append("var t0=performance.now(),q=new URLSearchParams(location.search);")
          .Append("['utm_source','utm_medium','utm_campaign','utm_term','utm_content'].forEach(function(n){var v=q.get(n);if(v)f.elements[n].value=v;});")
          .Append("f.elements['referrer'].value=document.referrer;f.elements['landing_page'].value=location.href;")
          .Append("f.addEventListener('submit',function(){f.elements['_ts'].value=Math.round(performance.now()-t0);});})();</script>\n");
        return sb.ToString();
    }
}
