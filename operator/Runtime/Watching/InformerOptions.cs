using System.Text;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>What an informer lists and watches, and how it treats what it receives.</summary>
public sealed record InformerOptions<T>
    where T : class
{
    /// <summary>Names the informer in metrics (the name it is registered under); defaults to the resource.</summary>
    public string? Name { get; init; }

    /// <summary>Namespace to watch; null watches all namespaces.</summary>
    public string? Namespace { get; init; }

    public string? LabelSelector { get; init; }

    public string? FieldSelector { get; init; }

    /// <summary>
    /// Ask the server for PartialObjectMetadata instead of full objects (use with
    /// <see cref="PartialObjectMetadata"/>): the informer then never receives, for example, Secret data.
    /// </summary>
    public bool MetadataOnly { get; init; }

    /// <summary>
    /// Applied to every object before it is cached or handed to handlers: reduce objects to what the
    /// operator needs (for example replace a Secret's data with a hash) so memory follows the operator's
    /// work, not the cluster. Must return an object with the same namespace, name and resourceVersion.
    /// </summary>
    public Func<T, T>? Transform { get; init; }

    /// <summary>
    /// Which objects the cache holds. Objects it rejects are still reported to subscribers (as Added, or Updated when
    /// they were held before; a deletion always) but not kept, so an informer over a kind the cluster has many of (every
    /// Secret) costs memory only for the objects the operator cares about. Called on every arrival, so it may change
    /// its mind as the operator learns: an object it starts caring about is held from its next change on. Null keeps all.
    /// </summary>
    public Func<T, bool>? Keep { get; init; }

    /// <summary>
    /// Keep and report only objects in these namespaces (null: all). The informer still lists and watches what
    /// <see cref="Namespace"/> says, drops other objects on arrival (before <see cref="Transform"/>), waits for the
    /// scope's sources before its first list, and lists a namespace on its own when the scope gains it later.
    /// </summary>
    public NamespaceScope? Scope { get; init; }

    /// <summary>
    /// Told why a list (the first one, or a re-list) failed, each time it does, before the informer retries with backoff:
    /// the status code and reason, never the server's message. Lets a caller that waits for the list say what it waits on.
    /// </summary>
    public Action<string>? ListFailed { get; init; }

    /// <summary>managedFields are dropped by default: they are often the largest part of an object and unused here.</summary>
    public bool KeepManagedFields { get; init; }

    /// <summary>
    /// Base server-side watch timeout; each watch asks for a random value between this and twice this,
    /// so watches of many informers do not reconnect in step. Keep it small in tests.
    /// </summary>
    public TimeSpan WatchTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Items per page of the initial list (and of a re-list after 410 Gone).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>First reconnect delay after an error; doubles up to <see cref="ReconnectCap"/>, jittered.</summary>
    public TimeSpan ReconnectInitial { get; init; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan ReconnectCap { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long lists and watches may keep failing after the first list before the informer reports that its cache no
    /// longer follows the server (<see cref="IInformer.WatchProblem"/>, and so <c>/readyz</c>). Shorter outages, which
    /// the watch resumes from without loss (an API server restart), are not reported.
    /// </summary>
    public TimeSpan StaleAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Adds the selectors to a list or watch query: both must ask for the same objects.</summary>
    internal void AppendSelectors(StringBuilder query)
    {
        if (!string.IsNullOrEmpty(LabelSelector))
        {
            query.Append("&labelSelector=").Append(Uri.EscapeDataString(LabelSelector));
        }

        if (!string.IsNullOrEmpty(FieldSelector))
        {
            query.Append("&fieldSelector=").Append(Uri.EscapeDataString(FieldSelector));
        }
    }
}
