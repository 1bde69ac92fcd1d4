using System.Collections.Concurrent;
using k8s;
using k8s.Models;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// What the operator remembers of each credential's last check, in memory. A periodic check whose outcome did not
/// change is not written to the status (an idle operator writes nothing), so this is where its time lives and what
/// schedules the next one. The informer cache can also lag behind the operator's own status write by a moment; a
/// reconcile in that window must not see "never checked" and log in again (a second bad login is what locks
/// accounts). It also counts consecutive network failures for backoff; after a restart that count starts small
/// again, which costs at most a few extra attempts against a server that is down.
/// </summary>
public sealed class CheckMemory
{
    private readonly ConcurrentDictionary<string, Entry> checks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> firstSeen = new(StringComparer.Ordinal);

    /// <summary>How long a missing status write is waited for before the status is taken as it is.</summary>
    public static readonly TimeSpan CacheLagAllowance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True while this process wrote a check into the status more recently than the cached status shows and only
    /// moments ago: the write has not reached the cache yet, and acting on the old status would undo it. A check that
    /// was deliberately not written (its outcome was unchanged) leaves the status older than memory without lagging.
    /// The status holds times to the second, so a cached check of the same second lags too when its revision is not
    /// the one written: two checks in one second (new inputs right after a first check) are told apart by it.
    /// </summary>
    public bool StatusLags(string uid, DateTime? statusLastAttempted, string? statusRevision, DateTimeOffset now)
    {
        if (!checks.TryGetValue(uid, out var remembered) || remembered.Written is not { } written || now - written.At >= CacheLagAllowance)
        {
            return false;
        }

        return !written.ShownBy(statusLastAttempted, statusRevision);
    }

    /// <summary>
    /// The last check this process ran, when it changed the status and the status does not show it: its write failed (a
    /// 5xx or a timeout; conflicts are retried) or was undone by a pass that worked from an older copy. Null when the
    /// status shows it, and for a check deliberately not written (it confirmed the status). Asked once the cache has
    /// had its time to catch up (<see cref="StatusLags"/>).
    /// </summary>
    public PreviousCheck? Unshown(string uid, DateTime? statusLastAttempted, string? statusRevision) =>
        checks.TryGetValue(uid, out var remembered)
        && remembered.Written is { } written
        && remembered.Check.LastAttempted == written.At
        && !written.ShownBy(statusLastAttempted, statusRevision)
            ? remembered.Check
            : null;

    /// <summary>Whether a check of the credential is remembered (it was checked, and not forgotten since).</summary>
    public bool Remembers(string uid) => checks.ContainsKey(uid);

    public int TransientFailures(string uid) => checks.TryGetValue(uid, out var entry) ? entry.Check.ConsecutiveTransientFailures : 0;

    /// <summary>
    /// Remembers a check at its exact time; <paramref name="written"/> says whether its time went into the status, which
    /// holds it to the second.
    /// </summary>
    public void Remember(string uid, PreviousCheck check, bool written = true) =>
        checks.AddOrUpdate(
            uid,
            _ => new Entry(check, written ? WrittenCheck.Of(check) : null),
            (_, old) => new Entry(check, written ? WrittenCheck.Of(check) : old.Written));

    /// <summary>
    /// The pass that ran the last check wrote no status (the spec changed while it ran, or its copy was behind an earlier
    /// write): no write of that check is on its way to the cache, so the next pass must not wait for one
    /// (<see cref="StatusLags"/>). Waiting would hold the check of the new spec back by <see cref="CacheLagAllowance"/>,
    /// with a pass every <c>CacheLagRetry</c>. What the check found stays remembered: a failure is shown from memory,
    /// not tried again, and a success of other inputs than the status shows is checked again (<see cref="Newest"/>).
    /// </summary>
    public void NotWritten(string uid)
    {
        if (checks.TryGetValue(uid, out var entry) && entry.Written is not null)
        {
            checks.TryUpdate(uid, entry with { Written = null }, entry);
        }
    }

    /// <summary>When this process first looked at the object; the first call fixes it.</summary>
    public DateTimeOffset FirstSeen(string uid, DateTimeOffset now) => firstSeen.GetOrAdd(uid, now);

    public void Forget(string uid)
    {
        checks.TryRemove(uid, out _);
        firstSeen.TryRemove(uid, out _);
    }

    /// <summary>The key a credential is remembered under: its uid, so a new object of the same name starts afresh.</summary>
    public static string KeyOf(IKubernetesObject<V1ObjectMeta> credential) => credential.Metadata.Uid ?? credential.Metadata.Name;

    /// <summary>
    /// The newer of what the status says and what this process remembers. A successful check the status does not show
    /// (another revision) is not taken from memory: its status write was lost, or undone by a pass that worked from an
    /// older copy, so the published Secret may not be that check's. Checking again costs one good login and brings the
    /// status and the Secret back in line. A failed one is taken from memory: a second refused login can lock the account.
    /// </summary>
    public PreviousCheck Newest(string uid, PreviousCheck fromStatus)
    {
        if (!checks.TryGetValue(uid, out var entry))
        {
            return fromStatus;
        }

        // The status holds a check's time to the second: in the same second, memory has that check at its exact time.
        var remembered = entry.Check;
        var memoryIsNewer = fromStatus.LastAttempted is null
            || (remembered.LastAttempted is { } exact && StatusTime.Truncate(exact.UtcDateTime) >= fromStatus.LastAttempted.Value.UtcDateTime);
        var unshownSuccess = remembered.Succeeded == true && remembered.AttemptedRevision != fromStatus.AttemptedRevision;
        return memoryIsNewer && !unshownSuccess
            ? remembered
            : fromStatus with { ConsecutiveTransientFailures = remembered.ConsecutiveTransientFailures };
    }

    /// <param name="Check">The last check this process ran.</param>
    /// <param name="Written">The last check this process wrote into the status.</param>
    private sealed record Entry(PreviousCheck Check, WrittenCheck? Written);

    /// <summary>When a written check ran (exactly) and the revision it wrote.</summary>
    private sealed record WrittenCheck(DateTimeOffset At, string? Revision)
    {
        public static WrittenCheck? Of(PreviousCheck check) => check.LastAttempted is { } at ? new WrittenCheck(at, check.AttemptedRevision) : null;

        /// <summary>
        /// The status holds times to the second: a status of the same second shows this check unless its revision is
        /// another (two checks in one second, new inputs right after a first check).
        /// </summary>
        public bool ShownBy(DateTime? statusLastAttempted, string? statusRevision)
        {
            var second = StatusTime.Truncate(At.UtcDateTime);
            return statusLastAttempted is { } shown && (second < shown || (second == shown && Revision == statusRevision));
        }
    }
}
