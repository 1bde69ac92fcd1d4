using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>Tekton Tasks and Pipelines, and the runs that refer to them by name before Tekton resolved them.</summary>
public sealed class TektonDefinitionReferencesTests
{
    private const string RunningStatus = """{"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]}""";

    private static JsonNode Object(string kind, string name, string spec, string? status = null) => JsonNode.Parse($$"""
        {
          "apiVersion": "tekton.dev/v1",
          "kind": "{{kind}}",
          "metadata": {"name": "{{name}}", "namespace": "{{Ns}}"},
          "spec": {{spec}}{{(status is null ? "" : $", \"status\": {status}")}}
        }
        """)!;

    private static DefinitionReference Task(string name) => new("Task", name);

    private static DefinitionReference Pipeline(string name) => new("Pipeline", name);

    [Fact]
    public void A_task_names_the_secrets_of_its_steps_sidecars_step_template_and_volumes()
    {
        var task = Object("Task", "integration-test", """
            {
              "params": [{"name": "db-secret", "default": "orders-db"}],
              "stepTemplate": {"envFrom": [{"secretRef": {"name": "common-env"}}]},
              "steps": [{"name": "test", "image": "golang:1.23", "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "github-bot", "key": "token"}}}]}],
              "sidecars": [{"name": "db", "image": "mariadb:11", "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "$(params.db-secret)", "key": "password"}}}]}],
              "volumes": [{"name": "kube", "secret": {"secretName": "deploy-kubeconfig"}}]
            }
            """);

        var references = TektonReferences.FromTask(task);

        references.Kind.Should().Be("Task");
        references.SecretNames.Should().Equal("common-env", "deploy-kubeconfig", "github-bot");
        references.Parameters!.SecretNames.Select(n => n.ToString()).Should().Equal(
            ["$(params.db-secret)"], "each run resolves it with what it passes, the default only when it passes nothing");
        references.Parameters.Values.Should().Equal(new ParameterBinding("params.db-secret", ParameterizedName.Literal("orders-db")));
        references.ServiceAccountNames.Should().BeEmpty("a Task runs as the ServiceAccount of its run");
    }

    [Fact]
    public void A_pipeline_names_the_tasks_its_tasks_and_finally_refer_to_and_its_embedded_specs()
    {
        var pipeline = Object("Pipeline", "release", """
            {
              "tasks": [
                {"name": "clone", "taskRef": {"name": "git-clone"}},
                {"name": "test", "taskRef": {"name": "integration-test", "kind": "Task"}},
                {"name": "scan", "taskRef": {"resolver": "hub", "params": [{"name": "name", "value": "trivy"}]}},
                {"name": "legacy", "taskRef": {"name": "old", "kind": "ClusterTask"}},
                {"name": "approve", "taskRef": {"apiVersion": "custom.example/v1", "kind": "Approval", "name": "gate"}},
                {"name": "push", "taskSpec": {"steps": [{"name": "push", "image": "crane", "envFrom": [{"secretRef": {"name": "registry-push"}}]}]}}
              ],
              "finally": [{"name": "notify", "taskRef": {"name": "slack-notify"}}]
            }
            """);

        var references = TektonReferences.FromPipeline(pipeline);

        references.Kind.Should().Be("Pipeline");
        references.Definitions.Should().Equal(Task("git-clone"), Task("integration-test"), Task("slack-notify"));
        references.SecretNames.Should().Equal("registry-push");
    }

    [Fact]
    public void A_pipeline_run_before_tekton_resolved_its_pipeline_refers_to_it_by_name()
    {
        var run = Object("PipelineRun", "release-x8k2p", """{"pipelineRef": {"name": "release"}}""", RunningStatus);

        TektonReferences.FromPipelineRun(run).Definitions.Should().Equal(Pipeline("release"));
    }

    [Fact]
    public void A_pipeline_run_with_a_resolved_pipeline_refers_to_the_tasks_of_that_spec_not_to_the_pipeline()
    {
        var run = Object("PipelineRun", "release-x8k2p", """{"pipelineRef": {"name": "release"}}""", """
            {
              "conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
              "pipelineSpec": {"tasks": [{"name": "clone", "taskRef": {"name": "git-clone"}}, {"name": "deploy", "taskRef": {"name": "deploy", "kind": "Task"}}]}
            }
            """);

        TektonReferences.FromPipelineRun(run).Definitions.Should().Equal(Task("deploy"), Task("git-clone"));
    }

    [Fact]
    public void A_pipeline_run_with_an_embedded_pipeline_refers_to_its_tasks()
    {
        var run = Object("PipelineRun", "adhoc", """
            {"pipelineSpec": {"tasks": [{"name": "t", "taskRef": {"name": "integration-test"}}, {"name": "child", "pipelineRef": {"name": "deploy-all"}}]}}
            """, RunningStatus);

        TektonReferences.FromPipelineRun(run).Definitions.Should().Equal(Pipeline("deploy-all"), Task("integration-test"));
    }

    [Fact]
    public void A_run_whose_pipeline_comes_from_a_resolver_or_bundle_refers_to_no_definition()
    {
        var resolved = Object("PipelineRun", "a", """{"pipelineRef": {"resolver": "git", "params": [{"name": "url", "value": "https://git.example/p.git"}]}}""", RunningStatus);
        var bundled = Object("PipelineRun", "b", """{"pipelineRef": {"name": "release", "bundle": "registry.example/pipelines:1"}}""", RunningStatus);

        TektonReferences.FromPipelineRun(resolved).Definitions.Should().BeEmpty();
        TektonReferences.FromPipelineRun(bundled).Definitions.Should().BeEmpty();
    }

    [Fact]
    public void A_task_run_refers_to_its_task_until_tekton_stored_the_resolved_spec()
    {
        var pending = Object("TaskRun", "unit-1", """{"taskRef": {"name": "integration-test"}}""", RunningStatus);
        var resolved = Object("TaskRun", "unit-1", """{"taskRef": {"name": "integration-test"}}""", """
            {"conditions": [{"type": "Succeeded", "status": "Unknown"}], "taskSpec": {"steps": [{"name": "t", "image": "go", "envFrom": [{"secretRef": {"name": "github-bot"}}]}]}}
            """);

        TektonReferences.FromTaskRun(pending).Definitions.Should().Equal(Task("integration-test"));
        var fromStatus = TektonReferences.FromTaskRun(resolved);
        fromStatus.Definitions.Should().BeEmpty("the resolved spec is what runs; the Task may have changed since");
        fromStatus.SecretNames.Should().Equal("github-bot");
    }

    [Fact]
    public void A_finished_run_refers_to_no_definition()
    {
        var run = Object("PipelineRun", "done", """{"pipelineRef": {"name": "release"}}""", """{"conditions": [{"type": "Succeeded", "status": "True"}]}""");

        TektonReferences.FromPipelineRun(run).IsEmpty.Should().BeTrue();
    }
}
