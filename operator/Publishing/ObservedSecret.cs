using k8s.Models;

namespace Passbox.Operator.Publishing;

/// <summary>
/// What the operator remembers of a generated Secret: its metadata and a digest of each data key's value
/// (<see cref="SecretDataHash.PerKey"/>), never the data.
/// </summary>
public sealed record ObservedSecret(
    string Uid,
    string Type,
    string KeyDigests,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    IReadOnlyList<string> OwnerUids,
    IReadOnlyList<string> Finalizers,
    bool Terminating)
{
    /// <summary>
    /// The resourceVersion the cache last saw: it changes with every write of the Secret, by anyone, and with nothing
    /// else, so a refused write can tell whether the Secret is still the one it was refused against.
    /// </summary>
    public string? ResourceVersion { get; init; }

    public static ObservedSecret From(V1Secret secret) =>
        FromCached(secret, SecretDataHash.PerKey(secret.Data is null ? null : new Dictionary<string, byte[]>(secret.Data)));

    /// <summary>From a cached Secret whose data was replaced by its key digests on arrival.</summary>
    public static ObservedSecret FromCached(V1Secret secret, string keyDigests) => new(
        secret.Metadata.Uid ?? "",
        secret.Type ?? "Opaque",
        keyDigests,
        new Dictionary<string, string>(secret.Metadata.Labels ?? new Dictionary<string, string>()),
        new Dictionary<string, string>(secret.Metadata.Annotations ?? new Dictionary<string, string>()),
        (secret.Metadata.OwnerReferences ?? []).Select(o => o.Uid).ToList(),
        [.. secret.Metadata.Finalizers ?? []],
        secret.Metadata.DeletionTimestamp is not null)
    {
        ResourceVersion = secret.Metadata.ResourceVersion,
    };

    public bool IsOwnedBy(string ownerUid) => OwnerUids.Contains(ownerUid);

    /// <summary>
    /// Carries Passbox's finalizer, which keeps it while the credential's deletion waits for its users: the garbage
    /// collector deletes a credential's dependents at once when the credential is deleted in the foreground (Argo CD's
    /// prune, <c>kubectl delete --cascade=foreground</c>), whatever finalizer holds the credential itself.
    /// </summary>
    public bool IsProtected => Finalizers.Contains(Api.V1Alpha1.ApiGroup.InUseFinalizer);

    /// <summary>The revision a restart is still owed for (<see cref="Api.V1Alpha1.ApiGroup.RestartPendingAnnotation"/>), if any.</summary>
    public string? RestartMark => Annotations.TryGetValue(Api.V1Alpha1.ApiGroup.RestartPendingAnnotation, out var mark) ? mark : null;

    /// <summary>
    /// True when the Secret carries everything the payload asks for and was last written by Passbox for the same data,
    /// labels and annotations (the hashes it records, so no key, label or annotation Passbox wrote before is unwanted
    /// now: the apply that wrote them removed what Passbox had stopped generating). What others add is fine, data keys
    /// included: Passbox's apply never removes a field another manager owns, so treating an added key as drift would
    /// write on every pass and change nothing. A key of Passbox's edited or deleted by hand does not match.
    /// </summary>
    public bool Matches(SecretPayload payload) =>
        Type == payload.Type
        && SecretDataHash.ContainsEvery(KeyDigests, payload.KeyDigests)
        && Contains(Labels, payload.Labels)
        && Contains(Annotations, payload.Annotations)
        && Annotations.TryGetValue(Api.V1Alpha1.ApiGroup.DataHashAnnotation, out var recorded) && recorded == payload.DataHash
        && Annotations.TryGetValue(Api.V1Alpha1.ApiGroup.MetadataHashAnnotation, out var metadata) && metadata == payload.MetadataHash;

    /// <summary>
    /// What was changed by hand since Passbox last wrote the Secret, when it still asks for what it wrote then (the hashes
    /// it recorded are the payload's): the data keys and the label and annotation keys that no longer hold it, by name
    /// only. Null when Passbox now asks for something else (new inputs, a changed spec) or recorded nothing to compare.
    /// </summary>
    public string? HandEdits(SecretPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var edits = new List<string>();
        if (Annotations.TryGetValue(Api.V1Alpha1.ApiGroup.DataHashAnnotation, out var data) && data == payload.DataHash)
        {
            var held = KeyDigests.Split(';', StringSplitOptions.RemoveEmptyEntries);
            var keys = payload.KeyDigests.Split(';', StringSplitOptions.RemoveEmptyEntries)
                .Where(entry => !held.Contains(entry, StringComparer.Ordinal))
                .Select(entry => entry[..entry.IndexOf('=', StringComparison.Ordinal)])
                .ToList();
            if (keys.Count > 0)
            {
                edits.Add($"data {(keys.Count == 1 ? "key" : "keys")} {Quoted(keys)}");
            }
        }

        if (Annotations.TryGetValue(Api.V1Alpha1.ApiGroup.MetadataHashAnnotation, out var metadata) && metadata == payload.MetadataHash)
        {
            var labels = Differing(Labels, payload.Labels);
            var annotations = Differing(Annotations, payload.Annotations);
            if (labels.Count > 0)
            {
                edits.Add($"{(labels.Count == 1 ? "label" : "labels")} {Quoted(labels)}");
            }

            if (annotations.Count > 0)
            {
                edits.Add($"{(annotations.Count == 1 ? "annotation" : "annotations")} {Quoted(annotations)}");
            }
        }

        return edits.Count == 0 ? null : $"{string.Join(" and ", edits)} had been edited or removed by hand";
    }

    private static List<string> Differing(IReadOnlyDictionary<string, string> actual, IReadOnlyDictionary<string, string> wanted) =>
        [.. wanted.Where(pair => !actual.TryGetValue(pair.Key, out var value) || value != pair.Value).Select(pair => pair.Key).Order(StringComparer.Ordinal)];

    private static string Quoted(IReadOnlyList<string> names) => string.Join(", ", names.Select(name => $"\"{name}\""));

    private static bool Contains(IReadOnlyDictionary<string, string> actual, IReadOnlyDictionary<string, string> wanted) =>
        wanted.All(pair => actual.TryGetValue(pair.Key, out var value) && value == pair.Value);
}

/// <summary>Read access to the operator's cache of generated Secrets (those labelled as managed by Passbox).</summary>
public interface IGeneratedSecretView
{
    ObservedSecret? Find(string namespaceName, string name);

    /// <summary>Names of the generated Secrets in <paramref name="namespaceName"/> that the object with <paramref name="ownerUid"/> owns.</summary>
    IReadOnlyList<string> NamesOwnedBy(string namespaceName, string ownerUid);
}
