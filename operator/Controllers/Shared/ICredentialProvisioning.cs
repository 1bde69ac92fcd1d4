using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The steps a kind adds to the shared flow when the operator manages the user behind a credential, not only its
/// login: prepare inputs the operator owns (a generated password), change the user before a due check, and let the
/// user go on deletion. Each step is a no-op for a credential that asks for no provisioning.
/// </summary>
public interface ICredentialProvisioning<in T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    /// <summary>True when the credential asks the operator to manage its user (the other steps are no-ops otherwise).</summary>
    bool Manages(T credential);

    /// <summary>Before the source Secrets are read: create or rotate what the operator owns.</summary>
    Task<PrepareResult> PrepareAsync(T credential, CredentialStatus status, CancellationToken ct);

    /// <summary>
    /// Before a due check: make the user on the server match. Null to go on with the check; otherwise the failure to
    /// report instead (the check is skipped). <paramref name="loginRefused"/>: the user's own login was refused (by the last
    /// check, or just now), so the server may no longer hold what was applied (a user dropped or changed by hand): repair
    /// it (set the password again), even when nothing changed. Before it sets a new password for a user whose Secret is
    /// already published, it asks <paramref name="trial"/> whether that Secret's write would be taken; told a refusal, it
    /// changes nothing on the server and returns the failure (the Secret keeps the password that logs in).
    /// </summary>
    Task<ValidationOutcome?> ApplyAsync(T credential, SourceValues sources, CredentialStatus status, bool loginRefused, PublishTrial trial, CancellationToken ct);

    /// <summary>On deletion, after nothing uses the Secret any more: drop or keep the user as the spec says.</summary>
    Task<ReleaseResult> ReleaseAsync(T credential, CancellationToken ct);

    /// <summary>
    /// True when <see cref="ReleaseAsync"/> would drop the user: deletionPolicy Delete, for a user the operator manages for
    /// this credential. A deletion forced while workloads still use the Secret skips the drop, and only then has a kept
    /// user to report.
    /// </summary>
    bool DropsUserOnDeletion(T credential);

    /// <summary>
    /// Names of the credentials that still need this one to manage their users (it is their administrator); its
    /// deletion waits for them, or their own deletions could never drop their users.
    /// </summary>
    IReadOnlyList<string> DependentsOf(T credential);

    /// <summary>
    /// When what a check that failed with <paramref name="reason"/> waited for became available: for
    /// <c>AdminNotReady</c>, the time the administrator credential turned Ready; for <c>AdminAuthenticationFailed</c> (the
    /// server refused the administrator's login, not the user's), the time the administrator credential last passed a
    /// check its status records (a fixed password). Null while there is none, and for every other reason. A check that
    /// failed before that time is repeated at once rather than a backoff or an interval later; one that failed after it
    /// waits as usual, so a failure that goes on cannot loop, and a refused login is not tried again any sooner.
    /// </summary>
    DateTimeOffset? WaitOverSince(T credential, string reason);
}

/// <summary>Outcome of <see cref="ICredentialProvisioning{T}.PrepareAsync"/>: a failure to report, and when to look again.</summary>
public sealed record PrepareResult(ValidationOutcome? Failure, TimeSpan? RequeueAfter)
{
    public static PrepareResult Nothing { get; } = new(null, null);
}

/// <summary>
/// Outcome of <see cref="ICredentialProvisioning{T}.ReleaseAsync"/>: whether the credential may go, and why not.
/// <paramref name="RetryInterval"/>: the validation interval of the administrator whose session failed, which a failure
/// that needs someone to act (a refused administrator login above all) waits before the next attempt; null when no
/// administrator was found.
/// </summary>
public sealed record ReleaseResult(bool Released, string Reason, string? Message, TimeSpan? RetryInterval = null)
{
    public static ReleaseResult Nothing { get; } = new(true, ConditionReasons.Deleting, null);
}
