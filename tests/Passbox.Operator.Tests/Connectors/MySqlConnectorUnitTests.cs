using System.Reflection;
using System.Security.Authentication;
using MySqlConnector;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Tests.Connectors;

public sealed class MySqlConnectorUnitTests
{
    private const string Password = "Pa;ss=w\"ord'1";

    private static readonly DatabaseLogin Login = new()
    {
        Host = "obproxy.oceanbase.svc",
        Port = 2883,
        LoginName = "app_rw@orders#obcluster",
        Password = Password,
        Database = "orders_db",
        Timeout = TimeSpan.FromSeconds(2.5),
    };

    [Theory]
    [InlineData(TlsMode.Disabled, MySqlSslMode.None)]
    [InlineData(TlsMode.Preferred, MySqlSslMode.Preferred)]
    [InlineData(TlsMode.Required, MySqlSslMode.Required)]
    // MySqlConnector calls our certificate callback only in Preferred/Required; its own VerifyCA/VerifyFull would
    // ignore the given CA and may check the certificate only after the password was sent.
    [InlineData(TlsMode.VerifyCA, MySqlSslMode.Required)]
    [InlineData(TlsMode.VerifyFull, MySqlSslMode.Required)]
    public void TLS_modes_map_to_MySqlConnector_SslModes(TlsMode mode, MySqlSslMode expected) =>
        MySqlProtocol.SslModeFor(mode).Should().Be(expected);

    [Fact]
    public void The_connection_string_survives_special_characters_and_disables_pooling()
    {
        var text = MySqlProtocol.ConnectionStringFor(Login).ConnectionString;

        var parsed = new MySqlConnectionStringBuilder(text);
        parsed.Password.Should().Be(Password);
        parsed.UserID.Should().Be("app_rw@orders#obcluster");
        parsed.Server.Should().Be("obproxy.oceanbase.svc");
        parsed.Port.Should().Be(2883);
        parsed.Database.Should().Be("orders_db");
        parsed.Pooling.Should().BeFalse();
        parsed.ConnectionTimeout.Should().Be(3, "the timeout is rounded up to whole seconds");
        parsed.SslMode.Should().Be(MySqlSslMode.None);
    }

    [Theory]
    [InlineData(MySqlErrorCode.AccessDenied, "Access denied for user", DatabaseEngine.MySQL, ValidationReasons.AuthenticationFailed)]
    [InlineData(MySqlErrorCode.AccessDenied, "Access denied for user", DatabaseEngine.OceanBase, ValidationReasons.AuthenticationFailed)]
    [InlineData(MySqlErrorCode.NotSupportedYet, "Oracle tenant for current client driver is not supported", DatabaseEngine.OceanBase, ValidationReasons.Unsupported)]
    [InlineData(MySqlErrorCode.UnableToConnectToHost, "Unable to connect to any of the specified MySQL hosts.", DatabaseEngine.MySQL, ValidationReasons.Unreachable)]
    [InlineData(MySqlErrorCode.UnableToConnectToHost, "Connect Timeout expired.", DatabaseEngine.MySQL, ValidationReasons.Timeout)]
    [InlineData(MySqlErrorCode.UnableToConnectToHost, "Server does not support SSL", DatabaseEngine.MySQL, ValidationReasons.TLSFailed)]
    [InlineData(MySqlErrorCode.UnknownDatabase, "Unknown database 'orders_db'", DatabaseEngine.MySQL, ValidationReasons.DatabaseNotFound)]
    [InlineData(MySqlErrorCode.DatabaseAccessDenied, "Access denied for user 'app'@'%' to database 'orders_db'", DatabaseEngine.MySQL, ValidationReasons.PermissionDenied)]
    [InlineData(MySqlErrorCode.TableAccessDenied, "SELECT command denied", DatabaseEngine.OceanBase, ValidationReasons.PermissionDenied)]
    [InlineData((MySqlErrorCode)3118, "Access denied for user. Account is locked.", DatabaseEngine.MySQL, ValidationReasons.AuthenticationFailed)]
    public void Server_errors_map_to_reasons(MySqlErrorCode code, string message, DatabaseEngine engine, string reason)
    {
        var outcome = MySqlErrors.ToOutcome(NewMySqlException(code, message), Login, engine, timedOut: false);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(reason);
        outcome.ServerVersion.Should().BeNull();
    }

    [Theory]
    [InlineData(3955, "Access denied for user 'app'@'%'. Account is blocked for 1 day(s) (1 day(s) remaining) due to 3 consecutive failed logins.")]
    [InlineData(4150, "User is blocked because of too many credential errors; unblock with 'ALTER USER / FLUSH PRIVILEGES'")]
    public void An_account_the_server_blocked_after_failed_logins_is_refused_and_not_retried_before_the_interval(int code, string message)
    {
        var outcome = MySqlErrors.ToOutcome(NewMySqlException((MySqlErrorCode)code, message), Login, DatabaseEngine.MySQL, timedOut: false);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        ValidationPlanner.IsTransient(outcome.Reason).Should().BeFalse("every fast retry would keep the account blocked");
        outcome.Message.Should().Contain("blocked the account after too many refused logins").And.Contain("unblock");
    }

