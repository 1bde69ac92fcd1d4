using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Runtime.Memory;

public sealed record HeapTrimOptions
{
    /// <summary>How often the heap is looked at. Looking costs nothing measurable; collecting is what is bounded.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Growth over the last trimmed heap that is always tolerated (what normal work promotes between collections).</summary>
    public long MinGrowthBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>Growth tolerated in proportion to the last trimmed heap, when that is more than <see cref="MinGrowthBytes"/>.</summary>
    public double GrowthRatio { get; init; } = 0.25;

    /// <summary>
    /// A collection that found this much more in use than the one before ran in the middle of a burst: the next look
    /// collects again, whatever the growth.
    /// </summary>
    public long StillMovingBytes { get; init; } = 2L * 1024 * 1024;
}

/// <summary>
/// Gives memory back after a burst. The garbage collector runs a full collection only when allocation asks for one, and
/// an operator that goes quiet after a burst (the first lists of a big cluster and the reconciles that follow them, a
/// sync of thousands of credentials, a deploy that creates thousands of Pods) allocates almost nothing: whatever the burst had promoted to the old
/// generation stays, and the process keeps its peak for hours. The benchmarks saw a restarted operator hold 11–13 MB more
/// than its live set that way. So every <see cref="HeapTrimOptions.Interval"/> the heap is compared with what it held
/// after this trimmer's last collection; when it has grown by more than <see cref="HeapTrimOptions.MinGrowthBytes"/> (or
/// <see cref="HeapTrimOptions.GrowthRatio"/> of it), one full collection returns the garbage. A collection that lands in
/// the middle of a burst still finds the burst's objects in use, so while the live set keeps moving the next look
/// collects once more. At most one collection per interval, and none while the heap stays put: an idle operator pays
/// nothing.
/// </summary>
public sealed class HeapTrimmer : BackgroundService
{
    private readonly IManagedHeap heap;
    private readonly ILogger<HeapTrimmer> logger;
    private readonly HeapTrimOptions options;

    // Started with the service, not when ExecuteAsync first runs on the thread pool, so the first look is one interval
    // after start.
    private readonly PeriodicTimer timer;

    /// <summary>What the heap held after this trimmer's last collection (nothing before the first).</summary>
    private long trimmedTo;

    private bool lookAgain;

    public HeapTrimmer(IManagedHeap heap, TimeProvider time, ILogger<HeapTrimmer> logger, HeapTrimOptions? options = null)
    {
        this.heap = heap;
        this.logger = logger;
        this.options = options ?? new HeapTrimOptions();
        timer = new PeriodicTimer(this.options.Interval, time);
    }

    public override void Dispose()
    {
        timer.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                TrimIfGrown();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>One look at the heap; true when it collected.</summary>
    public bool TrimIfGrown()
    {
        var settled = heap.SettledBytes;
        var tolerated = Math.Max(options.MinGrowthBytes, (long)(trimmedTo * options.GrowthRatio));
        if (!lookAgain && settled - trimmedTo <= tolerated)
        {
            return false;
        }

        heap.CollectAndReturnMemory();
        var live = heap.SettledBytes;
        lookAgain = live - trimmedTo > options.StillMovingBytes;
        RuntimeMetrics.HeapTrims.Inc();
        logger.LogDebug("Heap grew to {SettledMb:0.0} MB since the last trim ({TrimmedMb:0.0} MB); collected down to {LiveMb:0.0} MB",
            settled / 1048576.0, trimmedTo / 1048576.0, live / 1048576.0);
        trimmedTo = live;
        return true;
    }
}
