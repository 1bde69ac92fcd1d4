using ITimer = System.Threading.ITimer;

namespace Passbox.Operator.Runtime.Queue;

/// <summary>
/// A keyed work queue with the guarantees controllers rely on (the client-go workqueue contract):
/// a key waiting in the queue is held once however often it is added; a key is handed to one worker at a
/// time, and a key added while it is being processed is processed again after <see cref="Done"/>;
/// <see cref="AddAfter"/> schedules a key (the earliest pending time wins); <see cref="AddRateLimited"/>
/// schedules it after a per-key exponential backoff that <see cref="Forget"/> resets. All time goes
/// through <see cref="TimeProvider"/>.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "It is a queue; the name is the one controller authors know.")]
public sealed class WorkQueue : IDisposable
{
    private static readonly TimeSpan LongestTimerWait = TimeSpan.FromDays(1);
    private static readonly TimeSpan LongestDelay = TimeSpan.FromDays(3650);

    /// <summary>Below this many heap entries, stale ones are left for <see cref="ArmTimerLocked"/> to drop.</summary>
    private const int MinimumScheduleToCompact = 64;

    private readonly Lock gate = new();
    private readonly Queue<ObjectKey> ready = new();
    private readonly HashSet<ObjectKey> dirty = [];
    private readonly HashSet<ObjectKey> processing = [];
    private readonly Dictionary<ObjectKey, DateTimeOffset> delayed = [];
    private readonly PriorityQueue<ObjectKey, DateTimeOffset> delayedByTime = new();
    private readonly Dictionary<ObjectKey, int> failures = [];

    /// <summary>When each dirty key was added, for its time in the queue (client-go counts from the add, a wait for its running reconcile included).</summary>
    private readonly Dictionary<ObjectKey, long> addedAt = [];

    /// <summary>When each key being processed was taken, for the work duration and the unfinished work.</summary>
    private readonly Dictionary<ObjectKey, long> takenAt = [];
    private readonly SemaphoreSlim readySignal = new(0);
    private readonly CancellationTokenSource shutdown = new();
    private readonly TimeProvider time;
    private readonly ExponentialBackoff backoff;
    private readonly WorkQueueMetrics metrics;
    private readonly ITimer timer;
    private DateTimeOffset? timerDue;

