using System.Net.Security;
using System.Net.Sockets;

namespace Passbox.Operator.Connectors.Milvus;

/// <summary>What a port answered a TLS handshake with.</summary>
internal enum ListenerAnswer
{
    /// <summary>No handshake and nothing recognisable: closed, silent, or the time ran out.</summary>
    Nothing,

    /// <summary>The server completed a TLS handshake.</summary>
    Tls,

    /// <summary>The server answered the handshake in HTTP/1 (<c>HTTP/1.1 400 Bad Request</c>): a plain web server.</summary>
    Http1,
}

/// <summary>
/// What a port speaks, asked after plaintext gRPC got no sensible answer. Plaintext gRPC sent to a TLS port fails in words
/// about HTTP/2 frames (or as a connection the server simply closes, which is what a TLS Milvus does), which do not tell a
/// user to change <c>spec.endpoint.tls.mode</c>; and a plain web server may close the connection before the client reads
/// its HTTP/1 answer to the HTTP/2 preface, which then looks like a server going away. One TLS handshake on a new
/// connection tells the two apart: a TLS server completes it (any certificate is accepted: only the protocol is asked,
/// nothing is sent after it), and a web server answers the ClientHello in HTTP/1, as nginx and Go's server do.
/// </summary>
internal static class TlsListenerProbe
{
    public static async Task<ListenerAnswer> AskAsync(string host, int port, CancellationToken ct)
    {
        RecordingStream? recorded = null;
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(host.Trim('[', ']'), port, ct);
            recorded = new RecordingStream(tcp.GetStream());
            await using var tls = new SslStream(recorded, leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = host.Trim('[', ']'),
                    // Whose certificate it is does not matter here: the question is only whether TLS is spoken.
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null,
                },
                ct);
            return ListenerAnswer.Tls;
        }
        catch (Exception e) when (e is IOException or SocketException or System.Security.Authentication.AuthenticationException or OperationCanceledException)
        {
            return recorded?.BeganWith("HTTP/"u8) == true ? ListenerAnswer.Http1 : ListenerAnswer.Nothing;
        }
    }

    /// <summary>Keeps the first bytes the server sent, which the TLS stream reads and, when they are no TLS, throws away.</summary>
    private sealed class RecordingStream(Stream inner) : Stream
    {
        private readonly byte[] first = new byte[8];
        private int kept;

        public bool BeganWith(ReadOnlySpan<byte> prefix) => kept >= prefix.Length && first.AsSpan(0, prefix.Length).SequenceEqual(prefix);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            Keep(buffer.Span[..read]);
            return read;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Keep(buffer.AsSpan(offset, read));
            return read;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Keep(ReadOnlySpan<byte> read)
        {
            var take = Math.Min(read.Length, first.Length - kept);
            read[..take].CopyTo(first.AsSpan(kept));
            kept += take;
        }
    }
}
