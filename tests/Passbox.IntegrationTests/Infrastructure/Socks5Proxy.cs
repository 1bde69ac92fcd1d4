using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A SOCKS5 proxy (RFC 1928), as bastions and <c>ssh -D</c> tunnels offer: no authentication, or username and password
/// (RFC 1929) when <c>credentials</c> are given; the CONNECT command only, to an IPv4 address or a host name that the
/// proxy resolves (so a name only the proxy knows proves the connection went through it).
/// </summary>
public sealed class Socks5Proxy(Func<string, int, (string Host, int Port)> resolve, NetworkCredential? credentials = null)
    : ProxyDouble(resolve)
{
    private const byte Version = 5;
    private const byte NoAuthentication = 0;
    private const byte UsernamePassword = 2;
    private const byte NoAcceptableMethod = 0xFF;

    public override Uri Address => new($"socks5://127.0.0.1:{Port}");

    protected override async Task ServeAsync(NetworkStream client)
    {
        // Greeting: version, the methods the client offers.
        var greeting = await ReadAsync(client, 2);
        var methods = await ReadAsync(client, greeting[1]);
        var wanted = credentials is null ? NoAuthentication : UsernamePassword;
        if (greeting[0] != Version || !methods.Contains(wanted))
        {
            await client.WriteAsync(new[] { Version, NoAcceptableMethod }, Stopping);
            return;
        }

        await client.WriteAsync(new[] { Version, wanted }, Stopping);
        if (credentials is not null && !await AuthenticateAsync(client, credentials))
        {
            return;
        }

        // Request: version, command, reserved, address type, address, port.
        var request = await ReadAsync(client, 4);
        var host = request[3] switch
        {
            1 => new IPAddress(await ReadAsync(client, 4)).ToString(),
            3 => Encoding.ASCII.GetString(await ReadAsync(client, (await ReadAsync(client, 1))[0])),
            _ => null,
        };
        var port = BinaryPrimitives.ReadUInt16BigEndian(await ReadAsync(client, 2));
        if (request[1] != 1 || host is null)
        {
            await ReplyAsync(client, 7); // command or address type not supported
            return;
        }

        TcpClient upstream;
        try
        {
            upstream = await ConnectAsync(host, port);
        }
        catch (SocketException)
        {
            await ReplyAsync(client, 5); // connection refused
            return;
        }

        using (upstream)
        {
            await ReplyAsync(client, 0);
            await RelayAsync(client, upstream.GetStream());
        }
    }

    private async Task<bool> AuthenticateAsync(NetworkStream client, NetworkCredential expected)
    {
        var version = await ReadAsync(client, 2);
        var user = Encoding.UTF8.GetString(await ReadAsync(client, version[1]));
        var password = Encoding.UTF8.GetString(await ReadAsync(client, (await ReadAsync(client, 1))[0]));
        var accepted = user == expected.UserName && password == expected.Password;
        await client.WriteAsync(new byte[] { 1, accepted ? (byte)0 : (byte)1 }, Stopping);
        return accepted;
    }

    private Task ReplyAsync(NetworkStream client, byte status) =>
        client.WriteAsync(new byte[] { Version, status, 0, 1, 0, 0, 0, 0, 0, 0 }, Stopping).AsTask();

    private async Task<byte[]> ReadAsync(NetworkStream stream, int count)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, Stopping);
        return buffer;
    }
}
