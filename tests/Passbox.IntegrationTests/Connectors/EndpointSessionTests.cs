using System.Net;
using System.Net.Sockets;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;

namespace Passbox.IntegrationTests.Connectors;

/// <summary>
/// What the checks leave open on a database server: a DBA's question. MySqlConnector does not stop waiting for a
/// server's greeting when its caller gives up, so a check cut short (newer inputs) keeps its connection until the
/// driver's own timeout; the operator must still never hold more than <see cref="EndpointSessionLimit.PerEndpoint"/>
/// sessions to one endpoint at once.
/// </summary>
[Collection(MariaDbCollectionDefinition.Name)]
public sealed class EndpointSessionTests(MariaDbFixture db)
{
    private readonly MySqlDatabaseConnector _mysql = new();

    private DatabaseLogin Login(int port, TimeSpan timeout) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        LoginName = db.MySqlUser.LoginName,
        Password = db.MySqlUser.Password,
        Timeout = timeout,
    };

    [Fact]
    public async Task Checks_given_up_on_keep_their_connection_and_count_towards_the_endpoint_limit()
    {
        // Accepts TCP and never greets, like a server too busy to answer.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var limit = EndpointSessionLimit.Shared.PerEndpoint;
        var abandoned = new List<Task>();

        // One check after another, each given up on after 200 ms (as a check whose source Secret changed), as the
        // workers of a busy operator would start them: more than the limit within the driver's timeout.
        for (var i = 0; i < limit + 4; i++)
        {
            using var superseded = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
            var login = _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(6)), superseded.Token);
            abandoned.Add(login);
            await Task.WhenAny(login, Task.Delay(300));
        }

        var accepted = new List<Socket>();
        while (silent.Pending())
        {
            accepted.Add(await silent.AcceptSocketAsync());
        }

        accepted.Count.Should().Be(limit, "connections left open by checks given up on still count, until the driver closes them");
        EndpointSessionLimit.Shared.OpenTo($"127.0.0.1:{port}").Should().Be(limit);

        // Once the driver's timeout closed them, the endpoint takes sessions again.
        await Task.WhenAll(abandoned.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)));
        EndpointSessionLimit.Shared.OpenTo($"127.0.0.1:{port}").Should().Be(0);
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task Many_checks_at_once_on_one_server_hold_no_more_connections_than_the_limit()
    {
        // The server refuses this user's connections beyond twice the limit (error 1226): some margin, as the server
        // counts a closed connection a moment late. Other test classes on the server do not count here.
        var limit = EndpointSessionLimit.Shared.PerEndpoint;
        var account = await db.CreateUserAsync("session_limit");
        await db.ExecuteAsync($"ALTER USER 'session_limit'@'%' WITH MAX_USER_CONNECTIONS {2 * limit}");
        var login = new DatabaseLogin { Host = db.Host, Port = db.Port, LoginName = account.LoginName, Password = account.Password, Timeout = TimeSpan.FromSeconds(10) };
        var before = await db.LoginAttemptsAsync(account.LoginName);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => Task.Run(() => _mysql.ValidateAsync(login, CancellationToken.None))));

        outcomes.Where(o => !o.Succeeded).Select(o => o.Message).Should().BeEmpty($"60 checks at once open at most {limit} connections to the server");
        (await db.LoginAttemptsAsync(account.LoginName) - before).Should().Be(60, "each check is one login, none refused");
    }

    [Fact]
    public async Task A_server_that_does_not_complete_logins_is_tried_by_one_login_at_a_time_not_by_every_credential()
    {
        // Accepts TCP and never greets: every login given up on counts on a real server towards max_connect_errors.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;

        var first = await _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(1)), CancellationToken.None);
        var others = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(1)), CancellationToken.None)));

        var accepted = new List<Socket>();
        while (silent.Pending())
        {
            accepted.Add(await silent.AcceptSocketAsync());
        }

        first.Reason.Should().Be(ValidationReasons.Timeout, first.Message);
        accepted.Should().HaveCount(1, "credentials on a server that just timed out do not each try it");
        others.Should().OnlyContain(o => o.Reason == ValidationReasons.Timeout && o.Message.Contains("not tried", StringComparison.Ordinal)
            && o.Message.Contains("max_connect_errors", StringComparison.Ordinal));

        // After the pause one login goes again, and a server that answers (here: the port closed, refused) ends the spell.
        await Task.Delay(EndpointTimeouts.FirstPause);
        silent.Stop();
        (await _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(1)), CancellationToken.None)).Reason.Should().Be(ValidationReasons.Unreachable);
        (await _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(1)), CancellationToken.None)).Reason.Should().Be(ValidationReasons.Unreachable);
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task A_login_left_unanswered_within_a_short_timeout_does_not_hold_back_credentials_that_give_theirs_longer()
    {
        // One credential with a short validation.timeout on a slow server (or a login left little time by the wait for a
        // session slot) held back every other credential on that host:port, whose logins were given far longer.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;

        var hurried = await _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(1)), CancellationToken.None);
        var patient = await _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(2)), CancellationToken.None);
        var patientAgain = await _mysql.ValidateAsync(Login(port, TimeSpan.FromSeconds(2)), CancellationToken.None);

        var accepted = new List<Socket>();
        while (silent.Pending())
        {
            accepted.Add(await silent.AcceptSocketAsync());
        }

        hurried.Reason.Should().Be(ValidationReasons.Timeout, hurried.Message);
        patient.Reason.Should().Be(ValidationReasons.Timeout, patient.Message);
        patient.Message.Should().NotContain("not tried", "a login given 1 s that got no answer says nothing of one given 2 s");
        patientAgain.Message.Should().Contain("not tried", "a login given 2 s got no answer now");
        accepted.Should().HaveCount(2);
        foreach (var socket in accepted)
        {
            socket.Dispose();
        }
    }

    [Fact]
    public async Task A_statement_that_runs_out_of_time_after_the_login_does_not_hold_back_the_server()
    {
        // The login was answered (an administrator's statement waited for a lock, say): the server takes logins.
        await using var path = TcpForwarder.Start(db.Host, db.Port);
        var login = Login(path.Port, TimeSpan.FromSeconds(1));

        var slow = await MySqlProtocol.WithSessionAsync(login, DatabaseEngine.MySQL, async (session, token) =>
        {
            await session.ScalarAsync("SELECT SLEEP(3)", token);
            return ValidationOutcome.Success("slept", null);
        }, failure => failure, CancellationToken.None);
        var next = await _mysql.ValidateAsync(login, CancellationToken.None);

        slow.Reason.Should().Be(ValidationReasons.Timeout, slow.Message);
        slow.Message.Should().Contain("completed the login but did not finish the statement SELECT SLEEP(3) within 1s")
            .And.NotContain("did not complete the login", "the server did complete it: what ran out of time was the statement");
        next.Succeeded.Should().BeTrue(next.Message);
    }
}
