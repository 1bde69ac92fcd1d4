using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Controllers;

/// <summary>Ready-made mappings from an event of another kind to the primary keys it concerns.</summary>
public static class EventMaps
{
    /// <summary>Objects owned (ownerReferences) by a primary of <paramref name="owner"/>'s kind, in the same namespace.</summary>
    public static Func<TOther, IEnumerable<ObjectKey>> ByOwner<TOther>(ResourceDescriptor owner)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(owner);
        return other => (other.Metadata?.OwnerReferences ?? [])
            .Where(owner.Matches)
            .Select(reference => new ObjectKey(owner.Namespaced ? other.Metadata!.NamespaceProperty : null, reference.Name));
    }

    /// <summary>Objects whose label <paramref name="label"/> names a primary in the same namespace.</summary>
    public static Func<TOther, IEnumerable<ObjectKey>> ByLabel<TOther>(string label)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        return other => other.Metadata?.Labels?.TryGetValue(label, out var name) == true && !string.IsNullOrEmpty(name)
            ? [new ObjectKey(other.Metadata.NamespaceProperty, name)]
            : [];
    }

    /// <summary>
    /// Primaries whose index <paramref name="indexName"/> contains the other object's key
    /// (<c>namespace/name</c>), e.g. credentials indexed by the source Secrets they reference.
    /// </summary>
    public static Func<TOther, IEnumerable<ObjectKey>> ByIndex<TOther, TPrimary>(IInformer<TPrimary> primary, string indexName)
        where TOther : class, IKubernetesObject<V1ObjectMeta>
        where TPrimary : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(primary);
        ArgumentException.ThrowIfNullOrEmpty(indexName);
        return other => primary.Cache.KeysByIndex(indexName, ObjectKey.Of(other).ToString());
    }
}
