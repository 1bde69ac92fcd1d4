using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// Lists, on its own and in the background, a namespace that joined the informer's <see cref="NamespaceScope"/> after
/// the full list (a namespace gains its first credential), while the watch goes on. Kept apart from the list/watch loop
/// because a fill must agree with it on who holds the newer copy: the loop tells it when a full list starts and is
/// stored, the store tells it what the watch changed meanwhile.
/// </summary>
internal sealed class NamespaceFills<T>(
    ResourceDescriptor resource,
    InformerOptions<T> options,
    InformerStore<T> store,
    ListPager<T> pager,
    WatchChangesDuringFills<T> changedDuringFills,
    InformerRetries retries,
    InformerMetrics metrics,
    ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private ListState listState;
    private readonly Dictionary<string, NamespaceScope.Inclusion> deferredFills = new(StringComparer.Ordinal);

    /// <summary>
    /// How many full lists have been stored. A fill notes it when it asks for its list and stores nothing once it has
    /// moved on: see <see cref="FillAsync"/>.
    /// </summary>
    private long listsStored;
    private readonly List<Task> fillRuns = [];
    private CancellationToken runToken;

    private enum ListState
    {
        NotListed,
        Listing,
        Listed,
    }

    /// <summary>The informer starts a run: fills started from now on stop with <paramref name="cancellationToken"/>.</summary>
    public void RunUntil(CancellationToken cancellationToken) => runToken = cancellationToken;

    /// <summary>See <see cref="IScopedInformer.Fill"/>.</summary>
    public bool Fill(NamespaceScope.Inclusion inclusion)
    {
        lock (store.Gate)
        {
            switch (listState)
            {
                case ListState.NotListed:
                    return false;
                case ListState.Listing:
                    // Pages already read left this namespace out; fetch it once the list is in, while the watch runs.
                    deferredFills[inclusion.Namespace] = inclusion;
                    return true;
                default:
                    StartFill(inclusion);
                    return true;
            }
        }
    }

    /// <summary>
    /// See <see cref="IScopedInformer.Drop"/>: the namespace's objects go, with a Deleted event each, and a fill waiting
    /// for the list is given up (the scope no longer waits for it). A fill under way sees its inclusion ended and stores
    /// nothing more.
    /// </summary>
    public void Drop(string @namespace)
    {
        lock (store.Gate)
        {
            deferredFills.Remove(@namespace);
            store.DropNamespace(@namespace);
        }
    }

    /// <summary>A full list starts reading pages: a namespace added from now on may be missing from them.</summary>
    public void ListStarting()
    {
        lock (store.Gate)
        {
            listState = ListState.Listing;
        }
    }

    /// <summary>A full list was stored: fills asked for before it are outdated, deferred ones start. The caller holds the store's gate.</summary>
    public void ListStored()
    {
        listsStored++;
        listState = ListState.Listed;
        foreach (var inclusion in deferredFills.Values)
        {
            StartFill(inclusion);
        }

        deferredFills.Clear();
    }

    /// <summary>
    /// On stop: fills waiting for a list are given up, running ones end with the run's cancellation. <paramref name="member"/>
    /// leaves the scope before the given-up fills are reported ended.
    /// </summary>
    public async Task EndAsync(IScopedInformer member)
    {
        if (options.Scope is not { } scope)
        {
            return;
        }

        NamespaceScope.Inclusion[] deferred;
        Task[] running;
        lock (store.Gate)
        {
            deferred = [.. deferredFills.Values];
            deferredFills.Clear();
            running = [.. fillRuns];
            fillRuns.Clear();
            listState = ListState.NotListed;
        }

        scope.Leave(member);
        foreach (var inclusion in deferred)
        {
            scope.FillEnded(inclusion);
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private void StartFill(NamespaceScope.Inclusion inclusion)
    {
        var token = runToken;
        fillRuns.RemoveAll(run => run.IsCompleted);
        fillRuns.Add(Task.Run(() => FillAsync(inclusion, token), CancellationToken.None));
    }

    /// <summary>
    /// Lists one namespace into the cache, retrying with backoff until it succeeds, the informer stops or the namespace
    /// leaves the scope.
    /// </summary>
    private async Task FillAsync(NamespaceScope.Inclusion inclusion, CancellationToken cancellationToken)
    {
        var @namespace = inclusion.Namespace;
        HashSet<ObjectKey>? changedByWatch = null;
        try
        {
            if (options.Namespace is { } watched && watched != @namespace)
            {
                return;
            }

            var failures = 0;
            while (!cancellationToken.IsCancellationRequested && !inclusion.Ended)
            {
                try
                {
                    long listsBefore;
                    HashSet<ObjectKey>? noting;
                    lock (store.Gate)
                    {
                        // The loop asked whether the namespace is still in scope, but it may have left and joined again
                        // since: asked again here, under the gate, before anything of the return's fill is replaced.
                        noting = changedDuringFills.Begin(inclusion);
                        listsBefore = listsStored;
                    }

                    if (noting is null)
                    {
                        return;
                    }

                    changedByWatch = noting;

                    var count = 0;
                    var superseded = false;
                    var left = false;
                    await foreach (var page in pager.ListPagesAsync(@namespace, cancellationToken).ConfigureAwait(false))
                    {
                        var prepared = page.Select(store.PrepareListed).ToList();
                        lock (store.Gate)
                        {
                            // A full list stored since this fill asked for its list supersedes the fill, which stores
                            // nothing more. That list holds every object of the namespace: a fill starts only while no
                            // list is paging (one asked for during a list waits for it) and after its namespace joined
                            // the scope, so the list began later and read all its pages with the namespace in scope.
                            // The watch goes on from that list's resourceVersion, which may be newer than this fill's
                            // answer (a 410 relist while the fill was in flight): storing the fill would bring back
                            // objects deleted since and overwrite newer versions, and the watch would never report them
                            // again. What the fill stored before, the list replaced. A list still paging does not hold
                            // the fill back: until it is stored, the fill's objects are the newest the cache has.
                            if (listsStored != listsBefore)
                            {
                                superseded = true;
                                break;
                            }

                            // The namespace left the scope since: its objects were dropped, and storing these would
                            // bring them back unfollowed (the watch passes the namespace over). If it joined again, a
                            // fill of its own lists it afresh.
                            if (inclusion.Ended)
                            {
                                left = true;
                                break;
                            }

                            // The list is at least as new as anything the watch had delivered when it was asked for.
                            // An object the watch changed since then is the watch's to report: its copy is newer, or
                            // (watch behind) the watch brings this version and later ones. No deletions either: an
                            // object missing here was deleted, and the watch reports it.
                            foreach (var item in prepared.Where(item => !noting.Contains(ObjectKey.Of(item))))
                            {
                                store.Store(item, fromRelist: true);
                            }
                        }

                        count += prepared.Count;
                    }

                    metrics.NamespaceFill();
                    metrics.CachedObjects(store.Cache.Count);
                    if (left)
                    {
                        logger.LogInformation("Namespace {Namespace} left the scope while its {Resource} were listed; the fill stored {Count} objects before, dropped since", @namespace, resource.DisplayName, count);
                    }
                    else if (superseded)
                    {
                        logger.LogInformation("A full list of {Resource} superseded the list of namespace {Namespace}, which joined the scope; the fill stored {Count} objects before it", resource.DisplayName, @namespace, count);
                    }
                    else
                    {
                        logger.LogInformation("Listed {Count} {Resource} of namespace {Namespace}, which joined the scope", count, resource.DisplayName, @namespace);
                    }

                    return;
                }
                catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                {
                    failures++;
                    var delay = retries.DelayFor(failures);
                    lock (store.Gate)
                    {
                        changedDuringFills.End(@namespace, changedByWatch);
                    }

                    options.Scope?.FillFailed(inclusion, retries.ListProblem(e));
                    retries.LogFailure(e, "List", @namespace, failures, delay);
                    await retries.DelayAsync(delay, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            lock (store.Gate)
            {
                changedDuringFills.End(@namespace, changedByWatch);
            }

            options.Scope?.FillEnded(inclusion);
        }
    }
}
