using System.Collections.Concurrent;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The resourceVersions this process's own writes produced (a finalizer added, a status patched, a Secret created or
/// applied), per object uid. A watch event that carries exactly such a version shows the state the writing reconcile
/// already continued from, so reconciling it again would only re-read and find nothing to do. Any change by someone
/// else gets a new resourceVersion and is never mistaken for an echo.
/// </summary>
public sealed class OwnWrites
{
    /// <summary>A reconcile writes an object at most a few times in a row (create, then the field hand-over).</summary>
    private const int VersionsKept = 4;

    private readonly ConcurrentDictionary<string, string[]> versions = new(StringComparer.Ordinal);

    /// <summary>Remembers the version a write of ours returned; objects without uid or version are ignored.</summary>
    public void Record(V1ObjectMeta? written)
    {
        if (written?.Uid is not { Length: > 0 } uid || written.ResourceVersion is not { Length: > 0 } version)
        {
            return;
        }

        versions.AddOrUpdate(
            uid,
            _ => [version],
            (_, kept) => [.. kept.Where(v => v != version).TakeLast(VersionsKept - 1), version]);
    }

    /// <summary>True when <paramref name="seen"/> is exactly a version one of our writes produced.</summary>
    public bool IsEcho(V1ObjectMeta? seen) =>
        seen?.Uid is { } uid
        && seen.ResourceVersion is { } version
        && versions.TryGetValue(uid, out var kept)
        && kept.Contains(version, StringComparer.Ordinal);

    /// <summary>How many objects have versions kept (what this process holds in memory for them).</summary>
    internal int Count => versions.Count;

    public void Forget(string? uid)
    {
        if (uid is not null)
        {
            versions.TryRemove(uid, out _);
        }
    }
}
