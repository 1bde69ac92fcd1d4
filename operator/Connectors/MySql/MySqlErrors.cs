using System.Net.Sockets;
using System.Security.Authentication;
using MySqlConnector;

namespace Passbox.Operator.Connectors.MySql;

/// <summary>Turns what MySqlConnector throws into a validation reason and a message a person can act on.</summary>
internal static class MySqlErrors
{
    // Server codes MySqlErrorCode has no names for: expired password (1820, 1862), locked account
    // (MySQL 3118, MariaDB 4151), and an account the server blocks after too many refused logins (MySQL 8's
    // FAILED_LOGIN_ATTEMPTS: 3955; MariaDB's max_password_errors: 4150). A blocked account is a refused login like any
    // other: retried fast, each attempt would keep it blocked (or count towards the next block).
    private const MySqlErrorCode MustChangePassword = (MySqlErrorCode)1820;
    private const MySqlErrorCode MustChangePasswordLogin = (MySqlErrorCode)1862;
    private const MySqlErrorCode AccountLocked = (MySqlErrorCode)3118;
    private const MySqlErrorCode MariaDbAccountLocked = (MySqlErrorCode)4151;
    private const MySqlErrorCode AccountBlockedByFailedLogins = (MySqlErrorCode)3955;
    private const MySqlErrorCode MariaDbAccountBlockedByFailedLogins = (MySqlErrorCode)4150;
    private const MySqlErrorCode NoServerCode = 0;

    // Refusals that no fast retry fixes: a password the server's policy rejects (validate_password,
    // simple_password_check: 1819), a server that wants TLS on a plain connection (MySQL's require_secure_transport:
    // 3159), and an account that logs in by a plugin taking no password (auth_socket, unix_socket: 1698).
    private const MySqlErrorCode PasswordPolicy = (MySqlErrorCode)1819;
    private const MySqlErrorCode SecureTransportRequired = (MySqlErrorCode)3159;
    private const MySqlErrorCode AccessDeniedNoPassword = (MySqlErrorCode)1698;

    // Answers of a server that is going away, read-only for a moment (a failover) or not yet serving (a Galera node
    // joining: 1047): worth trying again soon, like a network failure. MySQL's read-only mode is 1836, MariaDB's
    // "connection killed" 1927, MySQL's disconnect of an idle client 4031. The driver's own IsTransient covers deadlocks,
    // lock waits and the like. OceanBase's own codes (4000 and up: timeouts, a leader that moved, RPC failures) count as
    // passing too, since most of them are.
    private static readonly HashSet<MySqlErrorCode> TransientServerErrors =
    [
        MySqlErrorCode.UnknownCommand, MySqlErrorCode.ServerShutdown, MySqlErrorCode.NormalShutdown, MySqlErrorCode.ShutdownComplete,
        MySqlErrorCode.AbortingConnection, MySqlErrorCode.NewAbortingConnection, MySqlErrorCode.NetReadErrorFromPipe, MySqlErrorCode.NetReadError,
        MySqlErrorCode.NetReadInterrupted, MySqlErrorCode.NetErrorOnWrite, MySqlErrorCode.NetWriteInterrupted, MySqlErrorCode.OptionPreventsStatement,
        MySqlErrorCode.QueryInterrupted, (MySqlErrorCode)1836, (MySqlErrorCode)1927, (MySqlErrorCode)4031,

        // Connection limits of a busy server: too many connections (1040), too many of this user's (1203), the user's
        // max_user_connections reached (1226), offline mode for maintenance (3032). They pass as load goes down.
        (MySqlErrorCode)1040, (MySqlErrorCode)1203, (MySqlErrorCode)1226, (MySqlErrorCode)3032,
    ];

    /// <param name="exception">What the driver threw.</param>
    /// <param name="login">The login tried.</param>
    /// <param name="engine">The engine it was tried on.</param>
    /// <param name="timedOut">Whether the check's time ran out.</param>
    /// <param name="certificateFailure">Why the server's certificate was not trusted, when it was not.</param>
    /// <param name="unreachable">Why a connection could not be made, when the driver does not say (see <see cref="ConnectFailureDiagnosis"/>).</param>
    public static ValidationOutcome ToOutcome(Exception exception, DatabaseLogin login, DatabaseEngine engine, bool timedOut, string? certificateFailure = null, string? unreachable = null)
    {
        ArgumentNullException.ThrowIfNull(exception);
        ArgumentNullException.ThrowIfNull(login);
        var (reason, message) = unreachable is not null && !timedOut
            ? (ValidationReasons.Unreachable, $"Cannot connect to {login.Endpoint}: {unreachable}.")
            : Classify(exception, login, engine, timedOut, certificateFailure);
        return SecretRedaction.Failure(reason, message, login);
    }

