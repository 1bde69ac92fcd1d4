using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// An HTTP forward proxy, as corporate egress proxies are: <c>CONNECT</c> tunnels for TLS (RFC 9110 §9.3.6) and
/// absolute-form requests (<c>GET http://host/path</c>) for plain HTTP, passed on as they are (servers accept that
/// form). It records every target it is asked for and connects to the address its resolver gives, so a test can use a
/// host name that resolves nowhere else: a connection that arrives proves it went through the proxy.
/// </summary>
public sealed class ConnectProxy : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Func<string, int, (string Host, int Port)> resolve;
    private readonly CancellationTokenSource stopping = new();
    private readonly Task accepting;

    /// <param name="resolve">Where to connect for a requested host and port.</param>
    public ConnectProxy(Func<string, int, (string Host, int Port)> resolve)
    {
        this.resolve = resolve;
        listener.Start();
        accepting = AcceptAsync();
    }

    /// <summary>The <c>host:port</c> of every CONNECT received, in order.</summary>
    public ConcurrentQueue<string> Requested { get; } = new();

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}");

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        listener.Stop();
        await accepting;
        stopping.Dispose();
    }

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

            _ = TunnelAsync(client);
        }
    }

    private async Task TunnelAsync(TcpClient client)
    {
        using var _ = client;
        using var upstream = new TcpClient();
        try
        {
            var stream = client.GetStream();
            var head = await ReadHeadAsync(stream);
            var requestLine = head.Split("\r\n")[0].Split(' ');
            if (requestLine is not [var method, var target, _])
            {
                await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), stopping.Token);
                return;
            }

            var tunnel = method == "CONNECT";
            var authority = tunnel ? target : new Uri(target).Authority;
            Requested.Enqueue(authority);
            var colon = authority.LastIndexOf(':');
            var (host, port) = colon < 0
                ? resolve(authority, 80)
                : resolve(authority[..colon], int.Parse(authority[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
            await upstream.ConnectAsync(host, port, stopping.Token);
            var remote = upstream.GetStream();
            if (tunnel)
            {
                await stream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), stopping.Token);
            }
            else
            {
                await remote.WriteAsync(Encoding.ASCII.GetBytes(head), stopping.Token);
            }

            await Task.WhenAny(stream.CopyToAsync(remote, stopping.Token), remote.CopyToAsync(stream, stopping.Token));
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or FormatException)
        {
            // The client or the server went, or the proxy stops.
        }
    }

    /// <summary>Reads up to the blank line that ends the request head, one byte at a time (the tunnel starts after it).</summary>
    private async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 8192)
        {
            if (await stream.ReadAsync(one, stopping.Token) == 0)
            {
                throw new IOException("The client closed before the request head ended.");
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }
}
