using System.Globalization;
using System.Net;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// What the credential says when the API server refused its Secret: a reason naming who refused, the server's words
/// (already without the Secret's values) and what to do; and when to try again. A refusal fixed only by an edit of the
/// credential or of its source Secrets (both watched) waits for that edit; one fixed elsewhere (RBAC, a quota, a policy,
/// a webhook that is down: <paramref name="FixedElsewhere"/>) is tried again by itself, never at once, less often the
/// longer it lasts (<see cref="RefusedWriteBackoff"/>).
/// </summary>
public sealed record SecretRefusalReport(string Reason, string Message, bool FixedElsewhere)
{
    /// <summary>What the message says about the retry of a refusal fixed elsewhere.</summary>
    public static readonly string Retried = RefusedWriteBackoff.Schedule("an edit of the credential or of its source Secrets");

    public static SecretRefusalReport Describe(SecretWriteRefusal refusal, string namespaceName, string secretName)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        // Whether the cause is fixed outside the credential (retried by itself) or by an edit of it (waits for that).
        const bool FixedOutside = true, FixedByAnEdit = false;
        const string Kept = "a Secret already published stays";
        var (reason, fix, fixedElsewhere) = refusal.Cause switch
        {
            SecretWriteRefusalCause.AdmissionWebhookFailed => (ConditionReasons.AdmissionWebhookFailed,
                "An admission webhook the API server must call for Secrets (failurePolicy Fail) did not answer, so nothing was written: " +
                $"check that webhook's Service and Pods (the message names it), or ask the cluster's administrators; {Kept}; {Retried}",
                FixedOutside),
            SecretWriteRefusalCause.TooLarge => (ConditionReasons.SecretTooLarge,
                $"The Secret's data would be {Size(refusal.DataBytes)}, and the API server takes at most 1 MiB of data per Secret " +
                "(3 MiB per request, and some formats hold a value twice): make the source values smaller (e.g. a kubeconfig with " +
                $"only the context in use, certificates without unused chains) or choose fewer spec.secret.consumers; {Kept}",
                FixedByAnEdit),
            SecretWriteRefusalCause.AdmissionPolicy => (ConditionReasons.SecretRejected,
                "An admission policy or webhook (named in the message: Kyverno, Gatekeeper, a ValidatingAdmissionPolicy) denied it: " +
                "change what it objects to (spec.secret.name, spec.secret.labels, spec.secret.annotations, spec.secret.format), " +
                $"or ask the cluster's administrators for an exception; {Kept}; {Retried}",
                FixedOutside),
            // The ResourceQuota admission's words. A format change counts too: its new Secret is tried (dry run) while
            // the old one still exists, so it needs room for one more Secret.
            SecretWriteRefusalCause.Quota => (ConditionReasons.SecretRejected,
                $"A ResourceQuota in namespace {namespaceName} allows no more Secrets: raise it or free a Secret " +
                $"(a change of spec.secret.format needs room for one more while it replaces the Secret); {Kept}; {Retried}",
                FixedOutside),
            SecretWriteRefusalCause.Permission => (ConditionReasons.SecretRejected,
                $"The operator may not write Secrets in namespace {namespaceName}: grant the operator's ServiceAccount get, create, " +
                $"patch and delete on secrets there; {Retried}",
                FixedOutside),
            SecretWriteRefusalCause.Invalid => (ConditionReasons.SecretRejected,
                "Fix spec.secret.labels or spec.secret.annotations, or (after a change of spec.secret.format, which needs a new Secret) " +
                $"what makes the new type invalid; {Kept}",
                FixedByAnEdit),
            _ when refusal.StatusCode == HttpStatusCode.Forbidden => (ConditionReasons.SecretRejected,
                $"The operator may not write Secrets in namespace {namespaceName}, or an admission policy forbids this one: " +
                "grant the operator's ServiceAccount get, create, patch and delete on secrets there, or change what the policy objects to; " +
                Retried,
                FixedOutside),
            _ => (ConditionReasons.SecretRejected,
                "An admission webhook or policy refused it: change what it objects to (spec.secret.labels, spec.secret.annotations, " +
                $"spec.secret.name), or ask the cluster's administrators about the policy; {Retried}",
                FixedOutside),
        };
        return new SecretRefusalReport(reason, $"the API server refused Secret {secretName}: {refusal.Message}. {fix}", fixedElsewhere);
    }

    /// <summary>
    /// The dry run of the Secret's write (see <see cref="PublishTrial"/>) got no answer on the write: the API server failed
    /// (a 5xx), could not be reached or did not answer in time. Nothing was refused and nothing is known, so, like a
    /// refusal fixed elsewhere, it is asked again by itself. <paramref name="failure"/> names what failed, never the
    /// server's words, which may quote the Secret.
    /// </summary>
    public static SecretRefusalReport TrialFailed(string secretName, string failure) => new(ConditionReasons.SecretWriteFailed,
        $"the dry run of the write of Secret {secretName} failed ({failure}), so whether the API server takes the new password is not known; {Retried}",
        FixedElsewhere: true);

    private static string Size(long bytes) => bytes >= 1024 * 1024
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024.0):0.0} MiB ({bytes} bytes)")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes} bytes");
}
