using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// Secrets a run names only through the parameters it passes to the definitions it runs by name, read from the
/// objects as the informers deliver them and resolved by the index before the engine copied anything into the status.
/// </summary>
public sealed class UsageIndexParameterTests
{
    private const string Running = """{"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]}""";

    private readonly UsageIndex index = new();
    private readonly List<UsageChange> changes = [];

    public UsageIndexParameterTests() => index.Changed += changes.Add;

    private static JsonNode Object(string apiVersion, string kind, string name, string spec, string? status = null) => JsonNode.Parse($$"""
        {
          "apiVersion": "{{apiVersion}}",
          "kind": "{{kind}}",
          "metadata": {"name": "{{name}}", "namespace": "{{Ns}}"},
          "spec": {{spec}}{{(status is null ? "" : $", \"status\": {status}")}}
        }
        """)!;

    private static ObjectReferences Task(string name, string spec) => TektonReferences.FromTask(Object("tekton.dev/v1", "Task", name, spec));

    private static ObjectReferences Pipeline(string name, string spec) => TektonReferences.FromPipeline(Object("tekton.dev/v1", "Pipeline", name, spec));

    private static ObjectReferences PipelineRun(string name, string spec) => TektonReferences.FromPipelineRun(Object("tekton.dev/v1", "PipelineRun", name, spec, Running));

    private static ObjectReferences TaskRun(string name, string spec) => TektonReferences.FromTaskRun(Object("tekton.dev/v1", "TaskRun", name, spec, Running));

    private static ObjectReferences WorkflowTemplate(string name, string spec) =>
        ArgoWorkflowReferences.FromWorkflowTemplate(Object("argoproj.io/v1alpha1", "WorkflowTemplate", name, spec));

    private static ObjectReferences Workflow(string name, string spec) =>
        ArgoWorkflowReferences.From(Object("argoproj.io/v1alpha1", "Workflow", name, spec, """{"phase": "Running"}"""));

    /// <summary>A Task that mounts the Secret its parameter names and reads a key of it, as the brief's example.</summary>
    private const string DeployTask = """
        {
          "params": [{"name": "secret", "type": "string"}],
          "steps": [{"name": "deploy", "image": "kubectl:1",
                     "env": [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "$(params.secret)", "key": "token"}}}]}],
          "volumes": [{"name": "creds", "secret": {"secretName": "$(params.secret)"}}]
        }
        """;

    private const string ReleasePipeline = """
        {
          "params": [{"name": "secret", "type": "string"}],
          "tasks": [{"name": "deploy", "taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]
        }
        """;

