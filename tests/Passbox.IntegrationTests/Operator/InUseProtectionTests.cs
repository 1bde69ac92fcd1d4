using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Hosting;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.Watching;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The in-use finalizer end to end: the real operator, a credential whose generated Secret something uses, and a
/// deletion that waits for the last user. The control plane runs no controllers, so the users (Pods, workloads,
/// Tekton runs) are created directly, with whatever status the case needs. Credentials are SecretText
/// PipelineCredentials without a probe: Ready at once, no server needed.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class InUseProtectionTests(ControlPlaneFixture controlPlane, ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "in-use-token-8d0c1f";
    private const string UnblockRunsVariable = "PASSBOX_UNBLOCK_RUNS";
    private static readonly ResourceDescriptor PipelineRuns = PipelineEngineCrds.PipelineRuns;
    private static readonly ResourceDescriptor TaskRuns = PipelineEngineCrds.TaskRuns;
    private static readonly ResourceDescriptor Workflows = PipelineEngineCrds.Workflows;
    private static readonly ResourceDescriptor Tasks = PipelineEngineCrds.Tasks;
    private static readonly ResourceDescriptor Pipelines = PipelineEngineCrds.Pipelines;
    private static readonly ResourceDescriptor CronWorkflows = PipelineEngineCrds.CronWorkflows;
    private static readonly ResourceDescriptor WorkflowTemplates = PipelineEngineCrds.WorkflowTemplates;
    private static readonly ResourceDescriptor ClusterWorkflowTemplates = PipelineEngineCrds.ClusterWorkflowTemplates;
    private static readonly ResourceDescriptor Rollouts = PipelineEngineCrds.Rollouts;

    private readonly Kubernetes admin = controlPlane.Admin;
    private readonly PipelineEngineObjects engines = new(controlPlane);
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "inuse");
        run.MarkSecret(Token);
        kit = run.Kit;

        // Pods name a ServiceAccount; no controller creates "default" here.
        await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "default" } }, run.Namespace);
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    [Fact]
    public async Task A_running_Pod_blocks_deletion_through_every_kind_of_Secret_reference()
    {
        var cases = new Dictionary<string, Func<string, V1PodSpec>>
        {
            ["volume"] = secret => new V1PodSpec { Containers = [Container()], Volumes = [new V1Volume { Name = "s", Secret = new V1SecretVolumeSource { SecretName = secret } }] },
            ["env"] = secret => new V1PodSpec { Containers = [Container(env: secret)] },
            ["envfrom"] = secret => new V1PodSpec { Containers = [Container(envFrom: secret)] },
            ["projected"] = secret => new V1PodSpec
            {
                Containers = [Container()],
                Volumes = [new V1Volume { Name = "p", Projected = new V1ProjectedVolumeSource { Sources = [new V1VolumeProjection { Secret = new V1SecretProjection { Name = secret } }] } }],
            },
            ["pull"] = secret => new V1PodSpec { Containers = [Container()], ImagePullSecrets = [new V1LocalObjectReference { Name = secret }] },
            ["init"] = secret => new V1PodSpec { Containers = [Container()], InitContainers = [Container(env: secret)] },

            // A cluster adds ephemeral containers (kubectl debug) through the pods/ephemeralcontainers subresource, which
            // the test control plane does not serve; the Pod the operator watches looks the same either way.
            ["ephemeral"] = secret => new V1PodSpec
            {
                Containers = [Container()],
                EphemeralContainers = [new V1EphemeralContainer { Name = "debug", Image = "busybox", EnvFrom = [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = secret } }] }],
            },
        };

        await Task.WhenAll(cases.Select(c => BlocksUntilRemovedAsync(
            $"pod-{c.Key}",
            UsageUserOf("Pod", $"app-{c.Key}"),
            secret => CreatePodAsync($"app-{c.Key}", c.Value(secret)),
            () => DeletePodAsync($"app-{c.Key}"))));
    }

    /// <summary>
    /// The operator follows Pods only in namespaces that hold a credential, and this test's namespace held none when
    /// the Pod came: the first credential must make the operator list the Pods already there.
    /// </summary>
    [Fact]
    public async Task A_Pod_that_was_there_before_the_namespaces_first_credential_blocks_its_deletion()
    {
        const string credential = "early-bird";
        await CreatePodAsync("early-app", PodUsing(credential));
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // The operator has seen the Pod arrive, and dropped it.

        await kit.CreateReadyTokenCredentialAsync(credential, Token);
        await kit.WaitUsedByAsync(credential, "Pod early-app");

        await kit.DeleteAsync<PipelineCredential>(credential);
        await kit.WaitDeletionBlockedAsync(credential, "Pod early-app");
        await DeletePodAsync("early-app");
        await kit.WaitDeletedWithSecretAsync(credential);
    }

    /// <summary>
    /// Namespaces come and go with their credentials (a CI namespace per branch): once the last credential of a namespace
    /// is gone, the operator stops holding its Pods and ServiceAccounts, and the source Secrets its credentials read (their
    /// identity, and the copy of their data) though the Secrets stay; a credential created there again is guarded as a
    /// first one: the Pod that came while nobody followed the namespace holds up its deletion.
    /// </summary>
    [Fact]
    public async Task Namespaces_left_without_credentials_are_no_longer_followed_and_a_credential_created_again_sees_its_users()
    {
        const int count = 20;
        await run.StopOperatorAsync();
        await run.StartOperatorAsync(everyNamespace: true);
        var namespaces = new List<TestNamespace>();
        var watched = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            for (var i = 0; i < count; i++)
            {
                namespaces.Add(await controlPlane.CreateNamespaceAsync("scope"));
                watched.Add(namespaces[^1].Name);
            }

            var baseline = await ClusterTestKit.EventuallyAsync(() => Task.FromResult(HeldByOperator(watched)), cached => cached is not null, "the usage informers to list");
            output.WriteLine($"cached before: {baseline}");

            var kits = namespaces.Select(ns => new ClusterTestKit(controlPlane, ns.Name)).ToList();
            await Task.WhenAll(kits.Select(async k =>
            {
                await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = new V1ObjectMeta { Name = "default" } }, k.Namespace);
                await k.CreateReadyTokenCredentialAsync("ci-token", Token);
                await admin.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = Meta("ci-job"), Spec = PodUsing("unrelated") }, k.Namespace);
            }));
            var followed = await ClusterTestKit.EventuallyAsync(() => Task.FromResult(HeldByOperator(watched)),
                // The source Secrets are held from the credentials' reads, and a copy of their data may be let go at the
                // Secret's own (late) event: their counts are shown, not waited for.
                cached => cached?.Pods == baseline!.Pods + count && cached.ServiceAccounts == baseline.ServiceAccounts + count,
                "the Pods and ServiceAccounts of the credentials' namespaces to be held");
            output.WriteLine($"cached with {count} namespaces in scope: {followed}");

            await Task.WhenAll(kits.Select(async k =>
            {
                await k.DeleteAsync<PipelineCredential>("ci-token");
                await k.WaitDeletedWithSecretAsync("ci-token");
            }));
            var after = await ClusterTestKit.EventuallyAsync(() => Task.FromResult(HeldByOperator(watched)), cached => cached == baseline,
                "the objects of namespaces without credentials, and the sources they read, to be dropped");
            output.WriteLine($"cached after the credentials went: {after}");

            // While nobody follows the namespace, a Pod that will use the next credential arrives; then the credential.
            var again = kits[0];
            await admin.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = Meta("ci-job-2"), Spec = PodUsing("ci-token-2") }, again.Namespace);
            await Task.Delay(TimeSpan.FromMilliseconds(500)); // The operator has seen the Pod arrive, and passed it over.
            await again.CreateReadyTokenCredentialAsync("ci-token-2", Token);
            await again.WaitUsedByAsync("ci-token-2", "Pod ci-job-2");
            await again.DeleteAsync<PipelineCredential>("ci-token-2");
            await again.WaitDeletionBlockedAsync("ci-token-2", "Pod ci-job-2");

            using var deleted = await controlPlane.AdminApi.SendAsync(
                HttpMethod.Delete, ResourceDescriptor.Pods.ItemPath(new ObjectKey(again.Namespace, "ci-job-2")) + "?gracePeriodSeconds=0", null, "application/json", false, CancellationToken.None);
            await KubernetesApiClient.EnsureSuccessAsync(deleted, CancellationToken.None);
            await again.WaitDeletedWithSecretAsync("ci-token-2");
            await ClusterTestKit.EventuallyAsync(() => Task.FromResult(HeldByOperator(watched)), cached => cached == baseline, "the namespace to be dropped again");
        }
        finally
        {
            foreach (var ns in namespaces)
            {
                await ns.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_finished_Pod_does_not_block_deletion_and_a_Pod_that_finishes_releases_it()
    {
        var done = await kit.CreateReadyTokenCredentialAsync("finished", Token);
        await CreatePodAsync("batch-done", PodUsing(done));
        await kit.WaitUsedByAsync(done, "Pod batch-done");
        await admin.CoreV1.PatchNamespacedPodStatusAsync(MergePatch(new { status = new { phase = "Succeeded" } }), "batch-done", run.Namespace);
        await WaitUsedByCountAsync(done, 0); // A Succeeded Pod runs nothing any more: the status stops naming it.

        // Pending for a moment, then Succeeded: the second status write can come before the watch brought back the first
        // one, and must still land (the cache alone would call it unchanged and keep naming the Pod).
        await CreatePodAsync("batch-quick", PodUsing(done), phase: "Succeeded");
        await WaitUsedByCountAsync(done, 0);

        var running = await kit.CreateReadyTokenCredentialAsync("finishing", Token);
        await CreatePodAsync("batch-running", PodUsing(running));
        await kit.WaitUsedByAsync(running, "Pod batch-running");
        await kit.DeleteAsync<PipelineCredential>(done);
        await kit.WaitDeletedWithSecretAsync(done);

        await kit.DeleteAsync<PipelineCredential>(running);
        await kit.WaitDeletionBlockedAsync(running, "Pod batch-running");
        await admin.CoreV1.PatchNamespacedPodStatusAsync(MergePatch(new { status = new { phase = "Succeeded" } }), "batch-running", run.Namespace);
        await kit.WaitDeletedWithSecretAsync(running);
    }

    [Fact]
    public async Task Workload_pod_templates_block_deletion_even_with_no_Pod_running()
    {
        await Task.WhenAll(
            BlocksUntilRemovedAsync(
                "wl-deploy",
                UsageUserOf("Deployment", "web"),
                secret => admin.AppsV1.CreateNamespacedDeploymentAsync(
                    new V1Deployment { Metadata = Meta("web"), Spec = new V1DeploymentSpec { Selector = Selector("web"), Template = Template("web", PodUsing(secret)) } }, run.Namespace),
                () => admin.AppsV1.DeleteNamespacedDeploymentAsync("web", run.Namespace)),
            BlocksUntilRemovedAsync(
                "wl-sts",
                UsageUserOf("StatefulSet", "db"),
                secret => admin.AppsV1.CreateNamespacedStatefulSetAsync(
                    new V1StatefulSet { Metadata = Meta("db"), Spec = new V1StatefulSetSpec { ServiceName = "db", Selector = Selector("db"), Template = Template("db", PodUsing(secret)) } }, run.Namespace),
                () => admin.AppsV1.DeleteNamespacedStatefulSetAsync("db", run.Namespace)),
            BlocksUntilRemovedAsync(
                "wl-ds",
                UsageUserOf("DaemonSet", "agent"),
                secret => admin.AppsV1.CreateNamespacedDaemonSetAsync(
                    new V1DaemonSet { Metadata = Meta("agent"), Spec = new V1DaemonSetSpec { Selector = Selector("agent"), Template = Template("agent", PodUsing(secret)) } }, run.Namespace),
                () => admin.AppsV1.DeleteNamespacedDaemonSetAsync("agent", run.Namespace)),
            BlocksUntilRemovedAsync(
                "wl-rs",
                UsageUserOf("ReplicaSet", "worker"),
                secret => admin.AppsV1.CreateNamespacedReplicaSetAsync(
                    new V1ReplicaSet { Metadata = Meta("worker"), Spec = new V1ReplicaSetSpec { Replicas = 0, Selector = Selector("worker"), Template = Template("worker", PodUsing(secret)) } }, run.Namespace),
                () => admin.AppsV1.DeleteNamespacedReplicaSetAsync("worker", run.Namespace)),
            BlocksUntilRemovedAsync(
                "wl-job",
                UsageUserOf("Job", "migrate"),
                secret => admin.BatchV1.CreateNamespacedJobAsync(
                    new V1Job { Metadata = Meta("migrate"), Spec = new V1JobSpec { Template = Template(null, PodUsing(secret, "Never")) } }, run.Namespace),
                () => admin.BatchV1.DeleteNamespacedJobAsync("migrate", run.Namespace)),
            BlocksUntilRemovedAsync(
                "wl-cron",
                UsageUserOf("CronJob", "nightly"),
                secret => admin.BatchV1.CreateNamespacedCronJobAsync(
                    new V1CronJob
                    {
                        Metadata = Meta("nightly"),
                        Spec = new V1CronJobSpec
                        {
                            Schedule = "0 3 * * *",
                            JobTemplate = new V1JobTemplateSpec { Spec = new V1JobSpec { Template = Template(null, PodUsing(secret, "Never")) } },
                        },
                    }, run.Namespace),
                () => admin.BatchV1.DeleteNamespacedCronJobAsync("nightly", run.Namespace)));
    }

    [Fact]
    public async Task A_renamed_Secret_stays_while_a_workload_still_uses_the_old_name_and_goes_once_unused()
    {
        var old = await kit.CreateReadyTokenCredentialAsync("renamed", Token);
        await admin.AppsV1.CreateNamespacedDeploymentAsync(
            new V1Deployment { Metadata = Meta("web"), Spec = new V1DeploymentSpec { Selector = Selector("web"), Template = Template("web", PodUsing(old)) } }, run.Namespace);
        await kit.WaitUsedByAsync("renamed", "Deployment web");

        await kit.PatchAsync<PipelineCredential>("renamed", new { spec = new { secret = new { name = "renamed-v2" } } });
        await kit.WaitForSecretAsync("renamed-v2");
        var kept = await ClusterTestKit.EventuallyAsync(
            async () => (await kit.GetAsync<PipelineCredential>("renamed"))!,
            c => c.Status?.SecretName == "renamed-v2"
                && c.Status.Conditions?.Find(x => x.Type == ConditionTypes.SecretSynced)?.Message.Contains(
                    "Secret renamed (the previous name) stays while Deployment web uses it", StringComparison.Ordinal) == true,
            "the credential to publish under the new name and say why the old Secret stays");
        kept.Status!.UsedBy!.Items.Should().ContainSingle(i => i.Kind == "Deployment" && i.Name == "web", "the old Secret's users are the credential's users");
        (await kit.TryGetSecretAsync(old)).Should().NotBeNull("new Pods of Deployment web still mount the old name");

        await admin.AppsV1.DeleteNamespacedDeploymentAsync("web", run.Namespace);
        await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync(old), secret => secret is null, "the old Secret to go once nothing uses it");
        (await kit.TryGetSecretAsync("renamed-v2")).Should().NotBeNull();
        await kit.WaitForConditionAsync<PipelineCredential>("renamed", ConditionTypes.Ready, "True");
    }

    [Fact]
    public async Task A_credential_whose_old_Secret_is_still_used_waits_for_that_user_before_it_goes()
    {
        var old = await kit.CreateReadyTokenCredentialAsync("moved", Token);
        await kit.PatchAsync<PipelineCredential>("moved", new { spec = new { secret = new { name = "moved-v2" } } });
        await kit.WaitForSecretAsync("moved-v2");
        await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync(old), secret => secret is null, "an unused old Secret to go at once");

        await CreatePodAsync("reader", PodUsing("moved-v2"));
        await kit.PatchAsync<PipelineCredential>("moved", new { spec = new { secret = new { name = "moved-v3" } } });
        await kit.WaitForSecretAsync("moved-v3");

        await kit.DeleteAsync<PipelineCredential>("moved");
        await kit.WaitDeletionBlockedAsync("moved", "Pod reader");
        (await kit.TryGetSecretAsync("moved-v2")).Should().NotBeNull("Pod reader mounts it");

        await DeletePodAsync("reader");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>("moved"), c => c is null, "moved to be deleted");
    }

    [Fact]
    public async Task ServiceAccount_secrets_and_imagePullSecrets_block_deletion()
    {
        await Task.WhenAll(
            BlocksUntilRemovedAsync(
                "sa-secrets",
                UsageUserOf("ServiceAccount", "deployer"),
                secret => admin.CoreV1.CreateNamespacedServiceAccountAsync(
                    new V1ServiceAccount { Metadata = Meta("deployer"), Secrets = [new V1ObjectReference { Name = secret }] }, run.Namespace),
                () => admin.CoreV1.DeleteNamespacedServiceAccountAsync("deployer", run.Namespace)),
            BlocksUntilRemovedAsync(
                "sa-pull",
                UsageUserOf("ServiceAccount", "puller"),
                secret => admin.CoreV1.CreateNamespacedServiceAccountAsync(
                    new V1ServiceAccount { Metadata = Meta("puller"), ImagePullSecrets = [new V1LocalObjectReference { Name = secret }] }, run.Namespace),
                // Taking the Secret off the list releases it as well as deleting the ServiceAccount would.
                () => admin.CoreV1.PatchNamespacedServiceAccountAsync(MergePatch(new { imagePullSecrets = Array.Empty<object>() }), "puller", run.Namespace)));
    }

    /// <summary>
    /// The annotation counts on every kind the operator watches (Pods, workloads, ServiceAccounts, Tekton runs, Argo
    /// Workflows). ConfigMaps and other kinds are not watched, so an annotation on them is not seen.
    /// </summary>
    [Fact]
    public async Task The_uses_annotation_blocks_deletion_on_watched_kinds()
    {
        await Task.WhenAll(
            BlocksUntilRemovedAsync(
                "ann-pod",
                UsageUserOf("Pod", "reader"),
                _ => CreatePodAsync("reader", new V1PodSpec { Containers = [Container()] }, annotations: Uses("unrelated, ann-pod")),
                () => DeletePodAsync("reader")),
            BlocksUntilRemovedAsync(
                "ann-deploy",
                UsageUserOf("Deployment", "api-client"),
                _ => admin.AppsV1.CreateNamespacedDeploymentAsync(
                    new V1Deployment
                    {
                        Metadata = Meta("api-client", Uses("ann-deploy")),
                        Spec = new V1DeploymentSpec { Selector = Selector("api-client"), Template = Template("api-client", new V1PodSpec { Containers = [Container()] }) },
                    }, run.Namespace),
                // Dropping the annotation is enough.
                () => admin.AppsV1.PatchNamespacedDeploymentAsync(
                    MergePatch(new { metadata = new { annotations = new Dictionary<string, string?> { [ApiGroup.UsesAnnotation] = null } } }), "api-client", run.Namespace)),
            BlocksUntilRemovedAsync(
                "ann-sa",
                UsageUserOf("ServiceAccount", "robot"),
                _ => admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = Meta("robot", Uses("ann-sa")) }, run.Namespace),
                () => admin.CoreV1.DeleteNamespacedServiceAccountAsync("robot", run.Namespace)));
    }

    [Fact]
    public async Task UsedBy_follows_users_as_they_come_and_go()
    {
        var secret = await kit.CreateReadyTokenCredentialAsync("shared", Token);
        await WaitUsedByCountAsync(secret, 0);

        for (var i = 0; i < 7; i++)
        {
            await CreatePodAsync($"user-{i}", PodUsing(secret));
        }

        var seven = await WaitUsedByCountAsync(secret, 7);
        seven.Status!.UsedBy!.Items!.Select(u => $"{u.Kind} {u.Name}").Should().Equal("Pod user-0", "Pod user-1", "Pod user-2", "Pod user-3", "Pod user-4");

        await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = Meta("lister"), Secrets = [new V1ObjectReference { Name = secret }] }, run.Namespace);
        await WaitUsedByCountAsync(secret, 8);

        for (var i = 0; i < 7; i++)
        {
            await DeletePodAsync($"user-{i}");
        }

        var one = await WaitUsedByCountAsync(secret, 1);
        one.Status!.UsedBy!.Items.Should().ContainSingle(u => u.Kind == "ServiceAccount" && u.Name == "lister");
        await admin.CoreV1.DeleteNamespacedServiceAccountAsync("lister", run.Namespace);
        var none = await WaitUsedByCountAsync(secret, 0);
        none.Status!.UsedBy!.Items.Should().BeNullOrEmpty();
    }

    /// <summary>
    /// The Tekton CRDs are created after the operator started, so the operator must notice them; the restart in the
    /// middle shows a CRD found at start is synced before any deletion is decided.
    /// </summary>
    [Fact]
    public async Task Tekton_runs_block_deletion_while_running_including_through_their_ServiceAccount()
    {
        const string workspace = "tekton-ws", throughAccount = "tekton-sa", step = "tekton-step", resolved = "tekton-resolved", podEnv = "tekton-podenv";
        await using var crds = await engines.InstallMissingCrdsAsync(PipelineRuns, TaskRuns);
        await BlocksUntilRemovedAsync(
            [
                new(workspace, "PipelineRun build-1"),

                // build-2 is a user through the ServiceAccount that lists the Secret.
                new(throughAccount, "PipelineRun build-2", "ServiceAccount builder"),
                new(step, "TaskRun unit-1"),
                new(resolved, "TaskRun unit-2"),
                new(podEnv, "PipelineRun build-2"),
            ],
            createUsers: async () =>
            {
                await admin.CoreV1.CreateNamespacedServiceAccountAsync(new V1ServiceAccount { Metadata = Meta("builder"), Secrets = [new V1ObjectReference { Name = throughAccount }] }, run.Namespace);
                await kit.WaitUsedByAsync(throughAccount, "ServiceAccount builder");

                await CreateCustomAsync(PipelineRuns, "build-1", new JsonObject
                {
                    ["pipelineRef"] = new JsonObject { ["name"] = "build" },
                    ["workspaces"] = SecretWorkspace(workspace),
                });
                await CreateCustomAsync(PipelineRuns, "build-2", new JsonObject
                {
                    ["pipelineRef"] = new JsonObject { ["name"] = "build" },
                    ["taskRunTemplate"] = new JsonObject
                    {
                        ["serviceAccountName"] = "builder",

                        // Tekton sets the pod template's env in every step of the run's Pods.
                        ["podTemplate"] = new JsonObject { ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv(podEnv))) },
                    },
                });
                await CreateCustomAsync(TaskRuns, "unit-1", new JsonObject
                {
                    ["taskSpec"] = new JsonObject
                    {
                        ["steps"] = new JsonArray(new JsonObject
                        {
                            ["name"] = "test",
                            ["image"] = "registry.invalid/test:1",
                            ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv(step))),
                        }),
                    },
                });

                // unit-2 refers to its Task; the Secret shows only in the spec Tekton resolves into the status, after creation.
                await CreateCustomAsync(TaskRuns, "unit-2", new JsonObject { ["taskRef"] = new JsonObject { ["name"] = "integration" } });
                await SetRunResolvedAsync(TaskRuns, "unit-2", "taskSpec", new JsonObject
                {
                    ["steps"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "test",
                        ["image"] = "registry.invalid/test:1",
                        ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv(resolved))),
                    }),
                });
            },
            removeUsers: async () =>
            {
                await run.RestartOperatorAsync();
                await run.Host.WaitForReconcileAsync(PipelineCredential.KindName, run.Namespace, workspace);
                (await kit.GetAsync<PipelineCredential>(workspace)).Should().NotBeNull("the restarted operator indexes the runs before it decides a deletion");
                await kit.WaitDeletionBlockedAsync(workspace, "PipelineRun build-1");

                await SetRunSucceededAsync(PipelineRuns, "build-2");
                var onlyAccount = await WaitUsedByCountAsync(throughAccount, 1);
                onlyAccount.Status!.UsedBy!.Items.Should().ContainSingle(u => u.Kind == "ServiceAccount" && u.Name == "builder");
                await kit.WaitDeletedWithSecretAsync(podEnv);

                await SetRunSucceededAsync(PipelineRuns, "build-1");
                await SetRunSucceededAsync(TaskRuns, "unit-1");
                await SetRunSucceededAsync(TaskRuns, "unit-2");
                await admin.CoreV1.DeleteNamespacedServiceAccountAsync("builder", run.Namespace);
            });
    }

    [Fact]
    public async Task Runs_stop_counting_when_the_Tekton_CRD_is_deleted()
    {
        if (await engines.TryGetCrdAsync(PipelineEngineCrds.For(PipelineRuns).Metadata.Name) is not null)
        {
            return; // A real Tekton installation: not ours to delete.
        }

        await using (await engines.InstallMissingCrdsAsync(PipelineRuns))
        {
            var secret = await kit.CreateReadyTokenCredentialAsync("tekton-gone", Token);
            await CreateCustomAsync(PipelineRuns, "deploy", new JsonObject
            {
                ["workspaces"] = SecretWorkspace(secret),
            });
            await kit.WaitUsedByAsync(secret, "PipelineRun deploy");
        }

        await WaitUsedByCountAsync("tekton-gone", 0);
        await kit.DeleteAsync<PipelineCredential>("tekton-gone");
        await kit.WaitDeletedWithSecretAsync("tekton-gone");
    }

    /// <summary>
    /// A Tekton too old to serve <c>tekton.dev/v1</c>: its runs cannot be listed, which must not keep the operator from
    /// starting its controllers. Once an upgrade serves v1, runs are watched.
    /// </summary>
    [Fact]
    public async Task A_Tekton_CRD_without_v1_does_not_hold_the_operator_back_and_is_watched_once_upgraded()
    {
        var crd = PipelineEngineCrds.For(PipelineRuns);
        if (await engines.TryGetCrdAsync(crd.Metadata.Name) is not null)
        {
            return; // A real Tekton installation: not ours to change.
        }

        var v1beta1 = ControlPlaneTestCrd.Build(PipelineRuns.Group, PipelineRuns.Plural, PipelineRuns.Kind, "v1beta1").Spec.Versions[0];
        await controlPlane.ApplyCrdAsync(ControlPlaneTestCrd.Build(PipelineRuns.Group, PipelineRuns.Plural, PipelineRuns.Kind, "v1beta1"));
        try
        {
            // Found at start by the restarted operator, which must not wait for runs it cannot list.
            await run.RestartOperatorAsync();
            var secret = await kit.CreateReadyTokenCredentialAsync("tekton-old", Token);
            run.Host.LogLines.Should().Contain(line => line.Contains("does not serve version v1", StringComparison.Ordinal));

            v1beta1.Storage = false;
            crd.Spec.Versions = [v1beta1, .. crd.Spec.Versions];
            await controlPlane.ApplyCrdAsync(crd);
            await CreateCustomAsync(PipelineRuns, "late", new JsonObject
            {
                ["workspaces"] = SecretWorkspace(secret),
            });
            await kit.WaitUsedByAsync(secret, "PipelineRun late");
        }
        finally
        {
            await engines.DeleteCrdAsync(crd.Metadata.Name);
        }
    }

    /// <summary>The Argo CRD, like Tekton's, appears after the operator started.</summary>
    [Fact]
    public async Task An_Argo_Workflow_blocks_deletion_until_it_finishes()
    {
        const string env = "argo-env", pull = "argo-pull", git = "argo-git", patched = "argo-patched";
        await using var crds = await engines.InstallMissingCrdsAsync(Workflows);
        await BlocksUntilRemovedAsync(
            [new(env, "Workflow etl"), new(pull, "Workflow etl"), new(git, "Workflow etl"), new(patched, "Workflow etl")],
            createUsers: () => CreateCustomAsync(Workflows, "etl", new JsonObject
            {
                ["entrypoint"] = "main",
                ["arguments"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(new JsonObject { ["name"] = "hook-secret", ["value"] = patched }),
                },
                ["imagePullSecrets"] = new JsonArray(new JsonObject { ["name"] = pull }),
                ["templates"] = new JsonArray(
                    new JsonObject
                    {
                        ["name"] = "main",
                        ["container"] = new JsonObject
                        {
                            ["image"] = "registry.invalid/etl:1",
                            ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv(env))),
                        },
                    },
                    new JsonObject
                    {
                        // The controller clones the repository for this step with the Secret; no container names it.
                        ["name"] = "checkout",
                        ["inputs"] = new JsonObject
                        {
                            ["artifacts"] = new JsonArray(new JsonObject
                            {
                                ["name"] = "source",
                                ["path"] = "/src",
                                ["git"] = new JsonObject
                                {
                                    ["repo"] = "https://git.invalid/etl.git",
                                    ["passwordSecret"] = new JsonObject { ["name"] = git, ["key"] = "token" },
                                },
                            }),
                        },
                        ["container"] = new JsonObject { ["image"] = "registry.invalid/etl:1" },
                    },
                    new JsonObject
                    {
                        // Only the pod spec patch mounts this Secret, named through a workflow parameter.
                        ["name"] = "notify",
                        ["container"] = new JsonObject { ["image"] = "registry.invalid/notify:1" },
                        ["podSpecPatch"] = "volumes:\n  - name: hook\n    secret:\n      secretName: {{workflow.parameters.hook-secret}}\n",
                    }),
            }),
            removeUsers: () => SetWorkflowPhaseAsync("etl", "Succeeded"));
    }

    /// <summary>
    /// A Secret that only a Task names, the Task run by name from a Pipeline: Tekton creates the Task's TaskRun (and
    /// resolves its spec) only when its turn comes, so until then only the PipelineRun → Pipeline → Task chain says the
    /// run will use the Secret. The Task itself, run by nothing, keeps no Secret.
    /// </summary>
    [Fact]
    public async Task A_Secret_named_only_by_a_Task_of_a_running_PipelineRuns_Pipeline_is_kept_until_the_run_finishes()
    {
        const string later = "tekton-later-task", byTaskRun = "tekton-taskref", idle = "tekton-idle-task";
        await using var crds = await engines.InstallMissingCrdsAsync(PipelineRuns, TaskRuns, Tasks, Pipelines);
        await BlocksUntilRemovedAsync(
            [new(later, "PipelineRun release-1"), new(byTaskRun, "TaskRun unit-1"), new(idle)],
            createUsers: async () =>
            {
                await CreateCustomAsync(Tasks, "deploy", TaskSpecUsing(later));
                await CreateCustomAsync(Tasks, "unit", TaskSpecUsing(byTaskRun));
                await CreateCustomAsync(Tasks, "unused", TaskSpecUsing(idle));
                await CreateCustomAsync(Pipelines, "release", new JsonObject
                {
                    ["tasks"] = new JsonArray(
                        new JsonObject { ["name"] = "clone", ["taskRef"] = new JsonObject { ["name"] = "git-clone" } },
                        new JsonObject { ["name"] = "deploy", ["runAfter"] = new JsonArray("clone"), ["taskRef"] = new JsonObject { ["name"] = "deploy" } }),
                });

                // Just created: Tekton has not resolved the Pipeline into the status yet.
                await CreateCustomAsync(PipelineRuns, "release-1", new JsonObject { ["pipelineRef"] = new JsonObject { ["name"] = "release" } });
                await CreateCustomAsync(TaskRuns, "unit-1", new JsonObject { ["taskRef"] = new JsonObject { ["name"] = "unit" } });
                await kit.WaitUsedByAsync(later, "PipelineRun release-1");

                // Running: the Pipeline resolved into the status still names its deploy Task by reference, whose TaskRun
                // does not exist yet.
                await SetRunResolvedAsync(PipelineRuns, "release-1", "pipelineSpec", new JsonObject
                {
                    ["tasks"] = new JsonArray(
                        new JsonObject { ["name"] = "clone", ["taskRef"] = new JsonObject { ["name"] = "git-clone", ["kind"] = "Task" } },
                        new JsonObject { ["name"] = "deploy", ["runAfter"] = new JsonArray("clone"), ["taskRef"] = new JsonObject { ["name"] = "deploy", ["kind"] = "Task" } }),
                });
            },
            removeUsers: async () =>
            {
                await SetRunSucceededAsync(PipelineRuns, "release-1");
                await SetRunSucceededAsync(TaskRuns, "unit-1");
            });
    }

    /// <summary>
    /// A Secret whose name only a run's parameters give, passed down to a Task the run names by reference (through its
    /// Pipeline, or directly): Tekton has resolved nothing into the status yet, so only the run's params, the pipeline
    /// task's params and the Task's <c>$(params.x)</c> together say which Secret the Task will mount. The Task's default,
    /// which the run overrides, keeps nothing.
    /// </summary>
    [Fact]
    public async Task A_Secret_a_run_names_only_through_a_parameter_of_the_Task_it_refers_to_is_kept_until_the_run_finishes()
    {
        const string throughPipeline = "tekton-param-pipeline", throughTaskRun = "tekton-param-taskrun", overridden = "tekton-param-default";
        await using var crds = await engines.InstallMissingCrdsAsync(PipelineRuns, TaskRuns, Tasks, Pipelines);
        await BlocksUntilRemovedAsync(
            [new(throughPipeline, "PipelineRun release-with-1"), new(throughTaskRun, "TaskRun deploy-with-1"), new(overridden)],
            createUsers: async () =>
            {
                await CreateCustomAsync(Tasks, "deploy-with", new JsonObject
                {
                    ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["type"] = "string", ["default"] = overridden }),
                    ["steps"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "run",
                        ["image"] = "registry.invalid/tool:1",
                        ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv("$(params.secret)"))),
                    }),
                    ["volumes"] = new JsonArray(new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = "$(params.secret)" } }),
                });
                await CreateCustomAsync(Pipelines, "release-with", new JsonObject
                {
                    ["params"] = new JsonArray(new JsonObject { ["name"] = "target-secret", ["type"] = "string" }),
                    ["tasks"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "deploy",
                        ["taskRef"] = new JsonObject { ["name"] = "deploy-with" },
                        ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["value"] = "$(params.target-secret)" }),
                    }),
                });

                await CreateCustomAsync(PipelineRuns, "release-with-1", new JsonObject
                {
                    ["pipelineRef"] = new JsonObject { ["name"] = "release-with" },
                    ["params"] = new JsonArray(new JsonObject { ["name"] = "target-secret", ["value"] = throughPipeline }),
                });
                await CreateCustomAsync(TaskRuns, "deploy-with-1", new JsonObject
                {
                    ["taskRef"] = new JsonObject { ["name"] = "deploy-with" },
                    ["params"] = new JsonArray(new JsonObject { ["name"] = "secret", ["value"] = throughTaskRun }),
                });
            },
            removeUsers: async () =>
            {
                await SetRunSucceededAsync(PipelineRuns, "release-with-1");
                await SetRunSucceededAsync(TaskRuns, "deploy-with-1");
            });
    }

    /// <summary>
    /// The same for Argo, before the controller stored anything in the status: a Workflow's argument read by its
    /// WorkflowTemplate as <c>{{workflow.parameters.x}}</c>, and a step's argument read by the template its
    /// <c>templateRef</c> names as <c>{{inputs.parameters.x}}</c>.
    /// </summary>
    [Fact]
    public async Task A_Secret_a_Workflow_names_only_through_an_argument_of_its_WorkflowTemplate_is_kept_until_it_finishes()
    {
        const string global = "argo-param-global", input = "argo-param-input";
        await using var crds = await engines.InstallMissingCrdsAsync(Workflows, WorkflowTemplates);
        await BlocksUntilRemovedAsync(
            [new(global, "Workflow etl-with-1"), new(input, "Workflow load-1")],
            createUsers: async () =>
            {
                await CreateCustomAsync(WorkflowTemplates, "etl-with", new JsonObject
                {
                    ["entrypoint"] = "main",
                    ["templates"] = new JsonArray(
                        new JsonObject
                        {
                            ["name"] = "main",
                            ["container"] = new JsonObject
                            {
                                ["image"] = "registry.invalid/etl:1",
                                ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv("{{workflow.parameters.conn}}"))),
                            },
                        },
                        new JsonObject
                        {
                            ["name"] = "load",
                            ["inputs"] = new JsonObject { ["parameters"] = new JsonArray(new JsonObject { ["name"] = "secret" }) },
                            ["container"] = new JsonObject
                            {
                                ["image"] = "registry.invalid/load:1",
                                ["volumeMounts"] = new JsonArray(new JsonObject { ["name"] = "creds", ["mountPath"] = "/creds" }),
                            },
                            ["volumes"] = new JsonArray(new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = "{{inputs.parameters.secret}}" } }),
                        }),
                });
                await CreateCustomAsync(Workflows, "etl-with-1", new JsonObject
                {
                    ["workflowTemplateRef"] = new JsonObject { ["name"] = "etl-with" },
                    ["arguments"] = new JsonObject { ["parameters"] = new JsonArray(new JsonObject { ["name"] = "conn", ["value"] = global }) },
                });
                await CreateCustomAsync(Workflows, "load-1", new JsonObject
                {
                    ["entrypoint"] = "main",
                    ["templates"] = new JsonArray(new JsonObject
                    {
                        ["name"] = "main",
                        ["steps"] = new JsonArray(new JsonArray(new JsonObject
                        {
                            ["name"] = "load",
                            ["templateRef"] = new JsonObject { ["name"] = "etl-with", ["template"] = "load" },
                            ["arguments"] = new JsonObject { ["parameters"] = new JsonArray(new JsonObject { ["name"] = "secret", ["value"] = input }) },
                        })),
                    }),
                });
            },
            removeUsers: async () =>
            {
                await SetWorkflowPhaseAsync("etl-with-1", "Succeeded");
                await SetWorkflowPhaseAsync("load-1", "Succeeded");
            });
    }

    /// <summary>
    /// A CronWorkflow is a standing user, like a CronJob: what its Workflow spec names, and what the WorkflowTemplate it
    /// runs names, stays until the CronWorkflow is deleted. A Workflow that runs the WorkflowTemplate by name, before
    /// the controller stored the template's spec in its status, uses it too.
    /// </summary>
    [Fact]
    public async Task A_CronWorkflow_keeps_the_Secrets_of_its_spec_and_of_its_WorkflowTemplate_until_it_is_deleted()
    {
        const string inSpec = "argo-cron-spec", inTemplate = "argo-cron-template";
        await using var crds = await engines.InstallMissingCrdsAsync(Workflows, CronWorkflows, WorkflowTemplates);
        await BlocksUntilRemovedAsync(
            [new(inSpec, "CronWorkflow nightly-report"), new(inTemplate, "CronWorkflow nightly-etl", "Workflow etl-adhoc")],
            createUsers: async () =>
            {
                await CreateCustomAsync(WorkflowTemplates, "etl", WorkflowTemplateSpecUsing(inTemplate));
                await CreateCustomAsync(CronWorkflows, "nightly-report", new JsonObject
                {
                    ["schedule"] = "0 2 * * *",
                    ["workflowSpec"] = new JsonObject
                    {
                        ["entrypoint"] = "main",
                        ["volumes"] = new JsonArray(new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = inSpec } }),
                        ["templates"] = new JsonArray(new JsonObject { ["name"] = "main", ["container"] = new JsonObject { ["image"] = "registry.invalid/report:1" } }),
                    },
                });
                await CreateCustomAsync(CronWorkflows, "nightly-etl", new JsonObject
                {
                    ["schedule"] = "0 3 * * *",
                    ["workflowSpec"] = new JsonObject { ["workflowTemplateRef"] = new JsonObject { ["name"] = "etl" } },
                });
                await CreateCustomAsync(Workflows, "etl-adhoc", new JsonObject { ["workflowTemplateRef"] = new JsonObject { ["name"] = "etl" } });
            },
            removeUsers: async () =>
            {
                await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(CronWorkflows.Group, CronWorkflows.Version, run.Namespace, CronWorkflows.Plural, "nightly-report");
                await kit.WaitDeletedWithSecretAsync(inSpec);

                await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(CronWorkflows.Group, CronWorkflows.Version, run.Namespace, CronWorkflows.Plural, "nightly-etl");
                await kit.WaitDeletionBlockedAsync(inTemplate, "Workflow etl-adhoc");
                (await kit.TryGetSecretAsync(inTemplate)).Should().NotBeNull("the Workflow that runs the template has not finished");
                await SetWorkflowPhaseAsync("etl-adhoc", "Succeeded");
            });
    }

    /// <summary>
    /// A ClusterWorkflowTemplate belongs to no namespace; a Workflow or CronWorkflow runs it with <c>clusterScope: true</c>,
    /// and the Secrets it names are those of the run's namespace. Only an operator that watches every namespace (a
    /// cluster-wide installation) can read that cluster-scoped kind.
    /// </summary>
    [Fact]
    public async Task A_Secret_named_only_by_a_ClusterWorkflowTemplate_is_kept_while_a_Workflow_or_CronWorkflow_of_the_namespace_runs_it()
    {
        const string inTemplate = "argo-cluster-template", inHook = "argo-cluster-hook";
        await using var crds = await engines.InstallMissingCrdsAsync(Workflows, CronWorkflows, ClusterWorkflowTemplates);
        // Cluster-scoped names are shared by every test namespace: the run's own keeps them apart.
        var etl = $"etl-{run.Namespace}";
        var notifier = $"notifier-{run.Namespace}";
        try
        {
            await run.StopOperatorAsync();
            await run.StartOperatorAsync(everyNamespace: true);
            await BlocksUntilRemovedAsync(
                [new(inTemplate, "Workflow etl-shared"), new(inHook, "CronWorkflow nightly-shared")],
                createUsers: async () =>
                {
                    await CreateCustomAsync(ClusterWorkflowTemplates, etl, WorkflowTemplateSpecUsing(inTemplate));
                    await CreateCustomAsync(ClusterWorkflowTemplates, notifier, new JsonObject
                    {
                        ["templates"] = new JsonArray(new JsonObject
                        {
                            ["name"] = "notify",
                            ["container"] = new JsonObject { ["image"] = "registry.invalid/notify:1" },
                            ["volumes"] = new JsonArray(new JsonObject { ["name"] = "hook", ["secret"] = new JsonObject { ["secretName"] = inHook } }),
                        }),
                    });
                    await CreateCustomAsync(Workflows, "etl-shared", new JsonObject { ["workflowTemplateRef"] = new JsonObject { ["name"] = etl, ["clusterScope"] = true } });
                    await CreateCustomAsync(CronWorkflows, "nightly-shared", new JsonObject
                    {
                        ["schedule"] = "0 2 * * *",
                        ["workflowSpec"] = new JsonObject
                        {
                            ["entrypoint"] = "main",
                            ["hooks"] = new JsonObject
                            {
                                ["exit"] = new JsonObject { ["templateRef"] = new JsonObject { ["name"] = notifier, ["template"] = "notify", ["clusterScope"] = true } },
                            },
                            ["templates"] = new JsonArray(new JsonObject { ["name"] = "main", ["container"] = new JsonObject { ["image"] = "registry.invalid/report:1" } }),
                        },
                    });
                },
                removeUsers: async () =>
                {
                    await SetWorkflowPhaseAsync("etl-shared", "Succeeded");
                    await kit.WaitDeletedWithSecretAsync(inTemplate);
                    await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(CronWorkflows.Group, CronWorkflows.Version, run.Namespace, CronWorkflows.Plural, "nightly-shared");
                });
        }
        finally
        {
            await DeleteClusterObjectAsync(ClusterWorkflowTemplates, etl);
            await DeleteClusterObjectAsync(ClusterWorkflowTemplates, notifier);
        }
    }

    /// <summary>
    /// Installed for one namespace (a Role there), the operator cannot list a cluster-scoped kind: it says so once and
    /// goes on, and the <c>passbox.dev/uses</c> annotation on the Workflow protects what the ClusterWorkflowTemplate names.
    /// </summary>
    [Fact]
    public async Task An_operator_watching_one_namespace_leaves_ClusterWorkflowTemplates_alone_and_the_uses_annotation_covers_their_runs()
    {
        const string annotated = "argo-cluster-annotated";
        await using var crds = await engines.InstallMissingCrdsAsync(Workflows, ClusterWorkflowTemplates);
        await BlocksUntilRemovedAsync(
            annotated,
            "Workflow etl-annotated",
            secret => CreateCustomAsync(Workflows, "etl-annotated", new JsonObject
            {
                ["workflowTemplateRef"] = new JsonObject { ["name"] = "shared-etl", ["clusterScope"] = true },
            }, annotations: Uses(secret)),
            () => SetWorkflowPhaseAsync("etl-annotated", "Failed"));

        await ClusterTestKit.EventuallyAsync(
            () => Task.FromResult(run.Host.LogLines.Any(line => line.Contains("clusterworkflowtemplates.argoproj.io exists, but the operator watches namespace", StringComparison.Ordinal))),
            said => said,
            "the operator to say it does not read ClusterWorkflowTemplates");
        run.Host.LogLines.Should().NotContain(line => line.Contains("watching ClusterWorkflowTemplate objects", StringComparison.Ordinal));
    }

    /// <summary>
    /// An Argo Rollout is a Deployment in all but name: its pod template keeps a Secret even scaled to zero, and one
    /// that takes its template from a Deployment (<c>workloadRef</c>) counts among the users of what that template names.
    /// </summary>
    [Fact]
    public async Task An_Argo_Rollout_blocks_deletion_through_its_pod_template_or_the_Deployment_it_takes_it_from()
    {
        const string own = "rollout-template", referenced = "rollout-workload";
        await using var crds = await engines.InstallMissingCrdsAsync(Rollouts);
        await BlocksUntilRemovedAsync(
            [new(own, "Rollout orders-api"), new(referenced, "Deployment payments-api", "Rollout payments")],
            createUsers: async () =>
            {
                await CreateCustomAsync(Rollouts, "orders-api", new JsonObject
                {
                    ["replicas"] = 0,
                    ["selector"] = JsonNode.Parse(KubernetesJson.Serialize(Selector("orders-api"))),
                    ["strategy"] = new JsonObject { ["canary"] = new JsonObject { ["steps"] = new JsonArray(new JsonObject { ["setWeight"] = 20 }) } },
                    ["template"] = JsonNode.Parse(KubernetesJson.Serialize(Template("orders-api", PodUsing(own)))),
                });
                await admin.AppsV1.CreateNamespacedDeploymentAsync(
                    new V1Deployment { Metadata = Meta("payments-api"), Spec = new V1DeploymentSpec { Replicas = 0, Selector = Selector("payments-api"), Template = Template("payments-api", PodUsing(referenced)) } },
                    run.Namespace);
                await CreateCustomAsync(Rollouts, "payments", new JsonObject
                {
                    ["workloadRef"] = new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = "payments-api", ["scaleDown"] = "onsuccess" },
                });
            },
            removeUsers: async () =>
            {
                await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(Rollouts.Group, Rollouts.Version, run.Namespace, Rollouts.Plural, "orders-api");
                await kit.WaitDeletedWithSecretAsync(own);
                await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(Rollouts.Group, Rollouts.Version, run.Namespace, Rollouts.Plural, "payments");
                await kit.WaitUsedByAsync(referenced, "Deployment payments-api");
                await admin.AppsV1.DeleteNamespacedDeploymentAsync("payments-api", run.Namespace);
            });
    }

    [Fact]
    public async Task Force_delete_skips_the_wait_and_records_an_event()
    {
        var secret = await kit.CreateReadyTokenCredentialAsync("forced", Token);
        await CreatePodAsync("stubborn", PodUsing(secret));
        await kit.WaitUsedByAsync(secret, "Pod stubborn");
        await kit.DeleteAsync<PipelineCredential>(secret);
        await kit.WaitDeletionBlockedAsync(secret, "Pod stubborn");

        await kit.PatchAsync<PipelineCredential>(secret, new { metadata = new { annotations = new Dictionary<string, string> { [ApiGroup.ForceDeleteAnnotation] = "true" } } });

        await kit.WaitDeletedWithSecretAsync(secret);
        var events = await kit.WaitForEventsAsync(seen => seen.Any(e => e.Reason == "ForceDeleted"), "a ForceDeleted event");
        events.Should().Contain(e => e.Reason == "DeletionBlocked" && e.Type == "Warning" && e.Message.Contains("Pod stubborn", StringComparison.Ordinal));
        events.Should().Contain(e => e.Reason == "ForceDeleted" && e.Message.Contains("Pod stubborn", StringComparison.Ordinal));
    }

    /// <summary>
    /// A deletion held by a workload's Pods while they come and go (a rollout, a scale-down, a namespace being deleted):
    /// the condition follows every change, but one Warning says the deletion waits, not one per Pod. The message names
    /// the first users and counts the others, so each change made it new, and a thousand Pods made a thousand Warnings.
    /// </summary>
    [Fact]
    public async Task A_blocked_deletion_warns_once_however_often_its_users_change()
    {
        var secret = await kit.CreateReadyTokenCredentialAsync("churn", Token);
        var pods = Enumerable.Range(0, 8).Select(i => $"churn-{i}").ToList();
        foreach (var pod in pods)
        {
            await CreatePodAsync(pod, PodUsing(secret));
        }

        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>(secret), c => c?.Status?.UsedBy?.Count == pods.Count, "every Pod to be counted");
        await kit.DeleteAsync<PipelineCredential>(secret);
        await kit.WaitDeletionBlockedAsync(secret, "Pod churn-0");

        for (var i = 0; i < pods.Count - 1; i++)
        {
            await DeletePodAsync(pods[i]);
            var left = pods.Count - 1 - i;
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>(secret),
                c => c?.Status?.UsedBy?.Count == left
                    && c.Status.Conditions?.Find(x => x.Type == ConditionTypes.DeletionBlocked)?.Message.Contains(pods[i + 1], StringComparison.Ordinal) == true,
                $"the condition to name the {left} Pods left");
        }

        // Events are written in the background: give the ones the changes would have caused time to arrive.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var warnings = (await kit.EventsAsync())
            .Where(e => e.Reason == "DeletionBlocked" && e.InvolvedObject?.Name == secret)
            .ToList();
        warnings.Should().ContainSingle("the users changed, not why the deletion waits")
            .Which.Message.Should().Contain("Pod churn-0");
        run.Host.LogLines.Where(line => line.Contains($"Deletion of PipelineCredential {run.Namespace}/{secret} waits: InUse", StringComparison.Ordinal))
            .Should().ContainSingle("the log says why the deletion waits as the event does, once").Which.Should().Contain("Pod churn-0");

        await DeletePodAsync(pods[^1]);
        await kit.WaitDeletedWithSecretAsync(secret);
    }

    [Fact]
    public async Task A_blocked_deletion_survives_an_operator_restart_and_completes_when_the_user_goes()
    {
        await BlocksUntilRemovedAsync(
            "restart",
            "Pod holder",
            secret => CreatePodAsync("holder", PodUsing(secret)),
            async () =>
            {
                await run.RestartOperatorAsync();

                // Once the new operator has decided about the credential, a wrong release would have begun.
                await run.Host.WaitForReconcileAsync(PipelineCredential.KindName, run.Namespace, "restart");
                await kit.WaitDeletionBlockedAsync("restart", "Pod holder");
                (await kit.TryGetSecretAsync("restart")).Should().NotBeNull();

                await DeletePodAsync("holder");
            });
    }

    [Fact]
    public async Task A_credential_deleted_while_the_operator_is_down_is_released_or_blocked_by_the_next_one()
    {
        var unused = await kit.CreateReadyTokenCredentialAsync("down-unused", Token);
        var used = await kit.CreateReadyTokenCredentialAsync("down-used", Token);
        await CreatePodAsync("survivor", PodUsing(used));
        await kit.WaitUsedByAsync(used, "Pod survivor");

        await run.StopOperatorAsync();
        await kit.DeleteAsync<PipelineCredential>(unused);
        await kit.DeleteAsync<PipelineCredential>(used);
        foreach (var name in new[] { unused, used })
        {
            var waiting = await kit.GetAsync<PipelineCredential>(name);
            waiting.Should().NotBeNull("the finalizer holds {0} while no operator runs", name);
            waiting!.Metadata.DeletionTimestamp.Should().NotBeNull();
            waiting.Metadata.Finalizers.Should().Contain(ApiGroup.InUseFinalizer);
            (await kit.TryGetSecretAsync(name)).Should().NotBeNull();
        }

        await run.StartOperatorAsync();
        await kit.WaitDeletedWithSecretAsync(unused);
        await kit.WaitDeletionBlockedAsync(used, "Pod survivor");

        await DeletePodAsync("survivor");
        await kit.WaitDeletedWithSecretAsync(used);
    }

    /// <summary>
    /// Many blocked credentials, released one at a time: each goes, with its Secret, once its only user is deleted.
    /// Prints the time from deleting the user to the credential and to its Secret being gone (p50, p99, max): a
    /// measurement, not an assertion. <c>PASSBOX_UNBLOCK_RUNS</c> sets the number of credentials (default 20).
    /// </summary>
    [Fact]
    public async Task Each_blocked_credential_goes_once_its_last_user_is_deleted()
    {
        var runs = int.TryParse(Environment.GetEnvironmentVariable(UnblockRunsVariable), CultureInfo.InvariantCulture, out var asked) && asked > 0 ? asked : 20;
        var names = Enumerable.Range(0, runs).Select(i => $"lat-{i:000}").ToList();
        foreach (var batch in names.Chunk(20))
        {
            await Task.WhenAll(batch.Select(async name =>
            {
                await kit.CreateReadyTokenCredentialAsync(name, Token);
                await CreatePodAsync($"{name}-user", PodUsing(name));
                await kit.WaitUsedByAsync(name, $"Pod {name}-user");
                await kit.DeleteAsync<PipelineCredential>(name);
                await kit.WaitDeletionBlockedAsync(name, $"Pod {name}-user");
            }));
        }

        var credentialGone = new List<double>();
        var secretGone = new List<double>();
        foreach (var name in names)
        {
            var clock = Stopwatch.StartNew();
            await DeletePodAsync($"{name}-user");
            double? credentialAt = null;
            double? secretAt = null;
            while (credentialAt is null || secretAt is null)
            {
                if (clock.Elapsed > ClusterTestKit.DefaultWait)
                {
                    throw new TimeoutException($"{name} was not released after its last user was deleted (credential gone: {credentialAt is not null}, Secret gone: {secretAt is not null})");
                }

                credentialAt ??= await kit.GetAsync<PipelineCredential>(name) is null ? clock.Elapsed.TotalMilliseconds : null;
                secretAt ??= await kit.TryGetSecretAsync(name) is null ? clock.Elapsed.TotalMilliseconds : null;
                await Task.Delay(5);
            }

            credentialGone.Add(credentialAt.Value);
            secretGone.Add(secretAt.Value);
        }

        output.WriteLine($"Release time over {runs} credentials (last user deleted → gone; polled, resolution ~5 ms plus one GET):");
        output.WriteLine(Summary("credential", credentialGone));
        output.WriteLine(Summary("Secret", secretGone));
    }

    /// <summary>
    /// A deletion in the foreground (Argo CD prunes so by default; <c>kubectl delete --cascade=foreground</c>) has the
    /// garbage collector delete the credential's dependents at once, the generated Secret among them, whatever finalizer
    /// holds the credential. The control plane runs no collector, so the test does its part: the foreground DELETE of
    /// the credential, then the DELETE of the Secret the collector sends, and at the end the removal of
    /// <c>foregroundDeletion</c>. The Secret's own finalizer must keep it, data intact, until the last user goes.
    /// </summary>
    [Fact]
    public async Task A_Secret_in_use_outlives_a_foreground_deletion_of_its_credential_and_goes_with_its_last_user()
    {
        var secret = await kit.CreateReadyTokenCredentialAsync("foreground", Token);
        var published = (await kit.TryGetSecretAsync(secret))!;
        published.Metadata.Finalizers.Should().Contain(ApiGroup.InUseFinalizer, "a generated Secret is protected from its first moment");
        await CreatePodAsync("fg-app", PodUsing(secret));
        await kit.WaitUsedByAsync(secret, "Pod fg-app");

        var resource = ResourceDescriptor.For<PipelineCredential>();
        await admin.CustomObjects.DeleteNamespacedCustomObjectAsync(resource.Group, resource.Version, run.Namespace, resource.Plural, secret,
            propagationPolicy: "Foreground");
        await admin.CoreV1.DeleteNamespacedSecretAsync(secret, run.Namespace,
            new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = published.Metadata.Uid } });
        await kit.WaitDeletionBlockedAsync(secret, "Pod fg-app");

        await Task.Delay(TimeSpan.FromSeconds(1)); // Time for the operator to handle the Secret's deletion: it must not let it go.
        var kept = await kit.TryGetSecretAsync(secret);
        kept.Should().NotBeNull("a Pod still mounts it");
        kept!.Metadata.Uid.Should().Be(published.Metadata.Uid);
        kept.Metadata.DeletionTimestamp.Should().NotBeNull();
        kept.Data["token"].Should().Equal(System.Text.Encoding.UTF8.GetBytes(Token));

        await DeletePodAsync("fg-app");
        await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync(secret), s => s is null, "the Secret to go with its last user");
        var released = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>(secret),
            c => c?.Metadata.Finalizers?.Contains(ApiGroup.InUseFinalizer) != true, "the credential's finalizer to come off");
        if (released?.Metadata.Finalizers?.Contains("foregroundDeletion") == true)
        {
            // The collector's last step: with no dependents left, it lets the credential go.
            await admin.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch),
                resource.Group, resource.Version, run.Namespace, resource.Plural, secret);
        }

        await kit.WaitDeletedWithSecretAsync(secret);
    }

    /// <summary>
    /// A namespace stuck in Terminating is often "fixed" by removing finalizers by hand. A credential that goes that way
    /// never runs its release, and the garbage collector then deletes its generated Secret (before or after the
    /// credential is gone): the Secret's own finalizer, with no credential left to remove it, held the Secret, and so the
    /// namespace, for ever. The collector's part is played by the test (the control plane runs none).
    /// </summary>
    [Fact]
    public async Task A_generated_Secret_is_let_go_when_its_credential_went_without_releasing_it()
    {
        var resource = ResourceDescriptor.For<PipelineCredential>();
        var secretFirst = await kit.CreateReadyTokenCredentialAsync("stuck-secret-first", Token);
        var credentialFirst = await kit.CreateReadyTokenCredentialAsync("stuck-credential-first", Token);
        var secrets = new Dictionary<string, V1Secret>();
        foreach (var name in new[] { secretFirst, credentialFirst })
        {
            secrets[name] = (await kit.TryGetSecretAsync(name))!;
            await CreatePodAsync($"{name}-user", PodUsing(name));
            await kit.WaitUsedByAsync(name, $"Pod {name}-user");
            await kit.DeleteAsync<PipelineCredential>(name);
            await kit.WaitDeletionBlockedAsync(name, $"Pod {name}-user");
        }

        async Task DeleteSecretAsGarbageCollectorAsync(string name) =>
            await admin.CoreV1.DeleteNamespacedSecretAsync(name, run.Namespace,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = secrets[name].Metadata.Uid } });
        async Task RemoveFinalizersByHandAsync(string name)
        {
            await admin.CustomObjects.PatchNamespacedCustomObjectAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch),
                resource.Group, resource.Version, run.Namespace, resource.Plural, name);
            await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>(name), c => c is null, $"{name} to be gone");
        }

        // The Secret is deleted while its credential still waits (a foreground deletion), then the credential is let go by hand.
        await DeleteSecretAsGarbageCollectorAsync(secretFirst);
        await Task.Delay(TimeSpan.FromSeconds(1));
        (await kit.TryGetSecretAsync(secretFirst)).Should().NotBeNull("its credential still waits for the Pod");
        await RemoveFinalizersByHandAsync(secretFirst);

        // The credential is let go by hand first; the collector then deletes its dependents.
        await RemoveFinalizersByHandAsync(credentialFirst);
        await DeleteSecretAsGarbageCollectorAsync(credentialFirst);

        foreach (var name in new[] { secretFirst, credentialFirst })
        {
            await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync(name), s => s is null, $"the Secret of {name} to go, no credential being left to hold it");
        }
    }

    /// <summary>Someone deletes the generated Secret while its credential lives: the finalizer does not keep it from going, and it is published anew.</summary>
    [Fact]
    public async Task A_generated_Secret_deleted_by_hand_is_let_go_and_published_anew()
    {
        var secret = await kit.CreateReadyTokenCredentialAsync("hand-deleted", Token);
        var published = (await kit.TryGetSecretAsync(secret))!;
        await CreatePodAsync("hand-app", PodUsing(secret));
        await kit.WaitUsedByAsync(secret, "Pod hand-app");

        await admin.CoreV1.DeleteNamespacedSecretAsync(secret, run.Namespace);

        var republished = await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync(secret),
            s => s is not null && s.Metadata.Uid != published.Metadata.Uid && s.Metadata.DeletionTimestamp is null, "the Secret to be published anew");
        republished!.Metadata.Finalizers.Should().Contain(ApiGroup.InUseFinalizer);
        republished.Data["token"].Should().Equal(System.Text.Encoding.UTF8.GetBytes(Token));
        await DeletePodAsync("hand-app");
    }

    /// <summary>
    /// A backup restored (Velero; <c>kubectl get -o yaml | kubectl apply</c>): the generated Secret comes back before its
    /// credential (Velero restores Secrets first) with the owner reference of the credential it was backed up with, and
    /// the credential comes back with a new uid. The garbage collector deletes a dependent whose owner's uid does not
    /// exist, so the restored credential takes the Secret over, owner reference and all, without recreating it; it is
    /// not a Secret of someone else's (SecretConflict), which would leave it to the collector.
    /// </summary>
    [Fact]
    public async Task A_generated_Secret_restored_from_a_backup_is_taken_over_by_the_restored_credential()
    {
        var name = await kit.CreateReadyTokenCredentialAsync("restored", Token);
        var backedUpSecret = (await kit.TryGetSecretAsync(name))!;
        var backedUpCredential = (await kit.GetAsync<PipelineCredential>(name))!;
        await kit.DeleteAsync<PipelineCredential>(name);
        await kit.WaitDeletedWithSecretAsync(name);

        var restoredSecret = await admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = backedUpSecret.Metadata.Labels,
                Annotations = backedUpSecret.Metadata.Annotations,
                OwnerReferences = backedUpSecret.Metadata.OwnerReferences,
                Finalizers = backedUpSecret.Metadata.Finalizers,
            },
            Type = backedUpSecret.Type,
            Data = backedUpSecret.Data,
        }, run.Namespace, fieldManager: "velero-restore");
        await kit.CreateAsync(new PipelineCredential { Metadata = new V1ObjectMeta { Name = name }, Spec = backedUpCredential.Spec });

        var restored = await kit.WaitForConditionAsync<PipelineCredential>(name, ConditionTypes.Ready, "True");
        restored.Metadata.Uid.Should().NotBe(backedUpCredential.Metadata.Uid);
        var secret = await kit.WaitForSecretAsync(name, s => s.Metadata.OwnerReferences?.Any(o => o.Uid == restored.Metadata.Uid) == true);
        secret.Metadata.Uid.Should().Be(restoredSecret.Metadata.Uid, "workloads keep mounting the restored Secret: it is taken over, not deleted and created anew");
        secret.Metadata.OwnerReferences.Should().ContainSingle("the old credential's reference would have the garbage collector delete it")
            .Which.Should().Match<V1OwnerReference>(o => o.Kind == PipelineCredential.KindName && o.Name == name && o.Controller == true);
        secret.Metadata.Finalizers.Should().Contain(ApiGroup.InUseFinalizer);
        secret.Data["token"].Should().Equal(System.Text.Encoding.UTF8.GetBytes(Token));
        restored.Status!.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Status.Should().Be("True");
    }

    /// <summary>
    /// The labels and owner reference that mark a Secret as left by an earlier credential are anyone's to write who may
    /// create Secrets here: a Secret placed under a credential's name with them, plus an annotation, a label and a data
    /// key of its own that would send the credential elsewhere. Taken over, it holds only what Passbox writes.
    /// </summary>
    [Fact]
    public async Task A_Secret_squatted_with_Passbox_labels_holds_only_what_Passbox_writes_once_taken_over()
    {
        var name = await kit.CreateReadyTokenCredentialAsync("squatted", Token);
        var genuine = (await kit.TryGetSecretAsync(name))!;
        var spec = (await kit.GetAsync<PipelineCredential>(name))!.Spec;
        await kit.DeleteAsync<PipelineCredential>(name);
        await kit.WaitDeletedWithSecretAsync(name);

        var labels = new Dictionary<string, string>(genuine.Metadata.Labels) { ["argocd.argoproj.io/secret-type"] = "repository" };
        var squatted = await admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = labels,
                Annotations = new Dictionary<string, string> { ["tekton.dev/git-0"] = "https://attacker.example" },
                OwnerReferences = [new V1OwnerReference { ApiVersion = genuine.Metadata.OwnerReferences[0].ApiVersion, Kind = PipelineCredential.KindName, Name = name, Uid = Guid.NewGuid().ToString() }],
            },
            Type = genuine.Type,
            StringData = new Dictionary<string, string> { ["url"] = "https://attacker.example" },
        }, run.Namespace, fieldManager: "squatter");
        await kit.CreateAsync(new PipelineCredential { Metadata = new V1ObjectMeta { Name = name }, Spec = spec });

        var restored = await kit.WaitForConditionAsync<PipelineCredential>(name, ConditionTypes.Ready, "True");
        var secret = await kit.WaitForSecretAsync(name, s => s.Metadata.OwnerReferences?.Any(o => o.Uid == restored.Metadata.Uid) == true);
        secret.Metadata.Uid.Should().Be(squatted.Metadata.Uid);
        secret.Metadata.Annotations.Should().NotContainKey("tekton.dev/git-0");
        secret.Metadata.Labels.Should().NotContainKey("argocd.argoproj.io/secret-type");
        secret.Data.Should().NotContainKey("url");
        secret.Data["token"].Should().Equal(System.Text.Encoding.UTF8.GetBytes(Token));
    }

    /// <summary>
    /// Whoever may create Secrets here and read the credentials knows a credential's uid: a Secret placed under its name
    /// before the first publish, with Passbox's labels, an owner reference naming the credential itself, and fields of
    /// its own that would send the credential elsewhere. Its status shows no Secret published, so Passbox cleans it
    /// before writing the credential into it.
    /// </summary>
    [Fact]
    public async Task A_Secret_squatted_with_the_credentials_own_uid_before_its_first_publish_holds_only_what_Passbox_writes()
    {
        const string name = "squatted-own";
        await kit.CreateAsync(ClusterTestKit.TokenCredential(name, $"{name}-input"));
        var waiting = await kit.WaitForConditionAsync<PipelineCredential>(name, ConditionTypes.Validated, "False", "SourceSecretMissing");
        waiting.Status!.SecretName.Should().BeNull("nothing is published before the check passes");

        var squatted = await admin.CoreV1.CreateNamespacedSecretAsync(new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = name,
                Labels = new Dictionary<string, string>
                {
                    [ApiGroup.ManagedByLabel] = "passbox",
                    [ApiGroup.CredentialLabel] = name,
                    [ApiGroup.CredentialKindLabel] = PipelineCredential.KindName,
                    ["argocd.argoproj.io/secret-type"] = "repository",
                },
                Annotations = new Dictionary<string, string> { ["tekton.dev/git-0"] = "https://attacker.example" },
                OwnerReferences = [new V1OwnerReference { ApiVersion = waiting.ApiVersion, Kind = PipelineCredential.KindName, Name = name, Uid = waiting.Metadata.Uid }],
            },
            StringData = new Dictionary<string, string> { ["url"] = "https://attacker.example" },
        }, run.Namespace, fieldManager: "squatter");
        await kit.CreateSecretAsync($"{name}-input", new Dictionary<string, string> { ["token"] = Token });

        await kit.WaitForConditionAsync<PipelineCredential>(name, ConditionTypes.Ready, "True");
        var secret = await kit.WaitForSecretAsync(name, s => s.Data?.ContainsKey("token") == true);
        secret.Metadata.Uid.Should().Be(squatted.Metadata.Uid);
        secret.Metadata.Annotations.Should().NotContainKey("tekton.dev/git-0");
        secret.Metadata.Labels.Should().NotContainKey("argocd.argoproj.io/secret-type");
        secret.Data.Should().NotContainKey("url");
        secret.Data["token"].Should().Equal(System.Text.Encoding.UTF8.GetBytes(Token));
    }

    /// <summary>A generated Secret without the finalizer (as versions before it made them) gets it, and nothing else changes.</summary>
    [Fact]
    public async Task A_generated_Secret_without_the_finalizer_gets_it_back_with_nothing_else_written()
    {
        var secret = await kit.CreateReadyTokenCredentialAsync("unprotected", Token);
        await admin.CoreV1.PatchNamespacedSecretAsync(new V1Patch("""{"metadata":{"finalizers":null}}""", V1Patch.PatchType.MergePatch), secret, run.Namespace);
        var stripped = (await kit.TryGetSecretAsync(secret))!;

        var protectedAgain = await ClusterTestKit.EventuallyAsync(() => kit.TryGetSecretAsync(secret),
            s => s?.Metadata.Finalizers?.Contains(ApiGroup.InUseFinalizer) == true, "the finalizer to be back");
        protectedAgain!.Metadata.Uid.Should().Be(stripped.Metadata.Uid);
        protectedAgain.Data.Should().BeEquivalentTo(stripped.Data);
        protectedAgain.Metadata.Annotations.Should().BeEquivalentTo(stripped.Metadata.Annotations);
        var events = await admin.CoreV1.ListNamespacedEventAsync(run.Namespace);
        events.Items.Should().NotContain(e => e.InvolvedObject.Name == secret && e.Reason == "SecretUpdated", "consumers read nothing new");
    }

    /// <summary>
    /// The whole life of one user: a Ready credential, the user, usedBy naming it, a deletion blocked with the user
    /// named, and credential and generated Secret gone once the user is.
    /// </summary>
    private Task BlocksUntilRemovedAsync(string credential, string user, Func<string, Task> createUser, Func<Task> removeUser) =>
        BlocksUntilRemovedAsync([new(credential, user)], () => createUser(credential), removeUser);

    /// <summary>
    /// The whole life of credentials and the users they share: Ready credentials, the users, usedBy naming exactly each
    /// credential's users, every deletion blocked with each of its users named and the Secret kept (a credential nothing
    /// uses goes at once), and credentials and generated Secrets gone once the users are.
    /// </summary>
    /// <param name="credentials">Each credential and its users.</param>
    /// <param name="createUsers">Creates the users once the credentials are Ready (credential and Secret share a name).</param>
    /// <param name="removeUsers">Ends every use, with whatever the test checks on the way, while the deletions wait.</param>
    private async Task BlocksUntilRemovedAsync(IReadOnlyList<InUse> credentials, Func<Task> createUsers, Func<Task> removeUsers)
    {
        foreach (var credential in credentials)
        {
            await kit.CreateReadyTokenCredentialAsync(credential.Credential, Token);
        }

        await createUsers();
        foreach (var (credential, users) in credentials)
        {
            if (users.Length > 0)
            {
                await kit.WaitUsedByAsync(credential, users);
            }
            else
            {
                ((await kit.GetAsync<PipelineCredential>(credential))!.Status?.UsedBy?.Count ?? 0).Should().Be(0, "nothing uses {0}", credential);
            }
        }

        foreach (var credential in credentials)
        {
            await kit.DeleteAsync<PipelineCredential>(credential.Credential);
        }

        foreach (var (credential, users) in credentials)
        {
            if (users.Length == 0)
            {
                await kit.WaitDeletedWithSecretAsync(credential);
                continue;
            }

            foreach (var user in users)
            {
                await kit.WaitDeletionBlockedAsync(credential, user);
            }

            (await kit.TryGetSecretAsync(credential)).Should().NotBeNull("the Secret of {0} stays while {1} uses it", credential, string.Join(", ", users));
        }

        await removeUsers();
        foreach (var credential in credentials)
        {
            await kit.WaitDeletedWithSecretAsync(credential.Credential);
        }
    }

    private Task<PipelineCredential> WaitUsedByCountAsync(string name, int count) =>
        ClusterTestKit.EventuallyAsync(
            async () => (await kit.GetAsync<PipelineCredential>(name))!,
            c => c?.Status?.UsedBy is { } usedBy && usedBy.Count == count,
            $"status.usedBy.count of {name} to be {count}");

    /// <summary>
    /// What the usage and source-Secret informers of this test's operator hold in <paramref name="namespaces"/> (what
    /// passbox_informer_cached_objects counts, over all namespaces: the gauge is shared by every operator this test
    /// process runs, and other test classes run theirs meanwhile), and how many copies of source Secret data it keeps
    /// there; null before the informers listed.
    /// </summary>
    private CachedUsers? HeldByOperator(IReadOnlyCollection<string> namespaces)
    {
        var services = run.Host.Services;
        var pods = services.GetInformer<V1Pod>("usage-pods");
        var serviceAccounts = services.GetInformer<V1ServiceAccount>("usage-serviceaccounts");
        var sources = services.GetInformer<PartialObjectMetadata>(PassboxOperator.SourceSecrets);
        var copies = services.GetRequiredService<SourceSecretCache>();
        return pods.HasSynced && serviceAccounts.HasSynced && sources.HasSynced
            ? new CachedUsers(In(pods.Cache), In(serviceAccounts.Cache), In(sources.Cache), namespaces.Sum(copies.CountIn))
            : null;

        int In<T>(ObjectCache<T> cache)
            where T : class, IKubernetesObject<V1ObjectMeta> =>
            cache.Keys().Count(key => key.Namespace is { } ns && namespaces.Contains(ns));
    }

    private static string UsageUserOf(string kind, string name) => $"{kind} {name}";

    /// <summary>What Argo's controller writes when a Workflow ends (Succeeded, Failed).</summary>
    private async Task SetWorkflowPhaseAsync(string name, string phase) =>
        await controlPlane.AdminApi.PatchAsync<JsonObject>(
            Workflows.ItemPath(new ObjectKey(run.Namespace, name)) + "/status",
            new JsonObject { ["status"] = new JsonObject { ["phase"] = phase } },
            CancellationToken.None);

    private async Task CreatePodAsync(string name, V1PodSpec spec, string phase = "Running", IDictionary<string, string>? annotations = null)
    {
        await admin.CoreV1.CreateNamespacedPodAsync(new V1Pod { Metadata = Meta(name, annotations), Spec = spec }, run.Namespace);
        await admin.CoreV1.PatchNamespacedPodStatusAsync(MergePatch(new { status = new { phase } }), name, run.Namespace);
    }

    /// <summary>
    /// Never scheduled, so deleted at once: no kubelet has to confirm. The answer is then a Status, which the typed
    /// client cannot read as the V1Pod it expects.
    /// </summary>
    private async Task DeletePodAsync(string name)
    {
        using var response = await controlPlane.AdminApi.SendAsync(
            HttpMethod.Delete, ResourceDescriptor.Pods.ItemPath(new ObjectKey(run.Namespace, name)) + "?gracePeriodSeconds=0", null, "application/json", false, CancellationToken.None);
        await KubernetesApiClient.EnsureSuccessAsync(response, CancellationToken.None);
    }

    /// <summary>Creates a custom object in the run's namespace, or, of a cluster-scoped kind, in no namespace.</summary>
    private Task CreateCustomAsync(ResourceDescriptor resource, string name, JsonObject spec, IDictionary<string, string>? annotations = null) =>
        engines.CreateAsync(resource, run.Namespace, name, spec, annotations);

    private Task SetRunSucceededAsync(ResourceDescriptor runs, string name) => engines.SetRunSucceededAsync(runs, run.Namespace, name);

    /// <summary>
    /// What Tekton's controller writes once it has resolved a run's <c>taskRef</c> or <c>pipelineRef</c>: the run is
    /// running, and the resolved spec is in the status under <paramref name="field"/> (<c>taskSpec</c>, <c>pipelineSpec</c>).
    /// </summary>
    private async Task SetRunResolvedAsync(ResourceDescriptor runs, string name, string field, JsonObject resolvedSpec) =>
        await controlPlane.AdminApi.PatchAsync<JsonObject>(
            runs.ItemPath(new ObjectKey(run.Namespace, name)) + "/status",
            new JsonObject
            {
                ["status"] = new JsonObject
                {
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Succeeded", ["status"] = "Unknown", ["reason"] = "Running" }),
                    [field] = resolvedSpec,
                },
            },
            CancellationToken.None);

    /// <summary>Deletes a cluster-scoped object a test made; one already gone (with its CRD) is fine.</summary>
    private async Task DeleteClusterObjectAsync(ResourceDescriptor resource, string name)
    {
        try
        {
            await admin.CustomObjects.DeleteClusterCustomObjectAsync(resource.Group, resource.Version, resource.Plural, name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    private static V1Container Container(string? env = null, string? envFrom = null) => new()
    {
        Name = "app",
        Image = "registry.invalid/app:1",
        Env = env is null ? null : [new V1EnvVar { Name = "TOKEN", ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = env, Key = "token" } } }],
        EnvFrom = envFrom is null ? null : [new V1EnvFromSource { SecretRef = new V1SecretEnvSource { Name = envFrom } }],
    };

    private static V1PodSpec PodUsing(string secret, string? restartPolicy = null) =>
        new() { Containers = [Container(env: secret)], RestartPolicy = restartPolicy };

    private static V1PodTemplateSpec Template(string? app, V1PodSpec spec) => new()
    {
        Metadata = app is null ? null : new V1ObjectMeta { Labels = new Dictionary<string, string> { ["app"] = app } },
        Spec = spec,
    };

    private static V1LabelSelector Selector(string app) => new() { MatchLabels = new Dictionary<string, string> { ["app"] = app } };

    private static V1ObjectMeta Meta(string name, IDictionary<string, string>? annotations = null) => new() { Name = name, Annotations = annotations };

    private static Dictionary<string, string> Uses(string credentials) => new() { [ApiGroup.UsesAnnotation] = credentials };

    private static V1Patch MergePatch(object patch) => new(KubernetesJson.Serialize(patch), V1Patch.PatchType.MergePatch);

    /// <summary>A Tekton workspace bound to a Secret.</summary>
    private static JsonArray SecretWorkspace(string secret) => new(new JsonObject { ["name"] = "creds", ["secret"] = new JsonObject { ["secretName"] = secret } });

    private static object SecretEnv(string secret) => new { name = "TOKEN", valueFrom = new { secretKeyRef = new { name = secret, key = "token" } } };

    /// <summary>A Tekton Task spec whose one step reads the Secret's token.</summary>
    private static JsonObject TaskSpecUsing(string secret) => new()
    {
        ["steps"] = new JsonArray(new JsonObject
        {
            ["name"] = "run",
            ["image"] = "registry.invalid/tool:1",
            ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv(secret))),
        }),
    };

    /// <summary>An Argo WorkflowTemplate spec whose one container reads the Secret's token.</summary>
    private static JsonObject WorkflowTemplateSpecUsing(string secret) => new()
    {
        ["entrypoint"] = "main",
        ["templates"] = new JsonArray(new JsonObject
        {
            ["name"] = "main",
            ["container"] = new JsonObject
            {
                ["image"] = "registry.invalid/etl:1",
                ["env"] = new JsonArray(JsonSerializer.SerializeToNode(SecretEnv(secret))),
            },
        }),
    };

    private static string Summary(string what, List<double> millis) => string.Create(
        CultureInfo.InvariantCulture,
        $"  {what,-10} p50 {Percentile(millis, 50):F0} ms, p90 {Percentile(millis, 90):F0} ms, p99 {Percentile(millis, 99):F0} ms, max {millis.Max():F0} ms");

    private static double Percentile(List<double> values, int percentile)
    {
        var sorted = values.Order().ToList();
        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Count) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Count - 1)];
    }

    /// <summary>A credential of an in-use scenario and its users as usedBy names them ("Kind name"); none: nothing uses it.</summary>
    private sealed record InUse(string Credential, params string[] Users);

    /// <summary>How many Pods, ServiceAccounts and source Secrets the operator's informers hold, and copies of source data.</summary>
    private sealed record CachedUsers(int Pods, int ServiceAccounts, int SourceSecrets, int SourceCopies);
}
