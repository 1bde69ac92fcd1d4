using System.Net;
using System.Net.Sockets;
using System.Text;
using k8s;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Tests.Runtime;

public sealed class DeadPeerDetectionTests
{
    [Fact]
    public async Task A_connection_to_the_API_server_probes_its_peer_after_half_a_minute_of_silence_and_gives_up_after_three_unanswered_probes()
    {
        // A watch of objects that rarely change is silent for minutes; only the kernel's probes tell a dead peer from a quiet one.
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var accepted = listener.AcceptSocketAsync();

        await using var stream = await DeadPeerDetection.ConnectAsync(new DnsEndPoint("127.0.0.1", ((IPEndPoint)listener.LocalEndpoint).Port), CancellationToken.None);
        using var peer = await accepted;

        var socket = stream.Should().BeOfType<NetworkStream>().Subject.Socket;
        socket.Connected.Should().BeTrue();
        ((int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive)!).Should().NotBe(0);
        socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime).Should().Be(30);
        socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval).Should().Be(10);
        socket.GetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount).Should().Be(3);
    }

    [Fact]
    public async Task The_operators_API_client_opens_its_connections_with_probes_and_still_talks_to_the_server()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        HttpMessageHandler? first = null;
        var configuration = new KubernetesClientConfiguration { Host = $"http://127.0.0.1:{port}", FirstMessageHandlerSetup = handler => first = handler };

        using var client = BufferedResponses.Client(configuration);

        first.Should().NotBeNull("a setup given with the configuration still runs");
        first.Should().BeOfType<SocketsHttpHandler>().Which.ConnectCallback.Should().NotBeNull();

        // One request end to end through that connect: the answer comes back as from any API server.
        var serving = ServeOneAsync(listener, """{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"team-a"}}""");
        var ns = await client.CoreV1.ReadNamespaceAsync("team-a");
        await serving;
        ns.Metadata.Name.Should().Be("team-a");
    }

    private static async Task ServeOneAsync(TcpListener listener, string json)
    {
        using var peer = await listener.AcceptTcpClientAsync();
        var stream = peer.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
        while (await reader.ReadLineAsync() is { Length: > 0 })
        {
            // Request line and headers; a GET has no body.
        }

        var body = Encoding.UTF8.GetBytes(json);
        var head = Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(head);
        await stream.WriteAsync(body);
        await stream.FlushAsync();
    }
}
