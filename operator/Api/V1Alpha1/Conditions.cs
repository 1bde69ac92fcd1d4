namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>Condition types both kinds report. <c>Ready</c> is the one Argo CD's health check reads.</summary>
public static class ConditionTypes
{
    public const string Ready = "Ready";
    public const string Validated = "Validated";
    public const string SecretSynced = "SecretSynced";
    public const string DeletionBlocked = "DeletionBlocked";

    /// <summary>
    /// Whether the workloads that opted in to restarts were restarted after the Secret's data last changed; absent
    /// while none opted in.
    /// </summary>
    public const string WorkloadsRestarted = "WorkloadsRestarted";

    /// <summary>
    /// kstatus's abnormal-true condition (Flux health checks, kpt): True, with Ready's reason, only while Ready is False for a
    /// failure that needs a person; False while a missing Secret or admin credential is waited for (its grace); absent
    /// otherwise (see <c>Controllers.Shared.StalledCondition</c>).
    /// </summary>
    public const string Stalled = "Stalled";
}

/// <summary>
/// Reasons that are not the outcome of a login (those come from the connectors' validation reasons).
/// </summary>
public static class ConditionReasons
{
    public const string Validated = "Validated";
    public const string ValidationDisabled = "ValidationDisabled";
    public const string Progressing = "Progressing";
    public const string Synced = "Synced";
    public const string SecretConflict = "SecretConflict";

    /// <summary>
    /// The API server refused the generated Secret: a label or annotation from the spec it does not take, RBAC, a
    /// ResourceQuota, or an admission webhook or policy (the message says which).
    /// </summary>
    public const string SecretRejected = "SecretRejected";

    /// <summary>The generated Secret is over the API server's size limit (1 MiB of data, 3 MiB per request).</summary>
    public const string SecretTooLarge = "SecretTooLarge";

    /// <summary>An admission webhook with failurePolicy Fail could not be called, so the API server wrote nothing.</summary>
    public const string AdmissionWebhookFailed = "AdmissionWebhookFailed";

    /// <summary>
    /// The dry run of the generated Secret's write, asked before a new password is set, got no answer on the write (the
    /// API server failed or could not be reached): the password was not changed, and the dry run is asked again.
    /// </summary>
    public const string SecretWriteFailed = "SecretWriteFailed";
    public const string WaitingForValidation = "WaitingForValidation";
    public const string SourceSecretMissing = "SourceSecretMissing";
    public const string InvalidSpec = "InvalidSpec";
    public const string InUse = "InUse";
    public const string NotInUse = "NotInUse";

    /// <summary>A deletion waits: the operator could not list what in the namespace might use the Secret.</summary>
    public const string UsageUnknown = "UsageUnknown";
    public const string Deleting = "Deleting";

    /// <summary>An admin credential's deletion waits: provisioned credentials still need its login to drop their users.</summary>
    public const string ProvisionedDependents = "ProvisionedDependents";

    /// <summary>Every opted-in workload is replacing its Pods.</summary>
    public const string Restarted = "Restarted";

    /// <summary>Some opted-in workload got the restart annotation but replaces no Pod until its owner acts (paused, OnDelete).</summary>
    public const string RestartDeferred = "RestartDeferred";

    /// <summary>Restarting some opted-in workload failed; it is tried again with backoff (<c>status.restartPending</c>).</summary>
    public const string RestartFailed = "RestartFailed";
}
