using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Passbox.Operator.Tests.Pipeline;

/// <summary>A request as the canned server saw it.</summary>
public sealed record CannedRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers)
{
    public string? Authorization => Headers.TryGetValue("Authorization", out var value) ? value : null;
}

/// <summary>A response for the canned server to send.</summary>
public sealed record CannedResponse(int Status, IReadOnlyDictionary<string, string>? Headers = null, string Body = "")
{
    public static CannedResponse With(int status, params (string Name, string Value)[] headers) =>
        new(status, headers.ToDictionary(h => h.Name, h => h.Value));
}

/// <summary>
/// A loopback HTTP/1.1 server on a raw socket that answers each request from a function, one
/// request per connection, and records what it was asked: enough to drive the probes' status handling.
/// </summary>
public sealed class CannedHttpServer : IAsyncDisposable
{
    private readonly LoopbackListener listener;
    private readonly Func<CannedRequest, CannedResponse> respond;
    private readonly X509Certificate2? certificate;
    private readonly IReadOnlyDictionary<string, X509Certificate2> certificatesByServerName;

    /// <param name="respond">Answers each request.</param>
    /// <param name="certificate">With a certificate the server speaks HTTPS and asks for (but does not need) a client certificate.</param>
    /// <param name="certificatesByServerName">
    /// Certificates picked by the TLS server name (SNI) the client sends, as a server with several names does; any other
    /// name, or none, gets <paramref name="certificate"/>.
    /// </param>
    public CannedHttpServer(
        Func<CannedRequest, CannedResponse> respond, X509Certificate2? certificate = null, IReadOnlyDictionary<string, X509Certificate2>? certificatesByServerName = null)
    {
        this.respond = respond;
        this.certificate = certificate;
        this.certificatesByServerName = certificatesByServerName ?? new Dictionary<string, X509Certificate2>();
        listener = new LoopbackListener(ServeAsync);
    }

    public ConcurrentQueue<CannedRequest> Requests { get; } = new();

    public int Port => listener.Port;

    public string BaseUrl => $"{(certificate is null ? "http" : "https")}://127.0.0.1:{Port}";

    /// <summary>Subjects of the client certificates presented, in order.</summary>
    public ConcurrentQueue<string> ClientCertificates { get; } = new();

    /// <summary>The TLS server names (SNI) clients sent, in order; an empty string for a client that sent none.</summary>
    public ConcurrentQueue<string> ServerNames { get; } = new();

    public ValueTask DisposeAsync() => listener.DisposeAsync();

    /// <summary>The test server takes any client certificate: the tests look at which one came.</summary>
    private static bool RecordClientCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        certificate is null || errors != SslPolicyErrors.RemoteCertificateNotAvailable;

    private async Task ServeAsync(TcpClient client, CancellationToken stop)
    {
        using (client)
        {
            Stream stream = client.GetStream();
            if (certificate is not null)
            {
                var tls = new SslStream(stream, leaveInnerStreamOpen: false, RecordClientCertificate);
                try
                {
                    await tls.AuthenticateAsServerAsync(
                        new SslServerAuthenticationOptions
                        {
                            ServerCertificateSelectionCallback = (_, name) =>
                            {
                                ServerNames.Enqueue(name ?? string.Empty);
                                return name is not null && certificatesByServerName.TryGetValue(name, out var named) ? named : certificate;
                            },
                            ClientCertificateRequired = true,
                        },
                        stop);
                }
                catch (Exception)
                {
                    // The client refused the certificate: that is what the TLS tests look for.
                    await tls.DisposeAsync();
                    return;
                }

                if (tls.RemoteCertificate is { } presented)
                {
                    ClientCertificates.Enqueue(presented.Subject);
                }

                stream = tls;
            }

            var buffer = new byte[16 * 1024];
            var total = 0;
            string head;
            while (true)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(total), stop);
                if (read == 0)
                {
                    return;
                }

                total += read;
                if (certificate is null && buffer[0] == 0x16)
                {
                    // A TLS ClientHello on a plain HTTP port: answer like nginx does and hang up.
                    await stream.WriteAsync("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"u8.ToArray(), stop);
                    return;
                }

                head = Encoding.ASCII.GetString(buffer, 0, total);
                if (head.Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    break;
                }
            }

            var lines = head[..head.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var line in lines.Skip(1))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
                }
            }

            var request = new CannedRequest(requestLine[0], requestLine[1], headers);
            Requests.Enqueue(request);
            var response = respond(request);
            var body = Encoding.UTF8.GetBytes(response.Body);
            var text = new StringBuilder($"HTTP/1.1 {response.Status} Canned\r\n");
            foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
            {
                text.Append($"{name}: {value}\r\n");
            }

            text.Append($"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text.ToString()), stop);
            await stream.WriteAsync(body, stop);
        }
    }
}
