using System.Net;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A check of inputs the credential no longer has (the spec was edited, or a source Secret changed, while its login hung
/// on an unreachable host) ends at once, and says nothing: the user's fix is tried without waiting for validation.timeout,
/// and the old check's Timeout is never reported after it.
/// </summary>
public sealed class CredentialPipelineSupersededCheckTests
{
    private static readonly TimeSpan Prompt = TimeSpan.FromSeconds(10);

    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider time = Clock();
    private readonly RunningChecks running = new();
    private readonly FakeInformer<V1ConfigMap> credentials = new(ResourceDescriptor.ConfigMaps);
    private readonly FakeInformer<PartialObjectMetadata> sources = new(ResourceDescriptor.Secrets);
    private readonly Recorded events = new();
    private readonly HostKind kind = new();

    public CredentialPipelineSupersededCheckTests()
    {
        running.CancelOnChange(credentials, kind);
        running.CancelOnSourceChange(sources);
    }

    [Fact]
    public async Task An_edit_of_the_host_cancels_the_hanging_check_of_the_old_host_without_reporting_it()
    {
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var old = WithHost("wrong.example", generation: 1);
        credentials.Apply(old);
        var status = new ClusterCredentialStatus();

        var check = pipeline.RunAsync(old, kind, status, CancellationToken.None);
        await kind.Hanging.Task.WaitAsync(Prompt);
        var fixedHost = WithHost("db.example", generation: 2);
        credentials.Apply(fixedHost);

        var ended = async () => await check.WaitAsync(Prompt);
        await ended.Should().ThrowAsync<CheckSupersededException>("the check of a host the spec no longer names is not waited for");
        events.Warnings.Should().BeEmpty("the superseded check's result is not reported");
        status.Conditions.Should().BeNull("nothing of the superseded check is written");
        running.Count.Should().Be(0);

        await pipeline.RunAsync(fixedHost, kind, status, CancellationToken.None);

        kind.Hosts.Should().Equal("wrong.example", "db.example");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True", "the fixed host is checked at once");
    }

    [Fact]
    public async Task The_cancelled_pass_ends_off_the_thread_of_the_informer_that_told_the_change()
    {
        // Ended on the informer's thread, the pass would go on there into the worker's next reconcile, and the informer
        // would deliver no event to anyone meanwhile.
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var old = WithHost("wrong.example", generation: 1);
        credentials.Apply(old);
        // Started as a worker starts it: with no synchronization context to send the pass's continuations elsewhere.
        var check = Task.Run(() => pipeline.RunAsync(old, kind, new ClusterCredentialStatus(), CancellationToken.None));
        await kind.Hanging.Task.WaitAsync(Prompt);
        var endedOn = 0;
        _ = check.ContinueWith(_ => endedOn = Environment.CurrentManagedThreadId, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        using var done = new ManualResetEventSlim();
        var informerThread = new Thread(() =>
        {
            credentials.Apply(WithHost("db.example", generation: 2));
            done.Wait(Prompt); // Alive until the end, so no other thread can have its id.
        });
        informerThread.Start();
        try
        {
            var ended = async () => await check.WaitAsync(Prompt);
            await ended.Should().ThrowAsync<CheckSupersededException>();
            await FakeApiServer.WaitUntilAsync(() => Volatile.Read(ref endedOn) != 0);
            endedOn.Should().NotBe(informerThread.ManagedThreadId, "the informer's event handler only asks the check to stop");
        }
        finally
        {
            done.Set();
            informerThread.Join();
        }
    }

    [Fact]
    public async Task An_edit_that_does_not_change_the_login_lets_the_check_finish()
    {
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var old = WithHost("slow.example", generation: 1);
        credentials.Apply(old);
        var status = new ClusterCredentialStatus();

        var check = pipeline.RunAsync(old, kind, status, CancellationToken.None);
        await kind.Hanging.Task.WaitAsync(Prompt);
        var relabelled = WithHost("slow.example", generation: 2);
        relabelled.Metadata.Labels = new Dictionary<string, string> { ["team"] = "billing" };
        credentials.Apply(relabelled);
        kind.Release.SetResult();

        await check.WaitAsync(Prompt);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_new_version_of_the_source_Secret_cancels_the_check_of_the_old_one()
    {
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var credential = WithHost("wrong.example", generation: 1);
        credentials.Apply(credential);
        var status = new ClusterCredentialStatus();

        var check = pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        await kind.Hanging.Task.WaitAsync(Prompt);

        // The version it read, seen again (a relist), is no news; another Secret of that name in another namespace neither.
        sources.Apply(SourceAt("team", "1"));
        sources.Apply(SourceAt("other", "7"));
        await Task.Delay(100);
        check.IsCompleted.Should().BeFalse("the check's own inputs did not change");

        sources.Apply(SourceAt("team", "2"));

        var ended = async () => await check.WaitAsync(Prompt);
        await ended.Should().ThrowAsync<CheckSupersededException>();
        events.Warnings.Should().BeEmpty();
    }

    [Fact]
    public async Task A_source_Secret_updated_more_often_than_a_check_takes_still_lets_every_other_check_report()
    {
        // The source informer sees metadata only: each update of the Secret (an annotation another tool touches) is news.
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var credential = WithHost("wrong.example", generation: 1);
        credentials.Apply(credential);
        var status = new ClusterCredentialStatus();

        var first = pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        await kind.Hanging.Task.WaitAsync(Prompt);
        sources.Apply(SourceAt("team", "2"));
        var firstEnded = async () => await first.WaitAsync(Prompt);
        await firstEnded.Should().ThrowAsync<CheckSupersededException>();

        var second = pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        await FakeApiServer.WaitUntilAsync(() => kind.Hosts.Count == 2);
        sources.Apply(SourceAt("team", "3"));
        await Task.Delay(100);
        second.IsCompleted.Should().BeFalse("the check after one a source change cancelled is not cancelled by the next");
        kind.Release.TrySetResult();
        await second.WaitAsync(Prompt);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True", "that check ends and is reported");

        // Only the one check after a cut: the next change cancels again (a check the edit below asks for).
        var hanging = new HostKind();
        var edited = WithHost("other.example", generation: 2);
        credentials.Apply(edited);
        var third = pipeline.RunAsync(edited, hanging, status, CancellationToken.None);
        await hanging.Hanging.Task.WaitAsync(Prompt);
        sources.Apply(SourceAt("team", "4"));
        var thirdEnded = async () => await third.WaitAsync(Prompt);
        await thirdEnded.Should().ThrowAsync<CheckSupersededException>();
    }

    [Fact]
    public async Task An_edit_during_the_administrators_step_does_not_cut_it_short_and_its_check_is_reported()
    {
        // Cut short, the step could stop between CREATE USER and the grants, and the user it created would be recorded
        // nowhere: the next pass would refuse it as someone else's (UserExists) once the password Secret changed.
        var admin = new UserRecordingAdmin { Hangs = true };
        var managedKind = new HostKind { Provisioning = admin };
        running.CancelOnChange(credentials, managedKind);
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var credential = WithHost("db.example", generation: 1);
        credentials.Apply(credential);
        var status = new ClusterCredentialStatus();

        var check = pipeline.RunAsync(credential, managedKind, status, CancellationToken.None);
        await admin.Applying.Task.WaitAsync(Prompt);
        credentials.Apply(WithHost("db2.example", generation: 2));
        admin.Release.SetResult();

        await check.WaitAsync(Prompt);
        admin.Cancelled.Should().BeFalse("the administrator's step is never cut short for newer inputs");
        status.Provisioning!.User.Should().Be("app", "the user the administrator created is recorded");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
        running.Count.Should().Be(0);
    }

    [Fact]
    public async Task A_check_whose_administrator_created_the_user_is_reported_even_when_its_login_is_superseded()
    {
        var managedKind = new HostKind { Provisioning = new UserRecordingAdmin() };
        running.CancelOnChange(credentials, managedKind);
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var old = WithHost("slow.example", generation: 1);
        credentials.Apply(old);
        var status = new ClusterCredentialStatus();

        var check = pipeline.RunAsync(old, managedKind, status, CancellationToken.None);
        await managedKind.Hanging.Task.WaitAsync(Prompt);
        credentials.Apply(WithHost("db.example", generation: 2));
        await Task.Delay(100);
        check.IsCompleted.Should().BeFalse("the login that proves what the administrator just changed is waited for");
        managedKind.Release.SetResult();

        await check.WaitAsync(Prompt);
        status.Provisioning!.User.Should().Be("app", "dropped with the check, the record of the created user would be lost");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_check_whose_administrator_changed_nothing_is_still_cancelled_by_an_edit()
    {
        var managedKind = new HostKind { Provisioning = new UserRecordingAdmin() };
        running.CancelOnChange(credentials, managedKind);
        var pipeline = PipelineTestKit.Pipeline(Server(), new NoGeneratedSecrets(), time, events: events, running: running);
        var old = WithHost("wrong.example", generation: 1);
        credentials.Apply(old);
        var status = new ClusterCredentialStatus { Provisioning = new ProvisioningStatus { User = "app" } };

        var check = pipeline.RunAsync(old, managedKind, status, CancellationToken.None);
        await managedKind.Hanging.Task.WaitAsync(Prompt);
        credentials.Apply(WithHost("db.example", generation: 2));

        var ended = async () => await check.WaitAsync(Prompt);
        await ended.Should().ThrowAsync<CheckSupersededException>("a periodic check, whose administrator had nothing to do, is not waited for");
    }

    private static FakeApiServer Server() => new(request => request.Method == HttpMethod.Get && request.Path.EndsWith("/secrets/source", StringComparison.Ordinal)
        ? SourceSecret("1", "unit-test-pw")
        : request.Method == HttpMethod.Post
            ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));

    private static PartialObjectMetadata SourceAt(string namespaceName, string resourceVersion) => new()
    {
        Metadata = new V1ObjectMeta { Name = Source.Name, NamespaceProperty = namespaceName, Uid = "uid-source", ResourceVersion = resourceVersion },
    };

    private static V1ConfigMap WithHost(string host, long generation)
    {
        var credential = Credential();
        credential.Metadata.Generation = generation;
        credential.Data = new Dictionary<string, string> { ["host"] = host };
        return credential;
    }

    /// <summary>Logs in at the host in the credential's data: at <c>db.example</c> at once, elsewhere not before it is released or cancelled.</summary>
    private sealed class HostKind : ICredentialKind<V1ConfigMap>
    {
        public List<string> Hosts { get; } = [];

        public TaskCompletionSource Hanging { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string KindName => "ClusterCredential";

        public ICredentialProvisioning<V1ConfigMap>? Provisioning { get; init; }

        public IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) => [new(Source, "spec.passwordSecretRef")];

        public string SecretName(V1ConfigMap credential) => credential.Metadata.Name;

        public string LoginRelevantSpec(V1ConfigMap credential) => $"app@{credential.Data["host"]}:3306";

        public CheckSchedule Schedule(V1ConfigMap credential) => new(TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(30), DisabledBy: null);

        public async Task<ValidationOutcome> ValidateAsync(V1ConfigMap credential, SourceValues sources, CancellationToken ct)
        {
            var host = credential.Data["host"];
            Hosts.Add(host);
            if (host != "db.example")
            {
                Hanging.TrySetResult();
                await Release.Task.WaitAsync(ct);
            }

            return ValidationOutcome.Success("Logged in", "11.4");
        }

        public SecretPayload BuildSecret(V1ConfigMap credential, SourceValues sources) => Payload(SecretName(credential), "unit-test-pw"u8.ToArray());

        public void Describe(V1ConfigMap credential, CredentialStatus status)
        {
        }
    }

    /// <summary>
    /// Creates user <c>app</c> and records it in the status, as the administrator does, unless the status already has it
    /// (a periodic check: nothing to do). Hangs until released when asked, noting whether its token was cancelled.
    /// </summary>
    private sealed class UserRecordingAdmin : ICredentialProvisioning<V1ConfigMap>
    {
        public bool Hangs { get; init; }

        public bool Cancelled { get; private set; }

        public TaskCompletionSource Applying { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Manages(V1ConfigMap credential) => true;

        public Task<PrepareResult> PrepareAsync(V1ConfigMap credential, CredentialStatus status, CancellationToken ct) => Task.FromResult(PrepareResult.Nothing);

        public async Task<ValidationOutcome?> ApplyAsync(V1ConfigMap credential, SourceValues sources, CredentialStatus status, bool loginRefused, PublishTrial trial, CancellationToken ct)
        {
            var provisioned = ((ClusterCredentialStatus)status).Provisioning ??= new ProvisioningStatus();
            if (provisioned.User == "app")
            {
                return null;
            }

            if (Hangs)
            {
                Applying.TrySetResult();
                using (ct.Register(() => Cancelled = true))
                {
                    await Release.Task.WaitAsync(ct);
                }
            }

            provisioned.User = "app";
            return null;
        }

        public Task<ReleaseResult> ReleaseAsync(V1ConfigMap credential, CancellationToken ct) => Task.FromResult(ReleaseResult.Nothing);

        public bool DropsUserOnDeletion(V1ConfigMap credential) => false;

        public IReadOnlyList<string> DependentsOf(V1ConfigMap credential) => [];

        public DateTimeOffset? WaitOverSince(V1ConfigMap credential, string reason) => null;
    }

    private sealed class Recorded : IEventSink
    {
        public List<string> Warnings { get; } = [];

        public Task NormalAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct) => Task.CompletedTask;

        public Task WarningAsync(IKubernetesObject<V1ObjectMeta> subject, string reason, string message, CancellationToken ct)
        {
            lock (Warnings)
            {
                Warnings.Add(reason);
            }

            return Task.CompletedTask;
        }
    }
}
