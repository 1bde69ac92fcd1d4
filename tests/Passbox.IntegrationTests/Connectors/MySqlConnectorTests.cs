using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;

namespace Passbox.IntegrationTests.Connectors;

[Collection(MariaDbCollectionDefinition.Name)]
public sealed class MySqlConnectorTests(MariaDbFixture db)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly MySqlDatabaseConnector _mysql = new();
    private readonly OceanBaseConnector _oceanBase = new();

    private DatabaseLogin Login(MariaDbAccount account, string? database = null, TlsSettings? tls = null) => new()
    {
        Host = db.Host,
        Port = db.Port,
        LoginName = account.LoginName,
        Password = account.Password,
        Database = database,
        Tls = tls ?? TlsSettings.Disabled,
        Timeout = Timeout,
    };

    [Fact]
    public async Task A_plain_MySQL_login_is_validated_with_the_server_version()
    {
        var outcome = await _mysql.ValidateAsync(Login(db.MySqlUser, MariaDbFixture.DatabaseName), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Reason.Should().Be(ValidationReasons.Validated);
        outcome.ServerVersion.Should().StartWith("10.11.").And.Contain("MariaDB");
        outcome.Message.Should().Contain("app_rw").And.Contain(outcome.ServerVersion);
    }

    [Fact]
    public async Task An_OceanBase_login_through_OBProxy_is_validated()
    {
        OceanBaseLogin.Format("app", "orders", "obcluster").Should().Be(db.OceanBaseProxyUser.LoginName);

        var outcome = await _oceanBase.ValidateAsync(Login(db.OceanBaseProxyUser), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().StartWith("10.11.").And.Contain("MariaDB");
        outcome.Message.Should().Contain("app@orders#obcluster");
    }

    [Fact]
    public async Task An_OceanBase_direct_login_is_validated()
    {
        OceanBaseLogin.Format("app", "orders", null).Should().Be(db.OceanBaseDirectUser.LoginName);

        var outcome = await _oceanBase.ValidateAsync(Login(db.OceanBaseDirectUser, MariaDbFixture.DatabaseName), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Contain("MariaDB");
    }

    [Fact]
    public async Task A_password_with_connection_string_characters_works()
    {
        var account = await db.CreateUserAsync("tricky_pw", "a;b=c\"d'e Password=x;Server=evil");

        var outcome = await _mysql.ValidateAsync(Login(account), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
    }

    [Fact]
    public async Task One_validation_is_exactly_one_login()
    {
        var account = await db.CreateUserAsync("counted_user");
        var before = await db.LoginAttemptsAsync(account.LoginName);

        (await _mysql.ValidateAsync(Login(account), CancellationToken.None)).Succeeded.Should().BeTrue();
        (await _mysql.ValidateAsync(Login(account with { Password = "wrong-password" }), CancellationToken.None)).Succeeded.Should().BeFalse();

        (await db.LoginAttemptsAsync(account.LoginName)).Should().Be(before + 2);
    }

    [Fact]
    public async Task The_connection_is_closed_after_validation()
    {
        var account = await db.CreateUserAsync("closed_user");

        (await _mysql.ValidateAsync(Login(account), CancellationToken.None)).Succeeded.Should().BeTrue();

        // The server notices the close asynchronously; give it a moment.
        var open = 1L;
        for (var i = 0; i < 50 && open > 0; i++)
        {
            open = Convert.ToInt64(await db.ScalarAsync($"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = '{account.LoginName}'"), System.Globalization.CultureInfo.InvariantCulture);
            if (open > 0)
            {
                await Task.Delay(20);
            }
        }

        open.Should().Be(0);
    }

    [Fact]
    public async Task A_wrong_password_is_an_authentication_failure()
    {
        var outcome = await _mysql.ValidateAsync(Login(db.MySqlUser with { Password = "not-the-password;=\"" }), CancellationToken.None);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("app_rw").And.Contain("password").And.NotContain("not-the-password");
    }

    [Fact]
    public async Task A_wrong_OceanBase_password_mentions_the_tenant()
    {
        var outcome = await _oceanBase.ValidateAsync(Login(db.OceanBaseProxyUser with { Password = "wrong" }), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("tenant 'orders'").And.Contain("1045");
    }

    [Fact]
    public async Task An_unknown_tenant_is_reported_like_a_wrong_password_with_the_tenant_named()
    {
        var outcome = await _oceanBase.ValidateAsync(
            Login(new MariaDbAccount(OceanBaseLogin.Format("app", "no_such_tenant", "obcluster"), db.OceanBaseProxyUser.Password)),
            CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("tenant 'no_such_tenant'");
    }

    [Fact]
    public async Task An_unknown_database_is_DatabaseNotFound()
    {
        // A user allowed to see every database gets 1049; see the next test for one that is not.
        var account = await db.CreateUserAsync("global_reader");
        await db.ExecuteAsync("GRANT SELECT ON *.* TO 'global_reader'@'%'");

        var outcome = await _mysql.ValidateAsync(Login(account, "no_such_db"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.DatabaseNotFound);
        outcome.Message.Should().Contain("no_such_db");
    }

    [Fact]
    public async Task A_database_the_user_may_not_use_is_PermissionDenied()
    {
        await db.ExecuteAsync("CREATE DATABASE IF NOT EXISTS other_db");

        var outcome = await _mysql.ValidateAsync(Login(db.MySqlUser, "other_db"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.PermissionDenied);
        outcome.Message.Should().Contain("other_db");
    }

    [Fact]
    public async Task Nothing_listening_is_Unreachable()
    {
        var outcome = await _mysql.ValidateAsync(Login(db.MySqlUser) with { Port = LoopbackPorts.Unused() }, CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Contain("127.0.0.1");
    }

    [Fact]
    public async Task A_server_that_never_answers_the_handshake_times_out_quickly()
    {
        // Accepts TCP (the kernel completes the handshake from the backlog) but never sends the
        // MySQL greeting, like a blackholed proxy.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var watch = Stopwatch.StartNew();

        var outcome = await _mysql.ValidateAsync(Login(db.MySqlUser) with { Port = port, Timeout = TimeSpan.FromSeconds(1) }, CancellationToken.None);

        watch.Stop();
        outcome.Reason.Should().Be(ValidationReasons.Timeout, outcome.Message);
        watch.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task An_unusable_CA_is_TLSFailed_without_connecting()
    {
        var outcome = await _mysql.ValidateAsync(
            Login(db.MySqlUser, tls: new TlsSettings(TlsMode.VerifyCA, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----")),
            CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("CA");
    }

    [Fact]
    public async Task Cancellation_by_the_caller_is_thrown_not_reported()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var act = () => _mysql.ValidateAsync(Login(db.MySqlUser) with { Port = ((IPEndPoint)silent.LocalEndpoint).Port }, cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    [Fact]
    public async Task No_outcome_message_contains_the_password()
    {
        var password = db.MySqlUser.Password;
        var logins = new[]
        {
            Login(db.MySqlUser),
            Login(db.MySqlUser, "no_such_db"),
            Login(db.MySqlUser, "other_db"),
            Login(db.MySqlUser) with { LoginName = "nobody_here" },
            Login(db.MySqlUser) with { Port = LoopbackPorts.Unused() },
            Login(db.MySqlUser, tls: new TlsSettings(TlsMode.Required)),
            Login(db.MySqlUser) with { Password = password + "x" },
        };

        foreach (var login in logins)
        {
            foreach (IDatabaseConnector connector in new IDatabaseConnector[] { _mysql, _oceanBase })
            {
                var outcome = await connector.ValidateAsync(login, CancellationToken.None);
                outcome.Message.Should().NotContain(password);
                outcome.ToString().Should().NotContain(password);
                login.ToString().Should().NotContain(password);
            }
        }
    }

    [Fact]
    public async Task A_statement_the_server_cannot_parse_is_reported_without_the_password_it_quotes()
    {
        var admin = new DatabaseLogin { Host = db.Host, Port = db.Port, LoginName = db.RootUser, Password = db.RootPassword, Timeout = Timeout };
        // MySqlConnector escapes ' and \ into the literal; MariaDB quotes 80 characters of the statement from where it
        // stopped parsing, so the password shows escaped, and a long one only in part.
        var user = new ManagedUser { Name = "quoted", Password = @"it's-a\pw-" + Guid.NewGuid().ToString("N") + Guid.NewGuid().ToString("N") };

        var outcome = await MySqlProtocol.WithSessionAsync(admin, DatabaseEngine.MySQL, async (session, ct) =>
        {
            await session.ExecuteAsync("ALTER USER IDENTIFIED BY @password", user.Password, ct);
            return new UserAdminOutcome(true, ValidationReasons.Validated, "parsed after all");
        }, failure => AdminFailure.From(failure, admin, user), CancellationToken.None);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(ValidationReasons.Unsupported, "the same statement would fail the same way; it is not a network failure");
        outcome.Message.Should().Contain("1064").And.NotContain("it's").And.NotContain("it''s").And.NotContain(@"a\\pw").And.NotContain(user.Password[12..20]);
    }
}
