using System.Diagnostics;
using System.Globalization;
using MySqlConnector;

namespace Passbox.Operator.Connectors.MySql;

/// <summary>
/// One session over the MySQL protocol, shared by the MySQL and OceanBase connectors and the user administration:
/// build the connection string, open one unpooled connection, do the work (read <c>VERSION()</c> for a check), close it.
/// </summary>
internal static class MySqlProtocol
{
    /// <summary>
    /// The SslMode MySqlConnector is given. VerifyCA and VerifyFull are sent as <see cref="MySqlSslMode.Required"/>
    /// with our certificate callback (<see cref="CertificateValidation"/>): MySqlConnector calls a
    /// RemoteCertificateValidationCallback only in Preferred and Required mode. In its own VerifyCA/VerifyFull it
    /// checks against the system store only (the CA from caSecretRef would be ignored), VerifyFull adds online
    /// revocation checks, and a certificate error may be deferred until after the login (MariaDB's certificate
    /// fingerprint check), so the password would reach a server not yet verified. With the callback, a
    /// certificate we do not trust ends the TLS handshake before any credential is sent.
    /// </summary>
    public static MySqlSslMode SslModeFor(TlsMode mode) => mode switch
    {
        TlsMode.Disabled => MySqlSslMode.None,
        TlsMode.Preferred => MySqlSslMode.Preferred,
        TlsMode.Required or TlsMode.VerifyCA or TlsMode.VerifyFull => MySqlSslMode.Required,
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown TLS mode."),
    };

    /// <summary>
    /// The connection string for one validation. The builder quotes values, so passwords with
    /// <c>;</c>, <c>=</c> or <c>"</c> survive.
    /// </summary>
    public static MySqlConnectionStringBuilder ConnectionStringFor(DatabaseLogin login)
    {
        ArgumentNullException.ThrowIfNull(login);
        var seconds = (uint)Math.Clamp(Math.Ceiling(login.Timeout.TotalSeconds), 1, int.MaxValue);
        var builder = new MySqlConnectionStringBuilder
        {
            Server = login.Host,
            Port = checked((uint)login.Port),
            UserID = login.LoginName,
            Password = login.Password ?? string.Empty,
            // OBProxy has rejected the pool's connection reset, and a validation must not leave a
            // session open on the server: one physical connection, closed afterwards.
            Pooling = false,
            ConnectionTimeout = seconds,
            DefaultCommandTimeout = seconds,
            SslMode = SslModeFor(login.Tls.Mode),
            // Without TLS, MySQL 8's caching_sha2_password needs the server's RSA key for a full
            // login; the user chose an unencrypted connection, so fetching the key adds no exposure.
            AllowPublicKeyRetrieval = login.Tls.Mode is TlsMode.Disabled or TlsMode.Preferred,
            ApplicationName = "passbox",
        };
        if (!string.IsNullOrEmpty(login.Database))
        {
            builder.Database = login.Database;
        }

        return builder;
    }

    /// <summary>The driver's "cannot connect" that says nothing of why (see <see cref="ConnectFailureDiagnosis"/>).</summary>
    private static bool IsBareConnectFailure(Exception ex) =>
        ex is MySqlException { ErrorCode: MySqlErrorCode.UnableToConnectToHost, InnerException: null } connect
        && !connect.Message.Contains("Timeout", StringComparison.OrdinalIgnoreCase)
        && !connect.Message.Contains("SSL", StringComparison.Ordinal)
        && !connect.Message.Contains("TLS", StringComparison.Ordinal);

    public static async Task<ValidationOutcome> ValidateAsync(DatabaseLogin login, DatabaseEngine engine, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(login);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(login.Timeout, TimeSpan.Zero, nameof(login));
        return await WithSessionAsync(login, engine, async (session, token) =>
        {
            var version = Convert.ToString(await session.ScalarAsync("SELECT VERSION()", token), CultureInfo.InvariantCulture);
            return ValidationOutcome.Success(
                $"Logged in to {login.Endpoint} as '{login.LoginName}'; server {ServerVersionText.Quoted(version, login) ?? "of unknown version"}." +
                UncheckedTlsNote.For(login.Tls.Mode, mayFallBack: true),
                SecretRedaction.Version(version, login));
        }, failure => failure, ct);
    }

