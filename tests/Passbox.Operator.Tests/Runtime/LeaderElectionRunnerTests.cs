using k8s;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.Operator.Runtime.LeaderElection;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// The runner against a FakeApiServer that keeps one Lease. The library's LeaderElector waits on the real clock, so these
/// tests use short lease periods: a lost lease shows after about a second.
/// </summary>
public sealed class LeaderElectionRunnerTests
{
    private static readonly LeaderElectionOptions Options = new()
    {
        LeaseNamespace = "ns",
        LeaseName = "passbox-test",
        Identity = "leader",
        LeaseDuration = TimeSpan.FromSeconds(3),
        RenewDeadline = TimeSpan.FromSeconds(1),
        RetryPeriod = TimeSpan.FromMilliseconds(100),
    };

    [Theory]
    [InlineData("""{"leaseDurationSeconds":15,"leaseTransitions":3}""", "no holder: released")]
    [InlineData("""{"holderIdentity":"gone","leaseDurationSeconds":3}""", "a holder without times: held until it has gone unchanged for a lease duration")]
    public async Task A_lease_missing_its_holder_or_times_is_taken_instead_of_created_again_and_again(string spec, string because)
    {
        // Created or edited by hand: the elector read it as no lease, tried to create one, was refused (409 AlreadyExists)
        // at every attempt, and no replica ever led.
        var lease = new FakeLease();
        lease.StoredWith(spec);
        var runner = new LeaderElectionRunner(lease.Client, Options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(
            async (stopping, _) =>
            {
                leading.TrySetResult();
                await Task.Delay(Timeout.Infinite, stopping).ContinueWith(_ => { }, TaskScheduler.Default);
            },
            stop.Token);
        try
        {
            await leading.Task.WaitAsync(TimeSpan.FromSeconds(10));
            lease.Holder.Should().Be("leader", because);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [Fact]
    public async Task A_lease_lost_while_draining_for_a_graceful_stop_abandons_the_in_flight_work_and_is_not_released()
    {
        var lease = new FakeLease();
        var runner = new LeaderElectionRunner(lease.Client, Options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = false;
        using var stop = new CancellationTokenSource();
        using var endOfTest = new CancellationTokenSource();
        var run = runner.RunAsync(
            async (stopping, abort) =>
            {
                leading.TrySetResult();

                // A reconcile in the middle of a database call while the controllers drain: it ignores the graceful stop.
                using var either = CancellationTokenSource.CreateLinkedTokenSource(abort, endOfTest.Token);
                await Task.Delay(Timeout.Infinite, either.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                aborted = abort.IsCancellationRequested;
            },
            stop.Token);
        try
        {
            await leading.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // SIGTERM: the controllers drain while the lease is renewed; then the API server stops answering.
            await stop.CancelAsync();
            await Task.Delay(300);
            runner.State.Should().Be(LeadershipState.Leading, "the lease is still renewed while the work drains");
            lease.Failing = true;

            (await run.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(LeaderElectionOutcome.Lost);
            aborted.Should().BeTrue("a standby may take over once the lease is lost: in-flight work must stop writing at once");
            runner.State.Should().Be(LeadershipState.Lost);
            lease.Releases.Should().Be(0, "a lost lease is not ours to release");
        }
        finally
        {
            await endOfTest.CancelAsync();
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [Fact]
    public async Task A_lost_lease_is_reported_even_when_the_in_flight_work_ignores_the_abort()
    {
        var lease = new FakeLease();
        var runner = new LeaderElectionRunner(lease.Client, Options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        using var endOfTest = new CancellationTokenSource();
        var run = runner.RunAsync(
            async (stopping, abort) =>
            {
                leading.TrySetResult();

                // A reconcile stuck in a call that honours no token: only the end of the process ends it.
                await Task.Delay(Timeout.Infinite, endOfTest.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            },
            stop.Token);
        try
        {
            await leading.Task.WaitAsync(TimeSpan.FromSeconds(10));
            lease.Failing = true;

            // Lost after the retry period and the renew deadline (1.1 s); the stuck work gets what is left of the lease (1.9 s), no more. Waiting for
            // it for ever kept the process from exiting: alive by its health check, a stuck reconcile beside the new leader.
            var outcome = await run.WaitAsync(TimeSpan.FromSeconds(10));
            outcome.Should().Be(LeaderElectionOutcome.Lost);
            runner.State.Should().Be(LeadershipState.Lost);
        }
        finally
        {
            await endOfTest.CancelAsync();
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [Fact]
    public async Task Work_that_ignores_the_abort_is_waited_for_no_longer_than_the_lost_lease_lasts()
    {
        // A retry period long beside the others: the elector gives up 2 s + 1 s after its last renewal, so 3 s are left of
        // the lease; counting the renew deadline alone left 5 s, and the stuck work was waited for 2 s past the expiry.
        var options = Options with { LeaseDuration = TimeSpan.FromSeconds(6), RenewDeadline = TimeSpan.FromSeconds(1), RetryPeriod = TimeSpan.FromSeconds(2) };
        var lease = new FakeLease();
        var runner = new LeaderElectionRunner(lease.Client, options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        using var endOfTest = new CancellationTokenSource();
        var run = runner.RunAsync(
            async (stopping, abort) =>
            {
                leading.TrySetResult();
                await Task.Delay(Timeout.Infinite, endOfTest.Token).ContinueWith(_ => { }, TaskScheduler.Default);
            },
            stop.Token);
        try
        {
            await leading.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // The API server fails from right after a renewal on: the lease expires a lease duration after it.
            var writes = lease.Writes;
            while (lease.Writes == writes)
            {
                await Task.Delay(5);
            }

            lease.Failing = true;
            var sinceRenewal = System.Diagnostics.Stopwatch.StartNew();

            (await run.WaitAsync(TimeSpan.FromSeconds(20))).Should().Be(LeaderElectionOutcome.Lost);
            sinceRenewal.Elapsed.Should().BeLessThan(
                options.LeaseDuration + (options.RetryPeriod / 2),
                "the loss is reported, and the process exits, when the lease expires and a standby may lead: not later");
        }
        finally
        {
            await endOfTest.CancelAsync();
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [Fact]
    public async Task A_lost_lease_is_not_renewed_again_when_the_API_server_answers_after_the_loss()
    {
        var lease = new FakeLease();
        var runner = new LeaderElectionRunner(lease.Client, Options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);
        var leading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync(
            async (stopping, abort) =>
            {
                leading.TrySetResult();
                await Task.Delay(Timeout.Infinite, stopping).ContinueWith(_ => { }, TaskScheduler.Default);
            },
            stop.Token);
        try
        {
            await leading.Task.WaitAsync(TimeSpan.FromSeconds(10));

            // Renewals fail past the renew deadline: leadership is lost and the process is about to exit.
            lease.Failing = true;
            (await run.WaitAsync(TimeSpan.FromSeconds(10))).Should().Be(LeaderElectionOutcome.Lost);

            // The API server answers again while this process exits: nothing may renew the lease for it any more, or a
            // standby waits for a lease that the exiting process keeps fresh.
            var writesAtLoss = lease.Writes;
            lease.Failing = false;
            await Task.Delay(Options.RetryPeriod * 10);
            lease.Writes.Should().Be(writesAtLoss, "the lost election's renew attempt must end with it");
            lease.Holder.Should().Be("leader", "the lease is left to expire, not renewed");
        }
        finally
        {
            await stop.CancelAsync();
        }
    }

    [Fact]
    public async Task A_standby_whose_lease_requests_get_no_answer_turns_unhealthy_and_does_not_pile_them_up()
    {
        // An API server that accepts connections but answers nothing (overloaded, or a black-holed route): each of the
        // elector's attempts waited for the HTTP client's 100 s timeout while the next began, and none failed meanwhile.
        var lease = new FakeLease();
        lease.HeldBy("other");

        // The retry period's share of the renew deadline as in the defaults (2 s of 10 s).
        var options = Options with { RetryPeriod = TimeSpan.FromMilliseconds(200) };
        var logs = new RecordingLoggers();
        var runner = new LeaderElectionRunner(lease.Client, options, TimeProvider.System, new Logger<LeaderElectionRunner>(logs));
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync((_, _) => Task.CompletedTask, stop.Token);
        try
        {
            await FakeApiServer.WaitUntilAsync(() => runner.CurrentLeader == "other");
            runner.IsHealthy.Should().BeTrue("a standby that reads the lease could take over");

            lease.Hanging = true;
            await Task.Delay(TimeSpan.FromSeconds(3));

            runner.State.Should().Be(LeadershipState.Candidate);
            runner.IsHealthy.Should().BeFalse("a standby that cannot read the lease could not take over");
            lease.MostInFlight.Should().BeLessThanOrEqualTo(3, "each attempt ends after half the renew deadline instead of waiting beside the next ones");
            logs.Messages.Should().Contain(line => line.EndsWith("The API server did not answer within 0.5 s", StringComparison.Ordinal))
                .And.NotContain(line => line.Contains("canceled", StringComparison.OrdinalIgnoreCase));
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    [Fact]
    public async Task An_API_server_that_refuses_connections_is_logged_as_such_and_not_as_a_503_no_server_answered()
    {
        var server = new FakeApiServer(HttpResponseMessage (RecordedRequest _) => throw new HttpRequestException("Connection refused (api.test:443)"));
        var logs = new RecordingLoggers();
        var runner = new LeaderElectionRunner(
            new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, server), Options, TimeProvider.System, new Logger<LeaderElectionRunner>(logs));
        using var stop = new CancellationTokenSource();
        var run = runner.RunAsync((_, _) => Task.CompletedTask, stop.Token);

        await FakeApiServer.WaitUntilAsync(() => server.Requests.Count >= 3);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));

        var errors = logs.Messages.Where(line => line.Contains("Leader election error", StringComparison.Ordinal)).ToList();
        errors.Should().NotBeEmpty().And.OnlyContain(line => line.Contains("Connection refused", StringComparison.Ordinal), "no server answered 503");
        runner.IsHealthy.Should().BeFalse();
    }
}
