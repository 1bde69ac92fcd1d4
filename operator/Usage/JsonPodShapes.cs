using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// Secret references in pieces of untyped objects that have the shape of Kubernetes pod spec parts: volumes (and
/// Tekton workspace bindings, which share their secret/projected/csi fields), containers, env lists, imagePullSecrets
/// and whole pod specs. Kept in line with <see cref="PodSpecReferences"/>.
/// </summary>
internal static class JsonPodShapes
{
    private static readonly string[] SecretRefVolumes = ["cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos"];

    public static void CollectVolumes(JsonNode? volumes, ReferenceCollector collector)
    {
        foreach (var volume in Json.Items(volumes))
        {
            CollectVolume(volume, collector);
        }
    }

    public static void CollectVolume(JsonNode? volume, ReferenceCollector collector)
    {
        collector.AddSecret(Json.String(volume, "secret", "secretName"));
        foreach (var source in Json.Items(volume, "projected", "sources"))
        {
            collector.AddSecret(Json.String(source, "secret", "name"));
        }

        collector.AddSecret(Json.String(volume, "csi", "nodePublishSecretRef", "name"));
        collector.AddSecret(Json.String(volume, "azureFile", "secretName"));
        foreach (var driver in SecretRefVolumes)
        {
            collector.AddSecret(Json.String(volume, driver, "secretRef", "name"));
        }
    }

    public static void CollectContainers(JsonNode? containers, ReferenceCollector collector)
    {
        foreach (var container in Json.Items(containers))
        {
            CollectContainer(container, collector);
        }
    }

    public static void CollectContainer(JsonNode? container, ReferenceCollector collector)
    {
        CollectEnv(Json.Get(container, "env"), collector);
        foreach (var source in Json.Items(container, "envFrom"))
        {
            collector.AddSecret(Json.String(source, "secretRef", "name"));
        }
    }

    /// <summary>A list of environment variables: those whose value comes from a Secret's key.</summary>
    public static void CollectEnv(JsonNode? env, ReferenceCollector collector)
    {
        foreach (var variable in Json.Items(env))
        {
            collector.AddSecret(Json.String(variable, "valueFrom", "secretKeyRef", "name"));
        }
    }

    public static void CollectImagePullSecrets(JsonNode? imagePullSecrets, ReferenceCollector collector)
    {
        foreach (var pullSecret in Json.Items(imagePullSecrets))
        {
            collector.AddSecret(Json.String(pullSecret, "name"));
        }
    }

    /// <summary>
    /// A Tekton pod template: its volumes, imagePullSecrets and <c>env</c>, which Tekton sets in every step and
    /// sidecar of the run's Pods (over the steps' own).
    /// </summary>
    public static void CollectPodTemplate(JsonNode? podTemplate, ReferenceCollector collector)
    {
        CollectVolumes(Json.Get(podTemplate, "volumes"), collector);
        CollectImagePullSecrets(Json.Get(podTemplate, "imagePullSecrets"), collector);
        CollectEnv(Json.Get(podTemplate, "env"), collector);
    }

    /// <summary>A pod spec, or a part of one such as a patch: volumes, all kinds of containers and imagePullSecrets.</summary>
    public static void CollectPodSpec(JsonNode? podSpec, ReferenceCollector collector)
    {
        CollectVolumes(Json.Get(podSpec, "volumes"), collector);
        CollectContainers(Json.Get(podSpec, "containers"), collector);
        CollectContainers(Json.Get(podSpec, "initContainers"), collector);
        CollectContainers(Json.Get(podSpec, "ephemeralContainers"), collector);
        CollectImagePullSecrets(Json.Get(podSpec, "imagePullSecrets"), collector);
    }
}