    /// <summary>
    /// A statement that ran out of the session's time after the server completed the login: the server answers, it is
    /// slow, or the statement waits for a lock that another session holds (a long transaction, a metadata lock).
    /// </summary>
    /// <param name="login">The login the session was opened with; its timeout bounds the whole session.</param>
    /// <param name="statement">The statement that was running, as sent (parameters not expanded), if any had started.</param>
    public static ValidationOutcome StatementTimedOut(DatabaseLogin login, string? statement)
    {
        ArgumentNullException.ThrowIfNull(login);
        var what = statement is null ? "its work" : $"the statement {StatementName(statement)}";
        return SecretRedaction.Failure(ValidationReasons.Timeout,
            $"{login.Endpoint} completed the login but did not finish {what} within {Seconds(login.Timeout)} (validation.timeout, counted from the session's start); " +
            "the server is slow or the statement waits for a lock another session holds. Passbox tries again with backoff; raise validation.timeout if the server is just slow.",
            login);
    }

    /// <summary>The statement up to its password placeholder, if any (<c>CREATE USER 'u'@'%'</c>): what it did, to whom.</summary>
    private static string StatementName(string statement)
    {
        var cut = statement.IndexOf(" IDENTIFIED BY", StringComparison.OrdinalIgnoreCase);
        return cut < 0 ? statement : statement[..cut];
    }

    private static (string Reason, string Message) Classify(Exception exception, DatabaseLogin login, DatabaseEngine engine, bool timedOut, string? certificateFailure)
    {
        var endpoint = login.Endpoint;
        var who = $"'{login.LoginName}'";
        if (exception is OperationCanceledException || (timedOut && !IsServerVerdict(exception)))
        {
            return (ValidationReasons.Timeout, $"{endpoint} did not complete the login within {Seconds(login.Timeout)}; check the host, port and firewall, or raise validation.timeout.");
        }

        if (exception is NotSupportedException)
        {
            return (ValidationReasons.Unsupported, $"The server at {endpoint} asked for something the client does not support: {SecretRedaction.Redact(exception.Message, login)}");
        }

        if (exception is MySqlException mysql)
        {
            return ClassifyServerError(mysql, login, engine, who, endpoint, certificateFailure);
        }

        if (FindInner<AuthenticationException>(exception) is { } tls)
        {
            return (ValidationReasons.TLSFailed, TlsMessage(endpoint, SecretRedaction.Redact(tls.Message, login), certificateFailure));
        }

        if (FindInner<SocketException>(exception) is { } socket)
        {
            return socket.SocketErrorCode == SocketError.TimedOut
                ? (ValidationReasons.Timeout, $"Connecting to {endpoint} timed out; check the host, port and firewall.")
                : (ValidationReasons.Unreachable, $"Cannot connect to {endpoint}: {SecretRedaction.Redact(socket.Message, login)}. Check the host and port.");
        }

        if (exception is TimeoutException)
        {
            return (ValidationReasons.Timeout, $"{endpoint} did not answer within {Seconds(login.Timeout)}.");
        }

        return (ValidationReasons.Unreachable, $"Login to {endpoint} as {who} failed: {exception.GetType().Name}: {SecretRedaction.Redact(exception.Message, login)}");
    }

