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
        "Keys waiting to be reconciled, per controller (delayed keys not included).",
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
}
