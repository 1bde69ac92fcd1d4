using System.Net.Sockets;

namespace Passbox.Operator.Tests.Pipeline;

/// <summary>
/// An HTTPS port whose TLS handshake fails before any certificate is sent (a server with no certificate for the name
/// asked, or none of the client's TLS versions), and which answers plain HTTP as Go's HTTPS servers do on their port:
/// 400 "Client sent an HTTP request to an HTTPS server.". It records whether a plain HTTP request came.
/// </summary>
public sealed class HandshakeRefusingHttpsPort : IAsyncDisposable
{
    /// <summary>A TLS alert record: fatal, handshake_failure.</summary>
    private static readonly byte[] HandshakeFailure = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];

    private readonly LoopbackListener listener;
    private int plainRequests;

    public HandshakeRefusingHttpsPort() => listener = new LoopbackListener(ServeAsync);

    public int Port => listener.Port;

    public int PlainRequests => Volatile.Read(ref plainRequests);

    public ValueTask DisposeAsync() => listener.DisposeAsync();

    private async Task ServeAsync(TcpClient client, CancellationToken stop)
    {
        using (client)
        {
            var stream = client.GetStream();
            var first = new byte[1];
            if (await stream.ReadAsync(first, stop) == 0)
            {
                return;
            }

            if (first[0] == 0x16)
            {
                await stream.WriteAsync(HandshakeFailure, stop);
                return;
            }

            Interlocked.Increment(ref plainRequests);
            await stream.WriteAsync("HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"u8.ToArray(), stop);
        }
    }
}
