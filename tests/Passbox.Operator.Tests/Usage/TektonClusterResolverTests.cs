using System.Text.Json.Nodes;
using Passbox.Operator.Usage;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// Tasks and Pipelines a run reaches through Tekton's cluster resolver (<c>resolver: cluster</c> with <c>kind</c>,
/// <c>name</c>, <c>namespace</c> params): those of the run's own namespace count exactly like references by name,
/// parameters passed along included; those of another namespace, or written with an expression, are not followed.
/// </summary>
public sealed class TektonClusterResolverTests
{
    private const string Running = """{"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]}""";

    private readonly UsageIndex index = new();

    private static JsonNode Object(string kind, string name, string spec, string? status = null) => JsonNode.Parse($$"""
        {
          "apiVersion": "tekton.dev/v1",
          "kind": "{{kind}}",
          "metadata": {"name": "{{name}}", "namespace": "{{Ns}}"},
          "spec": {{spec}}{{(status is null ? "" : $", \"status\": {status}")}}
        }
        """)!;

    /// <summary>A cluster resolver reference; a null param is left out.</summary>
    private static string ClusterRef(string? kind, string? name, string? ns)
    {
        var parameters = new JsonArray();
        foreach (var (key, value) in new[] { ("kind", kind), ("name", name), ("namespace", ns) })
        {
            if (value is not null)
            {
                parameters.Add(new JsonObject { ["name"] = key, ["value"] = value });
            }
        }

        return new JsonObject { ["resolver"] = "cluster", ["params"] = parameters }.ToJsonString();
    }

    private static ObjectReferences PipelineRun(string name, string spec) => TektonReferences.FromPipelineRun(Object("PipelineRun", name, spec, Running));

    private static ObjectReferences TaskRun(string name, string spec) => TektonReferences.FromTaskRun(Object("TaskRun", name, spec, Running));

    private static DefinitionReference Task(string name) => new("Task", name);

    private static DefinitionReference Pipeline(string name) => new("Pipeline", name);

    [Fact]
    public void Runs_refer_to_the_task_or_pipeline_of_their_namespace_the_cluster_resolver_names()
    {
        TektonReferences.FromPipelineRun(Object("PipelineRun", "p", $$"""{"pipelineRef": {{ClusterRef("pipeline", "release", Ns)}}}""", Running))
            .Definitions.Should().Equal(Pipeline("release"));
        TaskRun("t", $$"""{"taskRef": {{ClusterRef("task", "git-clone", Ns)}}}""")
            .Definitions.Should().Equal(Task("git-clone"));
    }

    [Fact]
    public void Without_a_namespace_or_kind_the_reference_is_to_the_runs_own_namespace_and_the_fields_kind()
    {
        TaskRun("t", $$"""{"taskRef": {{ClusterRef(null, "git-clone", null)}}}""")
            .Definitions.Should().Equal([Task("git-clone")], "Tekton's defaults: kind task, the namespace of the run");
        PipelineRun("p", $$"""{"pipelineRef": {{ClusterRef(null, "release", null)}}}""")
            .Definitions.Should().Equal([Pipeline("release")], "a cluster whose resolver defaults to task fails the run instead");
    }

    [Fact]
    public void A_pipelines_tasks_through_the_cluster_resolver_are_its_tasks_with_the_parameters_they_pass()
    {
        var pipeline = TektonReferences.FromPipeline(Object("Pipeline", "release", $$"""
            {
              "params": [{"name": "target", "type": "string"}],
              "tasks": [{"name": "deploy", "taskRef": {{ClusterRef("task", "deploy", Ns)}}, "params": [{"name": "secret", "value": "$(params.target)"}]}],
              "finally": [{"name": "notify", "taskRef": {{ClusterRef(null, "notify", null)}}}]
            }
            """));

        pipeline.Definitions.Should().Equal(Task("deploy"), Task("notify"));
        pipeline.Parameters!.Calls.Should().ContainSingle(call => call.Definition == Task("deploy"))
            .Which.Bindings.Select(b => (b.Key, b.Value!.ToString())).Should().Equal(("params.secret", "$(params.target)"));
    }

