using System.Diagnostics;
using System.Text;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>The repository root and the command-line tools the packaging tests drive.</summary>
public static class ShippingTools
{
    private static readonly Lazy<string> Root = new(FindRepoRoot);

    /// <summary>The folder holding Passbox.slnx.</summary>
    public static string RepoRoot => Root.Value;

    /// <summary>Where hack/deps.sh puts kubectl and helm.</summary>
    public static string ToolBin
    {
        get
        {
            var cache = Environment.GetEnvironmentVariable("PASSBOX_CACHE");
            if (string.IsNullOrEmpty(cache))
            {
                cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "passbox");
            }

            return Path.Combine(cache, "bin");
        }
    }

    public static string Helm => FromToolBin("helm");

    public static string Kubectl => FromToolBin("kubectl");

    /// <summary>Debian's Lua 5.4 interpreter (package lua5.4).</summary>
    public static string Lua => FromPath("lua5.4");

    public static string PathInRepo(params string[] parts) => Path.Combine([RepoRoot, .. parts]);

    /// <summary>Runs a tool and returns its standard output; fails with the command, exit code and stderr otherwise.</summary>
    public static string Run(string tool, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null)
    {
        var result = TryRun(tool, args, stdin, workingDirectory);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{result.CommandLine} exited with {result.ExitCode}:\n{result.StandardError}\n{result.StandardOutput}");
        }

        return result.StandardOutput;
    }

    /// <summary>Runs a tool; <paramref name="environment"/> adds or overrides variables (HOME for git, say).</summary>
    public static ToolResult TryRun(
        string tool, IEnumerable<string> args, string? stdin = null, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromMinutes(2);
        var info = new ProcessStartInfo(tool)
        {
            WorkingDirectory = workingDirectory ?? RepoRoot,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Helm must not pick up a developer's repositories, plugins or kube context.
        info.Environment["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "passbox-helm", "cache");
        info.Environment["HELM_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "passbox-helm", "config");
        info.Environment["HELM_DATA_HOME"] = Path.Combine(Path.GetTempPath(), "passbox-helm", "data");
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var commandLine = $"{Path.GetFileName(tool)} {string.Join(' ', info.ArgumentList)}";
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {commandLine}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{commandLine} did not finish within {limit.TotalMinutes:0} minutes");
        }

        return new ToolResult(commandLine, process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }

    private static string FromToolBin(string name)
    {
        var path = Path.Combine(ToolBin, name);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException(
                $"{name} not found at {path}: run `make deps` (or `bash hack/deps.sh`) first.");
        }

        return path;
    }

    private static string FromPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(Path.PathSeparator))
        {
            var path = Path.Combine(dir, name);
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new InvalidOperationException($"{name} not found on PATH: run `make deps` (or `bash hack/deps.sh`) first.");
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Passbox.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Passbox.slnx above {AppContext.BaseDirectory}");
    }
}

public sealed record ToolResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError);
