using System.Net;
using k8s.Autorest;
using k8s.LeaderElection;

namespace Passbox.Operator.Runtime.LeaderElection;

/// <summary>
/// Makes a failure to reach the API server (connection refused or reset, DNS, a client timeout) look to
/// <see cref="LeaderElector"/> like an answer it already copes with: "could not read" or "could not write" the lease.
/// The library handles only HTTP answers. Any other exception ends its election outright: before leading, that made
/// a candidate give up for good during an API server restart, and while leading, one dropped connection lost the lease
/// at once instead of after the renew deadline (client-go retries until then).
/// Each call is also given up after <paramref name="callTimeout"/>, as a failure to reach the server. The elector starts
/// its next attempt when the last one takes longer than its pause, without cancelling it: against an API server that
/// accepts connections but does not answer (overloaded, or a black-holed route) a standby piled up a hanging lease
/// request every few seconds until the HTTP client's 100 s timeout and fired them all when the server answered again
/// (nine 409 Conflicts after a 30 s outage); and as none of them failed meanwhile, the standby stayed ready though it
/// could not read the lease.
/// </summary>
public sealed class TransportTolerantLock(ILock inner, Action<Exception> onError, TimeSpan callTimeout) : ILock
{
    public string Identity => inner.Identity;

    public string Describe() => inner.Describe();

    public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
    {
        using var bounded = Bounded(cancellationToken);
        try
        {
            return await inner.GetAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransportFailure(e, cancellationToken))
        {
            onError(Cause(e, bounded));

            // The elector treats any answer but 404 to its read as "lease unknown, try again after the retry period".
            throw new LeaseUnreachableException(e);
        }
    }

    public Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
        WriteAsync(token => inner.CreateAsync(record, token), cancellationToken);

    public Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
        WriteAsync(token => inner.UpdateAsync(record, token), cancellationToken);

    /// <summary>A write that got no answer counts as not done: the elector reads the lease again and finds out.</summary>
    private async Task<bool> WriteAsync(Func<CancellationToken, Task<bool>> write, CancellationToken cancellationToken)
    {
        using var bounded = Bounded(cancellationToken);
        try
        {
            return await write(bounded.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransportFailure(e, cancellationToken))
        {
            onError(Cause(e, bounded));
            return false;
        }
    }

    /// <summary>
    /// The caller's token, cancelled as well when the call has run for <c>callTimeout</c>; on the system clock, as the
    /// elector's own pauses are.
    /// </summary>
    private CancellationTokenSource Bounded(CancellationToken cancellationToken)
    {
        var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(callTimeout);
        return bounded;
    }

    /// <summary>A call ended by its timeout says so; its cancellation alone read "The operation was canceled."</summary>
    private Exception Cause(Exception e, CancellationTokenSource bounded) =>
        e is OperationCanceledException && bounded.IsCancellationRequested
            ? new TimeoutException($"The API server did not answer within {callTimeout.TotalSeconds:0.#} s", e)
            : e;

    /// <summary>
    /// Whether <paramref name="error"/>, passed on by the elector, is this lock's stand-in for a failure to reach the server,
    /// which the lock has already reported with its real cause. Reported again, it said "503 Service Unavailable", an answer
    /// no server gave, beside every "Connection refused".
    /// </summary>
    public static bool IsReportedStandIn(Exception error) => error is LeaseUnreachableException;

    /// <summary>No answer arrived (or none within the call's timeout); a cancellation the caller asked for is not a failure and passes through.</summary>
    internal static bool IsTransportFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        HttpRequestException or IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };
}

/// <summary>An answer the elector copes with (a 503 to its read) standing in for a failure to reach the API server.</summary>
internal sealed class LeaseUnreachableException : HttpOperationException
{
    public LeaseUnreachableException(Exception cause)
        : base("The API server could not be reached to read the lease", cause)
    {
        Response = new HttpResponseMessageWrapper(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable), string.Empty);
    }
}
