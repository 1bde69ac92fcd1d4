using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

public sealed class ArgoWorkflowReferencesTests
{
    private static JsonNode Workflow(string spec, string phase = "Running") => JsonNode.Parse($$"""
        {
          "apiVersion": "argoproj.io/v1alpha1",
          "kind": "Workflow",
          "metadata": {"name": "etl-q8z4m", "generateName": "etl-", "namespace": "{{Ns}}"},
          "spec": {{spec}},
          "status": {"phase": "{{phase}}", "startedAt": "2026-11-25T10:00:00Z"}
        }
        """)!;

    [Fact]
    public void A_workflow_secret_volume_is_a_reference()
    {
        var workflow = Workflow("""
            {"entrypoint": "main", "volumes": [{"name": "conn", "secret": {"secretName": "orders-ob-conn"}}], "templates": [{"name": "main", "container": {"image": "etl:1"}}]}
            """);

        var references = ArgoWorkflowReferences.From(workflow);

        references.Kind.Should().Be("Workflow");
        references.Name.Should().Be("etl-q8z4m");
        references.SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_template_container_env_secret_key_ref_is_a_reference()
    {
        var workflow = Workflow("""
            {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "etl:1", "env": [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "orders-ob-conn", "key": "password"}}}]}}]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("orders-ob-conn");
    }

    [Fact]
    public void A_template_script_env_from_is_a_reference()
    {
        var workflow = Workflow("""
            {"entrypoint": "main", "templates": [
              {"name": "main", "steps": [[{"name": "load", "template": "load"}]]},
              {"name": "load", "script": {"image": "python:3", "source": "print(1)", "envFrom": [{"secretRef": {"name": "warehouse-creds"}}]}}
            ]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("warehouse-creds");
    }

    [Fact]
    public void Sidecars_init_containers_and_container_sets_are_read()
    {
        var workflow = Workflow("""
            {"templates": [
              {"name": "a", "container": {"image": "x"}, "sidecars": [{"name": "s", "image": "y", "envFrom": [{"secretRef": {"name": "sidecar-creds"}}]}],
               "initContainers": [{"name": "i", "image": "z", "env": [{"name": "T", "valueFrom": {"secretKeyRef": {"name": "init-token", "key": "t"}}}]}]},
              {"name": "b", "containerSet": {"containers": [{"name": "c", "image": "w", "envFrom": [{"secretRef": {"name": "set-creds"}}]}]}}
            ]}
            """);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("init-token", "set-creds", "sidecar-creds");
    }

    [Fact]
    public void Workflow_image_pull_secrets_are_references()
    {
        var workflow = Workflow("""{"imagePullSecrets": [{"name": "registry-bot"}], "templates": []}""");

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("registry-bot");
    }

    [Fact]
    public void A_workflow_uses_its_service_account()
    {
        var workflow = Workflow("""{"serviceAccountName": "argo-etl", "templates": [{"name": "t", "serviceAccountName": "argo-loader"}]}""");

        ArgoWorkflowReferences.From(workflow).ServiceAccountNames.Should().Equal("argo-etl", "argo-loader");
    }

    [Theory]
    [InlineData("Succeeded")]
    [InlineData("Failed")]
    [InlineData("Error")]
    public void A_finished_workflow_uses_nothing(string phase)
    {
        var workflow = Workflow("""{"serviceAccountName": "argo-etl", "volumes": [{"name": "conn", "secret": {"secretName": "orders-ob-conn"}}]}""", phase);

        ArgoWorkflowReferences.From(workflow).IsEmpty.Should().BeTrue();
    }

    [Theory]
    [InlineData("Pending")]
    [InlineData("Running")]
    [InlineData("")]
    public void A_workflow_that_has_not_finished_counts(string phase)
    {
        var workflow = Workflow("""{"volumes": [{"name": "conn", "secret": {"secretName": "orders-ob-conn"}}]}""", phase);

        ArgoWorkflowReferences.From(workflow).SecretNames.Should().Equal("orders-ob-conn");
    }
}
