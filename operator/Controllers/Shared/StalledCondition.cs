using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The <c>Stalled</c> condition that kstatus (sigs.k8s.io/cli-utils: Flux's health checks, kpt, cli-utils waits) reads.
/// kstatus takes a custom resource whose <c>Ready</c> is False for one still being worked on (InProgress) unless a
/// <c>Stalled</c> condition is True, which makes it Failed: without this condition a Flux Kustomization waiting on a
/// credential whose password is wrong waits out its whole timeout. So <c>Stalled</c> is True, with <c>Ready</c>'s reason
/// and message, exactly while <c>Ready</c> is False for a failure that only a person fixes (a refused login, a
/// conflicting Secret, a bad spec, a source Secret or admin credential still missing after a minute). While such a missing
/// object is waited for, <c>Stalled</c> is False with Ready's reason, which kstatus ignores: its transition time is when
/// the wait began. It is absent otherwise, so a healthy credential's status carries nothing more.
/// Failures the operator retries by itself with backoff (the server unreachable or slow, an administrator credential not
/// Ready yet, an API server or webhook that did not answer) stay InProgress, as does a pass before the first check.
/// </summary>
public static class StalledCondition
{
    /// <summary>
    /// How long a missing source Secret (or a managed user's missing admin credential) is waited for before the credential
    /// counts as stalled. A Secret that another controller makes (External Secrets, Sealed Secrets) usually comes moments
    /// after a credential applied with it, and an admin applied together with its users may be seen a moment after them:
    /// stalled at once, the credential would fail a Flux health check that would have passed a few seconds later.
    /// Measured from when that object was first found missing (a False <c>Stalled</c> marks it), not from when <c>Ready</c>
    /// turned False: a credential failing already (a refused password) whose fix names a new Secret, one that External
    /// Secrets makes a moment later, waits its minute too, and so does one that names another missing Secret meanwhile.
    /// </summary>
    public static readonly TimeSpan MissingGrace = TimeSpan.FromMinutes(1);

    /// <summary>
    /// <c>Ready</c> reasons that wait for a person: a change of the spec, of a source Secret, of the server's account or
    /// of the cluster (RBAC, a quota, a policy, a Secret in the way). Anything else, a reason added later included, is
    /// not stalled: a wrong guess there costs a health check its timeout, one the other way fails it for nothing.
    /// </summary>
    private static readonly HashSet<string> NeedsAPerson = new(StringComparer.Ordinal)
    {
        ValidationReasons.AuthenticationFailed,
        ValidationReasons.AdminAuthenticationFailed,
        ValidationReasons.TLSFailed,
        ValidationReasons.TenantNotFound,
        ValidationReasons.DatabaseNotFound,
        ValidationReasons.Unsupported,
        ValidationReasons.PermissionDenied,
        ValidationReasons.SourceSecretMissing,
        ValidationReasons.InvalidKubeconfig,
        ValidationReasons.ProtectedUser,
        ValidationReasons.UserExists,
        ValidationReasons.InvalidSpec,
        ValidationReasons.ServerError,
        ConditionReasons.SecretConflict,
        ConditionReasons.SecretRejected,
        ConditionReasons.SecretTooLarge,
    };

    /// <summary>Whether a <c>Ready</c> condition False with <paramref name="reason"/> waits for a person (see <see cref="NeedsAPerson"/>).</summary>
    /// <param name="reason">Ready's reason.</param>
    /// <param name="backsOff">The kind's own retries (<see cref="ICredentialKind{T}.BacksOff"/>): a failure retried with backoff is not stalled.</param>
    public static bool NeedsFix(string? reason, Func<string?, bool> backsOff)
    {
        ArgumentNullException.ThrowIfNull(backsOff);
        return reason is not null && NeedsAPerson.Contains(reason) && !backsOff(reason);
    }

    /// <summary>
    /// Sets or removes <c>Stalled</c> after <c>Ready</c>; returns when to look again to set it once the grace of a missing
    /// object ends, else null.
    /// </summary>
    /// <param name="conditions">The credential's conditions, Ready already decided.</param>
    /// <param name="backsOff">The kind's own retries (<see cref="ICredentialKind{T}.BacksOff"/>).</param>
    /// <param name="waitsForMissing">
    /// Whether a retried failure (reason, message) waits for an object nobody has created
    /// (<see cref="ICredentialKind{T}.WaitsForMissingObject"/>): stalled after the same grace as a missing source Secret.
    /// </param>
    /// <param name="now">The time the grace is measured to.</param>
    public static TimeSpan? Apply(ConditionSet conditions, Func<string?, bool> backsOff, Func<string, string, bool> waitsForMissing, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(conditions);
        ArgumentNullException.ThrowIfNull(waitsForMissing);
        var ready = conditions.Find(ConditionTypes.Ready);
        if (ready is not { Status: Runtime.Status.Conditions.False, Reason: { } reason })
        {
            conditions.Remove(ConditionTypes.Stalled);
            return null;
        }

        var message = ready.Message ?? reason;
        var missing = reason == ValidationReasons.SourceSecretMissing || waitsForMissing(reason, ready.Message ?? string.Empty);
        if (!missing)
        {
            if (NeedsFix(reason, backsOff))
            {
                conditions.Set(ConditionTypes.Stalled, true, reason, message);
            }
            else
            {
                conditions.Remove(ConditionTypes.Stalled);
            }

            return null;
        }

        // The wait for this very object (the message names it) began when Stalled turned False with it; anything else
        // there (stalled for another failure, waiting for another object, nothing) starts the wait now.
        var marker = conditions.Find(ConditionTypes.Stalled);
        if (marker is { Status: Runtime.Status.Conditions.True } && conditions.Says(ConditionTypes.Stalled, reason, message))
        {
            conditions.Set(ConditionTypes.Stalled, true, reason, message); // observedGeneration only
            return null;
        }

        var waiting = Waiting(message);
        if (marker is not { Status: Runtime.Status.Conditions.False } || !conditions.Says(ConditionTypes.Stalled, reason, waiting))
        {
            conditions.Remove(ConditionTypes.Stalled);
        }

        conditions.Set(ConditionTypes.Stalled, false, reason, waiting);
        marker = conditions.Find(ConditionTypes.Stalled)!;
        if (marker.LastTransitionTime is { } since
            && new DateTimeOffset(DateTime.SpecifyKind(since, DateTimeKind.Utc)) + MissingGrace is var end && end > now)
        {
            return end - now + CredentialPipeline.ShortestRecheck;
        }

        conditions.Set(ConditionTypes.Stalled, true, reason, message);
        return null;
    }

    /// <summary>What a False <c>Stalled</c> says while a missing object is waited for.</summary>
    private static string Waiting(string message) =>
        $"not stalled yet: waited for up to {GoDuration.Format(MissingGrace)}, as what is missing may be created a moment later ({message})";
}
