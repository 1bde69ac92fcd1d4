namespace Passbox.Operator.Runtime.Queue;

public sealed record WorkQueueOptions
{
    /// <summary>Delay after the first failure of a key; doubles with each further failure.</summary>
    public TimeSpan BackoffInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest delay between retries of a failing key.</summary>
    public TimeSpan BackoffCap { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How much of a backoff delay may be cut off at random.</summary>
    public double BackoffJitter { get; init; } = 0.2;
}
