using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Runtime.Events;

public sealed record EventRecorderOptions
{
    /// <summary><c>source.component</c> and <c>reportingComponent</c> of every event.</summary>
    public string Component { get; init; } = "passbox";

    /// <summary><c>reportingInstance</c>: the pod name, so events tell which replica acted.</summary>
    public string? Instance { get; init; }

    /// <summary>Recent events remembered for aggregation; older repeats start a new Event.</summary>
    public int AggregationCacheSize { get; init; } = 512;

    /// <summary>Events waiting to be written; more are dropped (and counted) rather than slowing reconciles down.</summary>
    public int QueueCapacity { get; init; } = 1000;

    /// <summary>Normal events written per second once the burst is spent (see <see cref="NormalEventBudget"/>).</summary>
    public double NormalEventsPerSecond { get; init; } = 10;

    /// <summary>Normal events written at once before <see cref="NormalEventsPerSecond"/> applies.</summary>
    public int NormalEventBurst { get; init; } = 100;
}

/// <summary>
/// Writes core/v1 Events off the reconcile's critical path: <see cref="RecordAsync"/> only queues the event, and one
/// background writer sends them in order, as client-go's broadcaster does. The queue is bounded; when the API server
/// cannot keep up, new events are dropped and counted (<c>passbox_events_dropped_total</c>) instead of holding up
/// reconciles. <see cref="FlushAsync"/> writes what is queued on graceful shutdown. A repeat of the same object, type,
/// reason and message patches the existing Event's <c>count</c> and <c>lastTimestamp</c> instead of creating another
/// (as client-go's correlator does), remembering recent events in a small LRU. Normal events share a budget
/// (<see cref="NormalEventBudget"/>): beyond it they are not written and are counted
/// (<c>passbox_events_throttled_total</c>); Warnings always are.
/// </summary>
public sealed class EventRecorder : IEventRecorder, IAsyncDisposable
{
    private const int MaxMessageLength = 1024;

    private readonly KubernetesApiClient api;
    private readonly TimeProvider time;
    private readonly ILogger<EventRecorder> logger;
    private readonly EventRecorderOptions options;
    private readonly Lock gate = new();
    private readonly Dictionary<string, LinkedListNode<Recorded>> recent = new(StringComparer.Ordinal);
    private readonly LinkedList<Recorded> recency = new();
    private readonly Channel<Pending> pending;
    private readonly CancellationTokenSource abandon = new();
    private readonly Task writer;
    private readonly NormalEventBudget normalBudget;

    public EventRecorder(KubernetesApiClient api, TimeProvider time, ILogger<EventRecorder> logger, EventRecorderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        this.api = api;
        this.time = time;
        this.logger = logger;
        this.options = options ?? new EventRecorderOptions();
        normalBudget = new NormalEventBudget(this.options.NormalEventsPerSecond, this.options.NormalEventBurst, time.GetUtcNow());
        pending = Channel.CreateBounded<Pending>(new BoundedChannelOptions(this.options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then says "full" and the caller drops.
        });
        writer = Task.Run(WriteQueuedAsync);
    }

