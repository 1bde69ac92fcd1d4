using k8s.Models;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Whether a changed pod template actually replaces a workload's Pods. The restart annotation goes on the template
/// either way (the Pods started once their owner acts get the new Secret), but for these the workload controller
/// replaces nothing by itself, and saying "restarted" would be a lie while the Pods keep the old password:
/// <list type="bullet">
/// <item>a paused Deployment (<c>spec.paused</c>) rolls out template changes only once resumed;</item>
/// <item>a StatefulSet or DaemonSet with <c>updateStrategy.type: OnDelete</c> replaces a Pod only when it is deleted;</item>
/// <item>a StatefulSet with <c>rollingUpdate.partition</c> N updates only the Pods with an ordinal of N or more.</item>
/// </list>
/// Each returns why and what to do, or null when the Pods are replaced.
/// </summary>
public static class PendingPodUpdates
{
    private const string OnDelete = "OnDelete";

    public static string? Of(V1Deployment deployment) =>
        deployment?.Spec?.Paused == true
            ? "is paused (spec.paused): its Pods keep the old Secret until it is resumed"
            : null;

    public static string? Of(V1StatefulSet statefulSet)
    {
        var strategy = statefulSet?.Spec?.UpdateStrategy;
        if (string.Equals(strategy?.Type, OnDelete, StringComparison.Ordinal))
        {
            return "has updateStrategy OnDelete: its Pods keep the old Secret until they are deleted";
        }

        return strategy?.RollingUpdate?.Partition is int partition and > 0
            ? $"has updateStrategy.rollingUpdate.partition {partition}: its Pods with an ordinal below {partition} keep the old Secret until they are deleted or the partition is lowered"
            : null;
    }

    public static string? Of(V1DaemonSet daemonSet) =>
        string.Equals(daemonSet?.Spec?.UpdateStrategy?.Type, OnDelete, StringComparison.Ordinal)
            ? "has updateStrategy OnDelete: its Pods keep the old Secret until they are deleted"
            : null;
}
