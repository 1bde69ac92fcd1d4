using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// An HTTP forward proxy, as corporate egress proxies are: <c>CONNECT</c> tunnels for TLS (RFC 9110 §9.3.6) and
/// absolute-form requests (<c>GET http://host/path</c>) for plain HTTP, passed on as they are (servers accept that
/// form). With <c>credentials</c> it wants them first, as <c>Proxy-Authorization: Basic</c> (RFC 9110 §11.7.1), and
/// answers 407 without them.
/// </summary>
public sealed class ConnectProxy(Func<string, int, (string Host, int Port)> resolve, NetworkCredential? credentials = null)
    : ProxyDouble(resolve)
{
    public override Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>How many requests were answered 407.</summary>
    public int Refused { get; private set; }

    protected override async Task ServeAsync(NetworkStream client)
    {
        var head = await ReadHeadAsync(client);
        var lines = head.Split("\r\n");
        if (lines[0].Split(' ') is not [var method, var target, _])
        {
            await client.WriteAsync("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"u8.ToArray(), Stopping);
            return;
        }

        if (credentials is not null && !lines.Contains($"Proxy-Authorization: Basic {Basic(credentials)}", StringComparer.OrdinalIgnoreCase))
        {
            Refused++;
            await client.WriteAsync(
                "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"egress\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(),
                Stopping);
            return;
        }

        var tunnel = method == "CONNECT";
        var authority = tunnel ? target : new Uri(target).Authority;
        var colon = authority.LastIndexOf(':');
        using var upstream = colon < 0
            ? await ConnectAsync(authority, 80)
            : await ConnectAsync(authority[..colon], int.Parse(authority[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var remote = upstream.GetStream();
        if (tunnel)
        {
            await client.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray(), Stopping);
        }
        else
        {
            await remote.WriteAsync(Encoding.ASCII.GetBytes(head), Stopping);
        }

        await RelayAsync(client, remote);
    }

    private static string Basic(NetworkCredential credential) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.UserName}:{credential.Password}"));

    /// <summary>Reads up to the blank line that ends the request head, one byte at a time (the tunnel starts after it).</summary>
    private async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 8192)
        {
            if (await stream.ReadAsync(one, Stopping) == 0)
            {
                throw new IOException("The client closed before the request head ended.");
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }
}
