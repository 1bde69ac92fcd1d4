using System.Text.Json.Nodes;

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
/// </summary>
public static class ArgoRolloutReferences
{
    public static ObjectReferences From(JsonNode rollout)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        var (ns, name) = ObjectMetadata.Identity(rollout);
        var collector = new ReferenceCollector();
        var spec = Json.Get(rollout, "spec");
        var template = Json.Get(spec, "template");
        JsonPodShapes.CollectPodSpec(Json.Get(template, "spec"), collector);

        var workload = Json.Get(spec, "workloadRef");
        if (Json.String(workload, "kind") == UsageKinds.Deployment)
        {
            collector.AddDefinition(UsageKinds.Deployment, Json.String(workload, "name"));
        }

        UsesAnnotation.Collect(Json.Annotations(rollout), collector);
        UsesAnnotation.Collect(Json.Annotations(template), collector);
        return collector.Build(UsageKinds.Rollout, ns, name);
    }
}
