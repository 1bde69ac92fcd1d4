using System.Diagnostics;
using k8s;
using Microsoft.Extensions.Logging.Abstractions;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Runtime.LeaderElection;
using Xunit.Abstractions;
using static Passbox.IntegrationTests.Runtime.RuntimeTestKit;

namespace Passbox.IntegrationTests.Runtime;

[Collection(ControlPlaneDefinition.Name)]
public sealed class LeaderElectionTests(ControlPlaneFixture controlPlane, ITestOutputHelper output)
{
    [Fact]
    public async Task One_of_two_candidates_leads_and_the_other_takes_over_quickly_after_a_graceful_stop()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("lease");
        var options = new LeaderElectionOptions
        {
            LeaseNamespace = ns.Name,
            LeaseName = "passbox-test",
            LeaseDuration = TimeSpan.FromSeconds(10),
            RenewDeadline = TimeSpan.FromSeconds(6),
            RetryPeriod = TimeSpan.FromMilliseconds(300),
        };
        var first = new Candidate(controlPlane, options with { Identity = "first" });
        var second = new Candidate(controlPlane, options with { Identity = "second" });

        first.Start();
        await EventuallyAsync(() => first.Leading, because: "a lone candidate acquires the lease");
        second.Start();
        await Task.Delay(1500);
        second.Leading.Should().BeFalse("the lease is held and renewed by the first");
        second.Election.State.Should().Be(LeadershipState.Candidate);
        second.Election.IsHealthy.Should().BeTrue("standing by is healthy");

        var handover = Stopwatch.StartNew();
        await first.StopAsync();
        first.Election.State.Should().Be(LeadershipState.Stopped);
        first.WorkCancelled.Should().BeTrue("work runs only while leading");
        var lease = await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync("passbox-test", ns.Name);
        lease.Spec.HolderIdentity.Should().BeOneOf("", "second", null);

        await EventuallyAsync(() => second.Leading, TimeSpan.FromSeconds(8), "the released lease is taken at once");
        output.WriteLine($"Hand-over after graceful stop: {handover.ElapsedMilliseconds} ms (lease duration {options.LeaseDuration.TotalSeconds} s)");
        handover.Elapsed.Should().BeLessThan(options.LeaseDuration, "release must beat waiting for expiry");
        await second.StopAsync();
    }

    private sealed class Candidate(ControlPlaneFixture controlPlane, LeaderElectionOptions options)
    {
        private readonly CancellationTokenSource stop = new();
        private Task<LeaderElectionOutcome>? run;

        public LeaderElectionRunner Election { get; } = new(
            ControlPlaneFixture.CreateClient(controlPlane.OperatorKubeconfig), options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);

        public volatile bool Leading;

        public volatile bool WorkCancelled;

        public void Start() => run = Election.RunAsync(
            async token =>
            {
                Leading = true;
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    WorkCancelled = true;
                }
                finally
                {
                    Leading = false;
                }
            },
            stop.Token);

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            (await run!.WaitAsync(TimeSpan.FromSeconds(15))).Should().Be(LeaderElectionOutcome.Stopped);
        }
    }
}
