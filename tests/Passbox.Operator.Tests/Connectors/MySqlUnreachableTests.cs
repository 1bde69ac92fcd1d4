using System.Net;
using System.Net.Sockets;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.MySql;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>
/// MySqlConnector says "Unable to connect to any of the specified MySQL hosts." for a host name that does not resolve
/// and for a port nobody listens on alike. The condition tells them apart and names the field to fix.
/// </summary>
public sealed class MySqlUnreachableTests
{
    [Fact]
    public async Task A_host_name_that_does_not_resolve_is_named_as_such()
    {
        var outcome = await new MySqlDatabaseConnector().ValidateAsync(Login("no-such-host.invalid", 3306), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Contain("the host name no-such-host.invalid does not resolve").And.Contain("check spec.endpoint.host");
    }

    [Fact]
    public async Task A_port_nobody_listens_on_is_named_as_such()
    {
        var port = ClosedPort();

        var outcome = await new MySqlDatabaseConnector().ValidateAsync(Login("127.0.0.1", port), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Contain($"nothing accepts connections on port {port}").And.Contain("check spec.endpoint.port").And.NotContain("OBProxy");
    }

    [Fact]
    public async Task A_refused_OceanBase_port_says_which_port_OBProxy_and_an_OBServer_take()
    {
        var port = ClosedPort();

        var outcome = await new OceanBaseConnector().ValidateAsync(Login("127.0.0.1", port) with { LoginName = "app@orders" }, CancellationToken.None);

        // A login straight to an OBServer (no cluster) that kept the default port 2883 reaches no OBProxy there.
        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Contain($"nothing accepts connections on port {port}").And.Contain("check spec.endpoint.port")
            .And.Contain("OBProxy takes logins on 2883").And.Contain("an OBServer reached directly on 2881");
    }

    private static DatabaseLogin Login(string host, int port) => new()
    {
        Host = host,
        Port = port,
        LoginName = "app",
        Password = "irrelevant-pw",
        Tls = new TlsSettings(TlsMode.Disabled, null),
        Timeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>A loopback port that was free a moment ago and has no listener now.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
