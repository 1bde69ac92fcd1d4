using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime;

/// <summary>Identifies an object within one resource type: namespace (null when cluster-scoped) and name.</summary>
public readonly record struct ObjectKey(string? Namespace, string Name)
{
    public static ObjectKey Of(IKubernetesObject<V1ObjectMeta> entity)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var metadata = entity.Metadata ?? throw new ArgumentException("The object has no metadata.", nameof(entity));
        return new ObjectKey(string.IsNullOrEmpty(metadata.NamespaceProperty) ? null : metadata.NamespaceProperty, metadata.Name);
    }

    /// <summary>Parses the <c>namespace/name</c> (or bare <c>name</c>) form produced by <see cref="ToString"/>.</summary>
    public static ObjectKey Parse(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? new ObjectKey(null, value) : new ObjectKey(value[..slash], value[(slash + 1)..]);
    }

    public override string ToString() => Namespace is null ? Name : $"{Namespace}/{Name}";
}
