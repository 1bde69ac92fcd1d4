namespace Passbox.Operator.Connectors;

/// <summary>
/// The result of one validation: whether the login worked, a reason constant from
/// <see cref="ValidationReasons"/> and a message for people. Messages are shown in conditions and
/// events, so they never contain a password, token or API key.
/// </summary>
/// <param name="Succeeded">True when the login worked.</param>
/// <param name="Reason">One of <see cref="ValidationReasons"/>.</param>
/// <param name="Message">What happened and what to do about it.</param>
/// <param name="ServerVersion">The server's version when it told us (see <see cref="ServerVersionText"/>), otherwise null.</param>
public sealed record ValidationOutcome(bool Succeeded, string Reason, string Message, string? ServerVersion)
{
    /// <summary>When the credential that just worked stops working by itself (a token's expiry), when that is known.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }

    /// <summary>
    /// Set on a refusal that this credential's own login did not get (another credential's identical login was refused a
    /// moment before, see <see cref="SharedLogins"/>): when that refusal stops answering, so one more login of this
    /// credential can tell whether the password was fixed on the server meanwhile. Null for every outcome of a login made.
    /// </summary>
    public TimeSpan? SharedRefusalEndsIn { get; init; }

    /// <summary>A successful validation; <paramref name="serverVersion"/> is kept as <see cref="ServerVersionText.Clean"/> makes it.</summary>
    public static ValidationOutcome Success(string message, string? serverVersion = null) =>
        new(true, ValidationReasons.Validated, message, ServerVersionText.Clean(serverVersion));

    /// <summary>A failed validation with one of the <see cref="ValidationReasons"/>.</summary>
    public static ValidationOutcome Failure(string reason, string message)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        if (reason == ValidationReasons.Validated)
        {
            throw new ArgumentException("A failure cannot have the success reason.", nameof(reason));
        }

        return new(false, reason, message, null);
    }
}
