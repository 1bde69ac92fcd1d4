using System.Text.Json.Nodes;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;
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
}
