using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Tandem.Features.Platform;

/// <summary>
/// Running behind a reverse proxy that terminates TLS (nginx, Caddy, a load balancer): <c>X-Forwarded-For</c> and
/// <c>X-Forwarded-Proto</c> are believed only from trusted proxies — loopback by default, plus
/// <c>Tandem:ReverseProxy:KnownProxies</c> (IP addresses) and <c>Tandem:ReverseProxy:KnownNetworks</c> (CIDR, e.g. <c>10.0.0.0/8</c>).
/// The scheme then makes cookies <c>Secure</c> and the client address feeds the per-IP rate limits.
/// </summary>
public static class ReverseProxy
{
    public static IServiceCollection AddTandemReverseProxy(this IServiceCollection services, IConfiguration configuration)
    {
        var proxies = configuration.GetSection("Tandem:ReverseProxy:KnownProxies").Get<string[]>() ?? [];
        var networks = configuration.GetSection("Tandem:ReverseProxy:KnownNetworks").Get<string[]>() ?? [];
        services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.ForwardLimit = configuration.GetValue("Tandem:ReverseProxy:ForwardLimit", 1);
            foreach (var proxy in proxies)
            {
                if (!IPAddress.TryParse(proxy, out var address))
                    throw new InvalidOperationException($"Tandem:ReverseProxy:KnownProxies: '{proxy}' is not an IP address.");
                o.KnownProxies.Add(address);
            }
            foreach (var network in networks)
            {
                if (!System.Net.IPNetwork.TryParse(network, out var parsed))
                    throw new InvalidOperationException($"Tandem:ReverseProxy:KnownNetworks: '{network}' is not a CIDR network (e.g. 10.0.0.0/8).");
                o.KnownIPNetworks.Add(parsed);
            }
        });
        return services;
    }
}