    [Fact]
    public void An_OceanBase_access_denial_says_an_unknown_tenant_looks_the_same()
    {
        var outcome = MySqlErrors.ToOutcome(NewMySqlException(MySqlErrorCode.AccessDenied, "Access denied"), Login, DatabaseEngine.OceanBase, timedOut: false);

        outcome.Message.Should().Contain("tenant 'orders'").And.Contain("1045");
    }

    [Fact]
    public void An_Oracle_mode_tenant_is_explained()
    {
        var outcome = MySqlErrors.ToOutcome(
            NewMySqlException(MySqlErrorCode.NotSupportedYet, "Oracle tenant for current client driver is not supported"), Login, DatabaseEngine.OceanBase, timedOut: false);

        outcome.Message.Should().Contain("Oracle mode");
    }

    [Fact]
    public void Client_side_failures_map_to_reasons()
    {
        MySqlErrors.ToOutcome(new NotSupportedException("Authentication method 'auth_gssapi_client' is not supported."), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Unsupported);
        MySqlErrors.ToOutcome(new OperationCanceledException(), Login, DatabaseEngine.MySQL, true)
            .Reason.Should().Be(ValidationReasons.Timeout);
        MySqlErrors.ToOutcome(NewMySqlException(MySqlErrorCode.UnableToConnectToHost, "Unable to connect", new AuthenticationException("remote certificate is invalid")), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.TLSFailed);
        MySqlErrors.ToOutcome(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Unreachable);
    }

    [Fact]
    public void A_server_verdict_wins_over_our_own_timeout()
    {
        MySqlErrors.ToOutcome(NewMySqlException(MySqlErrorCode.AccessDenied, "Access denied"), Login, DatabaseEngine.MySQL, timedOut: true)
            .Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        MySqlErrors.ToOutcome(NewMySqlException(MySqlErrorCode.QueryInterrupted, "Query execution was interrupted"), Login, DatabaseEngine.MySQL, timedOut: true)
            .Reason.Should().Be(ValidationReasons.Timeout);
    }

    [Fact]
    public void A_statement_the_server_cannot_parse_is_Unsupported_and_the_text_quoting_it_is_left_out()
    {
        // MariaDB quotes 80 characters from where it stopped parsing: a password there is escaped, or cut short.
        var outcome = MySqlErrors.ToOutcome(
            NewMySqlException(MySqlErrorCode.ParseError, "You have an error in your SQL syntax; check the manual for the right syntax to use near 'BY 'Pa;ss=w\"ord''...' at line 1"),
            Login, DatabaseEngine.MySQL, timedOut: false);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        ValidationPlanner.IsTransient(outcome.Reason).Should().BeFalse("the same statement fails the same way, however often it is sent");
        outcome.Message.Should().Contain("error 1064").And.NotContain("near").And.NotContain("Pa;ss");
    }

    [Fact]
    public void A_password_echoed_by_a_server_or_driver_is_cut_out()
    {
        var outcome = MySqlErrors.ToOutcome(new InvalidOperationException($"bad value {Password} near 'x'"), Login, DatabaseEngine.MySQL, false);

        outcome.Message.Should().Contain(SecretRedaction.LeftOut);
        outcome.Message.Contains(Password, StringComparison.Ordinal).Should().BeFalse("the password must not be shown");
    }

    [Theory]
    [InlineData(1819, "Your password does not satisfy the current policy requirements", ValidationReasons.InvalidSpec, "password policy")]
    [InlineData(3159, "Connections using insecure transport are prohibited while --require_secure_transport=ON.", ValidationReasons.TLSFailed, "tls.mode")]
    [InlineData(1698, "Access denied for user 'app'@'localhost'", ValidationReasons.AuthenticationFailed, "auth_socket")]
    [InlineData(1130, "Host '10.0.0.7' is not allowed to connect to this MariaDB server", ValidationReasons.AuthenticationFailed, "host '%'")]
    public void Refusals_no_fast_retry_mends_are_not_transient_and_say_what_to_do(int code, string message, string reason, string hint)
    {
        var outcome = MySqlErrors.ToOutcome(NewServerException((MySqlErrorCode)code, "HY000", message), Login, DatabaseEngine.MySQL, timedOut: false);

        outcome.Reason.Should().Be(reason);
        ValidationPlanner.IsTransient(outcome.Reason).Should().BeFalse();
        outcome.Message.Should().Contain(hint).And.Contain(code.ToString(System.Globalization.CultureInfo.InvariantCulture)).And.NotContain(Password);
    }

