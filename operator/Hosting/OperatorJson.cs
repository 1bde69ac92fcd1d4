using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Hosting;

/// <summary>
/// Compile-time JSON metadata for the operator's own wire types (its custom resources, the informers' list
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
[JsonSerializable(typeof(SecretMergePatch))]
internal sealed partial class OperatorJsonContext : JsonSerializerContext;

/// <summary>
/// Compile-time JSON metadata for what the operator writes for itself rather than for the API server: the login
/// fingerprints' input and the references a usage stub carries in an annotation. System.Text.Json's default options
/// (member names as declared, nulls written), as the reflection-based calls these replace used, so the JSON and the
/// fingerprints stored from it stay the same.
/// </summary>
[JsonSerializable(typeof(LoginRelevantClusterSpec))]
[JsonSerializable(typeof(LoginRelevantPipelineSpec))]
[JsonSerializable(typeof(IReadOnlyList<string>[]))]
[JsonSerializable(typeof(string[][]))]
internal sealed partial class PlainJsonContext : JsonSerializerContext;

/// <summary>
/// Puts <see cref="OperatorJsonContext"/> in front of KubernetesJson's resolvers, and counts every type that still
/// reaches KubernetesJson's reflection fallback (passbox_json_reflection_types_total). In a native AOT build such a type
/// is serialized from trimmed metadata, so the count must stay at zero: make aot-smoke checks it.
/// </summary>
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
            if (options.IsReadOnly)
            {
                return;
            }

            try
            {
                var chain = options.TypeInfoResolverChain;
                for (var i = 0; i < chain.Count; i++)
                {
                    if (chain[i] is not JsonSerializerContext)
                    {
                        chain[i] = new ReflectionFallbackMeter(chain[i]);
                    }
                }

                chain.Insert(0, OperatorJsonContext.Default);
            }
            catch (InvalidOperationException)
            {
                // Another thread serialized between the check and the change (a process that ran KubernetesJson before
                // starting the operator, as a test host does): the options froze, and reflection keeps serving.
            }
        });
    }

    /// <summary>
    /// Wraps a resolver that is not source generated. Options cache a type's metadata, so each type is counted once.
    /// </summary>
    private sealed class ReflectionFallbackMeter(IJsonTypeInfoResolver inner) : IJsonTypeInfoResolver
    {
        public JsonTypeInfo? GetTypeInfo(Type type, JsonSerializerOptions options)
        {
            var info = inner.GetTypeInfo(type, options);
            // Only objects described member by member can lose members to trimming; strings, numbers and the
            // untyped object (a V1Patch's string body goes through it) are safe by reflection too. So is
            // System.ValueType: a struct written through an object-typed member has its base types looked up for
            // polymorphism settings, and ValueType has no members.
            if (info is { Kind: JsonTypeInfoKind.Object } && type != typeof(ValueType))
            {
                RuntimeMetrics.JsonReflectionTypes.WithLabels(type.ToString()).Inc();
            }

            return info;
        }
    }
}
