using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using CsCheck;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Tandem.Data;
using Tandem.Features.Capture.Forms;
using Tandem.Features.Capture.Webhooks;
using Tandem.Features.Platform;
using Tandem.Tests.Infrastructure;

namespace Tandem.Tests.Capture;

/// <summary>
/// A property-based corpus (CsCheck) of hostile strings — NUL, lone surrogates, huge, empty, right-to-left, emoji, BOM, control
/// characters, arbitrary UTF-16 — sent through the public form (JSON and urlencoded), a webhook and the JSON capture API:
/// 200 cases per endpoint, never a 5xx, and never a partial write (an accepted submission has its lead with storable text,
/// a refused one left nothing behind).
/// </summary>
public abstract class HostileTextCorpusTests(DatabaseProvider provider)
{
    private const int Cases = 200;
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Gen<string> Piece = Gen.OneOf<string>(
        Gen.String[0, 12],
        Gen.Char.Select(c => c.ToString()),
        Gen.Const("\0"), Gen.Const("\ud800"), Gen.Const("\udfff"), Gen.Const("\ud83d\ude00"), Gen.Const("😀👩‍💻"),
        Gen.Const("\u202Eevil\u202C"), Gen.Const("مرحبا بالعالم"), Gen.Const("שלום"), Gen.Const(""), Gen.Const(" "),
        Gen.Const(new string('x', 3000)), Gen.Const("\uFEFF"), Gen.Const("\r\n\t"), Gen.Const("<script>alert(1)</script>"),
        Gen.Const("'; DROP TABLE \"Leads\"; --"), Gen.Const("\\u0000"), Gen.Const("%00"), Gen.Const("\u0001\u001f\u007f"));

    private static readonly Gen<string> Hostile = Piece.Array[0, 5].Select(parts => string.Concat(parts));

    /// <summary>JSON text for a string, every non-ASCII or control character escaped: lone surrogates reach the server as they are.</summary>
    private static string JsonString(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            if (c is '"' or '\\')
                sb.Append('\\').Append(c);
            else if (c < 0x20 || c > 0x7e)
                sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
            else
                sb.Append(c);
        }
        return sb.Append('"').ToString();
    }

    /// <summary>application/x-www-form-urlencoded by hand: UTF-8 (a lone surrogate becomes U+FFFD's bytes, as a browser sends it).</summary>
    private static ByteArrayContent UrlEncoded(params (string Key, string Value)[] fields)
    {
        var body = string.Join("&", fields.Select(f => $"{Percent(f.Key)}={Percent(f.Value)}"));
        var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        return content;

        static string Percent(string s) => string.Concat(Encoding.UTF8.GetBytes(s).Select(b =>
            b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' ? ((char)b).ToString() : $"%{b:X2}"));
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task PublicCaptureEndpointsNeverAnswer5xxNorWritePartially()
    {
        await using var app = await TandemApp.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerIp"] = "100000",
            ["Tandem:RateLimits:FormSubmissionsPerMinutePerForm"] = "100000",
        });
        var admin = app.CreateApiClient(await app.CreateApiKeyAsync(Scopes.Admin, Scopes.Ingest, Scopes.Read));
        var formResponse = await admin.PostAsJsonAsync("/api/v1/forms", new
        {
            name = "Corpus",
            fields = new object[] { new { name = "email", label = "Email", required = true, type = "Email" }, new { name = "firstName", label = "First" }, new { name = "company", label = "Company" } },
            minFillSeconds = 0,
        }, Ct);
        Assert.True(formResponse.StatusCode == HttpStatusCode.Created, await formResponse.Content.ReadAsStringAsync(Ct));
        var form = (await formResponse.Content.ReadFromJsonAsync<FormDto>(JsonOptions, Ct))!;
        var sourceResponse = await admin.PostAsJsonAsync("/api/v1/webhook-sources", new
        {
            name = "Corpus",
            signatureHeader = "X-Signature",
            mappings = new[] { new { target = "email", path = "$.email" }, new { target = "firstName", path = "$.first" }, new { target = "company", path = "$.company" } },
        }, Ct);
        Assert.True(sourceResponse.StatusCode == HttpStatusCode.Created, await sourceResponse.Content.ReadAsStringAsync(Ct));
        var source = (await sourceResponse.Content.ReadFromJsonAsync<WebhookSourceDto>(JsonOptions, Ct))!;
        var visitor = app.CreateApiClient();
        var counter = 0;

        async Task CheckAsync(string channel, string email, HttpResponseMessage response, bool deadLetterCounts)
        {
            var status = (int)response.StatusCode;
            Assert.True(status < 500, $"{channel}: {status} {await response.Content.ReadAsStringAsync(Ct)}");
            var (leads, letters) = await app.WithServiceAsync(async sp =>
            {
                var db = sp.GetRequiredService<TandemDb>();
                var found = await db.Leads.AsNoTracking().Where(l => l.Email == email).ToListAsync(Ct);
                return (found, await db.WebhookDeadLetters.CountAsync(Ct));
            });
            if (status is >= 200 and < 300 && response.StatusCode != HttpStatusCode.Accepted)
            {
                var lead = Assert.Single(leads);
                Assert.True(SafeText.IsStorable(lead.FirstName ?? "") && SafeText.IsStorable(lead.Company ?? ""), $"{channel}: unstorable text kept");
            }
            else if (!deadLetterCounts || response.StatusCode != HttpStatusCode.Accepted)
                Assert.Empty(leads); // refused: nothing of it was written
        }

        await Gen.Select(Hostile, Hostile, Hostile).SampleAsync(async (first, company, extra) =>
        {
            var n = Interlocked.Increment(ref counter);
            var body = $$"""{"email":"form{{n}}@corpus.example","firstName":{{JsonString(first)}},"company":{{JsonString(company)}},"note":{{JsonString(extra)}}}""";
            await CheckAsync("form json", $"form{n}@corpus.example", await visitor.PostAsync($"/f/{form.Key}", Json(body), Ct), false);

            await CheckAsync("form urlencoded", $"url{n}@corpus.example", await visitor.PostAsync($"/f/{form.Key}",
                UrlEncoded(("email", $"url{n}@corpus.example"), ("firstName", first), ("company", company), (extra.Length == 0 ? "x" : extra, "v")), Ct), false);

            var hook = $$"""{"email":"hook{{n}}@corpus.example","first":{{JsonString(first)}},"company":{{JsonString(company)}},"other":{{JsonString(extra)}}}""";
            await CheckAsync("webhook", $"hook{n}@corpus.example", await visitor.PostAsync(source.EndpointPath, Json(hook), Ct), true);

            var api = $$"""{"email":"api{{n}}@corpus.example","firstName":{{JsonString(first)}},"company":{{JsonString(company)}},"customFields":null}""";
            await CheckAsync("api", $"api{n}@corpus.example", await admin.PostAsync("/api/v1/leads", Json(api), Ct), false);
        }, iter: Cases, threads: 1);
    }
}

public sealed class HostileTextCorpusOnSqlite() : HostileTextCorpusTests(DatabaseProvider.Sqlite);

public sealed class HostileTextCorpusOnPostgres() : HostileTextCorpusTests(DatabaseProvider.Postgres);
