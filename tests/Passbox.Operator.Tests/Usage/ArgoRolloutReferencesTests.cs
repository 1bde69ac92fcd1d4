using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>Argo Rollouts count like Deployments: their pod template, or the Deployment they take it from.</summary>
public sealed class ArgoRolloutReferencesTests
{
    private static JsonNode Rollout(string name, string spec, string? annotations = null) => JsonNode.Parse($$"""
        {
          "apiVersion": "argoproj.io/v1alpha1",
          "kind": "Rollout",
          "metadata": {"name": "{{name}}", "namespace": "{{Ns}}"{{(annotations is null ? "" : $", \"annotations\": {annotations}")}}},
          "spec": {{spec}}
        }
        """)!;

    [Fact]
    public void A_rollouts_pod_template_uses_its_secrets_even_scaled_to_zero()
    {
        var rollout = Rollout("orders-api", """
            {
              "replicas": 0,
              "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}},
              "template": {
                "metadata": {"labels": {"app": "orders-api"}, "annotations": {"passbox.dev/uses": "audit-db"}},
                "spec": {
                  "imagePullSecrets": [{"name": "registry-pull"}],
                  "initContainers": [{"name": "migrate", "image": "orders:1", "envFrom": [{"secretRef": {"name": "orders-migrate"}}]}],
                  "containers": [{"name": "api", "image": "orders:1", "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "orders-db", "key": "password"}}}]}],
                  "volumes": [{"name": "tls", "secret": {"secretName": "orders-tls"}}]
                }
              }
            }
            """);

        var references = ArgoRolloutReferences.From(rollout);

        references.Kind.Should().Be("Rollout");
        references.SecretNames.Should().Equal("orders-db", "orders-migrate", "orders-tls", "registry-pull");
        references.CredentialNames.Should().Equal("audit-db");
        references.Definitions.Should().BeEmpty();
    }

    [Fact]
    public void A_rollout_with_a_workload_ref_names_its_deployment()
    {
        var rollout = Rollout("orders-api", """
            {"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-api", "scaleDown": "onsuccess"}}
            """, """{"passbox.dev/uses": "orders-db"}""");

        var references = ArgoRolloutReferences.From(rollout);

        references.Definitions.Should().Equal(new DefinitionReference("Deployment", "orders-api"));
        references.CredentialNames.Should().Equal("orders-db");
        references.SecretNames.Should().BeEmpty();
    }

    [Fact]
    public void A_rollout_of_an_odd_shape_uses_nothing_rather_than_failing()
    {
        ArgoRolloutReferences.From(Rollout("odd", """{"template": "not an object", "workloadRef": {"kind": "StatefulSet", "name": "x"}}""")).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void The_rollout_counts_among_the_users_of_what_its_deployments_template_names()
    {
        var index = new UsageIndex();
        index.Upsert(WorkloadReferences.From(new k8s.Models.V1Deployment
        {
            Metadata = Meta("orders-api"),
            Spec = new k8s.Models.V1DeploymentSpec { Replicas = 0, Template = new k8s.Models.V1PodTemplateSpec { Spec = SpecUsingEnv("orders-db") } },
        }));
        index.Upsert(ArgoRolloutReferences.From(Rollout("orders-api", """{"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "orders-api"}}""")));

        index.UsersOfSecret(Ns, "orders-db").Should().Equal(new UsageUser("Deployment", "orders-api"), new UsageUser("Rollout", "orders-api"));
    }
}
