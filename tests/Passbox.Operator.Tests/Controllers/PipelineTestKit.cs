using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// What the CredentialPipeline tests share: a ConfigMap in namespace <c>team</c> standing in for a credential, a fake
/// clock, and the real pipeline wired to a fake API server and a view of the generated Secret.
/// </summary>
internal static class PipelineTestKit
{
    public static readonly DateTimeOffset Start = new(2026, 11, 25, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The password Secret the kinds that read one read, key <c>password</c>.</summary>
    public static readonly SecretKeyReference Source = new() { Name = "source", Key = "password" };

    public static FakeTimeProvider Clock() => new(Start);

    public static V1ConfigMap Credential(string name = "billing") => new()
    {
        ApiVersion = "v1",
        Kind = "ConfigMap",
        Metadata = new V1ObjectMeta { Name = name, NamespaceProperty = "team", Uid = "uid-" + name, Generation = 1 },
    };

    public static CredentialPipeline Pipeline(FakeApiServer server, IGeneratedSecretView view, TimeProvider time, CheckMemory? memory = null,
        Passbox.Operator.Usage.Feeding.UsageScope? scope = null, RefusedWriteBackoff? refusals = null, IEventSink? events = null,
        ILoggerFactory? loggers = null, RunningChecks? running = null)
    {
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server);
        events ??= new NoEvents();
        loggers ??= NullLoggerFactory.Instance;
        // These tests change the source Secret on the fake API server alone, with no watch to report it: a source-Secret
        // informer that has not synced makes every read ask the server, as the reconciles they model would.
        var sources = new SourceSecretCache(new FakeInformer<PartialObjectMetadata>(ResourceDescriptor.Secrets) { HasSynced = false });
        var publisher = new GeneratedSecretPublisher(client, view, loggers.CreateLogger<GeneratedSecretPublisher>());
        return new CredentialPipeline(
            new SourceSecretReader(client, sources),
            publisher,
            new ValidationPlanner(time),
            memory ?? new CheckMemory(),
            events,
            new WorkloadRestarter(new KubernetesApiClient(client), new InstalledDefinitions(), events, time, NullLogger<WorkloadRestarter>.Instance),
            new RetiredSecrets(view, new Passbox.Operator.Usage.UsageIndex(), scope ?? new Passbox.Operator.Usage.Feeding.UsageScope(), publisher),
            refusals ?? new RefusedWriteBackoff(time),
            running ?? new RunningChecks(),
            time,
            loggers.CreateLogger<CredentialPipeline>());
    }

    /// <summary>An API server that creates whatever is posted to it and knows nothing else.</summary>
    public static FakeApiServer AcceptingCreates() => new(request => request.Method == HttpMethod.Post
        ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
        : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));

    /// <summary>The API server's answer for the <see cref="Source"/> Secret at <paramref name="resourceVersion"/>.</summary>
    public static HttpResponseMessage SourceSecret(string resourceVersion, string password) => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(new V1Secret
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Metadata = new V1ObjectMeta { Name = Source.Name, NamespaceProperty = "team", Uid = "uid-source", ResourceVersion = resourceVersion },
        Data = new Dictionary<string, byte[]> { [Source.Key] = System.Text.Encoding.UTF8.GetBytes(password) },
    }));

    public static SecretPayload Payload(string name, byte[] password) =>
        new(name, "Opaque", new Dictionary<string, byte[]> { ["password"] = password }, new Dictionary<string, string>(), new Dictionary<string, string>());

    /// <summary>
    /// The API server's answer about the workloads of namespace <c>team</c>: one Deployment, <c>api</c>, opted in to a
    /// restart when Secret <c>billing</c> changes, and no StatefulSets or DaemonSets; NotFound for any other path.
    /// </summary>
    public static HttpResponseMessage OptedInWorkloads(string path)
    {
        var api = new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = "api", NamespaceProperty = "team", Annotations = new Dictionary<string, string> { [WorkloadRestarter.ReloadAnnotation] = "billing" } },
        };
        return path switch
        {
            "/apis/apps/v1/namespaces/team/deployments/api" => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(api)),
            "/apis/apps/v1/namespaces/team/deployments" => FakeApiServer.Json(HttpStatusCode.OK, KubernetesJson.Serialize(new V1DeploymentList { ApiVersion = "apps/v1", Kind = "DeploymentList", Items = [api] })),
            "/apis/apps/v1/namespaces/team/statefulsets" => FakeApiServer.Json(HttpStatusCode.OK, """{"apiVersion":"apps/v1","kind":"StatefulSetList","items":[]}"""),
            "/apis/apps/v1/namespaces/team/daemonsets" => FakeApiServer.Json(HttpStatusCode.OK, """{"apiVersion":"apps/v1","kind":"DaemonSetList","items":[]}"""),
            _ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"),
        };
    }

    /// <summary>How many restarts (patches of a Deployment) <paramref name="server"/> was sent.</summary>
    public static int RestartPatches(FakeApiServer server) =>
        server.Requests.Count(r => r.Method == HttpMethod.Patch && r.Path.Contains("/deployments/", StringComparison.Ordinal));
}

