using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;
using static Passbox.Operator.Tests.Usage.Objects;

namespace Passbox.Operator.Tests.Usage;

/// <summary>
/// The references a definition or a run names by name travel from the informer's transform to the index on the slim
/// stub the informer keeps, like every other reference: a Pipeline's Tasks and a run's Pipeline reach the index.
/// </summary>
public sealed class UsageSourceDefinitionTests
{
    [Fact]
    public async Task A_pipeline_run_fed_from_its_informer_uses_the_secrets_of_the_task_its_pipeline_names()
    {
        var index = new UsageIndex();
        await FeedAsync(UsageSources.Tasks, index, """
            {"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"deploy","namespace":"team-a","resourceVersion":"3"},
             "spec":{"steps":[{"name":"apply","image":"kubectl","env":[{"name":"KUBECONFIG_DATA","valueFrom":{"secretKeyRef":{"name":"deploy-kubeconfig","key":"kubeconfig"}}}]}]}}
            """);
        await FeedAsync(UsageSources.Pipelines, index, """
            {"apiVersion":"tekton.dev/v1","kind":"Pipeline","metadata":{"name":"release","namespace":"team-a","resourceVersion":"4"},
             "spec":{"tasks":[{"name":"deploy","taskRef":{"name":"deploy"}}]}}
            """);
        await FeedAsync(UsageSources.PipelineRuns, index, """
            {"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"name":"release-1","namespace":"team-a","resourceVersion":"5"},
             "spec":{"pipelineRef":{"name":"release"}}}
            """);

        index.Find(UsageKinds.Pipeline, Ns, "release")!.Definitions.Should().Equal(new DefinitionReference(UsageKinds.Task, "deploy"));
        index.UsersOfSecret(Ns, "deploy-kubeconfig").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
    }

    [Fact]
    public async Task The_parameters_a_run_passes_travel_on_the_stub_with_the_names_its_definitions_write_with_them()
    {
        var index = new UsageIndex();
        await FeedAsync(UsageSources.Tasks, index, """
            {"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"deploy","namespace":"team-a","resourceVersion":"3"},
             "spec":{"params":[{"name":"secret","default":"fallback"},{"name":"unused","default":"x"}],
                     "steps":[{"name":"apply","image":"kubectl","envFrom":[{"secretRef":{"name":"prefix-$(params.secret)"}}]}]}}
            """);
        await FeedAsync(UsageSources.Pipelines, index, """
            {"apiVersion":"tekton.dev/v1","kind":"Pipeline","metadata":{"name":"release","namespace":"team-a","resourceVersion":"4"},
             "spec":{"params":[{"name":"target"}],
                     "tasks":[{"name":"deploy","taskRef":{"name":"deploy"},"params":[{"name":"secret","value":"$(params.target)"},{"name":"late","value":"$(tasks.a.results.b)"}]}]}}
            """);
        await FeedAsync(UsageSources.PipelineRuns, index, """
            {"apiVersion":"tekton.dev/v1","kind":"PipelineRun","metadata":{"name":"release-1","namespace":"team-a","resourceVersion":"5"},
             "spec":{"pipelineRef":{"name":"release"},"params":[{"name":"target","value":"orders"}]}}
            """);

        index.Find(UsageKinds.Task, Ns, "deploy")!.Parameters!.Values.Should().Equal(
            [new ParameterBinding("params.secret", ParameterizedName.Literal("fallback"))], "only the defaults its names read are kept");
        index.Find(UsageKinds.Pipeline, Ns, "release")!.Parameters!.Calls.Single().Bindings.Select(b => b.Value?.ToString()).Should().Equal(null, "$(params.target)");
        index.UsersOfSecret(Ns, "prefix-orders").Should().Equal(new UsageUser(UsageKinds.PipelineRun, "release-1"));
        index.UsersOfSecret(Ns, "prefix-fallback").Should().BeEmpty();
    }

