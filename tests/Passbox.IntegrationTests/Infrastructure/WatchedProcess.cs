using System.Diagnostics;
using System.Globalization;

namespace Passbox.IntegrationTests.Infrastructure;

/// <summary>
/// A server the tests start themselves, run under a small bash watchdog that stops it when this test process goes
/// (killed or crashed before it could dispose anything) or when disposed (its stdin closed): no server outlives the run.
/// The scripts' servers (control plane, MariaDB, git, registry) have watchdogs of their own (<c>--watch-pid</c>).
/// </summary>
public sealed class WatchedProcess : IDisposable
{
    private const string Watchdog = """
        log=$1 watched=$2
        shift 2
        "$@" </dev/null >"$log" 2>&1 &
        server=$!
        echo "$server"
        trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; exit 0' TERM INT
        while kill -0 "$watched" 2>/dev/null && kill -0 "$server" 2>/dev/null; do
          read -r -t 0.5 _ && continue
          [[ $? -gt 128 ]] || break
        done
        kill "$server" 2>/dev/null
        wait "$server" 2>/dev/null
        """;

    private readonly Process watchdog;

    private WatchedProcess(Process watchdog, int serverId, string logFile)
    {
        this.watchdog = watchdog;
        ServerId = serverId;
        LogFile = logFile;
    }

    /// <summary>The server's own process id (not the watchdog's).</summary>
    public int ServerId { get; }

    /// <summary>Where the server's standard output and error go.</summary>
    public string LogFile { get; }

    /// <summary>True once the server has ended: the watchdog waits for it and then ends too.</summary>
    public bool HasExited => watchdog.HasExited;

    /// <summary>Starts <paramref name="program"/> with <paramref name="arguments"/>, stopped when this test process goes.</summary>
    public static WatchedProcess Start(string logFile, string program, params string[] arguments) =>
        Start(Environment.ProcessId, logFile, program, arguments);

    /// <summary>As <see cref="Start(string, string, string[])"/>, following the process <paramref name="watchedId"/> instead.</summary>
    public static WatchedProcess Start(int watchedId, string logFile, string program, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-c", Watchdog, "server-watchdog", logFile, watchedId.ToString(CultureInfo.InvariantCulture), program }.Concat(arguments))
        {
            start.ArgumentList.Add(argument);
        }

        var watchdog = Process.Start(start) ?? throw new InvalidOperationException("Cannot start bash.");
        var firstLine = watchdog.StandardOutput.ReadLine();
        if (!int.TryParse(firstLine, CultureInfo.InvariantCulture, out var serverId))
        {
            watchdog.Kill(entireProcessTree: true);
            watchdog.Dispose();
            throw new InvalidOperationException($"The watchdog of {program} did not report its server's pid (said '{firstLine}').");
        }

        return new WatchedProcess(watchdog, serverId, logFile);
    }

    /// <summary>What the server wrote so far (for the message of a failed start).</summary>
    public string Log() => File.Exists(LogFile) ? File.ReadAllText(LogFile) : string.Empty;

    public void Dispose()
    {
        if (!watchdog.HasExited)
        {
            // Closing stdin ends the watchdog's loop, which stops the server and waits for it.
            watchdog.StandardInput.Close();
            if (!watchdog.WaitForExit(TimeSpan.FromSeconds(10)))
            {
                watchdog.Kill(entireProcessTree: true);
                watchdog.WaitForExit();
            }
        }

        watchdog.Dispose();
    }
}
