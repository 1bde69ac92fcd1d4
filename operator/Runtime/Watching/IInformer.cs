using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>What the hosting needs of any informer: run it and know whether it has synced.</summary>
public interface IInformer
{
    ResourceDescriptor Resource { get; }

    /// <summary>True once the first full list is in the cache.</summary>
    bool HasSynced { get; }

    /// <summary>Why the first list has not succeeded yet (the last failure, as readiness reports it); null once synced or before any failure.</summary>
    string? SyncProblem { get; }

    /// <summary>
    /// After the first list: why the cache no longer follows the server (its lists and watches have failed for a while,
    /// or it stopped running); null while it follows. Readiness reports it, as it reports <see cref="SyncProblem"/>.
    /// </summary>
    string? WatchProblem => null;

    Task WaitForSyncAsync(CancellationToken cancellationToken);

    Task RunAsync(CancellationToken cancellationToken);
}

/// <summary>The read side of an informer: its cache and its change notifications.</summary>
public interface IInformer<T> : IInformer
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    ObjectCache<T> Cache { get; }

    /// <summary>
    /// Calls <paramref name="handler"/> for every change, in order and one at a time, while the informer holds its
    /// cache still (on its watch loop, or on a namespace fill): keep it short (enqueue a key) and do not call into
    /// another informer's subscribers from it. Dispose the result to unsubscribe.
    /// </summary>
    IDisposable Subscribe(Action<InformerEvent<T>> handler);

    /// <summary>
    /// Asks the informer's <see cref="InformerOptions{T}.Keep"/> again about the object held under <paramref name="key"/>,
    /// which the caller knows may no longer matter (the last credential reading it is gone): if it says no, the object is
    /// dropped and reported Deleted (from the cache; it may still exist). Otherwise an object is dropped only at its next
    /// change, which may never come.
    /// </summary>
    void Reconsider(ObjectKey key)
    {
    }
}
