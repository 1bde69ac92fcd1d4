using System.Text.Json.Nodes;
using k8s.Models;

namespace Passbox.Operator.Usage;

/// <summary>
/// What an Argo Rollout (argoproj.io/v1alpha1, read untyped) uses. A Rollout is a Deployment in all but name: its
/// <c>spec.template</c> is a pod template, read as <see cref="WorkloadReferences"/> reads a Deployment's, and it counts
/// whether or not Pods run from it (scaled to zero, paused, aborted), since Pods will start from it again.
/// <para>
/// A Rollout may instead take its pod template from a Deployment of its namespace (<c>spec.workloadRef</c>, kind
/// Deployment). That Deployment counts as a user in its own right, even scaled to zero as Argo Rollouts leaves it; the
/// reference makes the Rollout a user of what the Deployment's template names too, so the Rollout shows among the
/// users and keeps them for as long as it refers to the Deployment.
/// </para>
/// <para>
/// The one reader of a Rollout's template, for the in-use index (<see cref="From"/>) and for restarts after a change of
/// a Secret (<see cref="FromResolvedTemplate"/>); untyped and tolerant (<see cref="Json"/>), so an odd Rollout uses
/// nothing rather than failing the watch or the restart of the namespace's other workloads.
/// </para>
/// </summary>
public static class ArgoRolloutReferences
{
    /// <summary>
    /// For the in-use index: what the Rollout's own template names and, by name, the Deployment of its
    /// <c>workloadRef</c>, which the index follows (so the Rollout keeps what that Deployment's template names as it
    /// changes). Both are read even where Argo would refuse the Rollout for having both: either may be what runs.
    /// </summary>
    public static ObjectReferences From(JsonNode rollout)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        var collector = new ReferenceCollector();
        var spec = Json.Get(rollout, "spec");
        CollectTemplate(Json.Get(spec, "template"), collector);
        collector.AddDefinition(UsageKinds.Deployment, ReferencedDeployment(spec));
        return Build(rollout, collector);
    }

    /// <summary>
    /// For restarts: the template the Rollout's Pods start from, as Argo resolves it. Its own <c>spec.template</c>
    /// when it has one; otherwise the template of the Deployment its <c>workloadRef</c> names, found among
    /// <paramref name="deployments"/> of the namespace (nothing when that Deployment is not there).
    /// </summary>
    public static ObjectReferences FromResolvedTemplate(JsonNode rollout, IReadOnlyDictionary<string, V1Deployment> deployments)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        ArgumentNullException.ThrowIfNull(deployments);
        var collector = new ReferenceCollector();
        var spec = Json.Get(rollout, "spec");
        if (Json.Get(spec, "template") is JsonObject own)
        {
            CollectTemplate(own, collector);
        }
        else if (ReferencedDeployment(spec) is { } name && deployments.TryGetValue(name, out var deployment))
        {
            var template = deployment.Spec?.Template;
            PodSpecReferences.Collect(template?.Spec, collector);
            UsesAnnotation.Collect(template?.Metadata?.Annotations, collector);
        }

        return Build(rollout, collector);
    }

    /// <summary>The Secrets a pod template names, and the credentials its <c>passbox.dev/uses</c> annotation declares.</summary>
    private static void CollectTemplate(JsonNode? template, ReferenceCollector collector)
    {
        JsonPodShapes.CollectPodSpec(Json.Get(template, "spec"), collector);
        UsesAnnotation.Collect(Json.Annotations(template), collector);
    }

    /// <summary>The name of the Deployment <c>spec.workloadRef</c> refers to; null when it refers to none (or to another kind).</summary>
    private static string? ReferencedDeployment(JsonNode? spec)
    {
        var workload = Json.Get(spec, "workloadRef");
        return Json.String(workload, "kind") == UsageKinds.Deployment ? Json.String(workload, "name") : null;
    }

    /// <summary>With what the Rollout's own <c>passbox.dev/uses</c> annotation declares.</summary>
    private static ObjectReferences Build(JsonNode rollout, ReferenceCollector collector)
    {
        var (ns, name) = ObjectMetadata.Identity(rollout);
        UsesAnnotation.Collect(Json.Annotations(rollout), collector);
        return collector.Build(UsageKinds.Rollout, ns, name);
    }
}
