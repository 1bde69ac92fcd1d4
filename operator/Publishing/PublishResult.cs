namespace Passbox.Operator.Publishing;

public enum PublishOutcome
{
    Unchanged,
    Created,
    Updated,
    Conflict,
}

/// <summary>
/// What publishing did; the message is safe to show in a condition. <paramref name="RestartMark"/> is the revision the
/// Secret's <see cref="Api.V1Alpha1.ApiGroup.RestartPendingAnnotation"/> names after it (just written, or found), if any.
/// </summary>
public sealed record PublishResult(PublishOutcome Outcome, string Message, string? RestartMark = null)
{
    /// <summary>Why the write was a repair of a Secret edited by hand (names of keys, never values); null otherwise.</summary>
    public string? Repaired { get; init; }

    public bool Succeeded => Outcome != PublishOutcome.Conflict;

    public bool Wrote => Outcome is PublishOutcome.Created or PublishOutcome.Updated;
}
