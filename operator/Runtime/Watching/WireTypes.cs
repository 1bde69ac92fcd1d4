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
