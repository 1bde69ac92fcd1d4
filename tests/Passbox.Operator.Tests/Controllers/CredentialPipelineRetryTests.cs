using k8s.Models;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A check that failed for a passing reason (here: the admin credential not Ready yet) is always looked at again, a
/// backoff later, whatever part of a second it ran in. The status holds its times to the second, so a schedule computed
/// from the status's time of a check can lie in the past already when that check ends; that must never turn into "no
/// requeue", which left a managed credential waiting for its admin until something else changed it.
/// </summary>
public sealed class CredentialPipelineRetryTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider time = Clock();
    private readonly V1ConfigMap credential = Credential();

    [Theory]
    [InlineData(0)]
    [InlineData(250)]
    [InlineData(500)]
    [InlineData(750)]
    [InlineData(900)]
    [InlineData(999)]
    public async Task A_credential_waiting_for_its_admin_is_checked_again_a_backoff_later_whatever_the_millisecond_it_ran_at(int millisecond)
    {
        var kind = new ManagedKind();
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        time.Advance(TimeSpan.FromMilliseconds(millisecond));

        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Reason.Should().Be(ValidationReasons.AdminNotReady);
        requeue.Should().NotBeNull("nothing else brings the credential back when its admin turns Ready");
        requeue!.Value.Should().BeGreaterThanOrEqualTo(Interval / 2, "a backoff, not a hot loop").And.BeLessThanOrEqualTo(Interval);

        kind.AdminReady = true;
        time.Advance(requeue.Value);
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Be(2, "the requeued reconcile asked for the admin again");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True");
    }

    [Fact]
    public async Task A_reconcile_before_the_backoff_ends_waits_for_it_instead_of_checking_again()
    {
        var kind = new ManagedKind();
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        time.Advance(TimeSpan.FromMilliseconds(900));
        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        time.Advance(requeue!.Value / 2);
        var again = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Be(1, "an event soon after the check (its own status write) does not bring the next one forward");
        again.Should().Be(requeue.Value - (requeue.Value / 2));
    }

    [Fact]
    public async Task A_credential_waiting_for_its_admin_is_checked_at_once_when_the_admin_turns_Ready_not_a_backoff_later()
    {
        var kind = new ManagedKind { CheckInterval = TimeSpan.FromMinutes(10) };
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        time.Advance(TimeSpan.FromMilliseconds(900));
        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        // The admin's own check passes at the next second; its Ready condition says so to the second.
        time.Advance(TimeSpan.FromMilliseconds(100));
        kind.AdminReady = true;
        kind.AdminReadySince = time.GetUtcNow();
        time.Advance(TimeSpan.FromMilliseconds(100));
        var woken = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        requeue.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1), "the backoff had not ended when the admin turned Ready");
        kind.Applies.Should().Be(2, "the reconcile the admin's watch brings checks again although the backoff has not ended");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
        woken.Should().BeGreaterThan(TimeSpan.FromMinutes(9), "after a good check the next is an interval away, not a backoff");
    }

    [Fact]
    public async Task A_check_that_failed_after_its_admin_turned_Ready_waits_out_its_backoff_so_a_lasting_failure_cannot_loop()
    {
        // Ready since this very second, yet the check still fails (the admin's Secret was deleted, say).
        var kind = new ManagedKind { AdminReadySince = time.GetUtcNow() };
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        time.Advance(TimeSpan.FromMilliseconds(400));
        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        time.Advance(TimeSpan.FromMilliseconds(100));
        var again = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Be(1, "the admin was Ready before this failure: only the backoff brings the next check");
        again.Should().Be(requeue!.Value - TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_credential_whose_admin_login_was_refused_is_checked_at_once_when_the_admin_passes_a_check_after_it_not_an_interval_later()
    {
        var kind = new ManagedKind { AdminReady = true, AdminRefused = true, CheckInterval = TimeSpan.FromMinutes(10) };
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        time.Advance(TimeSpan.FromMilliseconds(900));
        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        // Events before the admin's fix (its own status writes, say) bring no check: a refused login waits its interval.
        time.Advance(TimeSpan.FromSeconds(1));
        await pipeline.RunAsync(credential, kind, status, CancellationToken.None);
        var applies = kind.Applies;

        // The admin's password is fixed: its check with it passes, and its status says so to the second.
        time.Advance(TimeSpan.FromMilliseconds(1100));
        kind.AdminRefused = false;
        kind.AdminValidatedSince = time.GetUtcNow();
        time.Advance(TimeSpan.FromMilliseconds(100));
        var woken = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        requeue.Should().BeGreaterThanOrEqualTo(TimeSpan.FromMinutes(9), "a refused administrator login is retried at the interval, not with backoff");
        applies.Should().Be(1);
        kind.Applies.Should().Be(2, "the reconcile the admin's watch brings checks again although the interval has not ended");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
        woken.Should().BeGreaterThan(TimeSpan.FromMinutes(9));
    }

    [Fact]
    public async Task An_admin_login_refused_after_the_admins_last_passed_check_waits_its_interval_so_it_cannot_lock_the_admin_out()
    {
        // The admin passed its check this very second, yet its login is refused to this credential right after.
        var kind = new ManagedKind { AdminReady = true, AdminRefused = true, AdminValidatedSince = time.GetUtcNow(), CheckInterval = TimeSpan.FromMinutes(10) };
        var pipeline = Pipeline();
        var status = new ClusterCredentialStatus();
        time.Advance(TimeSpan.FromMilliseconds(400));
        var requeue = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        time.Advance(TimeSpan.FromMilliseconds(100));
        var again = await pipeline.RunAsync(credential, kind, status, CancellationToken.None);

        kind.Applies.Should().Be(1, "only the interval, or a later passed check of the admin, brings the next administrator login");
        again.Should().Be(requeue!.Value - TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_credential_whose_interval_is_shorter_than_its_check_is_looked_at_again_a_moment_later_not_forgotten_nor_at_once()
    {
        var kind = new ManagedKind { AdminReady = true, CheckInterval = ValidationPlanner.ShortestInterval };
        var pipeline = Pipeline();
        time.AutoAdvanceAmount = TimeSpan.FromSeconds(2); // every reading of the clock finds it later: the check takes time

        var requeue = await pipeline.RunAsync(credential, kind, new ClusterCredentialStatus(), CancellationToken.None);

        requeue.Should().Be(CredentialPipeline.ShortestRecheck);
    }

    private CredentialPipeline Pipeline() => PipelineTestKit.Pipeline(AcceptingCreates(), new NoGeneratedSecrets(), time);

    /// <summary>
    /// A managed user whose admin is not Ready until <see cref="AdminReady"/>, and whose admin login the server refuses
    /// while <see cref="AdminRefused"/>; its login then works.
    /// </summary>
    private sealed class ManagedKind : TestCredentialKind, ICredentialProvisioning<V1ConfigMap>
    {
        public bool AdminReady { get; set; }

        public bool AdminRefused { get; set; }

        public TimeSpan CheckInterval { get; init; } = Interval;

        public int Applies { get; private set; }

        public override ICredentialProvisioning<V1ConfigMap> Provisioning => this;

        public override CheckSchedule Schedule(V1ConfigMap credential) => new(CheckInterval, TimeSpan.FromSeconds(3), DisabledBy: null);

        public bool Manages(V1ConfigMap credential) => true;

        public Task<PrepareResult> PrepareAsync(V1ConfigMap credential, CredentialStatus status, CancellationToken ct) => Task.FromResult(PrepareResult.Nothing);

        public Task<ValidationOutcome?> ApplyAsync(V1ConfigMap credential, SourceValues sources, CredentialStatus status, bool loginRefused, PublishTrial trial, CancellationToken ct)
        {
            Applies++;
            return Task.FromResult(!AdminReady
                ? ValidationOutcome.Failure(ValidationReasons.AdminNotReady, "cannot manage user 'app': admin ClusterCredential root-admin has not been checked yet")
                : AdminRefused
                    ? ValidationOutcome.Failure(ValidationReasons.AdminAuthenticationFailed, "cannot manage user 'app' as administrator 'root': Access denied for 'root' at db:3306")
                    : null);
        }

        public Task<ReleaseResult> ReleaseAsync(V1ConfigMap credential, CancellationToken ct) => Task.FromResult(ReleaseResult.Nothing);

        public bool DropsUserOnDeletion(V1ConfigMap credential) => false;

        public IReadOnlyList<string> DependentsOf(V1ConfigMap credential) => [];

        /// <summary>When the admin turned Ready, as its Ready condition says it (whole seconds); null while it is not.</summary>
        public DateTimeOffset? AdminReadySince { get; set; }

        /// <summary>When the admin last passed a check its status records (whole seconds).</summary>
        public DateTimeOffset? AdminValidatedSince { get; set; }

        public DateTimeOffset? WaitOverSince(V1ConfigMap credential, string reason) => reason switch
        {
            ValidationReasons.AdminNotReady => AdminReadySince,
            ValidationReasons.AdminAuthenticationFailed => AdminValidatedSince,
            _ => null,
        };

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(ValidationOutcome.Success("Logged in to db:3306 as 'app'"));
    }
}
