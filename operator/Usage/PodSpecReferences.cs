using k8s.Models;

namespace Passbox.Operator.Usage;

/// <summary>
/// Secret names a pod spec refers to: volumes (secret, projected, CSI and the in-tree drivers that take a Secret),
/// env and envFrom of containers, init containers and ephemeral containers, and imagePullSecrets.
/// The pod's ServiceAccount is not followed: Kubernetes copies the ServiceAccount's imagePullSecrets into the pod
/// spec on admission, and the ServiceAccount is a user of its Secrets in its own right.
/// </summary>
public static class PodSpecReferences
{
    /// <summary>The distinct Secret names <paramref name="spec"/> refers to, sorted.</summary>
    public static IReadOnlyList<string> SecretNames(V1PodSpec? spec)
    {
        var collector = new ReferenceCollector();
        Collect(spec, collector);
        return collector.Build(UsageKinds.Pod, string.Empty, "spec").SecretNames;
    }

    internal static void Collect(V1PodSpec? spec, ReferenceCollector collector)
    {
        if (spec is null)
        {
            return;
        }

        foreach (var volume in spec.Volumes ?? [])
        {
            CollectVolume(volume, collector);
        }

        foreach (var container in spec.Containers ?? [])
        {
            CollectEnv(container.Env, container.EnvFrom, collector);
        }

        foreach (var container in spec.InitContainers ?? [])
        {
            CollectEnv(container.Env, container.EnvFrom, collector);
        }

        foreach (var container in spec.EphemeralContainers ?? [])
        {
            CollectEnv(container.Env, container.EnvFrom, collector);
        }

        foreach (var pullSecret in spec.ImagePullSecrets ?? [])
        {
            collector.AddSecret(pullSecret?.Name);
        }
    }

    private static void CollectVolume(V1Volume? volume, ReferenceCollector collector)
    {
        if (volume is null)
        {
            return;
        }

        collector.AddSecret(volume.Secret?.SecretName);
        foreach (var source in volume.Projected?.Sources ?? [])
        {
            collector.AddSecret(source?.Secret?.Name);
        }

        collector.AddSecret(volume.Csi?.NodePublishSecretRef?.Name);
        collector.AddSecret(volume.AzureFile?.SecretName);
        collector.AddSecret(volume.Cephfs?.SecretRef?.Name);
        collector.AddSecret(volume.Cinder?.SecretRef?.Name);
        collector.AddSecret(volume.FlexVolume?.SecretRef?.Name);
        collector.AddSecret(volume.Iscsi?.SecretRef?.Name);
        collector.AddSecret(volume.Rbd?.SecretRef?.Name);
        collector.AddSecret(volume.ScaleIO?.SecretRef?.Name);
        collector.AddSecret(volume.Storageos?.SecretRef?.Name);
    }

    private static void CollectEnv(IList<V1EnvVar>? env, IList<V1EnvFromSource>? envFrom, ReferenceCollector collector)
    {
        foreach (var variable in env ?? [])
        {
            collector.AddSecret(variable?.ValueFrom?.SecretKeyRef?.Name);
        }

        foreach (var source in envFrom ?? [])
        {
            collector.AddSecret(source?.SecretRef?.Name);
        }
    }
}
