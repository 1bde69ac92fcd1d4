using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// meta.k8s.io/v1 PartialObjectMetadata: an object reduced to apiVersion, kind and metadata, which the
/// API server returns when asked for it in the Accept header. KubernetesClient has no such type.
/// </summary>
public sealed class PartialObjectMetadata : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "meta.k8s.io/v1";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "PartialObjectMetadata";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();
}
