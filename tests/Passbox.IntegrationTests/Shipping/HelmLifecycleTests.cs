using System.Net;
using k8s;
using k8s.Autorest;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Operator;
using Passbox.Operator.Api.V1Alpha1;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The chart through a release's life on a real API server, as a platform team runs it: install, scale to two replicas
/// and back, uninstall. It installs cluster-wide objects (ClusterRole, the finalizer policy) and adopts the CRDs, so it
/// has a control plane of its own; the local one only (it would install Passbox into a cluster given by kubeconfig).
/// </summary>
[Collection(HelmLifecycleDefinition.Name)]
public sealed class HelmLifecycleTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    private const string Release = "passbox";

    [SkippableFact]
    public async Task Install_scale_out_and_back_and_uninstall_keep_the_CRDs_and_every_credential()
    {
        Skip.IfNot(controlPlane.IsLocal, "installs Passbox cluster-wide: only on the local control plane");
        var releaseNamespace = $"passbox-helm-{Guid.NewGuid():N}"[..20];
        await using var workloads = await controlPlane.CreateNamespaceAsync("helmlife");
        var kit = new ClusterTestKit(controlPlane, workloads.Name);

        // The CRDs exist already (as after kubectl apply of crds/): the release takes them over.
        Helm("install", "--create-namespace", "--take-ownership", "--set", "image.tag=test");
        (await ReadDeploymentAsync(releaseNamespace))!.Spec.Replicas.Should().Be(1);
        (await PodDisruptionBudgetExistsAsync(releaseNamespace)).Should().BeFalse("one replica gets no budget");
        var crd = await controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync("pipelinecredentials.passbox.dev");
        crd.Metadata.Annotations.Should().Contain("helm.sh/resource-policy", "keep");
        crd.Metadata.Labels.Should().Contain("app.kubernetes.io/managed-by", "Helm");
        (await StatusOfAsync("apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicies/passbox-in-use-finalizer"))
            .Should().Be(HttpStatusCode.OK, "this API server serves MutatingAdmissionPolicy, so the chart installs its policy");

        // The admission plugin reads new policies, and the CRD's schema, a few seconds after they are stored (as on a
        // real cluster right after install): dry-run creates show when the policy is in force.
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<PipelineCredential>();
        await ClusterTestKit.EventuallyAsync(
            async () =>
            {
                try
                {
                    var created = await controlPlane.Admin.CustomObjects.CreateNamespacedCustomObjectAsync(
                        ClusterTestKit.TokenCredential("dry-run-probe"), resource.Group, resource.Version, workloads.Name, resource.Plural, dryRun: "All");
                    return KubernetesJson.Serialize(created);
                }
                catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    return "";
                }
            },
            created => created.Contains(ApiGroup.InUseFinalizer, StringComparison.Ordinal), "the installed finalizer policy to be in force");
        await kit.CreateAsync(ClusterTestKit.TokenCredential("survives-uninstall"));
        (await kit.GetAsync<PipelineCredential>("survives-uninstall"))!.Metadata.Finalizers.Should()
            .Contain(ApiGroup.InUseFinalizer, "the installed policy protects new credentials from their first moment");

        Helm("upgrade", "--reuse-values", "--set", "replicaCount=2");
        var scaled = (await ReadDeploymentAsync(releaseNamespace))!;
        scaled.Spec.Replicas.Should().Be(2);
        scaled.Spec.Template.Spec.TopologySpreadConstraints.Should().ContainSingle();
        (await PodDisruptionBudgetExistsAsync(releaseNamespace)).Should().BeTrue();

        Helm("upgrade", "--reuse-values", "--set", "replicaCount=1");
        (await PodDisruptionBudgetExistsAsync(releaseNamespace)).Should().BeFalse("scaling back removes the budget that would block drains");
        (await ReadDeploymentAsync(releaseNamespace))!.Spec.Template.Spec.TopologySpreadConstraints.Should().BeNullOrEmpty();

        Helm("uninstall");
        (await ReadDeploymentAsync(releaseNamespace)).Should().BeNull();
        (await StatusOfAsync($"apis/rbac.authorization.k8s.io/v1/clusterroles/{Release}")).Should().Be(HttpStatusCode.NotFound);
        (await controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync("pipelinecredentials.passbox.dev")).Should().NotBeNull();
        (await kit.GetAsync<PipelineCredential>("survives-uninstall")).Should().NotBeNull("keeping the CRDs keeps every credential");

        // Nothing runs the operator here: let the namespace's cleanup delete the credential.
        await kit.PatchAsync<PipelineCredential>("survives-uninstall", new { metadata = new { finalizers = Array.Empty<string>() } });

        void Helm(string verb, params string[] args) => Succeeds(RunHelm(Release, releaseNamespace, verb, args), verb);
    }

    [SkippableFact]
    public async Task Two_releases_in_one_namespace_each_watch_their_own_namespace_with_roles_and_a_lease_of_their_own()
    {
        Skip.IfNot(controlPlane.IsLocal, "installs Passbox cluster-wide: only on the local control plane");
        var releaseNamespace = $"passbox-teams-{Guid.NewGuid():N}"[..21];
        await using var teamA = await controlPlane.CreateNamespaceAsync("team-a");
        await using var teamB = await controlPlane.CreateNamespaceAsync("team-b");

        Succeeds(RunHelm("team-a", releaseNamespace, "install", "--create-namespace", "--take-ownership", "--set", "image.tag=test", "--set", $"watchNamespace={teamA.Name}"), "install");
        var refused = RunHelm("team-b", releaseNamespace, "install", "--set", "image.tag=test", "--set", $"watchNamespace={teamB.Name}");
        refused.ExitCode.Should().NotBe(0, "the CRDs belong to the first release");
        refused.StandardError.Should().Contain("CustomResourceDefinition \"clustercredentials.passbox.dev\"").And.Contain("current value is \"team-a\"",
            "helm names the release that owns them, so the way out (crds.enabled=false) is plain");
        Succeeds(RunHelm("team-b", releaseNamespace, "install", "--set", "image.tag=test", "--set", $"watchNamespace={teamB.Name}", "--set", "crds.enabled=false"), "install");

        foreach (var (release, watched) in new[] { ("team-a", teamA.Name), ("team-b", teamB.Name) })
        {
            var name = $"{release}-passbox";
            (await StatusOfAsync($"apis/rbac.authorization.k8s.io/v1/namespaces/{watched}/roles/{name}")).Should().Be(HttpStatusCode.OK, "{0} is granted its namespace by a Role there", release);
            (await StatusOfAsync($"apis/rbac.authorization.k8s.io/v1/namespaces/{watched}/rolebindings/{name}")).Should().Be(HttpStatusCode.OK);
            (await StatusOfAsync($"apis/rbac.authorization.k8s.io/v1/clusterroles/{name}")).Should().Be(HttpStatusCode.OK, "each reads CRDs through its own ClusterRole");
            (await StatusOfAsync($"apis/admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings/{name}-in-use-finalizer")).Should().Be(HttpStatusCode.OK);
            var deployment = await controlPlane.Admin.AppsV1.ReadNamespacedDeploymentAsync(name, releaseNamespace);
            var env = deployment.Spec.Template.Spec.Containers[0].Env.ToDictionary(e => e.Name, e => e.Value);
            env.Should().Contain("PASSBOX_WATCH_NAMESPACE", watched).And.Contain("PASSBOX_LEADER_ELECTION_NAME", $"{name}-operator");
        }

        Succeeds(RunHelm("team-a", releaseNamespace, "uninstall"), "uninstall");
        (await StatusOfAsync($"apis/rbac.authorization.k8s.io/v1/namespaces/{teamA.Name}/roles/team-a-passbox")).Should().Be(HttpStatusCode.NotFound);
        (await StatusOfAsync($"apis/rbac.authorization.k8s.io/v1/namespaces/{teamB.Name}/roles/team-b-passbox")).Should().Be(HttpStatusCode.OK, "the other release is left alone");
        (await controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync("pipelinecredentials.passbox.dev")).Should().NotBeNull("the CRDs are kept");
        Succeeds(RunHelm("team-b", releaseNamespace, "uninstall"), "uninstall");
    }

    /// <summary>
    /// With crds.keep=false the release's CRDs carry no helm.sh/resource-policy: keep, and an upgrade that stops rendering
    /// them (crds.enabled=false, as a team does to apply crds/ itself) had Helm delete them, and with them every
    /// credential in the cluster and its Secrets. Such an upgrade is refused, saying how to keep them; the way it names
    /// (keep first, then disable) leaves the CRDs and the credentials in place.
    /// </summary>
    [SkippableFact]
    public async Task Turning_off_CRDs_installed_without_keep_is_refused_instead_of_deleting_every_credential()
    {
        Skip.IfNot(controlPlane.IsLocal, "installs Passbox cluster-wide: only on the local control plane");
        var releaseNamespace = $"passbox-crds-{Guid.NewGuid():N}"[..20];
        await using var workloads = await controlPlane.CreateNamespaceAsync("crdkeep");
        var kit = new ClusterTestKit(controlPlane, workloads.Name);
        Helm("install", "--create-namespace", "--take-ownership", "--set", "image.tag=test", "--set", "crds.keep=false", "--set", "finalizerPolicy.enabled=false");
        await kit.CreateAsync(ClusterTestKit.TokenCredential("kept-through-upgrades"));

        var refused = RunHelm(Release, releaseNamespace, "upgrade", "--reuse-values", "--set", "crds.enabled=false");

        refused.ExitCode.Should().NotBe(0, "Helm would delete the CRDs and every credential with them");
        refused.StandardError.Should().Contain("crds.enabled=false would make Helm delete the CustomResourceDefinition")
            .And.Contain("crds.keep=true");
        (await kit.GetAsync<PipelineCredential>("kept-through-upgrades")).Should().NotBeNull();

        Helm("upgrade", "--reuse-values", "--set", "crds.keep=true");
        Helm("upgrade", "--reuse-values", "--set", "crds.enabled=false");
        (await controlPlane.Admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync("pipelinecredentials.passbox.dev")).Should().NotBeNull();
        (await kit.GetAsync<PipelineCredential>("kept-through-upgrades")).Should().NotBeNull("the CRDs, kept, still hold every credential");

        Helm("uninstall");
        await kit.PatchAsync<PipelineCredential>("kept-through-upgrades", new { metadata = new { finalizers = Array.Empty<string>() } });

        void Helm(string verb, params string[] args) => Succeeds(RunHelm(Release, releaseNamespace, verb, args), verb);
    }

    private static void Succeeds(ToolResult result, string verb) =>
        result.ExitCode.Should().Be(0, "helm {0} said:\n{1}\n{2}", verb, result.StandardError, result.StandardOutput);

    private ToolResult RunHelm(string release, string releaseNamespace, string verb, params string[] args)
    {
        var result = ShippingTools.TryRun(ShippingTools.Helm,
            [verb, release, .. verb == "uninstall" ? Array.Empty<string>() : [ShippingManifests.ChartPath], "--namespace", releaseNamespace, "--kubeconfig", controlPlane.AdminKubeconfig, .. args],
            timeout: TimeSpan.FromMinutes(3));
        output.WriteLine($"helm {verb} {release}: exit {result.ExitCode}\n{result.StandardError}{(result.ExitCode == 0 ? string.Empty : result.StandardOutput)}");
        return result;
    }

    private async Task<k8s.Models.V1Deployment?> ReadDeploymentAsync(string ns)
    {
        try
        {
            return await controlPlane.Admin.AppsV1.ReadNamespacedDeploymentAsync(Release, ns);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<bool> PodDisruptionBudgetExistsAsync(string ns) =>
        await StatusOfAsync($"apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/{Release}") switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            var other => throw new InvalidOperationException($"Reading the PodDisruptionBudget answered {(int)other}"),
        };

    private async Task<HttpStatusCode> StatusOfAsync(string path)
    {
        using var response = await controlPlane.AdminApi.SendAsync(HttpMethod.Get, path, null, "application/json", false, CancellationToken.None);
        return response.StatusCode;
    }
}

/// <summary>A control plane of its own for <see cref="HelmLifecycleTests"/>, which installs Passbox cluster-wide.</summary>
[CollectionDefinition(Name)]
public sealed class HelmLifecycleDefinition : ICollectionFixture<ControlPlaneFixture>
{
    public const string Name = "helm lifecycle";
}
