using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// What a user installs is accepted by a real API server: the rendered chart and config/default, CRDs included, go
/// through <c>kubectl apply --server-side --dry-run=server</c> (schema, server-side apply and naming checks) without
/// storing anything.
/// </summary>
[Collection(ControlPlaneDefinition.Name)]
public sealed class ServerSideDryRunTests(ControlPlaneFixture controlPlane) : IAsyncLifetime
{
    /// <summary>The namespace a single-namespace install watches (its Role is created there).</summary>
    private const string WatchedNamespace = "dry-run-team";

    public async Task InitializeAsync()
    {
        // A cluster refuses namespaced objects in a namespace that does not exist, even in a dry run; the chart
        // renders no Namespace (helm --create-namespace makes it), so it is created for real.
        foreach (var name in new[] { ShippingManifests.DefaultNamespace, WatchedNamespace })
        {
            try
            {
                await controlPlane.Admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
            }
            catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
            {
                // Another test of this control plane made it already.
            }
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public Task The_Helm_chart_with_default_values_applies_cleanly_in_a_server_side_dry_run() =>
        AssertAppliesCleanlyAsync(ShippingManifests.RenderHelmChart(), "helm template");

    [Fact]
    public Task The_Helm_chart_with_two_replicas_applies_cleanly_in_a_server_side_dry_run() =>
        AssertAppliesCleanlyAsync(ShippingManifests.RenderHelmChart("replicaCount=2"), "helm template --set replicaCount=2");

    [Fact]
    public Task The_Helm_chart_for_one_namespace_applies_cleanly_in_a_server_side_dry_run() =>
        AssertAppliesCleanlyAsync(ShippingManifests.RenderHelmChart($"watchNamespace={WatchedNamespace}"), "helm template --set watchNamespace=…");

    /// <summary>Every object but the metrics Service takes a name starting with a digit: without the Service, so does the chart.</summary>
    [Fact]
    public Task The_Helm_chart_with_a_full_name_starting_with_a_digit_and_no_Service_applies_cleanly_in_a_server_side_dry_run() =>
        AssertAppliesCleanlyAsync(
            ShippingManifests.RenderHelmChart(
                ShippingManifests.DefaultRelease, ShippingManifests.DefaultNamespace, "fullnameOverride=1passbox", "metrics.service.enabled=false", "replicaCount=2"),
            "helm template --set fullnameOverride=1passbox,metrics.service.enabled=false,replicaCount=2");

    [Fact]
    public Task The_kustomize_default_config_applies_cleanly_in_a_server_side_dry_run() =>
        AssertAppliesCleanlyAsync(ShippingManifests.RenderKustomize(), "kubectl kustomize config/default");

    [Fact]
    public Task The_kustomize_namespaced_config_applies_cleanly_in_a_server_side_dry_run() =>
        AssertAppliesCleanlyAsync(ShippingManifests.RenderKustomize(ShippingManifests.KustomizeNamespaced), "kubectl kustomize config/namespaced");

    private async Task AssertAppliesCleanlyAsync(string manifests, string source)
    {
        var documents = YamlDocuments.Parse(manifests);
        documents.OfKind("CustomResourceDefinition").Should().HaveCount(2, "{0} ships both CRDs", source);

        var result = ShippingTools.TryRun(
            ShippingTools.Kubectl,
            ["--kubeconfig", controlPlane.AdminKubeconfig, "apply", "--server-side", "--dry-run=server", "--field-manager=passbox-install", "-f", "-"],
            stdin: manifests);

        result.ExitCode.Should().Be(0, "{0} must apply cleanly; kubectl said:\n{1}\n{2}", source, result.StandardError, result.StandardOutput);
        result.StandardError.Should().BeEmpty("no warnings either");
        var applied = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        applied.Should().HaveCount(documents.Count, "every object of {0} is reported", source)
            .And.OnlyContain(line => line.EndsWith("serverside-applied (server dry run)", StringComparison.Ordinal));

        // A dry run stores nothing: the operator's Deployment and ClusterRole are still absent.
        foreach (var (kind, path) in new[]
        {
            ("Deployment", $"apis/apps/v1/namespaces/{ShippingManifests.DefaultNamespace}/deployments/"),
            ("ClusterRole", "apis/rbac.authorization.k8s.io/v1/clusterroles/"),
        })
        {
            var name = (string)documents.OfKind(kind).Single()["metadata"]!["name"]!;
            (await ExistsAsync(path + name)).Should().BeFalse("{0} {1} must not be stored by a dry run", kind, name);
        }
    }

    private async Task<bool> ExistsAsync(string relativeUri)
    {
        using var response = await controlPlane.AdminApi.SendAsync(HttpMethod.Get, relativeUri, null, "application/json", false, CancellationToken.None);
        return response.StatusCode != HttpStatusCode.NotFound;
    }
}
