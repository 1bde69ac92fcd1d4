using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Queue;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Controllers;

/// <summary>
/// Connects a primary informer, secondary watches, a <see cref="WorkQueue"/> and an
/// <see cref="IReconciler{T}"/>: events become keys, workers reconcile keys against the cache,
/// results become requeues or backoff. Wire it (constructor, <see cref="Watches"/>) before the
/// informers start so their initial lists are seen.
/// </summary>
public sealed class Controller<T> : IController, IDisposable
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly IInformer<T> primary;
    private readonly IReconciler<T> reconciler;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly ControllerOptions options;
    private readonly List<IInformer> informers;
    private readonly List<IDisposable> subscriptions = [];
    private readonly OwnWrites? ownWrites;
    private readonly Lock echoGate = new();
    private readonly HashSet<ObjectKey> reconciling = [];
    private readonly Dictionary<ObjectKey, List<V1ObjectMeta>> heldBack = [];
    private Func<T, bool> concerns = static _ => true;

    /// <summary>Wires the controller to its primary informer.</summary>
    /// <param name="name">Names the queue, metrics and log scope.</param>
    /// <param name="primary">The informer of the reconciled kind.</param>
    /// <param name="reconciler">Does the work for one key.</param>
    /// <param name="time">Clock of the queue's delays.</param>
    /// <param name="logger">Where reconcile failures are logged.</param>
    /// <param name="options">Workers, queue and event filtering.</param>
    /// <param name="ownWrites">Versions this process wrote itself; their watch events are not reconciled again.</param>
    public Controller(string name, IInformer<T> primary, IReconciler<T> reconciler, TimeProvider time, ILogger logger, ControllerOptions? options = null, OwnWrites? ownWrites = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentNullException.ThrowIfNull(reconciler);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        Name = name;
        this.primary = primary;
        this.reconciler = reconciler;
        this.time = time;
        this.logger = logger;
        this.options = options ?? new ControllerOptions();
        this.ownWrites = ownWrites;
        Queue = new WorkQueue(name, time, this.options.Queue);
        informers = [primary];
        subscriptions.Add(primary.Subscribe(OnPrimaryEvent));
    }

    public string Name { get; }

    public WorkQueue Queue { get; }

    public IReadOnlyList<IInformer> Informers => informers;

    private string Kind => primary.Resource.Kind;

    /// <summary>Reconciles the primaries that <paramref name="map"/> names whenever an object of <paramref name="other"/> changes.</summary>
    /// <param name="other">The watched informer.</param>
    /// <param name="map">The primaries an object concerns.</param>
    /// <param name="echoesOfOwnWrites">
    /// Whether an event of this process's own write may be skipped. Only when <paramref name="map"/> leads back to the
    /// primary whose reconcile wrote the object (its generated Secret): other primaries that merely read the object
    /// (a generated Secret used as another credential's source) have not seen the new version and must hear of it.
    /// </param>
    public Controller<T> Watches<TOther>(IInformer<TOther> other, Func<TOther, IEnumerable<ObjectKey>> map, bool echoesOfOwnWrites = true)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(other);
        ArgumentNullException.ThrowIfNull(map);
        if (!informers.Contains(other))
        {
            informers.Add(other);
        }

        subscriptions.Add(other.Subscribe(change =>
        {
            if (change.Type == InformerEventType.Deleted)
            {
                ownWrites?.Forget(change.Current.Metadata?.Uid);
            }

            var seen = echoesOfOwnWrites ? EchoCandidate(change) : null;
            foreach (var key in map(change.Current))
            {
                Enqueue(key, seen);
            }

            // A changed label or owner may move the object away from a primary, which must hear of it too.
            if (change.Old is { } old)
            {
                foreach (var key in map(old))
                {
                    Enqueue(key, seen);
                }
            }
        }));
        return this;
    }

    /// <summary>
    /// Reconciles only the primaries <paramref name="predicate"/> accepts, when the primary informer holds far more than
    /// the controller acts on (every generated Secret, of which only the few being deleted need a decision): the others'
    /// events would each wake a worker for a reconcile that does nothing. Deletions are enqueued as before, so the
    /// key's queue state is cleared as for any other controller.
    /// </summary>
    public Controller<T> ReconcilesOnly(Func<T, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        concerns = predicate;
        return this;
    }

    /// <summary>
    /// Makes the controller start only once <paramref name="informer"/> has synced, without reacting to its events:
    /// for informers whose changes reach the queue another way.
    /// </summary>
    public Controller<T> WaitsFor(IInformer informer)
    {
        ArgumentNullException.ThrowIfNull(informer);
        if (!informers.Contains(informer))
        {
            informers.Add(informer);
        }

        return this;
    }

    public async Task RunAsync(CancellationToken cancellationToken, CancellationToken abortToken = default)
    {
        try
        {
            await Task.WhenAll(informers.Select(informer => informer.WaitForSyncAsync(cancellationToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        logger.LogInformation("Controller {Controller} started with {Workers} workers", Name, options.Workers);
        await QueueWorkers.RunAsync(Queue, options.Workers, ReconcileKeyAsync, options.DrainTimeout, time, cancellationToken, abortToken).ConfigureAwait(false);
        logger.LogInformation("Controller {Controller} stopped", Name);
    }

    public void Dispose()
    {
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }

        Queue.Dispose();
    }

    /// <summary>One reconcile of <paramref name="key"/>; the queue's one-at-a-time rule is the caller's.</summary>
    internal async Task ReconcileKeyAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        lock (echoGate)
        {
            reconciling.Add(key);
        }

        try
        {
            await ReconcileOnceAsync(key, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            List<V1ObjectMeta>? held;
            lock (echoGate)
            {
                reconciling.Remove(key);
                heldBack.Remove(key, out held);
            }

            // Now every write of that reconcile is recorded: only what was not its own echo needs another look.
            var news = held?.Count(seen => !IsOwnEcho(seen)) ?? 0;
            if (news > 0)
            {
                Queue.Add(key);
            }
        }
    }

    private async Task ReconcileOnceAsync(ObjectKey key, CancellationToken cancellationToken)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object> { ["controller"] = Name, ["key"] = key.ToString() });
        if (!primary.Cache.TryGet(key, out var cached))
        {
            // Gone: whatever cleanup it needed ran while its finalizer held it.
            Queue.Forget(key);
            RuntimeMetrics.Reconciles.WithLabels(Kind, "not_found").Inc();
            return;
        }

        var started = time.GetTimestamp();
        string result;
        TimeSpan? next = null;
        try
        {
            var outcome = await reconciler.ReconcileAsync(CopyOf(cached), cancellationToken).ConfigureAwait(false);
            if (outcome.UseBackoff)
            {
                var delay = Queue.AddRateLimited(key);
                logger.LogDebug("Reconcile of {Key} asked for backoff; next attempt in {Delay}", key, LogDuration.Format(delay));
                result = "backoff";
                next = delay;
            }
            else
            {
                Queue.Forget(key);
                if (outcome.RequeueAfter is { } after)
                {
                    Queue.AddAfter(key, after);
                    result = "requeue";
                    next = after;
                }
                else
                {
                    result = "success";
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            var delay = Queue.AddRateLimited(key);
            RuntimeMetrics.ReconcileErrors.WithLabels(Kind).Inc();
            // A failed request is told by what was asked and the answer's code: a Secret's answer may quote its data, and
            // the exception of any other says only the code, not which of the reconcile's requests was refused.
            if ((SecretRequestFailure.Find(e) ?? SecretRequestFailure.FindAny(e)) is { } request)
            {
                logger.LogError("Reconcile of {Kind} {Key} failed; retry {Attempt} in {Delay}: {Request}, from {ExceptionType} at {StackTrace}",
                    Kind, key, Queue.NumRequeues(key), LogDuration.Format(delay), SecretRequestFailure.Describe(request), e.GetType().FullName, e.StackTrace);
            }
            else if (e is HttpRequestException or IOException && UnansweredRequest.Describe(e) is { } cause)
            {
                // The API server restarting or out of reach: every reconcile in flight meets it at once, and the HTTP
                // client's stack under each line (some 6 KB) said nothing the cause, which names host and port, does not.
                logger.LogError("Reconcile of {Kind} {Key} failed: {Cause}; retry {Attempt} in {Delay}", Kind, key, cause, Queue.NumRequeues(key), LogDuration.Format(delay));
                logger.LogDebug(e, "Stack of the failed reconcile of {Kind} {Key}", Kind, key);
            }
            else
            {
                logger.LogError(e, "Reconcile of {Kind} {Key} failed; retry {Attempt} in {Delay}", Kind, key, Queue.NumRequeues(key), LogDuration.Format(delay));
            }
            result = "error";
            next = delay;
        }

        RuntimeMetrics.Reconciles.WithLabels(Kind, result).Inc();
        var elapsed = time.GetElapsedTime(started);
        RuntimeMetrics.ReconcileDuration.WithLabels(Kind).Observe(elapsed.TotalSeconds);
        // One line per pass at Debug (off by default, and then not even formatted): what someone debugging a credential
        // looks for first, and what tests wait for to know a restarted operator has looked at a credential. The next
        // attempt and the time the pass took are told apart in words: "requeue in 12 ms" read as a requeue delay.
        if (logger.IsEnabled(LogLevel.Debug))
        {
            logger.LogDebug("Reconciled {Kind} {Key}: {Result}; {Next}; the pass took {Duration}",
                Kind, key, result, next is { } after ? $"next pass in {LogDuration.Format(after)}" : "no next pass until something changes", LogDuration.Format(elapsed));
        }
    }

    /// <summary>Reconcilers get their own copy, so nothing they change can corrupt the shared cache.</summary>
    private static T CopyOf(T cached) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(cached));

    private void OnPrimaryEvent(InformerEvent<T> change)
    {
        if (change.Type == InformerEventType.Updated && options.IgnoreStatusOnlyUpdates && change.Old is { } old && OnlyStatusChanged(old, change.Current))
        {
            return;
        }

        if (change.Type == InformerEventType.Deleted)
        {
            ownWrites?.Forget(change.Current.Metadata?.Uid);
        }
        else if (!concerns(change.Current))
        {
            return;
        }

        Enqueue(ObjectKey.Of(change.Current), change.Type == InformerEventType.Updated ? EchoCandidate(change) : null);
    }

    /// <summary>
    /// The metadata to compare with our own writes, or null when the event cannot be a mere echo: a deletion, or a
    /// relist's update, which may sum up someone else's change together with a later write of ours.
    /// </summary>
    private static V1ObjectMeta? EchoCandidate<TObject>(InformerEvent<TObject> change)
        where TObject : class, IKubernetesObject<V1ObjectMeta> =>
        change.Type == InformerEventType.Deleted || change.FromRelist ? null : change.Current.Metadata;

    /// <summary>
    /// Adds <paramref name="key"/> unless <paramref name="seen"/> (null: not a candidate) is the watch event of a write
    /// this process made: the reconcile that wrote it continued from the returned object, so there is nothing new in
    /// it. An event for a key whose reconcile is running is held back until it ends, because the event can arrive
    /// before that reconcile has recorded the version its write returned.
    /// </summary>
    private void Enqueue(ObjectKey key, V1ObjectMeta? seen)
    {
        if (ownWrites is not null && seen is not null)
        {
            lock (echoGate)
            {
                if (reconciling.Contains(key))
                {
                    if (!heldBack.TryGetValue(key, out var held))
                    {
                        heldBack[key] = held = [];
                    }

                    held.Add(seen);
                    return;
                }
            }

            if (IsOwnEcho(seen))
            {
                return;
            }
        }

        Queue.Add(key);
    }

    private bool IsOwnEcho(V1ObjectMeta seen)
    {
        if (ownWrites?.IsEcho(seen) != true)
        {
            return false;
        }

        RuntimeMetrics.SkippedOwnEvents.WithLabels(Kind).Inc();
        return true;
    }

    private static bool OnlyStatusChanged(T old, T current)
    {
        var before = old.Metadata;
        var after = current.Metadata;
        return after.Generation is not null
            && before.Generation == after.Generation
            && before.DeletionTimestamp == after.DeletionTimestamp
            && SameEntries(before.Labels, after.Labels)
            && SameEntries(before.Annotations, after.Annotations)
            && (before.Finalizers ?? []).SequenceEqual(after.Finalizers ?? []);
    }

    private static bool SameEntries(IDictionary<string, string>? left, IDictionary<string, string>? right)
    {
        left ??= new Dictionary<string, string>();
        right ??= new Dictionary<string, string>();
        return left.Count == right.Count && left.All(pair => right.TryGetValue(pair.Key, out var value) && value == pair.Value);
    }
}
