using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Tandem.Tests.Infrastructure;

/// <summary>
/// A tiny SMTP server on a loopback port: enough of RFC 5321 (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) to
/// receive MailKit's messages. It can refuse (a reply code for MAIL FROM) or be stopped and started again on the same port.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private TcpListener? _listener;
    private CancellationTokenSource? _stop;
    private Task? _accepting;

    public int Port { get; private set; }
    public ConcurrentQueue<ReceivedMail> Messages { get; } = new();
    /// <summary>When set, MAIL FROM gets this reply (e.g. "451 4.3.0 Try later" or "550 5.7.1 Relay denied").</summary>
    public string? RejectWith { get; set; }

    public sealed record ReceivedMail(string From, IReadOnlyList<string> To, string Data);

    public static SmtpSink Start()
    {
        var sink = new SmtpSink();
        sink.Listen(0);
        return sink;
    }

    private void Listen(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _stop = new CancellationTokenSource();
        _accepting = AcceptAsync(listener, _stop.Token);
    }

    /// <summary>Stops listening: connections are refused, like a server that is down.</summary>
    public async Task StopAsync()
    {
        if (_listener is null)
            return;
        await _stop!.CancelAsync();
        _listener.Stop();
        try { await _accepting!; } catch (OperationCanceledException) { } catch (SocketException) { } catch (ObjectDisposedException) { }
        _listener = null;
    }

    /// <summary>Listens again on the same port.</summary>
    public void Restart() => Listen(Port);

    private async Task AcceptAsync(TcpListener listener, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var client = await listener.AcceptTcpClientAsync(ct);
            _ = Task.Run(() => ServeAsync(client, ct), ct);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.Latin1, false, 4096, leaveOpen: true);
            await using var writer = new StreamWriter(stream, Encoding.Latin1, 4096, leaveOpen: true) { NewLine = "\r\n", AutoFlush = true };
            await writer.WriteLineAsync("220 sink.test ESMTP ready");
            string? from = null;
            var to = new List<string>();
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await writer.WriteLineAsync("250-sink.test");
                        await writer.WriteLineAsync("250 SIZE 10485760");
                        break;
                    case "HELO":
                        await writer.WriteLineAsync("250 sink.test");
                        break;
                    case "MAIL":
                        if (RejectWith is { } reject)
                        {
                            await writer.WriteLineAsync(reject);
                            break;
                        }
                        from = Address(line);
                        to.Clear();
                        await writer.WriteLineAsync("250 2.1.0 OK");
                        break;
                    case "RCPT":
                        to.Add(Address(line));
                        await writer.WriteLineAsync("250 2.1.5 OK");
                        break;
                    case "DATA":
                        await writer.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>");
                        var data = new StringBuilder();
                        while (await reader.ReadLineAsync(ct) is { } dataLine && dataLine != ".")
                            data.Append(dataLine.StartsWith("..", StringComparison.Ordinal) ? dataLine[1..] : dataLine).Append("\r\n");
                        Messages.Enqueue(new ReceivedMail(from ?? "", [.. to], data.ToString()));
                        await writer.WriteLineAsync("250 2.0.0 Queued");
                        break;
                    case "RSET":
                        from = null;
                        to.Clear();
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "NOOP":
                        await writer.WriteLineAsync("250 2.0.0 OK");
                        break;
                    case "QUIT":
                        await writer.WriteLineAsync("221 2.0.0 Bye");
                        return;
                    default:
                        await writer.WriteLineAsync("502 5.5.2 Command not implemented");
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    private static string Address(string line)
    {
        var start = line.IndexOf('<', StringComparison.Ordinal);
        var end = line.IndexOf('>', StringComparison.Ordinal);
        return start >= 0 && end > start ? line[(start + 1)..end] : line;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
