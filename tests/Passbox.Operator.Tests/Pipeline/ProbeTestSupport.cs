using System.Net;
using System.Net.Sockets;
using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.Operator.Tests.Pipeline;

internal static class ProbeTestSupport
{
    public const string Password = "pa55-w0rd-never-printed";

    public static PipelineProbeRequest Request(string server, string? username = "ci-bot", string? secret = Password, double timeoutSeconds = 5) =>
        new(server, username, secret, null, null, TimeSpan.FromSeconds(timeoutSeconds));

    /// <summary>A loopback port with nothing listening on it.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static string Basic(string user, string password) =>
        "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{user}:{password}"));
}

/// <summary>Accepts connections and never answers: for timeouts.</summary>
internal sealed class SilentServer : IDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);

    public SilentServer() => listener.Start();

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public void Dispose() => listener.Stop();
}
