namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The Normal event a successful check owes, held until the end of the pass. When the same pass publishes the Secret,
/// one event tells both ("Secret x created after a successful check. Logged in to …") instead of two: a credential applied for the first time
/// would otherwise cost the API server two Event writes for one outcome, which at a thousand credentials applied
/// together is a third of the writes Passbox makes. Warnings are never held.
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