    /// <summary>Queues the event and returns at once; the event is written in the background.</summary>
    public Task RecordAsync(IKubernetesObject<V1ObjectMeta> regarding, EventType type, string reason, string message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(regarding);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        message = message is { Length: > MaxMessageLength } ? message[..(MaxMessageLength - 3)] + "..." : message ?? "";
        var involved = ReferenceTo(regarding);
        var ns = regarding.Metadata.NamespaceProperty ?? "default";
        if (type == EventType.Normal && !normalBudget.TryTake(time.GetUtcNow()))
        {
            RuntimeMetrics.EventsThrottled.Inc();
            logger.LogDebug("Normal event budget spent; not writing event {Reason} for {Namespace}/{Name}", reason, ns, involved.Name);
            return Task.CompletedTask;
        }

        if (!pending.Writer.TryWrite(new Pending(involved, ns, type, reason, message, time.GetUtcNow().UtcDateTime)))
        {
            RuntimeMetrics.EventsDropped.Inc();
            logger.LogDebug("Event queue full or closed; dropped event {Reason} for {Namespace}/{Name}", reason, ns, involved.Name);
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Stops taking events and writes those already queued; when <paramref name="cancellationToken"/> fires first,
    /// the rest is abandoned.
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        pending.Writer.TryComplete();
        try
        {
            await writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await abandon.CancelAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await FlushAsync(patience.Token).ConfigureAwait(false);
        abandon.Dispose();
    }

    private async Task WriteQueuedAsync()
    {
        await foreach (var next in pending.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            if (abandon.IsCancellationRequested)
            {
                RuntimeMetrics.EventsDropped.Inc();
                continue;
            }

            await WriteAsync(next, abandon.Token).ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(Pending next, CancellationToken cancellationToken)
    {
        var (involved, ns, type, reason, message, now) = next;
        try
        {
            var identity = string.Join('\u001f', involved.Uid ?? $"{involved.Kind}/{ns}/{involved.Name}", type, reason, message);
            if (Remembered(identity) is { } previous && await TryBumpAsync(previous, now, cancellationToken).ConfigureAwait(false))
            {
                return;
            }

            var name = string.Create(CultureInfo.InvariantCulture, $"{involved.Name}.{time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000 + Random.Shared.Next(1_000_000):x}");
            var created = new Corev1Event
            {
                ApiVersion = "v1",
                Kind = "Event",
                Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = ns },
                InvolvedObject = involved,
                Reason = reason,
                Message = message,
                Type = type.ToString(),
                Count = 1,
                FirstTimestamp = now,
                LastTimestamp = now,
                Source = new V1EventSource { Component = options.Component },
                ReportingComponent = options.Component,
                ReportingInstance = options.Instance ?? options.Component,
            };
            await api.PostAsync<Corev1Event>(ResourceDescriptor.Events.CollectionPath(ns), created, cancellationToken).ConfigureAwait(false);
            Remember(new Recorded(identity, ns, name, 1));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            RuntimeMetrics.EventsDropped.Inc();
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not record event {Reason} for {Namespace}/{Name}", reason, ns, involved.Name);
        }
    }

    private async Task<bool> TryBumpAsync(Recorded previous, DateTime now, CancellationToken cancellationToken)
    {
        var count = previous.Count + 1;
        var patch = new JsonObject
        {
            ["count"] = count,
            ["lastTimestamp"] = now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        };
        try
        {
            await api.PatchAsync<Corev1Event>($"{ResourceDescriptor.Events.CollectionPath(previous.Namespace)}/{previous.Name}", patch, cancellationToken).ConfigureAwait(false);
            Remember(previous with { Count = count });
            return true;
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            // The event expired (events have a TTL); start a new one.
            return false;
        }
    }

    private static V1ObjectReference ReferenceTo(IKubernetesObject<V1ObjectMeta> regarding)
    {
        var apiVersion = regarding.ApiVersion;
        var kind = regarding.Kind;
        if (string.IsNullOrEmpty(apiVersion) || string.IsNullOrEmpty(kind))
        {
            // List items of built-in kinds arrive without apiVersion/kind; the type knows them.
            var descriptor = ResourceDescriptor.For(regarding.GetType());
            apiVersion = descriptor.ApiVersion;
            kind = descriptor.Kind;
        }

        return new V1ObjectReference
        {
            ApiVersion = apiVersion,
            Kind = kind,
            Name = regarding.Metadata.Name,
            NamespaceProperty = regarding.Metadata.NamespaceProperty,
            Uid = regarding.Metadata.Uid,
            ResourceVersion = regarding.Metadata.ResourceVersion,
        };
    }

    private Recorded? Remembered(string identity)
    {
        lock (gate)
        {
            return recent.TryGetValue(identity, out var node) ? node.Value : null;
        }
    }

    private void Remember(Recorded recorded)
    {
        lock (gate)
        {
            if (recent.Remove(recorded.Identity, out var existing))
            {
                recency.Remove(existing);
            }

            recent[recorded.Identity] = recency.AddFirst(recorded);
            while (recent.Count > options.AggregationCacheSize && recency.Last is { } oldest)
            {
                recency.RemoveLast();
                recent.Remove(oldest.Value.Identity);
            }
        }
    }

    private sealed record Recorded(string Identity, string Namespace, string Name, int Count);

    private sealed record Pending(V1ObjectReference Involved, string Namespace, EventType Type, string Reason, string Message, DateTime At);
}
