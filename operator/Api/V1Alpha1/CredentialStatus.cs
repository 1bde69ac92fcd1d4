using System.ComponentModel.DataAnnotations;
using System.Diagnostics.CodeAnalysis;
using k8s.Models;
using Passbox.Operator.Api.Schema;

namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>Status fields both kinds share.</summary>
public abstract class CredentialStatus
{
    /// <summary>The generation of the spec this status describes.</summary>
    public long? ObservedGeneration { get; set; }

    /// <summary>Version the server reported at the last successful check.</summary>
    public string? ServerVersion { get; set; }

    /// <summary>
    /// When a check last succeeded with a new result: the first success for the current inputs, a recovery, or a new
    /// server version. Periodic checks that find the same are not written, so an idle operator writes nothing.
    /// </summary>
    public DateTime? LastValidated { get; set; }

    /// <summary>
    /// When the last check that changed this status ran; every failed check is written at once. Periodic checks
    /// that confirm the status still run every interval but are not written.
    /// </summary>
    public DateTime? LastAttempted { get; set; }

    /// <summary>
    /// Fingerprint of the inputs of the last check: the spec fields the login depends on and the versions of the source
    /// Secrets (never their content). An edit that leaves it as it is (the description, the Secret's labels) asks for no
    /// check; a failed login is retried early only when it changes.
    /// </summary>
    public string? AttemptedRevision { get; set; }

    /// <summary>
    /// When the credentials that passed the last successful check stop working by themselves, when they say so (today a
    /// PipelineCredential's kubeconfig: its bearer token's exp or its client certificate's end of validity, whichever
    /// comes first). Renew them before; after it the check fails and the published Secret is kept as it was.
    /// </summary>
    public DateTime? ExpiresAt { get; set; }

    /// <summary>Fingerprint of the inputs the published Secret was generated from.</summary>
    public string? PublishedRevision { get; set; }

    /// <summary>
    /// Fingerprint of the published inputs whose opted-in workloads still have to be restarted: a restart that failed
    /// is retried, with backoff, until it succeeds. Empty when no restart is owed.
    /// </summary>
    public string? RestartPending { get; set; }

    /// <summary>Name of the generated Secret, once published.</summary>
    public string? SecretName { get; set; }

    /// <summary>Objects in the namespace that use the generated Secret.</summary>
    public UsageStatus? UsedBy { get; set; }

    /// <summary>Ready, Validated, SecretSynced, DeletionBlocked, WorkloadsRestarted and Stalled conditions.</summary>
    [ListMapKeys("type")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = SchemaOnly.Justification)]
    [MaxLength(8)]
    public List<V1Condition>? Conditions { get; set; }
}
