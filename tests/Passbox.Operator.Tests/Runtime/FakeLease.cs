using System.Net;
using System.Text.Json.Nodes;
using k8s;

namespace Passbox.Operator.Tests.Runtime;

/// <summary>
/// One Lease, ns/passbox-test, on a FakeApiServer: read, created and replaced as the API server does (a create of the
/// lease that exists is refused, 409; replacements are not checked for conflicts).
/// Other requests go to <c>otherRequests</c>, or are answered 404.
/// </summary>
internal sealed class FakeLease
{
    public const string LeasePath = "/apis/coordination.k8s.io/v1/namespaces/ns/leases/passbox-test";

    private readonly Lock gate = new();
    private readonly Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>>? otherRequests;
    private readonly TaskCompletionSource released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JsonObject? stored;
    private int writes;
    private int releases;
    private int inFlight;
    private int mostInFlight;

    public FakeLease(Func<RecordedRequest, CancellationToken, Task<HttpResponseMessage>>? otherRequests = null)
    {
        this.otherRequests = otherRequests;
        Server = new FakeApiServer(AnswerAsync);
        Client = new Kubernetes(new KubernetesClientConfiguration { Host = "http://api.test" }, Server);
    }

    public FakeApiServer Server { get; }

    public IKubernetes Client { get; }

    /// <summary>While set, every request is answered 503, as by an API server that cannot reach etcd.</summary>
    public volatile bool Failing;

    /// <summary>While set, no request is answered: each waits until its client gives up.</summary>
    public volatile bool Hanging;

    /// <summary>The most requests that waited for an answer at once.</summary>
    public int MostInFlight => Volatile.Read(ref mostInFlight);

    /// <summary>Creations and replacements that went through.</summary>
    public int Writes => Volatile.Read(ref writes);

    /// <summary>Replacements that cleared the holder (the runner's release).</summary>
    public int Releases => Volatile.Read(ref releases);

    /// <summary>Completes at the first replacement that clears the holder.</summary>
    public Task Released => released.Task;

    public string? Holder
    {
        get
        {
            lock (gate)
            {
                return stored?["spec"]?["holderIdentity"]?.GetValue<string>();
            }
        }
    }

    /// <summary>Stores a lease that <paramref name="holder"/> holds and keeps renewing (it never expires here).</summary>
    public void HeldBy(string holder)
    {
        var now = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
        lock (gate)
        {
            stored = JsonNode.Parse($$$"""
                {"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"passbox-test","namespace":"ns","resourceVersion":"1"},
                 "spec":{"holderIdentity":"{{{holder}}}","leaseDurationSeconds":3600,"acquireTime":"{{{now}}}","renewTime":"{{{now}}}","leaseTransitions":0}}
                """)!.AsObject();
        }
    }

    /// <summary>Stores a lease with <paramref name="spec"/> as it is (JSON), fields left out included.</summary>
    public void StoredWith(string spec)
    {
        lock (gate)
        {
            stored = JsonNode.Parse(
                """{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"passbox-test","namespace":"ns","resourceVersion":"1"},"spec":"""
                + spec + "}")!.AsObject();
        }
    }

    private async Task<HttpResponseMessage> AnswerAsync(RecordedRequest request, CancellationToken cancellationToken)
    {
        if (otherRequests is not null && !request.Path.StartsWith(LeasePath[..LeasePath.LastIndexOf('/')], StringComparison.Ordinal))
        {
            return await otherRequests(request, cancellationToken);
        }

        if (!Hanging)
        {
            return Answer(request);
        }

        var now = Interlocked.Increment(ref inFlight);
        for (var most = Volatile.Read(ref mostInFlight); now > most; most = Volatile.Read(ref mostInFlight))
        {
            Interlocked.CompareExchange(ref mostInFlight, now, most);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    private HttpResponseMessage Answer(RecordedRequest request)
    {
        if (Failing)
        {
            return FakeApiServer.Status(HttpStatusCode.ServiceUnavailable, "ServiceUnavailable");
        }

        lock (gate)
        {
            if (request.Method == HttpMethod.Get && request.Path == LeasePath)
            {
                return stored is null
                    ? FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound")
                    : FakeApiServer.Json(HttpStatusCode.OK, stored.ToJsonString());
            }

            if (request.Method == HttpMethod.Post && request.Path == LeasePath[..LeasePath.LastIndexOf('/')] && stored is not null)
            {
                return FakeApiServer.Status(HttpStatusCode.Conflict, "AlreadyExists");
            }

            if ((request.Method == HttpMethod.Post && request.Path == LeasePath[..LeasePath.LastIndexOf('/')]) ||
                (request.Method == HttpMethod.Put && request.Path == LeasePath))
            {
                stored = JsonNode.Parse(request.Body!)!.AsObject();
                Interlocked.Increment(ref writes);
                if (stored["spec"]?["holderIdentity"]?.GetValue<string>() == "")
                {
                    Interlocked.Increment(ref releases);
                    released.TrySetResult();
                }

                return FakeApiServer.Json(request.Method == HttpMethod.Post ? HttpStatusCode.Created : HttpStatusCode.OK, stored.ToJsonString());
            }

            return FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound");
        }
    }
}