/// <summary>
/// The base of the pipeline tests' credential kinds: a login as <c>app</c> at <c>db:3306</c>, checked every ten minutes
/// within five seconds, publishing a Secret named like the credential; each kind says what the login answers.
/// </summary>
internal abstract class TestCredentialKind : ICredentialKind<V1ConfigMap>
{
    public int Logins { get; private set; }

    public string KindName => "ClusterCredential";

    public virtual ICredentialProvisioning<V1ConfigMap>? Provisioning => null;

    public virtual IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) => [];

    public string SecretName(V1ConfigMap credential) => credential.Metadata.Name;

    public string LoginRelevantSpec(V1ConfigMap credential) => "app@db:3306";

    public virtual CheckSchedule Schedule(V1ConfigMap credential) => new(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5), DisabledBy: null);

    public Task<ValidationOutcome> ValidateAsync(V1ConfigMap credential, SourceValues sources, CancellationToken ct)
    {
        Logins++;
        return LogInAsync(ct);
    }

    public virtual SecretPayload BuildSecret(V1ConfigMap credential, SourceValues sources) => PipelineTestKit.Payload(SecretName(credential), "unit-test-pw"u8.ToArray());

    public void Describe(V1ConfigMap credential, CredentialStatus status)
    {
    }

    protected abstract Task<ValidationOutcome> LogInAsync(CancellationToken ct);
}

/// <summary>
/// A kind whose Secret holds the password of the <see cref="PipelineTestKit.Source"/> Secret, so a new source version is
/// new Secret data; checked hourly, and every login succeeds.
/// </summary>
internal sealed class SourcePasswordKind : TestCredentialKind
{
    public override IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) => [new(PipelineTestKit.Source, "spec.passwordSecretRef")];

    public override CheckSchedule Schedule(V1ConfigMap credential) => new(TimeSpan.FromHours(1), TimeSpan.FromSeconds(5), DisabledBy: null);

    public override SecretPayload BuildSecret(V1ConfigMap credential, SourceValues sources) => PipelineTestKit.Payload(SecretName(credential), sources.All.Single().Bytes!);

    protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(ValidationOutcome.Success("Logged in", "11.4"));
}

/// <summary>User management that changes nothing and records the <c>loginRefused</c> argument of every step asked of it.</summary>
internal sealed class RecordingProvisioning : ICredentialProvisioning<V1ConfigMap>
{
    public List<bool> Applies { get; } = [];

    /// <summary>False for a credential of a kind that can manage users but whose spec does not ask for it.</summary>
    public bool ManagesUsers { get; init; } = true;

    public bool Manages(V1ConfigMap credential) => ManagesUsers;

    public Task<PrepareResult> PrepareAsync(V1ConfigMap credential, CredentialStatus status, CancellationToken ct) => Task.FromResult(PrepareResult.Nothing);

    public Task<ValidationOutcome?> ApplyAsync(V1ConfigMap credential, SourceValues sources, CredentialStatus status, bool loginRefused, PublishTrial trial, CancellationToken ct)
    {
        Applies.Add(loginRefused);
        return Task.FromResult<ValidationOutcome?>(null);
    }

    public Task<ReleaseResult> ReleaseAsync(V1ConfigMap credential, CancellationToken ct) => Task.FromResult(ReleaseResult.Nothing);

    public bool DropsUserOnDeletion(V1ConfigMap credential) => false;

    public IReadOnlyList<string> DependentsOf(V1ConfigMap credential) => [];

    public DateTimeOffset? WaitOverSince(V1ConfigMap credential, string reason) => null;
}

/// <summary>The CRDs a test says the cluster has (none by default).</summary>
internal sealed class InstalledDefinitions(params string[] names) : Passbox.Operator.Usage.Feeding.IInstalledDefinitions
{
    public bool IsInstalled(string definitionName) => names.Contains(definitionName, StringComparer.Ordinal);
}

/// <summary>No generated Secret is cached: every publish starts with a create.</summary>
internal sealed class NoGeneratedSecrets : IGeneratedSecretView
{
    public ObservedSecret? Find(string namespaceName, string name) => null;

    public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
}
