using System.Diagnostics;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// The watchdog that keeps a test's own servers (Prometheus, the token-auth registry) from outliving a test process
/// that was killed: checked with a stand-in server (<c>sleep</c>) following a short-lived process.
/// </summary>
public sealed class WatchedProcessTests : IDisposable
{
    private readonly string log = Path.Combine(Path.GetTempPath(), $"passbox-watched-{Guid.NewGuid():N}.log");

    public void Dispose() => File.Delete(log);

    [Fact]
    public async Task The_server_stops_when_the_process_it_follows_is_gone()
    {
        using var followed = Process.Start("sleep", "1");
        using var server = WatchedProcess.Start(followed.Id, log, "sleep", "300");
        Running(server.ServerId).Should().BeTrue("the server runs while the process it follows does");

        await followed.WaitForExitAsync();

        (await StoppedWithinAsync(server, TimeSpan.FromSeconds(10))).Should().BeTrue("the watchdog stops the server once the test process is gone");
        Running(server.ServerId).Should().BeFalse();
    }

    [Fact]
    public async Task Disposing_stops_the_server_at_once()
    {
        var server = WatchedProcess.Start(log, "sleep", "300");
        Running(server.ServerId).Should().BeTrue();

        server.Dispose();

        (await StoppedWithinAsync(server, TimeSpan.Zero)).Should().BeTrue();
        Running(server.ServerId).Should().BeFalse();
    }

    private static bool Running(int pid) => Directory.Exists($"/proc/{pid}");

    private static async Task<bool> StoppedWithinAsync(WatchedProcess server, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (Running(server.ServerId) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
        }

        return !Running(server.ServerId);
    }
}
