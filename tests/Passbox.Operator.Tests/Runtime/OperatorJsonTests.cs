using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Hosting;
using Passbox.Operator.Provisioning;
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

    [Fact]
    public void A_generated_password_Secret_patch_carries_metadata_and_data_as_the_anonymous_body_it_replaces()
    {
        var metadata = new V1ObjectMeta
        {
            Name = "orders-password",
            ResourceVersion = "17",
            Annotations = new Dictionary<string, string> { ["passbox.dev/generated-at"] = "2026-11-26T04:00:00Z" },
        };
        var data = new Dictionary<string, byte[]> { ["password"] = "s3cr+t/é"u8.ToArray() };
        var (reflection, _) = Options();

        var patch = KubernetesJson.Serialize(new SecretMergePatch(metadata, data));

        patch.Should().Be(JsonSerializer.Serialize(new { metadata, data }, reflection));
        JsonNode.Parse(patch)!["metadata"]!["resourceVersion"]!.GetValue<string>().Should().Be("17", "the version read makes a concurrent change a 409");
    }

    [Fact]
    public void A_cluster_credentials_login_fingerprint_input_is_the_JSON_of_the_anonymous_object_it_replaces()
    {
        var spec = new EffectiveClusterSpec(
            ClusterEngine.OceanBase, "db.shop", 2883, TlsMode.Required, new SecretKeyReference { Name = "ca", Key = "ca.crt" },
            "orders", "orders@tenant#cluster", "tenant", "cluster", null, new SecretKeyReference { Name = "orders-db", Key = "password" },
            null, TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(10), false, "orders-conn");

        var before = JsonSerializer.Serialize(new
        {
            Engine = spec.Engine.ToString(),
            spec.Host,
            spec.Port,
            Tls = spec.TlsMode.ToString(),
            Ca = spec.CaSecretRef?.ToString(),
            spec.LoginName,
            spec.Database,
            Password = spec.PasswordSecretRef?.ToString(),
            ApiKey = spec.ApiKeySecretRef?.ToString(),
            spec.ValidationDisabled,
        });

        spec.LoginRelevantJson().Should().Be(before, "a different input would change every stored fingerprint and re-check every credential");
    }

    [Fact]
    public void A_pipeline_credentials_login_fingerprint_input_is_the_JSON_of_the_anonymous_object_it_replaces()
    {
        var kind = new PipelineCredentialKind(new PipelineProbes([]));
        var credential = new PipelineCredential
        {
            Metadata = new V1ObjectMeta { Name = "bot", NamespaceProperty = "ci" },
            Spec = new PipelineCredentialSpec
            {
                Type = PipelineCredentialType.UsernamePassword,
                Server = "https://git.example/app.git",
                UsernamePassword = new UsernamePasswordSource { Username = "ci-bot", PasswordSecretRef = new SecretKeyReference { Name = "bot-input", Key = "password" } },
                Validation = new PipelineValidationSettings { Probe = PipelineProbe.GitHTTP },
            },
        };
        var spec = credential.Spec;

        var before = JsonSerializer.Serialize(new
        {
            Type = spec.Type.ToString(),
            spec.Server,
            Username = spec.UsernamePassword?.Username,
            Sources = kind.SourceReferences(credential).Select(r => r.ToString()),
            Context = spec.Kubeconfig?.Context,
            Probe = PipelineCredentialKind.Probe(spec).ToString(),
        });

        kind.LoginRelevantSpec(credential).Should().Be(before).And.Contain("bot-input");
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
