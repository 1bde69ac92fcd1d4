using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The namespaces some informers limit their caches to. An informer given a scope
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
/// <para>
/// A scope made with <c>dropsNamespacesLeftEmpty</c> also shrinks: once the sources hold no object of a namespace any
/// more, it leaves the scope and every scoped informer drops (and reports deleted) what it held there, so memory follows
/// the namespaces that hold a credential now, not every one that ever did. A namespace that gains an object again is
/// filled afresh, exactly as one that never was in scope.
/// </para>
/// </summary>
public sealed class NamespaceScope(bool dropsNamespacesLeftEmpty = false)
{
    private readonly Lock gate = new();

    /// <summary>
    /// In a scope that drops namespaces: held while a namespace joins or leaves, around the calls to the members, so a
    /// member sees the joins and departures of a namespace in the order the scope decided them, and the objects a
    /// departure drops are never those a later join's fill stored. It is taken in the sources' events (under a
    /// source's store gate), then <see cref="gate"/> and a member's store gate are taken under it, whose events (the
    /// usage index) never lead back to a source: no cycle. A departure's Deleted events therefore reach the members'
    /// subscribers from within a source's event, which is safe only as long as that stays so.
    /// </summary>
    private readonly Lock membership = new();
    private readonly HashSet<string> included = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Inclusion> fills = new(StringComparer.Ordinal);

    /// <summary>In a scope that drops namespaces left empty: per namespace, the source objects that keep it in scope.</summary>
    private readonly Dictionary<string, HashSet<Holder>> holders = new(StringComparer.Ordinal);
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
    /// Adds the namespace of every object <paramref name="source"/> holds or receives; in a scope that drops namespaces
    /// left empty, removes it again once no source holds an object there. Call before informers start: scoped informers
    /// list only after all sources synced.
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
            if (change.Current.Metadata.NamespaceProperty is not { Length: > 0 } ns)
            {
                return;
            }

            if (!dropsNamespacesLeftEmpty)
            {
                if (change.Type != InformerEventType.Deleted)
                {
                    Include(ns);
                }

                return;
            }