    [Fact]
    public void A_pipeline_run_uses_the_secret_it_passes_through_its_pipeline_to_a_task()
    {
        index.Upsert(Task("deploy", DeployTask));
        index.Upsert(Pipeline("release", ReleasePipeline));
        index.Upsert(PipelineRun("release-1", """{"pipelineRef": {"name": "release"}, "params": [{"name": "secret", "value": "my-creds"}]}"""));

        index.UsersOfSecret(Ns, "my-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfCredential(Ns, "my", "my-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfSecret(Ns, "$(params.secret)").Should().BeEmpty("an expression is no Secret's name");
        changes.Should().Contain(new UsageChange(Ns, UsageTarget.Secret, "my-creds"));
    }

    [Fact]
    public void Definitions_that_arrive_after_the_run_still_resolve_its_parameters_and_say_so()
    {
        index.Upsert(PipelineRun("release-1", """{"pipelineRef": {"name": "release"}, "params": [{"name": "secret", "value": "my-creds"}]}"""));
        index.Upsert(Pipeline("release", ReleasePipeline));
        changes.Clear();

        index.Upsert(Task("deploy", DeployTask));

        index.UsersOfSecret(Ns, "my-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        changes.Should().Equal(new UsageChange(Ns, UsageTarget.Secret, "my-creds"));
    }

    [Fact]
    public void A_deleted_run_no_longer_uses_what_its_parameters_named()
    {
        index.Upsert(Task("deploy", DeployTask));
        index.Upsert(Pipeline("release", ReleasePipeline));
        index.Upsert(PipelineRun("release-1", """{"pipelineRef": {"name": "release"}, "params": [{"name": "secret", "value": "my-creds"}]}"""));
        changes.Clear();

        index.Remove(UsageKinds.PipelineRun, Ns, "release-1");

        index.UsersOfSecret(Ns, "my-creds").Should().BeEmpty();
        changes.Should().Equal(new UsageChange(Ns, UsageTarget.Secret, "my-creds"));
        index.Count.Should().Be(2, "the definitions stay for the runs to come");
    }

    [Fact]
    public void Each_run_uses_the_value_it_passes_over_the_defaults()
    {
        index.Upsert(Task("deploy", """
            {"params": [{"name": "secret", "default": "task-default"}],
             "steps": [{"name": "d", "image": "kubectl:1", "envFrom": [{"secretRef": {"name": "$(params.secret)"}}]}]}
            """));
        index.Upsert(Pipeline("release", """
            {"params": [{"name": "secret", "default": "pipeline-default"}],
             "tasks": [{"name": "deploy", "taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]}
            """));
        index.Upsert(PipelineRun("staging", """{"pipelineRef": {"name": "release"}, "params": [{"name": "secret", "value": "staging-creds"}]}"""));
        index.Upsert(PipelineRun("plain", """{"pipelineRef": {"name": "release"}}"""));

        index.UsersOfSecret(Ns, "staging-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "staging"));
        index.UsersOfSecret(Ns, "pipeline-default").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "plain"));
        index.UsersOfSecret(Ns, "task-default").Should().BeEmpty("the pipeline always passes the parameter");
    }

    [Fact]
    public void Once_tekton_resolved_the_pipeline_into_the_status_its_tasks_still_get_the_runs_parameters()
    {
        index.Upsert(Task("deploy", DeployTask));
        var status = """
            {"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}],
             "pipelineSpec": {"params": [{"name": "secret", "type": "string"}],
               "tasks": [{"name": "deploy", "taskRef": {"name": "deploy", "kind": "Task"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]}}
            """;
        index.Upsert(TektonReferences.FromPipelineRun(Object("tekton.dev/v1", "PipelineRun", "release-1",
            """{"pipelineRef": {"name": "release"}, "params": [{"name": "secret", "value": "my-creds"}]}""", status)));

        index.UsersOfSecret(Ns, "my-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
    }

    [Fact]
    public void A_task_run_uses_the_secret_it_passes_to_its_task()
    {
        index.Upsert(Task("deploy", DeployTask));
        index.Upsert(TaskRun("deploy-1", """{"taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "deploy-token"}]}"""));

        index.UsersOfSecret(Ns, "deploy-token").Should().Equal(new UsageUser(UsageKinds.TaskRun, "deploy-1"));
    }

    [Fact]
    public void A_parameter_neither_passed_nor_defaulted_or_passed_as_a_result_names_nothing()
    {
        index.Upsert(Task("deploy", """
            {"params": [{"name": "secret", "default": "fallback"}, {"name": "other"}],
             "steps": [{"name": "d", "image": "kubectl:1", "envFrom": [{"secretRef": {"name": "$(params.secret)"}}, {"secretRef": {"name": "x-$(params.other)"}}]}]}
            """));
        index.Upsert(Pipeline("release", """
            {"tasks": [{"name": "deploy", "taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "$(tasks.fetch.results.name)"}]}]}
            """));
        index.Upsert(PipelineRun("release-1", """{"pipelineRef": {"name": "release"}}"""));

        index.UsersOfSecret(Ns, "fallback").Should().BeEmpty("a value passed as a result is unknown, not the default");
        index.UsersOfSecret(Ns, "x-").Should().BeEmpty();
        index.UsersOfSecret(Ns, "x-$(params.other)").Should().BeEmpty();
    }

    [Fact]
    public void Pipelines_that_run_each_other_are_walked_a_bounded_number_of_times()
    {
        index.Upsert(Pipeline("a", """{"tasks": [{"name": "b", "pipelineRef": {"name": "b"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]}"""));
        index.Upsert(Pipeline("b", """
            {"tasks": [{"name": "a", "pipelineRef": {"name": "a"}, "params": [{"name": "secret", "value": "$(params.secret)"}]},
                       {"name": "deploy", "taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]}
            """));
        index.Upsert(Task("deploy", DeployTask));

        index.Upsert(PipelineRun("loop", """{"pipelineRef": {"name": "a"}, "params": [{"name": "secret", "value": "loop-creds"}]}"""));

        index.UsersOfSecret(Ns, "loop-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "loop"));
    }

    [Fact]
    public void A_parameter_passed_further_down_than_the_index_follows_names_nothing()
    {
        // PipelineRun → p1 → p2 → p3 → p4 → Task: one reference more than UsageIndex.MaxIndirection.
        index.Upsert(Task("deploy", DeployTask));
        index.Upsert(Pipeline("p4", """{"tasks": [{"name": "t", "taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]}"""));
        foreach (var (name, next) in (ReadOnlySpan<(string, string)>)[("p3", "p4"), ("p2", "p3"), ("p1", "p2")])
        {
            index.Upsert(Pipeline(name, $$"""{"tasks": [{"name": "t", "pipelineRef": {"name": "{{next}}"}, "params": [{"name": "secret", "value": "$(params.secret)"}]}]}"""));
        }

        index.Upsert(PipelineRun("deep", """{"pipelineRef": {"name": "p1"}, "params": [{"name": "secret", "value": "deep-creds"}]}"""));
        index.Upsert(PipelineRun("shallow", """{"pipelineRef": {"name": "p2"}, "params": [{"name": "secret", "value": "shallow-creds"}]}"""));

        index.UsersOfSecret(Ns, "deep-creds").Should().BeEmpty("the walk stops at MaxIndirection");
        index.UsersOfSecret(Ns, "shallow-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "shallow"));
    }

    [Fact]
    public void Malformed_expressions_name_nothing_and_break_nothing()
    {
        index.Upsert(Task("deploy", """
            {"params": [{"name": "secret"}],
             "steps": [{"name": "d", "image": "kubectl:1", "envFrom": [
               {"secretRef": {"name": "$(params.secret"}}, {"secretRef": {"name": "$(params.)"}}, {"secretRef": {"name": "$(params.secret)$(params.secret)"}},
               {"secretRef": {"name": "$(params[\"secret\"])-b"}}]}]}
            """));
        index.Upsert(TaskRun("odd", """{"taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "a"}, {"name": "secret", "value": ["list"]}, {"value": "no-name"}]}"""));
        index.Upsert(TaskRun("plain", """{"taskRef": {"name": "deploy"}, "params": [{"name": "secret", "value": "a"}]}"""));

        index.UsersOfSecret(Ns, "aa").Should().Equal(new UsageUser(UsageKinds.TaskRun, "plain"));
        index.UsersOfSecret(Ns, "a-b").Should().Equal([new UsageUser(UsageKinds.TaskRun, "plain")], "a value that is not a string, passed last, is unknown");
        index.UsersOfSecret(Ns, "$(params.secret").Should().BeEmpty();
    }

    [Fact]
    public void A_cron_workflow_uses_the_secret_its_arguments_name_in_its_workflow_template()
    {
        index.Upsert(WorkflowTemplate("etl", """
            {"templates": [{"name": "main", "container": {"image": "etl:1", "envFrom": [{"secretRef": {"name": "{{workflow.parameters.conn}}-ro"}}]}}]}
            """));
        index.Upsert(ArgoWorkflowReferences.FromCronWorkflow(Object("argoproj.io/v1alpha1", "CronWorkflow", "nightly", """
            {"schedule": "0 2 * * *", "workflowSpec": {"workflowTemplateRef": {"name": "etl"}, "arguments": {"parameters": [{"name": "conn", "value": "orders"}]}}}
            """)));

        index.UsersOfSecret(Ns, "orders-ro").Should().Equal(new UsageUser(UsageKinds.CronWorkflow, "nightly"));
    }

    [Fact]
    public void A_workflow_uses_the_secret_its_arguments_name_in_its_workflow_template()
    {
        index.Upsert(WorkflowTemplate("etl", """
            {
              "arguments": {"parameters": [{"name": "conn", "value": "template-default"}]},
              "templates": [{"name": "main", "container": {"image": "etl:1",
                "env": [{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "{{workflow.parameters.conn}}", "key": "password"}}}]}}]
            }
            """));
        index.Upsert(Workflow("etl-orders", """{"workflowTemplateRef": {"name": "etl"}, "arguments": {"parameters": [{"name": "conn", "value": "orders-db"}]}}"""));
        index.Upsert(Workflow("etl-plain", """{"workflowTemplateRef": {"name": "etl"}}"""));

        index.UsersOfSecret(Ns, "orders-db").Should().Equal(new UsageUser(UsageKinds.Workflow, "etl-orders"));
        index.UsersOfSecret(Ns, "template-default").Should().Equal(new UsageUser(UsageKinds.Workflow, "etl-plain"));
    }

    [Fact]
    public void A_workflow_uses_the_secret_a_step_passes_to_a_referenced_template_as_an_input()
    {
        index.Upsert(WorkflowTemplate("loaders", """
            {
              "templates": [
                {"name": "load", "inputs": {"parameters": [{"name": "secret"}]},
                 "container": {"image": "load:1", "envFrom": [{"secretRef": {"name": "{{inputs.parameters.secret}}"}}]}},
                {"name": "other", "inputs": {"parameters": [{"name": "secret", "default": "other-default"}]},
                 "container": {"image": "load:1", "envFrom": [{"secretRef": {"name": "{{inputs.parameters.secret}}"}}]}}
              ]
            }
            """));
        index.Upsert(Workflow("steps", """
            {
              "entrypoint": "main",
              "arguments": {"parameters": [{"name": "db", "value": "warehouse-db"}]},
              "templates": [{"name": "main", "steps": [[{"name": "load", "templateRef": {"name": "loaders", "template": "load"},
                "arguments": {"parameters": [{"name": "secret", "value": "{{workflow.parameters.db}}"}]}}]]}]
            }
            """));
        index.Upsert(Workflow("dag", """
            {
              "entrypoint": "main",
              "templates": [{"name": "main", "dag": {"tasks": [{"name": "load", "templateRef": {"name": "loaders", "template": "load"},
                "arguments": {"parameters": [{"name": "secret", "value": "lake-db"}]}}]}}]
            }
            """));

        index.UsersOfSecret(Ns, "warehouse-db").Should().Equal(new UsageUser(UsageKinds.Workflow, "steps"));
        index.UsersOfSecret(Ns, "lake-db").Should().Equal(new UsageUser(UsageKinds.Workflow, "dag"));
        index.UsersOfSecret(Ns, "other-default").Should().Equal(
            [new UsageUser(UsageKinds.Workflow, "dag"), new UsageUser(UsageKinds.Workflow, "steps")],
            "the whole WorkflowTemplate counts, its other templates with their defaults");
    }

    [Fact]
    public void A_workflow_template_passes_a_workflows_parameter_on_to_the_template_it_refers_to()
    {
        index.Upsert(WorkflowTemplate("loaders", """
            {"templates": [{"name": "load", "inputs": {"parameters": [{"name": "secret"}]},
              "container": {"image": "load:1", "envFrom": [{"secretRef": {"name": "{{inputs.parameters.secret}}"}}]}}]}
            """));
        index.Upsert(WorkflowTemplate("etl", """
            {"templates": [{"name": "main", "steps": [[{"name": "load", "templateRef": {"name": "loaders", "template": "load"},
              "arguments": {"parameters": [{"name": "secret", "value": "{{workflow.parameters.conn}}"}]}}]]}]}
            """));
        index.Upsert(Workflow("etl-1", """{"workflowTemplateRef": {"name": "etl"}, "arguments": {"parameters": [{"name": "conn", "value": "orders-db"}]}}"""));

        index.UsersOfSecret(Ns, "orders-db").Should().Equal(new UsageUser(UsageKinds.Workflow, "etl-1"));
    }

    [Fact]
    public void Workflows_of_two_namespaces_pass_their_own_arguments_into_one_cluster_workflow_template()
    {
        const string Other = "team-b";
        index.Upsert(ClusterWorkflowTemplate("shared-etl", """
            {"templates": [{"name": "main", "container": {"image": "etl:1",
              "envFrom": [{"secretRef": {"name": "{{workflow.parameters.conn}}"}}]}}]}
            """));
        index.Upsert(Workflow("etl-1", """{"workflowTemplateRef": {"name": "shared-etl", "clusterScope": true}, "arguments": {"parameters": [{"name": "conn", "value": "orders-db"}]}}"""));
        index.Upsert(ArgoWorkflowReferences.From(JsonNode.Parse($$$"""
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "etl-2", "namespace": "{{{Other}}}"},
             "spec": {"workflowTemplateRef": {"name": "shared-etl", "clusterScope": true}, "arguments": {"parameters": [{"name": "conn", "value": "lake-db"}]}},
             "status": {"phase": "Running"}}
            """)!));

        index.UsersOfSecret(Ns, "orders-db").Should().Equal(new UsageUser(UsageKinds.Workflow, "etl-1"));
        index.UsersOfSecret(Other, "lake-db").Should().Equal(new UsageUser(UsageKinds.Workflow, "etl-2"));
        index.UsersOfSecret(Ns, "lake-db").Should().BeEmpty("a Workflow's arguments name Secrets of its own namespace only");

        // The template stops naming the parameter: both namespaces hear of it, and the runs no longer keep the Secrets.
        changes.Clear();
        index.Upsert(ClusterWorkflowTemplate("shared-etl", """
            {"templates": [{"name": "main", "container": {"image": "etl:1", "envFrom": [{"secretRef": {"name": "fixed"}}]}}]}
            """));

        index.UsersOfSecret(Ns, "orders-db").Should().BeEmpty();
        index.UsersOfSecret(Other, "lake-db").Should().BeEmpty();
        changes.Should().Contain([new UsageChange(Ns, UsageTarget.Secret, "orders-db"), new UsageChange(Other, UsageTarget.Secret, "lake-db")]);
    }

    private static ObjectReferences ClusterWorkflowTemplate(string name, string spec) =>
        ArgoWorkflowReferences.FromClusterWorkflowTemplate(JsonNode.Parse($$$"""
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "ClusterWorkflowTemplate", "metadata": {"name": "{{{name}}}"}, "spec": {{{spec}}}}
            """)!);
}
