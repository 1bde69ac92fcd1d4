using System.Globalization;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Bounds how many sessions this process has open at once to one database endpoint (<c>host:port</c>), checks and
/// administrator sessions together (MySQL, MariaDB and OceanBase sessions, and Milvus clients, each one HTTP/2 connection), so that many credentials on one server cannot take a large share of its
/// connections (MySQL's and MariaDB's <c>max_connections</c> is 151 by default) away from its applications.
/// A session holds its slot until its connection is closed, not until its caller stops waiting: a check cut short for
/// newer inputs is left to end by the driver's own timeout (MySqlConnector does not stop reading a handshake that never
/// comes when asked to), and that connection stays open on the server meanwhile, so it keeps counting here.
/// </summary>
public sealed class EndpointSessionLimit
{
    /// <summary>What <c>--max-sessions-per-endpoint</c> defaults to: the default number of workers.</summary>
    public const int DefaultPerEndpoint = 4;

    private readonly Lock gate = new();
    private readonly Dictionary<string, Endpoint> endpoints = new(StringComparer.OrdinalIgnoreCase);

    public EndpointSessionLimit(int perEndpoint)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perEndpoint, 1);
        PerEndpoint = perEndpoint;
    }

    /// <summary>The limit every connector of this process goes through; set once at start (<c>--max-sessions-per-endpoint</c>).</summary>
    public static EndpointSessionLimit Shared { get; set; } = new(DefaultPerEndpoint);

    public int PerEndpoint { get; }

    /// <summary>Sessions open now to <paramref name="endpoint"/>.</summary>
    public int OpenTo(string endpoint)
    {
        lock (gate)
        {
            return endpoints.TryGetValue(endpoint, out var known) ? known.Open : 0;
        }
    }

    /// <summary>Endpoints with a session open or waiting; an endpoint no session uses is forgotten.</summary>
    internal int EndpointsKnown
    {
        get
        {
            lock (gate)
            {
                return endpoints.Count;
            }
        }
    }

    /// <summary>
    /// Waits for a free slot at <paramref name="endpoint"/>; dispose the result once the session's connection is closed.
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="ct"/> ends the wait.
    /// </summary>
    public async Task<IDisposable> EnterAsync(string endpoint, CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrEmpty(endpoint);
        Endpoint entry;
        lock (gate)
        {
            if (!endpoints.TryGetValue(endpoint, out entry!))
            {
                entry = new Endpoint(PerEndpoint);
                endpoints[endpoint] = entry;
            }

            entry.Users++;
        }

        try
        {
            await entry.Slots.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            Leave(endpoint, entry, held: false);
            throw;
        }

        lock (gate)
        {
            entry.Open++;
        }

        return new Slot(this, endpoint, entry);
    }

    /// <summary>
    /// As <see cref="EnterAsync"/>, waiting no longer than the session's own time (<paramref name="session"/>, which ends
    /// when its timeout does or <paramref name="ct"/> is cancelled): null when no slot came free within it, for the caller
    /// to report <see cref="Busy"/>. Cancellation of <paramref name="ct"/> is passed on.
    /// </summary>
    public async Task<IDisposable?> TryEnterAsync(string endpoint, CancellationToken session, CancellationToken ct)
    {
        try
        {
            return await EnterAsync(endpoint, session).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Words for a session that got no slot in time, naming the setting.</summary>
    public string Busy(string endpoint, TimeSpan waited) => string.Create(CultureInfo.InvariantCulture,
        $"Passbox already has {PerEndpoint} sessions open to {endpoint} (--max-sessions-per-endpoint) and none ended within {waited.TotalSeconds:0.#}s; the server answers slowly or not at all.");

    private void Leave(string endpoint, Endpoint entry, bool held)
    {
        lock (gate)
        {
            if (held)
            {
                entry.Open--;
                entry.Slots.Release();
            }

            if (--entry.Users == 0)
            {
                // No one holds or waits for a slot: a credential moved to another host leaves nothing behind.
                endpoints.Remove(endpoint);
                entry.Slots.Dispose();
            }
        }
    }

    private sealed class Endpoint(int slots)
    {
        public SemaphoreSlim Slots { get; } = new(slots, slots);

        /// <summary>Sessions holding a slot or waiting for one (under the limit's lock).</summary>
        public int Users { get; set; }

        /// <summary>Sessions holding a slot (under the limit's lock).</summary>
        public int Open { get; set; }
    }

    private sealed class Slot(EndpointSessionLimit owner, string endpoint, Endpoint entry) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Leave(endpoint, entry, held: true);
            }
        }
    }
}
