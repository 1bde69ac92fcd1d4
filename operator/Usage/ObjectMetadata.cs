using System.Text.Json.Nodes;
using k8s.Models;

namespace Passbox.Operator.Usage;

/// <summary>Namespace and name of a watched object, typed or untyped.</summary>
internal static class ObjectMetadata
{
    public static (string Namespace, string Name) Identity(V1ObjectMeta? metadata)
    {
        var name = metadata?.Name;
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("The object has no metadata.name.", nameof(metadata));
        }

        return (metadata!.NamespaceProperty ?? string.Empty, name);
    }

    public static (string Namespace, string Name) Identity(JsonNode? obj)
    {
        var name = Json.String(obj?["metadata"]?["name"]);
        if (string.IsNullOrEmpty(name))
        {
            throw new ArgumentException("The object has no metadata.name.", nameof(obj));
        }

        return (Json.String(obj?["metadata"]?["namespace"]) ?? string.Empty, name);
    }
}
