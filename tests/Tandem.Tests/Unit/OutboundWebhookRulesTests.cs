using System.Net;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;
using Tandem.Features.Platform.OutboundWebhooks;

namespace Tandem.Tests.Unit;

public sealed class OutboundWebhookRulesTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.1")]
    [InlineData("10.0.0.5")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.254")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("224.0.0.1")]
    [InlineData("::1")]
    [InlineData("fe80::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("::ffff:10.0.0.1")]
    [InlineData("2002:0a00:0001::1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    public void InternalAddressesAreRefused(string address) => Assert.True(TargetGuard.IsInternal(IPAddress.Parse(address)));

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("172.32.0.1")]
    [InlineData("8.8.8.8")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("::ffff:8.8.8.8")]
    public void PublicAddressesAreAllowed(string address) => Assert.False(TargetGuard.IsInternal(IPAddress.Parse(address)));

    [Fact]
    public void SignaturesVerifyWithTheStandardWebhooksPackageForEachKeyOfARotation()
    {
        var (current, previous) = (WebhookSigning.NewSecret(), WebhookSigning.NewSecret());
        const string id = "msg_0193";
        const string body = """{"type":"test","timestamp":"2026-12-07T10:00:00Z","data":{}}""";
        var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = WebhookSigning.SignatureHeaderValue([WebhookSigning.Key(current), WebhookSigning.Key(previous)], id, timestamp, body);
        var headers = new HeaderDictionary
        {
            ["webhook-id"] = id,
            ["webhook-timestamp"] = timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["webhook-signature"] = header,
        };
        new StandardWebhook(current).Verify(body, headers);
        new StandardWebhook(previous).Verify(body, headers);
        Assert.Equal(new StandardWebhook(current).Sign(id, DateTimeOffset.FromUnixTimeSeconds(timestamp), body), header.Split(' ')[0]);
        Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => new StandardWebhook(current).Verify(body + " ", headers));
    }
}
