using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// What the proxy doubles share: a loopback listener, a resolver that decides where a requested host really is (so a
/// test can use a host name that resolves nowhere else: a connection that arrives proves it went through the proxy),
/// the record of every target asked for, and the relay once the proxy's own handshake is done.
/// </summary>
public abstract class ProxyDouble : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, int, (string Host, int Port)> resolve;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;

    /// <param name="resolve">Where to connect for a requested host and port.</param>
    protected ProxyDouble(Func<string, int, (string Host, int Port)> resolve)
    {
        this.resolve = resolve;
        listener.Start();
        accepting = AcceptAsync();
    }

    /// <summary>The <c>host:port</c> of every target asked for, in order.</summary>
    public ConcurrentQueue<string> Requested { get; } = new();

    /// <summary>The proxy URL clients are given.</summary>
    public abstract Uri Address { get; }

    protected int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    protected CancellationToken Stopping => stopping.Token;

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Speaks the proxy protocol with one client, up to <see cref="ConnectAsync"/> and <see cref="RelayAsync"/>.</summary>
    protected abstract Task ServeAsync(NetworkStream client);

    /// <summary>Records the target and opens the connection to where the resolver says it is.</summary>
    protected async Task<TcpClient> ConnectAsync(string host, int port)
    {
        Requested.Enqueue($"{host}:{port}");
        var (realHost, realPort) = resolve(host, port);
        var upstream = new TcpClient();
        try
        {
            await upstream.ConnectAsync(realHost, realPort, Stopping);
            return upstream;
        }
        catch
        {
            upstream.Dispose();
            throw;
        }
    }

    /// <summary>Copies both ways until one side closes.</summary>
    protected async Task RelayAsync(NetworkStream client, NetworkStream upstream) =>
        await Task.WhenAny(client.CopyToAsync(upstream, Stopping), upstream.CopyToAsync(client, Stopping));

    private async Task AcceptAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            await ServeAsync(client.GetStream());
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or FormatException or InvalidOperationException)
        {
            // The client or the server went, the resolver refused the target, or the proxy stops.
        }
    }
}
