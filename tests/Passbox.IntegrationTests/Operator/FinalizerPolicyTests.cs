using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.IntegrationTests.Shipping;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.IntegrationTests.Operator;

/// <summary>
/// The chart's MutatingAdmissionPolicy (Kubernetes 1.36+) on a real API server: new credentials arrive with the in-use
/// finalizer, the operator then makes them Ready without a finalizer write of its own, and deleting one still ends with
/// the operator removing the finalizer. The policy is rendered by helm for the test's namespace only (watchNamespace),
/// so the other tests sharing the control plane keep the operator's own finalizer path.
/// </summary>
[Collection(OperatorTestsDefinition.Name)]
public sealed class FinalizerPolicyTests(ControlPlaneFixture controlPlane, MariaDbFixture mariaDb) : IAsyncLifetime
{
    private const string OperatorUser = "passbox-operator";
    private OperatorRun run = null!;
    private string policyManifests = "";

    public async Task InitializeAsync() => run = await OperatorRun.StartAsync(controlPlane, "fpolicy");

    public async Task DisposeAsync()
    {
        if (policyManifests.Length > 0)
        {
            Kubectl("delete", "--ignore-not-found", "-f", "-");
        }

        await run.DisposeAsync();
    }

    [SkippableFact]
    public async Task A_credential_is_admitted_with_the_finalizer_and_becomes_Ready_without_a_finalizer_write_of_the_operator()
    {
        Skip.IfNot(await InstallPolicyAsync(), "this cluster does not serve MutatingAdmissionPolicy (Kubernetes < 1.36)");

        var kit = run.Kit;
        var user = await mariaDb.CreateUserAsync(ClusterTestKit.Unique("fp_"));
        run.MarkSecret(user.Password);
        await kit.CreateSecretAsync("fp-input", new Dictionary<string, string> { ["password"] = user.Password });
        var mark = controlPlane.AuditLog?.Mark();

        var created = await kit.CreateAsync(mariaDb.MySqlCredential("fp", user.LoginName, "fp-input"));

        created.Metadata.Finalizers.Should().Equal([ApiGroup.InUseFinalizer], "the API server added it while admitting the create");
        await kit.WaitForConditionAsync<ClusterCredential>("fp", ConditionTypes.Ready, "True");
        ClusterTestKit.Decode(await kit.WaitForSecretAsync("fp"))["password"].Should().Be(user.Password);
        if (mark is { } since)
        {
            controlPlane.AuditLog!.Since(since, OperatorUser, run.Namespace)
                .Where(e => e.Resource == "clustercredentials" && e.Subresource is null && e.Verb is "patch" or "update")
                .Should().BeEmpty("the finalizer was already there, so the operator writes only the status");
        }

        // Deleting it: the operator still owns the finalizer's removal, and the policy (CREATE only) does not put it back.
        await kit.DeleteAsync<ClusterCredential>("fp");
        await ClusterTestKit.EventuallyAsync(() => kit.GetAsync<ClusterCredential>("fp"), c => c is null, "the credential to be deleted");
        (await kit.TryGetSecretAsync("fp")).Should().BeNull("the published Secret goes with its credential");
    }

    [SkippableFact]
    public async Task A_credential_in_a_namespace_the_operator_does_not_watch_gets_no_finalizer()
    {
        Skip.IfNot(await InstallPolicyAsync(), "this cluster does not serve MutatingAdmissionPolicy (Kubernetes < 1.36)");

        await using var elsewhere = await controlPlane.CreateNamespaceAsync("fp-other");
        await LabelAsync(elsewhere.Name);
        var other = new ClusterTestKit(controlPlane, elsewhere.Name);

        var created = await other.CreateAsync(mariaDb.MySqlCredential("unwatched", "app", "input"));

        created.Metadata.Finalizers.Should().BeNullOrEmpty("nothing would ever remove a finalizer from a credential no operator watches");
    }

