using System.Collections.Concurrent;
using Passbox.Operator.Runtime.Metrics;
using Prometheus;

namespace Passbox.Operator.Runtime.Queue;

/// <summary>
/// One queue's series, named and measured as client-go's workqueue metrics are (adds, depth, time in queue, work
/// duration, retries, unfinished work, longest running worker), labelled by the controller alone: never by key, so a
/// thousand credentials make no more series than one. What only a scrape reads (work in progress, scheduled and
/// retrying keys) is computed when Prometheus scrapes, not on each change of the queue.
/// </summary>
internal sealed class WorkQueueMetrics
{
    private static readonly ConcurrentDictionary<WorkQueue, WorkQueueMetrics> Live = new();

    static WorkQueueMetrics() => Prometheus.Metrics.DefaultRegistry.AddBeforeCollectCallback(UpdateAll);

    private readonly string name;
    private readonly Gauge.Child delayed;
    private readonly Gauge.Child retrying;
    private readonly Gauge.Child unfinished;
    private readonly Gauge.Child longest;

    public WorkQueueMetrics(string name)
    {
        this.name = name;
        Depth = RuntimeMetrics.QueueDepth.WithLabels(name);
        Adds = RuntimeMetrics.QueueAdds.WithLabels(name);
        Retries = RuntimeMetrics.QueueRetries.WithLabels(name);
        Latency = RuntimeMetrics.QueueLatency.WithLabels(name);
        WorkDuration = RuntimeMetrics.QueueWorkDuration.WithLabels(name);
        delayed = RuntimeMetrics.QueueDelayed.WithLabels(name);
        retrying = RuntimeMetrics.QueueRetrying.WithLabels(name);
        unfinished = RuntimeMetrics.QueueUnfinishedWork.WithLabels(name);
        longest = RuntimeMetrics.QueueLongestRunning.WithLabels(name);
    }

    public Gauge.Child Depth { get; }

    public Counter.Child Adds { get; }

    public Counter.Child Retries { get; }

    public Histogram.Child Latency { get; }

    public Histogram.Child WorkDuration { get; }

    public void Follow(WorkQueue queue) => Live[queue] = this;

    /// <summary>A stopped queue's gauges say nothing is waiting or running, as its series would otherwise keep its last state.</summary>
    public void Forget(WorkQueue queue)
    {
        Live.TryRemove(queue, out _);
        Depth.Set(0);
        delayed.Set(0);
        retrying.Set(0);
        unfinished.Set(0);
        longest.Set(0);
    }

    /// <summary>Brings the scrape-time gauges of every live queue up to date; for tests, which read them without a scrape.</summary>
    internal static void UpdateAll()
    {
        foreach (var (queue, metrics) in Live)
        {
            var now = queue.Snapshot();
            metrics.delayed.Set(now.Delayed);
            metrics.retrying.Set(now.Retrying);
            metrics.unfinished.Set(now.UnfinishedWork.TotalSeconds);
            metrics.longest.Set(now.LongestRunning.TotalSeconds);
        }
    }

    public override string ToString() => name;
}

/// <summary>What a scrape reads of a queue at one moment.</summary>
internal readonly record struct WorkQueueSnapshot(int Delayed, int Retrying, TimeSpan UnfinishedWork, TimeSpan LongestRunning);