    [Fact]
    public void A_password_policy_message_that_quotes_the_password_is_cut()
    {
        var outcome = MySqlErrors.ToOutcome(
            NewServerException((MySqlErrorCode)1819, "HY000", $"Your password does not satisfy the current policy requirements ({Password})"), Login, DatabaseEngine.MySQL, timedOut: false);

        outcome.Message.Should().Contain(SecretRedaction.LeftOut);
        outcome.Message.Contains(Password, StringComparison.Ordinal).Should().BeFalse("the password must not be shown");
    }

    [Fact]
    public void Any_other_error_the_server_sent_is_a_ServerError_that_waits_the_interval()
    {
        var outcome = MySqlErrors.ToOutcome(
            NewServerException((MySqlErrorCode)1410, "42000", "You are not allowed to create a user with GRANT"), Login, DatabaseEngine.MySQL, timedOut: false);

        outcome.Reason.Should().Be(ValidationReasons.ServerError);
        ValidationPlanner.IsTransient(outcome.Reason).Should().BeFalse();
        outcome.Message.Should().Contain("error 1410").And.Contain("not allowed to create a user");
    }

    [Theory]
    [InlineData(MySqlErrorCode.LockDeadlock, DatabaseEngine.MySQL)]
    [InlineData(MySqlErrorCode.ServerShutdown, DatabaseEngine.MySQL)]
    [InlineData(MySqlErrorCode.OptionPreventsStatement, DatabaseEngine.MySQL)]
    [InlineData((MySqlErrorCode)1927, DatabaseEngine.MySQL)]
    [InlineData((MySqlErrorCode)1040, DatabaseEngine.MySQL)]
    [InlineData((MySqlErrorCode)1226, DatabaseEngine.MySQL)]
    [InlineData((MySqlErrorCode)4012, DatabaseEngine.OceanBase)]
    public void Server_errors_that_pass_by_themselves_stay_transient(MySqlErrorCode code, DatabaseEngine engine)
    {
        var outcome = MySqlErrors.ToOutcome(NewServerException(code, "HY000", "try again"), Login, engine, timedOut: false);

        ValidationPlanner.IsTransient(outcome.Reason).Should().BeTrue();
    }

    [Fact]
    public void Failures_of_the_network_stay_Unreachable_or_Timeout()
    {
        MySqlErrors.ToOutcome(NewMySqlException(MySqlErrorCode.UnableToConnectToHost, "Unable to connect to any of the specified MySQL hosts.",
                new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Unreachable);
        MySqlErrors.ToOutcome(NewMySqlException(MySqlErrorCode.UnableToConnectToHost, "Connect Timeout expired."), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Timeout);
        MySqlErrors.ToOutcome(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.TimedOut), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Timeout);
        MySqlErrors.ToOutcome(new TimeoutException("read timed out"), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Timeout);
        // The driver's own failure (no SQLSTATE), e.g. a connection the server dropped mid-read.
        MySqlErrors.ToOutcome(NewMySqlException((MySqlErrorCode)2013, "Lost connection to MySQL server during query"), Login, DatabaseEngine.MySQL, false)
            .Reason.Should().Be(ValidationReasons.Unreachable);
    }

    /// <summary>An error as the server sends it: with a SQLSTATE, which the driver's own failures lack.</summary>
    private static MySqlException NewServerException(MySqlErrorCode code, string sqlState, string message)
    {
        var ctor = typeof(MySqlException).GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(c => c.GetParameters().Any(p => p.Name == "sqlState"))
            .OrderBy(c => c.GetParameters().Length)
            .First();
        var arguments = ctor.GetParameters().Select(p => p.Name switch
        {
            "errorCode" => (object?)code,
            "sqlState" => sqlState,
            "message" => message,
            _ => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null,
        }).ToArray();
        var exception = (MySqlException)ctor.Invoke(arguments);
        exception.SqlState.Should().Be(sqlState);
        exception.ErrorCode.Should().Be(code);
        return exception;
    }

    /// <summary>MySqlConnector has no public constructor for its exception; tests build one like the driver does.</summary>
    private static MySqlException NewMySqlException(MySqlErrorCode code, string message, Exception? inner = null)
    {
        var ctors = typeof(MySqlException).GetConstructors(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public);
        var withInner = ctors.FirstOrDefault(c => c.GetParameters().Select(p => p.ParameterType).SequenceEqual([typeof(MySqlErrorCode), typeof(string), typeof(Exception)]));
        if (withInner is not null)
        {
            return (MySqlException)withInner.Invoke([code, message, inner]);
        }

        var plain = ctors.First(c => c.GetParameters().Select(p => p.ParameterType).SequenceEqual([typeof(MySqlErrorCode), typeof(string)]));
        return (MySqlException)plain.Invoke([code, message]);
    }
}
