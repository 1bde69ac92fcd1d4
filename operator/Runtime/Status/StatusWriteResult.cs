namespace Passbox.Operator.Runtime.Status;

public enum StatusWriteResult
{
    /// <summary>The stored status already matched; no request was sent.</summary>
    Unchanged,

    /// <summary>The status was patched.</summary>
    Patched,

    /// <summary>The spec changed meanwhile (new generation); the status computed for the old one was not written. A reconcile for the new generation follows.</summary>
    Superseded,

    /// <summary>The object no longer exists.</summary>
    NotFound,
}
