namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The Normal event a successful check owes, held until the end of the pass. When the same pass publishes the
/// Secret, one event tells both ("Secret x created after a successful check: Logged in to …"; a colon, since a pipeline
/// check tells its result in lower case, "user ci-bot can read …") instead of two: a new credential otherwise costs an
/// extra Event write, one in five of the writes it takes, for the same outcome. Warnings are never held.
/// </summary>
internal sealed class PassNotices
{
    private (string Reason, string Message)? checkSucceeded;

    /// <summary>Holds the notice of a check that succeeded where the last one had not.</summary>
    public void CheckSucceeded(string reason, string message) => checkSucceeded = (reason, message);

    /// <summary>The held check notice, once; null when there is none or it was already told.</summary>
    public (string Reason, string Message)? TakeCheckSucceeded()
    {
        var held = checkSucceeded;
        checkSucceeded = null;
        return held;
    }
}
