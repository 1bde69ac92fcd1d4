using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Finalizers;
using Passbox.Operator.Runtime.Status;
using Passbox.Operator.Usage;
using Passbox.Operator.Usage.Feeding;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Reconciles one credential of either kind: protects it with the in-use finalizer before anything is published,
/// runs the shared validate-then-publish pipeline, reports who uses it, and on deletion waits until nothing uses its
/// Secret any more (or <c>passbox.dev/force-delete</c> says not to) before deleting the Secret and letting go.
/// </summary>
public sealed partial class CredentialReconciler<T, TStatus>(
    ICredentialKind<T> kind,
    CredentialPipeline pipeline,
    GeneratedSecretPublisher publisher,
    StatusWriter statusWriter,
    FinalizerManager finalizers,
    UsageIndex usage,
    UsageScope usageScope,
    RetiredSecrets retired,
    ReleaseRetries releaseRetries,
    IEventSink events,
    TimeProvider time,
    ILogger<CredentialReconciler<T, TStatus>> logger) : IReconciler<T>
    where T : class, IKubernetesObject<V1ObjectMeta>, IStatus<TStatus?>
    where TStatus : CredentialStatus, new()
{
    /// <summary>How many users the status names; the count covers all of them.</summary>
    public const int UsersShown = 5;

    /// <summary>How soon a deletion looks again while the namespace's users are still being listed.</summary>
    public static readonly TimeSpan UsageListingRetry = TimeSpan.FromSeconds(1);

    /// <summary>How soon a deletion looks again while the namespace's users cannot be listed (RBAC, say).</summary>
    public static readonly TimeSpan UsageUnknownRetry = TimeSpan.FromSeconds(15);

    public async Task<ReconcileResult> ReconcileAsync(T entity, CancellationToken cancellationToken)
    {
        if (entity.Metadata.DeletionTimestamp is not null)
        {
            return await DeleteAsync(entity, cancellationToken);
        }

        // The status this pass starts from, and the private copy it changes (the cached object stays as the server said).
        var basis = StatusJson(entity);
        var status = entity.Status is null ? new TStatus() : KubernetesJson.Deserialize<TStatus>(basis);
        if (pipeline.StatusLags(entity, status))
        {
            return ReconcileResult.Requeue(CredentialPipeline.CacheLagRetry);
        }

        // The finalizer patch runs beside the pipeline's reads and login; the pipeline waits for it before it creates
        // anything (see DeletionProtection). Without a patch to send, the task has already completed.
        var adding = finalizers.AddAsync(entity, ApiGroup.InUseFinalizer, cancellationToken);
        TimeSpan? requeue;
        try
        {
            requeue = await pipeline.RunAsync(entity, kind, status, cancellationToken, DeletionProtection.After(adding, ApiGroup.InUseFinalizer));
        }
        catch (CheckSupersededException)
        {
            // The spec or a source Secret changed while the check ran: nothing of it is written, and the next pass checks
            // the new inputs at once (the event that cancelled it queued the credential too; asked again here so that
            // an event held back behind this pass cannot be missed).
            if (await adding is null)
            {
                return ReconcileResult.Done;
            }

            return ReconcileResult.Requeue(TimeSpan.Zero);
        }
        catch
        {
            // The pipeline's failure is the one to report; the finalizer patch must not end as an unobserved exception.
            _ = adding.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw;
        }

        var current = await adding;
        if (current is null)
        {
            return ReconcileResult.Done; // Deleted meanwhile: the pipeline created nothing.
        }

        status.UsedBy = Usage(current, status);
        var conditions = new ConditionSet(status.Conditions, current.Metadata.Generation, time);
        conditions.Remove(ConditionTypes.DeletionBlocked);
        var stalledRequeue = StalledCondition.Apply(conditions, kind.BacksOff,
            (reason, message) => kind.WaitsForMissingObject(current, reason, message), time.GetUtcNow());
        status.Conditions = conditions.ToList();
        if (stalledRequeue is { } grace && (requeue is null || grace < requeue))
        {
            requeue = grace;
        }

        // Written only over the status this pass started from. Another one means the cached copy lagged behind an earlier
        // pass's write (a check, a publish); writing over it would undo that, and the credential would describe inputs
        // it no longer has. The pass is then repeated from a fresher copy, with backoff, should the cache stay behind.
        var written = await statusWriter.WriteAsync(current, fresh => ReferenceEquals(fresh, entity) || StatusJson(fresh) == basis ? status : null, cancellationToken);
        if (written is StatusWriteResult.Outdated or StatusWriteResult.Superseded)
        {
            // A check this pass ran is not in the status: the next pass (of the new spec, say one edited while a check hung
            // on an unreachable host) must not wait for its write to reach the cache.
            pipeline.StatusNotWritten(current);
        }
        else if (written == StatusWriteResult.Patched)
        {
            // Written over the status this pass started from (see above): a change of Ready is logged once, here.
            ReadinessLog.Changed(logger, kind.KindName, current.Metadata, entity.Status?.Conditions, status.Conditions);
        }

        if (written == StatusWriteResult.Outdated)
        {
            return ReconcileResult.Backoff;
        }

        return requeue is { } after ? ReconcileResult.Requeue(after) : ReconcileResult.Done;
    }

    private async Task<ReconcileResult> DeleteAsync(T entity, CancellationToken ct)
    {
        if (!FinalizerManager.Has(entity, ApiGroup.InUseFinalizer))
        {
            return ReconcileResult.Done;
        }

        var meta = entity.Metadata;
        // Read only: what a deletion writes goes onto the status the object has when written (see BlockDeletionAsync).
        var status = entity.Status ?? new TStatus();
        var forced = meta.Annotations?.TryGetValue(ApiGroup.ForceDeleteAnnotation, out var force) == true
            && string.Equals(force, "true", StringComparison.OrdinalIgnoreCase);
        if (!forced && !usageScope.IsComplete(meta.NamespaceProperty))
        {
            // The namespace's first credential brought it into the usage index a moment ago and its Pods and workloads
            // are still being listed: an empty answer now would mean "not known yet", not "unused".
            if (usageScope.Problem(meta.NamespaceProperty) is { } problem)
            {
                await BlockDeletionAsync(entity, ConditionReasons.UsageUnknown,
                    $"deletion waits until the operator knows what uses Secret {SecretName(entity, status)}: {problem}. " +
                    $"Check the operator's RBAC ({problem.RbacHint}), or annotate " +
                    $"{ApiGroup.ForceDeleteAnnotation}=\"true\" to delete anyway", ct);

                // The list retries with its own backoff; a failure that persists (RBAC) is not looked at every second.
                return ReconcileResult.Requeue(UsageUnknownRetry);
            }

            if (usageScope.Kinds.Current is { } listing)
            {
                // A CRD created after the operator started: its runs, in any namespace, are not all indexed yet. Said in
                // the condition, as a kind that cannot be listed (RBAC) would otherwise hold the deletion without a word.
                var failed = listing.Problem is { } why
                    ? $": {why}. Check the operator's RBAC (list and watch on {listing.Definition}), or annotate "
                    : ". Annotate ";
                await BlockDeletionAsync(entity, ConditionReasons.UsageUnknown,
                    $"deletion waits until the operator has listed the {listing.Kind} objects (CRD {listing.Definition}, created " +
                    $"after it started), which may use Secret {SecretName(entity, status)}{failed}" +
                    $"{ApiGroup.ForceDeleteAnnotation}=\"true\" to delete anyway", ct);

                // The listing's end (listed, or the CRD deleted or not served) and each new failure wake the credentials
                // being deleted; no polling.
                return ReconcileResult.Done;
            }

            return ReconcileResult.Requeue(UsageListingRetry);
        }

        var users = UsersOf(entity, status);

        if (users.Count > 0 && !forced)
        {
            await BlockDeletionAsync(entity, ConditionReasons.InUse,
                $"deletion waits until nothing uses Secret {SecretName(entity, status)}: {Describe(users)}. " +
                $"Remove those users, or annotate {ApiGroup.ForceDeleteAnnotation}=\"true\" to delete anyway", ct, ToStatus(users));

            // The usage index requeues this credential when a user goes away; no polling.
            return ReconcileResult.Done;
        }

        var dependents = kind.Provisioning?.DependentsOf(entity) ?? [];
        if (dependents.Count > 0 && !forced)
        {
            await BlockDeletionAsync(entity, ConditionReasons.ProvisionedDependents,
                $"deletion waits until no provisioned credential names this one as its admin (provisioning.adminCredentialRef): " +
                $"{DescribeNames(dependents)}; they need its login to drop or keep their users. Delete them first, or annotate " +
                $"{ApiGroup.ForceDeleteAnnotation}=\"true\" to delete anyway (their users then stay on the server)", ct);

            // Each dependent's disappearance requeues this credential (see AdminReferences); no polling.
            return ReconcileResult.Done;
        }

        if (dependents.Count > 0)
        {
            await events.WarningAsync(entity, "ForceDeleted", $"deleted although {DescribeNames(dependents)} still name it as their admin ({ApiGroup.ForceDeleteAnnotation})", ct);
        }

        if (users.Count > 0)
        {
            await events.WarningAsync(entity, "ForceDeleted", $"deleted although still used by {Describe(users)} ({ApiGroup.ForceDeleteAnnotation})", ct);
        }

        if (kind.Provisioning is { } keeping && users.Count > 0)
        {
            // Forced while still used: the credential and its Secret go, but the user those workloads log in as stays.
            // Said only of a user the deletion would have dropped: a login Passbox does not manage, or one it retains
            // anyway, is nobody's to drop by hand.
            if (keeping.DropsUserOnDeletion(entity))
            {
                await events.WarningAsync(entity, "UserKept",
                    $"the user stays on the server because {Describe(users)} still use it; drop it by hand once they are gone", ct);
            }
        }
        else if (kind.Provisioning is { } provisioning)
        {
            // Only now, with nobody using the Secret, may the user behind it be dropped.
            var release = await provisioning.ReleaseAsync(entity, ct);
            if (!release.Released && !forced)
            {
                // Not every 15 s whatever the reason: a refused administrator login retried that often locks the account.
                var after = releaseRetries.After(CheckMemory.KeyOf(entity), release);
                var next = ValidationPlanner.IsTransient(release.Reason)
                    ? string.Empty
                    : $"; the next attempt comes after the administrator's validation.interval ({GoDuration.Format(after)}), or when this credential is edited";
                await BlockDeletionAsync(entity, release.Reason,
                    $"{release.Message}. Fix it, or annotate {ApiGroup.ForceDeleteAnnotation}=\"true\" to delete without dropping the user{next}", ct);
                return ReconcileResult.Requeue(after);
            }

            if (!release.Released)
            {
                await events.WarningAsync(entity, "ForceDeleted", $"deleted without dropping the user ({ApiGroup.ForceDeleteAnnotation}): {release.Message}", ct);
            }
            else if (release.Message is { } done)
            {
                await events.NormalAsync(entity, release.Reason, done, ct);
            }
        }

        // The status may not name the Secret yet (deleted while the reconcile that created it was still writing its
        // status), so the name it is generated under is tried too; only a Secret this credential owns is deleted.
        foreach (var secretName in new[] { status.SecretName, kind.SecretName(entity) }.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            await publisher.DeleteAsync(meta.Uid, meta.NamespaceProperty, secretName, ct);
        }

        await finalizers.RemoveAsync(entity, ApiGroup.InUseFinalizer, ct);
        pipeline.Forget(entity);
        releaseRetries.Forget(CheckMemory.KeyOf(entity));
        LogReleased(logger, meta.NamespaceProperty, meta.Name, users.Count);
        return ReconcileResult.Done;
    }

    /// <summary>
    /// Says why the deletion waits: a DeletionBlocked condition (and who uses the Secret, when known), and an event when
    /// the reason is new. Only these fields are set, on whatever status the object has when written, so a copy that
    /// lags behind an earlier write cannot undo it. The condition follows every change of the users; the event does not:
    /// its message names them and counts the rest, so a Deployment of a thousand Pods rolling or scaling down while the
    /// deletion waits would otherwise leave a Warning for each Pod that came or went.
    /// </summary>
    private async Task BlockDeletionAsync(T entity, string reason, string message, CancellationToken ct, UsageStatus? usedBy = null)
    {
        var alreadyBlocked = entity.Status?.Conditions?.Find(c => c.Type == ConditionTypes.DeletionBlocked) is { Status: "True" } blocked
            && blocked.Reason == reason;
        await statusWriter.WriteAsync(entity, fresh =>
        {
            var status = CopyStatus(fresh);
            var conditions = new ConditionSet(status.Conditions, fresh.Metadata.Generation, time);
            conditions.Set(ConditionTypes.DeletionBlocked, true, reason, message);
            status.Conditions = conditions.ToList();
            status.UsedBy = usedBy ?? status.UsedBy;
            return status;
        }, ct);
        if (!alreadyBlocked)
        {
            // The log says it too, once per reason as the event: Events expire after an hour and are not in a log
            // pipeline, where someone asked why a namespace will not go looks first. Information: a deletion waiting
            // for its users is the protection working, not a fault of the operator.
            LogDeletionBlocked(logger, kind.KindName, entity.Metadata.NamespaceProperty, entity.Metadata.Name, reason, message);
            await events.WarningAsync(entity, "DeletionBlocked", message, ct);
        }
    }

    private static string DescribeNames(IReadOnlyList<string> names) => NameList.Join(names, UsersShown);

    private UsageStatus Usage(T entity, CredentialStatus status) => ToStatus(UsersOf(entity, status));

    /// <summary>Users of the credential, of its Secret, and of the Secrets it generated under earlier names (deleted with it).</summary>
    private IReadOnlyList<UsageUser> UsersOf(T entity, CredentialStatus status)
    {
        var meta = entity.Metadata;
        var users = usage.UsersOfCredential(meta.NamespaceProperty, meta.Name, status.SecretName);
        var ofRetired = retired.Users(meta.NamespaceProperty, meta.Uid, status.SecretName).ToList();
        return ofRetired.Count == 0 ? users : [.. users.Concat(ofRetired).Distinct().Order()];
    }

    private static UsageStatus ToStatus(IReadOnlyList<UsageUser> users) => new()
    {
        Count = users.Count,
        Items = users.Count == 0 ? null : users.Take(UsersShown).Select(u => new UsageReference { Kind = u.Kind, Name = u.Name }).ToList(),
    };

    private static string Describe(IReadOnlyList<UsageUser> users) => DescribeNames(users.Select(u => $"{u.Kind} {u.Name}").ToList());

    private static string SecretName(T entity, CredentialStatus status) => status.SecretName ?? entity.Metadata.Name;

    /// <summary>The object's status as JSON, empty when it has none (the serializer refuses null).</summary>
    private static string StatusJson(T entity) => entity.Status is null ? string.Empty : KubernetesJson.Serialize(entity.Status);

    /// <summary>A private copy, so the cached object stays what the API server last said.</summary>
    private static TStatus CopyStatus(T entity) =>
        entity.Status is null ? new TStatus() : KubernetesJson.Deserialize<TStatus>(KubernetesJson.Serialize(entity.Status));

    [LoggerMessage(Level = LogLevel.Information, Message = "Deletion of {Kind} {Namespace}/{Name} waits: {Reason}: {Detail}")]
    private static partial void LogDeletionBlocked(ILogger logger, string kind, string @namespace, string name, string reason, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Namespace}/{Name} for deletion ({Users} users left)")]
    private static partial void LogReleased(ILogger logger, string @namespace, string name, int users);
}
