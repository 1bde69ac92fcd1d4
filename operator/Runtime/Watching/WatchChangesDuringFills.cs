using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// Per namespace being filled, the objects the watch changed since the fill asked for its list. The watch's copy of
/// those is newer than the fill's, or the watch is behind and brings the fill's version and later ones: either way the
/// fill must not store them. The store notes changes and the fills read them, both under the store's gate.
/// </summary>
internal sealed class WatchChangesDuringFills<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Dictionary<string, HashSet<ObjectKey>> changedDuringFill = new(StringComparer.Ordinal);

    /// <summary>
    /// Starts noting the watch's changes in the namespace of <paramref name="inclusion"/>, afresh; the set fills as they
    /// come. Null when that stay in scope is over: the namespace left, and may have joined again with a fill of its own
    /// noting already, whose set a fill of the old stay must not replace (and then end, as it stops). Asked under the
    /// store's gate, which the namespace's departure takes after ending the stay and the fill of its return before it
    /// begins, so a fill that begins late sees the end.
    /// </summary>
    public HashSet<ObjectKey>? Begin(NamespaceScope.Inclusion inclusion)
    {
        if (inclusion.Ended)
        {
            return null;
        }

        HashSet<ObjectKey> changedByWatch = [];
        changedDuringFill[inclusion.Namespace] = changedByWatch;
        return changedByWatch;
    }

    /// <summary>
    /// Stops noting for the fill that began with <paramref name="changedByWatch"/>. A namespace that left the scope and
    /// joined again may have a newer fill by now, whose set stays.
    /// </summary>
    public void End(string @namespace, HashSet<ObjectKey>? changedByWatch)
    {
        if (changedByWatch is not null && changedDuringFill.TryGetValue(@namespace, out var current) && ReferenceEquals(current, changedByWatch))
        {
            changedDuringFill.Remove(@namespace);
        }
    }

    /// <summary>Called for every watch event in scope: without a fill running it costs one count.</summary>
    public void Note(T item)
    {
        if (changedDuringFill.Count > 0 && item.Metadata.NamespaceProperty is { } ns && changedDuringFill.TryGetValue(ns, out var changed))
        {
            changed.Add(ObjectKey.Of(item));
        }
    }
}
