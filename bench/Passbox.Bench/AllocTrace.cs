using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Passbox.Bench;

/// <summary>
/// Where the operator's managed allocations come from while it converges (<c>--alloc-trace</c>): the runtime's
/// allocation ticks over EventPipe, one about every 100 KB allocated, each with the type and the stack of the allocation
/// that crossed the mark. Summed by type, by the nearest Passbox method on the stack, and by stack, they show which code
/// allocates how much per credential. The session itself costs the operator CPU and wake-ups: counts from such a run
/// are not comparable with others, allocations are.
/// </summary>
public sealed class AllocTrace
{
    private const string Runtime = "Microsoft-Windows-DotNETRuntime";

    private readonly EventPipeSession session;
    private readonly FileStream file;
    private readonly Task copy;

    private AllocTrace(EventPipeSession session, FileStream file)
    {
        this.session = session;
        this.file = file;
        copy = session.EventStream.CopyToAsync(file);
    }

    public string Path => file.Name;

    public static AllocTrace Start(int pid, string path)
    {
        // GC events at Verbose carry the allocation ticks; loader and JIT events with rundown name the methods.
        EventPipeProvider[] providers = [new(Runtime, EventLevel.Verbose, 0x1 | 0x8 | 0x10 | 0x10000 | 0x20000)];
        var session = new DiagnosticsClient(pid).StartEventPipeSession(providers, requestRundown: true, circularBufferMB: 256);
        return new AllocTrace(session, File.Create(path));
    }

    public async Task StopAsync()
    {
        await session.StopAsync(CancellationToken.None);
        await copy;
        await file.DisposeAsync();
        session.Dispose();
    }

    /// <summary>Writes the sums, in KB per credential, to <paramref name="report"/>.</summary>
    public void Analyse(int credentials, string report)
    {
        var etlx = TraceLog.CreateFromEventPipeDataFile(Path);
        using var log = new TraceLog(etlx);
        var byType = new Dictionary<string, long>(StringComparer.Ordinal);
        var byMethod = new Dictionary<string, long>(StringComparer.Ordinal);
        var byStack = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        foreach (var e in log.Events)
        {
            if (e is not GCAllocationTickTraceData tick)
            {
                continue;
            }

            var amount = tick.AllocationAmount64;
            total += amount;
            byType[tick.TypeName] = byType.GetValueOrDefault(tick.TypeName) + amount;
            string? passbox = null;
            var frames = new List<string>();
            for (var frame = e.CallStack(); frame is not null; frame = frame.Caller)
            {
                var name = frame.CodeAddress.FullMethodName is { Length: > 0 } method ? method : "?";
                if (frames.Count < 8)
                {
                    frames.Add(name);
                }

                if (passbox is null && name.StartsWith("Passbox.", StringComparison.Ordinal))
                {
                    passbox = name;
                }
            }

            passbox ??= "(no Passbox method) " + (frames.LastOrDefault() ?? "?");
            byMethod[passbox] = byMethod.GetValueOrDefault(passbox) + amount;
            var stack = tick.TypeName + " <- " + string.Join(" <- ", frames);
            byStack[stack] = byStack.GetValueOrDefault(stack) + amount;
        }

        using var writer = new StreamWriter(report);
        string PerCredential(long bytes) => (bytes / 1024.0 / credentials).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture).PadLeft(8);
        writer.WriteLine($"Allocated while {credentials} credentials converged, sampled: {PerCredential(total)} KB per credential");
        foreach (var (title, sums, top) in new[] { ("type", byType, 40), ("nearest Passbox method", byMethod, 60), ("stack (8 frames)", byStack, 60) })
        {
            writer.WriteLine();
            writer.WriteLine($"KB per credential, by {title}:");
            foreach (var (key, bytes) in sums.OrderByDescending(p => p.Value).Take(top))
            {
                writer.WriteLine($"{PerCredential(bytes)}  {key}");
            }
        }
    }
}
