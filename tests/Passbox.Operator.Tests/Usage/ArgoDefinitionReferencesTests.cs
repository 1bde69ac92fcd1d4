using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>Argo CronWorkflows and WorkflowTemplates, and the Workflows that refer to WorkflowTemplates by name.</summary>
public sealed class ArgoDefinitionReferencesTests
{
    private static JsonNode Object(string kind, string name, string spec, string? status = null) => JsonNode.Parse($$"""
        {
          "apiVersion": "argoproj.io/v1alpha1",
          "kind": "{{kind}}",
          "metadata": {"name": "{{name}}", "namespace": "{{Ns}}"},
          "spec": {{spec}}{{(status is null ? "" : $", \"status\": {status}")}}
        }
        """)!;

    private static DefinitionReference Template(string name) => new("WorkflowTemplate", name);

    private static DefinitionReference ClusterTemplate(string name) => new("ClusterWorkflowTemplate", name);

    [Fact]
    public void A_cron_workflow_names_what_its_workflow_spec_names()
    {
        var cron = Object("CronWorkflow", "nightly-etl", """
            {
              "schedule": "0 2 * * *",
              "suspend": true,
              "workflowSpec": {
                "entrypoint": "main",
                "serviceAccountName": "etl",
                "arguments": {"parameters": [{"name": "conn", "value": "orders-db"}]},
                "templates": [{"name": "main", "container": {"image": "etl:1", "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "{{workflow.parameters.conn}}", "key": "password"}}}]}}]
              }
            }
            """);

        var references = ArgoWorkflowReferences.FromCronWorkflow(cron);

        references.Kind.Should().Be("CronWorkflow");
        references.SecretNames.Should().Equal("orders-db");
        references.ServiceAccountNames.Should().Equal("etl");
    }

    [Fact]
    public void A_cron_workflow_running_a_workflow_template_refers_to_it()
    {
        var cron = Object("CronWorkflow", "nightly", """
            {"schedule": "0 2 * * *", "workflowSpec": {"workflowTemplateRef": {"name": "etl"}}}
            """);

        ArgoWorkflowReferences.FromCronWorkflow(cron).Definitions.Should().Equal(Template("etl"));
    }

    [Fact]
    public void A_workflow_template_names_what_a_workflow_spec_names_and_the_templates_its_steps_refer_to()
    {
        var template = Object("WorkflowTemplate", "etl", """
            {
              "imagePullSecrets": [{"name": "registry-pull"}],
              "arguments": {"parameters": [{"name": "conn", "value": "orders-db"}]},
              "templates": [
                {"name": "main", "steps": [[{"name": "load", "templateRef": {"name": "loaders", "template": "load"}}]]},
                {"name": "dag", "dag": {"tasks": [{"name": "shared", "templateRef": {"name": "common", "template": "x", "clusterScope": true}}]}},
                {"name": "extract", "container": {"image": "etl:1", "envFrom": [{"secretRef": {"name": "{{workflow.parameters.conn}}"}}]}}
              ]
            }
            """);

        var references = ArgoWorkflowReferences.FromWorkflowTemplate(template);

        references.Kind.Should().Be("WorkflowTemplate");
        references.SecretNames.Should().Equal("registry-pull");
        references.Parameters!.SecretNames.Select(n => n.ToString()).Should().Equal(
            ["$(workflow.parameters.conn)"], "each Workflow resolves it with its own arguments, the template's only when it passes none");
        references.Definitions.Should().Equal(ClusterTemplate("common"), Template("loaders"));
    }

    [Fact]
    public void A_workflow_refers_to_its_workflow_template_until_the_controller_stored_its_spec()
    {
        var pending = Object("Workflow", "etl-x", """{"workflowTemplateRef": {"name": "etl"}}""", """{"phase": "Pending"}""");
        var stored = Object("Workflow", "etl-x", """{"workflowTemplateRef": {"name": "etl"}}""", """
            {"phase": "Running", "storedWorkflowTemplateSpec": {"templates": [{"name": "main", "container": {"image": "etl:1", "envFrom": [{"secretRef": {"name": "orders-db"}}]}}]}}
            """);

        ArgoWorkflowReferences.From(pending).Definitions.Should().Equal(Template("etl"));
        var fromStatus = ArgoWorkflowReferences.From(stored);
        fromStatus.Definitions.Should().BeEmpty("the stored spec is what runs");
        fromStatus.SecretNames.Should().Equal("orders-db");
    }

