namespace Passbox.Operator.Runtime.Queue;

/// <summary>
/// Runs a fixed number of workers over a <see cref="WorkQueue"/>, which bounds concurrency while the
/// queue keeps each key with one worker at a time. On stop the queue is shut down (no new work is
/// taken) and in-flight work may finish until the drain deadline; only then is its token cancelled.
/// An abort (leadership lost: another process may already act on the same objects) cancels it at once.
/// </summary>
public static class QueueWorkers
{
    public static async Task RunAsync(
        WorkQueue queue,
        int workers,
        Func<ObjectKey, CancellationToken, Task> process,
        TimeSpan drainTimeout,
        TimeProvider time,
        CancellationToken stoppingToken,
        CancellationToken abortToken = default)
    {
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);

        using var inFlight = CancellationTokenSource.CreateLinkedTokenSource(abortToken);
        using var stopOrAbort = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, abortToken);
        var loops = Enumerable.Range(0, workers)
            .Select(_ => Task.Run(() => WorkLoopAsync(queue, process, inFlight.Token), CancellationToken.None))
            .ToArray();
        var all = Task.WhenAll(loops);

        using (stopOrAbort.Token.Register(queue.ShutDown))
        {
            await Task.WhenAny(all, Task.Delay(Timeout.InfiniteTimeSpan, stopOrAbort.Token)).ConfigureAwait(false);
        }

        // Again, and not only through the registration: the delay's cancellation callback can run this continuation
        // inline, before the token's next callback, and leaving the block above then removes the registration before
        // it ran. Workers waiting for a key would then wait for ever. ShutDown is idempotent.
        queue.ShutDown();

        if (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(drainTimeout, time, CancellationToken.None)).ConfigureAwait(false);
            if (!all.IsCompleted)
            {
                await inFlight.CancelAsync().ConfigureAwait(false);
            }
        }

        await all.ConfigureAwait(false);
    }

    private static async Task WorkLoopAsync(WorkQueue queue, Func<ObjectKey, CancellationToken, Task> process, CancellationToken inFlight)
    {
        while (await queue.TakeAsync(CancellationToken.None).ConfigureAwait(false) is { } key)
        {
            try
            {
                await process(key, inFlight).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (inFlight.IsCancellationRequested)
            {
                // Drain deadline passed, or aborted: the work was cut short on purpose.
            }
            catch (Exception)
            {
                // Callers handle their own failures; this keeps a worker alive if one slips through.
                queue.AddRateLimited(key);
            }
            finally
            {
                queue.Done(key);
            }
        }
    }
}