    /// <summary>
    /// Opens one connection as <paramref name="login"/> (certificate checked as its TLS mode says, within its timeout),
    /// runs <paramref name="work"/> on it and closes it. A failure to connect or in the work becomes the outcome the
    /// server's error means, shaped by <paramref name="failed"/>; cancellation by the caller is passed on.
    /// </summary>
    public static async Task<T> WithSessionAsync<T>(DatabaseLogin login, DatabaseEngine engine,
        Func<MySqlSession, CancellationToken, Task<T>> work, Func<ValidationOutcome, T> failed, CancellationToken ct)
    {
        using var certificates = CertificateValidation.Create(login.Tls, out var caError);
        if (certificates is null)
        {
            return failed(ValidationOutcome.Failure(ValidationReasons.TLSFailed, $"Cannot check the server certificate of {login.Endpoint}: {caError}."));
        }

        var turn = EndpointTimeouts.Shared.Enter(login.Endpoint, login.Timeout);
        if (turn.HeldBack is { } heldBack)
        {
            return failed(ValidationOutcome.Failure(ValidationReasons.Timeout, $"{heldBack}."));
        }

        bool? timedOut = null;
        var given = TimeSpan.Zero;
        try
        {
            (var result, timedOut, given) = await InSessionSlotAsync(login, engine, certificates, work, failed, ct);
            return result;
        }
        finally
        {
            turn.Ended(timedOut, given);
        }
    }

    /// <summary>
    /// The session within a slot of <see cref="EndpointSessionLimit"/>; whether its login ran out of the time it was given
    /// is null when there was no answer to judge.
    /// </summary>
    private static async Task<(T Result, bool? TimedOut, TimeSpan Given)> InSessionSlotAsync<T>(DatabaseLogin login, DatabaseEngine engine, CertificateValidation certificates,
        Func<MySqlSession, CancellationToken, Task<T>> work, Func<ValidationOutcome, T> failed, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(login.Timeout);
        var started = Stopwatch.GetTimestamp();
        var limit = EndpointSessionLimit.Shared;
        IDisposable slot;
        try
        {
            slot = await limit.EnterAsync(login.Endpoint, timeout.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (failed(ValidationOutcome.Failure(ValidationReasons.Timeout, limit.Busy(login.Endpoint, login.Timeout))), null, TimeSpan.Zero);
        }

        // Held until the connection is closed, even when the caller stopped waiting for this session long before.
        using (slot)
        {
            // The driver's own timeout is the one it keeps in every phase: it gets what the wait for a slot left.
            var left = login.Timeout - Stopwatch.GetElapsedTime(started);
            return await OpenAndRunAsync(login, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1), engine, certificates, work, failed, timeout, ct);
        }
    }

    private static async Task<(T Result, bool? TimedOut, TimeSpan Given)> OpenAndRunAsync<T>(DatabaseLogin login, TimeSpan timeLeft, DatabaseEngine engine, CertificateValidation certificates,
        Func<MySqlSession, CancellationToken, Task<T>> work, Func<ValidationOutcome, T> failed, CancellationTokenSource timeout, CancellationToken ct)
    {
        MySqlSession? session = null;
        try
        {
            await using var connection = new MySqlConnection(ConnectionStringFor(login with { Timeout = timeLeft }).ConnectionString);
            if (login.Tls.VerifiesCertificate)
            {
                // Required mode (see SslModeFor): MySqlConnector hands the decision to this callback, inside the handshake.
                connection.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    certificates.Validate(certificate, chain, errors);
            }

            await connection.OpenAsync(timeout.Token);
            session = new MySqlSession(connection);
            var result = await work(session, timeout.Token);
            await connection.CloseAsync();
            return (result, false, timeLeft);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whether the login ran out of time is read before the diagnosis, which may use up the rest of that time
            // itself: the driver's failure came first and is what the outcome tells.
            var timedOut = timeout.IsCancellationRequested;
            if (session is not null && (timedOut || ex is MySqlException { ErrorCode: MySqlErrorCode.CommandTimeoutExpired }))
            {
                // A completed login is the server's answer, whatever ran out of time after it (an administrator's
                // statement waiting for a lock): the outcome names the statement, and it holds back no other session.
                return (failed(MySqlErrors.StatementTimedOut(login, session.Statement)), false, timeLeft);
            }

            var unreachable = IsBareConnectFailure(ex) && !timedOut
                ? await ConnectFailureDiagnosis.DescribeAsync(login.Host, login.Port, engine, timeout.Token)
                : null;
            var outcome = MySqlErrors.ToOutcome(ex, login, engine, timedOut, certificates.LastFailure, unreachable);

            // Only a login left unanswered holds the other sessions back.
            return (failed(outcome), outcome.Reason == ValidationReasons.Timeout && session is null, timeLeft);
        }
    }
}
