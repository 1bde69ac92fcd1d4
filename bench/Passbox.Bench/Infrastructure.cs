using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using k8s;
using MySqlConnector;

namespace Passbox.Bench;

/// <summary>One monotonic clock for every timestamp the harness takes, in seconds since it started.</summary>
public static class Clock
{
    private static readonly Stopwatch Watch = Stopwatch.StartNew();

    public static double Now => Watch.Elapsed.TotalSeconds;
}

/// <summary>Runs the repository's scripts and small commands, failing loudly with their output.</summary>
public static class Shell
{
    public static async Task<string> RunAsync(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Paths.Repo };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {await stderr}{await stdout}");
        }

        return await stdout;
    }

    public static Dictionary<string, string> ReadEnv(string path) => File.ReadAllLines(path)
        .Select(line => line.Trim())
        .Where(line => line.Contains('=', StringComparison.Ordinal) && !line.StartsWith('#'))
        .Select(line => line.StartsWith("export ", StringComparison.Ordinal) ? line[7..] : line)
        .Select(line => (Key: line[..line.IndexOf('=', StringComparison.Ordinal)], Value: line[(line.IndexOf('=', StringComparison.Ordinal) + 1)..].Trim('"', '\'')))
        .ToDictionary(p => p.Key, p => p.Value);

    public static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public static class Paths
{
    public static string Repo { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>Where make bench publishes the operator, as the Dockerfile does (dotnet publish -c Release).</summary>
    public static string PublishedOperator => Path.Combine(Repo, ".cache", "bench", "operator");

    public static string Kubectl => Path.Combine(Environment.GetEnvironmentVariable("PASSBOX_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "passbox"), "bin", "kubectl");
}

/// <summary>A fresh local control plane (etcd wiped) with the CRDs applied.</summary>
public sealed class ControlPlane
{
    private ControlPlane(string dir, Kubernetes admin)
    {
        Dir = dir;
        Admin = admin;
        Api = new Passbox.Operator.Runtime.Api.KubernetesApiClient(admin);
    }

    public string Dir { get; }

    public Kubernetes Admin { get; }

    public Passbox.Operator.Runtime.Api.KubernetesApiClient Api { get; }

    public int ApiServerPid => int.Parse(Shell.ReadEnv(Path.Combine(Dir, "env"))["APISERVER_PID"], CultureInfo.InvariantCulture);

    public int EtcdPid => int.Parse(Shell.ReadEnv(Path.Combine(Dir, "env"))["ETCD_PID"], CultureInfo.InvariantCulture);

    public string AuditLog => Path.Combine(Dir, "audit.log");

    public string OperatorKubeconfig => Path.Combine(Dir, "operator.kubeconfig");

    public static async Task<ControlPlane> StartAsync(string dir)
    {
        Directory.CreateDirectory(dir);
        await Shell.RunAsync("bash", "hack/controlplane.sh", "stop", dir);
        await Shell.RunAsync("bash", "hack/controlplane.sh", "start", dir, "--watch-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var kubeconfig = Path.Combine(dir, "kubeconfig");
        await Shell.RunAsync(Paths.Kubectl, "--kubeconfig", kubeconfig, "apply", "--server-side", "-f", "crds/");
        await Shell.RunAsync(Paths.Kubectl, "--kubeconfig", kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
            "crd/clustercredentials.passbox.dev", "crd/pipelinecredentials.passbox.dev");
        var config = KubernetesClientConfiguration.BuildConfigFromConfigFile(kubeconfig);
        return new ControlPlane(dir, new Kubernetes(config));
    }

    /// <summary>
    /// Installs config/admission's MutatingAdmissionPolicy (what the chart installs on Kubernetes 1.36+) and waits until
    /// a dry-run create comes back with the finalizer: the policy reaches admission through an informer, and a kind the
    /// API server has not yet read the schema of is answered 503 for a few seconds.
    /// </summary>
    public async Task InstallFinalizerPolicyAsync(JsonObject probeCredential)
    {
        var kubeconfig = Path.Combine(Dir, "kubeconfig");
        // Admission looks the namespace up (for the binding's namespace selector); this control plane does not insist
        // on namespaces existing otherwise, a real one does.
        await Shell.RunAsync(Paths.Kubectl, "--kubeconfig", kubeconfig, "create", "namespace", (string)probeCredential["metadata"]!["namespace"]!);
        await Shell.RunAsync(Paths.Kubectl, "--kubeconfig", kubeconfig, "apply", "-f", "config/admission/finalizer-policy.yaml");
        var probe = Path.Combine(Dir, "finalizer-probe.json");
        await File.WriteAllTextAsync(probe, probeCredential.ToJsonString());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var finalizers = await Shell.RunAsync(Paths.Kubectl, "--kubeconfig", kubeconfig, "create", "--dry-run=server",
                    "-o", "jsonpath={.metadata.finalizers}", "-f", probe);
                if (finalizers.Contains(Passbox.Operator.Api.V1Alpha1.ApiGroup.InUseFinalizer, StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                // 503 while the API server reads the CRD's schema.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the finalizer policy did not take effect within 60 s");
            }

            await Task.Delay(500);
        }
    }

    public Task StopAsync() => Shell.RunAsync("bash", "hack/controlplane.sh", "stop", Dir);
}

/// <summary>The private MariaDB server and its login counter.</summary>
public sealed class MariaDb : IAsyncDisposable
{
    private readonly MySqlConnection root;

    private MariaDb(string dir, string host, int port, MySqlConnection root)
    {
        Dir = dir;
        Host = host;
        Port = port;
        this.root = root;
    }

    public string Dir { get; }

    public string Host { get; }

    public int Port { get; }

    public int Pid => int.Parse(Shell.ReadEnv(Path.Combine(Dir, "env"))["MARIADB_PID"], CultureInfo.InvariantCulture);

    public static async Task<MariaDb> StartAsync(string dir)
    {
        Directory.CreateDirectory(dir);
        await Shell.RunAsync("bash", "hack/services/mariadb.sh", "start", dir, "--watch-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var env = Shell.ReadEnv(Path.Combine(dir, "env"));
        var host = env["MARIADB_HOST"];
        var port = int.Parse(env["MARIADB_PORT"], CultureInfo.InvariantCulture);
        var builder = new MySqlConnectionStringBuilder
        {
            Server = host,
            Port = (uint)port,
            UserID = env["MARIADB_ROOT_USER"],
            Password = env["MARIADB_ROOT_PASSWORD"],
            Pooling = false,
            SslMode = MySqlSslMode.None,
            AllowPublicKeyRetrieval = true,
        };

        // One connection kept open for the whole run, so reading the counter does not move it.
        var root = new MySqlConnection(builder.ConnectionString);
        await root.OpenAsync();
        var db = new MariaDb(dir, host, port, root);
        await db.ExecuteAsync("SET GLOBAL max_connections = 1000");
        return db;
    }

    public async Task CreateUserAsync(string user, string password)
    {
        await ExecuteAsync($"DROP USER IF EXISTS '{user}'@'%'");
        await ExecuteAsync($"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'");
    }

    /// <summary>Connections (successful or not) since the server started: every login attempt counts once.</summary>
    public async Task<long> ConnectionsAsync()
    {
        await using var command = root.CreateCommand();
        command.CommandText = "SHOW GLOBAL STATUS LIKE 'Connections'";
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return long.Parse(reader.GetString(1), CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await root.DisposeAsync();
        await Shell.RunAsync("bash", "hack/services/mariadb.sh", "stop", Dir);
    }

    private async Task ExecuteAsync(string sql)
    {
        await using var command = root.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>The operator as its own process, so its memory is its own; with its metrics endpoint.</summary>
public sealed class OperatorProcess : IDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Process process;

    private OperatorProcess(Process process, int port, double startedAt)
    {
        this.process = process;
        Port = port;
        StartedAt = startedAt;
    }

    public int Port { get; }

    /// <summary>Clock time just before the process was started.</summary>
    public double StartedAt { get; }

    public int Pid => process.Id;

    public static OperatorProcess Start(ControlPlane cp, string logFile, int workers)
    {
        var port = Shell.FreePort();

        // make bench-aot measures the native AOT binary instead of the published dll the image runs.
        var native = Environment.GetEnvironmentVariable("BENCH_NATIVE_OPERATOR");
        var dll = Path.Combine(Paths.PublishedOperator, "passbox-operator.dll");
        var program = string.IsNullOrEmpty(native) ? dll : native;
        if (!File.Exists(program))
        {
            throw new FileNotFoundException($"publish the operator first (make bench / make bench-aot does): {program}");
        }

        var info = new ProcessStartInfo(string.IsNullOrEmpty(native) ? "dotnet" : native)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(program)!,
        };

        // As the container image runs it: the GC settings come from the published runtimeconfig.json (compiled into
        // the native binary).
        if (string.IsNullOrEmpty(native))
        {
            info.ArgumentList.Add(dll);
        }

        // Experiments with runtime settings (BENCH_OPERATOR_ENV="NAME=value NAME=value") reach the operator only, not
        // the harness that runs the floor's client.
        foreach (var setting in (Environment.GetEnvironmentVariable("BENCH_OPERATOR_ENV") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = setting.Split('=', 2) is [var n, var v] ? (n, v) : throw new ArgumentException($"BENCH_OPERATOR_ENV: expected NAME=value, got {setting}");
            info.Environment[name] = value;
        }

        info.ArgumentList.Add($"--kubeconfig={cp.OperatorKubeconfig}");
        info.ArgumentList.Add("--leader-elect=false");
        info.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        info.ArgumentList.Add($"--workers={workers}");
        var startedAt = Clock.Now;
        var process = Process.Start(info) ?? throw new InvalidOperationException("cannot start the operator");
        var log = new StreamWriter(logFile, append: true) { AutoFlush = true };
        var gate = new object();
        void Write(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (gate)
            {
                log.WriteLine(line);
            }
        }

        process.OutputDataReceived += (_, e) => Write(e.Data);
        process.ErrorDataReceived += (_, e) => Write(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        process.Exited += (_, _) => log.Dispose();
        process.EnableRaisingEvents = true;
        return new OperatorProcess(process, port, startedAt);
    }

    public async Task WaitHealthyAsync()
    {
        var deadline = Clock.Now + 120;
        while (Clock.Now < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the operator exited with {process.ExitCode}");
            }

            try
            {
                using var response = await Http.GetAsync(new Uri($"http://127.0.0.1:{Port}/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the operator did not become healthy within 120 s");
    }

    public async Task<Metrics> ScrapeAsync()
    {
        var text = await Http.GetStringAsync(new Uri($"http://127.0.0.1:{Port}/metrics"));
        return new Metrics(text);
    }

    /// <summary>Resident set size in bytes, from /proc.</summary>
    public long Rss()
    {
        foreach (var line in File.ReadLines($"/proc/{process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>
    /// Voluntary and involuntary context switches of the process's threads so far (/proc/PID/task/*/status), by thread
    /// name (threads of one name summed; "(ended)" not included): a thread woken to do a little work and park again costs
    /// a switch each time, whatever the machine's load.
    /// </summary>
    public Dictionary<string, (long Voluntary, long Involuntary)> ContextSwitches() => Threads.ContextSwitches(process.Id);

    /// <summary>SIGTERM, then wait for a clean exit (the operator drains its workers).</summary>
    public async Task StopAsync()
    {
        if (!process.HasExited)
        {
            await Shell.RunAsync("kill", "-TERM", process.Id.ToString(CultureInfo.InvariantCulture));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
    }
}

/// <summary>Context switches of a process's live threads, by thread name, from /proc.</summary>
public static class Threads
{
    public static Dictionary<string, (long Voluntary, long Involuntary)> ContextSwitches(int pid)
    {
        var byName = new Dictionary<string, (long Voluntary, long Involuntary)>();
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                string name = "?";
                long voluntary = 0, involuntary = 0;
                foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                {
                    if (line.StartsWith("Name:", StringComparison.Ordinal))
                    {
                        name = line[5..].Trim();
                    }
                    else if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        voluntary = long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                    else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                    {
                        involuntary = long.Parse(line.Split(':')[1].Trim(), CultureInfo.InvariantCulture);
                    }
                }

                var sum = byName.GetValueOrDefault(name);
                byName[name] = (sum.Voluntary + voluntary, sum.Involuntary + involuntary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The thread ended between the listing and the read.
            }
        }

        return byName;
    }
}

/// <summary>A Prometheus text exposition.</summary>
public sealed class Metrics(string text)
{
    /// <summary>Every sample of the counters whose names start with <paramref name="prefix"/>, by name and labels.</summary>
    public Dictionary<string, double> Samples(string prefix)
    {
        var samples = new Dictionary<string, double>();
        foreach (var line in text.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.StartsWith('#') || !line.StartsWith(prefix, StringComparison.Ordinal) || space <= 0)
            {
                continue;
            }

            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                samples[line[..space]] = value;
            }
        }

        return samples;
    }

    /// <summary>Sum of every sample of <paramref name="name"/> whose labels contain <paramref name="labelFilter"/>.</summary>
    public double Sum(string name, string labelFilter = "")
    {
        var total = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || !line.StartsWith(name, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line[name.Length..];
            if (rest.Length == 0 || (rest[0] != ' ' && rest[0] != '{') || !rest.Contains(labelFilter, StringComparison.Ordinal))
            {
                continue;
            }

            var value = rest[(rest.LastIndexOf(' ') + 1)..];
            total += double.Parse(value, CultureInfo.InvariantCulture);
        }

        return total;
    }
}

/// <summary>CPU time of a process from /proc: where the machine's two cores went during a window.</summary>
public static class Cpu
{
    /// <summary>Clock ticks per second for /proc/PID/stat; 100 on every Linux this runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>User plus system CPU seconds used so far by <paramref name="pid"/>, 0 when it is gone.</summary>
    public static double Seconds(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");

            // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public static double Self() => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
}
