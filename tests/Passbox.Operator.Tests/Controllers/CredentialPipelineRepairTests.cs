using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A managed user whose login is refused is repaired by the administrator once per check: a login still refused after
/// that repair ends in an AuthenticationFailed condition that says the password is not the problem, and waits the
/// interval like any refused login, with one administrator session per check at most.
/// </summary>
public sealed class CredentialPipelineRepairTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(10);

    private readonly FakeTimeProvider time = Clock();
    private readonly V1ConfigMap credential = Credential();

    [Fact]
    public async Task A_login_still_refused_after_the_repair_is_reported_and_waits_the_interval_with_one_admin_session_per_check()
    {
        var kind = new LockedUserKind();
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();

        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Admin.Applies.Should().Equal([false, true], "the refused login was repaired once, right away");
        kind.Logins.Should().Be(2);
        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        validated.Message.Should().StartWith("Access denied for app at db:3306: account is locked")
            .And.Contain("The administrator had just set this user's password").And.Contain("a locked or expired account")
            .And.Contain("validation.interval");
        requeue.Should().Be(Interval, "a refused login waits the interval: repeated refused logins lock accounts");

        // The same reconcile again (the status write echoes back): nothing is due, nobody logs in.
        (await pipeline.RunAsync(credential, kind, status, CancellationToken.None)).Should().Be(Interval);
        kind.Admin.Applies.Should().HaveCount(2);
        kind.Logins.Should().Be(2);

        time.Advance(Interval);
        requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Admin.Applies.Should().Equal([false, true, true], "the next check repairs before its login, and not again after it");
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

        kind.Admin.Applies.Should().Equal([false, true]);
        kind.Logins.Should().Be(2);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
        status.SecretName.Should().Be("billing", "the repaired login publishes the Secret");
    }

    private CredentialPipeline Pipeline() => PipelineTestKit.Pipeline(AcceptingCreates(), new NoGeneratedSecrets(), time);

    /// <summary>A managed user whose login the server refuses (<see cref="RefusalsLeft"/> times) whatever the administrator does.</summary>
    private sealed class LockedUserKind : TestCredentialKind
    {
        public int RefusalsLeft { get; set; } = int.MaxValue;

        public RecordingProvisioning Admin { get; } = new();

        public override ICredentialProvisioning<V1ConfigMap> Provisioning => Admin;

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(RefusalsLeft-- > 0
            ? ValidationOutcome.Failure(ValidationReasons.AuthenticationFailed, "Access denied for app at db:3306: account is locked.")
            : ValidationOutcome.Success("logged in"));
    }
}
