using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// A custom resource the operator has no C# type for (Tekton runs, Argo Workflows): typed metadata for the informer,
/// everything else kept as JSON until the references are extracted on arrival.
/// </summary>
public sealed class UntypedObject : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = "";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = "";

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    /// <summary>spec, status and any other top-level field.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Fields { get; set; }

    /// <summary>The whole object as the extractors read it.</summary>
    public JsonNode ToJson() => JsonNode.Parse(KubernetesJson.Serialize(this))!;
}
