using System.Net;
using k8s;
using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// The pipeline's periodic checks on a fake clock: a check that confirms the status changes nothing in it (so the
/// status writer sends nothing), a changed outcome is recorded, a restarted operator spreads its overdue checks, and a
/// credential that vanishes is forgotten.
/// </summary>
public sealed class CredentialPipelineIdleTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);
    private const string Good = "Logged in to db:3306 as 'app'; server 11.4.";

    private readonly FakeTimeProvider time = Clock();
    private readonly CountingKind kind = new();
    private readonly V1ConfigMap credential = Credential();

    /// <summary>The source Secret's resourceVersion on the fake API server: a new one is a new password.</summary>
    private string sourceVersion = "5";

    [Fact]
    public async Task An_unchanged_periodic_check_logs_in_but_leaves_the_status_as_it_was_and_the_next_one_is_an_interval_later()
    {
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var written = KubernetesJson.Serialize(status);

        time.Advance(Interval * 1.1);
        var again = Copy(written);
        var requeue = await pipeline.RunAsync(credential, kind, again, CancellationToken.None);

        kind.Logins.Should().Be(2, "the periodic check did log in");
        KubernetesJson.Serialize(again).Should().Be(written, "a check that found nothing new is not written");
        requeue.Should().BeGreaterThanOrEqualTo(Interval).And.BeLessThanOrEqualTo(Interval * 1.1);
        pipeline.StatusLags(credential, again).Should().BeFalse("the status is older than memory on purpose, not because the cache lags");

        time.Advance(TimeSpan.FromSeconds(30));
        await pipeline.RunAsync(credential, kind, Copy(written), CancellationToken.None);
        kind.Logins.Should().Be(2, "a reconcile soon after an unwritten check must not log in again");
    }

    /// <summary>
    /// An edit that changes no login (the description, the Secret's labels) bumps the generation and asks for no check:
    /// what the last check found still holds, and every condition says so for the new generation. Validated kept the
    /// old one, and <c>kubectl wait --for=condition=Validated</c>, which compares a condition's observedGeneration with
    /// metadata.generation, waited for ever after such an edit.
    /// </summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task An_edit_that_changes_no_login_brings_every_condition_to_the_new_generation_without_a_new_login(bool loginWorks)
    {
        if (!loginWorks)
        {
            kind.Outcome = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "Access denied for 'app'");
        }

        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var checkedAt = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).LastTransitionTime;

        credential.Metadata.Generation = 2;
        time.Advance(TimeSpan.FromSeconds(5));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Logins.Should().Be(1, "the login did not change");
        status.ObservedGeneration.Should().Be(2);
        status.Conditions.Should().OnlyContain(c => c.ObservedGeneration == 2, "each condition holds for generation 2");
        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Status.Should().Be(loginWorks ? "True" : "False");
        validated.LastTransitionTime.Should().Be(checkedAt, "nothing changed state");
    }

    /// <summary>
    /// A token that ends before the next periodic check: the credential is looked at again just after the end, so Ready
    /// turns False when the token stops working, not up to an interval later; and only once.
    /// </summary>
    [Fact]
    public async Task Credentials_that_end_before_the_next_check_are_checked_again_just_after_their_end()
    {
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        var end = Start + TimeSpan.FromMinutes(4);
        kind.Outcome = ValidationOutcome.Success(Good, "11.4") with { ExpiresAt = end };

        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        status.ExpiresAt.Should().Be(end.UtcDateTime);
        requeue.Should().Be(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(1), "looked at a second after the end, long before the 10 minute interval");

        time.Advance(TimeSpan.FromMinutes(2));
        (await pipeline.RunAsync(credential, kind, status, CancellationToken.None)).Should().Be(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        kind.Logins.Should().Be(1, "nothing is due before the end");

        time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        kind.Outcome = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "API server rejected the token (HTTP 401)");
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Logins.Should().Be(2, "the end of the credentials makes a check due");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("False");

        time.Advance(TimeSpan.FromMinutes(1));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        kind.Logins.Should().Be(2, "the end forces one check, not one per reconcile");
    }

    [Fact]
    public async Task A_failing_periodic_check_and_the_recovery_after_it_are_written_at_once()
    {
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        time.Advance(Interval * 1.1);
        kind.Outcome = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "db:3306 refused the login of 'app'");
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        status.LastAttempted.Should().Be(time.GetUtcNow().UtcDateTime);
        status.LastValidated.Should().Be(Start.UtcDateTime);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Reason.Should().Be(ValidationReasons.AuthenticationFailed);

        time.Advance(Interval);
        kind.Outcome = ValidationOutcome.Success(Good, "11.4");
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        status.LastValidated.Should().Be(time.GetUtcNow().UtcDateTime, "the recovery is a change");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
        kind.Logins.Should().Be(3);
    }

    [Fact]
    public async Task Every_check_is_counted_by_its_outcome_the_unwritten_periodic_ones_too()
    {
        // A kind of its own, so that no other test's checks land on these series.
        credential.Kind = $"Counted{Guid.NewGuid():N}";
        var succeeded = kind.Outcome.Reason;
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(Interval * 1.1);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(30));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(Interval * 1.1);
        kind.Outcome = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "db:3306 refused the login of 'app'");
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Logins.Should().Be(3);
        (await ChecksAsync(credential.Kind, succeeded)).Should().Be(2, "the first check and the periodic one that changed nothing");
        (await ChecksAsync(credential.Kind, ValidationReasons.AuthenticationFailed)).Should().Be(1);
    }

    [Fact]
    public async Task A_new_server_version_is_written()
    {
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        time.Advance(Interval * 1.1);
        kind.Outcome = ValidationOutcome.Success(Good, "11.5");
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        status.ServerVersion.Should().Be("11.5");
        status.LastValidated.Should().Be(time.GetUtcNow().UtcDateTime);
    }

    [Fact]
    public async Task A_restarted_operator_does_not_check_every_overdue_credential_at_once()
    {
        var status = new ClusterCredentialStatus();
        await Pipeline(new CheckMemory()).RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(TimeSpan.FromHours(3));

        var restarted = Pipeline(new CheckMemory());
        var requeue = await restarted.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Logins.Should().Be(1, "the overdue check waits for its place in the next interval");
        requeue.Should().BeGreaterThan(TimeSpan.Zero).And.BeLessThan(Interval);
        time.Advance(requeue!.Value);
        await restarted.RunAsync(credential, kind, status, CancellationToken.None);
        kind.Logins.Should().Be(2);
    }

    [Fact]
    public async Task A_successful_check_whose_status_write_was_lost_is_run_again_and_published_rather_than_held_back()
    {
        var (first, status) = await RunAfterALostStatusWriteAsync(newOutcome: null);

        kind.Logins.Should().Be(3, "the check the status does not show is run again: one more good login");
        status.PublishedRevision.Should().NotBe(first.PublishedRevision, "the new password is published");
        status.AttemptedRevision.Should().Be(status.PublishedRevision);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_failed_check_whose_status_write_was_lost_is_shown_from_memory_without_a_second_refused_login()
    {
        var (first, status) = await RunAfterALostStatusWriteAsync(
            ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "db:3306 refused the login of 'app'"));

        kind.Logins.Should().Be(2, "a refused login is not repeated before the interval: that locks accounts");
        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Status.Should().Be("False");
        validated.Message.Should().Be("db:3306 refused the login of 'app'");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        status.PublishedRevision.Should().Be(first.PublishedRevision, "the last good Secret stays");
        status.AttemptedRevision.Should().NotBe(status.PublishedRevision);
    }

    /// <summary>
    /// A periodic check of unchanged inputs finds the login refused, and the status write that says so fails (a 5xx, a
    /// timeout): the next pass, once the cache has had its moment, shows the refusal from memory, without a second
    /// refused login, instead of Ready=True for another interval.
    /// </summary>
    [Fact]
    public async Task A_refused_periodic_check_whose_status_write_failed_is_shown_at_the_next_pass()
    {
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var shown = KubernetesJson.Serialize(status);

        time.Advance(Interval * 1.1);
        var refusedAt = StatusTime.Now(time);
        kind.Outcome = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "db:3306 refused the login of 'app'");
        await pipeline.RunAsync(credential, kind, Copy(shown), CancellationToken.None); // its status write fails

        time.Advance(CheckMemory.CacheLagAllowance + TimeSpan.FromSeconds(1));
        var next = Copy(shown);
        pipeline.StatusLags(credential, next).Should().BeFalse();
        await pipeline.RunAsync(credential, kind, next, CancellationToken.None);

        kind.Logins.Should().Be(2, "a refused login is not repeated before the interval");
        next.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("False");
        next.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        next.LastAttempted.Should().Be(refusedAt);

        // Written this time: later passes change nothing more.
        var written = KubernetesJson.Serialize(next);
        time.Advance(TimeSpan.FromSeconds(30));
        await pipeline.RunAsync(credential, kind, next, CancellationToken.None);
        KubernetesJson.Serialize(next).Should().Be(written);
    }

    /// <summary>
    /// The reverse: a periodic check finds the refused login working again and its status write fails. Memory keeps no
    /// message for a success, so the next pass checks again (one good login) and the status says Ready, rather than
    /// AuthenticationFailed until the next check (never, with interval "0").
    /// </summary>
    [Fact]
    public async Task A_recovery_whose_status_write_failed_is_checked_again_and_shown_at_the_next_pass()
    {
        var pipeline = Pipeline(new CheckMemory());
        var status = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        time.Advance(Interval * 1.1);
        kind.Outcome = ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "db:3306 refused the login of 'app'");
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var shown = KubernetesJson.Serialize(status);

        time.Advance(Interval * 1.1);
        kind.Outcome = ValidationOutcome.Success(Good, "11.4");
        await pipeline.RunAsync(credential, kind, Copy(shown), CancellationToken.None); // its status write fails

        time.Advance(CheckMemory.CacheLagAllowance + TimeSpan.FromSeconds(1));
        var next = Copy(shown);
        await pipeline.RunAsync(credential, kind, next, CancellationToken.None);

        kind.Logins.Should().Be(4, "the recovery the status does not show is checked once more");
        next.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
        next.LastValidated.Should().Be(StatusTime.Now(time));

        var written = KubernetesJson.Serialize(next);
        time.Advance(TimeSpan.FromSeconds(30));
        await pipeline.RunAsync(credential, kind, next, CancellationToken.None);
        kind.Logins.Should().Be(4);
        KubernetesJson.Serialize(next).Should().Be(written);
    }

    [Fact]
    public void A_ClusterCredential_that_disappears_without_its_cleanup_is_forgotten() =>
        ForgottenOnDeletion(new ClusterCredential { Metadata = new V1ObjectMeta { Name = "billing", NamespaceProperty = "team", Uid = "uid-c" } });

    [Fact]
    public void A_PipelineCredential_that_disappears_without_its_cleanup_is_forgotten() =>
        ForgottenOnDeletion(new PipelineCredential { Metadata = new V1ObjectMeta { Name = "deploy", NamespaceProperty = "team", Uid = "uid-p" } });

    /// <summary>Its finalizer removed by hand, the object is gone before the reconciler's deletion path runs.</summary>
    private void ForgottenOnDeletion<T>(T gone)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var memory = new CheckMemory();
        var informer = new FakeInformer<T>(Passbox.Operator.Runtime.Api.ResourceDescriptor.For<T>());
        using var subscription = Pipeline(memory).ForgetDeleted(informer);
        var other = KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(gone));
        other.Metadata.Name = "other";
        other.Metadata.Uid = "uid-other";
        informer.Apply(gone);
        informer.Apply(other);
        var key = CheckMemory.KeyOf(gone);
        var now = time.GetUtcNow();
        memory.Remember(key, new PreviousCheck("rev", now, now, true, "Validated", 0));
        memory.FirstSeen(key, now);
        memory.Remember("uid-other", new PreviousCheck("rev", now, now, true, "Validated", 0));

        informer.Apply(gone);
        memory.StatusLags(key, null, null, now.AddSeconds(1)).Should().BeTrue("an update is not a deletion");

        informer.Delete(gone);

        memory.StatusLags(key, null, null, now.AddSeconds(1)).Should().BeFalse("nothing is remembered of the deleted credential");
        memory.Remembers(key).Should().BeFalse();
        memory.FirstSeen(key, now.AddMinutes(3)).Should().Be(now.AddMinutes(3));
        memory.StatusLags("uid-other", null, null, now.AddSeconds(1)).Should().BeTrue("other credentials are remembered as before");
    }

    private CredentialPipeline Pipeline(CheckMemory memory)
    {
        var server = new FakeApiServer(request => request.Method == HttpMethod.Get && request.Path == "/api/v1/namespaces/team/secrets/source"
            ? SourceSecret(sourceVersion, "unit-test-pw")
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        return PipelineTestKit.Pipeline(server, new PublishedView(kind.BuildSecret(credential, new SourceValues([])), credential.Metadata.Uid), time, memory);
    }

    /// <summary>
    /// A first check is written; a new password is then checked (with <paramref name="newOutcome"/>, or the kind's usual
    /// one) but its status never reaches the server, as when a pass from an older copy wrote over it; a pass ten seconds
    /// later starts from the first status again. Returns that first status and the last pass's.
    /// </summary>
    private async Task<(ClusterCredentialStatus First, ClusterCredentialStatus Last)> RunAfterALostStatusWriteAsync(ValidationOutcome? newOutcome)
    {
        var pipeline = Pipeline(new CheckMemory());
        var first = new ClusterCredentialStatus();
        await pipeline.RunAsync(credential, kind, first, CancellationToken.None);
        var shown = KubernetesJson.Serialize(first);

        time.Advance(TimeSpan.FromSeconds(2));
        sourceVersion = "6";
        kind.Outcome = newOutcome ?? kind.Outcome;
        await pipeline.RunAsync(credential, kind, Copy(shown), CancellationToken.None);

        time.Advance(TimeSpan.FromSeconds(10));
        var last = Copy(shown);
        await pipeline.RunAsync(credential, kind, last, CancellationToken.None);
        return (first, last);
    }

    /// <summary>The value of <c>passbox_checks_total</c> for one kind and reason, as Prometheus would scrape it.</summary>
    private static async Task<double> ChecksAsync(string kindName, string reason)
    {
        using var scrape = new MemoryStream();
        await Prometheus.Metrics.DefaultRegistry.CollectAndExportAsTextAsync(scrape);
        var series = $"passbox_checks_total{{kind=\"{kindName}\",reason=\"{reason}\"}} ";
        var line = System.Text.Encoding.UTF8.GetString(scrape.ToArray()).Split('\n').SingleOrDefault(l => l.StartsWith(series, StringComparison.Ordinal));
        return line is null ? 0 : double.Parse(line[series.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static ClusterCredentialStatus Copy(string json) => KubernetesJson.Deserialize<ClusterCredentialStatus>(json);

    private sealed class CountingKind : TestCredentialKind
    {
        public ValidationOutcome Outcome { get; set; } = ValidationOutcome.Success(Good, "11.4");

        public override IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) => [new(Source, "spec.passwordSecretRef")];

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(Outcome);
    }

    /// <summary>The generated Secret is already published and matches, so publishing writes nothing.</summary>
    private sealed class PublishedView(SecretPayload payload, string ownerUid) : IGeneratedSecretView
    {
        public ObservedSecret? Find(string namespaceName, string name) => new(
            "uid-secret",
            payload.Type,
            payload.KeyDigests,
            new Dictionary<string, string>(),
            new Dictionary<string, string> { [ApiGroup.DataHashAnnotation] = payload.DataHash, [ApiGroup.MetadataHashAnnotation] = payload.MetadataHash },
            [ownerUid],
            [ApiGroup.InUseFinalizer],
            false);

        public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) => [];
    }
}
