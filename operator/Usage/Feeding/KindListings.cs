namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// Kinds of custom resources whose informer started while the operator was already running (their CRD appeared, or
/// began to serve the version read, after the controllers started) and has not listed yet. Controllers wait at start
/// only for the kinds found then; until a later kind is listed, the index may miss its users in any namespace, so
/// <see cref="UsageScope.IsComplete"/> says no and a deletion waits.
/// <para>
/// A listing ends once its informer has synced or its feed stopped (CRD deleted, version not served): then there is
/// nothing left to wait for. <see cref="Changed"/> is raised then, and when a list attempt fails for a new reason, so
/// the credentials that wait look again at once (no polling) and can say why they still wait.
/// </para>
/// </summary>
public sealed class KindListings
{
    private readonly Lock gate = new();
    private readonly List<KindListing> pending = [];

    /// <summary>A listing ended, or failed for a new reason. Raised outside the lock: handlers may read <see cref="Current"/>.</summary>
    public event Action? Changed;

    /// <summary>The oldest listing still pending, or null when none is.</summary>
    public KindListing? Current
    {
        get
        {
            lock (gate)
            {
                return pending.Count > 0 ? pending[0] : null;
            }
        }
    }

    /// <summary>Starts waiting for the list of <paramref name="kind"/>; end it with <see cref="End"/>.</summary>
    public KindListing Begin(string kind, string definition)
    {
        var listing = new KindListing(kind, definition);
        lock (gate)
        {
            pending.Add(listing);
        }

        return listing;
    }

    /// <summary>A list attempt failed; the informer retries. <paramref name="problem"/> must hold no secret content.</summary>
    public void Failed(KindListing listing, string problem)
    {
        ArgumentNullException.ThrowIfNull(listing);
        lock (gate)
        {
            // The same failure on every retry wakes nobody again: their condition already says it.
            if (!pending.Contains(listing) || listing.Problem == problem)
            {
                return;
            }

            listing.Problem = problem;
        }

        Changed?.Invoke();
    }

    /// <summary>The kind is listed, or will not be (its feed stopped). Ending a listing twice is harmless.</summary>
    public void End(KindListing listing)
    {
        bool removed;
        lock (gate)
        {
            removed = pending.Remove(listing);
        }

        if (removed)
        {
            Changed?.Invoke();
        }
    }
}

/// <summary>A kind being listed: the objects' kind, their CRD, and why the last list attempt failed (no secret content).</summary>
public sealed class KindListing(string kind, string definition)
{
    private string? problem;

    public string Kind { get; } = kind;

    /// <summary>The CRD's name, <c>plural.group</c>.</summary>
    public string Definition { get; } = definition;

    /// <summary>Why the last list attempt failed, or null while none has.</summary>
    public string? Problem
    {
        get => Volatile.Read(ref problem);
        internal set => Volatile.Write(ref problem, value);
    }
}