    [Fact]
    public void A_workflow_step_with_a_template_ref_refers_to_that_workflow_template()
    {
        var workflow = Object("Workflow", "etl-y", """
            {"entrypoint": "main", "templates": [{"name": "main", "steps": [[{"name": "load", "templateRef": {"name": "loaders", "template": "load"}}]]}]}
            """, """{"phase": "Running"}""");

        ArgoWorkflowReferences.From(workflow).Definitions.Should().Equal(Template("loaders"));
    }

    [Fact]
    public void Cluster_scoped_references_of_a_workflow_its_steps_and_hooks_name_cluster_workflow_templates()
    {
        var workflow = Object("Workflow", "etl-c", """
            {
              "workflowTemplateRef": {"name": "etl", "clusterScope": true},
              "hooks": {"exit": {"templateRef": {"name": "notifier", "template": "slack", "clusterScope": true}}},
              "templates": [{"name": "main", "dag": {"tasks": [
                {"name": "a", "templateRef": {"name": "loaders", "template": "load", "clusterScope": true}},
                {"name": "b", "templateRef": {"name": "loaders", "template": "load", "clusterScope": false}}]}}]
            }
            """, """{"phase": "Running"}""");
        var cron = Object("CronWorkflow", "nightly", """
            {"schedule": "0 2 * * *", "workflowSpec": {"workflowTemplateRef": {"name": "etl", "clusterScope": true}}}
            """);

        ArgoWorkflowReferences.From(workflow).Definitions.Should().Equal(ClusterTemplate("etl"), ClusterTemplate("loaders"), ClusterTemplate("notifier"), Template("loaders"));
        ArgoWorkflowReferences.FromCronWorkflow(cron).Definitions.Should().Equal(ClusterTemplate("etl"));
    }

    [Fact]
    public void A_cluster_workflow_template_names_what_a_workflow_template_names_and_belongs_to_no_namespace()
    {
        var template = JsonNode.Parse("""
            {
              "apiVersion": "argoproj.io/v1alpha1",
              "kind": "ClusterWorkflowTemplate",
              "metadata": {"name": "shared-etl", "annotations": {"passbox.dev/uses": "warehouse"}},
              "spec": {
                "serviceAccountName": "etl",
                "arguments": {"parameters": [{"name": "conn", "value": "orders-db"}]},
                "templates": [
                  {"name": "main", "steps": [[{"name": "notify", "templateRef": {"name": "notifier", "template": "slack", "clusterScope": true}}]]},
                  {"name": "extract", "container": {"image": "etl:1", "envFrom": [{"secretRef": {"name": "{{workflow.parameters.conn}}"}}]}}
                ]
              }
            }
            """)!;

        var references = ArgoWorkflowReferences.FromClusterWorkflowTemplate(template);

        references.Kind.Should().Be("ClusterWorkflowTemplate");
        references.Namespace.Should().BeEmpty();
        references.SecretNames.Should().BeEmpty();
        references.Parameters!.SecretNames.Select(n => n.ToString()).Should().Equal(
            ["$(workflow.parameters.conn)"], "each Workflow resolves it with its own arguments, the template's only when it passes none");
        references.ServiceAccountNames.Should().Equal("etl");
        references.CredentialNames.Should().Equal("warehouse");
        references.Definitions.Should().Equal(ClusterTemplate("notifier"));
    }

    [Fact]
    public void A_finished_workflow_refers_to_no_template()
    {
        var workflow = Object("Workflow", "etl-z", """{"workflowTemplateRef": {"name": "etl"}}""", """{"phase": "Succeeded"}""");

        ArgoWorkflowReferences.From(workflow).IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void Lifecycle_hooks_of_the_workflow_and_of_a_step_run_the_workflow_templates_they_refer_to()
    {
        var workflow = Object("Workflow", "etl-x", """
            {
              "entrypoint": "main",
              "hooks": {"exit": {"templateRef": {"name": "notifier", "template": "slack"}}},
              "templates": [
                {"name": "main", "steps": [[{"name": "load", "template": "load",
                  "hooks": {"running": {"expression": "true", "templateRef": {"name": "progress", "template": "report"}}}}]]},
                {"name": "load", "container": {"image": "etl:1"}}
              ]
            }
            """, """{"phase": "Running"}""");

        ArgoWorkflowReferences.From(workflow).Definitions.Should().Equal(Template("notifier"), Template("progress"));
    }
}
