namespace Passbox.Operator.Runtime.LeaderElection;

public enum LeaderElectionOutcome
{
    /// <summary>Stopped on request; a held lease was released.</summary>
    Stopped,

    /// <summary>Leadership was lost while running: the caller must stop acting (controller-runtime exits).</summary>
    Lost,
}
