using k8s.LeaderElection;
using Microsoft.Extensions.Time.Testing;
using Passbox.Operator.Runtime.LeaderElection;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// The library's elector decides that another holder's lease has expired on the wall clock. These tests play the elector
/// of a standby whose wall clock jumped ahead: it asks to take the lease right after reading it.
/// </summary>
public sealed class SteadyClockLockTests
{
    private static readonly TimeSpan LeaseDuration = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_standby_does_not_take_a_lease_another_process_renews_however_far_its_wall_clock_jumps()
    {
        var time = new FakeTimeProvider();
        var lease = new RecordingLock("standby", Held("leader", renewed: 1));
        var steady = new SteadyClockLock(lease, LeaseDuration, time);

        await steady.GetAsync();
        time.Advance(TimeSpan.FromSeconds(5));
        var taken = await steady.UpdateAsync(Held("standby", renewed: 2));

        taken.Should().BeFalse("the leader renewed the lease 5 s ago by the steady clock: it still leads and acts");
        lease.Updates.Should().Be(0, "no write may take the lease from a live leader");
    }

    [Fact]
    public async Task A_standby_takes_a_lease_once_it_has_gone_unrenewed_for_a_lease_duration()
    {
        var time = new FakeTimeProvider();
        var lease = new RecordingLock("standby", Held("leader", renewed: 1));
        var steady = new SteadyClockLock(lease, LeaseDuration, time);

        await steady.GetAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        lease.Stored = Held("leader", renewed: 2);
        await steady.GetAsync();
        time.Advance(TimeSpan.FromSeconds(10));
        (await steady.UpdateAsync(Held("standby", renewed: 3))).Should().BeFalse("renewed 10 s ago");

        time.Advance(TimeSpan.FromSeconds(5));
        await steady.GetAsync();
        (await steady.UpdateAsync(Held("standby", renewed: 3))).Should().BeTrue("unrenewed for a whole lease duration: the leader is gone");
        lease.Updates.Should().Be(1);
    }

    [Fact]
    public async Task A_released_lease_is_taken_at_once_and_a_held_one_renewed_at_once()
    {
        var time = new FakeTimeProvider();
        var lease = new RecordingLock("standby", Held("", renewed: 1));
        var steady = new SteadyClockLock(lease, LeaseDuration, time);

        await steady.GetAsync();
        (await steady.UpdateAsync(Held("standby", renewed: 2))).Should().BeTrue("a released lease has no leader to wait for");

        lease.Stored = Held("standby", renewed: 2);
        await steady.GetAsync();
        (await steady.UpdateAsync(Held("standby", renewed: 3))).Should().BeTrue("the holder renews its own lease");
        lease.Updates.Should().Be(2);
    }

    [Fact]
    public async Task A_lease_deleted_under_a_live_leader_is_not_created_anew_by_a_standby_before_it_expires()
    {
        var time = new FakeTimeProvider();
        var lease = new RecordingLock("standby", Held("leader", renewed: 1));
        var steady = new SteadyClockLock(lease, LeaseDuration, time);

        await steady.GetAsync();
        time.Advance(TimeSpan.FromSeconds(2));

        // kubectl delete lease: the elector reads 404 and creates the lease at once, while the leader still acts.
        (await steady.CreateAsync(Held("standby", renewed: 3))).Should().BeFalse("the leader renewed it 2 s ago: it still leads and acts");
        lease.Creates.Should().Be(0);

        time.Advance(TimeSpan.FromSeconds(13));
        (await steady.CreateAsync(Held("standby", renewed: 4))).Should().BeTrue("unrenewed for a whole lease duration: the leader is gone");
        lease.Creates.Should().Be(1);
    }

    [Fact]
    public async Task A_deleted_lease_is_created_anew_at_once_by_its_holder_and_by_a_process_that_never_saw_a_holder()
    {
        var time = new FakeTimeProvider();
        var leaderLease = new RecordingLock("leader", Held("leader", renewed: 1));
        var leader = new SteadyClockLock(leaderLease, LeaseDuration, time);
        await leader.GetAsync();
        (await leader.CreateAsync(Held("leader", renewed: 2))).Should().BeTrue("the holder keeps its lease");

        var newcomer = new SteadyClockLock(new RecordingLock("standby", Held("leader", renewed: 1)), LeaseDuration, time);
        (await newcomer.CreateAsync(Held("standby", renewed: 2))).Should().BeTrue("no lease was ever seen: nobody to wait for");
    }

    private static LeaderElectionRecord Held(string holder, int renewed) => new()
    {
        HolderIdentity = holder,
        LeaseDurationSeconds = (int)LeaseDuration.TotalSeconds,
        AcquireTime = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc),
        RenewTime = new DateTime(2026, 1, 1, 0, 0, renewed, DateTimeKind.Utc),
        LeaderTransitions = 0,
    };

    private sealed class RecordingLock(string identity, LeaderElectionRecord stored) : ILock
    {
        public LeaderElectionRecord Stored { get; set; } = stored;

        public int Updates { get; private set; }

        public string Identity => identity;

        public string Describe() => "ns/passbox-test";

        public Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default) => Task.FromResult(Stored);

        public int Creates { get; private set; }

        public Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
        {
            Creates++;
            Stored = record;
            return Task.FromResult(true);
        }

        public Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default)
        {
            Updates++;
            Stored = record;
            return Task.FromResult(true);
        }
    }
}
