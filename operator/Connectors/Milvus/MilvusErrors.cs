using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>Turns gRPC and Milvus status errors into a validation reason and an actionable message.</summary>
internal static class MilvusErrors
{
    /// <summary>The legacy <c>error_code</c> IllegalArgument, sent by servers that leave <c>code</c> at 0.</summary>
    private const int LegacyIllegalArgument = 5;

    public static ValidationOutcome ToOutcome(Exception exception, DatabaseLogin login, bool timedOut, string? certificateFailure = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(login);
        var (reason, message) = Classify(exception, login, timedOut, certificateFailure);
        return SecretRedaction.Failure(reason, message, login);
    }

    private static (string Reason, string Message) Classify(Exception exception, DatabaseLogin login, bool timedOut, string? certificateFailure)
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
                return FromTransport(rpc, login, timedOut, certificateFailure);

            default:
                return (ValidationReasons.Unreachable, $"Login to {endpoint} failed: {exception.GetType().Name}: {SecretRedaction.Redact(exception.Message, login)}");
        }
    }

    private static (string Reason, string Message) FromStatus(MilvusStatusException status, DatabaseLogin login)
    {
        var endpoint = login.Endpoint;
        if (status.Code == MilvusStatus.DatabaseNotFound)
        {
            return (ValidationReasons.DatabaseNotFound, $"Database '{login.Database}' does not exist on {endpoint} ({SecretRedaction.Redact(status.Reason, login)}); create it or fix milvus.database.");
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

    private static (string Reason, string Message) FromTransport(RpcException rpc, DatabaseLogin login, bool timedOut, string? certificateFailure)
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

        if (Find<SocketException>(inner) is { } socket)
        {
            return (ValidationReasons.Unreachable, $"Cannot connect to {endpoint}: {SecretRedaction.Redact(socket.Message, login)}. Check the host and port and that the server is running.");
        }

        var hint = login.Tls.Mode == TlsMode.Disabled ? " If the server uses TLS, set tls.mode." : string.Empty;
        return (ValidationReasons.Unreachable, $"{endpoint} did not answer gRPC over HTTP/2 ({rpc.StatusCode}: {SecretRedaction.Redact(Innermost(inner)?.Message ?? rpc.Status.Detail, login)}).{hint}");
    }

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
