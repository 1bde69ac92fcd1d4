using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// Feeds the <see cref="UsageIndex"/> from the informers of every <see cref="UsageSources">usage source</see> (the
/// custom resources through <see cref="CustomResourceUsageFeed"/>), and makes controllers wait for those informers to
/// sync: a deletion must never be let through on a half-filled index.
/// <para>
/// Only namespaces that hold a credential are indexed (<see cref="UsageScope"/>): a Pod can mount only Secrets of its
/// own namespace, so users elsewhere can never hold a credential's Secret, and the Pods and workloads of the rest of the
/// cluster cost no memory. A namespace that gets its first credential later is listed then. Tekton Tasks and Pipelines
/// are also listed in the namespaces whose definitions runs reach through the cluster resolver
/// (<see cref="UsageScope.Definitions"/>), as the index names them.
/// </para>
/// </summary>
public sealed class UsageFeed : IDisposable
{
    private readonly List<IDisposable> subscriptions = [];
    private readonly List<IAttachable> attachments = [];
    private readonly CustomResourceUsageFeed customResources;

    public UsageFeed(IServiceProvider services, UsageIndex index)
    {
        Add(services, index, UsageSources.Pods);
        Add(services, index, UsageSources.Deployments);
        Add(services, index, UsageSources.StatefulSets);
        Add(services, index, UsageSources.DaemonSets);
        Add(services, index, UsageSources.ReplicaSets);
        Add(services, index, UsageSources.Jobs);
        Add(services, index, UsageSources.CronJobs);
        Add(services, index, UsageSources.ServiceAccounts);
        customResources = services.GetRequiredService<CustomResourceUsageFeed>();
    }

    public static IServiceCollection Register(IServiceCollection services, string? watchNamespace)
    {
        var scope = new UsageScope(followsOtherNamespaces: watchNamespace is null);
        services.AddSingleton(scope);
        Register(services, UsageSources.Pods, watchNamespace, scope);
        Register(services, UsageSources.Deployments, watchNamespace, scope);
        Register(services, UsageSources.StatefulSets, watchNamespace, scope);
        Register(services, UsageSources.DaemonSets, watchNamespace, scope);
        Register(services, UsageSources.ReplicaSets, watchNamespace, scope);
        Register(services, UsageSources.Jobs, watchNamespace, scope);
        Register(services, UsageSources.CronJobs, watchNamespace, scope);
        Register(services, UsageSources.ServiceAccounts, watchNamespace, scope);
        services.AddSingleton(_ =>
        {
            var index = new UsageIndex();
            index.DefinitionNamespaceNamed += scope.FollowDefinitionsOf;
            return index;
        });
        services.AddSingleton(sp => new CustomResourceUsageFeed(
            sp.GetRequiredService<KubernetesApiClient>(),
            sp.GetRequiredService<UsageIndex>(),
            watchNamespace,
            scope,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IInformer>(sp => sp.GetRequiredService<CustomResourceUsageFeed>());
        services.AddSingleton<IInstalledDefinitions>(sp => sp.GetRequiredService<CustomResourceUsageFeed>());
        services.AddSingleton<UsageFeed>();
        return services;
    }

    /// <summary>Adds the usage informers to a controller's informers, so it starts only after they synced.</summary>
    public void AttachTo<T>(Controller<T> controller)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        foreach (var attachable in attachments)
        {
            attachable.AttachTo(controller);
        }

        controller.WaitsFor(customResources);
    }

    public void Dispose()
    {
        foreach (var subscription in subscriptions)
        {
            subscription.Dispose();
        }
    }

    private static void Register<TSource>(IServiceCollection services, UsageSource<TSource> source, string? watchNamespace, UsageScope scope)
        where TSource : class, IKubernetesObject<V1ObjectMeta> =>
        services.AddInformer(source.InformerName, source.Resource, source.InformerOptions(watchNamespace, scope.Namespaces));

    private void Add<TSource>(IServiceProvider services, UsageIndex index, UsageSource<TSource> source)
        where TSource : class, IKubernetesObject<V1ObjectMeta>
    {
        var informer = services.GetInformer<TSource>(source.InformerName);
        subscriptions.Add(source.Feed(informer, index));
        attachments.Add(new Attachable<TSource>(informer));
    }

    private interface IAttachable
    {
        void AttachTo<T>(Controller<T> controller)
            where T : class, IKubernetesObject<V1ObjectMeta>;
    }

    /// <summary>
    /// Controllers of both kinds share these informers. Their events map to no key: the index's change notification,
    /// not the raw event, says which credentials to look at again.
    /// </summary>
    private sealed class Attachable<TSource>(IInformer<TSource> informer) : IAttachable
        where TSource : class, IKubernetesObject<V1ObjectMeta>
    {
        public void AttachTo<T>(Controller<T> controller)
            where T : class, IKubernetesObject<V1ObjectMeta> => controller.Watches(informer, _ => []);
    }
}
