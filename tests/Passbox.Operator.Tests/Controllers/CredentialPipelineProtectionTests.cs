using System.Net;
using k8s.Models;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Runtime.Finalizers;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// The pipeline runs while the in-use finalizer is still being added: it may read and log in, but it creates nothing
/// until the finalizer is in place, and nothing at all when the credential was deleted meanwhile.
/// </summary>
public sealed class CredentialPipelineProtectionTests
{
    private readonly FakeTimeProvider time = Clock();
    private readonly FakeApiServer api = AcceptingCreates();
    private readonly TaskCompletionSource<bool> finalizer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private CredentialPipeline NewPipeline() => PipelineTestKit.Pipeline(api, new NoGeneratedSecrets(), time);

    [Fact]
    public async Task The_login_runs_beside_the_finalizer_patch_and_the_Secret_waits_for_it()
    {
        var kind = new GoodLogin();
        var status = new ClusterCredentialStatus();

        var run = NewPipeline().RunAsync(Credential(), kind, status, CancellationToken.None, new DeletionProtection(() => finalizer.Task));
        await kind.LoggedIn.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(100);

        run.IsCompleted.Should().BeFalse("the Secret is not created before the finalizer protects it");
        api.Requests.Should().BeEmpty();

        finalizer.SetResult(true);
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        api.Requests.Should().ContainSingle(r => r.Method == HttpMethod.Post && r.Path == "/api/v1/namespaces/team/secrets");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_credential_deleted_while_its_login_ran_publishes_nothing()
    {
        var kind = new GoodLogin();
        finalizer.SetResult(false);

        var requeue = await NewPipeline()
            .RunAsync(Credential(), kind, new ClusterCredentialStatus(), CancellationToken.None, new DeletionProtection(() => finalizer.Task));

        requeue.Should().BeNull();
        api.Requests.Should().BeEmpty("a Secret created now would belong to a credential that is gone");
    }

    /// <summary>
    /// The finalizer patch meets a deletion (409), and the object read again is being deleted, kept alive by another
    /// finalizer, without Passbox's: nothing may be created for it, since no deletion pass would ever clean it up.
    /// </summary>
    [Fact]
    public async Task A_credential_deleted_before_its_finalizer_landed_publishes_nothing_and_creates_no_user()
    {
        var server = new FakeApiServer(request => request.Method == HttpMethod.Patch
            ? FakeApiServer.Status(HttpStatusCode.Conflict, "Conflict")
            : FakeApiServer.Json(HttpStatusCode.OK, """
                {"apiVersion":"passbox.dev/v1alpha1","kind":"PipelineCredential","metadata":{"name":"billing","namespace":"team","uid":"uid-billing",
                 "resourceVersion":"7","deletionTimestamp":"2026-11-25T10:00:00Z","finalizers":["example.com/audit-hold"]}}
                """));
        var credential = new PipelineCredential
        {
            ApiVersion = "passbox.dev/v1alpha1",
            Kind = "PipelineCredential",
            Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = "team", Uid = "uid-billing", ResourceVersion = "6" },
        };
        var adding = new FinalizerManager(server.CreateClient(), NullLogger<FinalizerManager>.Instance).AddAsync(credential, ApiGroup.InUseFinalizer, CancellationToken.None);
        var kind = new GoodLogin { Managed = new RecordingProvisioning() };

        var requeue = await NewPipeline()
            .RunAsync(Credential(), kind, new ClusterCredentialStatus(), CancellationToken.None, DeletionProtection.After(adding, ApiGroup.InUseFinalizer));

        (await adding).Should().NotBeNull("the object came back, being deleted");
        requeue.Should().BeNull();
        kind.Managed.Applies.Should().BeEmpty("a user created now would outlive the credential");
        api.Requests.Should().BeEmpty("a Secret created now would belong to a credential that is going");
    }

    [Fact]
    public async Task A_managed_user_is_not_touched_before_the_finalizer_is_in_place()
    {
        var kind = new GoodLogin { Managed = new RecordingProvisioning() };
        var run = NewPipeline()
            .RunAsync(Credential(), kind, new ClusterCredentialStatus(), CancellationToken.None, new DeletionProtection(() => finalizer.Task));
        await Task.Delay(100);

        kind.Managed.Applies.Should().BeEmpty("the user on the server must not outlive a credential deleted meanwhile");
        kind.Logins.Should().Be(0);

        finalizer.SetResult(true);
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        kind.Managed.Applies.Should().Equal(false);
        kind.Logins.Should().Be(1);
    }

    private sealed class GoodLogin : TestCredentialKind
    {
        public TaskCompletionSource LoggedIn { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public RecordingProvisioning? Managed { get; init; }

        public override ICredentialProvisioning<V1ConfigMap>? Provisioning => Managed;

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct)
        {
            LoggedIn.TrySetResult();
            return Task.FromResult(ValidationOutcome.Success("logged in"));
        }
    }
}
