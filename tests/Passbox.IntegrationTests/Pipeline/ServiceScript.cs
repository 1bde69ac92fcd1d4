using System.Globalization;
using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Pipeline;

/// <summary>
/// One instance of a <c>hack/services/*.sh</c> service in a temp directory: started with
/// <c>--watch-pid</c> of the test process (so a crashed run leaves nothing behind), stopped and
/// removed on dispose.
/// </summary>
public sealed class ServiceScript : IAsyncDisposable
{
    private readonly string script;
    private bool stopped;

    private ServiceScript(string script, string stateDir, IReadOnlyDictionary<string, string> env)
    {
        this.script = script;
        StateDir = stateDir;
        Env = env;
    }

    public string StateDir { get; }

    /// <summary>The service's <c>DIR/env</c> as read after the start.</summary>
    public IReadOnlyDictionary<string, string> Env { get; }

    /// <summary>Runs <c>hack/services/&lt;script&gt; start DIR args... --watch-pid &lt;this process&gt;</c>.</summary>
    public static async Task<ServiceScript> StartAsync(string script, params string[] arguments)
    {
        var stateDir = Directory.CreateTempSubdirectory($"passbox-it-{Path.GetFileNameWithoutExtension(script)}-").FullName;
        try
        {
            await RunAsync(script, ["start", stateDir, .. arguments, "--watch-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)]);
            return new ServiceScript(script, stateDir, ReadEnv(Path.Combine(stateDir, "env")));
        }
        catch
        {
            await RunAsync(script, ["stop", stateDir]);
            Directory.Delete(stateDir, recursive: true);
            throw;
        }
    }

    /// <summary>
    /// Uses the running instance whose <c>env</c> file the environment variable <paramref name="envFileVariable"/>
    /// names, or else starts one of its own. <c>Started</c> is null for a running instance: it is not ours to stop.
    /// </summary>
    public static async Task<(ServiceScript? Started, IReadOnlyDictionary<string, string> Env)> StartOrAttachAsync(
        string envFileVariable, string script, params string[] arguments)
    {
        var existing = Environment.GetEnvironmentVariable(envFileVariable);
        if (!string.IsNullOrEmpty(existing))
        {
            return (null, ReadEnv(existing));
        }

        var started = await StartAsync(script, arguments);
        return (started, started.Env);
    }

    /// <summary>Stops the service; the state directory stays until dispose.</summary>
    public async Task StopAsync()
    {
        if (!stopped)
        {
            stopped = true;
            await RunAsync(script, ["stop", StateDir]);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(StateDir, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp directory is harmless once the service is stopped.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Reads a <c>KEY=VALUE</c> file; values may be single-quoted shell words.</summary>
    public static Dictionary<string, string> ReadEnv(string path)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || line.StartsWith('#'))
            {
                continue;
            }

            var value = line[(eq + 1)..];
            if (value.Length >= 2 && value[0] == '\'' && value[^1] == '\'')
            {
                value = value[1..^1].Replace("'\\''", "'", StringComparison.Ordinal);
            }

            values[line[..eq]] = value;
        }

        return values;
    }

    private static Task RunAsync(string script, string[] arguments) =>
        BashScript.RunAsync(Path.Combine(RepositoryRoot(), "hack", "services", script), arguments, TimeSpan.FromMinutes(3),
            $"hack/services/{script}", "; are the test services installed (hack/deps.sh)?");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (Directory.Exists(Path.Combine(dir.FullName, "hack", "services")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"hack/services not found above {AppContext.BaseDirectory}.");
    }
}
