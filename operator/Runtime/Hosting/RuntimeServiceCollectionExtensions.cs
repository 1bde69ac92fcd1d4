using System.Diagnostics.CodeAnalysis;
using k8s;
using k8s.Models;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Events;
using Passbox.Operator.Runtime.Finalizers;
using Passbox.Operator.Runtime.Health;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Memory;
using Passbox.Operator.Runtime.Metrics;
using Passbox.Operator.Runtime.Status;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Runtime.Hosting;

/// <summary>
/// Registration of the runtime. In Program.cs:
/// <code>
/// builder.Services.AddPassboxRuntime(o => o with { LeaderElection = o.LeaderElection with { Enabled = false } });
/// builder.Services.AddInformer&lt;ClusterCredential&gt;("credentials", ResourceDescriptor.For&lt;ClusterCredential&gt;());
/// builder.Services.AddInformer&lt;V1Secret&gt;("generated-secrets", ResourceDescriptor.Secrets,
///     new InformerOptions&lt;V1Secret&gt; { LabelSelector = "app.kubernetes.io/managed-by=passbox", Transform = HashData });
/// builder.Services.AddController&lt;ClusterCredential, ClusterCredentialReconciler&gt;("clustercredential", "credentials",
///     (controller, sp) =&gt; controller.Watches(sp.GetInformer&lt;V1Secret&gt;("generated-secrets"), EventMaps.ByLabel&lt;V1Secret&gt;("passbox.dev/credential")));
/// var app = builder.Build();
/// app.MapPassboxRuntimeEndpoints();
/// </code>
/// </summary>
public static class RuntimeServiceCollectionExtensions
{
    public static IServiceCollection AddPassboxRuntime(this IServiceCollection services, Func<RuntimeOptions, RuntimeOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = configure?.Invoke(new RuntimeOptions()) ?? new RuntimeOptions();
        var shutdown = options.Shutdown.Validated();
        services.AddSingleton(options);

        // The host's default (30 s) was the pods' grace period: a stop that used it all was killed before it exited.
        services.Configure<HostOptions>(host => host.ShutdownTimeout = shutdown.HostTimeout);

        // Before the first scrape, which starts prometheus-net's adapter of the process's .NET meters.
        MeterExport.ApplyToDefaultRegistry();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => BufferedResponses.Client(Kubeconfigs.ClientConfiguration()));
        services.TryAddSingleton<IKubernetes>(sp => sp.GetRequiredService<Kubernetes>());
        services.TryAddSingleton(sp => new KubernetesApiClient(sp.GetRequiredService<Kubernetes>()));
        services.TryAddSingleton(sp => new StatusWriter(
            sp.GetRequiredService<KubernetesApiClient>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<StatusWriter>>(), options.Status));
        services.TryAddSingleton<OwnWrites>();
        services.TryAddSingleton(sp => new FinalizerManager(
            sp.GetRequiredService<KubernetesApiClient>(), sp.GetRequiredService<ILogger<FinalizerManager>>(), sp.GetRequiredService<OwnWrites>()));
        services.TryAddSingleton(sp => new EventRecorder(
            sp.GetRequiredService<KubernetesApiClient>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<EventRecorder>>(), options.Events));
        services.TryAddSingleton<IEventRecorder>(sp => sp.GetRequiredService<EventRecorder>());
        services.TryAddSingleton(sp => new LeaderElectionRunner(
            sp.GetRequiredService<IKubernetes>(), options.LeaderElection with { ReleaseTimeout = shutdown.LeaseRelease },
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<LeaderElectionRunner>>()));
        // Registered before the controllers so that it stops after them and writes their last events.
        services.AddHostedService<EventFlushOnShutdown>();
        services.AddHostedService<ControllerManager>();
        services.TryAddSingleton<IManagedHeap, ProcessManagedHeap>();
        services.AddHostedService(sp => new HeapTrimmer(
            sp.GetRequiredService<IManagedHeap>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<HeapTrimmer>>(), options.HeapTrim));
        services.AddHealthChecks().AddCheck<RuntimeReadinessCheck>("runtime", tags: [RuntimeEndpointExtensions.ReadyTag]);
        return services;
    }

    /// <summary>Registers an informer under <paramref name="name"/>; it runs for the life of the process.</summary>
    public static IServiceCollection AddInformer<T>(this IServiceCollection services, string name, ResourceDescriptor resource, InformerOptions<T>? options = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(resource);
        services.AddKeyedSingleton<Informer<T>>(name, (sp, _) => new Informer<T>(
            sp.GetRequiredService<KubernetesApiClient>(),
            resource,
            (options ?? new InformerOptions<T>()) with { Name = options?.Name ?? name },
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger($"Passbox.Operator.Runtime.Informer.{name}")));
        services.AddKeyedSingleton<IInformer<T>>(name, (sp, key) => sp.GetRequiredKeyedService<Informer<T>>(key));
        services.AddSingleton<IInformer>(sp => sp.GetRequiredKeyedService<Informer<T>>(name));
        return services;
    }

    /// <summary>
    /// Registers a controller for the informer named <paramref name="primaryInformer"/>, reconciled by
    /// <typeparamref name="TReconciler"/>; <paramref name="configure"/> adds secondary watches.
    /// </summary>
    public static IServiceCollection AddController<T, [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] TReconciler>(
        this IServiceCollection services,
        string name,
        string primaryInformer,
        Action<Controller<T>, IServiceProvider>? configure = null,
        ControllerOptions? options = null)
        where T : class, IKubernetesObject<V1ObjectMeta>
        where TReconciler : class, IReconciler<T>
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentException.ThrowIfNullOrEmpty(primaryInformer);
        services.TryAddSingleton<TReconciler>();
        services.AddSingleton<IController>(sp =>
        {
            // The controller manager cancels what is still running at the end of the budget's drain; a deadline of the
            // controller's own (15 s by default) cut a drain lengthened for a longer pod grace period short.
            var drain = sp.GetService<RuntimeOptions>()?.Shutdown.Drain;
            var controllerOptions = drain is { } budgetDrain ? (options ?? new ControllerOptions()) with { DrainTimeout = budgetDrain } : options;
            var controller = new Controller<T>(
                name,
                sp.GetInformer<T>(primaryInformer),
                sp.GetRequiredService<TReconciler>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILoggerFactory>().CreateLogger($"Passbox.Operator.Runtime.Controller.{name}"),
                controllerOptions,
                sp.GetRequiredService<OwnWrites>());
            configure?.Invoke(controller, sp);
            return controller;
        });
        return services;
    }

    public static IInformer<T> GetInformer<T>(this IServiceProvider services, string name)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(services);
        return services.GetRequiredKeyedService<IInformer<T>>(name);
    }
}
