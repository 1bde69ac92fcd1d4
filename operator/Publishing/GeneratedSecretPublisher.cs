using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Publishing;

/// <summary>
/// Writes a credential's generated Secret: creates it, repairs it when it drifted, and never touches a Secret of the
/// same name that belongs to someone else. Compares with the cache first so an unchanged Secret costs no request.
/// </summary>
public sealed partial class GeneratedSecretPublisher(IKubernetes client, IGeneratedSecretView view, ILogger<GeneratedSecretPublisher> logger, OwnWrites? ownWrites = null)
{
    public const string FieldManager = Runtime.Api.FieldManagerQuery.Name;

    /// <summary>
    /// Brings the Secret to <paramref name="payload"/>. A write that changes it also marks it with
    /// <paramref name="restartMark"/> when that is set (a restart is owed once its data changes; see
    /// <see cref="Api.V1Alpha1.ApiGroup.RestartPendingAnnotation"/>); creating a Secret never marks it.
    /// <paramref name="published"/> says the credential's status shows this Secret published (its name in
    /// status.secretName, with a published revision): a Secret naming this owner that the status does not show was not
    /// necessarily written by Passbox (anyone who may create Secrets here and read the credential knows its uid), so it is
    /// cleaned like a taken-over one before the credential is written into it (<see cref="TakeOverAsync"/>).
    /// </summary>
    public async Task<PublishResult> PublishAsync(V1OwnerReference owner, string namespaceName, SecretPayload payload, bool published, string? restartMark, CancellationToken ct)
    {
        var observed = view.Find(namespaceName, payload.Name);
        if (observed is null)
        {
            return await CreateOrAdoptAsync(owner, namespaceName, payload, published, restartMark, ct);
        }

        if (!observed.IsOwnedBy(owner.Uid))
        {
            if (!observed.IsLeftFromEarlier(owner))
            {
                return ForeignSecret(namespaceName, payload.Name);
            }

            if (!observed.Terminating)
            {
                observed = ObservedSecret.From(await TakeOverAsync(owner, namespaceName, payload, observed, leftFromEarlier: true, ct));
            }
        }
        else if (!published && !observed.Terminating && HoldsMoreThanPassboxWrites(observed, payload))
        {
            observed = ObservedSecret.From(await TakeOverAsync(owner, namespaceName, payload, observed, leftFromEarlier: false, ct));
        }

        if (observed.Terminating)
        {
            // Deleted by someone while its credential lives (the credential's own deletion never publishes): the
            // deletion is let through, and the Secret published anew.
            await ReleaseAsync(namespaceName, payload.Name, observed, ct);
            return await CreateOrAdoptAsync(owner, namespaceName, payload, published, restartMark, ct);
        }

        if (observed.Matches(payload))
        {
            if (observed.IsProtected)
            {
                return new PublishResult(PublishOutcome.Unchanged, $"Secret {payload.Name} is up to date", observed.RestartMark);
            }

            return await ProtectAsync(namespaceName, payload.Name, observed.Uid, ct) is { } protectedSecret
                ? new PublishResult(PublishOutcome.Unchanged, $"Secret {payload.Name} is up to date", ObservedSecret.From(protectedSecret).RestartMark)
                : await CreateOrAdoptAsync(owner, namespaceName, payload, published, restartMark, ct);
        }

        return await UpdateAsync(owner, namespaceName, payload, observed, live: null, restartMark, ct);
    }

