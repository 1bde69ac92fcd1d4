namespace Passbox.Operator.Connectors;

/// <summary>
/// One session's turn at an endpoint: held back (<see cref="HeldBack"/> says why), or let through, and then to be
/// ended once by its owner, which alone can end the trial login of a spell.
/// </summary>
public sealed class LoginTurn
{
    private readonly EndpointTimeouts owner;
    private int ended;

    internal LoginTurn(EndpointTimeouts owner, string endpoint, string? heldBack)
    {
        this.owner = owner;
        Endpoint = endpoint;
        HeldBack = heldBack;
    }

    /// <summary>Why the session must not connect now; null when it may.</summary>
    public string? HeldBack { get; }

    internal string Endpoint { get; }

    /// <summary>
    /// The session ended: <paramref name="timedOut"/> when its login got no answer within <paramref name="given"/>
    /// (the time the driver had for it), false when the server answered, null when cut short by its caller. Only the
    /// first call counts; a turn held back has nothing to end.
    /// </summary>
    public void Ended(bool? timedOut, TimeSpan given)
    {
        if (HeldBack is null && Interlocked.Exchange(ref ended, 1) == 0)
        {
            owner.End(this, timedOut, given);
        }
    }
}
