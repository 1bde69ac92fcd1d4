using k8s.Models;

namespace Passbox.Operator.Usage;

/// <summary>
/// What a Pod uses. A Pod counts until it has finished (phase Succeeded or Failed): nothing runs in it afterwards.
/// A Pod being deleted still counts, since its containers may still be running until it is gone.
/// </summary>
public static class PodReferences
{
    public static ObjectReferences From(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var (ns, name) = ObjectMetadata.Identity(pod.Metadata);
        if (IsFinished(pod))
        {
            return ObjectReferences.None(UsageKinds.Pod, ns, name);
        }

        var collector = new ReferenceCollector();
        PodSpecReferences.Collect(pod.Spec, collector);
        UsesAnnotation.Collect(pod.Metadata?.Annotations, collector);
        return collector.Build(UsageKinds.Pod, ns, name);
    }

    public static bool IsFinished(V1Pod pod)
    {
        ArgumentNullException.ThrowIfNull(pod);
        var phase = pod.Status?.Phase;
        return string.Equals(phase, "Succeeded", StringComparison.Ordinal) || string.Equals(phase, "Failed", StringComparison.Ordinal);
    }
}
