using System.Net;
using System.Net.Sockets;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>Loopback ports the system hands out: free for a server to take, or closed for a client to be refused on.</summary>
public static class LoopbackPorts
{
    /// <summary>
    /// A port nothing listens on once this returns (the system just gave it out, so it is not reused at once): a server
    /// started next can take it, a client is refused there.
    /// </summary>
    public static int Unused()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
