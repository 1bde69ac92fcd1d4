using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
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

    /// <summary>
    /// Samples taken while a thread ran managed code, by method: exclusive (the method on top of the stack) and
    /// inclusive (anywhere on the stack, counted once per sample). Threads waiting in native code are left out, so
    /// this is CPU in managed code; the garbage collector and TLS run natively and show as their managed callers.
    /// </summary>
    public static TraceProfile Analyse(string path)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(path);
        using var log = new TraceLog(etlx);
        var exclusive = new Dictionary<string, int>(StringComparer.Ordinal);
        var inclusive = new Dictionary<string, int>(StringComparer.Ordinal);
        var total = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in log.Events)
        {
            if (e.ProviderName != SampleProfiler || !IsManagedSample(e))
            {
                continue;
            }

            var stack = e.CallStack();
            if (stack is null)
            {
                continue;
            }

            total++;
            seen.Clear();
            var top = true;
            for (var frame = stack; frame is not null; frame = frame.Caller)
            {
                var method = frame.CodeAddress.FullMethodName;
                if (string.IsNullOrEmpty(method))
                {
                    method = $"?!{frame.CodeAddress.ModuleName}";
                }

                if (top)
                {
                    exclusive[method] = exclusive.GetValueOrDefault(method) + 1;
                    top = false;
                }

                if (seen.Add(method))
                {
                    inclusive[method] = inclusive.GetValueOrDefault(method) + 1;
                }
            }
        }

        return new TraceProfile(total, exclusive, inclusive);
    }

    /// <summary>The sample profiler's payload says whether the thread was in managed code (2) or outside it (1).</summary>
    private static bool IsManagedSample(TraceEvent e) =>
        e.EventDataLength < 4 || BitConverter.ToInt32(e.EventData(), 0) == 2;
}

public sealed record TraceProfile(int Samples, IReadOnlyDictionary<string, int> Exclusive, IReadOnlyDictionary<string, int> Inclusive);
