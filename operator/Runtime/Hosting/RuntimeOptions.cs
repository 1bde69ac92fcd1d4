using Passbox.Operator.Runtime.Events;
using Passbox.Operator.Runtime.LeaderElection;
using Passbox.Operator.Runtime.Memory;
using Passbox.Operator.Runtime.Status;

namespace Passbox.Operator.Runtime.Hosting;

public sealed record RuntimeOptions
{
    public LeaderElectionOptions LeaderElection { get; init; } = new();

    public EventRecorderOptions Events { get; init; } = new();

    public StatusWriterOptions Status { get; init; } = new();

    public HeapTrimOptions HeapTrim { get; init; } = new();

    /// <summary>How a graceful stop shares its time; the host's shutdown timeout is set from it.</summary>
    public ShutdownBudget Shutdown { get; init; } = new();
}
