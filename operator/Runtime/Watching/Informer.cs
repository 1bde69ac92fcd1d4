using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// Lists and then watches one resource type, keeping <see cref="Cache"/> current and telling
/// subscribers what changed. Follows client-go's reflector: a paged list, then a watch from the list's
/// resourceVersion with bookmarks and a jittered server-side timeout, resumed from the last seen
/// resourceVersion after timeouts and network errors (jittered exponential backoff), re-listed after
/// 410 Gone or a resourceVersion the server calls too large (with only real differences reported), and
/// paused as the server asks on 429. With a <see cref="NamespaceScope"/> it keeps only the objects of
/// the scope's namespaces and lists one namespace on its own when the scope grows.
/// </summary>
public sealed class Informer<T> : IInformer<T>, IScopedInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private const string MetadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

    /// <summary>Client-side guard beyond the server's timeoutSeconds, for connections that die silently.</summary>
    private static readonly TimeSpan WatchGrace = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan QuickWatchEnd = TimeSpan.FromSeconds(1);

    /// <summary>A watch that fails after running this long starts a fresh backoff (client-go resets its backoff after 2 minutes).</summary>
    private static readonly TimeSpan HealthyWatch = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);

    private readonly KubernetesApiClient api;
    private readonly InformerOptions<T> options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly InformerRetries retries;
    private readonly InformerMetrics metrics;
    private readonly ListPager<T> pager;
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly InformerSubscribers<T> subscribers;
    private string? lastResourceVersion;
    private int running;

    /// <summary>
    /// Serializes changes to the cache and their events: the watch loop and namespace fills both store objects, and
    /// subscribers are promised one change at a time, in order.
    /// </summary>
    private readonly Lock storeGate = new();
    private ListState listState;
    private readonly HashSet<string> deferredFills = new(StringComparer.Ordinal);

    /// <summary>Per namespace being filled: the objects the watch changed since the fill's list was asked for.</summary>
    private readonly Dictionary<string, HashSet<ObjectKey>> changedDuringFill = new(StringComparer.Ordinal);

    /// <summary>
    /// How many full lists have been stored. A fill notes it when it asks for its list and stores nothing once it has
    /// moved on: see <see cref="FillAsync"/>.
    /// </summary>
    private long listsStored;
    private readonly List<Task> fillRuns = [];
    private CancellationToken runToken;

    public Informer(KubernetesApiClient api, ResourceDescriptor resource, InformerOptions<T>? options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        this.api = api;
        Resource = resource;
        this.options = options ?? new InformerOptions<T>();
        this.time = time;
        this.logger = logger;
        retries = new InformerRetries(resource, this.options.ReconnectInitial, this.options.ReconnectCap, time, logger);
        metrics = new InformerMetrics(resource.DisplayName, this.options.Name ?? resource.DisplayName);
        subscribers = new InformerSubscribers<T>(resource, logger);
        pager = new ListPager<T>(api, resource, this.options);
    }

    public ResourceDescriptor Resource { get; }

    // Resolved on first decode, after the host registered the operator's JSON metadata, not when the informer is
    // constructed; then kept, since every watch event needs them. (A race only resolves them twice.)
    private WatchJson<T>? watchJson;
    private string? lastListProblem;

    private WatchJson<T> EventJson => watchJson ??= WatchJson<T>.For(options.KeepManagedFields);


    public ObjectCache<T> Cache { get; } = new();

    public bool HasSynced => synced.Task.IsCompleted;

    public string? SyncProblem => HasSynced ? null : Volatile.Read(ref lastListProblem);

    /// <summary>The resourceVersion the next watch resumes from (last event, bookmark or list).</summary>
    public string? LastResourceVersion => Volatile.Read(ref lastResourceVersion);

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public IDisposable Subscribe(Action<InformerEvent<T>> handler) => subscribers.Subscribe(handler);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref running, 1) == 1)
        {
            throw new InvalidOperationException($"The informer for {Resource.DisplayName} is already running.");
        }

        runToken = cancellationToken;
        options.Scope?.Join(this);
        try
        {
            if (options.Scope is { } scope)
            {
                // List once the scope knows the namespaces that exist at start: one list then covers them all, instead
                // of one fill per namespace.
                await scope.WaitForSourcesAsync(cancellationToken).ConfigureAwait(false);
            }

            // A scoped informer always lists when it (re)starts: namespaces may have joined while it was stopped.
            await RunLoopAsync(needList: LastResourceVersion is null || options.Scope is not null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped while waiting for the scope's sources.
        }
        finally
        {
            await EndFillsAsync().ConfigureAwait(false);
            Volatile.Write(ref running, 0);
        }
    }

    bool IScopedInformer.Fill(string @namespace)
    {
        lock (storeGate)
        {
            switch (listState)
            {
                case ListState.NotListed:
                    return false;
                case ListState.Listing:
                    // Pages already read left this namespace out; fetch it once the list is in, while the watch runs.
                    deferredFills.Add(@namespace);
                    return true;
                default:
                    StartFill(@namespace);
                    return true;
            }
        }
    }

    private void StartFill(string @namespace)
    {
        var token = runToken;
        fillRuns.RemoveAll(run => run.IsCompleted);
        fillRuns.Add(Task.Run(() => FillAsync(@namespace, token), CancellationToken.None));
    }

    /// <summary>Lists one namespace into the cache, retrying with backoff until it succeeds or the informer stops.</summary>
    private async Task FillAsync(string @namespace, CancellationToken cancellationToken)
    {
        try
        {
            if (options.Namespace is { } watched && watched != @namespace)
            {
                return;
            }

            var failures = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    HashSet<ObjectKey> changedByWatch = [];
                    long listsBefore;
                    lock (storeGate)
                    {
                        changedDuringFill[@namespace] = changedByWatch;
                        listsBefore = listsStored;
                    }

                    var count = 0;
                    var superseded = false;
                    await foreach (var page in pager.ListPagesAsync(@namespace, cancellationToken).ConfigureAwait(false))
                    {
                        var prepared = page.Select(PrepareListed).ToList();
                        lock (storeGate)
                        {
                            // A full list stored since this fill asked for its list supersedes the fill, which stores
                            // nothing more. That list holds every object of the namespace: a fill starts only while no
                            // list is paging (one asked for during a list waits for it) and after its namespace joined
                            // the scope, so the list began later and read all its pages with the namespace in scope.
                            // The watch goes on from that list's resourceVersion, which may be newer than this fill's
                            // answer (a 410 relist while the fill was in flight): storing the fill would bring back
                            // objects deleted since and overwrite newer versions, and the watch would never report them
                            // again. What the fill stored before, the list replaced. A list still paging does not hold
                            // the fill back: until it is stored, the fill's objects are the newest the cache has.
                            if (listsStored != listsBefore)
                            {
                                superseded = true;
                                break;
                            }

                            // The list is at least as new as anything the watch had delivered when it was asked for.
                            // An object the watch changed since then is the watch's to report: its copy is newer, or
                            // (watch behind) the watch brings this version and later ones. No deletions either: an
                            // object missing here was deleted, and the watch reports it.
                            foreach (var item in prepared.Where(item => !changedByWatch.Contains(ObjectKey.Of(item))))
                            {
                                Store(item, fromRelist: true);
                            }
                        }

                        count += prepared.Count;
                    }

                    metrics.NamespaceFill();
                    metrics.CachedObjects(Cache.Count);
                    if (superseded)
                    {
                        logger.LogInformation("A full list of {Resource} superseded the list of namespace {Namespace}, which joined the scope; the fill stored {Count} objects before it", Resource.DisplayName, @namespace, count);
                    }
                    else
                    {
                        logger.LogInformation("Listed {Count} {Resource} of namespace {Namespace}, which joined the scope", count, Resource.DisplayName, @namespace);
                    }

                    return;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    var delay = retries.DelayFor(failures);
                    lock (storeGate)
                    {
                        changedDuringFill.Remove(@namespace);
                    }

                    options.Scope?.FillFailed(@namespace, retries.ListProblem(e));
                    retries.LogFailure(e, "List", @namespace, failures, delay);
                    await retries.DelayAsync(delay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            lock (storeGate)
            {
                changedDuringFill.Remove(@namespace);
            }

            options.Scope?.FillEnded(@namespace);
        }
    }

    /// <summary>On stop: fills waiting for a list are given up, running ones end with the run's cancellation.</summary>
    private async Task EndFillsAsync()
    {
        if (options.Scope is not { } scope)
        {
            return;
        }

        string[] deferred;
        Task[] running;
        lock (storeGate)
        {
            deferred = [.. deferredFills];
            deferredFills.Clear();
            running = [.. fillRuns];
            fillRuns.Clear();
            listState = ListState.NotListed;
        }

        scope.Leave(this);
        foreach (var @namespace in deferred)
        {
            scope.FillEnded(@namespace);
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    /// <summary>
    /// A second run after a stop keeps the cache and resumes the watch from the last resourceVersion,
    /// exactly as after a dropped connection (re-listing only if the server says 410 Gone).
    /// </summary>
    private async Task RunLoopAsync(bool needList, CancellationToken cancellationToken)
    {
        // Consecutive failures, reset by a watch that ran well (ended by the server after events or a while, or failed
        // after HealthyWatch), never by a list alone: a watch that fails at once after every list must not relist at once.
        var failures = 0;
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
                }

                watchStarted = time.GetTimestamp();
                var delivered = await WatchAsync(cancellationToken).ConfigureAwait(false);
                metrics.WatchRestart("timeout");
                if (delivered || time.GetElapsedTime(watchStarted.Value) >= QuickWatchEnd)
                {
                    failures = 0;
                    logger.LogDebug("Watch of {Resource} ended by the server; resuming from {ResourceVersion}", Resource.DisplayName, LastResourceVersion);
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
                    logger.LogInformation("Watch of {Resource} expired (410 Gone); re-listing", Resource.DisplayName);
                }
                else
                {
                    metrics.WatchRestart("too_large");
                    logger.LogWarning("Watch of {Resource} from resourceVersion {ResourceVersion} was refused as newer than the server's ({Message}); re-listing", Resource.DisplayName, LastResourceVersion, e.Status?.Message);
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

                var pause = e.RetryAfter is { } asked && asked > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(asked.Ticks, MaxRetryAfter.Ticks)) : DefaultRetryAfter;
                metrics.WatchRestart("throttled");
                logger.LogInformation("{Resource}: server asked to retry after {RetryAfter} ({Message})", Resource.DisplayName, pause, e.Status?.Message);
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
                    options.ListFailed?.Invoke(problem);
                }

                retries.LogFailure(e, needList ? "List" : "Watch", null, failures, delay);
                await retries.DelayAsync(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Whether the watch that just failed (null: the list failed) had run long enough to count as healthy.</summary>
    private bool RanHealthily(long? watchStarted) => watchStarted is { } started && time.GetElapsedTime(started) >= HealthyWatch;

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        lock (storeGate)
        {
            listState = ListState.Listing;
        }

        var listed = new List<T>();
        string? resourceVersion = null;
        await foreach (var page in pager.ListPagesAsync(options.Namespace, cancellationToken).ConfigureAwait(false))
        {
            // Reduce each page as it arrives: keeping every full object of a big list (30,000 Secrets, 10,000 Pods)
            // until the last page would make the operator's peak memory follow the cluster, not its credentials.
            listed.AddRange(page.Where(InScope).Select(PrepareListed));
            resourceVersion = page.ResourceVersion;
        }

        metrics.Relist();
        lock (storeGate)
        {
            Replace(listed);
            Volatile.Write(ref lastResourceVersion, resourceVersion);
            listsStored++;
            listState = ListState.Listed;
            foreach (var @namespace in deferredFills)
            {
                StartFill(@namespace);
            }

            deferredFills.Clear();
        }

        synced.TrySetResult();
        logger.LogInformation("Listed {Count} {Resource} at resourceVersion {ResourceVersion}", listed.Count, Resource.DisplayName, resourceVersion);
    }

    private bool InScope(T item) => options.Scope is not { } scope || scope.Contains(item.Metadata?.NamespaceProperty);

    /// <summary>Watches until the server ends the stream; returns whether any event arrived.</summary>
    private async Task<bool> WatchAsync(CancellationToken cancellationToken)
    {
        var timeoutSeconds = (int)Math.Max(1, Math.Round(options.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble())));
        var query = new StringBuilder("?watch=true&allowWatchBookmarks=true&timeoutSeconds=").Append(timeoutSeconds);
        if (LastResourceVersion is { Length: > 0 } resumeFrom)
        {
            query.Append("&resourceVersion=").Append(Uri.EscapeDataString(resumeFrom));
        }

        options.AppendSelectors(query);

        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds) + WatchGrace, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, guard.Token);
        try
        {
            using var response = await api.SendAsync(
                HttpMethod.Get,
                Resource.CollectionPath(options.Namespace) + query,
                null,
                options.MetadataOnly ? MetadataAccept : "application/json",
                streaming: true,
                linked.Token).ConfigureAwait(false);
            await KubernetesApiClient.EnsureSuccessAsync(response, linked.Token).ConfigureAwait(false);

            var stream = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                return await ReadWatchAsync(stream, linked.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (guard.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The watch of {Resource.DisplayName} went silent past its timeout.");
        }
    }

    /// <summary>Handles the stream's events line by line as their bytes arrive; returns whether any event arrived.</summary>
    private async Task<bool> ReadWatchAsync(Stream stream, CancellationToken cancellationToken)
    {
        var pipe = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var delivered = false;
            while (true)
            {
                var read = await pipe.ReadAsync(cancellationToken).ConfigureAwait(false);
                var buffer = read.Buffer;
                while (WatchLines.TryTakeLine(ref buffer, out var line))
                {
                    delivered |= HandleWatchLine(line);
                }

                if (read.IsCompleted)
                {
                    // A last line without its line break (the server ends the stream after a whole event).
                    var last = HandleWatchLine(buffer);
                    return delivered || last;
                }

                pipe.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await pipe.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Handles one line of the stream; returns whether it held an event (blank lines do not).</summary>
    private bool HandleWatchLine(ReadOnlySequence<byte> line)
    {
        if (WatchLines.IsBlank(line))
        {
            return false;
        }

        var change = WatchLines.Decode(line, EventJson);
        metrics.WatchEvent(change.Type);
        switch (change.Type)
        {
            case "ADDED":
            case "MODIFIED":
            case "DELETED":
                ApplyWatchEvent(change);
                break;
            case "BOOKMARK":
                if (change.BookmarkVersion is { Length: > 0 } version)
                {
                    Volatile.Write(ref lastResourceVersion, version);
                }

                break;
            case "ERROR":
                var code = (HttpStatusCode)(change.Error?.Code ?? 500);
                throw new KubernetesApiException(code, change.Error, null, $"Watch error {(int)code} {change.Error?.Reason}: {change.Error?.Message}");
            default:
                logger.LogWarning("Ignoring watch event of unknown type {Type} for {Resource}", change.Type, Resource.DisplayName);
                break;
        }

        return true;
    }

    private void ApplyWatchEvent(WatchEvent<T> change)
    {
        if (change.ObjectError is { } error)
        {
            // Re-watching would deliver the same bytes again; skip the object, keep the stream.
            logger.LogError(error, "Could not decode a {Type} event of {Resource}; skipping it", change.Type, Resource.DisplayName);
            return;
        }

        var item = change.Object;
        if (item?.Metadata?.Name is null)
        {
            return;
        }

        var version = item.Metadata.ResourceVersion;
        if (InScope(item))
        {
            ApplyInScope(change.Type, Prepare(item));
        }

        if (!string.IsNullOrEmpty(version))
        {
            Volatile.Write(ref lastResourceVersion, version);
        }

        metrics.CachedObjects(Cache.Count);
    }

    private void ApplyInScope(string type, T item)
    {
        lock (storeGate)
        {
            if (changedDuringFill.Count > 0 && item.Metadata.NamespaceProperty is { } ns && changedDuringFill.TryGetValue(ns, out var changed))
            {
                changed.Add(ObjectKey.Of(item));
            }

            if (type != "DELETED")
            {
                Store(item, fromRelist: false);
                return;
            }

            var removed = Cache.Remove(ObjectKey.Of(item));
            if (removed is not null || options.Keep is not null)
            {
                // With a Keep filter an object may be unknown to the cache and still matter to a subscriber.
                subscribers.Publish(new InformerEvent<T>(InformerEventType.Deleted, item, removed));
            }
        }
    }

    /// <summary>
    /// Caches <paramref name="item"/> (or, when <see cref="InformerOptions{T}.Keep"/> rejects it, drops any copy held)
    /// and reports the change. An object the cache did not hold is reported as Added: without the old version the
    /// informer cannot tell whether it changed, so subscribers decide. One held at the same resourceVersion is left alone.
    /// </summary>
    private void Store(T item, bool fromRelist)
    {
        T? old;
        if (options.Keep is { } keep && !keep(item))
        {
            old = Cache.Remove(ObjectKey.Of(item));
        }
        else if (HeldUnchanged(item) is not null)
        {
            // Same resourceVersion, same object: the held instance stays as it is, since a subscriber may have slimmed
            // it further after its event (the usage feed drops the references it carried).
            return;
        }
        else
        {
            old = Cache.Upsert(item);
        }

        if (old is null)
        {
            subscribers.Publish(new InformerEvent<T>(InformerEventType.Added, item));
        }
        else if (old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
        {
            subscribers.Publish(new InformerEvent<T>(InformerEventType.Updated, item, old, FromRelist: fromRelist));
        }
    }

    /// <summary>Makes the cache equal to a fresh list and reports only real differences.</summary>
    private void Replace(IEnumerable<T> listed)
    {
        var seen = new HashSet<ObjectKey>();
        foreach (var item in listed)
        {
            seen.Add(ObjectKey.Of(item));
            Store(item, fromRelist: true);
        }

        foreach (var key in Cache.Keys().Where(key => !seen.Contains(key)))
        {
            if (Cache.Remove(key) is { } removed)
            {
                subscribers.Publish(new InformerEvent<T>(InformerEventType.Deleted, removed));
            }
        }

        metrics.CachedObjects(Cache.Count);
    }

    /// <summary>
    /// A listed object the cache holds at the same resourceVersion has not changed: the held instance is reused, so a
    /// re-list after 410 Gone neither runs the transform again nor replaces what the cache holds. A provisional object (see
    /// <see cref="ObjectCache{T}.TryAddProvisional"/>) does not count: the watch has not reported it yet.
    /// </summary>
    private T PrepareListed(T item) => HeldUnchanged(item) ?? Prepare(item);

    private T? HeldUnchanged(T item) =>
        item.Metadata is { Name: not null, ResourceVersion: { Length: > 0 } version }
        && Cache.TryGetWatched(ObjectKey.Of(item), out var held)
        && held.Metadata.ResourceVersion == version
            ? held
            : null;

    private T Prepare(T item)
    {
        if (!options.KeepManagedFields && item.Metadata is not null)
        {
            item.Metadata.ManagedFields = null;
        }

        // List items of built-in kinds come without apiVersion/kind; fill them so every cached object
        // can be referenced (events, owner references) the same way.
        if (!options.MetadataOnly && string.IsNullOrEmpty(item.Kind))
        {
            item.ApiVersion = Resource.ApiVersion;
            item.Kind = Resource.Kind;
        }

        return options.Transform is null ? item : options.Transform(item);
    }

    private enum ListState
    {
        NotListed,
        Listing,
        Listed,
    }
}
