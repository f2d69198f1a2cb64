using System.Threading.Channels;

namespace Tandem.Features.Capture;

/// <summary>
/// Groups single-lead captures that arrive at the same moment into one <see cref="CaptureService.CaptureManyAsync"/>
/// call: one lookup query and one transaction for many HTTP requests. Under load this multiplies throughput (the
/// database does one commit for the group); when idle a capture runs alone, at once. Each caller still gets its own
/// outcome, and two submissions of one person in a group merge in arrival order, exactly as they would one by one.
/// </summary>
public sealed class CaptureQueue : IAsyncDisposable
{
    private const int MaxGroup = 64;
    private readonly Channel<Pending> _channel = Channel.CreateBounded<Pending>(new BoundedChannelOptions(4096) { SingleReader = false, FullMode = BoundedChannelFullMode.Wait });
    private readonly IServiceScopeFactory _scopes;
    private readonly ILogger<CaptureQueue> _log;
    private readonly Task[] _workers;
    private readonly CancellationTokenSource _stopping = new();

    private sealed record Pending(LeadInput Input, CaptureContext Context, TaskCompletionSource<CaptureOutcome> Done, CancellationToken Ct);

    public CaptureQueue(IServiceScopeFactory scopes, ILogger<CaptureQueue> log, int workers = 4)
    {
        _scopes = scopes;
        _log = log;
        _workers = [.. Enumerable.Range(0, workers).Select(_ => Task.Run(RunAsync))];
    }

    public async Task<CaptureOutcome> CaptureAsync(LeadInput input, CaptureContext context, CancellationToken ct)
    {
        var pending = new Pending(input, context, new TaskCompletionSource<CaptureOutcome>(TaskCreationOptions.RunContinuationsAsynchronously), ct);
        await _channel.Writer.WriteAsync(pending, ct);
        return await pending.Done.Task.WaitAsync(ct);
    }

    private async Task RunAsync()
    {
        var group = new List<Pending>(MaxGroup);
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync(_stopping.Token).ConfigureAwait(false))
        {
            group.Clear();
            while (group.Count < MaxGroup && reader.TryRead(out var next))
                if (!next.Ct.IsCancellationRequested)
                    group.Add(next);
            // One call per capture context (source, actor, policy): usually all API captures share one.
            foreach (var sameContext in group.GroupBy(p => p.Context))
                await StoreAsync([.. sameContext]);
        }
    }

    private async Task StoreAsync(List<Pending> items)
    {
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var capture = scope.ServiceProvider.GetRequiredService<CaptureService>();
            var outcomes = await capture.CaptureManyAsync([.. items.Select(i => i.Input)], items[0].Context, _stopping.Token);
            for (var i = 0; i < items.Count; i++)
                items[i].Done.TrySetResult(outcomes[i]);
        }
        catch (Exception ex) when (items.Count > 1 && ex is not OperationCanceledException)
        {
            // A group failed as a whole (not a validation error): retry each capture alone so one bad item cannot fail the others.
            _log.LogWarning(ex, "Grouped capture of {Count} leads failed; retrying one by one", items.Count);
            foreach (var item in items)
                await StoreAsync([item]);
        }
        catch (Exception ex)
        {
            foreach (var item in items)
                item.Done.TrySetException(ex);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Writer.TryComplete();
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
        }
        _stopping.Dispose();
    }
}
