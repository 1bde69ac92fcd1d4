using System.Text.Json;
using System.Text.Json.Serialization;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>Any list answer of the API server (typed or PartialObjectMetadataList).</summary>
internal sealed class ListEnvelope<T>
{
    [JsonPropertyName("metadata")]
    public V1ListMeta? Metadata { get; set; }

    [JsonPropertyName("items")]
    public List<T>? Items { get; set; }
}

/// <summary>One line of a watch stream; the object is decoded once its type is known (ERROR carries a Status).</summary>
internal sealed class WatchEnvelope
{
    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("object")]
    public JsonElement Object { get; set; }
}
