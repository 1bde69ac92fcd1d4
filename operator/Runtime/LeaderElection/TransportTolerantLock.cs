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
/// </summary>
public sealed class TransportTolerantLock(ILock inner, Action<Exception> onError) : ILock
{
    public string Identity => inner.Identity;

    public string Describe() => inner.Describe();

    public async Task<LeaderElectionRecord> GetAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.GetAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransportFailure(e, cancellationToken))
        {
            onError(e);

            // The elector treats any answer but 404 to its read as "lease unknown, try again after the retry period".
            throw new HttpOperationException("The API server could not be reached to read the lease", e)
            {
                Response = new HttpResponseMessageWrapper(new HttpResponseMessage(HttpStatusCode.ServiceUnavailable), string.Empty),
            };
        }
    }

    public Task<bool> CreateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
        WriteAsync(() => inner.CreateAsync(record, cancellationToken), cancellationToken);

    public Task<bool> UpdateAsync(LeaderElectionRecord record, CancellationToken cancellationToken = default) =>
        WriteAsync(() => inner.UpdateAsync(record, cancellationToken), cancellationToken);

    /// <summary>A write that got no answer counts as not done: the elector reads the lease again and finds out.</summary>
    private async Task<bool> WriteAsync(Func<Task<bool>> write, CancellationToken cancellationToken)
    {
        try
        {
            return await write().ConfigureAwait(false);
        }
        catch (Exception e) when (IsTransportFailure(e, cancellationToken))
        {
            onError(e);
            return false;
        }
    }

    /// <summary>No answer arrived; a cancellation the caller asked for is not a failure and passes through.</summary>
    internal static bool IsTransportFailure(Exception e, CancellationToken cancellationToken) => e switch
    {
        HttpRequestException or IOException => true,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };
}
