using k8s.LeaderElection;

namespace Passbox.Operator.Runtime.LeaderElection;

/// <summary>
/// Lets <see cref="LeaderElector"/> take a lease that another process holds only once this process has itself watched the
/// lease go unrenewed for a whole lease duration on a steady (monotonic) clock. The elector times expiry on the wall clock
/// (<see cref="DateTimeOffset.Now"/>): a standby whose clock stepped forward — NTP correcting a node that booted with a
/// wrong time, a VM resumed from a pause — saw the leader's lease expire at once and took it while the leader still renewed
/// it and still acted, two leaders until the old one's renew deadline (client-go times it on Go's monotonic clock and does
/// not). A lease that was released (no holder) or is already this process's is written as the elector asks. A lease
/// missing its holder or times is read as released or held (see <see cref="Complete"/>), never as absent.
/// </summary>
public sealed class SteadyClockLock(ILock inner, TimeSpan leaseDuration, TimeProvider time) : ILock
{
    private readonly Lock gate = new();
    private LeaderElectionRecord? observed;
    private long observedAt;

    public string Identity => inner.Identity;

    public string Describe() => inner.Describe();

    public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
    {
        var record = Complete(await inner.GetAsync(cancellationToken).ConfigureAwait(false));
        lock (gate)
        {
            // As the elector does, but on the steady clock: the lease is renewed whenever any of its fields changes.
            if (observed is null || !SameRecord(observed, record))
            {
                observed = record;
                observedAt = time.GetTimestamp();
            }
        }

        return record;
    }

    /// <summary>
    /// A lease deleted (kubectl delete lease, a namespace's cleanup) while another process held it is created anew only once
    /// that holder's last renewal seen here is a lease duration old. The elector creates it as soon as a read answers 404:
    /// a standby that won that race led beside the old leader, which still acted until its renew deadline; now the leader,
    /// alive, creates it again first, and a dead one's lease is taken as late as if it had not been deleted.
    /// </summary>
    public Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
        TakesOverUnexpiredLease(record) ? Task.FromResult(false) : inner.CreateAsync(record, cancellationToken);

    /// <summary>A takeover of a lease not yet expired by the steady clock is refused as a failed write would be: the elector retries.</summary>
    public Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
        TakesOverUnexpiredLease(record) ? Task.FromResult(false) : inner.UpdateAsync(record, cancellationToken);

    private bool TakesOverUnexpiredLease(LeaderElectionRecord record)
    {
        lock (gate)
        {
            var holder = observed?.HolderIdentity;
            return !string.IsNullOrEmpty(holder)
                && holder != inner.Identity
                && record.HolderIdentity == inner.Identity
                && time.GetElapsedTime(observedAt) < leaseDuration;
        }
    }

    /// <summary>
    /// A lease that exists but lacks its holder, acquire time or renew time (created or edited by hand, or by another
    /// tool) reads to the elector as no lease at all: it tries to create one, which the API server refuses (409) for as
    /// long as that lease stays, and no replica ever led. Read as what it says: no holder is a released lease, taken at
    /// once; a holder without times is held, and taken once it has gone unchanged for a lease duration (a time left out
    /// reads as a fixed one, so that it does not count as a renewal at each read).
    /// </summary>
    private static LeaderElectionRecord Complete(LeaderElectionRecord record)
    {
        if (record is null || (record.HolderIdentity is not null && record.AcquireTime is not null && record.RenewTime is not null))
        {
            return record!;
        }

        return new LeaderElectionRecord
        {
            HolderIdentity = record.HolderIdentity ?? string.Empty,
            LeaseDurationSeconds = record.LeaseDurationSeconds,
            AcquireTime = record.AcquireTime ?? DateTime.UnixEpoch,
            RenewTime = record.RenewTime ?? DateTime.UnixEpoch,
            LeaderTransitions = record.LeaderTransitions,
        };
    }

    private static bool SameRecord(LeaderElectionRecord a, LeaderElectionRecord b) =>
        a.HolderIdentity == b.HolderIdentity
        && a.LeaseDurationSeconds == b.LeaseDurationSeconds
        && a.AcquireTime == b.AcquireTime
        && a.RenewTime == b.RenewTime
        && a.LeaderTransitions == b.LeaderTransitions;
}