    public WorkQueue(string name, TimeProvider time, WorkQueueOptions? options = null, Func<double>? random = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(time);
        options ??= new WorkQueueOptions();
        Name = name;
        this.time = time;
        backoff = new ExponentialBackoff(options.BackoffInitial, options.BackoffCap, options.BackoffJitter, random);
        metrics = new WorkQueueMetrics(name);
        timer = time.CreateTimer(_ => PromoteDueKeys(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        metrics.Follow(this);
    }

    public string Name { get; }

    /// <summary>Keys ready to be taken now.</summary>
    public int Depth
    {
        get
        {
            lock (gate)
            {
                return ready.Count;
            }
        }
    }

    /// <summary>Keys scheduled for later by <see cref="AddAfter"/> or <see cref="AddRateLimited"/>.</summary>
    public int DelayedCount
    {
        get
        {
            lock (gate)
            {
                return delayed.Count;
            }
        }
    }

    public bool IsShuttingDown => shutdown.IsCancellationRequested;

    public void Add(ObjectKey key)
    {
        lock (gate)
        {
            AddLocked(key);
        }
    }

    /// <summary>Schedules <paramref name="key"/> after <paramref name="delay"/>; an earlier pending schedule is kept.</summary>
    public void AddAfter(ObjectKey key, TimeSpan delay)
    {
        lock (gate)
        {
            if (IsShuttingDown)
            {
                return;
            }

            if (delay <= TimeSpan.Zero)
            {
                AddLocked(key);
                return;
            }

            // Beyond any schedule a controller means, and far from the end of the calendar.
            var due = time.GetUtcNow() + (delay < LongestDelay ? delay : LongestDelay);
            if (delayed.TryGetValue(key, out var existing) && existing <= due)
            {
                return;
            }

            delayed[key] = due;
            delayedByTime.Enqueue(key, due);
            CompactScheduleLocked();
            ArmTimerLocked();
        }
    }

    /// <summary>Schedules <paramref name="key"/> after its next backoff step and returns that delay.</summary>
    public TimeSpan AddRateLimited(ObjectKey key)
    {
        TimeSpan delay;
        lock (gate)
        {
            var count = failures.GetValueOrDefault(key) + 1;
            failures[key] = count;
            delay = backoff.DelayFor(count);
        }

        metrics.Retries.Inc();

        AddAfter(key, delay);
        return delay;
    }

    /// <summary>Resets the backoff of <paramref name="key"/> (after a success or when the object is gone).</summary>
    public void Forget(ObjectKey key)
    {
        lock (gate)
        {
            failures.Remove(key);
        }
    }

    public int NumRequeues(ObjectKey key)
    {
        lock (gate)
        {
            return failures.GetValueOrDefault(key);
        }
    }

    /// <summary>
    /// Waits for the next key and marks it as processing; the caller must call <see cref="Done"/>.
    /// Returns null once the queue shuts down, even if keys are still waiting (drain stops taking work).
    /// </summary>
    public async Task<ObjectKey?> TakeAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, shutdown.Token);
        while (true)
        {
            try
            {
                await readySignal.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
            {
                return null;
            }

            lock (gate)
            {
                if (IsShuttingDown)
                {
                    return null;
                }

                if (!ready.TryDequeue(out var key))
                {
                    continue;
                }

                dirty.Remove(key);
                processing.Add(key);
                var now = time.GetTimestamp();
                if (addedAt.Remove(key, out var added))
                {
                    metrics.Latency.Observe(time.GetElapsedTime(added, now).TotalSeconds);
                }

                takenAt[key] = now;

                // The reconcile about to run decides afresh whether and when this key comes back
                // (RequeueAfter or backoff), so an older schedule would only cause duplicate work.
                if (delayed.Remove(key))
                {
                    CompactScheduleLocked();
                }

                UpdateDepthLocked();
                return key;
            }
        }
    }

    /// <summary>Ends processing of <paramref name="key"/>; if it was added meanwhile it becomes ready again.</summary>
    public void Done(ObjectKey key)
    {
        lock (gate)
        {
            processing.Remove(key);
            if (takenAt.Remove(key, out var taken))
            {
                metrics.WorkDuration.Observe(time.GetElapsedTime(taken).TotalSeconds);
            }

            if (dirty.Contains(key) && !IsShuttingDown)
            {
                EnqueueReadyLocked(key);
            }
        }
    }

    /// <summary>Stops handing out keys; <see cref="TakeAsync"/> returns null from now on.</summary>
    public void ShutDown()
    {
        lock (gate)
        {
            if (IsShuttingDown)
            {
                return;
            }

            shutdown.Cancel();
            timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose()
    {
        ShutDown();
        timer.Dispose();
        readySignal.Dispose();
        shutdown.Dispose();
        metrics.Forget(this);
    }

    private void AddLocked(ObjectKey key)
    {
        if (IsShuttingDown || !dirty.Add(key))
        {
            return;
        }

        metrics.Adds.Inc();
        addedAt[key] = time.GetTimestamp();

        if (!processing.Contains(key))
        {
            EnqueueReadyLocked(key);
        }
    }

    private void EnqueueReadyLocked(ObjectKey key)
    {
        ready.Enqueue(key);
        readySignal.Release();
        UpdateDepthLocked();
    }

    private void UpdateDepthLocked() => metrics.Depth.Set(ready.Count);

    /// <summary>The state a scrape reads: scheduled and retrying keys, and how long the keys being worked on have been.</summary>
    internal WorkQueueSnapshot Snapshot()
    {
        lock (gate)
        {
            var now = time.GetTimestamp();
            var unfinished = TimeSpan.Zero;
            var longest = TimeSpan.Zero;
            foreach (var taken in takenAt.Values)
            {
                var running = time.GetElapsedTime(taken, now);
                unfinished += running;
                longest = running > longest ? running : longest;
            }

            return new WorkQueueSnapshot(delayed.Count, failures.Count, unfinished, longest);
        }
    }

    /// <summary>Entries in the schedule heap, live or stale; for tests.</summary>
    internal int ScheduleEntryCount
    {
        get
        {
            lock (gate)
            {
                return delayedByTime.Count;
            }
        }
    }

    /// <summary>
    /// Every live schedule has its entry in the heap; an entry whose key was taken or rescheduled earlier is stale, and is
    /// dropped lazily only once it reaches the top, which a schedule hours or days away does not for as long. Keys that
    /// events reconcile again and again before their RequeueAfter would pile up stale entries: once these outnumber the
    /// live ones, rebuild the heap from the live schedules (linear, so amortized over the stale entries it drops).
    /// </summary>
    private void CompactScheduleLocked()
    {
        if (delayedByTime.Count <= MinimumScheduleToCompact || delayedByTime.Count <= 2 * delayed.Count)
        {
            return;
        }

        delayedByTime.Clear();
        delayedByTime.EnqueueRange(delayed.Select(schedule => (schedule.Key, schedule.Value)));
    }

    private void PromoteDueKeys()
    {
        lock (gate)
        {
            if (IsShuttingDown)
            {
                return;
            }

            timerDue = null;
            var now = time.GetUtcNow();
            while (delayedByTime.TryPeek(out var key, out var due) && due <= now)
            {
                delayedByTime.Dequeue();
                if (delayed.TryGetValue(key, out var current) && current == due)
                {
                    delayed.Remove(key);
                    AddLocked(key);
                }
            }

            ArmTimerLocked();
        }
    }

    private void ArmTimerLocked()
    {
        // Entries made stale by an earlier AddAfter or by TakeAsync are dropped lazily here.
        while (delayedByTime.TryPeek(out var key, out var due) && (!delayed.TryGetValue(key, out var current) || current != due))
        {
            delayedByTime.Dequeue();
        }

        if (!delayedByTime.TryPeek(out _, out var next))
        {
            return;
        }

        if (timerDue is { } armed && armed <= next)
        {
            return;
        }

        // A timer takes at most about 49.7 days, and throwing here, inside its callback, would end the process: wake
        // at least daily instead; PromoteDueKeys then finds nothing due yet and arms the timer again.
        var wait = next - time.GetUtcNow();
        if (wait > LongestTimerWait)
        {
            wait = LongestTimerWait;
        }

        timerDue = time.GetUtcNow() + wait;

        // Never zero: a fake clock would fire a zero-length timer synchronously, inside this lock.
        timer.Change(wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
    }
}