    private static (string Reason, string Message) ClassifyServerError(MySqlException ex, DatabaseLogin login, DatabaseEngine engine, string who, string endpoint, string? certificateFailure)
    {
        switch (ex.ErrorCode)
        {
            case MySqlErrorCode.AccessDenied:
                if (engine == DatabaseEngine.OceanBase)
                {
                    var tenant = OceanBaseLogin.TenantOf(login.LoginName);
                    var tenantHint = tenant is null
                        ? "the login names no tenant, so it goes to the sys tenant"
                        : $"check that tenant '{tenant}' exists: OceanBase answers an unknown tenant with the same error 1045";
                    return (ValidationReasons.AuthenticationFailed, $"Access denied for {who} at {endpoint}: check the user name and password, and {tenantHint}. Server said: {SecretRedaction.Redact(ex.Message, login)}");
                }

                return (ValidationReasons.AuthenticationFailed, $"Access denied for {who} at {endpoint}: check the user name, password and the hosts the account may connect from. Server said: {SecretRedaction.Redact(ex.Message, login)}");

            case MySqlErrorCode.UnknownDatabase:
                return (ValidationReasons.DatabaseNotFound, $"Database '{login.Database}' does not exist on {endpoint} (or {who} cannot see it): {SecretRedaction.Redact(ex.Message, login)}");

            case MySqlErrorCode.DatabaseAccessDenied when !string.IsNullOrEmpty(login.Database):
                return (ValidationReasons.PermissionDenied, $"{who} may not use database '{login.Database}' on {endpoint} (a database the user has no privileges on is reported this way even when it does not exist): grant access or fix the database name. Server said: {SecretRedaction.Redact(ex.Message, login)}");

            case MySqlErrorCode.DatabaseAccessDenied:
            case MySqlErrorCode.TableAccessDenied:
            case MySqlErrorCode.ColumnAccessDenied:
            case MySqlErrorCode.SpecifiedAccessDeniedError:
                return (ValidationReasons.PermissionDenied, $"{who} logged in to {endpoint} but lacks a privilege the check needs: {SecretRedaction.Redact(ex.Message, login)}");

            case MySqlErrorCode.NotSupportedYet:
                return (ValidationReasons.Unsupported, engine == DatabaseEngine.OceanBase
                    ? $"{endpoint} refused {who}: {SecretRedaction.Redact(ex.Message, login)}. The tenant is probably in Oracle mode; Passbox supports MySQL-mode tenants only."
                    : $"{endpoint} refused {who}: {SecretRedaction.Redact(ex.Message, login)}");

            case MySqlErrorCode.ParseError:
            case MySqlErrorCode.SyntaxError:
                // The server's text quotes the statement from the point it choked on, cut at 80 characters: a password
                // escaped into it (CREATE USER / ALTER USER … IDENTIFIED BY) can show there escaped or only in part, which
                // no redaction can find. So the code is reported and the text left out. Asking again would fail the same way.
                return (ValidationReasons.Unsupported, $"{endpoint} could not parse a statement Passbox sent as {who} (error {(int)ex.ErrorCode}); " +
                    "the server's text is left out because it quotes the statement, which can hold a password. Check that the server speaks " +
                    "MySQL's syntax (an OceanBase tenant in MySQL mode) and whether its sql_mode changes how strings are quoted.");

            case MySqlErrorCode.NotSupportedAuthMode:
                return (ValidationReasons.Unsupported, $"{endpoint} wants an authentication method the client does not support: {SecretRedaction.Redact(ex.Message, login)}");

            case MustChangePassword:
            case MustChangePasswordLogin:
            case AccountLocked:
            case MariaDbAccountLocked:
                return (ValidationReasons.AuthenticationFailed, $"{endpoint} refused {who}: {SecretRedaction.Redact(ex.Message, login)}. Unlock the account or set a new password.");

            case AccountBlockedByFailedLogins:
            case MariaDbAccountBlockedByFailedLogins:
                return (ValidationReasons.AuthenticationFailed, $"{endpoint} refused {who}: {SecretRedaction.Redact(ex.Message, login)}. The server blocked the account after too many refused logins: " +
                    "fix the password, then unblock it (ALTER USER … ACCOUNT UNLOCK, or FLUSH PRIVILEGES on MariaDB) or wait until the lock expires.");

            case MySqlErrorCode.HostNotPrivileged:
                return (ValidationReasons.AuthenticationFailed, $"{endpoint} has no account for {who} that may connect from the operator's address (error 1130: {SecretRedaction.Redact(ex.Message, login)}). " +
                    "Create the account for host '%' (or the operator's pod network), or fix the user name.");

            case AccessDeniedNoPassword:
                return (ValidationReasons.AuthenticationFailed, $"{endpoint} refused {who} (error 1698: {SecretRedaction.Redact(ex.Message, login)}): the account logs in by a plugin that takes no password " +
                    "(auth_socket or unix_socket, for local logins over the server's socket), so no password opens it over the network. Give the account a password (ALTER USER … IDENTIFIED BY …) or use another user.");

            case SecureTransportRequired:
                return (ValidationReasons.TLSFailed, $"{endpoint} accepts only TLS connections (require_secure_transport=ON, error 3159) and this one was not encrypted: " +
                    "set spec.endpoint.tls.mode to Required, VerifyCA or VerifyFull (or Preferred) instead of Disabled.");

            case PasswordPolicy:
                // The server's text names the policy (MariaDB: the plugin); neither server quotes the password, and the redaction stays for any that would.
                return (ValidationReasons.InvalidSpec, $"{endpoint} refused a password Passbox set: it does not satisfy the server's password policy (error 1819: {SecretRedaction.Redact(ex.Message, login)}). " +
                    "Use a password that meets the policy: for a generated one, raise provisioning.passwordPolicy.length and keep symbols on; for your own, change it in the password Secret. Or relax the server's policy.");

            case MySqlErrorCode.ConnectionCountError:
            case MySqlErrorCode.TooManyUserConnections:
            case MySqlErrorCode.HostIsBlocked:
                return (ValidationReasons.Unreachable, $"{endpoint} refused the connection: {SecretRedaction.Redact(ex.Message, login)}");

            case MySqlErrorCode.UnableToConnectToHost:
                return ClassifyConnectFailure(ex, login, endpoint, certificateFailure);

            default:
                if (FindInner<AuthenticationException>(ex) is { } tls)
                {
                    return (ValidationReasons.TLSFailed, TlsMessage(endpoint, SecretRedaction.Redact(tls.Message, login), certificateFailure));
                }

                if (IsServerRefusal(ex, engine))
                {
                    // The server answered, with an error Passbox has no meaning for: asking again at once would get the same
                    // answer (and log the administrator in each time), so it waits validation.interval like a refused login.
                    return (ValidationReasons.ServerError, $"{endpoint} answered {who} with error {(int)ex.ErrorCode} ({ex.SqlState}): {SecretRedaction.Redact(ex.Message, login)}. " +
                        "Fix what the server names; Passbox tries again after validation.interval, or at once when the credential changes.");
                }

                return (ValidationReasons.Unreachable, $"Login to {endpoint} as {who} failed with error {(int)ex.ErrorCode}: {SecretRedaction.Redact(ex.Message, login)}");
        }
    }

