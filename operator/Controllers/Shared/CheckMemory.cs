using System.Collections.Concurrent;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// What the operator remembers of each credential's last check, in memory. The informer cache can lag behind the
/// operator's own status write by a moment; a reconcile in that window must not see "never checked" and log in
/// again (a second bad login is what locks accounts). It also counts consecutive network failures for backoff;
/// after a restart that count starts small again, which costs at most a few extra attempts against a server that is down.
/// </summary>
public sealed class CheckMemory
{
    private readonly ConcurrentDictionary<string, PreviousCheck> checks = new(StringComparer.Ordinal);

    /// <summary>How long a missing status write is waited for before the status is taken as it is.</summary>
    public static readonly TimeSpan CacheLagAllowance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// True while this process checked the credential more recently than the cached status shows and only moments
    /// ago: the status write has not reached the cache yet, and acting on the old status would undo it.
    /// </summary>
    public bool StatusLags(string uid, DateTime? statusLastAttempted, DateTimeOffset now) =>
        checks.TryGetValue(uid, out var remembered)
        && remembered.LastAttempted is { } attempted
        && (statusLastAttempted is null || attempted > new DateTimeOffset(statusLastAttempted.Value, TimeSpan.Zero))
        && now - attempted < CacheLagAllowance;

    public int TransientFailures(string uid) => checks.TryGetValue(uid, out var check) ? check.ConsecutiveTransientFailures : 0;

    public void Remember(string uid, PreviousCheck check) => checks[uid] = check;

    public void Forget(string uid) => checks.TryRemove(uid, out _);

    /// <summary>The newer of what the status says and what this process remembers.</summary>
    public PreviousCheck Newest(string uid, PreviousCheck fromStatus)
    {
        if (!checks.TryGetValue(uid, out var remembered))
        {
            return fromStatus;
        }

        return fromStatus.LastAttempted is null || remembered.LastAttempted > fromStatus.LastAttempted
            ? remembered
            : fromStatus with { ConsecutiveTransientFailures = remembered.ConsecutiveTransientFailures };
    }
}
