using Passbox.Operator.Runtime.Queue;

namespace Passbox.Operator.Runtime.Controllers;

public sealed record ControllerOptions
{
    /// <summary>Reconciles running at once (different keys; one key never runs twice at once).</summary>
    public int Workers { get; init; } = 2;

    /// <summary>
    /// On shutdown, how long in-flight reconciles may finish before they are cancelled. Registered with the runtime
    /// (<c>AddController</c>), a controller drains for its <c>ShutdownBudget.Drain</c> instead: a shorter value here
    /// cancelled the reconciles before a longer pod grace period had been used.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public WorkQueueOptions Queue { get; init; } = new();

    /// <summary>
    /// Skip primary updates that changed only status (same generation, labels, annotations, finalizers,
    /// deletionTimestamp): our own status writes would otherwise trigger a second, useless reconcile.
    /// </summary>
    public bool IgnoreStatusOnlyUpdates { get; init; } = true;
}
