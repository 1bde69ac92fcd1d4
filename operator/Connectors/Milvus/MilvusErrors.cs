using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>Turns gRPC and Milvus status errors into a validation reason and an actionable message.</summary>
internal static class MilvusErrors
{
    /// <summary>The legacy <c>error_code</c> IllegalArgument, sent by servers that leave <c>code</c> at 0.</summary>
    private const int LegacyIllegalArgument = 5;

    /// <summary>HTTP/2's PROTOCOL_ERROR: what the client reports when the bytes that came back are not HTTP/2 frames.</summary>
    private const long ProtocolError = 1;

    /// <summary>Milvus's gRPC port unless configured otherwise.</summary>
    private const int DefaultPort = 19530;

    /// <summary>
    /// The outcome of a failed call, after asking the port once whether it speaks TLS when plaintext gRPC got no sensible
    /// answer (<see cref="TlsListenerProbe"/>). Whether the call timed out is read before that question, which may use up
    /// the rest of <paramref name="remaining"/> and must not turn a closed connection into a Timeout.
    /// </summary>
    /// <param name="exception">What the call threw.</param>
    /// <param name="login">The login tried.</param>
    /// <param name="certificateFailure">Why the server's certificate was not trusted, when it was not.</param>
    /// <param name="remaining">The call's own deadline: cancelled when the login's timeout has run out.</param>
    public static async Task<ValidationOutcome> DiagnoseAsync(Exception exception, DatabaseLogin login, string? certificateFailure, CancellationToken remaining)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(login);
        var timedOut = remaining.IsCancellationRequested;
        ListenerAnswer? answer = !timedOut && login.Tls.Mode == TlsMode.Disabled && GotNoGrpcAnswer(exception)
            ? await TlsListenerProbe.AskAsync(login.Host, login.Port, remaining)
            : null;
        return ToOutcome(exception, login, timedOut, certificateFailure, answer);
    }

    /// <param name="exception">What the call threw.</param>
    /// <param name="login">The login tried.</param>
    /// <param name="timedOut">Whether the login's timeout ran out.</param>
    /// <param name="certificateFailure">Why the server's certificate was not trusted, when it was not.</param>
    /// <param name="answer">What the port answered a TLS handshake with, when that was asked (plaintext only).</param>
    public static ValidationOutcome ToOutcome(Exception exception, DatabaseLogin login, bool timedOut, string? certificateFailure = null, ListenerAnswer? answer = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(login);
        var (reason, message) = Classify(exception, login, timedOut, certificateFailure, answer);
        return SecretRedaction.Failure(reason, message, login);
    }

    /// <summary>
    /// The connection was made, and what came back was no HTTP/2 (other data, or the connection closed): the server is not
    /// a plaintext gRPC server, or it is one that is going away. A refused connection, a failed lookup or TLS is not this.
    /// The client words it in several ways, some with no inner exception at all ("the server did not complete the HTTP/2
    /// handshake" with error Unknown), so it is told by what it is not.
    /// </summary>
    private static bool GotNoGrpcAnswer(Exception exception) =>
        exception is RpcException { StatusCode: StatusCode.Internal or StatusCode.Unavailable } rpc
        && rpc.Status.DebugException is { } inner
        && Find<AuthenticationException>(inner) is null
        && (Find<SocketException>(inner) is not { } socket ? GotPastConnect(inner) : WasDropped(socket));

    private static bool GotPastConnect(Exception inner) =>
        (Find<HttpRequestException>(inner) is { } http && ConnectionWasMade(http.HttpRequestError))
        || Find<IOException>(inner) is not null
        || Find<ObjectDisposedException>(inner) is not null;

    /// <summary>
    /// A socket error of a connection that was made and then closed by the server (the client's write of the HTTP/2
    /// preface met a closed socket: broken pipe, reset): a connect never ends this way, it is refused or times out.
    /// </summary>
    private static bool WasDropped(SocketException socket) =>
        socket.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset or SocketError.ConnectionAborted;

    /// <summary>False for the client's errors of a connection that never got as far as HTTP/2: lookup, connect, TLS, proxy.</summary>
    private static bool ConnectionWasMade(HttpRequestError error) => error is not (HttpRequestError.NameResolutionError
        or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError or HttpRequestError.VersionNegotiationError
        or HttpRequestError.ProxyTunnelError);

    private static (string Reason, string Message) Classify(Exception exception, DatabaseLogin login, bool timedOut, string? certificateFailure, ListenerAnswer? answer)
    {
        var endpoint = login.Endpoint;
        var usesApiKey = !string.IsNullOrEmpty(login.ApiKey);
        switch (exception)
        {
            case MilvusStatusException status:
                return FromStatus(status, login);

            case RpcException { StatusCode: StatusCode.Unauthenticated } rpc:
                if (rpc.Status.Detail.Contains("missing authorization", StringComparison.OrdinalIgnoreCase))
                {
                    return (ValidationReasons.AuthenticationFailed, $"{endpoint} got no credentials ({SecretRedaction.Redact(rpc.Status.Detail, login)}); give a user name and password or an API key.");
                }

                return usesApiKey
                    ? (ValidationReasons.AuthenticationFailed, $"{endpoint} rejected the API key ({SecretRedaction.Redact(rpc.Status.Detail, login)}); check the key and that it belongs to this cluster.")
                    : (ValidationReasons.AuthenticationFailed, $"{endpoint} rejected user '{login.LoginName}' ({SecretRedaction.Redact(rpc.Status.Detail, login)}); check the user name and password.");

            case RpcException { StatusCode: StatusCode.PermissionDenied } rpc:
                return (ValidationReasons.PermissionDenied, $"{Who(login)} logged in to {endpoint} but may not connect{Database(login)}: {SecretRedaction.Redact(rpc.Status.Detail, login)}");

            case RpcException { StatusCode: StatusCode.DeadlineExceeded }:
                return (ValidationReasons.Timeout, $"{endpoint} did not answer within {Seconds(login.Timeout)}; check the host, port and firewall, or raise validation.timeout.");

            case RpcException { StatusCode: StatusCode.Unimplemented } rpc:
                return (ValidationReasons.Unsupported, $"{endpoint} does not implement the calls used to validate ({SecretRedaction.Redact(rpc.Status.Detail, login)}); is it a Milvus 2.x server?");

            case OperationCanceledException:
            case RpcException { StatusCode: StatusCode.Cancelled } when timedOut:
                return (ValidationReasons.Timeout, $"{endpoint} did not complete the login within {Seconds(login.Timeout)}; check the host, port and firewall, or raise validation.timeout.");

            case RpcException rpc:
                return FromTransport(rpc, login, timedOut, certificateFailure, answer);

            default:
                return (ValidationReasons.Unreachable, $"Login to {endpoint} failed: {SecretRedaction.Redact(exception.Message, login)}");
        }
    }

    private static (string Reason, string Message) FromStatus(MilvusStatusException status, DatabaseLogin login)
    {
        var endpoint = login.Endpoint;
        if (status.Code == MilvusStatus.DatabaseNotFound)
        {
            return (ValidationReasons.DatabaseNotFound, $"Database '{login.Database}' does not exist on {endpoint} ({SecretRedaction.Redact(status.Reason, login)}); create it or fix spec.milvus.database.");
        }

        if (status.Code == MilvusStatus.NotAuthenticated)
        {
            return (ValidationReasons.AuthenticationFailed, $"{endpoint} rejected {Who(login)}: {SecretRedaction.Redact(status.Reason, login)}");
        }

        if (status.Code == MilvusStatus.NotPermitted || status.ErrorCode == MilvusStatus.LegacyPermissionDenied)
        {
            return (ValidationReasons.PermissionDenied, $"{Who(login)} may not {status.Method} on {endpoint}: {SecretRedaction.Redact(status.Reason, login)}");
        }

        if (status.Code == MilvusStatus.ParameterInvalid || status.Code == 0 && status.ErrorCode == LegacyIllegalArgument)
        {
            // A value the server will refuse however often it is sent: most often a password out of its rules.
            return (ValidationReasons.InvalidSpec, $"{endpoint} refused a value Passbox sent in {status.Method} (code {status.Code}, error_code {status.ErrorCode}): {SecretRedaction.Redact(status.Reason, login)}. " +
                "For a password: Milvus takes 6 to 256 characters by default (Passbox generates 12 to 64), Zilliz Cloud 8 or more of several kinds; " +
                "raise provisioning.passwordPolicy.length or keep symbols on, or change the password in its Secret. For a user or role name: letters, digits and _.");
        }

        if (status.Code is 1 or 2 || status.ErrorCode == 1 && status.Reason.Contains("not ready", StringComparison.OrdinalIgnoreCase))
        {
            return (ValidationReasons.Unreachable, $"{endpoint} is not ready: {SecretRedaction.Redact(status.Reason, login)}");
        }

        return (ValidationReasons.Unreachable, $"{endpoint} answered {status.Method} with code {status.Code} (error_code {status.ErrorCode}): {SecretRedaction.Redact(status.Reason, login)}");
    }

    private static (string Reason, string Message) FromTransport(RpcException rpc, DatabaseLogin login, bool timedOut, string? certificateFailure, ListenerAnswer? answer)
    {
        var endpoint = login.Endpoint;
        var inner = rpc.Status.DebugException;
        if (certificateFailure is not null || Find<AuthenticationException>(inner) is not null || MentionsTls(inner))
        {
            var detail = certificateFailure ?? SecretRedaction.Redact(Innermost(inner)?.Message ?? rpc.Status.Detail, login);
            return (ValidationReasons.TLSFailed, certificateFailure is null
                ? $"TLS to {endpoint} failed: {detail.TrimEnd('.')}. Check tls.mode and the CA: a self-hosted Milvus serves plain gRPC unless configured for TLS; then set spec.endpoint.tls.mode: Disabled."
                : $"TLS to {endpoint} failed: {detail}.");
        }

        if (timedOut || Find<SocketException>(inner) is { SocketErrorCode: SocketError.TimedOut } || Find<TimeoutException>(inner) is not null)
        {
            return (ValidationReasons.Timeout, $"{endpoint} did not answer within {Seconds(login.Timeout)}; check the host, port and firewall.");
        }

        if (Find<SocketException>(inner) is { } socket && !WasDropped(socket))
        {
            return (ValidationReasons.Unreachable, $"Cannot connect to {endpoint}: {Unconnected(socket, login)}.");
        }

        if (answer == ListenerAnswer.Tls)
        {
            return (ValidationReasons.TLSFailed, $"{endpoint} speaks TLS, and spec.endpoint.tls.mode is Disabled (plaintext gRPC): set tls.mode to VerifyFull " +
                "(with tls.caSecretRef for a private CA), VerifyCA or Required. Zilliz Cloud always takes TLS.");
        }

        if (Find<HttpRequestException>(inner) is { HttpRequestError: HttpRequestError.VersionNegotiationError })
        {
            return (ValidationReasons.Unsupported, $"{endpoint} took TLS but offers no HTTP/2, which gRPC needs: it is a web or REST endpoint, or a load balancer or " +
                $"ingress that does not pass gRPC through. Point spec.endpoint at Milvus's gRPC endpoint (port {DefaultPort} by default; Zilliz Cloud: the cluster's public endpoint).");
        }

        if (login.Tls.Mode == TlsMode.Disabled && (answer == ListenerAnswer.Http1 || Find<HttpProtocolException>(inner) is { ErrorCode: ProtocolError }))
        {
            return (ValidationReasons.Unsupported, $"{endpoint} answered, but not in gRPC (HTTP/2): it is another kind of server, such as Milvus's HTTP port " +
                $"(9091: metrics and health) or a web server. Check spec.endpoint.port: Milvus takes gRPC on {DefaultPort} by default.");
        }

        if (login.Tls.Mode == TlsMode.Disabled && GotNoGrpcAnswer(rpc))
        {
            return (ValidationReasons.Unreachable, $"{endpoint} accepted the connection but closed it without a gRPC answer: check spec.endpoint.port " +
                $"(Milvus takes gRPC on {DefaultPort} by default) and that the Milvus proxy is running; if the server takes TLS, set spec.endpoint.tls.mode.");
        }

        if (inner is null)
        {
            // No client-side exception: the status came from the server, which speaks gRPC and said why it did not serve
            // the call, so neither the TLS mode nor the port is in question.
            return rpc.StatusCode == StatusCode.Unavailable
                ? (ValidationReasons.Unreachable, $"{endpoint} answered that it cannot serve now ({SecretRedaction.Redact(rpc.Status.Detail, login)}): the Milvus proxy is starting, stopping or not healthy; Passbox tries again with backoff.")
                : (ValidationReasons.Unreachable, $"{endpoint} answered with gRPC status {rpc.StatusCode}: {SecretRedaction.Redact(rpc.Status.Detail, login)}");
        }

        var hint = login.Tls.Mode == TlsMode.Disabled ? " If the server uses TLS, set tls.mode." : string.Empty;
        return (ValidationReasons.Unreachable, $"{endpoint} did not answer gRPC over HTTP/2 ({SecretRedaction.Redact(Innermost(inner)?.Message ?? rpc.Status.Detail, login)}).{hint}");
    }

    /// <summary>Why no connection was made, naming the field to check: a name that does not resolve is not a wrong port.</summary>
    private static string Unconnected(SocketException socket, DatabaseLogin login) =>
        ConnectFailureWords.For(socket.SocketErrorCode, login.Host, login.Port, "connection refused", $" (Milvus takes gRPC on {DefaultPort} by default)")
        ?? $"{SecretRedaction.Redact(socket.Message, login)} ({socket.SocketErrorCode}); check spec.endpoint.host, spec.endpoint.port and the network between them";

    private static bool MentionsTls(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current.Message.Contains("SSL connection could not be established", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string Who(DatabaseLogin login) =>
        string.IsNullOrEmpty(login.ApiKey) ? $"'{login.LoginName}'" : "the API key";

    private static string Database(DatabaseLogin login) =>
        string.IsNullOrEmpty(login.Database) ? string.Empty : $" to database '{login.Database}'";

    private static string Seconds(TimeSpan timeout) =>
        timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s";

    private static Exception? Innermost(Exception? exception)
    {
        while (exception?.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is T match)
            {
                return match;
            }
        }

        return null;
    }
}
