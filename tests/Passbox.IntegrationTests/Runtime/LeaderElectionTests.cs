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
        var options = Options(ns.Name, "first");
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

    [Fact]
    public async Task A_lease_deleted_under_a_live_leader_is_not_taken_by_the_standby_and_the_leader_creates_it_again()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("lease");
        var options = Options(ns.Name, "first");
        var first = new Candidate(controlPlane, options with { Identity = "first" });
        var second = new Candidate(controlPlane, options with { Identity = "second" });
        first.Start();
        await EventuallyAsync(() => first.Leading, because: "a lone candidate acquires the lease");
        second.Start();
        await EventuallyAsync(() => second.Election.CurrentLeader == "first", because: "the standby reads the lease");

        // kubectl delete lease while the leader's requests fail for a moment (shorter than its renew deadline), so that the
        // standby reads the 404 first: it created the lease at once and led beside the leader, which still acted.
        first.Network.On = true;
        await controlPlane.Admin.CoordinationV1.DeleteNamespacedLeaseAsync("passbox-test", ns.Name);
        await Task.Delay(TimeSpan.FromSeconds(3));
        second.Leading.Should().BeFalse("the leader renewed the lease less than a lease duration ago: it still leads");
        first.Network.On = false;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while ((await TryReadLeaseSpecAsync(ns.Name))?.HolderIdentity != "first" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        var recreated = await TryReadLeaseSpecAsync(ns.Name);
        recreated.Should().NotBeNull("the leader creates its lease again");
        recreated!.HolderIdentity.Should().Be("first");
        first.Leading.Should().BeTrue();
        second.Leading.Should().BeFalse();
        await first.StopAsync();
        await EventuallyAsync(() => second.Leading, because: "the released lease is taken at once");
        await second.StopAsync();
    }

    [Fact]
    public async Task A_candidate_keeps_standing_while_the_API_server_cannot_be_reached_and_leads_once_it_can()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("lease");
        var candidate = new Candidate(controlPlane, Options(ns.Name, "alone"));
        candidate.Network.On = true;

        candidate.Start();
        await EventuallyAsync(() => candidate.Network.Failures >= 3, because: "the candidate keeps trying the lease");
        candidate.Run.IsCompleted.Should().BeFalse("a candidate that gives up could never lead");
        candidate.Election.State.Should().Be(LeadershipState.Candidate);
        candidate.Election.IsHealthy.Should().BeFalse("a standby that cannot read the lease could not take over");

        candidate.Network.On = false;
        await EventuallyAsync(() => candidate.Leading, because: "the lease is free once the API server answers");
        output.WriteLine($"Led after {candidate.Network.Failures} refused requests");
        await candidate.StopAsync();
    }

    [Fact]
    public async Task A_leader_keeps_the_lease_through_a_network_outage_shorter_than_the_renew_deadline()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("lease");
        var leader = new Candidate(controlPlane, Options(ns.Name, "leader") with { RenewDeadline = TimeSpan.FromSeconds(8) });
        leader.Start();
        await EventuallyAsync(() => leader.Leading, because: "a lone candidate acquires the lease");

        leader.Network.On = true;
        await EventuallyAsync(() => leader.Network.Failures >= 2, because: "the leader renews every retry period");
        leader.Network.On = false;

        var answered = leader.Network.Answered;
        await EventuallyAsync(() => leader.Network.Answered >= answered + 4, because: "renewals resume once the API server answers");
        leader.Run.IsCompleted.Should().BeFalse("one refused connection must not cost the lease (client-go retries until the renew deadline)");
        leader.Leading.Should().BeTrue();
        await leader.StopAsync();
    }

    [Fact]
    public async Task A_leader_whose_lease_is_taken_abandons_in_flight_work_at_once_and_reports_the_loss()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("lease");
        var leader = new Candidate(controlPlane, Options(ns.Name, "leader") with { RenewDeadline = TimeSpan.FromSeconds(3) });
        leader.Start(ignoringGracefulStop: true);
        await EventuallyAsync(() => leader.Leading, because: "a lone candidate acquires the lease");

        // Another process takes the lease: the leader can no longer renew it and must stop acting at once, in-flight
        // work included (waiting for it to drain would let two processes act on the same objects).
        await StealLeaseAsync(ns.Name, "thief");

        (await leader.Run.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(LeaderElectionOutcome.Lost);
        leader.WorkAborted.Should().BeTrue("in-flight work is abandoned when leadership is lost");
        leader.Election.State.Should().Be(LeadershipState.Lost);
        (await ReadLeaseSpecAsync(ns.Name))!.HolderIdentity.Should().Be("thief", "a lost lease is not released: it is not ours");
    }

    [Fact]
    public async Task A_leader_whose_lease_is_taken_reports_the_loss_even_when_its_work_cannot_be_cancelled()
    {
        await using var ns = await controlPlane.CreateNamespaceAsync("lease");
        var options = Options(ns.Name, "leader") with { RenewDeadline = TimeSpan.FromSeconds(3) };
        var leader = new Candidate(controlPlane, options);
        leader.Start(ignoringEveryStop: true);
        await EventuallyAsync(() => leader.Leading, because: "a lone candidate acquires the lease");

        await StealLeaseAsync(ns.Name, "thief");

        // Lost at the renew deadline; the stuck work gets what is left of the lease (6.7 s here), then the loss is reported
        // so that the process exits and ends that work. Before, the runner waited for the work for ever.
        var lost = Stopwatch.StartNew();
        (await leader.Run.WaitAsync(TimeSpan.FromSeconds(30))).Should().Be(LeaderElectionOutcome.Lost);
        output.WriteLine($"Loss reported {lost.ElapsedMilliseconds} ms after the lease was taken, the work still stuck");
        leader.Leading.Should().BeTrue("the work never ended: only the process's exit ends it");
        leader.Election.State.Should().Be(LeadershipState.Lost);
        leader.Unstick();
    }

    private static LeaderElectionOptions Options(string leaseNamespace, string identity) => new()
    {
        LeaseNamespace = leaseNamespace,
        LeaseName = "passbox-test",
        Identity = identity,
        LeaseDuration = TimeSpan.FromSeconds(10),
        RenewDeadline = TimeSpan.FromSeconds(6),
        RetryPeriod = TimeSpan.FromMilliseconds(300),
    };

    /// <summary>Takes the lease as another process would; the leader renews it meanwhile, so a write may conflict.</summary>
    private async Task StealLeaseAsync(string leaseNamespace, string thief)
    {
        for (var attempt = 1; ; attempt++)
        {
            var lease = await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync("passbox-test", leaseNamespace);
            lease.Spec.HolderIdentity = thief;
            lease.Spec.LeaseDurationSeconds = 3600;
            lease.Spec.RenewTime = DateTime.UtcNow;
            try
            {
                await controlPlane.Admin.CoordinationV1.ReplaceNamespacedLeaseAsync(lease, "passbox-test", leaseNamespace);
                return;
            }
            catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.Conflict && attempt < 20)
            {
            }
        }
    }

    private async Task<k8s.Models.V1LeaseSpec?> TryReadLeaseSpecAsync(string leaseNamespace)
    {
        try
        {
            return await ReadLeaseSpecAsync(leaseNamespace);
        }
        catch (k8s.Autorest.HttpOperationException e) when (e.Response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<k8s.Models.V1LeaseSpec?> ReadLeaseSpecAsync(string leaseNamespace) =>
        (await controlPlane.Admin.CoordinationV1.ReadNamespacedLeaseAsync("passbox-test", leaseNamespace)).Spec;

    private sealed class Candidate
    {
        private readonly CancellationTokenSource stop = new();
        private readonly CancellationTokenSource stuck = new();
        private Task<LeaderElectionOutcome>? run;

        public Candidate(ControlPlaneFixture controlPlane, LeaderElectionOptions options)
        {
            Election = new LeaderElectionRunner(
                new Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(controlPlane.OperatorKubeconfig), new Outage.Handler(Network)),
                options, TimeProvider.System, NullLogger<LeaderElectionRunner>.Instance);
        }

        /// <summary>Between this process and the API server: while on, every request fails as a refused connection does.</summary>
        public Outage Network { get; } = new();

        public LeaderElectionRunner Election { get; }

        public volatile bool Leading;

        public volatile bool WorkCancelled;

        /// <summary>The work ended by the abort token (leadership lost), not by the graceful stop.</summary>
        public volatile bool WorkAborted;

        public Task<LeaderElectionOutcome> Run => run!;

        /// <summary>
        /// Work that ends when asked to stop, or, when <paramref name="ignoringGracefulStop"/>, like a reconcile in the
        /// middle of a database call: only the abort token ends it early; when <paramref name="ignoringEveryStop"/>, like a
        /// call that honours no token: only <see cref="Unstick"/> ends it.
        /// </summary>
        public void Start(bool ignoringGracefulStop = false, bool ignoringEveryStop = false) => run = Election.RunAsync(
            async (stopping, abort) =>
            {
                Leading = true;
                try
                {
                    await Task.Delay(Timeout.Infinite, ignoringEveryStop ? stuck.Token : ignoringGracefulStop ? abort : stopping);
                }
                catch (OperationCanceledException)
                {
                    WorkCancelled = stopping.IsCancellationRequested;
                    WorkAborted = abort.IsCancellationRequested;
                }
                finally
                {
                    Leading = false;
                }
            },
            stop.Token);

        /// <summary>Ends work started <c>ignoringEveryStop</c>, as the process's exit would.</summary>
        public void Unstick() => stuck.Cancel();

        public async Task StopAsync()
        {
            await stop.CancelAsync();
            (await run!.WaitAsync(TimeSpan.FromSeconds(15))).Should().Be(LeaderElectionOutcome.Stopped);
        }
    }

    private sealed class Outage
    {
        private int failures;
        private int answered;

        public volatile bool On;

        public int Failures => Volatile.Read(ref failures);

        public int Answered => Volatile.Read(ref answered);

        public sealed class Handler(Outage outage) : DelegatingHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (!outage.On)
                {
                    return PassAsync(request, cancellationToken);
                }

                Interlocked.Increment(ref outage.failures);

                // What SocketsHttpHandler throws when nothing listens on the API server's port.
                throw new HttpRequestException(
                    HttpRequestError.ConnectionError, "Connection refused", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));
            }

            private async Task<HttpResponseMessage> PassAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var response = await base.SendAsync(request, cancellationToken);
                Interlocked.Increment(ref outage.answered);
                return response;
            }
        }
    }
}
