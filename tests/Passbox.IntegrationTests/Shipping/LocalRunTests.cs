using System.Diagnostics;
using System.Globalization;
using System.Text;
using Passbox.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// The README's first command, <c>make run</c> (<c>hack/run.sh</c>) without a kubeconfig: a local control plane and the
/// operator, both gone when it is stopped. Stopped by Ctrl-C (SIGINT to the whole process group, as a terminal sends
/// it) or by a SIGTERM to the script alone (make forwards SIGTERM to its recipe; <c>kill</c> from another shell), the
/// operator must shut down before the control plane goes, and nothing may be left running on the machine.
/// </summary>
public sealed class LocalRunTests(ITestOutputHelper output)
{
    private const string OperatorStarted = "Controller pipelinecredential started";

    [SkippableFact]
    public void A_SIGTERM_to_make_run_stops_the_operator_before_the_control_plane_and_leaves_nothing_running()
    {
        using var run = LocalRun.Start(output, ownProcessGroup: false);
        run.WaitFor(OperatorStarted);

        ShippingTools.Run("kill", ["-TERM", run.ScriptId.ToString(CultureInfo.InvariantCulture)]);

        run.AssertEverythingStopped();
    }

    [SkippableFact]
    public void Ctrl_C_on_make_run_stops_the_operator_before_the_control_plane_and_leaves_nothing_running()
    {
        using var run = LocalRun.Start(output, ownProcessGroup: true);
        run.WaitFor(OperatorStarted);

        // What a terminal does on Ctrl-C: SIGINT to every process of the foreground process group.
        ShippingTools.Run("kill", ["-INT", "--", "-" + run.ScriptId.ToString(CultureInfo.InvariantCulture)]);

        run.AssertEverythingStopped();
    }

    /// <summary>One <c>hack/run.sh</c> on a local control plane of its own, in a temporary state directory.</summary>
    private sealed class LocalRun : IDisposable
    {
        private readonly ITestOutputHelper output;
        private readonly Process script;
        private readonly string state;
        private readonly StringBuilder log = new();
        private readonly List<int> started = [];

        private LocalRun(ITestOutputHelper output, Process script, string state)
        {
            this.output = output;
            this.script = script;
            this.state = state;
        }

        public int ScriptId => script.Id;

        public static LocalRun Start(ITestOutputHelper output, bool ownProcessGroup)
        {
            Skip.If(
                !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(ControlPlaneFixture.ExistingClusterVariable)),
                $"{ControlPlaneFixture.ExistingClusterVariable} is set: make run is tested on the local control plane");

            var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
            var state = Directory.CreateTempSubdirectory("passbox-run-").FullName;
            // setsid runs the script as the leader of a process group of its own (it execs in place: same pid), so
            // a signal to that group reaches the script and what it started, as Ctrl-C in a terminal does.
            var info = new ProcessStartInfo(ownProcessGroup ? "setsid" : "bash")
            {
                WorkingDirectory = ShippingTools.RepoRoot,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in (ownProcessGroup ? ["bash"] : Array.Empty<string>()).Concat([ShippingTools.PathInRepo("hack", "run.sh"), configuration]))
            {
                info.ArgumentList.Add(argument);
            }

            info.Environment["PASSBOX_LOCAL"] = "1";
            info.Environment["PASSBOX_RUN_DIR"] = state;
            // A free loopback port instead of 8080, which another operator on this machine may hold.
            info.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
            info.Environment.Remove("KUBECONFIG");

            var script = Process.Start(info) ?? throw new InvalidOperationException("cannot start hack/run.sh");
            var run = new LocalRun(output, script, state);
            script.OutputDataReceived += (_, e) => run.Append(e.Data);
            script.ErrorDataReceived += (_, e) => run.Append(e.Data);
            script.BeginOutputReadLine();
            script.BeginErrorReadLine();
            return run;
        }

