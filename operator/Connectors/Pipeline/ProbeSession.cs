using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// One probe's HTTP conversation: its own handler (so TLS settings never leak between
/// credentials), one deadline for all round trips, redirects followed only within one origin,
/// and transport failures turned into outcomes with a reason.
/// </summary>
internal sealed class ProbeSession : IDisposable
{
    private const int MaxRedirects = 5;
    private readonly CancellationToken outer;
    private readonly CancellationTokenSource deadline;
    private readonly CancellationTokenSource linked;
    private readonly HttpClient client;
    private readonly TimeSpan timeout;
    private readonly IWebProxy? routes;

    public ProbeSession(TlsVerifier tls, TimeSpan timeout, TimeProvider time, CancellationToken ct, X509Certificate2? clientCertificate = null, IWebProxy? proxy = null)
    {
        Tls = tls;
        this.timeout = timeout > TimeSpan.Zero ? timeout : PipelineProbeRequest.DefaultTimeout;
        outer = ct;
        deadline = new CancellationTokenSource(this.timeout, time);
        linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(1),
        };
        // Without one given, the environment's proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY): git servers and registries are
        // often on the internet, reached from a cluster through its egress proxy.
        if (proxy is not null)
        {
            handler.Proxy = proxy;
        }

        routes = proxy ?? HttpClient.DefaultProxy;

