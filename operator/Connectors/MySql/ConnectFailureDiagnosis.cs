using System.Net;
using System.Net.Sockets;

namespace Passbox.Operator.Connectors.MySql;

/// <summary>
/// MySqlConnector answers a host name that does not resolve and a port nobody listens on with the same words ("Unable
/// to connect to any of the specified MySQL hosts.") and no inner exception, so a user cannot tell a typo in
/// <c>spec.endpoint.host</c> from a wrong <c>spec.endpoint.port</c> or a server that is down. After such a failure (only
/// then) the name is resolved, and the port tried, once more, to say which; within what is left of the check's time.
/// The port is tried with a bare TCP connect only because the driver's own connect to it just failed: should it succeed
/// now (a server that came up in between), the server counts one aborted connection, which the next login clears.
/// </summary>
internal static class ConnectFailureDiagnosis
{
    /// <summary>What went wrong, in words that name the field to check; null when it cannot be told (it connects now).</summary>
    /// <param name="host">The host the driver could not connect to.</param>
    /// <param name="port">Its port.</param>
    /// <param name="engine">Says which ports the engine's servers take logins on, for a refused port.</param>
    /// <param name="ct">Cancelled when the check's time runs out.</param>
    public static async Task<string?> DescribeAsync(string host, int port, DatabaseEngine engine, CancellationToken ct)
    {
        try
        {
            var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
                ? [literal]
                : await Dns.GetHostAddressesAsync(host, ct);
            if (addresses.Length == 0)
            {
                return $"the host name {host} resolves to no address; check spec.endpoint.host";
            }

            SocketException? last = null;
            foreach (var address in addresses)
            {
                try
                {
                    using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    await socket.ConnectAsync(new IPEndPoint(address, port), ct);
                    return null;
                }
                catch (SocketException e)
                {
                    last = e;
                }
            }

            return last!.SocketErrorCode == SocketError.ConnectionRefused
                ? ConnectFailureWords.For(SocketError.ConnectionRefused, host, port, $"{Addresses(addresses)} refused", PortsOf(engine))
                : $"connecting to port {port} ({Addresses(addresses)}) failed: {last.SocketErrorCode}; check spec.endpoint.host, spec.endpoint.port and the network between them";
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TryAgain or SocketError.HostNotFound or SocketError.NoData)
        {
            return ConnectFailureWords.For(e.SocketErrorCode, host, port, string.Empty, PortsOf(engine));
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// OceanBase takes logins on two ports, and the default (OBProxy's 2883) is the wrong one for a login straight to an
    /// OBServer (<c>user@tenant</c>, no cluster), which listens on 2881.
    /// </summary>
    private static string PortsOf(DatabaseEngine engine) => engine == DatabaseEngine.OceanBase
        ? " (OceanBase: OBProxy takes logins on 2883, the default port; an OBServer reached directly on 2881)"
        : string.Empty;

    private static string Addresses(IReadOnlyList<IPAddress> addresses) => string.Join(", ", addresses.Take(3));
}
