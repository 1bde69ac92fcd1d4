using System.Collections.Concurrent;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Consecutive network failures per credential, for backoff. Kept in memory on purpose: after a restart the backoff
/// starts small again, which costs at most a few extra attempts against a server that is down.
/// </summary>
public sealed class TransientFailureCounter
{
    private readonly ConcurrentDictionary<string, int> failures = new(StringComparer.Ordinal);

    public int Get(string uid) => failures.GetValueOrDefault(uid);

    public int Increment(string uid) => failures.AddOrUpdate(uid, 1, (_, n) => n + 1);

    public void Reset(string uid) => failures.TryRemove(uid, out _);
}
