using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace Tandem.Features.Platform.Notifications;

/// <summary>A send that did not work. <see cref="Permanent"/>: the other side refused for good, retrying cannot help.</summary>
public sealed class NotificationSendException(string message, bool permanent, Exception? inner = null) : Exception(message, inner)
{
    public bool Permanent { get; } = permanent;
}

public sealed record SmtpEndpoint(string Host, int Port, SmtpSecurity Security, string? Username, string? Password);

/// <param name="HtmlBody">When given, the email is multipart/alternative: the text and this HTML.</param>
public sealed record EmailMessage(Guid NotificationId, string FromAddress, string? FromName, string To, string Subject, string TextBody, string? HtmlBody = null);

/// <summary>Sends one email. Throws <see cref="NotificationSendException"/> on failure.</summary>
public interface IEmailTransport
{
    Task SendAsync(SmtpEndpoint server, EmailMessage message, CancellationToken ct);
}

/// <summary>Posts one JSON payload to a chat incoming webhook. Throws <see cref="NotificationSendException"/> on failure.</summary>
public interface IChatTransport
{
    Task PostAsync(Uri webhook, string json, CancellationToken ct);
}

/// <summary>SMTP through MailKit, one connection per message.</summary>
public sealed class MailKitEmailTransport(IOptions<NotificationOptions> options) : IEmailTransport
{
    public async Task SendAsync(SmtpEndpoint server, EmailMessage message, CancellationToken ct)
    {
        var mime = new MimeMessage
        {
            MessageId = NotificationRules.MessageId(message.NotificationId, message.FromAddress),
            Subject = message.Subject,
            Body = message.HtmlBody is null
                ? new TextPart("plain") { Text = message.TextBody }
                : new BodyBuilder { TextBody = message.TextBody, HtmlBody = message.HtmlBody }.ToMessageBody(),
        };
        mime.From.Add(new MailboxAddress(message.FromName ?? "", message.FromAddress));
        mime.To.Add(MailboxAddress.Parse(message.To));
        mime.Headers.Add("Auto-Submitted", "auto-generated");

        using var client = new SmtpClient { Timeout = (int)TimeSpan.FromSeconds(options.Value.SmtpTimeoutSeconds).TotalMilliseconds };
        try
        {
            var security = server.Security switch
            {
                SmtpSecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
                SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(server.Host, server.Port, security, ct);
            if (!string.IsNullOrEmpty(server.Username))
                await client.AuthenticateAsync(server.Username, server.Password ?? "", ct);
            await client.SendAsync(mime, ct);
            await client.DisconnectAsync(quit: true, ct);
        }
        catch (SmtpCommandException ex)
        {
            // 5xx is a definite refusal (unknown mailbox, relay denied); 4xx asks us to try later.
            var permanent = (int)ex.StatusCode >= 500;
            throw new NotificationSendException($"SMTP {(int)ex.StatusCode} {ex.Message}".Trim(), permanent, ex);
        }
        catch (AuthenticationException ex)
        {
            throw new NotificationSendException("SMTP authentication failed: " + ex.Message, permanent: false, ex);
        }
        catch (Exception ex) when (ex is SocketException or IOException or SmtpProtocolException or ServiceNotConnectedException
            or SslHandshakeException or NotSupportedException or TimeoutException
            || (ex is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new NotificationSendException($"SMTP {server.Host}:{server.Port}: {ex.Message}", permanent: false, ex);
        }
    }
}

/// <summary>Slack-compatible incoming webhooks (Slack, Mattermost, Rocket.Chat, Teams workflows).</summary>
public sealed class WebhookChatTransport(IHttpClientFactory clients) : IChatTransport
{
    public const string HttpClientName = "Tandem.Notifications.Chat";

    public async Task PostAsync(Uri webhook, string json, CancellationToken ct)
    {
        var http = clients.CreateClient(HttpClientName);
        HttpResponseMessage response;
        try
        {
            response = await http.PostAsync(webhook, new StringContent(json, System.Text.Encoding.UTF8, "application/json"), ct);
        }
        catch (HttpRequestException ex) when (ex is OutboundWebhooks.TargetRefusedException || ex.InnerException is OutboundWebhooks.TargetRefusedException)
        {
            throw new NotificationSendException($"Chat webhook {webhook.Host}: {(ex as OutboundWebhooks.TargetRefusedException ?? ex.InnerException)!.Message}", permanent: true, ex);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !ct.IsCancellationRequested))
        {
            throw new NotificationSendException($"Chat webhook {webhook.Host}: {ex.Message}", permanent: false, ex);
        }
        using (response)
        {
            if (response.IsSuccessStatusCode)
                return;
            var status = (int)response.StatusCode;
            var detail = await ReadShortAsync(response, ct);
            // Slack answers 4xx for a revoked webhook or a bad payload: retrying the same request cannot succeed.
            var permanent = status is >= 400 and < 500 and not 408 and not 429;
            throw new NotificationSendException($"Chat webhook {webhook.Host} answered {status} {response.ReasonPhrase} {detail}".Trim(), permanent);
        }
    }

    private static async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken ct)
    {
        try
        {
            var text = await response.Content.ReadAsStringAsync(ct);
            return NotificationRules.Truncate(text.ReplaceLineEndings(" "), 300);
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }
}
