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

    /// <summary>Starts noting the watch's changes in <paramref name="namespace"/>, afresh; the set fills as they come.</summary>
    public HashSet<ObjectKey> Begin(string @namespace)
    {
        HashSet<ObjectKey> changedByWatch = [];
        changedDuringFill[@namespace] = changedByWatch;
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
