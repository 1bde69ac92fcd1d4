using System.Net;
using System.Net.Sockets;

namespace Passbox.Operator.Tests.Pipeline;

/// <summary>
/// A TCP port on loopback that hands each connection to <c>serve</c> on its own task until disposed: what the tests'
/// servers on raw sockets share, so that each of them only says how it answers.
/// </summary>
public sealed class LoopbackListener : IAsyncDisposable
{
    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Func<TcpClient, CancellationToken, Task> serve;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public LoopbackListener(Func<TcpClient, CancellationToken, Task> serve)
    {
        this.serve = serve;
        listener.Start();
        loop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        try
        {
            await loop;
        }
        catch (OperationCanceledException)
        {
        }

        stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }

            var token = stop.Token;
            _ = Task.Run(() => serve(client, token));
        }
    }
}
