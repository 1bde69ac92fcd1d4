namespace Passbox.Operator.Publishing;

/// <summary>Who or what refused a Secret write, as far as the API server's answer tells; each has its own remedy.</summary>
public enum SecretWriteRefusalCause
{
    /// <summary>The operator's RBAC lacks a verb on Secrets in the namespace (403, "cannot create resource").</summary>
    Permission,

    /// <summary>A ResourceQuota allows no more Secrets (403, "exceeded quota").</summary>
    Quota,

    /// <summary>
    /// An admission webhook (Kyverno, Gatekeeper) or a ValidatingAdmissionPolicy denied the write; 400, 403 or 422, as
    /// the policy chooses (a ValidatingAdmissionPolicy answers 422 unless its validation sets another reason).
    /// </summary>
    AdmissionPolicy,

    /// <summary>
    /// An admission webhook with failurePolicy Fail could not be called or failed (500, "failed calling webhook"): not a
    /// verdict on the Secret, but nothing is written until that webhook answers again.
    /// </summary>
    AdmissionWebhookFailed,

    /// <summary>Over the API server's limits: 1 MiB of data for a Secret (422, "Too long") or 3 MiB for a request (413).</summary>
    TooLarge,

    /// <summary>The API server's own validation (422): a label, annotation or type it does not take.</summary>
    Invalid,

    /// <summary>Any other 400 or 403 (a webhook's verdict without its usual words, a namespace being deleted).</summary>
    Other,
}
