using System.Net;
using System.Net.Sockets;
using k8s;

namespace Passbox.Operator.Runtime.Api;

/// <summary>
/// Turns on TCP keepalive for the connections to the API server, so that one whose peer is gone without a word (a node
/// or load balancer that dropped it, a network partition) fails within about a minute. The informers' watches go over
/// HTTP/1.1, where HttpClient sends no pings of its own, and a watch of objects that rarely change is silent for
/// minutes: without probes such a connection looked alive until the server's watch timeout plus the client's guard, up
/// to ten and a half minutes in which the cache no longer followed the cluster. The kernel's default (two hours of
/// silence before the first probe) is far too late; a live peer answers the probes itself, so they cost a few empty
/// packets a minute per idle connection.
/// </summary>
public static class DeadPeerDetection
{
    /// <summary>Silence before the first probe.</summary>
    public static readonly TimeSpan IdleBeforeProbes = TimeSpan.FromSeconds(30);

    /// <summary>Between unanswered probes.</summary>
    public static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(10);

    /// <summary>Unanswered probes after which the kernel gives the connection up.</summary>
    public const int Probes = 3;

    /// <summary>
    /// Has the client built from <paramref name="configuration"/> open its connections with <see cref="ConnectAsync"/>,
    /// keeping any setup of the first handler already there.
    /// </summary>
    public static void Enable(KubernetesClientConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var earlier = configuration.FirstMessageHandlerSetup;
        configuration.FirstMessageHandlerSetup = handler =>
        {
            earlier?.Invoke(handler);
            if (handler is SocketsHttpHandler { ConnectCallback: null } sockets)
            {
                sockets.ConnectCallback = (context, cancellationToken) => ConnectAsync(context.DnsEndPoint, cancellationToken);
            }
        };
    }

    /// <summary>A TCP connection to <paramref name="endPoint"/> (or the proxy HttpClient goes through) whose idle peer is probed.</summary>
    public static async ValueTask<Stream> ConnectAsync(DnsEndPoint endPoint, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endPoint);

        // Dual mode (IPv6 with IPv4-mapped addresses): a host name may resolve to either family, as in HttpClient's own connect.
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)IdleBeforeProbes.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)ProbeInterval.TotalSeconds);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, Probes);
            await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
