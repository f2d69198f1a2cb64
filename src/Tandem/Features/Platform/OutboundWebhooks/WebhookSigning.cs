using System.Security.Cryptography;
using System.Text;

namespace Tandem.Features.Platform.OutboundWebhooks;

/// <summary>
/// Standard Webhooks signing (https://www.standardwebhooks.com): secrets are <c>whsec_</c> + base64 of 32 random bytes;
/// <c>webhook-signature</c> is <c>v1,</c> + base64 HMAC-SHA256 of <c>{id}.{timestamp}.{body}</c> keyed with the decoded
/// secret, several signatures separated by spaces (during a rotation's overlap).
/// </summary>
public static class WebhookSigning
{
    public const string SecretPrefix = "whsec_";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static byte[] Key(string secret) =>
        Convert.FromBase64String(secret.StartsWith(SecretPrefix, StringComparison.Ordinal) ? secret[SecretPrefix.Length..] : secret);

    /// <summary>One <c>v1,…</c> signature of the message with the given key.</summary>
    public static string Sign(byte[] key, string messageId, long timestamp, string body)
    {
        var content = Encoding.UTF8.GetBytes($"{messageId}.{timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture)}.{body}");
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    /// <summary>
    /// The <c>webhook-signature</c> header value: one signature per key, space-separated, the current key first. With several
    /// keys the first signature is repeated at the end: the .NET StandardWebhooks package (1.1.x) stops before the last
    /// entry of a list, so without the repeat its users would only ever match the first key. The spec allows any number of
    /// signatures, and other verifiers just check one more.
    /// </summary>
    public static string SignatureHeaderValue(IReadOnlyList<byte[]> keys, string messageId, long timestamp, string body)
    {
        var signatures = keys.Select(k => Sign(k, messageId, timestamp, body)).ToList();
        if (signatures.Count > 1)
            signatures.Add(signatures[0]);
        return string.Join(' ', signatures);
    }
}
