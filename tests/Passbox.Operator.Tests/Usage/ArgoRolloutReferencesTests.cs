using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// Argo Rollouts count like Deployments: their pod template, or the Deployment they take it from. One reader serves the
/// in-use index (<see cref="ArgoRolloutReferences.From"/>) and restarts (<see cref="ArgoRolloutReferences.FromResolvedTemplate"/>).
/// </summary>
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

    [Fact]
    public void For_a_restart_a_rollouts_own_template_is_what_its_pods_use()
    {
        var rollout = Rollout("orders-api", """
            {
              "template": {
                "metadata": {"annotations": {"passbox.dev/uses": "audit-db"}},
                "spec": {
                  "imagePullSecrets": [{"name": "registry-pull"}],
                  "initContainers": [{"name": "migrate", "image": "orders:1", "envFrom": [{"secretRef": {"name": "orders-migrate"}}]}],
                  "containers": [{"name": "api", "image": "orders:1", "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "orders-db", "key": "password"}}}]}],
                  "volumes": [{"name": "tls", "projected": {"sources": [{"secret": {"name": "orders-tls"}}]}}]
                }
              }
            }
            """, """{"passbox.dev/uses": "orders-cache"}""");

        var references = ArgoRolloutReferences.FromResolvedTemplate(rollout, Deployments(Deployment("orders-api", SpecUsingEnv("unrelated"))));

        references.Kind.Should().Be("Rollout");
        references.Name.Should().Be("orders-api");
        references.SecretNames.Should().Equal("orders-db", "orders-migrate", "orders-tls", "registry-pull");
        references.CredentialNames.Should().Equal("audit-db", "orders-cache");
        references.Definitions.Should().BeEmpty("a restart needs the Secrets themselves, not a reference to follow");
    }

    [Fact]
    public void For_a_restart_a_rollout_with_a_workload_ref_uses_its_deployments_template_when_that_deployment_is_there()
    {
        var rollout = Rollout("payments", """{"workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments-api"}}""");
        var deployment = Deployment("payments-api", SpecUsingEnv("payments-db"));
        deployment.Spec.Template.Metadata = new k8s.Models.V1ObjectMeta { Annotations = new Dictionary<string, string> { ["passbox.dev/uses"] = "ledger" } };

        var references = ArgoRolloutReferences.FromResolvedTemplate(rollout, Deployments(deployment, Deployment("other", SpecUsingEnv("other-db"))));

        references.SecretNames.Should().Equal("payments-db");
        references.CredentialNames.Should().Equal("ledger");
        ArgoRolloutReferences.FromResolvedTemplate(rollout, Deployments(Deployment("other", SpecUsingEnv("other-db")))).IsEmpty
            .Should().BeTrue("a Deployment not in the namespace gives the Rollout no template");
    }

    /// <summary>
    /// Argo refuses a Rollout with both (its template must be empty with a workloadRef). For a restart the Rollout's own
    /// template counts, as before; the in-use index keeps what either names, since a Secret in use must not be lost.
    /// </summary>
    [Fact]
    public void A_rollout_with_both_a_template_and_a_workload_ref_restarts_for_its_template_and_keeps_what_either_names()
    {
        var rollout = Rollout("both", """
            {
              "template": {"spec": {"containers": [{"name": "api", "image": "orders:1", "envFrom": [{"secretRef": {"name": "own-db"}}]}]}},
              "workloadRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payments-api"}
            }
            """);

        ArgoRolloutReferences.FromResolvedTemplate(rollout, Deployments(Deployment("payments-api", SpecUsingEnv("payments-db")))).SecretNames.Should().Equal("own-db");
        var indexed = ArgoRolloutReferences.From(rollout);
        indexed.SecretNames.Should().Equal("own-db");
        indexed.Definitions.Should().Equal(new DefinitionReference("Deployment", "payments-api"));
    }

    /// <summary>
    /// A template of a shape no pod template has (the API server stores it where the CRD leaves it unchecked) names
    /// nothing, and does not throw: a restart reads every Rollout of the namespace, and one odd Rollout must not stop
    /// the restart of the others.
    /// </summary>
    [Fact]
    public void For_a_restart_a_rollout_of_an_odd_shape_uses_nothing_rather_than_failing()
    {
        var odd = Rollout("odd", """
            {"template": {"metadata": {"annotations": "none"}, "spec": {"containers": {"name": "api"}, "volumes": [{"name": "v", "secret": {"secretName": 7}}], "imagePullSecrets": "registry-pull"}}}
            """);

        ArgoRolloutReferences.FromResolvedTemplate(odd, Deployments()).IsEmpty.Should().BeTrue();
        ArgoRolloutReferences.From(odd).IsEmpty.Should().BeTrue();
    }

    private static Dictionary<string, k8s.Models.V1Deployment> Deployments(params k8s.Models.V1Deployment[] deployments) =>
        deployments.ToDictionary(d => d.Metadata.Name, StringComparer.Ordinal);
}
