using Prometheus;

namespace Passbox.Operator.Runtime.Metrics;

/// <summary>
/// The runtime's Prometheus metrics. prometheus-net registers metrics process-wide, so they are
/// static and every informer, queue and controller labels its own series.
/// </summary>
public static class RuntimeMetrics
{
    public static readonly Counter JsonReflectionTypes = Prometheus.Metrics.CreateCounter(
        "passbox_json_reflection_types_total",
        "Object types that KubernetesJson described by reflection because no generated JSON metadata covers them (make aot-smoke wants none).",
        new CounterConfiguration { LabelNames = ["type"] });

    public static readonly Counter WatchRestarts = Prometheus.Metrics.CreateCounter(
        "passbox_watch_restarts_total",
        "Watch connections re-opened, by resource, informer and reason (timeout, gone, too_large, error, throttled).",
        new CounterConfiguration { LabelNames = ["resource", "informer", "reason"] });

    public static readonly Counter WatchEvents = Prometheus.Metrics.CreateCounter(
        "passbox_watch_events_total",
        "Watch events received, by resource, informer and type.",
        new CounterConfiguration { LabelNames = ["resource", "informer", "type"] });

    public static readonly Counter Relists = Prometheus.Metrics.CreateCounter(
        "passbox_informer_lists_total",
        "Full lists performed by informers (initial sync and after 410 Gone).",
        new CounterConfiguration { LabelNames = ["resource", "informer"] });

    public static readonly Counter NamespaceFills = Prometheus.Metrics.CreateCounter(
        "passbox_informer_namespace_fills_total",
        "Lists of one namespace by scoped informers, when a namespace joins their scope after their first list (its first credential).",
        new CounterConfiguration { LabelNames = ["resource", "informer"] });

    public static readonly Gauge CachedObjects = Prometheus.Metrics.CreateGauge(
        "passbox_informer_cached_objects",
        "Objects held in an informer cache (two informers may watch one resource, e.g. generated and source Secrets).",
        new GaugeConfiguration { LabelNames = ["resource", "informer"] });

    public static readonly Gauge QueueDepth = Prometheus.Metrics.CreateGauge(
        "passbox_workqueue_depth",
        "Keys ready to be reconciled now, per controller, as client-go counts depth: keys scheduled for later are passbox_workqueue_delayed_keys.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Gauge QueueDelayed = Prometheus.Metrics.CreateGauge(
        "passbox_workqueue_delayed_keys",
        "Keys scheduled for a later reconcile (a periodic check's requeue or a retry's backoff), per controller.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Gauge QueueRetrying = Prometheus.Metrics.CreateGauge(
        "passbox_workqueue_retrying_keys",
        "Keys whose last reconcile failed or asked for backoff, and that are retried on backoff until one succeeds, per controller.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Counter QueueAdds = Prometheus.Metrics.CreateCounter(
        "passbox_workqueue_adds_total",
        "Keys added to the queue, per controller (an add of a key already waiting is not counted).",
        new CounterConfiguration { LabelNames = ["controller"] });

    public static readonly Counter QueueRetries = Prometheus.Metrics.CreateCounter(
        "passbox_workqueue_retries_total",
        "Keys scheduled again on backoff after a failed reconcile or one that asked for backoff, per controller.",
        new CounterConfiguration { LabelNames = ["controller"] });

    public static readonly Histogram QueueLatency = Prometheus.Metrics.CreateHistogram(
        "passbox_workqueue_queue_duration_seconds",
        "Time a key waited from its add (or the end of its scheduled delay) until a worker took it, per controller.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = QueueBuckets() });

    public static readonly Histogram QueueWorkDuration = Prometheus.Metrics.CreateHistogram(
        "passbox_workqueue_work_duration_seconds",
        "Time a worker held a key, from taking it to done, per controller.",
        new HistogramConfiguration { LabelNames = ["controller"], Buckets = QueueBuckets() });

    public static readonly Gauge QueueUnfinishedWork = Prometheus.Metrics.CreateGauge(
        "passbox_workqueue_unfinished_work_seconds",
        "Seconds that the keys being worked on now have been worked on, summed, per controller: grows without bound while a worker hangs.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Gauge QueueLongestRunning = Prometheus.Metrics.CreateGauge(
        "passbox_workqueue_longest_running_processor_seconds",
        "Seconds the longest running worker of a controller has held its key.",
        new GaugeConfiguration { LabelNames = ["controller"] });

    public static readonly Counter Reconciles = Prometheus.Metrics.CreateCounter(
        "passbox_reconcile_total",
        "Reconciles, by kind and result (success, requeue, error, backoff, not_found).",
        new CounterConfiguration { LabelNames = ["kind", "result"] });

    public static readonly Counter SkippedOwnEvents = Prometheus.Metrics.CreateCounter(
        "passbox_watch_events_own_writes_skipped_total",
        "Watch events not reconciled because they only echo a write of this process, by controller kind.",
        new CounterConfiguration { LabelNames = ["kind"] });

    public static readonly Counter EventsDropped = Prometheus.Metrics.CreateCounter(
        "passbox_events_dropped_total",
        "Events not written because the event queue was full or the process was stopping.");

    public static readonly Counter EventsThrottled = Prometheus.Metrics.CreateCounter(
        "passbox_events_throttled_total",
        "Normal events not written because more were recorded than the Normal event budget allows (Warnings are never held back).");

    public static readonly Counter HeapTrims = Prometheus.Metrics.CreateCounter(
        "passbox_heap_trims_total",
        "Full garbage collections run because the managed heap had grown well past its last live set (memory handed back after a burst).");

    public static readonly Counter ReconcileErrors = Prometheus.Metrics.CreateCounter(
        "passbox_reconcile_errors_total",
        "Reconciles that threw, by kind.",
        new CounterConfiguration { LabelNames = ["kind"] });

    public static readonly Histogram ReconcileDuration = Prometheus.Metrics.CreateHistogram(
        "passbox_reconcile_duration_seconds",
        "Time spent in one reconcile, by kind.",
        new HistogramConfiguration
        {
            LabelNames = ["kind"],
            Buckets = Histogram.ExponentialBuckets(0.005, 2, 14),
        });

    public static readonly Counter StatusWrites = Prometheus.Metrics.CreateCounter(
        "passbox_status_writes_total",
        "Status writes, by kind and outcome (patched, unchanged, conflict, superseded, not_found).",
        new CounterConfiguration { LabelNames = ["kind", "outcome"] });

    public static readonly Gauge IsLeader = Prometheus.Metrics.CreateGauge(
        "passbox_leader",
        "1 while this process holds the leader lease (or leader election is disabled).");

    /// <summary>1 ms to about 70 minutes: a key taken at once, and a reconcile that hangs on a server for minutes.</summary>
    private static double[] QueueBuckets() => Histogram.ExponentialBuckets(0.001, 4, 12);
}
