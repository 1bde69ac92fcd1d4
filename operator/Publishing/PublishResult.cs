namespace Passbox.Operator.Publishing;

public enum PublishOutcome
{
    Unchanged,
    Created,
    Updated,
    Conflict,
}

/// <summary>What publishing did; the message is safe to show in a condition.</summary>
public sealed record PublishResult(PublishOutcome Outcome, string Message)
{
    public bool Succeeded => Outcome != PublishOutcome.Conflict;

    public bool Wrote => Outcome is PublishOutcome.Created or PublishOutcome.Updated;
}
