using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Provisioning;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A managed user whose login is refused is repaired by the administrator once per check: a login still refused after
/// that repair ends in an AuthenticationFailed condition that says the password is not the problem, and waits the
/// interval like any refused login, with one administrator session per check at most.
/// </summary>
public sealed class CredentialPipelineRepairTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
    private readonly FakeApiServer api = new(request => request.Method == HttpMethod.Post
        ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
        : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
    private readonly V1ConfigMap credential = new() { ApiVersion = "v1", Kind = "ConfigMap", Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = "team", Uid = "uid-billing", Generation = 1 } };

    [Fact]
    public async Task A_login_still_refused_after_the_repair_is_reported_and_waits_the_interval_with_one_admin_session_per_check()
    {
        var kind = new LockedUserKind();
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();

        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Equal([false, true], "the refused login was repaired once, right away");
        kind.Logins.Should().Be(2);
        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        validated.Message.Should().StartWith("Access denied for app at db:3306: account is locked")
            .And.Contain("The administrator had just set this user's password").And.Contain("a locked or expired account")
            .And.Contain("validation.interval");
        requeue.Should().Be(Interval, "a refused login waits the interval: repeated refused logins lock accounts");

        // The same reconcile again (the status write echoes back): nothing is due, nobody logs in.
        (await pipeline.RunAsync(credential, kind, status, CancellationToken.None)).Should().Be(Interval);
        kind.Applies.Should().HaveCount(2);
        kind.Logins.Should().Be(2);

        time.Advance(Interval);
        requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Equal([false, true, true], "the next check repairs before its login, and not again after it");
        kind.Logins.Should().Be(3);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Message.Should().Be(validated.Message);
        requeue.Should().Be(Interval);
    }

    [Fact]
    public async Task A_login_refused_once_and_repaired_is_validated_in_the_same_check()
    {
        var kind = new LockedUserKind { RefusalsLeft = 1 };
        var status = new ClusterCredentialStatus();

        await Pipeline().RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Equal([false, true]);
        kind.Logins.Should().Be(2);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
        status.SecretName.Should().Be("billing", "the repaired login publishes the Secret");
    }

    private CredentialPipeline Pipeline()
    {
        var client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, api);
        var events = new NoEvents();
        return new CredentialPipeline(
            new SourceSecretReader(client),
            new GeneratedSecretPublisher(client, new NoSecrets(), NullLogger<GeneratedSecretPublisher>.Instance),
            new ValidationPlanner(time),
            new CheckMemory(),
            events,
            new WorkloadRestarter(client, events, time, NullLogger<WorkloadRestarter>.Instance),
            time,
            NullLogger<CredentialPipeline>.Instance);
    }

    /// <summary>A managed user whose login the server refuses (<see cref="RefusalsLeft"/> times) whatever the administrator does.</summary>
    private sealed class LockedUserKind : ICredentialKind<V1ConfigMap>, ICredentialProvisioning<V1ConfigMap>
    {
        public int RefusalsLeft { get; set; } = int.MaxValue;

        /// <summary>The <c>loginRefused</c> argument of every administrator step, in order.</summary>
        public List<bool> Applies { get; } = [];

        public int Logins { get; private set; }

        public string KindName => "ClusterCredential";

        public ICredentialProvisioning<V1ConfigMap> Provisioning => this;

        public IReadOnlyList<SecretKeyReference> SourceReferences(V1ConfigMap credential) => [];

        public string SecretName(V1ConfigMap credential) => credential.Metadata.Name;

        public string LoginRelevantSpec(V1ConfigMap credential) => "app@db:3306";

        public CheckSchedule Schedule(V1ConfigMap credential) => new(Interval, TimeSpan.FromSeconds(5), Disabled: false);

        public Task<ValidationOutcome> ValidateAsync(V1ConfigMap credential, SourceValues sources, CancellationToken ct)
        {
            Logins++;
            return Task.FromResult(RefusalsLeft-- > 0
                ? ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "Access denied for app at db:3306: account is locked.")
                : ValidationOutcome.Success("logged in"));
        }

        public SecretPayload BuildSecret(V1ConfigMap credential, SourceValues sources) => new(
            credential.Metadata.Name, "Opaque", new Dictionary<string, byte[]> { ["password"] = Encoding.UTF8.GetBytes("unit-test-pw") },
            new Dictionary<string, string>(), new Dictionary<string, string>());

        public void Describe(V1ConfigMap credential, CredentialStatus status)
        {
        }

        public bool Manages(V1ConfigMap credential) => true;

        public Task<PrepareResult> PrepareAsync(V1ConfigMap credential, CredentialStatus status, CancellationToken ct) => Task.FromResult(PrepareResult.Nothing);

        public Task<ValidationOutcome?> ApplyAsync(V1ConfigMap credential, SourceValues sources, CredentialStatus status, bool loginRefused, CancellationToken ct)
        {
            Applies.Add(loginRefused);
            return Task.FromResult<ValidationOutcome?>(null);
        }

        public Task<ReleaseResult> ReleaseAsync(V1ConfigMap credential, CancellationToken ct) => Task.FromResult(ReleaseResult.Nothing);

        public IReadOnlyList<string> DependentsOf(V1ConfigMap credential) => [];
    }

    private sealed class NoSecrets : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) => null;
    }
}