    [Fact]
    public async Task A_cluster_workflow_template_fed_from_its_cluster_wide_informer_lends_its_secrets_to_the_workflows_that_run_it()
    {
        var index = new UsageIndex();
        await FeedAsync(UsageSources.ClusterWorkflowTemplates, index, """
            {"apiVersion":"argoproj.io/v1alpha1","kind":"ClusterWorkflowTemplate","metadata":{"name":"shared-etl","resourceVersion":"3"},
             "spec":{"templates":[{"name":"main","container":{"image":"etl:1","envFrom":[{"secretRef":{"name":"warehouse-token"}}]}}]}}
            """);
        await FeedAsync(UsageSources.Workflows, index, """
            {"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","metadata":{"name":"etl-1","namespace":"team-a","resourceVersion":"5"},
             "spec":{"workflowTemplateRef":{"name":"shared-etl","clusterScope":true}}}
            """);

        UsageSources.ClusterWorkflowTemplates.InformerOptions("team-a", new NamespaceScope()).Should().Match<InformerOptions<UntypedObject>>(
            o => o.Namespace == null && o.Scope == null, "a cluster-scoped kind is listed cluster-wide and kept whole");
        index.Find(UsageKinds.ClusterWorkflowTemplate, string.Empty, "shared-etl")!.SecretNames.Should().Equal("warehouse-token");
        index.UsersOfSecret(Ns, "warehouse-token").Should().Equal(new UsageUser(UsageKinds.Workflow, "etl-1"));
    }

    [Fact]
    public async Task A_reference_through_the_cluster_resolver_to_another_namespace_travels_on_the_stub()
    {
        var index = new UsageIndex();
        await FeedAsync(UsageSources.Tasks, index, """
            {"apiVersion":"tekton.dev/v1","kind":"Task","metadata":{"name":"git-clone","namespace":"tekton-catalog","resourceVersion":"3"},
             "spec":{"steps":[{"name":"clone","image":"git","envFrom":[{"secretRef":{"name":"git-token"}}]}]}}
            """);
        await FeedAsync(UsageSources.TaskRuns, index, """
            {"apiVersion":"tekton.dev/v1","kind":"TaskRun","metadata":{"name":"clone-1","namespace":"team-a","resourceVersion":"5"},
             "spec":{"taskRef":{"resolver":"cluster","params":[{"name":"name","value":"git-clone"},{"name":"namespace","value":"tekton-catalog"}]}}}
            """);

        index.Find(UsageKinds.TaskRun, Ns, "clone-1")!.Definitions.Should().Equal(DefinitionReference.InNamespace(UsageKinds.Task, "tekton-catalog", "git-clone"));
        index.UsersOfSecret(Ns, "git-token").Should().Equal(new UsageUser(UsageKinds.TaskRun, "clone-1"));
    }

    /// <summary>Lists the one object through an informer feeding <paramref name="index"/>, then stops it.</summary>
    private static async Task FeedAsync(UsageSource<UntypedObject> source, UsageIndex index, string item)
    {
        var endWatch = new TaskCompletionSource();
        var server = new FakeApiServer(async request =>
        {
            if (!request.IsWatch)
            {
                return FakeApiServer.Json(HttpStatusCode.OK, $$"""{"apiVersion":"{{source.Resource.ApiVersion}}","kind":"{{source.Resource.Kind}}List","metadata":{"resourceVersion":"9"},"items":[{{item}}]}""");
            }

            await endWatch.Task;
            return FakeApiServer.Watch();
        });
        var informer = new Informer<UntypedObject>(server.CreateClient(), source.Resource, source.InformerOptions(null, null), new FakeTimeProvider(), NullLogger.Instance);
        using var feed = source.Feed(informer, index);
        using var stop = new CancellationTokenSource();
        var run = informer.RunAsync(stop.Token);
        await informer.WaitForSyncAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        await stop.CancelAsync();
        endWatch.SetResult();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
