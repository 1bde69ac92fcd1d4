using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A TLS passthrough router as they stand in front of API servers (ingress ssl-passthrough, HAProxy or a bastion routing
/// by SNI): it reads the server name (SNI) of the client's TLS hello without terminating TLS, and connects the client
/// to the backend routed for that name. A hello without a routed name is hung up on, as a router without a default
/// backend does.
/// </summary>
public sealed class SniRouter : ProxyDouble
{
    private readonly IReadOnlyDictionary<string, (string Host, int Port)> routes;

    /// <param name="routes">Where a connection goes for each server name.</param>
    public SniRouter(IReadOnlyDictionary<string, (string Host, int Port)> routes)
        : base((name, _) => routes[name])
    {
        this.routes = routes;
    }

    /// <summary>The router's address as a server URL: <c>https://127.0.0.1:&lt;port&gt;</c>.</summary>
    public override Uri Address => new($"https://127.0.0.1:{Port}");

    /// <summary>The server names clients sent, in order; an empty string for a hello without one.</summary>
    public ConcurrentQueue<string> ServerNames { get; } = new();

    protected override async Task ServeAsync(NetworkStream client)
    {
        // One TLS record: content type 22 (handshake), version, length; the ClientHello fits in it.
        var header = new byte[5];
        await client.ReadExactlyAsync(header, Stopping);
        if (header[0] != 22)
        {
            return;
        }

        var record = new byte[BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3))];
        await client.ReadExactlyAsync(record, Stopping);
        var name = ServerName(record) ?? string.Empty;
        ServerNames.Enqueue(name);
        if (!routes.ContainsKey(name))
        {
            return;
        }

        using var upstream = await ConnectAsync(name, 443);
        var remote = upstream.GetStream();
        await remote.WriteAsync(header, Stopping);
        await remote.WriteAsync(record, Stopping);
        await RelayAsync(client, remote);
    }

    /// <summary>The host name of the server_name extension of a ClientHello (RFC 8446 §4.1.2, RFC 6066 §3), or null.</summary>
    private static string? ServerName(ReadOnlySpan<byte> hello)
    {
        if (hello.Length < 4 || hello[0] != 1)
        {
            return null;
        }

        // Handshake header (4), client version (2), random (32), then session id, cipher suites and compression methods.
        var at = 4 + 2 + 32;
        at += 1 + hello[at];
        at += 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[at..]);
        at += 1 + hello[at];
        var end = at + 2 + BinaryPrimitives.ReadUInt16BigEndian(hello[at..]);
        at += 2;
        while (at + 4 <= end)
        {
            var type = BinaryPrimitives.ReadUInt16BigEndian(hello[at..]);
            var length = BinaryPrimitives.ReadUInt16BigEndian(hello[(at + 2)..]);
            var data = hello.Slice(at + 4, length);
            if (type == 0 && data.Length >= 5 && data[2] == 0)
            {
                // server_name_list length (2), name type 0 = host_name (1), name length (2), name.
                return Encoding.ASCII.GetString(data.Slice(5, BinaryPrimitives.ReadUInt16BigEndian(data[3..])));
            }

            at += 4 + length;
        }

        return null;
    }
}