    /// <summary>
    /// Asks the API server whether it would take the write <see cref="PublishAsync"/> would make now, with
    /// <c>dryRun=All</c>: validation, quotas and admission (policies, and webhooks, which are told it is a dry run) judge
    /// it, and nothing is stored. Throws what the server would answer the real write. Nothing is asked when that write
    /// would not happen (the Secret already matches, or is not this owner's) or could not be rehearsed as it will be made
    /// (a Secret being deleted, released first): the real write reports those as it always does.
    /// </summary>
    public async Task RehearseAsync(V1OwnerReference owner, string namespaceName, SecretPayload payload, string? restartMark, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(owner);
        ArgumentNullException.ThrowIfNull(payload);
        var observed = view.Find(namespaceName, payload.Name);
        if (observed is not null && (!observed.IsOwnedBy(owner.Uid) || observed.Terminating || observed.Matches(payload)))
        {
            return;
        }

        try
        {
            if (observed is null)
            {
                await client.CoreV1.CreateNamespacedSecretAsync(Build(owner, namespaceName, payload, restartMark: null), namespaceName,
                    dryRun: "All", fieldManager: FieldManager, cancellationToken: ct);
            }
            else if (observed.Type != payload.Type)
            {
                await TryCreateAsync(owner, namespaceName, payload, ct);
            }
            else
            {
                var body = KubernetesJson.Serialize(Build(owner, namespaceName, payload, restartMark));
                await client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(body, V1Patch.PatchType.ApplyPatch), payload.Name, namespaceName,
                    dryRun: "All", fieldManager: FieldManager, force: true, cancellationToken: ct);
            }
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // The cache is behind (the Secret came or went): the real write finds out which, as it does without a rehearsal.
        }
    }

    /// <summary>
    /// The Secret under <paramref name="name"/> as the cache last saw it: its uid and resourceVersion, or <c>none</c>.
    /// A write refused against it is held back only while this stays the same (<see cref="Controllers.Shared.RefusedWriteBackoff"/>):
    /// a Secret deleted or changed since, by hand or by anyone, may now take the write (a policy that refuses updates
    /// but not creates, a hand edit undone) or need none, so it is published at once.
    /// </summary>
    public string CachedState(string namespaceName, string name) =>
        view.Find(namespaceName, name) is { } observed ? $"{observed.Uid}@{observed.ResourceVersion}" : "none";

    /// <summary>
    /// The values the Secret under <paramref name="name"/> holds now, read from the API server; empty when it is gone.
    /// Only for a refused write, whose message may quote the object being replaced or deleted (a policy's
    /// messageExpression printing <c>oldObject.data</c>): the cache keeps digests of the data, not the values, and those
    /// can be the password before a rotation, which nothing else the operator holds any longer. Null when the read failed:
    /// the pass that reports the refusal must not fail for it, so it is logged (its type only), and the caller then leaves
    /// the server's words out rather than risk them quoting a value it could not cut.
    /// </summary>
    public async Task<IReadOnlyList<string>?> HeldValuesAsync(string namespaceName, string name, CancellationToken ct)
    {
        try
        {
            var live = await TryReadAsync(namespaceName, name, ct);
            return [.. (live?.Data ?? new Dictionary<string, byte[]>()).Values.Where(v => v is not null).Select(v => Encoding.UTF8.GetString(v))];
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogHeldValuesUnread(logger, namespaceName, name, e.GetType().Name);
            return null;
        }
    }

    /// <summary>
    /// Deletes the generated Secret if, and only if, it is still the one this owner generated, finalizer first. A cached
    /// copy is trusted only when it shows the finalizer: one without it may predate the finalizer's arrival, and a
    /// Secret deleted with the finalizer still on would wait for good, for a credential that is gone.
    /// </summary>
    public async Task DeleteAsync(string ownerUid, string namespaceName, string name, CancellationToken ct)
    {
        var secret = view.Find(namespaceName, name) is { IsProtected: true } cached
            ? cached
            : await TryReadAsync(namespaceName, name, ct) is { } live ? ObservedSecret.From(live) : null;
        if (secret is null || !secret.IsOwnedBy(ownerUid))
        {
            return;
        }

        await DeleteOwnedAsync(namespaceName, name, secret, ct);
        LogDeleted(logger, namespaceName, name);
    }

    /// <summary>
    /// Takes the finalizer off the Secret with <paramref name="uid"/>, whose credential is gone without having done so
    /// (see <see cref="Controllers.Shared.LeftoverSecretReconciler"/>). False when that Secret is gone or replaced.
    /// </summary>
    public async Task<bool> ReleaseLeftoverAsync(string namespaceName, string name, string uid, CancellationToken ct) =>
        await PatchFinalizerAsync(namespaceName, name, uid, "$deleteFromPrimitiveList/finalizers", ct) is not null;

    /// <summary>Takes the finalizer off a Secret of this owner, then deletes it unless it is already on its way out.</summary>
    private async Task DeleteOwnedAsync(string namespaceName, string name, ObservedSecret secret, CancellationToken ct)
    {
        if (!await ReleaseAsync(namespaceName, name, secret, ct) || secret.Terminating)
        {
            return; // Gone, replaced, or deleted already: the finalizer was all that kept it.
        }

        try
        {
            await client.CoreV1.DeleteNamespacedSecretAsync(name, namespaceName,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = secret.Uid } }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Already gone, or replaced by a Secret we do not own: either way nothing of ours is left to delete.
        }
    }

    /// <summary>
    /// Removes Passbox's finalizer from the Secret with <paramref name="secret"/>'s uid (a strategic merge patch: other
    /// finalizers stay, and the uid in the patch makes the server refuse it for another Secret of that name). False
    /// when that Secret is gone or replaced.
    /// </summary>
    private async Task<bool> ReleaseAsync(string namespaceName, string name, ObservedSecret secret, CancellationToken ct)
    {
        if (!secret.IsProtected)
        {
            return true;
        }

        return await PatchFinalizerAsync(namespaceName, name, secret.Uid, "$deleteFromPrimitiveList/finalizers", ct) is not null;
    }

    /// <summary>
    /// Puts Passbox's finalizer on a generated Secret that matches its credential but lacks it (created by a version
    /// before the finalizer): one patch, no event, as nothing a consumer reads changes. Null when the cached Secret is
    /// no longer there to protect: deleted meanwhile (404), or replaced by another of that name (409, the uid in the
    /// patch); the caller then publishes as if the cache had never shown it, which reads the name afresh.
    /// </summary>
    private Task<V1Secret?> ProtectAsync(string namespaceName, string name, string uid, CancellationToken ct) =>
        PatchFinalizerAsync(namespaceName, name, uid, "finalizers", ct);

    /// <summary>
    /// Adds (<c>finalizers</c>) or removes (<c>$deleteFromPrimitiveList/finalizers</c>) the in-use finalizer with one
    /// strategic merge patch guarded by the uid. Null when that Secret is gone (404) or another now holds the name (409).
    /// </summary>
    private async Task<V1Secret?> PatchFinalizerAsync(string namespaceName, string name, string? uid, string finalizerField, CancellationToken ct)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["uid"] = uid, [finalizerField] = new JsonArray(Api.V1Alpha1.ApiGroup.InUseFinalizer) },
        };
        try
        {
            var protectedSecret = await client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.StrategicMergePatch),
                name, namespaceName, fieldManager: FieldManager, cancellationToken: ct);
            ownWrites?.Record(protectedSecret.Metadata);
            return protectedSecret;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            return null;
        }
    }

    private async Task<PublishResult> CreateOrAdoptAsync(V1OwnerReference owner, string namespaceName, SecretPayload payload, bool published, string? restartMark, CancellationToken ct)
    {
        try
        {
            await CreateAsync(owner, namespaceName, payload, restartMark: null, ct);
            LogCreated(logger, namespaceName, payload.Name);
            return new PublishResult(PublishOutcome.Created, $"Secret {payload.Name} created");
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            // The name is taken. Ours whose labels were stripped by hand can be adopted back; anything else is foreign.
            var live = await TryReadAsync(namespaceName, payload.Name, ct);
            if (live is null)
            {
                throw new InvalidOperationException($"Secret {namespaceName}/{payload.Name} existed on create and vanished on read; will retry");
            }

            var observed = ObservedSecret.From(live);
            if (!observed.IsOwnedBy(owner.Uid))
            {
                if (!observed.IsLeftFromEarlier(owner))
                {
                    return ForeignSecret(namespaceName, payload.Name);
                }

                if (observed.Terminating)
                {
                    // Left by an earlier credential and deleted since (the garbage collector, its owner being gone):
                    // let go, and this credential's own published the next time round.
                    await ReleaseAsync(namespaceName, payload.Name, observed, ct);
                    throw new InvalidOperationException($"Secret {namespaceName}/{payload.Name}, left by an earlier credential of this name, is being deleted; it is published anew once it is gone");
                }

                live = await TakeOverAsync(owner, namespaceName, payload, observed, leftFromEarlier: true, ct);
                observed = ObservedSecret.From(live);
            }
            else if (!published && !observed.Terminating && HoldsMoreThanPassboxWrites(observed, payload))
            {
                // Names this credential, yet its status shows no Secret published here: placed before the first publish
                // by someone who knows the credential's uid, or left by a pass that ended before its status write.
                live = await TakeOverAsync(owner, namespaceName, payload, observed, leftFromEarlier: false, ct);
                observed = ObservedSecret.From(live);
            }

            if (observed.Terminating)
            {
                // Ours, deleted, and held by someone else's finalizer (ours is off): nothing can be written to it. Its
                // disappearance brings the credential back through the watch; until then the reconcile backs off.
                throw new InvalidOperationException($"Secret {namespaceName}/{payload.Name} is being deleted and waits for finalizers of others; it is published anew once it is gone");
            }

            return observed.Matches(payload) && observed.IsProtected
                ? new PublishResult(PublishOutcome.Unchanged, $"Secret {payload.Name} is up to date", observed.RestartMark)
                : await UpdateAsync(owner, namespaceName, payload, observed, live, restartMark, ct);
        }
    }

    /// <summary>Brings the Secret to the payload; <c>live</c> is the Secret just read from the server (adoption), else null.</summary>
    private async Task<PublishResult> UpdateAsync(
        V1OwnerReference owner, string namespaceName, SecretPayload payload, ObservedSecret current, V1Secret? live, string? restartMark, CancellationToken ct)
    {
        if (current.Type != payload.Type)
        {
            // A Secret's type is immutable: the only way to a new format is a new object. Workloads may mount the old
            // one, so the new one is tried first: a webhook, policy or quota that refuses it then leaves the old Secret
            // in place, rather than no Secret at all.
            await TryCreateAsync(owner, namespaceName, payload, ct);
            await DeleteOwnedAsync(namespaceName, payload.Name, current, ct);
            await CreateAsync(owner, namespaceName, payload, restartMark, ct);
            LogRecreated(logger, namespaceName, payload.Name, current.Type, payload.Type);
            return new PublishResult(PublishOutcome.Updated, $"Secret {payload.Name} recreated as {payload.Type}", restartMark);
        }

        if (!await HandOverCreatedFieldsAsync(owner.Uid, namespaceName, payload.Name, live, ct))
        {
            return ForeignSecret(namespaceName, payload.Name);
        }

        // Server-side apply owns exactly the fields Passbox sets: labels or annotations others add survive, and keys
        // Passbox stopped generating are removed.
        var body = KubernetesJson.Serialize(Build(owner, namespaceName, payload, restartMark));
        var applied = await client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(body, V1Patch.PatchType.ApplyPatch), payload.Name, namespaceName,
            fieldManager: FieldManager, force: true, cancellationToken: ct);
        ownWrites?.Record(applied.Metadata);
        LogUpdated(logger, namespaceName, payload.Name);
        return current.HandEdits(payload) is { } edits
            ? new PublishResult(PublishOutcome.Updated, $"Secret {payload.Name} repaired: {edits}", restartMark) { Repaired = edits }
            : new PublishResult(PublishOutcome.Updated, $"Secret {payload.Name} updated", restartMark);
    }

    /// <summary>
    /// Takes the restart mark off the Secret once the restart it names went through: a strategic merge patch of that
    /// annotation alone (a Secret of the same name that is not Passbox's has no such annotation to lose).
    /// </summary>
    public async Task ClearRestartMarkAsync(string namespaceName, string name, CancellationToken ct)
    {
        var patch = new JsonObject
        {
            ["metadata"] = new JsonObject { ["annotations"] = new JsonObject { [Api.V1Alpha1.ApiGroup.RestartPendingAnnotation] = null } },
        };
        try
        {
            var cleared = await client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.StrategicMergePatch),
                name, namespaceName, fieldManager: FieldManager, cancellationToken: ct);
            ownWrites?.Record(cleared.Metadata);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            // Gone: nothing is left to mark.
        }
    }

    /// <summary>
    /// Creates the Secret in one request. The fields the create records belong to an Update entry of Passbox's field
    /// manager, not to its server-side apply; <see cref="HandOverCreatedFieldsAsync"/> moves them over before the first
    /// apply, off the creation path, because most generated Secrets are never updated.
    /// </summary>
    private async Task CreateAsync(V1OwnerReference owner, string namespaceName, SecretPayload payload, string? restartMark, CancellationToken ct)
    {
        var created = await client.CoreV1.CreateNamespacedSecretAsync(Build(owner, namespaceName, payload, restartMark), namespaceName, fieldManager: FieldManager, cancellationToken: ct);
        ownWrites?.Record(created.Metadata);
    }

    /// <summary>
    /// A dry-run create of the Secret, under a generated name because the real one is still taken; throws what the
    /// server would answer the real create (400/403/422 from validation, admission or quota).
    /// </summary>
    private async Task TryCreateAsync(V1OwnerReference owner, string namespaceName, SecretPayload payload, CancellationToken ct)
    {
        var trial = Build(owner, namespaceName, payload, restartMark: null);
        trial.Metadata.Name = null;
        trial.Metadata.GenerateName = payload.Name + "-";
        await client.CoreV1.CreateNamespacedSecretAsync(trial, namespaceName, dryRun: "All", fieldManager: FieldManager, cancellationToken: ct);
    }

    /// <summary>
    /// Before an apply: turns the Update entry a create left in the managed fields into Passbox's Apply entry. Without
    /// that the apply would not own those fields, and keys, labels and annotations Passbox stops generating (a consumer
    /// removed, a format changed) would stay on the Secret for good. This also upgrades Secrets created by versions
    /// that never handed over. False when the live Secret is not this owner's. The cache holds no managed fields, so
    /// the Secret is read here, unless the caller has just read it (adoption after a create found the name taken).
    /// </summary>
    private async Task<bool> HandOverCreatedFieldsAsync(string ownerUid, string namespaceName, string name, V1Secret? alreadyRead, CancellationToken ct)
    {
        var live = alreadyRead ?? await TryReadAsync(namespaceName, name, ct);
        if (live is null)
        {
            return true; // Deleted meanwhile: the apply recreates it and owns everything it writes.
        }

        if (!ObservedSecret.From(live).IsOwnedBy(ownerUid))
        {
            return false;
        }

        if (ApplyOwnershipPatch(live) is not { } patch)
        {
            return true;
        }

        try
        {
            var handedOver = await client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(patch, V1Patch.PatchType.JsonPatch), name, namespaceName, cancellationToken: ct);
            ownWrites?.Record(handedOver.Metadata);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity)
        {
            // Changed or deleted between the read and the patch (the resourceVersion test failed): the apply still
            // publishes the payload; the next update hands over again.
            LogOwnershipNotHandedOver(logger, namespaceName, name);
        }

        return true;
    }

    /// <summary>
    /// A JSON patch that turns Passbox's Update entry in the managed fields of a Secret it created into its Apply entry
    /// (what client-go's csaupgrade does), guarded by the resourceVersion; null when there is nothing to hand over.
    /// </summary>
    public static string? ApplyOwnershipPatch(V1Secret live)
    {
        ArgumentNullException.ThrowIfNull(live);
        var entries = live.Metadata?.ManagedFields ?? [];
        if (entries.Any(e => e.Manager == FieldManager && e.Operation == "Apply"))
        {
            return null; // Two entries cannot both become Passbox's apply.
        }

        var index = entries.ToList().FindIndex(e => e.Manager == FieldManager && e.Operation == "Update");
        if (index < 0 || live.Metadata!.ResourceVersion is not { } resourceVersion)
        {
            return null;
        }

        // JsonNode elements: the generic Add<T> of a collection initializer would wrap them as values through reflection.
        return new JsonArray(
            new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = resourceVersion },
            new JsonObject { ["op"] = "replace", ["path"] = $"/metadata/managedFields/{index}/operation", ["value"] = "Apply" }).ToJsonString();
    }

    private async Task<V1Secret?> TryReadAsync(string namespaceName, string name, CancellationToken ct)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, namespaceName, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Makes a Secret an earlier credential of this kind and name left (restored from a backup with the owner references
    /// of the credential it was backed up with, see <see cref="ObservedSecret.IsLeftFromEarlier"/>) this credential's, and
    /// only this credential's: its owner references are replaced by this owner, and every label, annotation and data key
    /// Passbox does not write is removed, in one JSON patch guarded by the uid and resourceVersion seen (a Secret changed
    /// meanwhile is looked at again: throws, the reconcile retries). The same object stays, so workloads keep mounting it.
    /// Nothing but the labels and owner reference vouches for such a Secret, and anyone who may create Secrets here can
    /// write those: what else it carried could send the credential Passbox is about to write into it elsewhere (a
    /// replicator's or Tekton's annotation, Argo CD's repository label and <c>url</c> key). Data keys stay when the type
    /// differs: that Secret is replaced by a new one right after (<see cref="UpdateAsync"/>), and its type's own keys may
    /// be required. A Secret that already names this owner but that its status does not show published
    /// (<paramref name="leftFromEarlier"/> false) is cleaned the same way, for the same reason. Returns the Secret as written.
    /// </summary>
    private async Task<V1Secret> TakeOverAsync(V1OwnerReference owner, string namespaceName, SecretPayload payload, ObservedSecret earlier, bool leftFromEarlier, CancellationToken ct)
    {
        var name = payload.Name;
        // Operations are added as JsonNode: JsonArray.Add<T> (what a JsonObject argument binds to) needs reflection that
        // the native build's trimming cannot keep, and fails `make publish-aot`.
        var patch = new JsonArray(new JsonObject { ["op"] = "test", ["path"] = "/metadata/uid", ["value"] = earlier.Uid });
        if (earlier.ResourceVersion is { } resourceVersion)
        {
            patch.Add((JsonNode)new JsonObject { ["op"] = "test", ["path"] = "/metadata/resourceVersion", ["value"] = resourceVersion });
        }

        patch.Add((JsonNode)new JsonObject
        {
            ["op"] = "add",
            ["path"] = "/metadata/ownerReferences",
            ["value"] = JsonNode.Parse(KubernetesJson.Serialize(new List<V1OwnerReference> { owner })),
        });

        // What Passbox writes keeps the value it has: the publish that follows compares it with the payload as for any
        // Secret of its own, so a restored Secret that is up to date is not written again (nor its workloads restarted).
        patch.Add((JsonNode)new JsonObject { ["op"] = "add", ["path"] = "/metadata/labels", ["value"] = Kept(earlier.Labels, payload.Labels.ContainsKey) });
        patch.Add((JsonNode)new JsonObject
        {
            ["op"] = "add",
            ["path"] = "/metadata/annotations",
            ["value"] = Kept(earlier.Annotations, key => payload.Annotations.ContainsKey(key) || OwnAnnotations.Contains(key)),
        });
        if (earlier.Type == payload.Type)
        {
            foreach (var key in earlier.DataKeys.Where(key => !payload.Data.ContainsKey(key)))
            {
                patch.Add((JsonNode)new JsonObject { ["op"] = "remove", ["path"] = "/data/" + key.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal) });
            }
        }

        try
        {
            var taken = await client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(patch.ToJsonString(), V1Patch.PatchType.JsonPatch), name, namespaceName,
                fieldManager: FieldManager, cancellationToken: ct);
            ownWrites?.Record(taken.Metadata);
            if (leftFromEarlier)
            {
                LogTakenOver(logger, namespaceName, name, owner.Kind, owner.Name);
            }
            else
            {
                LogCleanedUnpublished(logger, namespaceName, name, owner.Kind, owner.Name);
            }

            return taken;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity)
        {
            var whose = leftFromEarlier ? ", left by an earlier credential of this name," : ", found before its first publish,";
            throw new InvalidOperationException($"Secret {namespaceName}/{name}{whose} changed or went while it was being taken over; will retry", e);
        }

        static JsonObject Kept(IReadOnlyDictionary<string, string> held, Func<string, bool> written)
        {
            var kept = new JsonObject();
            foreach (var (key, value) in held.Where(pair => written(pair.Key)).OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                kept[key] = value;
            }

            return kept;
        }
    }

    /// <summary>
    /// A label, annotation or data key Passbox would not write is on the Secret: what <see cref="TakeOverAsync"/> removes.
    /// Checked before cleaning a Secret that names this owner but that its status does not show published, so one
    /// Passbox created itself (a pass that ended before its status write) costs no request.
    /// </summary>
    private static bool HoldsMoreThanPassboxWrites(ObservedSecret observed, SecretPayload payload) =>
        observed.Labels.Keys.Any(key => !payload.Labels.ContainsKey(key))
        || observed.Annotations.Keys.Any(key => !payload.Annotations.ContainsKey(key) && !OwnAnnotations.Contains(key))
        || (observed.Type == payload.Type && observed.DataKeys.Any(key => !payload.Data.ContainsKey(key)));

    /// <summary>
    /// The annotations Passbox writes on every generated Secret besides the payload's own, kept on a take-over. Not the
    /// restart mark: it names a restart owed by the earlier credential, and kept, its revision (one this credential never
    /// published) would have the workloads that opted in restarted for a Secret restored as it was, or when anyone says so.
    /// </summary>
    private static readonly HashSet<string> OwnAnnotations = new(StringComparer.Ordinal)
    {
        Api.V1Alpha1.ApiGroup.DataHashAnnotation, Api.V1Alpha1.ApiGroup.MetadataHashAnnotation,
    };

    private static PublishResult ForeignSecret(string namespaceName, string name) => new(PublishOutcome.Conflict,
        $"Secret {namespaceName}/{name} already exists and was not generated by this credential; Passbox leaves it alone. " +
        "Delete or rename that Secret, or set spec.secret.name to another name.");

    private static V1Secret Build(V1OwnerReference owner, string namespaceName, SecretPayload payload, string? restartMark)
    {
        var annotations = new Dictionary<string, string>(payload.Annotations)
        {
            [Api.V1Alpha1.ApiGroup.DataHashAnnotation] = payload.DataHash,
            [Api.V1Alpha1.ApiGroup.MetadataHashAnnotation] = payload.MetadataHash,
        };
        if (restartMark is not null)
        {
            annotations[Api.V1Alpha1.ApiGroup.RestartPendingAnnotation] = restartMark;
        }

        return new V1Secret
        {
            ApiVersion = "v1",
            Kind = "Secret",
            Metadata = new V1ObjectMeta
            {
                Name = payload.Name,
                NamespaceProperty = namespaceName,
                Labels = new Dictionary<string, string>(payload.Labels),
                Annotations = annotations,
                OwnerReferences = [owner],
                Finalizers = [Api.V1Alpha1.ApiGroup.InUseFinalizer],
            },
            Type = payload.Type,
            Data = new Dictionary<string, byte[]>(payload.Data),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created generated Secret {Namespace}/{Name}")]
    private static partial void LogCreated(ILogger logger, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated generated Secret {Namespace}/{Name}")]
    private static partial void LogUpdated(ILogger logger, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Recreated generated Secret {Namespace}/{Name}: type {OldType} -> {NewType}")]
    private static partial void LogRecreated(ILogger logger, string @namespace, string name, string oldType, string newType);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Generated Secret {Namespace}/{Name} changed while its created fields were handed over; trying again at the next update")]
    private static partial void LogOwnershipNotHandedOver(ILogger logger, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over generated Secret {Namespace}/{Name}: it was left by an earlier {Kind} {Credential} (restored from a backup?), and now names this one as its owner")]
    private static partial void LogTakenOver(ILogger logger, string @namespace, string name, string kind, string credential);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over Secret {Namespace}/{Name}: it names {Kind} {Credential} as its owner, but its status shows no Secret published there; labels, annotations and data keys Passbox does not write were removed")]
    private static partial void LogCleanedUnpublished(ILogger logger, string @namespace, string name, string kind, string credential);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted generated Secret {Namespace}/{Name}")]
    private static partial void LogDeleted(ILogger logger, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read Secret {Namespace}/{Name} ({ExceptionType}) to cut the values it holds out of the API server's refusal of a write")]
    private static partial void LogHeldValuesUnread(ILogger logger, string @namespace, string name, string exceptionType);
}
