using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Tandem.Tests.Infrastructure;

/// <summary>One request the sink received: its path, headers and body.</summary>
public sealed record ReceivedRequest(string Path, IHeaderDictionary Headers, string Body, int AnsweredWith);

/// <summary>A real HTTP server (Kestrel on a loopback port) that records POSTed bodies; can answer 500 on demand.</summary>
public sealed class HttpSink : IAsyncDisposable
{
    private readonly WebApplication _app;

    public ConcurrentQueue<string> Bodies { get; } = new();
    /// <summary>Every request, successful or not, with its headers (outbound webhook tests check signatures).</summary>
    public ConcurrentQueue<ReceivedRequest> Received { get; } = new();
    /// <summary>Status code to answer instead of 200 (e.g. 500, or 404 for a revoked webhook).</summary>
    public int? FailWith { get; set; }
    /// <summary>Chooses the status per request (1-based request number); wins over <see cref="FailWith"/>.</summary>
    public Func<int, int>? Respond { get; set; }
    /// <summary>Waits this long before answering (timeouts).</summary>
    public TimeSpan Delay { get; set; }
    /// <summary>Keep only the count, not the bodies (benchmarks).</summary>
    public bool CountOnly { get; set; }
    public string Url { get; private set; } = "";
    public string BaseUrl { get; private set; } = "";
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
            var number = Interlocked.Increment(ref _requests);
            using var reader = new StreamReader(ctx.Request.Body);
            var body = await reader.ReadToEndAsync();
            if (Delay > TimeSpan.Zero)
                await Task.Delay(Delay);
            var status = Respond?.Invoke(number) ?? FailWith ?? 200;
            if (CountOnly)
                return Results.Text("ok", statusCode: status);
            Received.Enqueue(new ReceivedRequest(ctx.Request.Path, new HeaderDictionary(ctx.Request.Headers.ToDictionary(h => h.Key, h => h.Value)), body, status));
            if (status >= 300)
                return Results.Text("simulated failure", statusCode: status);
            Bodies.Enqueue(body);
            return Results.Text("ok");
        });
    }

    public static async Task<HttpSink> StartAsync()
    {
        var sink = new HttpSink();
        await sink._app.StartAsync();
        sink.BaseUrl = sink._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        sink.Url = sink.BaseUrl + "/services/T000/B000/secret";
        return sink;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
