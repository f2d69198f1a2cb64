namespace Tandem.Tests.Unit;

/// <summary>Row ids: UUID version 7 as <see cref="Guid.CreateVersion7()"/> writes them, random bits from a buffered secure source.</summary>
public sealed class IdsTests
{
    [Fact]
    public void IdsAreVersion7WithTheRfcVariantAndTheTimestampInTheFirst48Bits()
    {
        var at = new DateTimeOffset(2026, 12, 7, 10, 30, 15, 123, TimeSpan.Zero);
        var id = Ids.New(at);
        Assert.Equal(7, id.Version);
        Assert.Equal(0b10, id.Variant >> 2);
        var text = id.ToString("N");
        Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(text[..12], 16));
        // Same layout as the framework's own version 7 ids: both sort by time first.
        var framework = Guid.CreateVersion7(at);
        Assert.Equal(framework.ToString("N")[..12], text[..12]);
        Assert.Equal(framework.ToString("N")[12], text[12]);
    }

    [Fact]
    public void IdsAreUniqueAcrossThreadsAndBufferRefills()
    {
        var ids = new System.Collections.Concurrent.ConcurrentBag<Guid>();
        Parallel.For(0, 4, _ =>
        {
            for (var i = 0; i < 20_000; i++)
                ids.Add(Ids.New());
        });
        Assert.Equal(80_000, ids.Distinct().Count());
        // The random part is not constant: bytes 8-15 vary, beyond the variant bits.
        Assert.True(ids.Select(g => g.ToByteArray()[15]).Distinct().Count() > 200);
    }

    [Fact]
    public void IdsMadeLaterSortAfterOnesMadeEarlierInPostgresOrder()
    {
        var first = Ids.New(DateTimeOffset.UnixEpoch.AddDays(20_000));
        var second = Ids.New(DateTimeOffset.UnixEpoch.AddDays(20_000).AddMilliseconds(1));
        // PostgreSQL compares uuids byte by byte in their text order.
        Assert.True(string.CompareOrdinal(first.ToString("N"), second.ToString("N")) < 0);
    }
}
