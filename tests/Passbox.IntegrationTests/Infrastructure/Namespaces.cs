using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A namespace of one test, with a unique name. The local control plane has no namespace lifecycle
/// controller (deleting a namespace leaves its objects behind), so disposal deletes the objects of
/// the kinds tests create, clearing finalizers first, and then the namespace.
/// </summary>
public sealed class TestNamespace : IAsyncDisposable
{
    private static readonly ResourceDescriptor[] CleanedKinds =
    [
        ResourceDescriptor.Secrets,
        ResourceDescriptor.ConfigMaps,
        ResourceDescriptor.Events,
        ResourceDescriptor.Leases,
        ResourceDescriptor.Pods,
        ResourceDescriptor.ServiceAccounts,
        ResourceDescriptor.Deployments,
        ResourceDescriptor.StatefulSets,
        ResourceDescriptor.DaemonSets,
        ResourceDescriptor.ReplicaSets,
        ResourceDescriptor.Jobs,
        ResourceDescriptor.CronJobs,
        ResourceDescriptor.For<Passbox.Operator.Api.V1Alpha1.ClusterCredential>(),
        ResourceDescriptor.For<Passbox.Operator.Api.V1Alpha1.PipelineCredential>(),
        new(ControlPlaneTestCrd.Group, ControlPlaneTestCrd.Version, ControlPlaneTestCrd.Plural, ControlPlaneTestCrd.Kind),
    ];

    private readonly ControlPlaneFixture controlPlane;

    private TestNamespace(ControlPlaneFixture controlPlane, string name)
    {
        this.controlPlane = controlPlane;
        Name = name;
    }

    public string Name { get; }

    public static async Task<TestNamespace> CreateAsync(ControlPlaneFixture controlPlane, string purpose)
    {
        ArgumentNullException.ThrowIfNull(controlPlane);
        var name = $"rt-{purpose}-{Guid.NewGuid():N}"[..Math.Min(40, purpose.Length + 12)].ToLowerInvariant().TrimEnd('-');
        await controlPlane.Admin.CoreV1.CreateNamespaceAsync(new V1Namespace { Metadata = new V1ObjectMeta { Name = name } });
        return new TestNamespace(controlPlane, name);
    }

    public override string ToString() => Name;

    public async ValueTask DisposeAsync()
    {
        var api = controlPlane.AdminApi;
        foreach (var kind in CleanedKinds)
        {
            try
            {
                await ClearFinalizersAsync(api, kind);
                using var response = await api.SendAsync(HttpMethod.Delete, kind.CollectionPath(Name), null, "application/json", false, CancellationToken.None);
            }
            catch (Exception e) when (e is HttpRequestException or KubernetesApiException)
            {
                // Best effort: a kind the cluster does not serve has nothing to clean.
            }
        }

        try
        {
            await controlPlane.Admin.CoreV1.DeleteNamespaceAsync(Name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }

    private async Task ClearFinalizersAsync(KubernetesApiClient api, ResourceDescriptor kind)
    {
        var list = await api.GetAsync<JsonObject>(kind.CollectionPath(Name), CancellationToken.None);
        foreach (var item in list["items"]?.AsArray() ?? [])
        {
            if (item?["metadata"]?["finalizers"] is JsonArray { Count: > 0 })
            {
                var name = item["metadata"]!["name"]!.GetValue<string>();
                await api.PatchAsync<JsonObject>(kind.ItemPath(new Passbox.Operator.Runtime.ObjectKey(Name, name)), new JsonObject { ["metadata"] = new JsonObject { ["finalizers"] = null } }, CancellationToken.None);
            }
        }
    }
}
