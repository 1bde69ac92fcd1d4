using System.Net;
using System.Text;
using System.Text.Json;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Queue;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// Lists and then watches one resource type, keeping <see cref="Cache"/> current and telling
/// subscribers what changed. Follows client-go's reflector: a paged list, then a watch from the list's
/// resourceVersion with bookmarks and a jittered server-side timeout, resumed from the last seen
/// resourceVersion after timeouts and network errors (jittered exponential backoff), re-listed after
/// 410 Gone with only real differences reported, and paused as the server asks on 429.
/// </summary>
public sealed class Informer<T> : IInformer<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private const string MetadataListAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
    private const string MetadataAccept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

    /// <summary>Client-side guard beyond the server's timeoutSeconds, for connections that die silently.</summary>
    private static readonly TimeSpan WatchGrace = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan QuickWatchEnd = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(30);

    private readonly KubernetesApiClient api;
    private readonly InformerOptions<T> options;
    private readonly TimeProvider time;
    private readonly ILogger logger;
    private readonly ExponentialBackoff reconnectBackoff;
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock subscribersGate = new();
    private Action<InformerEvent<T>>[] subscribers = [];
    private string? lastResourceVersion;
    private int running;

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
        reconnectBackoff = new ExponentialBackoff(this.options.ReconnectInitial, this.options.ReconnectCap);
    }

    public ResourceDescriptor Resource { get; }

    public ObjectCache<T> Cache { get; } = new();

    public bool HasSynced => synced.Task.IsCompleted;

    /// <summary>The resourceVersion the next watch resumes from (last event, bookmark or list).</summary>
    public string? LastResourceVersion => Volatile.Read(ref lastResourceVersion);

    private string MetricName => Resource.DisplayName;

    private string InformerName => options.Name ?? Resource.DisplayName;

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => synced.Task.WaitAsync(cancellationToken);

    public IDisposable Subscribe(Action<InformerEvent<T>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (subscribersGate)
        {
            subscribers = [.. subscribers, handler];
        }

        return new Subscription(() =>
        {
            lock (subscribersGate)
            {
                subscribers = [.. subscribers.Where(existing => existing != handler)];
            }
        });
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref running, 1) == 1)
        {
            throw new InvalidOperationException($"The informer for {Resource.DisplayName} is already running.");
        }

        try
        {
            await RunLoopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref running, 0);
        }
    }

    /// <summary>
    /// A second run after a stop keeps the cache and resumes the watch from the last resourceVersion,
    /// exactly as after a dropped connection (re-listing only if the server says 410 Gone).
    /// </summary>
    private async Task RunLoopAsync(CancellationToken cancellationToken)
    {
        var needList = LastResourceVersion is null;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (needList)
                {
                    await ListAsync(cancellationToken).ConfigureAwait(false);
                    needList = false;
                    failures = 0;
                }

                var watchStarted = time.GetTimestamp();
                var delivered = await WatchAsync(cancellationToken).ConfigureAwait(false);
                RuntimeMetrics.WatchRestarts.WithLabels(MetricName, InformerName, "timeout").Inc();
                if (delivered || time.GetElapsedTime(watchStarted) >= QuickWatchEnd)
                {
                    failures = 0;
                    logger.LogDebug("Watch of {Resource} ended by the server; resuming from {ResourceVersion}", Resource.DisplayName, LastResourceVersion);
                }
                else
                {
                    // A server (or proxy) that closes watches at once must not turn this loop into a busy loop.
                    failures++;
                    await DelayAsync(reconnectBackoff.DelayFor(failures), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (KubernetesApiException e) when (e.IsGone)
            {
                // The resourceVersion was compacted away: only a fresh list can tell what changed.
                needList = true;
                RuntimeMetrics.WatchRestarts.WithLabels(MetricName, InformerName, "gone").Inc();
                logger.LogInformation("Watch of {Resource} expired (410 Gone); re-listing", Resource.DisplayName);
                failures++;
                if (failures > 1)
                {
                    await DelayAsync(reconnectBackoff.DelayFor(failures - 1), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (KubernetesApiException e) when (e.IsTooManyRequests)
            {
                var pause = e.RetryAfter is { } asked && asked > TimeSpan.Zero ? TimeSpan.FromTicks(Math.Min(asked.Ticks, MaxRetryAfter.Ticks)) : DefaultRetryAfter;
                RuntimeMetrics.WatchRestarts.WithLabels(MetricName, InformerName, "throttled").Inc();
                logger.LogInformation("{Resource}: server asked to retry after {RetryAfter} ({Message})", Resource.DisplayName, pause, e.Status?.Message);
                await DelayAsync(pause, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                failures++;
                var delay = reconnectBackoff.DelayFor(failures);
                RuntimeMetrics.WatchRestarts.WithLabels(MetricName, InformerName, "error").Inc();
                logger.LogWarning(e, "{Operation} of {Resource} failed (attempt {Attempt}); retrying in {Delay}", needList ? "List" : "Watch", Resource.DisplayName, failures, delay);
                await DelayAsync(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping; the loop condition ends the informer.
        }
    }

    private async Task ListAsync(CancellationToken cancellationToken)
    {
        var listed = new List<T>();
        string? continueToken = null;
        string? resourceVersion;
        do
        {
            var query = new StringBuilder().Append("?limit=").Append(options.PageSize);
            AppendSelectors(query);
            if (continueToken is not null)
            {
                query.Append("&continue=").Append(Uri.EscapeDataString(continueToken));
            }

            var page = await SendListAsync(query.ToString(), cancellationToken).ConfigureAwait(false);

            // Reduce each page as it arrives: keeping every full object of a big list (30,000 Secrets, 10,000 Pods)
            // until the last page would make the operator's peak memory follow the cluster, not its credentials.
            listed.AddRange((page.Items ?? []).Select(PrepareListed));
            continueToken = page.Metadata?.ContinueProperty;
            resourceVersion = page.Metadata?.ResourceVersion;
        }
        while (!string.IsNullOrEmpty(continueToken));

        RuntimeMetrics.Relists.WithLabels(MetricName, InformerName).Inc();
        Replace(listed);
        Volatile.Write(ref lastResourceVersion, resourceVersion);
        synced.TrySetResult();
        logger.LogInformation("Listed {Count} {Resource} at resourceVersion {ResourceVersion}", listed.Count, Resource.DisplayName, resourceVersion);
    }

    private async Task<ListEnvelope<T>> SendListAsync(string query, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        using var response = await api.SendAsync(
            HttpMethod.Get,
            Resource.CollectionPath(options.Namespace) + query,
            null,
            options.MetadataOnly ? MetadataListAccept : "application/json",
            streaming: false,
            timeout.Token).ConfigureAwait(false);
        await KubernetesApiClient.EnsureSuccessAsync(response, timeout.Token).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return KubernetesJson.Deserialize<ListEnvelope<T>>(stream)
                ?? throw new KubernetesApiException(HttpStatusCode.OK, null, null, "Empty list response.");
        }
    }

    /// <summary>Watches until the server ends the stream; returns whether any event arrived.</summary>
    private async Task<bool> WatchAsync(CancellationToken cancellationToken)
    {
        var timeoutSeconds = (int)Math.Max(1, Math.Round(options.WatchTimeout.TotalSeconds * (1 + Random.Shared.NextDouble())));
        var query = new StringBuilder("?watch=true&allowWatchBookmarks=true&timeoutSeconds=").Append(timeoutSeconds);
        if (LastResourceVersion is { Length: > 0 } resumeFrom)
        {
            query.Append("&resourceVersion=").Append(Uri.EscapeDataString(resumeFrom));
        }

        AppendSelectors(query);

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
                using var reader = new StreamReader(stream, Encoding.UTF8);
                var delivered = false;
                while (await reader.ReadLineAsync(linked.Token).ConfigureAwait(false) is { } line)
                {
                    if (line.Length > 0)
                    {
                        HandleWatchLine(line);
                        delivered = true;
                    }
                }

                return delivered;
            }
        }
        catch (OperationCanceledException) when (guard.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The watch of {Resource.DisplayName} went silent past its timeout.");
        }
    }

    private void HandleWatchLine(string line)
    {
        var envelope = KubernetesJson.Deserialize<WatchEnvelope>(line)
            ?? throw new JsonException("Empty watch event.");
        var type = envelope.Type ?? "";
        RuntimeMetrics.WatchEvents.WithLabels(MetricName, InformerName, type).Inc();
        switch (type)
        {
            case "ADDED":
            case "MODIFIED":
            case "DELETED":
                ApplyWatchEvent(type, envelope.Object);
                break;
            case "BOOKMARK":
                var bookmark = KubernetesJson.Deserialize<PartialObjectMetadata>(envelope.Object);
                if (bookmark?.Metadata?.ResourceVersion is { Length: > 0 } version)
                {
                    Volatile.Write(ref lastResourceVersion, version);
                }

                break;
            case "ERROR":
                var status = KubernetesJson.Deserialize<V1Status>(envelope.Object);
                var code = (HttpStatusCode)(status?.Code ?? 500);
                throw new KubernetesApiException(code, status, null, $"Watch error {(int)code} {status?.Reason}: {status?.Message}");
            default:
                logger.LogWarning("Ignoring watch event of unknown type {Type} for {Resource}", type, Resource.DisplayName);
                break;
        }
    }

    private void ApplyWatchEvent(string type, JsonElement payload)
    {
        T? item;
        try
        {
            item = KubernetesJson.Deserialize<T>(payload);
        }
        catch (JsonException e)
        {
            // Re-watching would deliver the same bytes again; skip the object, keep the stream.
            logger.LogError(e, "Could not decode a {Type} event of {Resource}; skipping it", type, Resource.DisplayName);
            return;
        }

        if (item?.Metadata?.Name is null)
        {
            return;
        }

        item = Prepare(item);
        var version = item.Metadata.ResourceVersion;
        if (type == "DELETED")
        {
            var removed = Cache.Remove(ObjectKey.Of(item));
            if (removed is not null || options.Keep is not null)
            {
                // With a Keep filter an object may be unknown to the cache and still matter to a subscriber.
                Publish(new InformerEvent<T>(InformerEventType.Deleted, item, removed));
            }
        }
        else
        {
            Store(item, fromRelist: false);
        }

        if (!string.IsNullOrEmpty(version))
        {
            Volatile.Write(ref lastResourceVersion, version);
        }

        RuntimeMetrics.CachedObjects.WithLabels(MetricName, InformerName).Set(Cache.Count);
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
            Publish(new InformerEvent<T>(InformerEventType.Added, item));
        }
        else if (old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
        {
            Publish(new InformerEvent<T>(InformerEventType.Updated, item, old, FromRelist: fromRelist));
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
                Publish(new InformerEvent<T>(InformerEventType.Deleted, removed));
            }
        }

        RuntimeMetrics.CachedObjects.WithLabels(MetricName, InformerName).Set(Cache.Count);
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

    private void Publish(InformerEvent<T> change)
    {
        foreach (var subscriber in Volatile.Read(ref subscribers))
        {
            try
            {
                subscriber(change);
            }
            catch (Exception e)
            {
                logger.LogError(e, "A subscriber of {Resource} failed on {Type} of {Key}", Resource.DisplayName, change.Type, ObjectKey.Of(change.Current));
            }
        }
    }

    private void AppendSelectors(StringBuilder query)
    {
        if (!string.IsNullOrEmpty(options.LabelSelector))
        {
            query.Append("&labelSelector=").Append(Uri.EscapeDataString(options.LabelSelector));
        }

        if (!string.IsNullOrEmpty(options.FieldSelector))
        {
            query.Append("&fieldSelector=").Append(Uri.EscapeDataString(options.FieldSelector));
        }
    }

    private sealed class Subscription(Action unsubscribe) : IDisposable
    {
        private Action? unsubscribe = unsubscribe;

        public void Dispose() => Interlocked.Exchange(ref unsubscribe, null)?.Invoke();
    }
}