    [SkippableFact]
    public async Task A_finalizer_the_user_wrote_is_kept_beside_the_in_use_finalizer()
    {
        Skip.IfNot(await InstallPolicyAsync(), "this cluster does not serve MutatingAdmissionPolicy (Kubernetes < 1.36)");

        var credential = mariaDb.MySqlCredential("own-finalizer", "app", "input");
        credential.Metadata.Finalizers = ["example.com/audit-hold"];

        var created = await run.Kit.CreateAsync(credential);

        created.Metadata.Finalizers.Should().Equal("example.com/audit-hold", ApiGroup.InUseFinalizer);
    }

    /// <summary>
    /// Installs the chart's policy as helm would for an operator watching only this test's namespace. False on a cluster
    /// given by kubeconfig that predates the API (Kubernetes &lt; 1.36); the local control plane serves it.
    /// </summary>
    private async Task<bool> InstallPolicyAsync()
    {
        var served = Kubectl("api-resources", "--api-group=admissionregistration.k8s.io", "-o", "name")
            .Split('\n').Contains("mutatingadmissionpolicies.admissionregistration.k8s.io");
        served.Should().Be(served || !controlPlane.IsLocal, "the local control plane serves MutatingAdmissionPolicy");
        if (!served)
        {
            return false;
        }

        policyManifests = string.Join("\n---\n", ShippingManifests
            .HelmDocumentsOnCluster([ShippingManifests.MutatingAdmissionPolicyApi], ClusterTestKit.Unique("fp-"), $"watchNamespace={run.Namespace}")
            .Where(d => ((string?)d["kind"])?.StartsWith("MutatingAdmissionPolicy", StringComparison.Ordinal) == true)
            .Select(d => d.ToJsonString()));
        Kubectl("apply", "-f", "-");
        await LabelAsync(run.Namespace);
        await WaitForPolicyAsync(run.Namespace);
        return true;
    }

    /// <summary>A real API server labels every namespace with its name; the local control plane has no namespace defaulting.</summary>
    private Task<V1Namespace> LabelAsync(string name) => controlPlane.Admin.CoreV1.PatchNamespaceAsync(
        new V1Patch(
            KubernetesJson.Serialize(new { metadata = new { labels = new Dictionary<string, string> { ["kubernetes.io/metadata.name"] = name } } }),
            V1Patch.PatchType.MergePatch), name);

    /// <summary>
    /// The policy reaches admission through an informer, and for a kind it has not seen the API server answers 503
    /// until its periodic read of the OpenAPI (every 5 s) knows the CRD's schema — as on a real cluster right after
    /// installing the chart. Dry-run creates show when the policy is in force.
    /// </summary>
    private async Task WaitForPolicyAsync(string @namespace)
    {
        var resource = Passbox.Operator.Runtime.Api.ResourceDescriptor.For<ClusterCredential>();
        var probe = mariaDb.MySqlCredential(ClusterTestKit.Unique("probe-"), "probe", "probe");
        probe.Metadata.NamespaceProperty = @namespace;
        async Task<string> DryRunFinalizersAsync()
        {
            try
            {
                var created = await controlPlane.Admin.CustomObjects.CreateNamespacedCustomObjectAsync(
                    probe, resource.Group, resource.Version, @namespace, resource.Plural, dryRun: "All");
                return JsonNode.Parse(KubernetesJson.Serialize(created))!["metadata"]!["finalizers"]?.ToJsonString() ?? "";
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return "";
            }
        }

        await ClusterTestKit.EventuallyAsync(DryRunFinalizersAsync, finalizers => finalizers.Contains(ApiGroup.InUseFinalizer, StringComparison.Ordinal),
            "the finalizer policy to be in force");
    }

    private string Kubectl(params string[] args) =>
        ShippingTools.Run(ShippingTools.Kubectl, ["--kubeconfig", controlPlane.AdminKubeconfig, .. args], stdin: policyManifests);
}
