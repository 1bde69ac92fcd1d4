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
    /// </summary>
    public bool StatusLags(string uid, DateTime? statusLastAttempted, DateTimeOffset now) =>
        checks.TryGetValue(uid, out var remembered)
        && remembered.Written is { } written
        && (statusLastAttempted is null || StatusTime.Truncate(written.UtcDateTime) > statusLastAttempted.Value)
        && now - written < CacheLagAllowance;

    public int TransientFailures(string uid) => checks.TryGetValue(uid, out var entry) ? entry.Check.ConsecutiveTransientFailures : 0;

    /// <summary>
    /// Remembers a check at its exact time; <paramref name="written"/> says whether its time went into the status, which
    /// holds it to the second.
    /// </summary>
    public void Remember(string uid, PreviousCheck check, bool written = true) =>
        checks.AddOrUpdate(
            uid,
            _ => new Entry(check, written ? check.LastAttempted : null),
            (_, old) => new Entry(check, written ? check.LastAttempted : old.Written));

    /// <summary>When this process first looked at the object; the first call fixes it.</summary>
    public DateTimeOffset FirstSeen(string uid, DateTimeOffset now) => firstSeen.GetOrAdd(uid, now);

    public void Forget(string uid)
    {
        checks.TryRemove(uid, out _);
        firstSeen.TryRemove(uid, out _);
    }

    /// <summary>The key a credential is remembered under: its uid, so a new object of the same name starts afresh.</summary>
    public static string KeyOf(IKubernetesObject<V1ObjectMeta> credential) => credential.Metadata.Uid ?? credential.Metadata.Name;

    /// <summary>The newer of what the status says and what this process remembers.</summary>
    public PreviousCheck Newest(string uid, PreviousCheck fromStatus)
    {
        if (!checks.TryGetValue(uid, out var entry))
        {
            return fromStatus;
        }

        // The status holds a check's time to the second: in the same second, memory has that check at its exact time.
        var remembered = entry.Check;
        return fromStatus.LastAttempted is null
            || (remembered.LastAttempted is { } exact && StatusTime.Truncate(exact.UtcDateTime) >= fromStatus.LastAttempted.Value.UtcDateTime)
            ? remembered
            : fromStatus with { ConsecutiveTransientFailures = remembered.ConsecutiveTransientFailures };
    }

    /// <param name="Check">The last check this process ran.</param>
    /// <param name="Written">The last check time this process wrote into the status.</param>
    private sealed record Entry(PreviousCheck Check, DateTimeOffset? Written);
}
