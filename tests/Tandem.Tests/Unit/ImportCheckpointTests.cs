using Tandem.Features.Capture.CsvImport;

namespace Tandem.Tests.Unit;

/// <summary>The checkpoint of an import written by several writers: batches commit out of order, a restart skips every committed row.</summary>
public sealed class ImportCheckpointTests
{
    [Fact]
    public void BatchesCommittedOutOfOrderJoinTheContiguousPrefixOnceTheGapCloses()
    {
        var start = Checkpoint.Parse(1, null);
        var later = start.With(12, 21).With(22, 31);
        Assert.Equal(1, later.Contiguous);
        Assert.Equal("12-31", later.AheadText);
        Assert.False(later.Contains(2));
        Assert.True(later.Contains(12));
        Assert.True(later.Contains(31));
        Assert.False(later.Contains(32));

        var closed = later.With(2, 11);
        Assert.Equal(31, closed.Contiguous);
        Assert.Null(closed.AheadText);
        Assert.True(closed.Contains(20));
    }

    [Fact]
    public void StoredRangesRoundTripAndBadTextIsIgnored()
    {
        var checkpoint = Checkpoint.Parse(10, "40-49, 20-29,junk,5-8");
        Assert.Equal(10, checkpoint.Contiguous);
        Assert.Equal("20-29,40-49", checkpoint.AheadText);
        Assert.Equal(checkpoint.AheadText, Checkpoint.Parse(checkpoint.Contiguous, checkpoint.AheadText).AheadText);
        // A range reaching the prefix extends it, and the ranges it then touches follow.
        var merged = checkpoint.With(11, 19).With(30, 39);
        Assert.Equal(49, merged.Contiguous);
        Assert.Null(merged.AheadText);
    }

    [Fact]
    public void AnEmptyLastBatchChangesNothing()
    {
        var checkpoint = Checkpoint.Parse(50, "60-70");
        Assert.Same(checkpoint, checkpoint.With(71, 70));
    }
}
