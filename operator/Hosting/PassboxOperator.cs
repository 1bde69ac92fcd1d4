using k8s;
using k8s.Models;
using Microsoft.Extensions.Configuration.Memory;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Hosting;
using Passbox.Operator.Runtime.Status;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Hosting;

/// <summary>
/// Composes the operator: the runtime, one informer per watched kind, the two credential controllers and their
/// secondary watches. Tests build the same application with their own kubeconfig and logging.
/// </summary>
public static class PassboxOperator
{
    public const int DefaultHttpPort = 8080;
    public const string ClusterCredentials = "clustercredentials";
    public const string PipelineCredentials = "pipelinecredentials";
    public const string SourceSecrets = "source-secrets";

    /// <summary>Credential informer index: <c>namespace/secret</c> of every source Secret a credential reads.</summary>
    public const string SourceSecretIndex = "source-secrets";

    /// <summary>Credential informer index: <c>namespace/secret</c> of the Secret a credential generates.</summary>
    public const string GeneratedSecretIndex = "generated-secret";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        OperatorJson.Register();
        var builder = WebApplication.CreateBuilder(args);
        // Kubelet probes and Prometheus scrapes reach /healthz, /readyz and /metrics every few seconds, and ASP.NET Core
        // logs four Information lines per request: tens of thousands of lines a day saying nothing. Its categories
        // default to Warning here, as the lowest-priority source, so Logging__LogLevel__Microsoft.AspNetCore still wins.
        // The health check service logs each unhealthy answer as an error: while a pod is not ready (an API server outage,
        // a role without list) that was an error line per readiness probe, every 5 s, repeating what /readyz answers and
        // the informers and election already log once per retry. Only failures worse than that are kept by default.
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource
        {
            InitialData =
            [
                new("Logging:LogLevel:Microsoft.AspNetCore", nameof(LogLevel.Warning)),
                new("Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks", nameof(LogLevel.Critical)),
            ],
        });
        ConsoleLogFormat.Apply(builder.Logging);
        if (string.IsNullOrEmpty(builder.Configuration["urls"]) && string.IsNullOrEmpty(builder.Configuration["http_ports"]))
        {
            // /healthz, /readyz and /metrics on the port the chart's probes and Service use.
            builder.WebHost.UseUrls($"http://*:{DefaultHttpPort}");
        }

        var settings = OperatorSettings.From(builder.Configuration);
        builder.Services.AddPassbox(settings);
        configure?.Invoke(builder);
        var app = builder.Build();
        WarnOfIgnoredShutdownTimeout(builder.Configuration["shutdownTimeoutSeconds"], settings, app.Services.GetRequiredService<ILoggerFactory>());
        app.MapPassboxRuntimeEndpoints();
        return app;
    }

    /// <summary>
    /// .NET's own <c>shutdownTimeoutSeconds</c> (<c>DOTNET_shutdownTimeoutSeconds</c>, <c>--shutdownTimeoutSeconds</c>)
    /// is overridden by the shutdown budget, which must end before the kubelet's SIGKILL: honoured, a longer one was cut
    /// by SIGKILL (no lease release, no last Events) and a shorter one cut the Event flush. It was dropped without a word,
    /// so whoever set it to give reconciles more time got nothing; this says which setting does that.
    /// </summary>
    private static void WarnOfIgnoredShutdownTimeout(string? shutdownTimeoutSeconds, OperatorSettings settings, ILoggerFactory loggers)
    {
        if (shutdownTimeoutSeconds is not { Length: > 0 } ignored)
        {
            return;
        }

        var budget = ShutdownBudget.For(settings.TerminationGracePeriod);
        loggers.CreateLogger(typeof(ShutdownBudget).FullName!).LogWarning(
            "shutdownTimeoutSeconds={Ignored} is not used: a graceful stop takes up to {HostTimeout}, fitted to the pods' grace period of {GracePeriod} (--termination-grace-period-seconds; the chart's terminationGracePeriodSeconds); raise that to give reconciles more time to finish",
            ignored, LogDuration.Format(budget.HostTimeout), LogDuration.Format(budget.PodGracePeriod));
    }

    public static IServiceCollection AddPassbox(this IServiceCollection services, OperatorSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton(_ => BufferedResponses.Client(Kubeconfigs.ClientConfiguration(settings.Kubeconfig)));
        services.AddPassboxRuntime(options => options with
        {
            LeaderElection = options.LeaderElection with
            {
                Enabled = settings.LeaderElect,
                LeaseNamespace = settings.LeaseNamespace,
                LeaseName = settings.LeaseName,
                Identity = settings.Identity,
            },

            // Events then say which replica acted.
            Events = options.Events with { Instance = settings.Identity },

            // Stopped before the kubelet's SIGKILL however long the pods' grace period is, using what it has.
            Shutdown = ShutdownBudget.For(settings.TerminationGracePeriod),
        });

        // The connectors are static protocol code; the bound they share is set for the whole process here. An operator
        // started again in the same process (tests) keeps the one in use, with the sessions it counts, unless it differs.
        if (EndpointSessionLimit.Shared.PerEndpoint != settings.MaxSessionsPerEndpoint)
        {
            EndpointSessionLimit.Shared = new EndpointSessionLimit(settings.MaxSessionsPerEndpoint);
        }

        services.AddSingleton(_ => DatabaseConnectors.CreateDefault());
        services.AddSingleton(_ => PipelineProbes.CreateDefault());
        services.AddSingleton<ICredentialKind<ClusterCredential>, ClusterCredentialKind>();
        services.AddSingleton<ICredentialKind<PipelineCredential>, PipelineCredentialKind>();
        services.AddSingleton(sp => new SourceSecretCache(sp.GetInformer<PartialObjectMetadata>(SourceSecrets)));
        services.AddSingleton<SourceSecretReader>();
        services.AddSingleton<ValidationPlanner>();
        services.AddSingleton<CheckMemory>();
        services.AddSingleton<ReleaseRetries>();
        services.AddSingleton<RefusedWriteBackoff>();
        services.AddSingleton<RunningChecks>();
        services.AddSingleton<IEventSink, EventSink>();
        services.AddSingleton<CredentialPipeline>();
        services.AddSingleton<GeneratedPasswordStore>();
        services.AddSingleton<AdminLogins>();
        services.AddSingleton(sp => new AdminReferences(sp.GetInformer<ClusterCredential>(ClusterCredentials)));
        services.AddSingleton<PublishedPasswords>();
        services.AddSingleton<ICredentialProvisioning<ClusterCredential>, UserProvisioner>();
        services.AddSingleton<WorkloadRestarter>();
        services.AddSingleton<GeneratedSecretPublisher>();
        services.AddSingleton(sp => new GeneratedSecretCache(sp.GetInformer<V1Secret>(GeneratedSecretCache.InformerName)));
        services.AddSingleton<IGeneratedSecretView>(sp => sp.GetRequiredService<GeneratedSecretCache>());
        services.AddSingleton<RetiredSecrets>();
        services.AddSingleton<CredentialMetrics>();

        var ns = settings.WatchNamespace;
        services.AddInformer(ClusterCredentials, ResourceDescriptor.For<ClusterCredential>(), new InformerOptions<ClusterCredential> { Namespace = ns });
        services.AddInformer(PipelineCredentials, ResourceDescriptor.For<PipelineCredential>(), new InformerOptions<PipelineCredential> { Namespace = ns });
        services.AddInformer(GeneratedSecretCache.InformerName, ResourceDescriptor.Secrets, new InformerOptions<V1Secret>
        {
            Namespace = ns,
            LabelSelector = GeneratedSecretCache.LabelSelector,
            Transform = GeneratedSecretCache.HashData,
        });
        // Every Secret, as metadata only and reduced to its identity: enough to notice that a source Secret changed.
        // Only those a credential reads are held in memory.
        var referencedSources = new ReferencedSourceSecrets();
        services.AddSingleton(referencedSources);
        services.AddInformer(SourceSecrets, ResourceDescriptor.Secrets, new InformerOptions<PartialObjectMetadata>
        {
            Namespace = ns,
            MetadataOnly = true,
            Transform = Identity,
            Keep = referencedSources.IsReferenced,
        });
        UsageFeed.Register(services, ns);

        var controllerOptions = new ControllerOptions { Workers = settings.Workers };
        services.AddController<ClusterCredential, CredentialReconciler<ClusterCredential, ClusterCredentialStatus>>(
            "clustercredential", ClusterCredentials, WireClusterCredentials, controllerOptions);
        services.AddController<PipelineCredential, CredentialReconciler<PipelineCredential, PipelineCredentialStatus>>(
            "pipelinecredential", PipelineCredentials, Wire<PipelineCredential>(PipelineCredentials, credential => credential.Status), controllerOptions);

        // Generated Secrets being deleted whose credential went without releasing them (its finalizer removed by hand):
        // it waits for both credential caches, as a credential missing from them would look gone.
        services.AddSingleton(sp => new LeftoverSecretReconciler(
            sp.GetInformer<ClusterCredential>(ClusterCredentials),
            sp.GetInformer<PipelineCredential>(PipelineCredentials),
            sp.GetRequiredService<IGeneratedSecretView>(),
            sp.GetRequiredService<GeneratedSecretPublisher>(),
            sp.GetRequiredService<ILogger<LeftoverSecretReconciler>>()));
        services.AddController<V1Secret, LeftoverSecretReconciler>("leftover-secret", GeneratedSecretCache.InformerName, (controller, sp) =>
        {
            var leftovers = sp.GetRequiredService<LeftoverSecretReconciler>();
            controller.ReconcilesOnly(LeftoverSecretReconciler.IsHeldWhileDeleted);
            controller.Watches(sp.GetInformer<ClusterCredential>(ClusterCredentials), credential => leftovers.TerminatingSecretsOf(credential.Metadata), echoesOfOwnWrites: false);
            controller.Watches(sp.GetInformer<PipelineCredential>(PipelineCredentials), credential => leftovers.TerminatingSecretsOf(credential.Metadata), echoesOfOwnWrites: false);
        });
        return services;
    }

    /// <summary>Indexes and secondary watches of a credential controller.</summary>
    private static Action<Controller<T>, IServiceProvider> Wire<T>(string informerName, Func<T, CredentialStatus?> statusOf)
        where T : class, IKubernetesObject<V1ObjectMeta> => (controller, sp) =>
    {
        var kind = sp.GetRequiredService<ICredentialKind<T>>();
        var primary = sp.GetInformer<T>(informerName);
        // Lives as long as the process, as the informer does.
        _ = sp.GetRequiredService<CredentialMetrics>().Track(primary, ResourceDescriptor.For<T>().Kind, statusOf);
        primary.Cache.AddIndex(SourceSecretIndex, credential => kind.SourceReferences(credential)
            .Select(reference => $"{credential.Metadata.NamespaceProperty}/{reference.Secret.Name}"));
        primary.Cache.AddIndex(GeneratedSecretIndex, credential => [$"{credential.Metadata.NamespaceProperty}/{kind.SecretName(credential)}"]);
        sp.GetRequiredService<ReferencedSourceSecrets>().Track(primary.Cache, SourceSecretIndex);
        // Lives as long as the process, as the informers do.
        _ = ReferencedSourceSecrets.ForgetUnreadSources(primary, sp.GetInformer<PartialObjectMetadata>(SourceSecrets), credential => kind.SourceReferences(credential)
            .Select(reference => new ObjectKey(credential.Metadata.NamespaceProperty, reference.Secret.Name)));
        // Lives as long as the process: the informers never go away.
        _ = sp.GetRequiredService<UsageScope>().Track(primary);

        controller.Watches(sp.GetInformer<V1Secret>(GeneratedSecretCache.InformerName), EventMaps.ByIndex<V1Secret, T>(primary, GeneratedSecretIndex));
        // A source Secret may be another credential's generated Secret: our write of it is news to its readers.
        controller.Watches(sp.GetInformer<PartialObjectMetadata>(SourceSecrets), EventMaps.ByIndex<PartialObjectMetadata, T>(primary, SourceSecretIndex),
            echoesOfOwnWrites: false);

        sp.GetRequiredService<CredentialPipeline>().ForgetDeleted(primary);
        // Lives as long as the process, as the informers do: a check of inputs that changed meanwhile ends at once.
        var runningChecks = sp.GetRequiredService<RunningChecks>();
        _ = runningChecks.CancelOnChange(primary, kind);
        _ = runningChecks.CancelOnSourceChange(sp.GetInformer<PartialObjectMetadata>(SourceSecrets));
        sp.GetRequiredService<ReleaseRetries>().ForgetDeleted(primary);
        var statusWriter = sp.GetRequiredService<StatusWriter>();
        primary.Subscribe(change =>
        {
            if (change.Type == InformerEventType.Deleted)
            {
                statusWriter.Forget(change.Current);
            }
        });
        sp.GetRequiredService<UsageFeed>().AttachTo(controller);
        sp.GetRequiredService<UsageScope>().Kinds.Changed += () =>
        {
            // The runs of a CRD created after start are listed, will not be (CRD gone, not served), or failed to list:
            // the deletions waiting on them look again.
            foreach (var credential in primary.Cache.List().Where(credential => credential.Metadata.DeletionTimestamp is not null))
            {
                controller.Queue.Add(ObjectKey.Of(credential));
            }
        };
        var generated = sp.GetRequiredService<GeneratedSecretCache>();
        var kindName = ResourceDescriptor.For<T>().Kind;
        sp.GetRequiredService<UsageIndex>().Changed += change =>
        {
            // A Secret's users changed: wake the credential whose Secret it is now, or was under an earlier name.
            var keys = change.Target == UsageTarget.Secret
                ? primary.Cache.KeysByIndex(GeneratedSecretIndex, $"{change.Namespace}/{change.Name}")
                    .Concat(generated.OwnerOf(change.Namespace, change.Name, kindName) is { } owner ? [owner] : [])
                    .Distinct()
                : [new ObjectKey(change.Namespace, change.Name)];
            foreach (var key in keys)
            {
                controller.Queue.Add(key);
            }
        };
    };

    /// <summary>The shared wiring, plus the admin index: an admin's deletion waits for its dependents to go, and its dependents wait for it to be Ready.</summary>
    private static void WireClusterCredentials(Controller<ClusterCredential> controller, IServiceProvider sp)
    {
        Wire<ClusterCredential>(ClusterCredentials, credential => credential.Status)(controller, sp);
        var primary = sp.GetInformer<ClusterCredential>(ClusterCredentials);
        primary.Cache.AddIndex(AdminReferences.IndexName, AdminReferences.IndexValues);
        var admins = sp.GetRequiredService<AdminReferences>();
        controller.Watches(primary, admins.DeletingAdminOf, echoesOfOwnWrites: false);

        // An admin turning Ready, or passing a check with a fixed password (by this process's own status write: never
        // skipped as an echo), wakes the credentials whose check (or deletion's drop) failed waiting for it or at its
        // refused login.
        var releaseRetries = sp.GetRequiredService<ReleaseRetries>();
        controller.Watches(primary, admin => admins.WaitingOn(admin, dependent => releaseRetries.AdminLoginRefusedAt(CheckMemory.KeyOf(dependent))),
            echoesOfOwnWrites: false);
    }

    private static PartialObjectMetadata Identity(PartialObjectMetadata secret) => SourceSecretCache.Identity(secret.Metadata);
}
