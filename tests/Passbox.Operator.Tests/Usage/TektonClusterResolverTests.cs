using System.Text.Json.Nodes;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// Tasks and Pipelines a run reaches through Tekton's cluster resolver (<c>resolver: cluster</c> with <c>kind</c>,
/// <c>name</c>, <c>namespace</c> params) count exactly like references by name, parameters passed along included: those
/// of the run's own namespace, and those of another (a shared catalog), whose Secrets are the run's namespace's, as
/// Tekton runs the Pods there. References written with an expression are not followed.
/// </summary>
public sealed class TektonClusterResolverTests
{
    private const string Running = """{"conditions": [{"type": "Succeeded", "status": "Unknown", "reason": "Running"}]}""";
    private const string Catalog = "tekton-catalog";

    private readonly UsageIndex index = new();

    private static JsonNode Object(string kind, string name, string spec, string? status = null, string ns = Ns) => JsonNode.Parse($$"""
        {
          "apiVersion": "tekton.dev/v1",
          "kind": "{{kind}}",
          "metadata": {"name": "{{name}}", "namespace": "{{ns}}"},
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

    private static DefinitionReference TaskIn(string ns, string name) => DefinitionReference.InNamespace("Task", ns, name);

    private static DefinitionReference PipelineIn(string ns, string name) => DefinitionReference.InNamespace("Pipeline", ns, name);

    [Fact]
    public void Runs_refer_to_the_task_or_pipeline_of_the_namespace_the_cluster_resolver_names()
    {
        PipelineRun("p", $$"""{"pipelineRef": {{ClusterRef("pipeline", "release", Ns)}}}""").Definitions.Should().Equal(PipelineIn(Ns, "release"));
        TaskRun("t", $$"""{"taskRef": {{ClusterRef("task", "git-clone", Catalog)}}}""").Definitions.Should().Equal(TaskIn(Catalog, "git-clone"));
        TaskIn(Catalog, "git-clone").Namespace.Should().Be(Catalog);
        Task("git-clone").Namespace.Should().BeNull();
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
              "tasks": [{"name": "deploy", "taskRef": {{ClusterRef("task", "deploy", Catalog)}}, "params": [{"name": "secret", "value": "$(params.target)"}]}],
              "finally": [{"name": "notify", "taskRef": {{ClusterRef(null, "notify", null)}}}]
            }
            """));

        pipeline.Definitions.Should().Equal(Task("notify"), TaskIn(Catalog, "deploy"));
        pipeline.Parameters!.Calls.Should().ContainSingle(call => call.Definition == TaskIn(Catalog, "deploy"))
            .Which.Bindings.Select(b => (b.Key, b.Value!.ToString())).Should().Equal(("params.secret", "$(params.target)"));
    }

    [Fact]
    public void References_to_another_kind_or_through_an_expression_are_not_followed()
    {
        var cases = new Dictionary<string, string>
        {
            ["no namespace's name"] = ClusterRef("task", "git-clone", "Tekton Catalog"),
            ["a name with a slash"] = ClusterRef("task", "other/git-clone", Ns),
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

    [Fact]
    public void A_catalog_task_of_another_namespace_keeps_the_secrets_of_the_runs_namespace_it_names_parameters_included()
    {
        index.Upsert(TektonReferences.FromTask(Object("Task", "deploy", """
            {
              "params": [{"name": "secret", "type": "string", "default": "catalog-default"}],
              "steps": [{"name": "deploy", "image": "kubectl:1", "envFrom": [{"secretRef": {"name": "$(params.secret)"}}],
                         "env": [{"name": "BOT", "valueFrom": {"secretKeyRef": {"name": "bot-token", "key": "token"}}}]}]
            }
            """, ns: Catalog)));
        index.Upsert(PipelineRun("release-1", $$$"""
            {"pipelineSpec": {"tasks": [{"name": "deploy", "taskRef": {{{ClusterRef("task", "deploy", Catalog)}}}, "params": [{"name": "secret", "value": "prod-creds"}]}]}}
            """));

        index.UsersOfSecret(Ns, "prod-creds").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfSecret(Ns, "bot-token").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfSecret(Ns, "catalog-default").Should().BeEmpty("the run passes the parameter");
        index.UsersOfSecret(Catalog, "bot-token").Should().BeEmpty("the Pods run in the run's namespace, not the catalog's");
        index.Count.Should().Be(2, "the catalog's Task is one object, however many namespaces reach it");
    }

    [Fact]
    public void A_catalog_pipeline_reads_its_tasks_by_name_in_the_runs_namespace_and_by_namespace_in_the_one_named()
    {
        const string UsesSecret = """{"steps": [{"name": "s", "image": "tool:1", "envFrom": [{"secretRef": {"name": "$(params.secret)"}}]}], "params": [{"name": "secret"}]}""";
        index.Upsert(TektonReferences.FromTask(Object("Task", "build", UsesSecret)));
        index.Upsert(TektonReferences.FromTask(Object("Task", "scan", UsesSecret, ns: Catalog)));
        index.Upsert(TektonReferences.FromTask(Object("Task", "build", """{"steps": [{"name": "s", "image": "tool:1", "envFrom": [{"secretRef": {"name": "not-this"}}]}]}""", ns: Catalog)));
        index.Upsert(TektonReferences.FromPipeline(Object("Pipeline", "ci", $$"""
            {
              "params": [{"name": "build-secret"}, {"name": "scan-secret"}],
              "tasks": [
                {"name": "build", "taskRef": {"name": "build"}, "params": [{"name": "secret", "value": "$(params.build-secret)"}]},
                {"name": "scan", "taskRef": {{ClusterRef("task", "scan", Catalog)}}, "params": [{"name": "secret", "value": "$(params.scan-secret)"}]}
              ]
            }
            """, ns: Catalog)));
        index.Upsert(PipelineRun("ci-1", $$"""
            {"pipelineRef": {{ClusterRef("pipeline", "ci", Catalog)}}, "params": [{"name": "build-secret", "value": "build-creds"}, {"name": "scan-secret", "value": "scan-creds"}]}
            """));

        var run = new UsageUser(UsageKinds.PipelineRun, "ci-1");
        index.UsersOfSecret(Ns, "build-creds").Should().Equal([run], "Tekton resolves a pipeline task's taskRef by name in the namespace of the PipelineRun");
        index.UsersOfSecret(Ns, "scan-creds").Should().Equal(run);
        index.UsersOfSecret(Ns, "not-this").Should().BeEmpty("the catalog's own build Task is not the one run");
    }

    [Fact]
    public void A_change_to_a_catalog_task_reaches_the_runs_of_other_namespaces_and_its_deletion_too()
    {
        var changes = new List<UsageChange>();
        index.Upsert(PipelineRun("release-1", $$$"""{"pipelineSpec": {"tasks": [{"name": "d", "taskRef": {{{ClusterRef(null, "deploy", Catalog)}}}}]}}"""));
        index.Changed += changes.Add;

        index.Upsert(TektonReferences.FromTask(Object("Task", "deploy", """{"steps": [{"name": "s", "image": "t", "envFrom": [{"secretRef": {"name": "deploy-token"}}]}]}""", ns: Catalog)));

        index.UsersOfSecret(Ns, "deploy-token").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        changes.Should().Contain(new UsageChange(Ns, UsageTarget.Secret, "deploy-token"));
        changes.Clear();

        index.Replace(UsageKinds.Task, []);

        index.UsersOfSecret(Ns, "deploy-token").Should().BeEmpty();
        index.Find(UsageKinds.Task, string.Empty, $"{Catalog}/deploy").Should().BeNull("the shared copy goes with the Task");
        changes.Should().Contain(new UsageChange(Ns, UsageTarget.Secret, "deploy-token"));
    }

    [Fact]
    public void The_index_names_the_namespaces_a_run_reaches_before_it_stores_the_run()
    {
        var named = new List<(string Namespace, bool RunVisible)>();
        index.DefinitionNamespaceNamed += ns => named.Add((ns, index.Find(UsageKinds.TaskRun, Ns, "t") is not null));

        index.Upsert(TaskRun("t", $$"""{"taskRef": {{ClusterRef("task", "git-clone", Catalog)}}}"""));
        index.Upsert(TaskRun("u", $$"""{"taskRef": {{ClusterRef("task", "git-clone", null)}}}"""));

        named.Should().Equal([(Catalog, false)], "only a reference by namespace names one, and the scope must hear of it before a query can see the run");
    }

    [Fact]
    public void A_failed_listing_of_the_credentials_own_namespace_is_advised_there()
    {
        var scope = new UsageScope();
        var informer = new FillsOnDemand();
        scope.Namespaces.Join(informer);
        scope.Definitions.Join(new FillsOnDemand());
        scope.Namespaces.Include(Ns);
        scope.Namespaces.FillFailed(informer.Taken.Single(), "pods is forbidden");

        scope.IsComplete(Ns).Should().BeFalse();
        scope.Problem(Ns)!.RbacHint.Should().Be($"list on Pods, workloads and runs in namespace {Ns}");
        scope.Problem(Ns)!.ToString().Should().Contain("pods is forbidden");
    }

    [Fact]
    public void The_scope_follows_a_named_namespace_and_deletions_wait_for_its_definitions()
    {
        var scope = new UsageScope();
        var informer = new FillsOnDemand();
        scope.Namespaces.Include(Ns);
        scope.Definitions.Include(Ns);
        scope.Definitions.Join(informer);

        scope.FollowDefinitionsOf("Not A Namespace");
        scope.FollowDefinitionsOf(Catalog);

        scope.Definitions.Contains(Catalog).Should().BeTrue();
        scope.Definitions.Contains("Not A Namespace").Should().BeFalse("a list that can only fail would hold every deletion");
        scope.Namespaces.Contains(Catalog).Should().BeFalse("only the catalog's Tasks and Pipelines are read, not its Pods");
        scope.IsComplete(Ns).Should().BeFalse("a run here may reach the catalog's Tasks, not listed yet");
        scope.Definitions.FillFailed(informer.Taken.Single(), "forbidden");
        scope.Problem(Ns)!.ToString().Should().Contain(Catalog).And.Contain("forbidden");
        scope.Problem(Ns)!.RbacHint.Should().Be($"list on tasks and pipelines (tekton.dev) in namespace {Catalog}",
            "the advice of a blocked deletion points at the listing that failed, not at the credential's namespace");

        scope.Definitions.FillEnded(informer.Taken.Single());

        scope.IsComplete(Ns).Should().BeTrue();
        informer.Filled.Should().Equal(Catalog);
    }

    [Fact]
    public void An_operator_that_watches_one_namespace_follows_no_other()
    {
        var scope = new UsageScope(followsOtherNamespaces: false);

        scope.FollowDefinitionsOf(Catalog);

        scope.Definitions.Contains(Catalog).Should().BeFalse("its Role allows no list there: the fill would fail forever");
    }

    /// <summary>A scoped informer past its first list: takes every fill, which the test ends.</summary>
    private sealed class FillsOnDemand : IScopedInformer
    {
        public List<NamespaceScope.Inclusion> Taken { get; } = [];

        public IEnumerable<string> Filled => Taken.Select(inclusion => inclusion.Namespace);

        public bool Fill(NamespaceScope.Inclusion inclusion)
        {
            Taken.Add(inclusion);
            return true;
        }

        public void Drop(string @namespace)
        {
        }
    }
}