            // The source's cache took the change before telling: a credential created in another source at the same
            // moment either holds the namespace before this departure is decided, or joins it again after.
            var holder = new Holder(source, change.Current.Metadata.Name);
            if (change.Type == InformerEventType.Deleted)
            {
                Release(ns, holder);
            }
            else
            {
                Hold(ns, holder);
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

    /// <summary>
    /// Adds a namespace for good (it never leaves, even in a scope that drops namespaces left empty); scoped informers
    /// already past their first list fetch its objects.
    /// </summary>
    public void Include(string @namespace)
    {
        ArgumentException.ThrowIfNullOrEmpty(@namespace);
        if (dropsNamespacesLeftEmpty)
        {
            Hold(@namespace, Holder.ForGood);
            return;
        }

        // Nothing leaves this scope, so there is no order of joins and departures to keep, and no lock is held while the
        // members are called: this is called from other informers' events (a run naming a catalog namespace), whose
        // handlers must not wait on one another's informers.
        Admit(@namespace);
    }

    /// <summary>Whether the sources (or <see cref="Include"/>) still hold <paramref name="namespace"/>; for tests.</summary>
    internal int HoldersOf(string @namespace)
    {
        lock (gate)
        {
            return holders.TryGetValue(@namespace, out var held) ? held.Count : 0;
        }
    }

    /// <summary><paramref name="holder"/> is in <paramref name="namespace"/>: the namespace is in scope at least as long as it is.</summary>
    private void Hold(string @namespace, Holder holder)
    {
        lock (gate)
        {
            // Every change of a credential (status writes) comes here: one already counted costs a lookup, no more.
            if (holders.TryGetValue(@namespace, out var known) && known.Contains(holder))
            {
                return;
            }
        }

        lock (membership)
        {
            lock (gate)
            {
                if (!holders.TryGetValue(@namespace, out var held))
                {
                    holders[@namespace] = held = [];
                }

                held.Add(holder);
            }

            Admit(@namespace);
        }
    }

    /// <summary><paramref name="holder"/> left <paramref name="namespace"/>; the last one to leave takes the namespace out of scope.</summary>
    private void Release(string @namespace, Holder holder)
    {
        lock (membership)
        {
            IScopedInformer[] snapshot;
            lock (gate)
            {
                if (!holders.TryGetValue(@namespace, out var held) || !held.Remove(holder) || held.Count > 0)
                {
                    return;
                }

                holders.Remove(@namespace);
                included.Remove(@namespace);
                if (fills.Remove(@namespace, out var unfinished))
                {
                    // Its fills store nothing more: what they would store belongs to a namespace no longer followed.
                    unfinished.Ended = true;
                }

                snapshot = [.. members];
            }

            // Out of scope from here on: what arrives for the namespace now is passed over, so once each member dropped
            // what it held there, nothing of it comes back until the namespace joins again (and is filled afresh).
            foreach (var member in snapshot)
            {
                member.Drop(@namespace);
            }
        }
    }

    /// <summary>Puts the namespace in scope and has the members fill it. In a scope that drops namespaces, the caller holds <see cref="membership"/>.</summary>
    private void Admit(string @namespace)
    {
        IScopedInformer[] snapshot;
        Inclusion inclusion;
        lock (gate)
        {
            if (!included.Add(@namespace))
            {
                return;
            }

            snapshot = [.. members];
            inclusion = new Inclusion(@namespace, snapshot.Length);
            fills.Add(@namespace, inclusion);
        }

        // Each member either takes the fill (and reports its end) or says its coming list covers the namespace.
        var taken = snapshot.Count(member => member.Fill(inclusion));
        Done(inclusion, snapshot.Length - taken);
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

    /// <summary>A member ended its fill of a namespace (done, superseded, or it stopped).</summary>
    internal void FillEnded(Inclusion inclusion) => Done(inclusion, 1);

    /// <summary>A member's fill of a namespace failed once; it retries.</summary>
    internal void FillFailed(Inclusion inclusion, string problem)
    {
        lock (gate)
        {
            inclusion.LastProblem = problem;
        }
    }

    private void Done(Inclusion inclusion, int count)
    {
        lock (gate)
        {
            inclusion.Outstanding -= count;
            if (inclusion.Outstanding <= 0 && fills.TryGetValue(inclusion.Namespace, out var current) && ReferenceEquals(current, inclusion))
            {
                fills.Remove(inclusion.Namespace);
            }
        }
    }

    /// <summary>
    /// One stay of a namespace in scope, as its fills know it: how many members still fill it, why one failed, and
    /// whether it is over (the namespace left the scope; it may have joined again since, as a new inclusion).
    /// </summary>
    internal sealed class Inclusion(string @namespace, int outstanding)
    {
        public string Namespace { get; } = @namespace;

        public int Outstanding { get; set; } = outstanding;

        public string? LastProblem { get; set; }

        /// <summary>Set before the members drop the namespace; a fill reads it under its store's gate before it stores.</summary>
        public bool Ended
        {
            get => Volatile.Read(ref ended);
            set => Volatile.Write(ref ended, value);
        }

        private bool ended;
    }

    /// <summary>A source object that keeps its namespace in scope: the source and the object's name.</summary>
    private readonly record struct Holder(object Source, string Name)
    {
        /// <summary>A namespace put in scope by <see cref="Include"/>: it stays.</summary>
        public static readonly Holder ForGood = new(new object(), string.Empty);
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
    bool Fill(NamespaceScope.Inclusion inclusion);

    /// <summary>
    /// The namespace left the scope: drop (and report deleted) every object held there, and store nothing more from a
    /// fill of it already under way. Called after the namespace was taken out of the scope, and before it may join again.
    /// </summary>
    void Drop(string @namespace);
}
