using k8s;

namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// Reads the whole body of every API server answer that is not a stream before handing the answer on.
/// KubernetesClient's typed operations ask HttpClient for the headers only and then decode the body with a
/// synchronous read of the network stream: a thread-pool thread blocks until the last bytes arrive. A CPU profile of
/// the operator at N=5,000 showed those blocked reads under every Secret create and status patch; on a busy machine
/// they hold pool threads that reconciles and watch events are waiting for. With the body buffered here, that
/// synchronous read is a copy from memory. Answers read as streams pass untouched: the informer's watches and list
/// pages, marked <see cref="Streaming"/> (a list page buffered here would sit in arrays the shared pool keeps), and
/// typed calls with <c>watch=true</c>.
/// </summary>
public sealed class BufferedResponses : DelegatingHandler
{
    /// <summary>Set on a request whose answer is read as a stream (a watch, a list page): its body is not buffered.</summary>
    public static readonly HttpRequestOptionsKey<bool> Streaming = new("passbox.streaming");

    /// <summary>
    /// The API client for <paramref name="configuration"/>, with its answers buffered, its idle connections probed
    /// (<see cref="DeadPeerDetection"/>) and its throttled requests sent again after the pause the server asked for
    /// (<see cref="ThrottledRetries"/>), and every write it sends recorded under the operator's field manager
    /// (<see cref="FieldManagerQuery"/>; another <paramref name="fieldManager"/> for a client that is not the operator's).
    /// </summary>
    public static Kubernetes Client(KubernetesClientConfiguration configuration, string fieldManager = FieldManagerQuery.Name)
    {
        DeadPeerDetection.Enable(configuration);
        return new(configuration, new FieldManagerQuery(fieldManager), new BufferedResponses(), new ThrottledRetries());
    }

    /// <summary>Marked as a stream by <see cref="KubernetesApiClient"/>, or a watch asked for by a typed call (<c>watch=true</c>).</summary>
    internal static bool IsStream(HttpRequestMessage request) =>
        (request.Options.TryGetValue(Streaming, out var streaming) && streaming)
        || (request.RequestUri?.Query is { Length: > 0 } query
            && query.TrimStart('?').Split('&').Any(parameter => parameter is "watch=true" or "watch=1"));

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (IsStream(request))
        {
            return response;
        }

        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
