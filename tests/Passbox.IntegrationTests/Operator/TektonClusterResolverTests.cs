using System.Text.Json.Nodes;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime.Api;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// In-use protection through Tekton's cluster resolver, end to end: the real operator, Tasks and Pipelines (of the run's
/// namespace, or of a shared catalog's) that runs name only as <c>resolver: cluster</c> references, and no Tekton controller, so nothing is
/// resolved into the runs' status, as in the moments before Tekton fetches the definitions (or, for a pipeline's later
/// task, before its turn). Credentials are SecretText PipelineCredentials without a probe: Ready at once.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class TektonClusterResolverTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private const string Token = "resolver-token-5b7e2a";
    private static readonly ResourceDescriptor PipelineRuns = PipelineEngineCrds.PipelineRuns;
    private static readonly ResourceDescriptor TaskRuns = PipelineEngineCrds.TaskRuns;
    private static readonly ResourceDescriptor Tasks = PipelineEngineCrds.Tasks;
    private static readonly ResourceDescriptor Pipelines = PipelineEngineCrds.Pipelines;

    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;
    private readonly PipelineEngineObjects engines = new(controlPlane);

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "resolver");
        run.MarkSecret(Token);
        kit = run.Kit;
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    /// <summary>
    /// A PipelineRun → Pipeline → Task chain made only of cluster resolver references (the Pipeline's without a
    /// namespace, so Tekton's default, the run's own), the Secret named by the Task through the parameter the run
    /// passes; and a TaskRun whose Task, reached the same way, names the Secret itself.
    /// </summary>
    [Fact]
    public async Task A_Secret_named_only_by_a_Task_reached_through_the_cluster_resolver_is_kept_while_the_run_runs()
    {
        await using var crds = await engines.InstallMissingCrdsAsync(PipelineRuns, TaskRuns, Tasks, Pipelines);
        var throughPipeline = await kit.CreateReadyTokenCredentialAsync("resolver-pipeline", Token);
        var throughTaskRun = await kit.CreateReadyTokenCredentialAsync("resolver-taskrun", Token);
        await CreateCustomAsync(Tasks, "deploy", new JsonObject
        {
            ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["type"] = "string" }),
            ["steps"] = new JsonArray(new JsonObject
            {
                ["name"] = "run",
                ["image"] = "registry.invalid/tool:1",
                ["envFrom"] = new JsonArray(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = "$(params.secret)" } }),
            }),
        });
        await CreateCustomAsync(Tasks, "smoke", new JsonObject
        {
            ["steps"] = new JsonArray(new JsonObject
            {
                ["name"] = "run",
                ["image"] = "registry.invalid/tool:1",
                ["envFrom"] = new JsonArray(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = throughTaskRun } }),
            }),
        });
        await CreateCustomAsync(Pipelines, "release", new JsonObject
        {
            ["params"] = new JsonArray(new JsonObject { ["name"] = "target", ["type"] = "string" }),
            ["tasks"] = new JsonArray(new JsonObject
            {
                ["name"] = "deploy",
                ["taskRef"] = ClusterRef(("kind", "task"), ("name", "deploy"), ("namespace", run.Namespace)),
                ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["value"] = "$(params.target)" }),
            }),
        });

        await CreateCustomAsync(PipelineRuns, "release-1", new JsonObject
        {
            ["pipelineRef"] = ClusterRef(("kind", "pipeline"), ("name", "release")),
            ["params"] = new JsonArray(new JsonObject { ["name"] = "target", ["value"] = throughPipeline }),
        });
        await CreateCustomAsync(TaskRuns, "smoke-1", new JsonObject { ["taskRef"] = ClusterRef(("name", "smoke"), ("namespace", run.Namespace)) });
        await kit.WaitUsedByAsync(throughPipeline, "PipelineRun release-1");
        await kit.WaitUsedByAsync(throughTaskRun, "TaskRun smoke-1");

        await kit.DeleteAsync<PipelineCredential>(throughPipeline);
        await kit.DeleteAsync<PipelineCredential>(throughTaskRun);
        await kit.WaitDeletionBlockedAsync(throughPipeline, "PipelineRun release-1");
        await kit.WaitDeletionBlockedAsync(throughTaskRun, "TaskRun smoke-1");
        (await kit.TryGetSecretAsync(throughPipeline)).Should().NotBeNull("the deploy task has yet to start and read it");
        (await kit.TryGetSecretAsync(throughTaskRun)).Should().NotBeNull("the smoke task has yet to start and read it");

        await SetRunSucceededAsync(PipelineRuns, "release-1");
        await SetRunSucceededAsync(TaskRuns, "smoke-1");
        await kit.WaitDeletedWithSecretAsync(throughPipeline);
        await kit.WaitDeletedWithSecretAsync(throughTaskRun);
    }

    /// <summary>
    /// A shared catalog: a Pipeline and its Task in a namespace of their own, which holds no credential; the PipelineRun
    /// of the credential's namespace names the Pipeline by namespace, the Pipeline its Task the same way. Tekton runs the
    /// Task's Pods in the run's namespace, so the Secret the run passes down is the run's namespace's. Only an operator
    /// that watches every namespace can list the catalog's.
    /// </summary>
    [Fact]
    public async Task A_Secret_named_only_through_a_catalog_Task_of_another_namespace_is_kept_while_the_run_runs()
    {
        // Declared after the namespace, so disposed before it: the CRDs go first, then the catalog namespace.
        await using var catalog = await controlPlane.CreateNamespaceAsync("catalog");
        await using var crds = await engines.InstallMissingCrdsAsync(PipelineRuns, TaskRuns, Tasks, Pipelines);
        await run.StopOperatorAsync();
        await run.StartOperatorAsync(everyNamespace: true);
        var passed = await kit.CreateReadyTokenCredentialAsync("catalog-passed", Token);
        var unused = await kit.CreateReadyTokenCredentialAsync("catalog-default", Token);

        // The catalog exists before the run: the operator lists it only once a run names it.
        await CreateCustomAsync(Tasks, "deploy", new JsonObject
        {
            ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["type"] = "string", ["default"] = unused }),
            ["steps"] = new JsonArray(new JsonObject
            {
                ["name"] = "run",
                ["image"] = "registry.invalid/tool:1",
                ["envFrom"] = new JsonArray(new JsonObject { ["secretRef"] = new JsonObject { ["name"] = "$(params.secret)" } }),
            }),
        }, catalog.Name);
        await CreateCustomAsync(Pipelines, "release", new JsonObject
        {
            ["params"] = new JsonArray(new JsonObject { ["name"] = "target", ["type"] = "string" }),
            ["tasks"] = new JsonArray(new JsonObject
            {
                ["name"] = "deploy",
                ["taskRef"] = ClusterRef(("kind", "task"), ("name", "deploy"), ("namespace", catalog.Name)),
                ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["value"] = "$(params.target)" }),
            }),
        }, catalog.Name);

        await CreateCustomAsync(PipelineRuns, "release-1", new JsonObject
        {
            ["pipelineRef"] = ClusterRef(("kind", "pipeline"), ("name", "release"), ("namespace", catalog.Name)),
            ["params"] = new JsonArray(new JsonObject { ["name"] = "target", ["value"] = passed }),
        });
        await kit.WaitUsedByAsync(passed, "PipelineRun release-1");

        await kit.DeleteAsync<PipelineCredential>(passed);
        await kit.DeleteAsync<PipelineCredential>(unused);
        await kit.WaitDeletionBlockedAsync(passed, "PipelineRun release-1");
        await kit.WaitDeletedWithSecretAsync(unused);
        (await kit.TryGetSecretAsync(passed)).Should().NotBeNull("the catalog's deploy task has yet to start and read it");

        await SetRunSucceededAsync(PipelineRuns, "release-1");
        await kit.WaitDeletedWithSecretAsync(passed);
    }

    /// <summary>
    /// A run whose cluster resolver reference names a namespace that does not exist (a typo, a catalog not installed
    /// yet): every deletion waits while the operator lists that namespace's Tasks and Pipelines, and the API server
    /// answers such a list with no items, so no deletion waits for long, in the run's namespace or any other.
    /// </summary>
    [Fact]
    public async Task A_run_naming_a_catalog_namespace_that_does_not_exist_holds_no_deletion()
    {
        await using var crds = await engines.InstallMissingCrdsAsync(PipelineRuns, TaskRuns, Tasks, Pipelines);
        await run.StopOperatorAsync();
        await run.StartOperatorAsync(everyNamespace: true);
        var named = await kit.CreateReadyTokenCredentialAsync("typo-named", Token);
        var unused = await kit.CreateReadyTokenCredentialAsync("typo-unused", Token);

        // The run also names one Secret itself: once the operator shows it among that Secret's users, it has read
        // the run, and so has started listing the namespace the run names.
        await CreateCustomAsync(PipelineRuns, "typo-1", new JsonObject
        {
            ["pipelineRef"] = ClusterRef(("kind", "pipeline"), ("name", "release"), ("namespace", "no-such-catalog-7f3c")),
            ["workspaces"] = new JsonArray(new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = named } }),
        });
        await kit.WaitUsedByAsync(named, "PipelineRun typo-1");

        await kit.DeleteAsync<PipelineCredential>(unused);
        await kit.DeleteAsync<PipelineCredential>(named);
        await kit.WaitDeletedWithSecretAsync(unused);
        await kit.WaitDeletionBlockedAsync(named, "PipelineRun typo-1");

        await SetRunSucceededAsync(PipelineRuns, "typo-1");
        await kit.WaitDeletedWithSecretAsync(named);
    }

    private static JsonObject ClusterRef(params (string Name, string Value)[] parameters) => new()
    {
        ["resolver"] = "cluster",
        ["params"] = new JsonArray([.. parameters.Select(p => (JsonNode)new JsonObject { ["name"] = p.Name, ["value"] = p.Value })]),
    };

    private Task CreateCustomAsync(ResourceDescriptor resource, string name, JsonObject spec, string? @namespace = null) =>
        engines.CreateAsync(resource, @namespace ?? run.Namespace, name, spec);

    private Task SetRunSucceededAsync(ResourceDescriptor runs, string name) => engines.SetRunSucceededAsync(runs, run.Namespace, name);
}
