using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Runtime;

[KubernetesEntity(Group = ControlPlaneTestCrd.Group, ApiVersion = ControlPlaneTestCrd.Version, Kind = ControlPlaneTestCrd.Kind, PluralName = ControlPlaneTestCrd.Plural)]
public sealed class Widget : IKubernetesObject<V1ObjectMeta>
{
    [JsonPropertyName("apiVersion")]
    public string ApiVersion { get; set; } = $"{ControlPlaneTestCrd.Group}/{ControlPlaneTestCrd.Version}";

    [JsonPropertyName("kind")]
    public string Kind { get; set; } = ControlPlaneTestCrd.Kind;

    [JsonPropertyName("metadata")]
    public V1ObjectMeta Metadata { get; set; } = new();

    [JsonPropertyName("spec")]
    public WidgetSpec? Spec { get; set; }

    [JsonPropertyName("status")]
    public WidgetStatus? Status { get; set; }

    public static Widget New(string @namespace, string name, int size = 1) => new()
    {
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = @namespace },
        Spec = new WidgetSpec { Size = size },
    };
}

public sealed class WidgetSpec
{
    [JsonPropertyName("size")]
    public int Size { get; set; }
}

public sealed class WidgetStatus
{
    [JsonPropertyName("observedGeneration")]
    public long? ObservedGeneration { get; set; }

    [JsonPropertyName("conditions")]
    public List<V1Condition>? Conditions { get; set; }
}