    /// <summary>
    /// An error the server itself sent (it carries a SQLSTATE; the driver's own failures, such as a refused or dropped
    /// connection, do not) and that is not one of the passing kind: a server shutting down, a deadlock, a lock wait.
    /// </summary>
    private static bool IsServerRefusal(MySqlException ex, DatabaseEngine engine) =>
        !string.IsNullOrEmpty(ex.SqlState)
        && !(engine == DatabaseEngine.OceanBase && (int)ex.ErrorCode >= 4000)
        && !ex.IsTransient
        && !TransientServerErrors.Contains(ex.ErrorCode)
        && ex.ErrorCode is not (MySqlErrorCode.UnableToConnectToHost or NoServerCode)
        && FindInner<System.IO.IOException>(ex) is null
        && FindInner<SocketException>(ex) is null;

    private static (string Reason, string Message) ClassifyConnectFailure(MySqlException ex, DatabaseLogin login, string endpoint, string? certificateFailure)
    {
        if (ex.Message.Contains("Connect Timeout expired", StringComparison.OrdinalIgnoreCase)
            || FindInner<SocketException>(ex) is { SocketErrorCode: SocketError.TimedOut }
            || FindInner<TimeoutException>(ex) is not null)
        {
            return (ValidationReasons.Timeout, $"{endpoint} did not complete the login within {Seconds(login.Timeout)}; check the host, port and firewall, or raise validation.timeout.");
        }

        if (FindInner<AuthenticationException>(ex) is { } tls)
        {
            return (ValidationReasons.TLSFailed, TlsMessage(endpoint, SecretRedaction.Redact(tls.Message, login), certificateFailure));
        }

        if (ex.Message.Contains("SSL", StringComparison.Ordinal) || ex.Message.Contains("TLS", StringComparison.Ordinal))
        {
            return (ValidationReasons.TLSFailed, TlsMessage(endpoint, SecretRedaction.Redact(ex.Message, login), certificateFailure));
        }

        var detail = SecretRedaction.Redact(FindInner<SocketException>(ex) is { } socket ? $"{ex.Message} ({socket.Message})" : ex.Message, login);
        return (ValidationReasons.Unreachable, $"Cannot connect to {endpoint}: {detail} Check the host, port and that the server is running.");
    }

    /// <summary>True when the server itself answered with an error (as opposed to the client giving up).</summary>
    private static bool IsServerVerdict(Exception exception) =>
        exception is MySqlException { ErrorCode: not (MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.QueryInterrupted or NoServerCode) };

    private static string TlsMessage(string endpoint, string detail, string? certificateFailure)
    {
        var reason = certificateFailure ?? detail;
        return certificateFailure is null
            ? $"TLS to {endpoint} failed: {reason.TrimEnd('.')}. Check the TLS mode and CA, or that the server has TLS enabled."
            : $"TLS to {endpoint} failed: {reason}.";
    }

    private static string Seconds(TimeSpan timeout) =>
        timeout.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "s";

    private static T? FindInner<T>(Exception exception)
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
