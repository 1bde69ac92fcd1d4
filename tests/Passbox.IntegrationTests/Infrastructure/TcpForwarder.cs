using System.Net;
using System.Net.Sockets;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback port that forwards to a real server, and that a test can take away and give back: while cut, the port
/// refuses connections (as a database host that is down or a load balancer that lost its backends) and open
/// connections are dropped; while stalled, it accepts connections and then says nothing (a host that hangs). The
/// server behind it is the shared one; only the path to it changes.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly string targetHost;
    private readonly int targetPort;
    private readonly List<TcpClient> open = [];
    private TcpListener? listener;
    private Task accepting = Task.CompletedTask;
    private volatile bool stalled;

    private TcpForwarder(string targetHost, int targetPort, int port)
    {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        Port = port;
    }

    /// <summary>The loopback port to connect to instead of the server's.</summary>
    public int Port { get; }

    public static TcpForwarder Start(string targetHost, int targetPort)
    {
        var forwarder = new TcpForwarder(targetHost, targetPort, LoopbackPorts.Unused());
        forwarder.Restore();
        return forwarder;
    }

    /// <summary>The port refuses connections from now on, and the connections through it are closed.</summary>
    public async Task CutAsync()
    {
        var stopping = listener;
        listener = null;
        stopping?.Stop();
        await accepting.ConfigureAwait(false);
        lock (open)
        {
            foreach (var client in open)
            {
                client.Dispose();
            }

            open.Clear();
        }
    }

    /// <summary>Connections open through the port now (while stalled: clients still waiting for an answer).</summary>
    public int OpenConnections
    {
        get
        {
            lock (open)
            {
                return open.Count / 2;
            }
        }
    }

    /// <summary>New connections are accepted and held open, never answered, until <see cref="Restore"/>.</summary>
    public void Stall() => stalled = true;

    /// <summary>The port forwards again.</summary>
    public void Restore()
    {
        stalled = false;
        if (listener is not null)
        {
            return;
        }

        var listening = new TcpListener(IPAddress.Loopback, Port);
        listening.Start();
        listener = listening;
        accepting = AcceptAsync(listening);
    }

    public async ValueTask DisposeAsync() => await CutAsync().ConfigureAwait(false);

    private async Task AcceptAsync(TcpListener listening)
    {
        while (true)
        {
            TcpClient incoming;
            try
            {
                incoming = await listening.AcceptTcpClientAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // Cut.
            }

            _ = ForwardAsync(incoming);
        }
    }

    private async Task ForwardAsync(TcpClient incoming)
    {
        var outgoing = new TcpClient();
        lock (open)
        {
            open.Add(incoming);
            open.Add(outgoing);
        }

        try
        {
            if (stalled)
            {
                // Read and drop whatever the client sends until it gives up (or a cut closes the connection).
                await incoming.GetStream().CopyToAsync(Stream.Null).ConfigureAwait(false);
                return;
            }

            await outgoing.ConnectAsync(targetHost, targetPort).ConfigureAwait(false);
            using var a = incoming.GetStream();
            using var b = outgoing.GetStream();
            // Either direction ending (or a cut) ends both.
            await Task.WhenAny(a.CopyToAsync(b), b.CopyToAsync(a)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            // The client went, the server went, or the test cut the path.
        }
        finally
        {
            incoming.Dispose();
            outgoing.Dispose();
            lock (open)
            {
                open.Remove(incoming);
                open.Remove(outgoing);
            }
        }
    }
}
