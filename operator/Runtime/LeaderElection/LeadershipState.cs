namespace Passbox.Operator.Runtime.LeaderElection;

public enum LeadershipState
{
    /// <summary>Leader election is off: this process always acts.</summary>
    Disabled,

    /// <summary>Waiting for the lease (another process leads, or none has acquired it yet).</summary>
    Candidate,

    Leading,

    /// <summary>The lease could not be renewed in time; the process is stopping.</summary>
    Lost,

    /// <summary>Stopped after a graceful shutdown (the lease was released if held).</summary>
    Stopped,
}
