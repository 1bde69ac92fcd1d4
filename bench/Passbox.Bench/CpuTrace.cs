using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;

namespace Passbox.Bench;

/// <summary>
/// A CPU sample trace of the operator over EventPipe (what dotnet-trace records, without needing the tool): the
/// runtime's sample profiler stops every managed thread about once a millisecond and records its stack.
/// </summary>
public sealed class CpuTrace
{
    private const string SampleProfiler = "Microsoft-DotNETCore-SampleProfiler";

    private readonly EventPipeSession session;
    private readonly FileStream file;
    private readonly Task copy;

    private CpuTrace(EventPipeSession session, FileStream file)
    {
        this.session = session;
        this.file = file;
        copy = session.EventStream.CopyToAsync(file);
    }

    public string Path => file.Name;

    public static CpuTrace Start(int pid, string path)
    {
        var client = new DiagnosticsClient(pid);
        EventPipeProvider[] providers =
        [
            new(SampleProfiler, EventLevel.Informational),

            // Loader and JIT events with rundown name the methods in the stacks.
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Informational, 0x8 | 0x10 | 0x10000 | 0x20000),
        ];
        var session = client.StartEventPipeSession(providers, requestRundown: true, circularBufferMB: 256);
        return new CpuTrace(session, File.Create(path));
    }

    public async Task StopAsync()
    {
        await session.StopAsync(CancellationToken.None);
        await copy;
        await file.DisposeAsync();
        session.Dispose();
    }

    /// <summary>Top frames of a thread that waits for work: the sample profiler records idle threads too.</summary>
    private static readonly string[] IdleFrames =
    [
        "System.Threading.LowLevelLifoSemaphore.", "System.Threading.LowLevelSpinWaiter.", "System.Threading.WaitHandle.",
        "System.Threading.ManualResetEventSlim.Wait", "System.Threading.Monitor.Wait", "System.Threading.Thread.Sleep",
        "System.Threading.PortableThreadPool+", "System.Threading.SpinWait.", "System.Threading.Tasks.Task.SpinWait",
        "System.Diagnostics.Tracing.NativeRuntimeEventSource.ThreadPoolWorkerThreadWait", "?!",

        // Blocking reads of the config file watcher and the console logger's wait for messages.
        "Interop+Sys.Read(", "Microsoft.Extensions.Logging.Console.ConsoleLoggerProcessor.TryDequeue", "Interop+Sys.WaitForSocketEvents",
    ];

    /// <summary>Where a busy sample's time is charged: the frame nearest the top that matches one of these.</summary>
    private static readonly (string Prefix, string Area)[] Areas =
    [
        ("Microsoft.Extensions.Logging", "logging"),
        ("Prometheus", "metrics endpoint"),
        ("MySqlConnector", "database login (MySqlConnector)"),
        ("System.Net.Security", "TLS to the API server"),
        ("System.Text.Json", "JSON (de)serialisation"),
        ("k8s.", "KubernetesClient"),
        ("System.Net.Http", "HTTP client"),
        ("System.Net.Sockets", "sockets"),
        ("Passbox.Operator.Runtime.Watching", "informers (watch, cache)"),
        ("Passbox.Operator.Usage", "usage index"),
        ("Passbox.Operator", "operator code"),
        ("Microsoft.AspNetCore", "HTTP server (health, metrics)"),
    ];

    /// <summary>
    /// Busy samples (a thread running managed code, not parked waiting for work) by method: exclusive (the method on
    /// top of the stack) and inclusive (anywhere on it, once per sample), and by area. A thread stopped for a garbage
    /// collection is counted apart; native time (TLS, the collector itself) shows under its managed caller.
    /// </summary>
    public static TraceProfile Analyse(string path)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var exclusive = new Dictionary<string, int>(StringComparer.Ordinal);
        var inclusive = new Dictionary<string, int>(StringComparer.Ordinal);
        var areas = new Dictionary<string, int>(StringComparer.Ordinal);
        int busy = 0, idle = 0, gc = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in log.Events)
        {
            if (e.ProviderName != SampleProfiler || e.CallStack() is not { } stack)
            {
                continue;
            }

            var top = Name(stack);
            if (IdleFrames.Any(f => top.StartsWith(f, StringComparison.Ordinal)))
            {
                idle++;
                continue;
            }

            if (top.Contains("PollGC", StringComparison.Ordinal))
            {
                gc++;
                continue;
            }

            busy++;
            exclusive[top] = exclusive.GetValueOrDefault(top) + 1;
            seen.Clear();
            string? area = null;
            for (var frame = stack; frame is not null; frame = frame.Caller)
            {
                var method = Name(frame);
                area ??= Areas.FirstOrDefault(a => method.StartsWith(a.Prefix, StringComparison.Ordinal)).Area;
                if (seen.Add(method))
                {
                    inclusive[method] = inclusive.GetValueOrDefault(method) + 1;
                }
            }

            area ??= "other (runtime, async plumbing)";
            areas[area] = areas.GetValueOrDefault(area) + 1;
        }

        return new TraceProfile(busy, idle, gc, exclusive, inclusive, areas);
    }

    private static string Name(TraceCallStack frame) =>
        frame.CodeAddress.FullMethodName is { Length: > 0 } name ? name : $"?!{frame.CodeAddress.ModuleName}";
}

public sealed record TraceProfile(int Samples, int IdleSamples, int GcWaitSamples, IReadOnlyDictionary<string, int> Exclusive, IReadOnlyDictionary<string, int> Inclusive, IReadOnlyDictionary<string, int> Areas);
