using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Finalizers;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The in-use finalizer of one reconcile, possibly still being added. What a pass only reads — the source Secrets, the
/// login — runs while the finalizer patch is in flight; what it creates — the published Secret, a user or generated
/// password for a managed credential — waits until the finalizer is in place, so nothing exists that a deletion could
/// take away from a workload without Passbox deciding. A new credential thereby pays the source read and the login
/// beside its finalizer patch instead of after it, which is most of the difference when thousands arrive at once.
/// </summary>
public sealed class DeletionProtection
{
    private readonly Func<Task<bool>> waitForFinalizer;
    private Task<bool>? waiting;

    /// <param name="waitForFinalizer">
    /// Completes with true once the finalizer is on the credential, false when it is gone. Called on the first wait
    /// only, so a pass that never creates anything leaves no task behind whose failure nobody observes.
    /// </param>
    public DeletionProtection(Func<Task<bool>> waitForFinalizer)
    {
        ArgumentNullException.ThrowIfNull(waitForFinalizer);
        this.waitForFinalizer = waitForFinalizer;
    }

    /// <summary>
    /// Protection by the finalizer patch <paramref name="adding"/> (FinalizerManager.AddAsync): in place only when the
    /// object it returns carries <paramref name="finalizer"/>. A credential deleted before the patch landed comes back
    /// without it (the API allows no new finalizers then), kept alive by someone else's finalizer: anything created
    /// for it now (a Secret, a database user) would never be cleaned up.
    /// </summary>
    public static DeletionProtection After<T>(Task<T?> adding, string finalizer)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(adding);
        return new DeletionProtection(async () => await adding.ConfigureAwait(false) is { } current && FinalizerManager.Has(current, finalizer));
    }

    /// <summary>For a credential that already carries the finalizer.</summary>
    public static DeletionProtection AlreadyInPlace { get; } = new(() => Task.FromResult(true));

    /// <summary>Waits for the finalizer; false when the credential was deleted meanwhile and nothing may be created.</summary>
    public Task<bool> WaitAsync() => waiting ??= waitForFinalizer();
}
