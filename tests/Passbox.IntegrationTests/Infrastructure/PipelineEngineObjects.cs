using System.Net;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.IntegrationTests.Operator;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// What end-to-end tests of runs and their definitions do with the stand-in CRDs of <see cref="PipelineEngineCrds"/>:
/// install the ones the cluster lacks (and later remove only those, so a real installation is left alone), create an
/// object once its kind is served, and write the status a Tekton controller would.
/// </summary>
public sealed class PipelineEngineObjects(ControlPlaneFixture controlPlane)
{
    private readonly Kubernetes admin = controlPlane.Admin;

    /// <summary>
    /// Creates the stand-in CRDs the cluster lacks, for one test: disposing the answer deletes those again, and only
    /// those (a real installation is left alone), also when the test fails, so the next test finds the cluster as it was.
    /// </summary>
    public async Task<InstalledCrds> InstallMissingCrdsAsync(params ResourceDescriptor[] resources) =>
        new(this, await EnsureCrdsAsync(resources));

    /// <summary>Creates the stand-in CRDs the cluster lacks; returns those it created.</summary>
    private async Task<List<string>> EnsureCrdsAsync(params ResourceDescriptor[] resources)
    {
        var created = new List<string>();
        foreach (var crd in resources.Select(PipelineEngineCrds.For))
        {
            if (await TryGetCrdAsync(crd.Metadata.Name) is null)
            {
                await controlPlane.ApplyCrdAsync(crd);
                created.Add(crd.Metadata.Name);
            }
        }

        return created;
    }

    internal async Task DeleteCrdsAsync(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            await DeleteCrdAsync(name);
        }
    }

    public async Task DeleteCrdAsync(string name)
    {
        await admin.ApiextensionsV1.DeleteCustomResourceDefinitionAsync(name);
        await ClusterTestKit.EventuallyAsync(() => TryGetCrdAsync(name), crd => crd is null, $"CRD {name} to be deleted");
    }

    public async Task<V1CustomResourceDefinition?> TryGetCrdAsync(string name)
    {
        try
        {
            return await admin.ApiextensionsV1.ReadCustomResourceDefinitionAsync(name);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>Creates a custom object in <paramref name="namespace"/>, or, of a cluster-scoped kind, in no namespace.</summary>
    public async Task CreateAsync(ResourceDescriptor resource, string @namespace, string name, JsonObject spec, IDictionary<string, string>? annotations = null)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var metadata = new JsonObject { ["name"] = name };
        if (resource.Namespaced)
        {
            metadata["namespace"] = @namespace;
        }

        if (annotations is not null)
        {
            metadata["annotations"] = new JsonObject([.. annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)a.Value))]);
        }

        var item = new JsonObject
        {
            ["apiVersion"] = resource.ApiVersion,
            ["kind"] = resource.Kind,
            ["metadata"] = metadata,
            ["spec"] = spec,
        };
        // A CRD (or a version added to one) is served a moment after the API server accepts it, even once Established:
        // until then the collection answers 404. Anything else, or a 404 that lasts, fails the test.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            try
            {
                await controlPlane.AdminApi.PostAsync<JsonObject>(resource.CollectionPath(resource.Namespaced ? @namespace : null), item, CancellationToken.None);
                return;
            }
            catch (KubernetesApiException e) when (e.IsNotFound && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>What Tekton's controller writes when a run ends well.</summary>
    public async Task SetRunSucceededAsync(ResourceDescriptor runs, string @namespace, string name) =>
        await controlPlane.AdminApi.PatchAsync<JsonObject>(
            runs.ItemPath(new ObjectKey(@namespace, name)) + "/status",
            new JsonObject
            {
                ["status"] = new JsonObject
                {
                    ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Succeeded", ["status"] = "True", ["reason"] = "Succeeded" }),
                },
            },
            CancellationToken.None);
}

/// <summary>The stand-in CRDs one test created (see <see cref="PipelineEngineObjects.InstallMissingCrdsAsync"/>); disposing deletes them.</summary>
public sealed class InstalledCrds(PipelineEngineObjects engines, IReadOnlyList<string> names) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await engines.DeleteCrdsAsync(names);
}
