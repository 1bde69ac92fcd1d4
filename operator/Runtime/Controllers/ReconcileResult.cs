namespace Passbox.Operator.Runtime.Controllers;

/// <summary>What a reconcile asks of the queue afterwards.</summary>
public sealed record ReconcileResult
{
    private ReconcileResult()
    {
    }

    /// <summary>Nothing more to do until something changes.</summary>
    public static ReconcileResult Done { get; } = new();

    /// <summary>
    /// Retry with the key's exponential backoff without treating it as an error, for expected transient
    /// failures (an unreachable server) that should not be logged as exceptions.
    /// </summary>
    public static ReconcileResult Backoff { get; } = new() { UseBackoff = true };

    /// <summary>Reconcile again after <see cref="RequeueAfter"/> unless something triggers it sooner.</summary>
    public TimeSpan? RequeueAfter { get; private init; }

    public bool UseBackoff { get; private init; }

    public static ReconcileResult Requeue(TimeSpan after)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(after, TimeSpan.Zero);
        return new ReconcileResult { RequeueAfter = after };
    }
}
