using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tandem.Tests.Infrastructure;

/// <summary>A real HTTP server (Kestrel on a loopback port) that records POSTed bodies; can answer 500 on demand.</summary>
public sealed class HttpSink : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<string> Bodies { get; } = new();
    /// <summary>Status code to answer instead of 200 (e.g. 500, or 404 for a revoked webhook).</summary>
    public int? FailWith { get; set; }
    public string Url { get; private set; } = "";
    public int Requests => _requests;
    private int _requests;

    private HttpSink()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/{**path}", async (HttpContext ctx) =>
        {
            Interlocked.Increment(ref _requests);
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (FailWith is { } status)
                return Results.Text("simulated failure", statusCode: status);
            Bodies.Enqueue(body);
            return Results.Text("ok");
        });
    }

    public static async Task<HttpSink> StartAsync()
    {
        var sink = new HttpSink();
        await sink._app.StartAsync();
        sink.Url = sink._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/services/T000/B000/secret";
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
