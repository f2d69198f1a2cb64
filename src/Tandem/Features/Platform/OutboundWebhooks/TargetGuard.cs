using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace Tandem.Features.Platform.OutboundWebhooks;

/// <summary>A request to a target the SSRF guard refuses (an address on a loopback, private or link-local network).</summary>
public sealed class TargetRefusedException(string message) : HttpRequestException(message);

/// <summary>
/// SSRF guard for every URL an admin gives Tandem to call (outbound webhooks, chat webhooks). The host name is resolved
/// and every address checked when the URL is saved, and again when connecting: the HTTP handler's connect callback
/// resolves the name itself, refuses if any address is internal, and connects to the checked address, so a DNS answer
/// that changes between the check and the request (DNS rebinding) cannot reach an internal service either.
/// <c>Tandem:Webhooks:AllowPrivateTargets</c> turns it off (tests and single-network setups).
/// </summary>
public sealed class TargetGuard(IOptionsMonitor<WebhookOptions> options)
{
    public bool AllowPrivate => options.CurrentValue.AllowPrivateTargets;

    /// <summary>Whether the address is on a network an outside caller should never reach through Tandem.</summary>
    public static bool IsInternal(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) || address.Equals(IPAddress.Broadcast))
            return true;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 0 // "this" network
                || b[0] == 10
                || (b[0] == 172 && b[1] is >= 16 and <= 31)
                || (b[0] == 192 && b[1] == 168)
                || (b[0] == 169 && b[1] == 254) // link-local (cloud metadata services)
                || (b[0] == 100 && b[1] is >= 64 and <= 127) // carrier-grade NAT
                || (b[0] == 192 && b[1] == 0 && b[2] == 0) // IETF protocol assignments
                || (b[0] == 198 && b[1] is 18 or 19) // benchmarking
                || b[0] >= 224; // multicast and reserved
        }
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var b = address.GetAddressBytes();
            return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast
                || (b[0] & 0xFE) == 0xFC // unique local fc00::/7
                || (b[0] == 0x20 && b[1] == 0x02 && IsInternal(new IPAddress(b[2..6]))) // 6to4 wrapping an internal IPv4 address
                || (b[0] == 0 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B && IsInternal(new IPAddress(b[12..16]))); // NAT64
        }
        return true;
    }

    /// <summary>Resolves <paramref name="host"/> (or takes the literal address) and returns every address, or throws.</summary>
    private static async Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) =>
        IPAddress.TryParse(host.Trim('[', ']'), out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, ct);

    /// <summary>
    /// Null when Tandem may call <paramref name="url"/>; otherwise why not, as a resource key (<c>Webhooks.Guard.*</c>).
    /// </summary>
    public async Task<string?> CheckAsync(Uri url, CancellationToken ct)
    {
        if (AllowPrivate)
            return null;
        if (url.IsLoopback || url.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || url.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            return "OutboundWebhooks.Error.PrivateTarget";
        IPAddress[] addresses;
        try
        {
            addresses = await ResolveAsync(url.IdnHost, ct);
        }
        catch (SocketException)
        {
            return "OutboundWebhooks.Error.Unresolvable";
        }
        if (addresses.Length == 0)
            return "OutboundWebhooks.Error.Unresolvable";
        return addresses.Any(IsInternal) ? "OutboundWebhooks.Error.PrivateTarget" : null;
    }

    /// <summary>An HTTP handler whose every connection goes through the guard (no redirects: a webhook is not followed elsewhere).</summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        MaxConnectionsPerServer = 256,
        UseCookies = false,
        ConnectCallback = ConnectAsync,
    };

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken ct)
    {
        var addresses = await ResolveAsync(context.DnsEndPoint.Host, ct);
        if (!AllowPrivate && addresses.FirstOrDefault(IsInternal) is { } refused)
            throw new TargetRefusedException($"{context.DnsEndPoint.Host} resolves to {refused}, an address on a private, loopback or link-local network; " +
                "Tandem does not call such targets (Tandem:Webhooks:AllowPrivateTargets).");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, ct);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