    [Fact]
    public void References_to_another_namespace_another_kind_or_through_an_expression_are_not_followed()
    {
        var cases = new Dictionary<string, string>
        {
            ["another namespace"] = ClusterRef("task", "git-clone", "tekton-catalog"),
            ["a pipeline in a taskRef"] = ClusterRef("pipeline", "git-clone", Ns),
            ["a step action"] = ClusterRef("stepaction", "git-clone", Ns),
            ["a name from a parameter"] = ClusterRef("task", "$(params.task)", Ns),
            ["a namespace from a parameter"] = ClusterRef("task", "git-clone", "$(params.catalog)"),
            ["a kind from a parameter"] = ClusterRef("$(params.kind)", "git-clone", Ns),
            ["no name"] = ClusterRef("task", null, Ns),
            ["another resolver"] = """{"resolver": "hub", "params": [{"name": "kind", "value": "task"}, {"name": "name", "value": "git-clone"}]}""",
            ["a ClusterTask"] = """{"resolver": "cluster", "kind": "ClusterTask", "params": [{"name": "name", "value": "git-clone"}]}""",
        };

        foreach (var (what, taskRef) in cases)
        {
            TaskRun("t", $$"""{"taskRef": {{taskRef}}}""").Definitions.Should().BeEmpty(what);
        }

        PipelineRun("p", $$"""{"pipelineRef": {{ClusterRef("task", "release", Ns)}}}""").Definitions.Should().BeEmpty("a Task is no Pipeline");
        PipelineRun("p", $$"""{"pipelineRef": {{ClusterRef("pipeline", "release", "shared")}}}""").Definitions.Should().BeEmpty("another namespace");
    }

    [Fact]
    public void Once_tekton_stored_the_resolved_spec_the_reference_no_longer_counts()
    {
        var run = TektonReferences.FromTaskRun(Object("TaskRun", "t", $$"""{"taskRef": {{ClusterRef("task", "git-clone", Ns)}}}""", """
            {"conditions": [{"type": "Succeeded", "status": "Unknown"}], "taskSpec": {"steps": [{"name": "s", "image": "git", "envFrom": [{"secretRef": {"name": "git-token"}}]}]}}
            """));

        run.Definitions.Should().BeEmpty("the resolved spec is what runs");
        run.SecretNames.Should().Equal("git-token");
    }

    [Fact]
    public void A_secret_named_only_by_a_task_reached_through_the_cluster_resolver_is_used_by_the_run_parameters_included()
    {
        index.Upsert(TektonReferences.FromTask(Object("Task", "deploy", """
            {
              "params": [{"name": "secret", "type": "string"}],
              "steps": [{"name": "deploy", "image": "kubectl:1", "envFrom": [{"secretRef": {"name": "$(params.secret)"}}],
                         "env": [{"name": "BOT", "valueFrom": {"secretKeyRef": {"name": "bot-token", "key": "token"}}}]}]
            }
            """)));
        index.Upsert(TektonReferences.FromPipeline(Object("Pipeline", "release", $$"""
            {
              "params": [{"name": "target", "type": "string"}],
              "tasks": [{"name": "deploy", "taskRef": {{ClusterRef("task", "deploy", Ns)}}, "params": [{"name": "secret", "value": "$(params.target)"}]}]
            }
            """)));
        index.Upsert(PipelineRun("release-1", $$"""{"pipelineRef": {{ClusterRef("pipeline", "release", null)}}, "params": [{"name": "target", "value": "prod-creds"}]}"""));
        index.Upsert(TaskRun("deploy-1", $$"""{"taskRef": {{ClusterRef("task", "deploy", Ns)}}, "params": [{"name": "secret", "value": "staging-creds"}]}"""));

        index.UsersOfSecret(Ns, "prod-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfSecret(Ns, "staging-creds").Should().Equal(new UsageUser(UsageKinds.TaskRun, "deploy-1"));
        index.UsersOfSecret(Ns, "bot-token").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"), new UsageUser(UsageKinds.TaskRun, "deploy-1"));
        index.UsersOfCredential(Ns, "prod", "prod-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
    }
}
