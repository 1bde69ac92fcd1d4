using System.Text.Json.Nodes;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.IntegrationTests.Runtime;

/// <summary>Small helpers shared by the runtime's integration tests.</summary>
internal static class RuntimeTestKit
{
    public static readonly ResourceDescriptor Widgets = ResourceDescriptor.For<Widget>();

    public static Task<Widget> CreateWidgetAsync(this KubernetesApiClient api, string @namespace, string name, int size = 1) =>
        api.PostAsync<Widget>(Widgets.CollectionPath(@namespace), Widget.New(@namespace, name, size), CancellationToken.None);

    public static Task<Widget> ResizeWidgetAsync(this KubernetesApiClient api, string @namespace, string name, int size) =>
        api.PatchAsync<Widget>(Widgets.ItemPath(new ObjectKey(@namespace, name)), new JsonObject { ["spec"] = new JsonObject { ["size"] = size } }, CancellationToken.None);

    public static async Task DeleteWidgetAsync(this KubernetesApiClient api, string @namespace, string name)
    {
        using var response = await api.SendAsync(HttpMethod.Delete, Widgets.ItemPath(new ObjectKey(@namespace, name)), null, "application/json", false, CancellationToken.None);
        await KubernetesApiClient.EnsureSuccessAsync(response, CancellationToken.None);
    }

    public static Informer<T> Informer<T>(KubernetesApiClient api, ResourceDescriptor resource, InformerOptions<T> options)
        where T : class, IKubernetesObject<k8s.Models.V1ObjectMeta> =>
        new(api, resource, options, TimeProvider.System, NullLogger.Instance);

    public static async Task EventuallyAsync(Func<bool> condition, TimeSpan? timeout = null, string because = "")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(25);
        }

        condition().Should().BeTrue(because);
    }

    public static double MetricValue(Prometheus.Counter counter, params string[] labels) => counter.WithLabels(labels).Value;
}

/// <summary>Records informer events per key in arrival order.</summary>
internal sealed class EventLog<T>
    where T : class, IKubernetesObject<k8s.Models.V1ObjectMeta>
{
    private readonly Lock gate = new();
    private readonly List<(InformerEventType Type, string Key, string? ResourceVersion)> events = [];

    public void Record(InformerEvent<T> change)
    {
        lock (gate)
        {
            events.Add((change.Type, ObjectKey.Of(change.Current).Name, change.Current.Metadata.ResourceVersion));
        }
    }

    public IReadOnlyList<(InformerEventType Type, string Key, string? ResourceVersion)> All
    {
        get
        {
            lock (gate)
            {
                return [.. events];
            }
        }
    }

    public int Count(InformerEventType type, string key) => All.Count(e => e.Type == type && e.Key == key);
}
