using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Hosting;

/// <summary>
/// Compile-time JSON metadata for the operator's own wire types (its custom resources, the informers' list and watch
/// envelopes). KubernetesClient has generated metadata for its models and falls back to reflection for everything
/// else; a native AOT build cannot build that reflection metadata for generic instantiations such as
/// List&lt;V1ServiceAccount&gt; inside ListEnvelope, so these types are resolved here first. The options match
/// KubernetesJson's (camelCase, nulls omitted), and its converters still apply on top.
/// </summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ClusterCredential))]
[JsonSerializable(typeof(PipelineCredential))]
[JsonSerializable(typeof(ClusterCredentialStatus))]
[JsonSerializable(typeof(PipelineCredentialStatus))]
[JsonSerializable(typeof(UntypedObject))]
[JsonSerializable(typeof(WatchEnvelope))]
[JsonSerializable(typeof(JsonNode))]
[JsonSerializable(typeof(JsonObject))]
[JsonSerializable(typeof(ListEnvelope<ClusterCredential>))]
[JsonSerializable(typeof(ListEnvelope<PipelineCredential>))]
[JsonSerializable(typeof(ListEnvelope<PartialObjectMetadata>))]
[JsonSerializable(typeof(ListEnvelope<UntypedObject>))]
[JsonSerializable(typeof(ListEnvelope<V1Secret>))]
[JsonSerializable(typeof(ListEnvelope<V1Pod>))]
[JsonSerializable(typeof(ListEnvelope<V1ServiceAccount>))]
[JsonSerializable(typeof(ListEnvelope<V1Deployment>))]
[JsonSerializable(typeof(ListEnvelope<V1StatefulSet>))]
[JsonSerializable(typeof(ListEnvelope<V1DaemonSet>))]
[JsonSerializable(typeof(ListEnvelope<V1ReplicaSet>))]
[JsonSerializable(typeof(ListEnvelope<V1Job>))]
[JsonSerializable(typeof(ListEnvelope<V1CronJob>))]
internal sealed partial class OperatorJsonContext : JsonSerializerContext;

/// <summary>Puts <see cref="OperatorJsonContext"/> in front of KubernetesJson's resolvers.</summary>
public static class OperatorJson
{
    private static int registered;

    /// <summary>
    /// Idempotent. Once KubernetesJson's options have been used they are read-only; then the reflection fallback
    /// (fine under the JIT, where this is only an optimisation) keeps serving these types.
    /// </summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1)
        {
            return;
        }

        KubernetesJson.AddJsonOptions(options =>
        {
            if (!options.IsReadOnly)
            {
                options.TypeInfoResolverChain.Insert(0, OperatorJsonContext.Default);
            }
        });
    }
}
