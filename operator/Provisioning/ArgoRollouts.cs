using System.Text.Json;
using System.Text.Json.Nodes;
using k8s;
using k8s.Models;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Argo Rollouts (<c>argoproj.io/v1alpha1</c> Rollout), read untyped. A Rollout is restarted through
/// <c>spec.restartAt</c>, as <c>kubectl argo rollouts restart</c> does: its controller then replaces every Pod created
/// before that time (evicting them, honouring PodDisruptionBudgets) without a canary or blue-green update, even while
/// the Rollout is paused in the middle of one. A change of its pod template would instead start a full update through
/// the canary steps or a blue-green switch.
/// </summary>
public sealed class ArgoRollouts(KubernetesApiClient api)
{
    public const string Kind = "Rollout";

    public static readonly ResourceDescriptor Resource = UsageSources.Rollouts.Resource;

    /// <summary>The Rollouts of <paramref name="namespaceName"/>; none when the API server does not serve them (the CRD went away).</summary>
    public async Task<IReadOnlyList<UntypedObject>> ListAsync(string namespaceName, CancellationToken ct)
    {
        try
        {
            var list = await api.GetAsync<ListEnvelope<UntypedObject>>(Resource.CollectionPath(namespaceName), ct).ConfigureAwait(false);
            return list.Items ?? [];
        }
        catch (KubernetesApiException e) when (e.IsNotFound)
        {
            return [];
        }
    }

    /// <summary>Sets <c>spec.restartAt</c>: a merge patch of that field alone.</summary>
    public Task RestartAsync(string namespaceName, string name, string restartAt, CancellationToken ct)
    {
        var patch = new JsonObject { ["spec"] = new JsonObject { ["restartAt"] = restartAt } };
        return api.PatchAsync<JsonNode>(Resource.ItemPath(new ObjectKey(namespaceName, name)), patch, ct);
    }

    /// <summary>
    /// What the Rollout's Pods use: its own <c>spec.template</c>, or, when it takes its template from a Deployment
    /// (<c>spec.workloadRef</c>), that Deployment's, found among <paramref name="deployments"/> of the namespace.
    /// </summary>
    public static ObjectReferences References(UntypedObject rollout, IReadOnlyDictionary<string, V1Deployment> deployments)
    {
        ArgumentNullException.ThrowIfNull(rollout);
        ArgumentNullException.ThrowIfNull(deployments);
        V1PodTemplateSpec? template = null;
        if (rollout.Fields?.TryGetValue("spec", out var spec) == true && spec.ValueKind == JsonValueKind.Object)
        {
            if (spec.TryGetProperty("template", out var own) && own.ValueKind == JsonValueKind.Object)
            {
                template = KubernetesJson.Deserialize<V1PodTemplateSpec>(own.GetRawText());
            }
            else if (spec.TryGetProperty("workloadRef", out var reference) && reference.ValueKind == JsonValueKind.Object
                && reference.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "Deployment"
                && reference.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                && deployments.TryGetValue(name.GetString()!, out var deployment))
            {
                template = deployment.Spec?.Template;
            }
        }

        return WorkloadReferences.FromPodTemplate(Kind, rollout.Metadata, template);
    }
}