        handler.SslOptions.RemoteCertificateValidationCallback = tls.Validate;
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("passbox-operator", "1.0"));
    }

    public TlsVerifier Tls { get; }

    public CancellationToken Token => linked.Token;

    /// <summary>
    /// Sends a request built by <paramref name="build"/> for <paramref name="uri"/>, following
    /// redirects that stay on the same scheme, host and port (or move the same host to HTTPS).
    /// A redirect elsewhere is refused: the credentials in the request are for this server only.
    /// </summary>
    public async Task<(HttpResponseMessage Response, Uri Uri)> SendAsync(Uri uri, Func<Uri, HttpRequestMessage> build)
    {
        var current = uri;
        for (var hop = 0; ; hop++)
        {
            using var request = build(current);
            var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Token);
            if (!IsRedirect(response.StatusCode) || response.Headers.Location is not { } location)
            {
                return (response, current);
            }

            response.Dispose();
            var next = location.IsAbsoluteUri ? location : new Uri(current, location);
            if (!SameOriginOrUpgrade(current, next))
            {
                throw new RedirectRefusedException(current, next);
            }

            if (hop >= MaxRedirects)
            {
                throw new RedirectRefusedException(current, next, tooMany: true);
            }

            current = next;
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes of the body.</summary>
    public async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, int limit)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(Token);
        var buffer = new byte[limit];
        var total = 0;
        int read;
        while (total < limit && (read = await stream.ReadAsync(buffer.AsMemory(total, limit - total), Token)) > 0)
        {
            total += read;
        }

        return buffer[..total];
    }

    /// <summary>The proxy a request for <paramref name="target"/> goes through, or null when it goes direct.</summary>
    public Uri? ProxyFor(Uri target) =>
        routes is null || routes.IsBypassed(target) ? null : routes.GetProxy(target);

    /// <summary>
    /// Turns a failure into an outcome. False when the caller's token was cancelled or the
    /// failure is not a transport failure: then the exception goes on.
    /// </summary>
    public bool TryDescribe(Exception exception, Uri target, out ValidationOutcome outcome)
    {
        outcome = null!;
        if (outer.IsCancellationRequested)
        {
            return false;
        }

        var where = ProbeUrls.Display(target);
        var endpoint = ProbeUrls.Endpoint(target);
        switch (exception)
        {
            case OperationCanceledException when deadline.IsCancellationRequested:
                outcome = ValidationOutcome.Failure(ValidationReasons.Timeout, $"no answer from {endpoint} within {Seconds(timeout)}");
                return true;
            case RedirectRefusedException redirect:
                outcome = ValidationOutcome.Failure(ValidationReasons.Unsupported, redirect.Describe());
                return true;
            case HttpRequestException http:
                outcome = DescribeHttpFailure(http, target, where, endpoint);
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// A TLS handshake that failed before any certificate was seen is, most often, a server that speaks plain HTTP on
    /// that port: an in-house registry or git server without TLS, written without <c>http://</c> (as docker users write
    /// <c>registry.corp:5000</c>). "does the server speak HTTPS?" leaves the user guessing how to tell Passbox it does
    /// not, so the same host and port are asked once over plain HTTP, without credentials: when an answer comes, the
    /// outcome says so and how to write the server (<paramref name="advice"/>). Anything else keeps
    /// <paramref name="outcome"/>. Credentials never go over plain HTTP unless the server is written http://.
    /// </summary>
    public async Task<ValidationOutcome> ExplainPlainHttpAsync(ValidationOutcome outcome, Uri target, string advice)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(advice);
        if (outcome.Reason != ValidationReasons.TLSFailed || Tls.Failure is not null || target.Scheme != Uri.UriSchemeHttps
            || ProxyFor(target) is { Scheme: "https" } || Token.IsCancellationRequested)
        {
            return outcome;
        }

        var plain = ProbeUrls.AsPlainHttp(target);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, plain);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Token);
            if (response.StatusCode == HttpStatusCode.BadRequest && SaysItSpeaksTls(await ReadBodyAsync(response, 1024)))
            {
                // An HTTPS server's answer to plain HTTP on its port: its handshake failed for another reason (a TLS version
                // or cipher it does not offer, no certificate for the name asked), and http:// would only send credentials
                // in clear to a port that refuses them.
                return outcome;
            }
        }
        catch (Exception e) when (!outer.IsCancellationRequested && e is HttpRequestException or OperationCanceledException or IOException)
        {
            return outcome;
        }

        return ValidationOutcome.Failure(ValidationReasons.TLSFailed,
            $"TLS with {ProbeUrls.Endpoint(target)} failed: it answers plain HTTP, not HTTPS; {advice}");
    }

    /// <summary>
    /// Whether a 400 answer to plain HTTP is the one TLS servers give on their port: Go's "Client sent an HTTP request to an
    /// HTTPS server", nginx's "The plain HTTP request was sent to HTTPS port", Apache's "speaking plain HTTP to an
    /// SSL-enabled server port".
    /// </summary>
    private static bool SaysItSpeaksTls(byte[] body)
    {
        var text = Encoding.UTF8.GetString(body);
        return text.Contains("HTTPS", StringComparison.OrdinalIgnoreCase) || text.Contains("SSL", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Ends the conversation, and with it the CA certificates its verifier owns (those a probe read for it).</summary>
    public void Dispose()
    {
        client.Dispose();
        Tls.Dispose();
        linked.Dispose();
        deadline.Dispose();
    }

    private ValidationOutcome DescribeHttpFailure(HttpRequestException http, Uri target, string where, string endpoint)
    {
        if (http.HttpRequestError == HttpRequestError.SecureConnectionError || FindInner<AuthenticationException>(http) is not null)
        {
            if (Tls.Failure is null && ProxyFor(target) is { Scheme: "https" } httpsProxy)
            {
                // The server's certificate was never looked at: the handshake that failed was with the proxy.
                return ValidationOutcome.Failure(ValidationReasons.TLSFailed,
                    $"TLS with proxy {ProbeUrls.Endpoint(httpsProxy)} failed (an https:// proxy's certificate is checked against " +
                    "the system's certificate authorities); use http:// if the proxy does not speak TLS");
            }

            var why = Tls.Failure
                ?? (target.Scheme == Uri.UriSchemeHttps
                    ? "the TLS handshake failed (does the server speak HTTPS on this port?)"
                    : "the TLS handshake failed");
            return ValidationOutcome.Failure(ValidationReasons.TLSFailed, $"TLS with {endpoint} failed: {why}");
        }

        var socket = FindInner<SocketException>(http);
        if (ProxyFor(target) is { } proxy)
        {
            // Through a proxy the operator connects to the proxy alone (the proxy connects on): a refused or unresolved
            // connection is the proxy's, and must not read as if the server itself were down.
            var proxyEndpoint = ProbeUrls.Endpoint(proxy);
            if (http.HttpRequestError == HttpRequestError.ProxyTunnelError)
            {
                return ValidationOutcome.Failure(ValidationReasons.Unreachable, http.StatusCode == HttpStatusCode.ProxyAuthenticationRequired
                    ? $"proxy {proxyEndpoint} asks for credentials (HTTP 407) before it connects to {endpoint}: " +
                      "give them in the proxy URL as http://user:password@host:port"
                    : $"proxy {proxyEndpoint} did not connect to {endpoint}{(http.StatusCode is { } status ? $" (HTTP {(int)status})" : string.Empty)}");
            }

            if (socket is not null || http.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError)
            {
                var why = socket is null ? http.HttpRequestError == HttpRequestError.NameResolutionError ? "host name not found" : "cannot connect" : Describe(socket);
                return ValidationOutcome.Failure(ValidationReasons.Unreachable, $"cannot reach proxy {proxyEndpoint} on the way to {endpoint}: {why}");
            }
        }

        if (socket is not null)
        {
            return ValidationOutcome.Failure(ValidationReasons.Unreachable, $"cannot reach {endpoint}: {Describe(socket)}");
        }

        var reason = http.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError => "host name not found",
            HttpRequestError.ConnectionError => "cannot connect",
            HttpRequestError.ResponseEnded => "the server closed the connection without an answer",
            HttpRequestError.InvalidResponse => "the answer is not HTTP (is it the right port and scheme?)",
            HttpRequestError.ProxyTunnelError => "the proxy refused the tunnel",
            _ => $"request to {where} failed ({http.HttpRequestError})",
        };
        return ValidationOutcome.Failure(ValidationReasons.Unreachable, $"cannot reach {endpoint}: {reason}");
    }

    private static string Describe(SocketException socket) => socket.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name not found",
        SocketError.HostUnreachable or SocketError.NetworkUnreachable => "host unreachable",
        SocketError.TimedOut => "connection timed out",
        SocketError.ConnectionReset => "connection reset",
        _ => $"network error {socket.SocketErrorCode}",
    };

    private static T? FindInner<T>(Exception exception)
        where T : Exception
    {
        for (var current = exception.InnerException; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }

    private static bool IsRedirect(HttpStatusCode status) =>
        status is HttpStatusCode.MovedPermanently or HttpStatusCode.Found or HttpStatusCode.SeeOther
            or HttpStatusCode.TemporaryRedirect or HttpStatusCode.PermanentRedirect;

    private static bool SameOriginOrUpgrade(Uri from, Uri to)
    {
        if (!string.Equals(from.Host, to.Host, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (from.Scheme == to.Scheme)
        {
            return from.Port == to.Port;
        }

        return from.Scheme == Uri.UriSchemeHttp && to.Scheme == Uri.UriSchemeHttps;
    }

    internal static string Seconds(TimeSpan span) =>
        span.TotalSeconds >= 1 && span.TotalSeconds == Math.Floor(span.TotalSeconds)
            ? $"{span.TotalSeconds:0}s"
            : $"{span.TotalMilliseconds:0}ms";
}

/// <summary>A redirect that the probe does not follow with credentials.</summary>
internal sealed class RedirectRefusedException : Exception
{
    public RedirectRefusedException(Uri from, Uri to, bool tooMany = false)
        : base("redirect not followed")
    {
        From = from;
        To = to;
        TooMany = tooMany;
    }

    public Uri From { get; }

    public Uri To { get; }

    public bool TooMany { get; }

    public string Describe() => TooMany
        ? $"{ProbeUrls.Display(From)} redirected too many times"
        : $"{ProbeUrls.Display(From)} redirected to {ProbeUrls.Display(To)}, which is another server: credentials are " +
          "only sent to the configured server; set the server to the redirect target if it is the right one";
}
