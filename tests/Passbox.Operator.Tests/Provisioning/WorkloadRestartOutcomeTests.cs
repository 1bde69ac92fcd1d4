using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Tests.Controllers;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Provisioning;

/// <summary>
/// What a restart reports for each kind of opted-in workload, on a fake API server holding one namespace's workloads:
/// workloads whose Pods the annotation does not replace, workloads gone before their patch, a workload that keeps
/// failing, and Argo Rollouts.
/// </summary>
public sealed class WorkloadRestartOutcomeTests
{
    private const string Ns = "team";
    private const string SecretName = "billing";

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
    private readonly V1ConfigMap credential = new() { Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = Ns, Uid = "uid-billing" } };
    private readonly List<V1Deployment> deployments = [];
    private readonly List<V1StatefulSet> statefulSets = [];
    private readonly List<V1DaemonSet> daemonSets = [];
    private readonly List<JsonObject> rollouts = [];
    private readonly Dictionary<string, HttpStatusCode> refusedPatches = new(StringComparer.Ordinal);
    private readonly RecordingEvents events = new();
    private readonly FakeApiServer server;

    public WorkloadRestartOutcomeTests() => server = new FakeApiServer(Respond);

    private static V1ObjectMeta OptedIn(string name) =>
        new() { Name = name, NamespaceProperty = Ns, Annotations = new Dictionary<string, string> { [WorkloadRestarter.ReloadAnnotation] = SecretName } };

    private static V1PodTemplateSpec Template(string? secret = null) => new()
    {
        Spec = new V1PodSpec
        {
            Containers = [new V1Container { Name = "app" }],
            Volumes = secret is null ? null : [new V1Volume { Name = "db", Secret = new V1SecretVolumeSource { SecretName = secret } }],
        },
    };

    private WorkloadRestarter Restarter(params string[] definitions) => new(server.CreateClient(), new InstalledDefinitions(definitions), events, time, NullLogger<WorkloadRestarter>.Instance);

    private List<string> Patched() => [.. server.Requests.Where(r => r.Method == HttpMethod.Patch).Select(r => r.Path)];

    private async Task<(RestartSettlement Settlement, ClusterCredentialStatus Status)> SettleAsync(WorkloadRestarter restarter, ClusterCredentialStatus? status = null, bool fresh = true)
    {
        status ??= new ClusterCredentialStatus { RestartPending = "rev-2" };
        return (await restarter.SettleAsync(credential, Ns, SecretName, status, fresh, CancellationToken.None), status);
    }

    [Fact]
    public async Task A_paused_Deployment_is_annotated_but_reported_as_not_restarted_until_it_is_resumed()
    {
        deployments.Add(new V1Deployment { Metadata = OptedIn("paused"), Spec = new V1DeploymentSpec { Paused = true, Template = Template() } });
        deployments.Add(new V1Deployment { Metadata = OptedIn("running"), Spec = new V1DeploymentSpec { Template = Template() } });

        var (settlement, status) = await SettleAsync(Restarter());

        Patched().Should().BeEquivalentTo(["/apis/apps/v1/namespaces/team/deployments/paused", "/apis/apps/v1/namespaces/team/deployments/running"],
            "the annotation is in place for when the Deployment is resumed");
        var report = settlement.Report!;
        report.Restarted.Should().Equal("Deployment running");
        report.Deferred.Should().ContainSingle().Which.Should().StartWith("Deployment paused is paused").And.Contain("until it is resumed");
        status.RestartPending.Should().BeNull("patching again would not replace its Pods either: only resuming it does");
        settlement.RetryAfter.Should().BeNull();
        events.Recorded.Should().ContainSingle().Which.Should().Be(("Warning", "RestartDeferred",
            "Secret billing changed: restarted Deployment running; not restarted: Deployment paused is paused (spec.paused): its Pods keep the old Secret until it is resumed"));
    }

    [Fact]
    public async Task StatefulSets_and_DaemonSets_that_replace_Pods_only_when_deleted_are_named_with_what_to_do()
    {
        statefulSets.Add(new V1StatefulSet { Metadata = OptedIn("ondelete"), Spec = new V1StatefulSetSpec { Template = Template(), UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "OnDelete" } } });
        statefulSets.Add(new V1StatefulSet
        {
            Metadata = OptedIn("partitioned"),
            Spec = new V1StatefulSetSpec { Template = Template(), UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "RollingUpdate", RollingUpdate = new V1RollingUpdateStatefulSetStrategy { Partition = 2 } } },
        });
        statefulSets.Add(new V1StatefulSet { Metadata = OptedIn("rolling"), Spec = new V1StatefulSetSpec { Template = Template(), UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "RollingUpdate" } } });
        daemonSets.Add(new V1DaemonSet { Metadata = OptedIn("agent"), Spec = new V1DaemonSetSpec { Template = Template(), UpdateStrategy = new V1DaemonSetUpdateStrategy { Type = "OnDelete" } } });

        var (settlement, status) = await SettleAsync(Restarter());

        Patched().Should().HaveCount(4);
        var report = settlement.Report!;
        report.Restarted.Should().Equal("StatefulSet rolling");
        report.Deferred.Should().Equal(
            "StatefulSet ondelete has updateStrategy OnDelete: its Pods keep the old Secret until they are deleted",
            "StatefulSet partitioned has updateStrategy.rollingUpdate.partition 2: its Pods with an ordinal below 2 keep the old Secret until they are deleted or the partition is lowered",
            "DaemonSet agent has updateStrategy OnDelete: its Pods keep the old Secret until they are deleted");
        report.Describe(SecretName).Should().NotContain("restarted StatefulSet ondelete").And.NotContain("DaemonSet agent,");
        status.RestartPending.Should().BeNull();
    }

    [Fact]
    public async Task A_workload_deleted_between_the_list_and_its_patch_is_no_failure()
    {
        deployments.Add(new V1Deployment { Metadata = OptedIn("gone"), Spec = new V1DeploymentSpec { Template = Template() } });
        deployments.Add(new V1Deployment { Metadata = OptedIn("api"), Spec = new V1DeploymentSpec { Template = Template() } });
        refusedPatches["/apis/apps/v1/namespaces/team/deployments/gone"] = HttpStatusCode.NotFound;

        var (settlement, status) = await SettleAsync(Restarter());

        status.RestartPending.Should().BeNull("nothing runs from a deleted Deployment any more");
        settlement.RetryAfter.Should().BeNull();
        settlement.Report!.Restarted.Should().Equal("Deployment api");
        events.Recorded.Should().ContainSingle().Which.Reason.Should().Be("WorkloadsRestarted");
    }

    [Fact]
    public async Task A_workload_that_keeps_failing_does_not_restart_the_others_again_at_every_retry()
    {
        deployments.Add(new V1Deployment { Metadata = OptedIn("api"), Spec = new V1DeploymentSpec { Template = Template() } });
        daemonSets.Add(new V1DaemonSet { Metadata = OptedIn("agent"), Spec = new V1DaemonSetSpec { Template = Template() } });
        refusedPatches["/apis/apps/v1/namespaces/team/daemonsets/agent"] = HttpStatusCode.Forbidden;
        var restarter = Restarter();

        var (first, status) = await SettleAsync(restarter);

        first.Report!.Failed.Should().Equal("DaemonSet agent (HTTP 403)");
        first.Report.Restarted.Should().ContainSingle().Which.Should().Be("Deployment api", "one refused workload does not keep the others from restarting");
        status.RestartPending.Should().Be("rev-2");
        events.Recorded.Should().ContainSingle().Which.Should().Be(("Warning", "RestartFailed",
            "Secret billing changed but restarting its workloads failed: DaemonSet agent (HTTP 403) (restarted Deployment api); tried again with backoff"));

        for (var attempt = 0; attempt < 3; attempt++)
        {
            time.Advance(first.RetryAfter!.Value + TimeSpan.FromMinutes(5));
            (first, _) = await SettleAsync(restarter, status, fresh: false);
        }

        Patched().Count(path => path.EndsWith("/deployments/api", StringComparison.Ordinal)).Should().Be(1, "the Deployment already restarted for this change");
        Patched().Count(path => path.EndsWith("/daemonsets/agent", StringComparison.Ordinal)).Should().Be(4);

        refusedPatches.Clear();
        time.Advance(TimeSpan.FromMinutes(10));
        var (done, _) = await SettleAsync(restarter, status, fresh: false);

        status.RestartPending.Should().BeNull();
        done.Report!.Restarted.Should().Equal("Deployment api", "DaemonSet agent");
        Patched().Count(path => path.EndsWith("/deployments/api", StringComparison.Ordinal)).Should().Be(1);

        // The next change of the data owes every workload a restart again.
        status.RestartPending = "rev-3";
        await SettleAsync(restarter, status, fresh: true);
        Patched().Count(path => path.EndsWith("/deployments/api", StringComparison.Ordinal)).Should().Be(2);
    }

    [Fact]
    public async Task An_opted_in_Argo_Rollout_is_restarted_through_restartAt()
    {
        rollouts.Add(Rollout("canary", OptedIn("canary").Annotations, template: Template()));
        rollouts.Add(Rollout("bystander", null, template: Template(SecretName)));
        var auto = new Dictionary<string, string> { [WorkloadRestarter.AutoAnnotation] = "true" };
        rollouts.Add(Rollout("referenced", auto, workloadRef: "web"));
        deployments.Add(new V1Deployment { Metadata = new V1ObjectMeta { Name = "web", NamespaceProperty = Ns }, Spec = new V1DeploymentSpec { Replicas = 0, Template = Template(SecretName) } });

        var (settlement, status) = await SettleAsync(Restarter(ArgoRollouts.Resource.DisplayName));

        status.RestartPending.Should().BeNull();
        settlement.Report!.Restarted.Should().Equal("Rollout canary", "Rollout referenced");
        var patches = server.Requests.Where(r => r.Method == HttpMethod.Patch).ToList();
        patches.Select(p => p.Path).Should().Equal(
            "/apis/argoproj.io/v1alpha1/namespaces/team/rollouts/canary", "/apis/argoproj.io/v1alpha1/namespaces/team/rollouts/referenced");
        patches.Should().AllSatisfy(p =>
        {
            p.ContentType.Should().Contain("merge-patch");
            p.Body.Should().Be("""{"spec":{"restartAt":"2026-11-25T10:00:00Z"}}""", "a restart, not a change of the template that would run the canary steps");
        });
    }

    /// <summary>
    /// The Argo Rollouts CRD leaves the pod template unchecked, so a Rollout's template can hold what no pod template
    /// does. Such a Rollout names no Secret (its reload annotation still counts); the others are restarted all the same.
    /// </summary>
    [Fact]
    public async Task An_Argo_Rollout_of_an_odd_shape_does_not_stop_the_restart_of_the_others()
    {
        var odd = Rollout("odd", new Dictionary<string, string> { [WorkloadRestarter.AutoAnnotation] = "true" });
        odd["spec"]!["template"] = JsonNode.Parse("""{"spec": {"containers": {"name": "app"}, "volumes": [{"name": "db", "secret": {"secretName": 7}}]}}""");
        rollouts.Add(odd);
        rollouts.Add(Rollout("canary", OptedIn("canary").Annotations, template: Template()));

        var (settlement, status) = await SettleAsync(Restarter(ArgoRollouts.Resource.DisplayName));

        status.RestartPending.Should().BeNull();
        settlement.Report!.Restarted.Should().Equal("Rollout canary");
    }

    [Fact]
    public async Task Without_the_Argo_Rollouts_CRD_no_request_goes_to_rollouts()
    {
        deployments.Add(new V1Deployment { Metadata = OptedIn("api"), Spec = new V1DeploymentSpec { Template = Template() } });

        var (settlement, status) = await SettleAsync(Restarter());

        status.RestartPending.Should().BeNull();
        settlement.Report!.Restarted.Should().Equal("Deployment api");
        server.Requests.Should().NotContain(r => r.Path.Contains("argoproj.io", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Rollouts_that_vanish_with_their_CRD_are_none()
    {
        deployments.Add(new V1Deployment { Metadata = OptedIn("api"), Spec = new V1DeploymentSpec { Template = Template() } });
        refusedPatches["/apis/argoproj.io/v1alpha1/namespaces/team/rollouts"] = HttpStatusCode.NotFound;

        var (settlement, status) = await SettleAsync(Restarter(ArgoRollouts.Resource.DisplayName));

        status.RestartPending.Should().BeNull("the CRD went away after the operator saw it: there are no Rollouts to restart");
        settlement.Report!.Complete.Should().BeTrue();
    }

    private static JsonObject Rollout(string name, IDictionary<string, string>? annotations, V1PodTemplateSpec? template = null, string? workloadRef = null)
    {
        var spec = new JsonObject();
        if (template is not null)
        {
            spec["template"] = JsonNode.Parse(KubernetesJson.Serialize(template));
        }

        if (workloadRef is not null)
        {
            spec["workloadRef"] = new JsonObject { ["apiVersion"] = "apps/v1", ["kind"] = "Deployment", ["name"] = workloadRef };
        }

        return new JsonObject
        {
            ["apiVersion"] = "argoproj.io/v1alpha1",
            ["kind"] = "Rollout",
            ["metadata"] = JsonNode.Parse(KubernetesJson.Serialize(new V1ObjectMeta { Name = name, NamespaceProperty = Ns, Annotations = annotations })),
            ["spec"] = spec,
        };
    }

    private HttpResponseMessage Respond(RecordedRequest request)
    {
        if (refusedPatches.TryGetValue(request.Path, out var refused) && (request.Method == HttpMethod.Patch || request.Path.EndsWith("/rollouts", StringComparison.Ordinal)))
        {
            return FakeApiServer.Status(refused, refused.ToString());
        }

        const string Apps = "/apis/apps/v1/namespaces/team/";
        const string Rollouts = "/apis/argoproj.io/v1alpha1/namespaces/team/rollouts";
        var path = request.Path;
        return path switch
        {
            Apps + "deployments" => List("apps/v1", "DeploymentList", deployments),
            Apps + "statefulsets" => List("apps/v1", "StatefulSetList", statefulSets),
            Apps + "daemonsets" => List("apps/v1", "DaemonSetList", daemonSets),
            Rollouts => FakeApiServer.Json(HttpStatusCode.OK, new JsonObject { ["apiVersion"] = "argoproj.io/v1alpha1", ["kind"] = "RolloutList", ["items"] = new JsonArray([.. rollouts.Select(r => r.DeepClone())]) }.ToJsonString()),
            _ when path.StartsWith(Apps + "deployments/", StringComparison.Ordinal) => Item(deployments.Single(d => path.EndsWith("/" + d.Metadata.Name, StringComparison.Ordinal))),
            _ when path.StartsWith(Apps + "statefulsets/", StringComparison.Ordinal) => Item(statefulSets.Single(s => path.EndsWith("/" + s.Metadata.Name, StringComparison.Ordinal))),
            _ when path.StartsWith(Apps + "daemonsets/", StringComparison.Ordinal) => Item(daemonSets.Single(d => path.EndsWith("/" + d.Metadata.Name, StringComparison.Ordinal))),
            _ when path.StartsWith(Rollouts + "/", StringComparison.Ordinal) => FakeApiServer.Json(HttpStatusCode.OK, rollouts.Single(r => path.EndsWith("/" + (string?)r["metadata"]!["name"], StringComparison.Ordinal)).ToJsonString()),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        };
    }

    private static HttpResponseMessage List<T>(string apiVersion, string kind, List<T> items) =>
        FakeApiServer.Json(HttpStatusCode.OK, new JsonObject
        {
            ["apiVersion"] = apiVersion,
            ["kind"] = kind,
            ["items"] = new JsonArray([.. items.Select(item => JsonNode.Parse(KubernetesJson.Serialize(item)))]),
        }.ToJsonString());

    private static HttpResponseMessage Item<T>(T item) => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(item));

    private sealed class RecordingEvents : IEventSink
    {
        public List<(string Type, string Reason, string Message)> Recorded { get; } = [];

        public Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct)
        {
            Recorded.Add(("Normal", reason, message));
            return Task.CompletedTask;
        }

        public Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct)
        {
            Recorded.Add(("Warning", reason, message));
            return Task.CompletedTask;
        }
    }
}
