using k8s.Models;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Publishing;

/// <summary>
/// The generated Secrets as the operator's informer holds them: labelled <c>app.kubernetes.io/managed-by=passbox</c>,
/// reduced on arrival to metadata plus a digest of each data key (<see cref="HashData"/>), so the operator never keeps
/// credential material in memory.
/// </summary>
public sealed class GeneratedSecretCache : IGeneratedSecretView
{
    public const string InformerName = "generated-secrets";

    /// <summary>Cache index: the uids of a Secret's owners (the credential that generated it).</summary>
    private const string OwnerIndex = "owner-uid";

    private readonly IInformer<V1Secret> informer;

    public GeneratedSecretCache(IInformer<V1Secret> informer)
    {
        ArgumentNullException.ThrowIfNull(informer);
        this.informer = informer;
        informer.Cache.AddIndex(OwnerIndex, secret => (secret.Metadata.OwnerReferences ?? []).Select(owner => owner.Uid));
    }
    public const string LabelSelector = Api.V1Alpha1.ApiGroup.ManagedByLabel + "=" + Api.V1Alpha1.ApiGroup.ManagedByValue;

    /// <summary>In-memory only: the digests of the data keys the informer saw. Never written to the cluster.</summary>
    private const string ObservedDigestsKey = "passbox.internal/observed-key-digests";

    public ObservedSecret? Find(string namespaceName, string name)
    {
        var cached = informer.Cache.Get(new ObjectKey(namespaceName, name));
        if (cached is null)
        {
            return null;
        }

        string? digests = null;
        cached.Metadata.Annotations?.TryGetValue(ObservedDigestsKey, out digests);
        return ObservedSecret.FromCached(cached, digests ?? "");
    }

    public IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid) =>
        [.. informer.Cache.KeysByIndex(OwnerIndex, ownerUid).Where(key => key.Namespace == namespaceName).Select(key => key.Name)];

    /// <summary>The credential of kind <paramref name="ownerKind"/> that generated the cached Secret, if any.</summary>
    public ObjectKey? OwnerOf(string namespaceName, string name, string ownerKind) =>
        informer.Cache.Get(new ObjectKey(namespaceName, name))?.Metadata.OwnerReferences?.FirstOrDefault(owner => owner.Kind == ownerKind) is { } owner
            ? new ObjectKey(namespaceName, owner.Name)
            : null;

    /// <summary>
    /// The informer's transform: drop the data, keep a short digest of each key's value (one string of about 30 bytes
    /// a key), so keys others add to a generated Secret can be told from Passbox's own.
    /// </summary>
    public static V1Secret HashData(V1Secret secret)
    {
        var digests = SecretDataHash.PerKey(secret.Data is null ? null : new Dictionary<string, byte[]>(secret.Data));
        secret.Data = null;
        secret.StringData = null;
        secret.Metadata.Annotations ??= new Dictionary<string, string>();
        secret.Metadata.Annotations[ObservedDigestsKey] = digests;
        if (secret.Metadata.Finalizers is { Count: > 0 } finalizers)
        {
            // Every generated Secret carries this one: one shared string instead of one decoded copy per Secret.
            secret.Metadata.Finalizers = [.. finalizers.Select(f => f == Api.V1Alpha1.ApiGroup.InUseFinalizer ? Api.V1Alpha1.ApiGroup.InUseFinalizer : f)];
        }

        return secret;
    }
}
