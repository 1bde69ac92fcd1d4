using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Controllers;

/// <summary>
/// Brings the world in line with one object. Called with a private copy of the cached object, also when
/// it carries a deletionTimestamp (the reconciler runs its cleanup path and removes its finalizer).
/// Not called once the object is gone. Throwing retries the key with per-key exponential backoff.
/// </summary>
public interface IReconciler<in T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    Task<ReconcileResult> ReconcileAsync(T entity, CancellationToken cancellationToken);
}
