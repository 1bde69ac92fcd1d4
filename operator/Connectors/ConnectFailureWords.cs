using System.Net.Sockets;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Why no connection to a database endpoint was made, in words that name the spec field to check: a name that does
/// not resolve is a typo in <c>spec.endpoint.host</c> (or, without an answer at all, the cluster's DNS), a refused port
/// a wrong <c>spec.endpoint.port</c> or a server that is down. Shared by the engines, whose drivers word these alike
/// badly; null for the socket errors that name neither.
/// </summary>
internal static class ConnectFailureWords
{
    /// <param name="error">The socket error of the lookup or connect.</param>
    /// <param name="host">The host as the spec names it.</param>
    /// <param name="port">The port tried.</param>
    /// <param name="refusedDetail">What the refusal is told with: the addresses that refused, or the words the client used.</param>
    /// <param name="portsHint">Which ports the engine's servers take logins on, appended to the port field's name.</param>
    public static string? For(SocketError error, string host, int port, string refusedDetail, string portsHint) => error switch
    {
        SocketError.HostNotFound or SocketError.NoData =>
            $"the host name {host} does not resolve ({error}); check spec.endpoint.host",
        SocketError.TryAgain =>
            // The resolver gave no answer (a DNS server down or slow), which says nothing about the name.
            $"the host name {host} could not be resolved just now (TryAgain: no answer from DNS); check the cluster's DNS, then spec.endpoint.host",
        SocketError.ConnectionRefused =>
            $"nothing accepts connections on port {port} ({refusedDetail}); check spec.endpoint.port{portsHint} and that the server is running",
        _ => null,
    };
}
