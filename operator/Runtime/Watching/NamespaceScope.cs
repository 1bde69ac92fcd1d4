using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The namespaces some informers limit their caches to; it only grows. An informer given a scope
/// (<see cref="InformerOptions{T}.Scope"/>) lists and watches the whole cluster but keeps and reports only objects in
/// these namespaces, so objects in namespaces the operator has no business in cost neither memory nor work
/// (shared/design/performance.md: operators that cached every Pod grew to gigabytes).
/// <para>
/// The namespaces come from <see cref="IncludeNamespacesOf{T}">source informers</see> (the credentials): every namespace
/// one of their objects is in. Scoped informers start listing only once the sources synced, so the namespaces known at
/// start arrive with the first list; a namespace added later is <em>filled</em>: each scoped informer lists that one
/// namespace and its watch goes on from there. Until every fill of a namespace is done, <see cref="IsComplete"/> says
/// so, and a caller that must not act on a partial view (a deletion) waits.
/// </para>
/// </summary>
public sealed class NamespaceScope
{
    private readonly Lock gate = new();
    private readonly HashSet<string> included = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Fill> fills = new(StringComparer.Ordinal);
    private readonly List<IScopedInformer> members = [];
    private readonly List<IInformer> sources = [];

    /// <summary>How many namespaces are in scope.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return included.Count;
            }
        }
    }

    /// <summary>
    /// Adds the namespace of every object <paramref name="source"/> holds or receives. Call before informers start:
    /// scoped informers list only after all sources synced.
    /// </summary>
    public IDisposable IncludeNamespacesOf<T>(IInformer<T> source)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(source);
        lock (gate)
        {
            sources.Add(source);
        }

        return source.Subscribe(change =>
        {
            if (change.Type != InformerEventType.Deleted && change.Current.Metadata.NamespaceProperty is { Length: > 0 } ns)
            {
                Include(ns);
            }
        });
    }

    /// <summary>Completes once every source informer has synced: from then on the scope holds the namespaces known at start.</summary>
    public Task WaitForSourcesAsync(CancellationToken cancellationToken)
    {
        IInformer[] snapshot;
        lock (gate)
        {
            snapshot = [.. sources];
        }

        return Task.WhenAll(snapshot.Select(source => source.WaitForSyncAsync(cancellationToken)));
    }

    public bool Contains(string? @namespace)
    {
        if (@namespace is null)
        {
            return false;
        }

        lock (gate)
        {
            return included.Contains(@namespace);
        }
    }

    /// <summary>
    /// True when <paramref name="namespace"/> is in scope and every scoped informer holds all of its objects (no fill
    /// is still running).
    /// </summary>
    public bool IsComplete(string @namespace)
    {
        lock (gate)
        {
            return included.Contains(@namespace) && !fills.ContainsKey(@namespace);
        }
    }

    /// <summary>
    /// True when no scoped informer is still fetching a namespace added after its first list: every namespace in scope
    /// is complete.
    /// </summary>
    public bool IsSettled
    {
        get
        {
            lock (gate)
            {
                return fills.Count == 0;
            }
        }
    }

    /// <summary>A namespace whose fill has failed so far, with why (the first found), or null.</summary>
    public (string Namespace, string Problem)? FirstFillProblem
    {
        get
        {
            lock (gate)
            {
                foreach (var (ns, fill) in fills)
                {
                    if (fill.LastProblem is { } problem)
                    {
                        return (ns, problem);
                    }
                }

                return null;
            }
        }
    }

    /// <summary>Why a namespace is not complete yet: the last failure of one of its fills, or null when none failed.</summary>
    public string? FillProblem(string @namespace)
    {
        lock (gate)
        {
            return fills.TryGetValue(@namespace, out var fill) ? fill.LastProblem : null;
        }
    }

    /// <summary>Adds a namespace; scoped informers already past their first list fetch its objects.</summary>
    public void Include(string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        IScopedInformer[] snapshot;
        Fill fill;
        lock (gate)
        {
            if (!included.Add(@namespace))
            {
                return;
            }

            snapshot = [.. members];
            fill = new Fill(snapshot.Length);
            fills.Add(@namespace, fill);
        }

        // Each member either takes the fill (and reports its end) or says its coming list covers the namespace.
        var taken = snapshot.Count(member => member.Fill(@namespace));
        Done(@namespace, fill, snapshot.Length - taken);
    }

    /// <summary>A scoped informer starts: from now on namespaces added reach it.</summary>
    internal void Join(IScopedInformer member)
    {
        lock (gate)
        {
            members.Add(member);
        }
    }

    /// <summary>A scoped informer stopped; it has ended the fills it had taken.</summary>
    internal void Leave(IScopedInformer member)
    {
        lock (gate)
        {
            members.Remove(member);
        }
    }

    /// <summary>A member ended its fill of <paramref name="namespace"/> (done, or it stopped).</summary>
    internal void FillEnded(string @namespace)
    {
        lock (gate)
        {
            if (fills.TryGetValue(@namespace, out var fill))
            {
                Done(@namespace, fill, 1);
            }
        }
    }

    /// <summary>A member's fill of <paramref name="namespace"/> failed once; it retries.</summary>
    internal void FillFailed(string @namespace, string problem)
    {
        lock (gate)
        {
            if (fills.TryGetValue(@namespace, out var fill))
            {
                fill.LastProblem = problem;
            }
        }
    }

    private void Done(string @namespace, Fill fill, int count)
    {
        lock (gate)
        {
            fill.Outstanding -= count;
            if (fill.Outstanding <= 0 && fills.TryGetValue(@namespace, out var current) && ReferenceEquals(current, fill))
            {
                fills.Remove(@namespace);
            }
        }
    }

    /// <summary>Outstanding fills of one namespace.</summary>
    private sealed class Fill(int outstanding)
    {
        public int Outstanding { get; set; } = outstanding;

        public string? LastProblem { get; set; }
    }
}

/// <summary>An informer limited to a <see cref="NamespaceScope"/>.</summary>
internal interface IScopedInformer
{
    /// <summary>
    /// Fetches the objects of a namespace just added to the scope, in the background; false when there is nothing to
    /// fetch because the informer has not listed yet (its first list will include the namespace). A fill that was
    /// taken ends with <see cref="NamespaceScope.FillEnded"/>.
    /// </summary>
    bool Fill(string @namespace);
}
