using System.Net.Security;
using System.Net.Sockets;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>
/// Whether a port speaks TLS. Plaintext gRPC sent to a TLS port fails in words about HTTP/2 frames (or as a connection
/// the server simply closes, which is what a TLS Milvus does), which do not tell a user to change
/// <c>spec.endpoint.tls.mode</c>. After such a failure (only then) one TLS handshake is tried on a new connection,
/// accepting any certificate: it is only asked whether the server answers in TLS, nothing is sent after the handshake.
/// </summary>
internal static class TlsListenerProbe
{
    /// <summary>True when the server completed a TLS handshake; false when it did not or the time ran out.</summary>
    public static async Task<bool> SpeaksTlsAsync(string host, int port, CancellationToken ct)
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(host.Trim('[', ']'), port, ct);
            await using var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = host.Trim('[', ']'),
                    // Whose certificate it is does not matter here: the question is only whether TLS is spoken.
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
                },
                ct);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return false;
        }
    }
}
