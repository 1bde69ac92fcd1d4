namespace Passbox.Operator.Runtime.LeaderElection;

/// <summary>How the work run while leading ended on a graceful stop: it decides whether the lease may be handed back.</summary>
public enum LeadingWorkEnd
{
    /// <summary>Every piece of work has ended: nothing of this process can write any more, so the lease is released.</summary>
    Finished,

    /// <summary>
    /// Work that ignored its cancellation is still running and ends only with the process. The lease is then not released,
    /// only no longer renewed: a standby takes over when it expires, once this process (and that work) is gone.
    /// </summary>
    LeftRunning,
}
