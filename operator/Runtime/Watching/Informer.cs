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
    // The parts below each do one job; the informer wires them together and runs the loop once at a time.
    private readonly InformerOptions<T> options;
    private readonly InformerSubscribers<T> subscribers;
    private readonly InformerStore<T> store;
    private readonly WatchStream<T> watch;
    private readonly NamespaceFills<T> fills;
    private readonly ListWatchLoop<T> loop;
    private int running;
    private string? stoppedBy;

    public Informer(KubernetesApiClient api, ResourceDescriptor resource, InformerOptions<T>? options, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(resource);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        Resource = resource;
        this.options = options ?? new InformerOptions<T>();
        var retries = new InformerRetries(resource, this.options.ReconnectInitial, this.options.ReconnectCap, time, logger);
        var metrics = new InformerMetrics(resource.DisplayName, this.options.Name ?? resource.DisplayName);
        subscribers = new InformerSubscribers<T>(resource, logger);
        var requests = new CollectionRequests<T>(api, resource, this.options);
        var pager = new ListPager<T>(requests, this.options);
        var changedDuringFills = new WatchChangesDuringFills<T>();
        store = new InformerStore<T>(resource, this.options, subscribers, changedDuringFills, metrics);
        watch = new WatchStream<T>(requests, resource, this.options, store, metrics, time, logger);
        fills = new NamespaceFills<T>(resource, this.options, store, pager, changedDuringFills, retries, metrics, logger);
        loop = new ListWatchLoop<T>(resource, this.options, pager, watch, store, fills, retries, metrics, time, logger);
    }

    public ResourceDescriptor Resource { get; }

    public ObjectCache<T> Cache => store.Cache;

    public bool HasSynced => loop.HasSynced;

    public string? SyncProblem => loop.SyncProblem;

    public string? WatchProblem => Volatile.Read(ref stoppedBy) ?? loop.WatchProblem;

    /// <summary>The resourceVersion the next watch resumes from (last event, bookmark or list).</summary>
    public string? LastResourceVersion => watch.LastResourceVersion;

    public Task WaitForSyncAsync(CancellationToken cancellationToken) => loop.WaitForSyncAsync(cancellationToken);

    public IDisposable Subscribe(Action<InformerEvent<T>> handler) => subscribers.Subscribe(handler);

    public void Reconsider(ObjectKey key) => store.Reconsider(key);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref running, 1) == 1)
        {
            throw new InvalidOperationException($"The informer for {Resource.DisplayName} is already running.");
        }

        fills.RunUntil(cancellationToken);
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
            await loop.RunAsync(needList: LastResourceVersion is null || options.Scope is not null, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped while waiting for the scope's sources.
        }
        catch (Exception e)
        {
            // Not asked to stop: the cache stays as it was from now on, which readiness must say.
            Volatile.Write(ref stoppedBy, $"the informer of {Resource.DisplayName} stopped: {e.GetType().Name}");
            throw;
        }
        finally
        {
            await fills.EndAsync(this).ConfigureAwait(false);
            Volatile.Write(ref running, 0);
        }
    }

    bool IScopedInformer.Fill(NamespaceScope.Inclusion inclusion) => fills.Fill(inclusion);

    void IScopedInformer.Drop(string @namespace) => fills.Drop(@namespace);
}
