using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// What an Argo Workflow uses, read from untyped JSON (argoproj.io/v1alpha1): <c>spec.volumes</c>,
/// <c>spec.imagePullSecrets</c>, <c>spec.serviceAccountName</c> and per-template <c>serviceAccountName</c>,
/// and each template's container, script, init containers, sidecars, container set (env, envFrom) and volumes.
/// A Workflow that only refers to a WorkflowTemplate is seen through what it names itself; the template's own
/// references are not followed. A finished Workflow (phase Succeeded, Failed or Error) uses nothing.
/// </summary>
public static class ArgoWorkflowReferences
{
    public static ObjectReferences From(JsonNode workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var (ns, name) = ObjectMetadata.Identity(workflow);
        if (IsFinished(workflow))
        {
            return ObjectReferences.None(UsageKinds.Workflow, ns, name);
        }

        var spec = Json.Get(workflow, "spec");
        var collector = new ReferenceCollector();
        JsonPodShapes.CollectVolumes(Json.Get(spec, "volumes"), collector);
        JsonPodShapes.CollectImagePullSecrets(Json.Get(spec, "imagePullSecrets"), collector);
        collector.AddServiceAccount(Json.String(spec, "serviceAccountName"));

        foreach (var template in Json.Items(spec, "templates"))
        {
            JsonPodShapes.CollectContainer(Json.Get(template, "container"), collector);
            JsonPodShapes.CollectContainer(Json.Get(template, "script"), collector);
            JsonPodShapes.CollectContainers(Json.Get(template, "initContainers"), collector);
            JsonPodShapes.CollectContainers(Json.Get(template, "sidecars"), collector);
            JsonPodShapes.CollectContainers(Json.Get(template, "containerSet", "containers"), collector);
            JsonPodShapes.CollectVolumes(Json.Get(template, "volumes"), collector);
            collector.AddServiceAccount(Json.String(template, "serviceAccountName"));
        }

        UsesAnnotation.Collect(Json.Annotations(workflow), collector);
        return collector.Build(UsageKinds.Workflow, ns, name);
    }

    public static bool IsFinished(JsonNode workflow)
    {
        ArgumentNullException.ThrowIfNull(workflow);
        var phase = Json.String(workflow, "status", "phase");
        return phase is "Succeeded" or "Failed" or "Error";
    }
}
