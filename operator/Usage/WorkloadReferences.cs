using k8s.Models;

namespace Passbox.Operator.Usage;

/// <summary>
/// What workload pod templates use. A template counts whether or not Pods run from it right now, because Pods will
/// start from it again: a Deployment scaled to zero, a suspended Job, a CronJob between schedules all block.
/// Two exceptions, where nothing will start from the template again:
/// <list type="bullet">
/// <item>a finished Job (condition Complete or Failed is True): Jobs are not restarted once finished;</item>
/// <item>a ReplicaSet with <c>spec.replicas: 0</c> controlled by a Deployment or an Argo Rollout: an old revision,
/// kept for rollback. The Deployment (or Rollout) counts for its current template, and rolling back makes that
/// ReplicaSet count again through the new template. A ReplicaSet of its own scaled to zero still counts, as a
/// Deployment at zero does.</item>
/// </list>
/// </summary>
public static class WorkloadReferences
{
    public static ObjectReferences From(V1Deployment deployment)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        return FromPodTemplate(UsageKinds.Deployment, deployment.Metadata, deployment.Spec?.Template);
    }

    public static ObjectReferences From(V1StatefulSet statefulSet)
    {
        ArgumentNullException.ThrowIfNull(statefulSet);
        return FromPodTemplate(UsageKinds.StatefulSet, statefulSet.Metadata, statefulSet.Spec?.Template);
    }

    public static ObjectReferences From(V1DaemonSet daemonSet)
    {
        ArgumentNullException.ThrowIfNull(daemonSet);
        return FromPodTemplate(UsageKinds.DaemonSet, daemonSet.Metadata, daemonSet.Spec?.Template);
    }

    public static ObjectReferences From(V1ReplicaSet replicaSet)
    {
        ArgumentNullException.ThrowIfNull(replicaSet);
        if (IsOldDeploymentRevision(replicaSet))
        {
            var (ns, name) = ObjectMetadata.Identity(replicaSet.Metadata);
            return ObjectReferences.None(UsageKinds.ReplicaSet, ns, name);
        }

        return FromPodTemplate(UsageKinds.ReplicaSet, replicaSet.Metadata, replicaSet.Spec?.Template);
    }

    public static ObjectReferences From(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (IsFinished(job))
        {
            var (ns, name) = ObjectMetadata.Identity(job.Metadata);
            return ObjectReferences.None(UsageKinds.Job, ns, name);
        }

        return FromPodTemplate(UsageKinds.Job, job.Metadata, job.Spec?.Template);
    }

    public static ObjectReferences From(V1CronJob cronJob)
    {
        ArgumentNullException.ThrowIfNull(cronJob);
        return FromPodTemplate(UsageKinds.CronJob, cronJob.Metadata, cronJob.Spec?.JobTemplate?.Spec?.Template);
    }

    /// <summary>Any object of <paramref name="kind"/> that carries a pod template (for kinds not listed above).</summary>
    public static ObjectReferences FromPodTemplate(string kind, V1ObjectMeta? metadata, V1PodTemplateSpec? template)
    {
        var (ns, name) = ObjectMetadata.Identity(metadata);
        var collector = new ReferenceCollector();
        PodSpecReferences.Collect(template?.Spec, collector);
        UsesAnnotation.Collect(metadata?.Annotations, collector);
        UsesAnnotation.Collect(template?.Metadata?.Annotations, collector);
        return collector.Build(kind, ns, name);
    }

    /// <summary>True once the Job has completed or failed for good.</summary>
    public static bool IsFinished(V1Job job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return job.Status?.Conditions?.Any(c =>
            c is not null
            && (string.Equals(c.Type, "Complete", StringComparison.Ordinal) || string.Equals(c.Type, "Failed", StringComparison.Ordinal))
            && string.Equals(c.Status, "True", StringComparison.OrdinalIgnoreCase)) == true;
    }

    /// <summary>True for a ReplicaSet scaled to zero whose controller is a Deployment or an Argo Rollout.</summary>
    public static bool IsOldDeploymentRevision(V1ReplicaSet replicaSet)
    {
        ArgumentNullException.ThrowIfNull(replicaSet);

        // spec.replicas defaults to 1 when absent.
        return replicaSet.Spec?.Replicas == 0
            && replicaSet.Metadata?.OwnerReferences?.Any(o => o is not null && o.Controller == true && IsRevisionOwner(o)) == true;
    }

    /// <summary>A Deployment, or an Argo Rollout, which keeps its old ReplicaSets at zero the same way.</summary>
    private static bool IsRevisionOwner(V1OwnerReference owner) =>
        string.Equals(owner.Kind, UsageKinds.Deployment, StringComparison.Ordinal)
        || (string.Equals(owner.Kind, UsageKinds.Rollout, StringComparison.Ordinal) && string.Equals(owner.ApiVersion, "argoproj.io/v1alpha1", StringComparison.Ordinal));
}
