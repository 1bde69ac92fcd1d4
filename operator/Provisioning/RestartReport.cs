namespace Passbox.Operator.Provisioning;

/// <summary>
/// What the attempts at one owed restart (one published revision) have done so far: the workloads restarted, those
/// that got the restart annotation but whose Pods only their owner can replace (a paused Deployment, an OnDelete update
/// strategy), and what failed in the last attempt. A workload handled once is not patched again by a later attempt at
/// the same debt: otherwise a workload that keeps failing (a policy, RBAC) would roll its healthy neighbours again at
/// every retry, for as long as it fails.
/// </summary>
public sealed class RestartReport(string revision)
{
    private readonly List<string> restarted = [];
    private readonly List<string> deferred = [];
    private readonly List<string> failed = [];
    private readonly HashSet<string> handled = new(StringComparer.Ordinal);

    /// <summary>The published revision whose restart this is.</summary>
    public string Revision => revision;

    /// <summary>Workloads whose Pods are being replaced, as <c>Kind name</c>.</summary>
    public IReadOnlyList<string> Restarted => restarted;

    /// <summary>Workloads annotated whose Pods keep the old Secret until their owner acts, each with why and what to do.</summary>
    public IReadOnlyList<string> Deferred => deferred;

    /// <summary>What failed in the last attempt (a list or a patch), with the HTTP status.</summary>
    public IReadOnlyList<string> Failed => failed;

    /// <summary>True when the last attempt reached every opted-in workload.</summary>
    public bool Complete => failed.Count == 0;

    /// <summary>True when no workload opted in and nothing failed: there is nothing to say.</summary>
    public bool Empty => restarted.Count == 0 && deferred.Count == 0 && failed.Count == 0;

    public bool Handled(string workload) => handled.Contains(workload);

    internal void BeginAttempt() => failed.Clear();

    internal void AddRestarted(string workload)
    {
        handled.Add(workload);
        restarted.Add(workload);
    }

    internal void AddDeferred(string workload, string why)
    {
        handled.Add(workload);
        deferred.Add($"{workload} {why}");
    }

    internal void AddFailed(string what) => failed.Add(what);

    /// <summary>One sentence for the condition and the events: names workloads and HTTP statuses, never Secret data.</summary>
    public string Describe(string secretName)
    {
        var done = restarted.Count > 0 ? $"restarted {string.Join(", ", restarted)}" : null;
        var waiting = deferred.Count > 0 ? $"not restarted: {string.Join("; ", deferred)}" : null;
        if (!Complete)
        {
            var sofar = string.Join("; ", new[] { done, waiting }.Where(part => part is not null));
            return $"Secret {secretName} changed but restarting its workloads failed: {string.Join(", ", failed)}" +
                $"{(sofar.Length > 0 ? $" ({sofar})" : string.Empty)}; tried again with backoff";
        }

        return $"Secret {secretName} changed: {string.Join("; ", new[] { done, waiting }.Where(part => part is not null))}";
    }
}