        public void WaitFor(string text)
        {
            var deadline = DateTime.UtcNow.AddMinutes(3);
            while (!Log().Contains(text, StringComparison.Ordinal))
            {
                if (script.HasExited || DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"hack/run.sh never said '{text}':\n{Tail()}");
                }

                Thread.Sleep(200);
            }

            // Everything run.sh started, found before it is signalled: after that, the tree is gone or orphaned.
            started.AddRange(Descendants(script.Id).Where(id => CommandLine(id).Contains("passbox-operator.dll", StringComparison.Ordinal)));
            started.AddRange(new[] { "etcd.pid", "apiserver.pid" }.Select(file => int.Parse(File.ReadAllText(Path.Combine(state, file)).Trim(), CultureInfo.InvariantCulture)));
            started.Should().HaveCount(3, "the operator, etcd and the API server run (output:\n{0})", Tail());
        }

        public void AssertEverythingStopped()
        {
            script.WaitForExit(TimeSpan.FromSeconds(60)).Should().BeTrue("hack/run.sh ends once it is signalled");
            var deadline = DateTime.UtcNow.AddSeconds(15);
            while (started.Any(IsRunning) && DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }

            output.WriteLine(Tail());
            started.Where(IsRunning).Select(CommandLine).Should().BeEmpty("make run leaves nothing running when it is stopped");
            var shutdown = Log().IndexOf("Application is shutting down", StringComparison.Ordinal);
            shutdown.Should().BeGreaterThan(0, "the operator is stopped by a signal it handles, not killed");
            Log()[shutdown..].Should().NotContain(
                "Connection refused", "the control plane is stopped only after the operator, whose watches would fail otherwise");
        }

        public void Dispose()
        {
            foreach (var id in started.Where(IsRunning))
            {
                try
                {
                    using var left = Process.GetProcessById(id);
                    left.Kill();
                }
                catch (ArgumentException)
                {
                    // Gone in the meantime.
                }
            }

            if (!script.HasExited)
            {
                script.Kill(entireProcessTree: true);
            }

            ShippingTools.TryRun("bash", [ShippingTools.PathInRepo("hack", "controlplane.sh"), "stop", state]);
            script.Dispose();
            Directory.Delete(state, recursive: true);
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (log)
                {
                    log.AppendLine(line);
                }
            }
        }

        private string Log()
        {
            lock (log)
            {
                return log.ToString();
            }
        }

        private string Tail() => string.Join('\n', Log().Split('\n').TakeLast(40));

        /// <summary>Running, and not a zombie that init has not reaped yet.</summary>
        private static bool IsRunning(int id)
        {
            var stat = $"/proc/{id}/stat";
            string text;
            try
            {
                text = File.ReadAllText(stat);
            }
            catch (IOException)
            {
                return false;
            }

            // pid (comm) state ...: the state follows the last ')'.
            return text[(text.LastIndexOf(')') + 2)..][0] != 'Z';
        }

        private static HashSet<int> Descendants(int root)
        {
            var parents = new Dictionary<int, int>();
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (int.TryParse(Path.GetFileName(dir), CultureInfo.InvariantCulture, out var id))
                {
                    try
                    {
                        var text = File.ReadAllText(Path.Combine(dir, "stat"));
                        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
                        parents[id] = int.Parse(fields[1], CultureInfo.InvariantCulture);
                    }
                    catch (IOException)
                    {
                        // Ended while listed.
                    }
                }
            }

            var found = new HashSet<int> { root };
            bool grew;
            do
            {
                grew = false;
                foreach (var (id, parent) in parents)
                {
                    if (found.Contains(parent) && found.Add(id))
                    {
                        grew = true;
                    }
                }
            }
            while (grew);

            found.Remove(root);
            return found;
        }

        private static string CommandLine(int id)
        {
            try
            {
                return File.ReadAllText($"/proc/{id}/cmdline").Replace('\0', ' ');
            }
            catch (IOException)
            {
                return string.Empty;
            }
        }
    }
}
