using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The reflector's loop: list, then watch, resume the watch after it ends, re-list after 410 Gone or a resourceVersion
/// the server calls too large, pause as asked on 429, and back off after failures. It decides only when to list or watch
/// and how long to wait; the pager, the watch stream, the store and the fills do the rest.
/// </summary>
internal sealed class ListWatchLoop<T>(
    ResourceDescriptor resource,
    InformerOptions<T> options,
    ListPager<T> pager,
    WatchStream<T> watch,
    InformerStore<T> store,
    NamespaceFills<T> fills,
    InformerRetries retries,
    InformerMetrics metrics,
    TimeProvider time,
    ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private static readonly TimeSpan QuickWatchEnd = TimeSpan.FromSeconds(1);

    /// <summary>A watch that fails after running this long starts a fresh backoff (client-go resets its backoff after 2 minutes).</summary>
    private static readonly TimeSpan HealthyWatch = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);

    /// <summary>How much a pause after 429 is lengthened at random (never shortened: the server asked for at least that).</summary>
    private const double ThrottleJitter = 0.2;

    /// <summary>
    /// How long an accepted watch must stay open without an error to count as following the server when nothing arrives
    /// through it (a quiet kind between bookmarks). One the server ends with an ERROR event at once ends well within it.
    /// </summary>
    private static readonly TimeSpan WatchSettle = TimeSpan.FromSeconds(5);

    /// <summary>The value of <see cref="failingSince"/> while the list and watch follow the server.</summary>
    private const long NotFailing = long.MinValue;

    /// <summary>The value of <see cref="watchOpenedAt"/> while no watch is open.</summary>
    private const long NoWatchOpen = long.MinValue;

    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? lastListProblem;

    /// <summary>When the failures in a row began (a timestamp of the loop's clock), and the last of them.</summary>
    private long failingSince = NotFailing;
    private string? lastFailure;

    /// <summary>When the server accepted the watch now open (a timestamp of the loop's clock).</summary>
    private long watchOpenedAt = NoWatchOpen;

    public bool HasSynced => synced.Task.IsCompleted;

    public string? SyncProblem => HasSynced ? null : Volatile.Read(ref lastListProblem);

    /// <summary>
    /// After the first list: why the cache no longer follows the server, once its lists and watches have failed for
    /// <see cref="InformerOptions{T}.StaleAfter"/> without one getting through (a role that lost watch, a server that keeps
    /// refusing); null while they get through, and during shorter outages, which the watch resumes from.
    /// </summary>
    public string? WatchProblem
    {
        get
        {
            var since = Interlocked.Read(ref failingSince);
            if (since == NotFailing || !HasSynced || HasSettled(Interlocked.Read(ref watchOpenedAt)))
            {
                return null;
            }

            var failing = time.GetElapsedTime(since);
            return failing >= options.StaleAfter
                ? $"not following the server for {failing.TotalSeconds:F0} s: {Volatile.Read(ref lastFailure)}"
                : null;
        }
    }

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    /// <summary>
    /// A second run after a stop keeps the cache and resumes the watch from the last resourceVersion,
    /// exactly as after a dropped connection (re-listing only if the server says 410 Gone).
    /// </summary>
    public async Task RunAsync(bool needList, CancellationToken cancellationToken)
    {
        // Consecutive failures, reset by a watch that ran well (ended by the server after events or a while, or failed
        // after HealthyWatch), never by a list alone: a watch that fails at once after every list must not relist at once.
        var failures = 0;

        // 429s in a row, reset by a list or watch that gets through: a server that keeps throttling gets ever longer pauses.
        var throttles = 0;
        long? watchStarted = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                watchStarted = null;
                if (needList)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                    throttles = 0;
                }

                watchStarted = time.GetTimestamp();
                bool delivered;
                try
                {
                    delivered = await watch.WatchAsync(Opened, Following, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    // Before a failure is noted: a watch that ran well and then failed starts the clock afresh.
                    Closed();
                }

                metrics.WatchRestart("timeout");
                throttles = 0;
                if (delivered || time.GetElapsedTime(watchStarted.Value) >= QuickWatchEnd)
                {
                    // Ended by the server without an ERROR event: it followed the server, even on a kind so quiet that
                    // no event or bookmark came (the events and bookmarks that did come told Following already).
                    Following();
                    failures = 0;
                    logger.LogDebug("Watch of {Resource} ended by the server; resuming from {ResourceVersion}", resource.DisplayName, watch.LastResourceVersion);
                }
                else
                {
                    // A server (or proxy) that closes watches at once must not turn this loop into a busy loop.
                    failures++;
                    await retries.DelayAsync(retries.DelayFor(failures), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (KubernetesApiException e) when (e.IsGone || e.IsResourceVersionTooLarge)
            {
                // The resourceVersion was compacted away, or is newer than the server's (an etcd restore): only a fresh
                // list can tell what changed. Resuming from it would be refused for good while the cache went stale.
                needList = true;
                if (e.IsGone)
                {
                    metrics.WatchRestart("gone");
                    logger.LogInformation("Watch of {Resource} expired (410 Gone); re-listing", resource.DisplayName);
                }
                else
                {
                    metrics.WatchRestart("too_large");
                    logger.LogWarning("Watch of {Resource} from resourceVersion {ResourceVersion} was refused as newer than the server's ({ServerMessage}); re-listing", resource.DisplayName, watch.LastResourceVersion, e.Status?.Message);
                }

                failures = RanHealthily(watchStarted) ? 1 : failures + 1;
                if (failures > 1)
                {
                    await retries.DelayAsync(retries.DelayFor(failures - 1), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (KubernetesApiException e) when (e.IsTooManyRequests)
            {
                if (needList)
                {
                    options.ListFailed?.Invoke(retries.ListProblem(e));
                }

                Failed(needList ? retries.ListProblem(e) : retries.WatchProblem(e));
                var pause = ThrottledPause(e.RetryAfter, ++throttles);
                metrics.WatchRestart("throttled");
                logger.LogInformation("{Resource}: server asked to retry after {RetryAfter} ({ServerMessage})", resource.DisplayName, LogDuration.Format(pause), e.Status?.Message);
                await retries.DelayAsync(pause, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failures = RanHealthily(watchStarted) ? 1 : failures + 1;
                var delay = retries.DelayFor(failures);
                metrics.WatchRestart("error");
                if (needList)
                {
                    var problem = retries.ListProblem(e);
                    Volatile.Write(ref lastListProblem, problem);
                    Failed(problem);
                    options.ListFailed?.Invoke(problem);
                }
                else
                {
                    Failed(retries.WatchProblem(e));
                }

                retries.LogFailure(e, needList ? "List" : "Watch", null, failures, delay);
                await retries.DelayAsync(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// The pause after the <paramref name="throttles"/>-th 429 in a row: what the server asked for (capped), or longer once
    /// the 429s go on (the reconnect backoff), lengthened by up to a fifth at random. A fixed pause of the server's
    /// Retry-After (1 s under API Priority and Fairness) sent every informer back at the same second, all of them started
    /// together, for as long as the server stayed overloaded.
    /// </summary>
    private TimeSpan ThrottledPause(TimeSpan? retryAfter, int throttles)
    {
        var asked = retryAfter is { } given && given > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(given.Ticks, MaxRetryAfter.Ticks)) : DefaultRetryAfter;
        var backoff = retries.DelayFor(throttles);
        return (asked > backoff ? asked : backoff) * (1 + (ThrottleJitter * Random.Shared.NextDouble()));
    }

    /// <summary>
    /// A list got through, or a watch delivered an event or bookmark, stayed open a while without an error, or ran until
    /// the server ended it: the cache follows the server again. A watch that is only accepted does not count, or one that
    /// always ends with an ERROR event at once would keep resetting the clock of <see cref="WatchProblem"/> and never be
    /// reported.
    /// </summary>
    private void Following() => Interlocked.Exchange(ref failingSince, NotFailing);

    private void Opened() => Interlocked.Exchange(ref watchOpenedAt, time.GetTimestamp());

    /// <summary>The watch ended: one that had stayed open for <see cref="WatchSettle"/> without an error followed the server.</summary>
    private void Closed()
    {
        if (HasSettled(Interlocked.Exchange(ref watchOpenedAt, NoWatchOpen)))
        {
            Following();
        }
    }

    private bool HasSettled(long openedAt) => openedAt != NoWatchOpen && time.GetElapsedTime(openedAt) >= WatchSettle;

    /// <summary>A list or watch failed: the first failure in a row starts the clock of <see cref="WatchProblem"/>.</summary>
    private void Failed(string problem)
    {
        Volatile.Write(ref lastFailure, problem);
        Interlocked.CompareExchange(ref failingSince, time.GetTimestamp(), NotFailing);
    }

    /// <summary>Whether the watch that just failed (null: the list failed) had run long enough to count as healthy.</summary>
    private bool RanHealthily(long? watchStarted) => watchStarted is { } started && time.GetElapsedTime(started) >= HealthyWatch;

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        fills.ListStarting();

        var listed = new List<T>();
        string? resourceVersion = null;
        await foreach (var page in pager.ListPagesAsync(options.Namespace, cancellationToken).ConfigureAwait(false))
        {
            // Reduce each page as it arrives: keeping every full object of a big list (30,000 Secrets, 10,000 Pods)
            // until the last page would make the operator's peak memory follow the cluster, not its credentials.
            listed.AddRange(page.Where(store.InScope).Select(store.PrepareListed));
            resourceVersion = page.ResourceVersion;
        }

        metrics.Relist();
        lock (store.Gate)
        {
            store.Replace(listed);
            watch.LastResourceVersion = resourceVersion;
            fills.ListStored();
        }

        Following();
        synced.TrySetResult();
        logger.LogInformation("Listed {Count} {Resource} at resourceVersion {ResourceVersion}", listed.Count, resource.DisplayName, resourceVersion);
    }
}
