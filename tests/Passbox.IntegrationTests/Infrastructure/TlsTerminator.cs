using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// HTTPS in front of a plain-HTTP server on loopback, as an ingress or load balancer with an in-house certificate puts
/// it in front of a git server or registry: TLS with <c>certificate</c> is ended here and the bytes go on to the server.
/// </summary>
public sealed class TlsTerminator : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly X509Certificate2 certificate;
    private readonly string targetHost;
    private readonly int targetPort;
    private readonly CancellationTokenSource stop = new();
    private readonly Task accepting;

    public TlsTerminator(X509Certificate2 certificate, string targetHost, int targetPort)
    {
        this.certificate = certificate;
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        listener.Start();
        accepting = AcceptAsync();
    }

    /// <summary>The loopback port that speaks HTTPS.</summary>
    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        await accepting;
        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient incoming;
            try
            {
                incoming = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = ForwardAsync(incoming);
        }
    }

    private async Task ForwardAsync(TcpClient incoming)
    {
        using (incoming)
        using (var outgoing = new TcpClient())
        {
            try
            {
                await using var tls = new SslStream(incoming.GetStream(), leaveInnerStreamOpen: false);
                await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }, stop.Token);
                await outgoing.ConnectAsync(targetHost, targetPort, stop.Token);
                await using var plain = outgoing.GetStream();
                // Either direction ending ends both.
                await Task.WhenAny(tls.CopyToAsync(plain, stop.Token), plain.CopyToAsync(tls, stop.Token));
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException
                or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
                // A client that refused the certificate, a server that went, or the end of the test.
            }
        }
    }
}
