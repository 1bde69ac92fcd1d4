using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Runtime.Memory;

public sealed record HeapTrimOptions
{
    /// <summary>How often the heap is looked at. Looking costs nothing measurable; collecting is what is bounded.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Growth over the last live set that is always tolerated (a busy operator's short-lived garbage).</summary>
    public long MinGrowthBytes { get; init; } = 8L * 1024 * 1024;

    /// <summary>Growth tolerated in proportion to the last live set, when that is larger than <see cref="MinGrowthBytes"/>.</summary>
    public double GrowthRatio { get; init; } = 0.25;
}

/// <summary>
/// Gives memory back after a burst. The garbage collector runs a full collection only when allocation asks for one, and
/// an operator that goes quiet after a burst (a restart's first reconciles, a sync of thousands of credentials, a
/// deploy that creates thousands of Pods) allocates almost nothing: whatever the burst left in the old generation
/// stays, and the process keeps its peak for hours. The benchmarks saw a restarted operator hold 14 MB more than its
/// live set that way. So every <see cref="HeapTrimOptions.Interval"/> the heap is compared with what it held after the
/// last full collection; when it has grown by more than <see cref="HeapTrimOptions.MinGrowthBytes"/> (or
/// <see cref="HeapTrimOptions.GrowthRatio"/> of it), one full collection returns the difference. At most one collection
/// per interval, and none while the heap stays put: an idle operator pays nothing.
/// </summary>
public sealed class HeapTrimmer : BackgroundService
{
    private readonly IManagedHeap heap;
    private readonly ILogger<HeapTrimmer> logger;
    private readonly HeapTrimOptions options;

    // Started with the service, not when ExecuteAsync first runs on the thread pool, so the first look is one interval
    // after start.
    private readonly PeriodicTimer timer;

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
        var live = heap.AfterLastFullCollectionBytes;
        var now = heap.CurrentBytes;
        var tolerated = Math.Max(options.MinGrowthBytes, (long)(live * options.GrowthRatio));
        if (now - live <= tolerated)
        {
            return false;
        }

        heap.CollectAndReturnMemory();
        var after = heap.CurrentBytes;
        RuntimeMetrics.HeapTrims.Inc();
        logger.LogDebug("Heap grew from {LiveMb:0.0} MB to {NowMb:0.0} MB since the last full collection; collected down to {AfterMb:0.0} MB",
            live / 1048576.0, now / 1048576.0, after / 1048576.0);
        return true;
    }
}
