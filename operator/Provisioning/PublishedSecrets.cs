using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Whether a Secret is the one a credential published. A label can be put on any Secret by anyone who may create
/// Secrets in the namespace; the owner reference with the credential's UID is what Passbox wrote itself, and it also
/// tells apart a credential deleted and re-created under the same name.
/// </summary>
public static class PublishedSecrets
{
    public static bool BelongTo(V1Secret secret, IKubernetesObject<V1ObjectMeta> credential)
    {
        ArgumentNullException.ThrowIfNull(secret);
        ArgumentNullException.ThrowIfNull(credential);
        var meta = credential.Metadata;
        var labelled = secret.Metadata?.Labels?.TryGetValue(ApiGroup.CredentialLabel, out var name) == true && name == meta.Name;
        var owned = meta.Uid is { Length: > 0 } uid
            && secret.Metadata?.OwnerReferences?.Any(o => o.Uid == uid && o.Controller == true) == true;
        return labelled && owned;
    }
}
