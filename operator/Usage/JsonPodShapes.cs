using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// Secret references in pieces of untyped objects that have the shape of Kubernetes pod spec parts: volumes (and
/// Tekton workspace bindings, which share their secret/projected/csi fields), containers and imagePullSecrets.
/// Kept in line with <see cref="PodSpecReferences"/>.
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
        foreach (var variable in Json.Items(container, "env"))
        {
            collector.AddSecret(Json.String(variable, "valueFrom", "secretKeyRef", "name"));
        }

        foreach (var source in Json.Items(container, "envFrom"))
        {
            collector.AddSecret(Json.String(source, "secretRef", "name"));
        }
    }

    public static void CollectImagePullSecrets(JsonNode? imagePullSecrets, ReferenceCollector collector)
    {
        foreach (var pullSecret in Json.Items(imagePullSecrets))
        {
            collector.AddSecret(Json.String(pullSecret, "name"));
        }
    }

    /// <summary>A Tekton or Argo pod template: its volumes and imagePullSecrets.</summary>
    public static void CollectPodTemplate(JsonNode? podTemplate, ReferenceCollector collector)
    {
        CollectVolumes(Json.Get(podTemplate, "volumes"), collector);
        CollectImagePullSecrets(Json.Get(podTemplate, "imagePullSecrets"), collector);
    }
}
