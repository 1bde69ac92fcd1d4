namespace Passbox.Operator.Runtime.Status;

public enum StatusWriteResult
{
    /// <summary>The stored status already matched; no request was sent.</summary>
    Unchanged,

    /// <summary>The status was patched.</summary>
    Patched,

    /// <summary>The spec changed meanwhile (new generation); the status computed for the old one was not written. A reconcile for the new generation follows.</summary>
    Superseded,

    /// <summary>
    /// The object's status changed since the caller computed its own (the caller's copy lagged behind an earlier write),
    /// so writing it would undo that change: nothing was written, and the caller computes again from a fresher copy.
    /// </summary>
    Outdated,

    /// <summary>The object no longer exists.</summary>
    NotFound,
}
