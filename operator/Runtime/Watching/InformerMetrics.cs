using Passbox.Operator.Runtime.Metrics;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// One informer's series of the runtime metrics, labelled with its resource and the name it is registered under: the
/// watch, the list loop, the store and the fills all count into the same series, and each says only what happened.
/// </summary>
internal sealed class InformerMetrics(string resource, string informer)
{
    public void WatchEvent(string type) => RuntimeMetrics.WatchEvents.WithLabels(resource, informer, type).Inc();

    /// <summary>A watch ended and is started again; <paramref name="reason"/> is timeout, gone, too_large, throttled or error.</summary>
    public void WatchRestart(string reason) => RuntimeMetrics.WatchRestarts.WithLabels(resource, informer, reason).Inc();

    public void Relist() => RuntimeMetrics.Relists.WithLabels(resource, informer).Inc();

    public void NamespaceFill() => RuntimeMetrics.NamespaceFills.WithLabels(resource, informer).Inc();

    public void CachedObjects(int count) => RuntimeMetrics.CachedObjects.WithLabels(resource, informer).Set(count);
}
