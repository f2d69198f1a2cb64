namespace Tandem.Features.Platform;

/// <summary>
/// Wakes a background loop of this instance as soon as work is queued here; loops of other instances find the work by
/// polling. One subclass per loop, so each is its own singleton.
/// </summary>
public abstract class WakeSignal
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    public void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
                _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled: one wake-up covers every change made before it.
        }
    }

    /// <summary>Returns when woken, after <paramref name="timeout"/>, or (without throwing) when <paramref name="ct"/> is cancelled.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await _wake.WaitAsync(timeout, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
