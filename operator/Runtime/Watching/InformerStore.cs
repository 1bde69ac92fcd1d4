using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The informer's cache and every change to it. Objects arrive from the watch, full lists and namespace fills; here
/// they are prepared (managedFields dropped, kind filled in, <see cref="InformerOptions{T}.Transform"/>), kept or dropped
/// (<see cref="InformerOptions{T}.Keep"/>), and each real change is published while <see cref="Gate"/> is held, so
/// subscribers see changes one at a time and in the order the cache took them, whoever brought them.
/// </summary>
internal sealed class InformerStore<T>(
    ResourceDescriptor resource,
    InformerOptions<T> options,
    InformerSubscribers<T> subscribers,
    WatchChangesDuringFills<T> changedDuringFills,
    InformerMetrics metrics)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>
    /// Serializes changes to the cache and their events: the watch loop and namespace fills both store objects, and
    /// subscribers are promised one change at a time, in order.
    /// </summary>
    public Lock Gate { get; } = new();

    public ObjectCache<T> Cache { get; } = new();

    /// <summary>Whether the scope, if any, holds the object's namespace: objects outside it are dropped on arrival, before any work.</summary>
    public bool InScope(T item) => options.Scope is not { } scope || scope.Contains(item.Metadata?.NamespaceProperty);

    /// <summary>Applies one ADDED, MODIFIED or DELETED event of the watch; objects outside the scope are passed over.</summary>
    public void ApplyWatched(string type, T item)
    {
        if (InScope(item))
        {
            ApplyInScope(type, Prepare(item));
        }
    }

    /// <summary>
    /// Caches <paramref name="item"/> (or, when <see cref="InformerOptions{T}.Keep"/> rejects it, drops any copy held)
    /// and reports the change. An object the cache did not hold is reported as Added: without the old version the
    /// informer cannot tell whether it changed, so subscribers decide. One held at the same resourceVersion is left alone.
    /// The caller holds <see cref="Gate"/>.
    /// </summary>
    public void Store(T item, bool fromRelist)
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

    /// <summary>Makes the cache equal to a fresh list and reports only real differences. The caller holds <see cref="Gate"/>.</summary>
    public void Replace(IEnumerable<T> listed)
    {
        var seen = new HashSet<ObjectKey>();

        // Pages were read over time: a namespace may have left the scope (and been dropped) since one of them came.
        foreach (var item in listed.Where(InScope))
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

    /// <summary>See <see cref="IInformer{T}.Reconsider"/>.</summary>
    public void Reconsider(ObjectKey key)
    {
        if (options.Keep is not { } keep)
        {
            return;
        }

        lock (Gate)
        {
            // A provisional object (a fresh read's) counts too: nothing would replace it once unreferenced.
            if (Cache.Get(key) is { } held && !keep(held) && Cache.Remove(key) is { } removed)
            {
                subscribers.Publish(new InformerEvent<T>(InformerEventType.Deleted, removed));
                metrics.CachedObjects(Cache.Count);
            }
        }
    }

    /// <summary>
    /// Drops every object held in <paramref name="namespace"/>, which left the scope, and reports each deleted: for
    /// subscribers the informer no longer follows it. The caller holds <see cref="Gate"/>.
    /// </summary>
    public void DropNamespace(string @namespace)
    {
        var dropped = 0;
        foreach (var key in Cache.Keys().Where(key => key.Namespace == @namespace))
        {
            if (Cache.Remove(key) is { } removed)
            {
                dropped++;
                subscribers.Publish(new InformerEvent<T>(InformerEventType.Deleted, removed));
            }
        }

        if (dropped > 0)
        {
            metrics.CachedObjects(Cache.Count);
        }
    }

    /// <summary>
    /// A listed object the cache holds at the same resourceVersion has not changed: the held instance is reused, so a
    /// re-list after 410 Gone neither runs the transform again nor replaces what the cache holds. A provisional object (see
    /// <see cref="ObjectCache{T}.TryAddProvisional"/>) does not count: the watch has not reported it yet.
    /// </summary>
    public T PrepareListed(T item) => HeldUnchanged(item) ?? Prepare(item);

    private void ApplyInScope(string type, T item)
    {
        lock (Gate)
        {
            // Asked again under the gate: the namespace may have left the scope, and its objects been dropped, since
            // this event was let in.
            if (!InScope(item))
            {
                return;
            }

            changedDuringFills.Note(item);
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
            item.ApiVersion = resource.ApiVersion;
            item.Kind = resource.Kind;
        }

        return options.Transform is null ? item : options.Transform(item);
    }
}
