using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Publishing;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Controllers;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Lets go of a generated Secret being deleted once no credential is left to do it. The Secret's in-use finalizer is
/// there for its credential's deletion, which waits for the last user and then removes it; a credential that went
/// without that pass — its finalizer removed by hand, as people do with a namespace stuck in Terminating, or deleted with
/// <c>--cascade=orphan</c> and its Secret deleted later — left the Secret held for ever, and its namespace with it.
/// With the credential gone, nothing would ever decide about that Secret, so it is released at once.
/// </summary>
public sealed partial class LeftoverSecretReconciler(
    IInformer<ClusterCredential> clusterCredentials,
    IInformer<PipelineCredential> pipelineCredentials,
    IGeneratedSecretView generated,
    GeneratedSecretPublisher publisher,
    ILogger<LeftoverSecretReconciler> logger) : IReconciler<V1Secret>
{
    public async Task<ReconcileResult> ReconcileAsync(V1Secret entity, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entity);
        var meta = entity.Metadata;
        if (!IsHeldWhileDeleted(entity) || HasLiveOwner(entity))
        {
            return ReconcileResult.Done;
        }

        if (await publisher.ReleaseLeftoverAsync(meta.NamespaceProperty, meta.Name, meta.Uid, cancellationToken))
        {
            LogReleased(logger, meta.NamespaceProperty, meta.Name);
        }

        return ReconcileResult.Done;
    }

    /// <summary>
    /// A Secret being deleted that our finalizer still holds: the only kind this controller decides about, so the only
    /// generated Secrets whose events reach its queue (see <see cref="Runtime.Controllers.Controller{T}.ReconcilesOnly"/>).
    /// </summary>
    public static bool IsHeldWhileDeleted(V1Secret secret) =>
        secret?.Metadata is { DeletionTimestamp: not null } meta && meta.Finalizers?.Contains(ApiGroup.InUseFinalizer) == true;

    /// <summary>
    /// The generated Secrets of <paramref name="credential"/> that are being deleted: to look at again when the
    /// credential changes, since its last change may be its disappearance.
    /// </summary>
    public IEnumerable<ObjectKey> TerminatingSecretsOf(V1ObjectMeta credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        var ns = credential.NamespaceProperty;
        return generated.NamesOwnedBy(ns, credential.Uid)
            .Where(name => generated.Find(ns, name) is { Terminating: true, IsProtected: true })
            .Select(name => new ObjectKey(ns, name));
    }

    /// <summary>Whether a credential that generated the Secret still exists (the same one: a new credential of that name has another uid).</summary>
    private bool HasLiveOwner(V1Secret secret) =>
        secret.Metadata.OwnerReferences?.Any(owner => owner is not null
            && owner.ApiVersion?.StartsWith(ApiGroup.Group + "/", StringComparison.Ordinal) == true
            && owner.Kind switch
            {
                ClusterCredential.KindName => IsLive(clusterCredentials, secret.Metadata.NamespaceProperty, owner),
                PipelineCredential.KindName => IsLive(pipelineCredentials, secret.Metadata.NamespaceProperty, owner),
                _ => false,
            }) == true;

    private static bool IsLive<T>(IInformer<T> credentials, string ns, V1OwnerReference owner)
        where T : class, k8s.IKubernetesObject<V1ObjectMeta> =>
        credentials.Cache.Get(new ObjectKey(ns, owner.Name)) is { } credential && credential.Metadata.Uid == owner.Uid;

    [LoggerMessage(Level = LogLevel.Information, Message = "Released generated Secret {Namespace}/{Name}, deleted after its credential went: no credential is left to wait for its users")]
    private static partial void LogReleased(ILogger logger, string @namespace, string name);
}
