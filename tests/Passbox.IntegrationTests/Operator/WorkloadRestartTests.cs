using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Provisioning;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// Restarts for a changed token on the real API server (which runs no workload controllers: what it holds is checked,
/// the annotations, the status and the events): a paused Deployment and an OnDelete StatefulSet get the annotation but
/// are reported as not restarted, naming what their owner must do.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class WorkloadRestartTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    private const string FirstToken = "restart-token-first-value";
    private const string SecondToken = "restart-token-second-value";
    private OperatorRun run = null!;
    private ClusterTestKit kit = null!;

    public async Task InitializeAsync()
    {
        run = await OperatorRun.StartAsync(controlPlane, "restarts");
        kit = run.Kit;
        run.MarkSecret(FirstToken, SecondToken);
    }

    public async Task DisposeAsync() => await run.DisposeAsync();

    [Fact]
    public async Task A_paused_Deployment_and_an_OnDelete_StatefulSet_are_annotated_but_not_reported_restarted()
    {
        await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = FirstToken });
        await kit.CreateAsync(ClusterTestKit.TokenCredential("ci-token"));
        await kit.WaitForSecretAsync("ci-token");
        var optIn = new Dictionary<string, string> { [WorkloadRestarter.ReloadAnnotation] = "ci-token" };
        await kit.CreateDeploymentAsync("rolling", optIn);
        await kit.CreateDeploymentAsync("paused", optIn);
        var apps = controlPlane.Admin.AppsV1;
        await apps.PatchNamespacedDeploymentAsync(new V1Patch("""{"spec":{"paused":true}}""", V1Patch.PatchType.MergePatch), "paused", kit.Namespace);
        var labels = new Dictionary<string, string> { ["app"] = "db" };
        await apps.CreateNamespacedStatefulSetAsync(new V1StatefulSet
        {
            Metadata = new V1ObjectMeta { Name = "db", Annotations = optIn },
            Spec = new V1StatefulSetSpec
            {
                ServiceName = "db",
                Selector = new V1LabelSelector { MatchLabels = labels },
                UpdateStrategy = new V1StatefulSetUpdateStrategy { Type = "OnDelete" },
                Template = new V1PodTemplateSpec { Metadata = new V1ObjectMeta { Labels = labels }, Spec = new V1PodSpec { Containers = [new V1Container { Name = "db", Image = "registry.invalid/db:1" }] } },
            },
        }, kit.Namespace);

        await kit.SetSecretValueAsync("token-input", "token", SecondToken);

        var credential = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>("ci-token"),
            c => c?.Status?.Conditions?.Any(x => x.Type == ConditionTypes.WorkloadsRestarted) == true, "the restart to be described");
        var condition = credential!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.WorkloadsRestarted);
        condition.Status.Should().Be("False");
        condition.Reason.Should().Be(ConditionReasons.RestartDeferred);
        condition.Message.Should().Be("Secret ci-token changed: restarted Deployment rolling; not restarted: " +
            "Deployment paused is paused (spec.paused): its Pods keep the old Secret until it is resumed; " +
            "StatefulSet db has updateStrategy OnDelete: its Pods keep the old Secret until they are deleted");
        credential.Status.RestartPending.Should().BeNull("patching again would replace no Pod either");
        (await kit.WasRestartedAsync("rolling")).Should().BeTrue();
        (await kit.WasRestartedAsync("paused")).Should().BeTrue("the Pods started once it is resumed get the new Secret");
        (await apps.ReadNamespacedStatefulSetAsync("db", kit.Namespace)).Spec.Template.Metadata.Annotations.Should().ContainKey(WorkloadRestarter.RestartedAtAnnotation);
        await kit.WaitForEventsAsync(events => events.Any(e => e.Reason == "RestartDeferred" && e.Type == "Warning" && e.Message.Contains("Deployment paused is paused", StringComparison.Ordinal)),
            "a RestartDeferred warning naming the paused Deployment");
    }

    [Fact]
    public async Task An_opted_in_Argo_Rollout_gets_restartAt_when_its_CRD_exists()
    {
        var rollouts = Passbox.Operator.Provisioning.ArgoRollouts.Resource;
        var crd = ControlPlaneTestCrd.Build(rollouts.Group, rollouts.Plural, rollouts.Kind, rollouts.Version);
        var existed = (await controlPlane.Admin.ApiextensionsV1.ListCustomResourceDefinitionAsync()).Items.Any(c => c.Metadata.Name == crd.Metadata.Name);
        if (!existed)
        {
            await controlPlane.ApplyCrdAsync(crd);
        }

        try
        {
            await kit.CreateSecretAsync("token-input", new Dictionary<string, string> { ["token"] = FirstToken });
            await kit.CreateAsync(ClusterTestKit.TokenCredential("ci-token"));
            await kit.WaitForSecretAsync("ci-token");
            var rollout = new JsonObject
            {
                ["apiVersion"] = rollouts.ApiVersion,
                ["kind"] = rollouts.Kind,
                ["metadata"] = new JsonObject { ["name"] = "web", ["annotations"] = new JsonObject { [WorkloadRestarter.ReloadAnnotation] = "ci-token" } },
                ["spec"] = new JsonObject { ["replicas"] = 2 },
            };
            await controlPlane.AdminApi.PostAsync<JsonNode>(rollouts.CollectionPath(kit.Namespace), rollout, CancellationToken.None);

            await kit.SetSecretValueAsync("token-input", "token", SecondToken);

            var path = rollouts.ItemPath(new Passbox.Operator.Runtime.ObjectKey(kit.Namespace, "web"));
            var restarted = await ClusterTestKit.EventuallyAsync(() => controlPlane.AdminApi.GetAsync<JsonNode>(path, CancellationToken.None),
                r => r["spec"]?["restartAt"] is not null, "the Rollout's spec.restartAt to be set");
            DateTimeOffset.Parse((string)restarted["spec"]!["restartAt"]!, System.Globalization.CultureInfo.InvariantCulture).Should().BeCloseTo(DateTimeOffset.UtcNow, TimeSpan.FromMinutes(1));
            var credential = await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<PipelineCredential>("ci-token"),
                c => c?.Status?.Conditions?.Any(x => x.Type == ConditionTypes.WorkloadsRestarted) == true, "the restart to be described");
            credential!.Status!.Conditions!.Single(c => c.Type == ConditionTypes.WorkloadsRestarted).Message.Should().Be("Secret ci-token changed: restarted Rollout web");
        }
        finally
        {
            if (!existed)
            {
                await controlPlane.Admin.ApiextensionsV1.DeleteCustomResourceDefinitionAsync(crd.Metadata.Name);
            }
        }
    }
}
