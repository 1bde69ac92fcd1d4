using System.Net;
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
/// Limits the pipeline runs into: a check that hangs is abandoned after the time its condition names, and a name too
/// long for the generated Secret's label, or a Secret the API server refuses, ends in a condition instead of a Secret
/// write refused on every reconcile.
/// </summary>
public sealed class CredentialPipelineLimitsTests
{
    private readonly FakeTimeProvider time = Clock();
    private readonly FakeApiServer api = new(_ => FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));

    [Theory]
    [InlineData(false, false, 10)]
    [InlineData(true, false, 10)]
    [InlineData(true, true, 15)]
    public async Task A_hanging_check_is_abandoned_after_the_time_its_message_names(bool provisioned, bool managed, int appliedSeconds)
    {
        // A kind that can manage users (every ClusterCredential) gives the administrator its share only when it does.
        var kind = new HangingKind(provisioned, managed);
        var status = new ClusterCredentialStatus();
        var run = Pipeline().RunAsync(Credential("billing"), kind, status, CancellationToken.None);
        await kind.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        time.Advance(TimeSpan.FromSeconds(appliedSeconds) - TimeSpan.FromMilliseconds(1));
        run.IsCompleted.Should().BeFalse("the check still has a millisecond left");
        time.Advance(TimeSpan.FromMilliseconds(1));
        await run.WaitAsync(TimeSpan.FromSeconds(30));

        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Reason.Should().Be(ValidationReasons.Timeout);
        validated.Message.Should().StartWith($"the check did not finish within {appliedSeconds}s (validation.timeout 5s");
        validated.Message.Contains("administrator", StringComparison.Ordinal).Should().Be(managed && provisioned);
    }

    [Fact]
    public async Task A_name_too_long_for_the_Secret_label_ends_in_an_InvalidSpec_condition_without_a_login_or_a_write()
    {
        var kind = new HangingKind(provisioned: false) { Outcome = ValidationOutcome.Success("logged in") };
        var status = new ClusterCredentialStatus();

        var requeue = await Pipeline().RunAsync(Credential(new string('a', 64)), kind, status, CancellationToken.None);

        requeue.Should().BeNull("only a new credential under a shorter name can fix it");
        kind.Started.Task.IsCompleted.Should().BeFalse("nothing is checked for a credential that can never be published");
        api.Requests.Should().BeEmpty();
        var ready = status.Conditions!.Single(c => c.Type == ConditionTypes.Ready);
        ready.Status.Should().Be("False");
        ready.Reason.Should().Be(ConditionReasons.InvalidSpec);
        ready.Message.Should().Contain("metadata.name is 64 characters long").And.Contain(ApiGroup.CredentialLabel).And.Contain("at most 63");
    }

    [Fact]
    public async Task A_Secret_the_API_server_refuses_ends_in_a_SecretRejected_condition_instead_of_endless_retries()
    {
        var refusal = "Secret \\\"billing\\\" is invalid: metadata.labels: Invalid value: \\\"" + new string('x', 64) + "\\\": must be no more than 63 characters";
        var refusing = new FakeApiServer(request => request.Method == HttpMethod.Post
            ? FakeApiServer.Status(HttpStatusCode.UnprocessableEntity, "Invalid", refusal)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var kind = new HangingKind(provisioned: false) { Outcome = ValidationOutcome.Success("logged in") };
        var status = new ClusterCredentialStatus();

        var requeue = await Pipeline(refusing).RunAsync(Credential("billing"), kind, status, CancellationToken.None);

        requeue.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(10), "the next look is the periodic one; an edit of the spec comes sooner");
        refusing.Requests.Should().ContainSingle(r => r.Method == HttpMethod.Post, "a refused write is not retried in the same pass");
        var synced = status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced);
        synced.Status.Should().Be("False");
        synced.Reason.Should().Be(ConditionReasons.SecretRejected);
        synced.Message.Should().Contain("the API server refused Secret billing").And.Contain("must be no more than 63 characters")
            .And.Contain("spec.secret.labels");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretRejected);
        status.SecretName.Should().BeNull("nothing was published");
    }

    [Theory]
    [InlineData(HttpStatusCode.Forbidden, "Forbidden",
        "secrets is forbidden: User \\\"system:serviceaccount:passbox-system:passbox\\\" cannot create resource \\\"secrets\\\" in API group \\\"\\\" in the namespace \\\"team\\\"",
        "may not write Secrets in namespace team")]
    [InlineData(HttpStatusCode.Forbidden, "Forbidden",
        "secrets \\\"billing\\\" is forbidden: exceeded quota: team-quota, requested: secrets=1, used: secrets=20, limited: secrets=20",
        "A ResourceQuota in namespace team allows no more Secrets: raise it or free a Secret")]
    [InlineData(HttpStatusCode.BadRequest, "BadRequest",
        "admission webhook \\\"secrets.policy.example.com\\\" denied the request: Secrets need the label team",
        "An admission policy or webhook")]
    [InlineData(HttpStatusCode.UnprocessableEntity, "Invalid",
        "secrets \\\"billing\\\" is forbidden: ValidatingAdmissionPolicy 'no-billing' with binding 'no-billing' denied request: billing Secrets are refused",
        "An admission policy or webhook")]
    public async Task A_Secret_write_refused_by_RBAC_a_quota_or_an_admission_webhook_ends_in_a_SecretRejected_condition_and_is_tried_again(
        HttpStatusCode code, string reason, string refusal, string hint)
    {
        var refusing = new FakeApiServer(request => request.Method == HttpMethod.Post
            ? FakeApiServer.Status(code, reason, refusal)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var kind = new HangingKind(provisioned: false) { Outcome = ValidationOutcome.Success("logged in") };
        var status = new ClusterCredentialStatus();

        var run = () => Pipeline(refusing).RunAsync(Credential("billing"), kind, status, CancellationToken.None);

        (await run.Should().NotThrowAsync("an exception out of the reconcile would leave no status")).Which
            .Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2, "the cause is outside the credential: no edit of it will bring it back")
            .And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry, "a first refusal is tried again no later than before");
        var synced = status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced);
        synced.Status.Should().Be("False");
        synced.Reason.Should().Be(ConditionReasons.SecretRejected);
        synced.Message.Should().StartWith("the API server refused Secret billing: " + refusal.Replace("\\\"", "\"", StringComparison.Ordinal))
            .And.Contain(hint).And.Contain("tried again within 1 min, then less often (at most every 16 min)");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be(ConditionReasons.SecretRejected);
        status.SecretName.Should().BeNull("nothing was published");
    }

    /// <summary>
    /// Neither is a verdict the same write can pass later by itself, yet both came out of the reconcile as bare errors,
    /// retried with the queue's backoff and no word in the status.
    /// </summary>
    [Theory]
    [InlineData(HttpStatusCode.InternalServerError, "InternalError",
        "Internal error occurred: failed calling webhook \\\"secrets.policy.example.com\\\": failed to call webhook: Post \\\"https://policy.policy.svc:443/validate\\\": dial tcp 10.96.0.12:443: connect: connection refused",
        ConditionReasons.AdmissionWebhookFailed, true)]
    [InlineData(HttpStatusCode.RequestEntityTooLarge, "RequestEntityTooLarge", "Request entity too large: limit is 3145728", ConditionReasons.SecretTooLarge, false)]
    public async Task A_failing_admission_webhook_or_a_too_large_Secret_ends_in_a_condition_that_says_so(
        HttpStatusCode code, string reason, string refusal, string conditionReason, bool retried)
    {
        var refusing = new FakeApiServer(request => request.Method == HttpMethod.Post
            ? FakeApiServer.Status(code, reason, refusal)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var kind = new HangingKind(provisioned: false) { Outcome = ValidationOutcome.Success("logged in") };
        var status = new ClusterCredentialStatus();

        var run = () => Pipeline(refusing).RunAsync(Credential("billing"), kind, status, CancellationToken.None);

        var requeue = (await run.Should().NotThrowAsync("an exception out of the reconcile would leave no status")).Which;
        if (retried)
        {
            requeue.Should().BeGreaterThanOrEqualTo(RefusedWriteBackoff.FirstRetry / 2, "a webhook that is down comes back by itself; half a minute is no hot loop")
                .And.BeLessThanOrEqualTo(RefusedWriteBackoff.FirstRetry);
        }
        else
        {
            requeue.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(10), "the next look is the periodic one; an edit of a source Secret comes sooner");
        }

        refusing.Requests.Should().ContainSingle(r => r.Method == HttpMethod.Post, "a refused write is not retried in the same pass");
        var synced = status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced);
        synced.Status.Should().Be("False");
        synced.Reason.Should().Be(conditionReason);
        synced.Message.Should().StartWith("the API server refused Secret billing: " + refusal.Replace("\\\"", "\"", StringComparison.Ordinal));
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Reason.Should().Be(conditionReason);
    }

    [Fact]
    public async Task A_refusal_that_quotes_the_Secret_data_is_shown_without_it()
    {
        var base64 = Convert.ToBase64String("unit-test-pw"u8.ToArray());
        var refusal = $"admission webhook \\\"strength.example.com\\\" denied the request: data.password unit-test-pw ({base64}) is too weak";
        var refusing = new FakeApiServer(request => request.Method == HttpMethod.Post
            ? FakeApiServer.Status(HttpStatusCode.BadRequest, "BadRequest", refusal)
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var kind = new HangingKind(provisioned: false) { Outcome = ValidationOutcome.Success("logged in") };
        var status = new ClusterCredentialStatus();

        await Pipeline(refusing).RunAsync(Credential("billing"), kind, status, CancellationToken.None);

        var message = status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Message;
        message.Should().Contain("admission webhook \"strength.example.com\" denied the request: data.password *** (***) is too weak")
            .And.NotContain("unit-test-pw").And.NotContain(base64);
    }

    [Fact]
    public async Task A_Secret_that_fails_to_build_ends_in_an_InvalidSpec_condition_that_does_not_quote_the_failure()
    {
        var kind = new HangingKind(provisioned: false)
        {
            Outcome = ValidationOutcome.Success("logged in"),
            BuildFailure = new UriFormatException("Invalid URI: https://oauth2:glpat-quoted@git.example.com:5OOO"),
        };
        var status = new ClusterCredentialStatus();

        var run = () => Pipeline().RunAsync(Credential("billing"), kind, status, CancellationToken.None);

        await run.Should().NotThrowAsync("an exception out of the reconcile would leave no status and retry for ever");
        api.Requests.Should().BeEmpty("nothing is published");
        var ready = status.Conditions!.Single(c => c.Type == ConditionTypes.Ready);
        ready.Status.Should().Be("False");
        ready.Reason.Should().Be(ConditionReasons.InvalidSpec);
        ready.Message.Should().Contain("cannot be built (UriFormatException)").And.Contain("operator log").And.NotContain("glpat-quoted");
        status.Conditions!.Single(c => c.Type == ConditionTypes.SecretSynced).Reason.Should().Be(ConditionReasons.InvalidSpec);
    }

    private CredentialPipeline Pipeline(FakeApiServer? server = null) => PipelineTestKit.Pipeline(server ?? api, new NoGeneratedSecrets(), time);

    /// <summary>A kind with no source Secrets whose login hangs until cancelled, or returns <see cref="Outcome"/>.</summary>
    private sealed class HangingKind(bool provisioned, bool managed = true) : TestCredentialKind
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValidationOutcome? Outcome { get; init; }

        /// <summary>Thrown by <see cref="BuildSecret"/> when set.</summary>
        public Exception? BuildFailure { get; init; }

        public override SecretPayload BuildSecret(V1ConfigMap credential, SourceValues sources) =>
            BuildFailure is { } failure ? throw failure : base.BuildSecret(credential, sources);

        public override ICredentialProvisioning<V1ConfigMap>? Provisioning { get; } = provisioned ? new RecordingProvisioning { ManagesUsers = managed } : null;

        protected override async Task<ValidationOutcome> LogInAsync(CancellationToken ct)
        {
            Started.TrySetResult();
            if (Outcome is { } outcome)
            {
                return outcome;
            }

            await Task.Delay(System.Threading.Timeout.Infinite, ct);
            throw new InvalidOperationException("unreachable");
        }
    }
}
