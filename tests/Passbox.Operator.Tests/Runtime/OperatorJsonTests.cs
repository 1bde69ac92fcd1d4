using System.Text.Json;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Hosting;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// The generated JSON metadata (what the native AOT build relies on) must put the custom resources on the wire
/// exactly as KubernetesClient's reflection path does, which the JIT build used before it.
/// </summary>
public sealed class OperatorJsonTests
{
    private const string Credential = """
        {
          "apiVersion": "passbox.dev/v1alpha1",
          "kind": "ClusterCredential",
          "metadata": {"name": "orders", "namespace": "shop", "generation": 3, "finalizers": ["passbox.dev/cleanup"],
                       "creationTimestamp": "2026-11-26T04:00:00Z", "labels": {"team": "a"}},
          "spec": {
            "engine": "MySQL",
            "endpoint": {"host": "db.shop", "port": 3306, "tls": {"mode": "Required", "caSecretRef": {"name": "ca", "key": "ca.crt"}}},
            "username": "orders",
            "passwordSecretRef": {"name": "orders-db", "key": "password"},
            "validation": {"interval": "10m"},
            "secret": {"name": "orders-conn", "labels": {"app": "orders"}},
            "provisioning": {
              "adminCredentialRef": {"name": "admin"},
              "passwordPolicy": {"length": 32, "symbols": false},
              "grants": [{"database": "orders", "privileges": ["SELECT", "CREATE VIEW"]}]
            }
          },
          "status": {
            "observedGeneration": 3,
            "lastValidated": "2026-11-26T04:05:06.123456Z",
            "secretName": "orders-conn",
            "usedBy": {"count": 1, "items": [{"kind": "Pod", "name": "api-0"}]},
            "provisioning": {"user": "orders", "passwordSet": "2026-11-26T04:00:01Z"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Validated", "message": "ok",
                            "lastTransitionTime": "2026-11-26T04:05:06Z", "observedGeneration": 3}]
          }
        }
        """;

    [Fact]
    public void A_credential_reads_and_writes_the_same_with_generated_metadata_as_with_reflection()
    {
        var (reflection, generated) = Options();

        var viaReflection = JsonSerializer.Serialize(JsonSerializer.Deserialize<ClusterCredential>(Credential, reflection), reflection);
        var viaGenerated = JsonSerializer.Serialize(JsonSerializer.Deserialize<ClusterCredential>(Credential, generated), generated);

        generated.GetTypeInfo(typeof(ClusterCredential)).OriginatingResolver.Should().Be(OperatorJsonContext.Default);
        viaGenerated.Should().Be(viaReflection).And.Contain("\"engine\":\"MySQL\"").And.Contain("\"CREATE VIEW\"");
    }

    [Fact]
    public void An_informer_list_page_reads_with_generated_metadata()
    {
        var (_, generated) = Options();

        var page = JsonSerializer.Deserialize<ListEnvelope<V1ServiceAccount>>(
            """{"metadata": {"resourceVersion": "42", "continue": "next"}, "items": [{"metadata": {"name": "ci", "namespace": "shop"}, "secrets": [{"name": "ci-token"}]}]}""",
            generated)!;

        page.Metadata!.ResourceVersion.Should().Be("42");
        page.Metadata.ContinueProperty.Should().Be("next");
        page.Items.Should().ContainSingle().Which.Secrets.Should().ContainSingle().Which.Name.Should().Be("ci-token");
    }

    /// <summary>KubernetesJson's options as they are, and a copy with the operator's context in front.</summary>
    private static (JsonSerializerOptions Reflection, JsonSerializerOptions Generated) Options()
    {
        JsonSerializerOptions? kubernetes = null;
        KubernetesJson.AddJsonOptions(o => kubernetes = o);
        var reflection = new JsonSerializerOptions(kubernetes!);
        reflection.TypeInfoResolverChain.Remove(OperatorJsonContext.Default);
        var generated = new JsonSerializerOptions(reflection);
        generated.TypeInfoResolverChain.Insert(0, OperatorJsonContext.Default);
        return (reflection, generated);
    }
}
