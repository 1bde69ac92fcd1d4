using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Which ClusterCredentials name which as their administrator (<c>provisioning.adminCredentialRef</c>), answered from
/// the ClusterCredential informer's cache through an index, so neither the admin lookup of a check nor the deletion of
/// an admin asks the API server.
/// </summary>
public sealed class AdminReferences(IInformer<ClusterCredential> credentials)
{
    /// <summary>ClusterCredential informer index: <c>namespace/admin</c> of the admin credential a provisioned one names.</summary>
    public const string IndexName = "admin-credential";

    /// <summary>The index value of a credential: its admin's <c>namespace/name</c>, or nothing without provisioning.</summary>
    public static IEnumerable<string> IndexValues(ClusterCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        return credential.Spec?.Provisioning?.AdminCredentialRef?.Name is { Length: > 0 } admin
            ? [$"{credential.Metadata.NamespaceProperty}/{admin}"]
            : [];
    }

    /// <summary>The cached admin credential; the caller must not change it.</summary>
    public ClusterCredential? Find(string namespaceName, string name) => credentials.Cache.Get(new ObjectKey(namespaceName, name));

    /// <summary>Names of the other credentials, deleted or not, that still name <paramref name="admin"/> as their administrator.</summary>
    public IReadOnlyList<string> DependentsOf(ClusterCredential admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var meta = admin.Metadata;
        return credentials.Cache.KeysByIndex(IndexName, $"{meta.NamespaceProperty}/{meta.Name}")
            .Select(key => key.Name)
            .Where(name => name != meta.Name)
            .Order(StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>
    /// The credentials whose last check failed because <paramref name="admin"/> was not Ready, or because the server
    /// refused its login, once it is Ready: they are checked again at once when what they wait for has happened since
    /// (see <see cref="WaitOverSince"/>) rather than when their backoff or interval ends, minutes away. So are deletions
    /// that wait for the admin to turn Ready to drop their users (retried with backoff otherwise), and deletions whose
    /// drop the server refused at the admin's login once the admin passed a check after that refusal
    /// (<paramref name="dropRefusedAt"/>, exact; a fixed password in its Secret brings that check). Every pass of a
    /// deletion tries the drop again, so without such a time to compare (after a restart) a deletion is not woken: each
    /// change of the admin would be one more refused login. Dependents that wait for nothing are not woken by their
    /// admin's changes.
    /// </summary>
    public IEnumerable<ObjectKey> WaitingOn(ClusterCredential admin, Func<ClusterCredential, DateTimeOffset?>? dropRefusedAt = null)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var meta = admin.Metadata;
        if (ReadyTime(admin) is null)
        {
            // Not Ready (just created, say): only the dependents still told that it does not exist, so they say what they
            // wait for now, an admin being checked, instead of a missing one, read as a failure (Argo CD's Degraded, Stalled).
            return credentials.Cache.KeysByIndex(IndexName, $"{meta.NamespaceProperty}/{meta.Name}")
                .Where(key => key.Name != meta.Name && credentials.Cache.Get(key) is { } dependent && ToldAdminMissing(dependent));
        }

        return credentials.Cache.KeysByIndex(IndexName, $"{meta.NamespaceProperty}/{meta.Name}")
            .Where(key => key.Name != meta.Name && credentials.Cache.Get(key) is { } dependent
                && (WaitsForAdmin(dependent) || DropMayNowPass(dependent, dropRefusedAt)));
    }

    /// <summary>A deletion whose drop was refused at the admin's login, and the admin has passed a check since.</summary>
    private bool DropMayNowPass(ClusterCredential dependent, Func<ClusterCredential, DateTimeOffset?>? dropRefusedAt) =>
        dependent.Metadata.DeletionTimestamp is not null
        && dependent.Status?.Conditions?.Find(c => c.Type == ConditionTypes.DeletionBlocked) is { Status: "True", Reason: Connectors.ValidationReasons.AdminAuthenticationFailed }
        && dropRefusedAt?.Invoke(dependent) is { } refused
        && ValidatedSince(dependent) is { } validated
        && validated > refused;

    /// <summary>
    /// When what a check of <paramref name="dependent"/> that failed with <paramref name="reason"/> waited for on its
    /// admin's side happened, to the second; null for every other reason, and while the admin does not exist or is not
    /// Ready. <c>AdminNotReady</c>: the admin turned Ready (<see cref="ReadySince"/>). <c>AdminAuthenticationFailed</c>:
    /// the admin's last check that changed its status succeeded (<see cref="ValidatedSince"/>), which a fixed password
    /// brings; the dependent's own refused login (<c>AuthenticationFailed</c>) waits for nothing of the admin's.
    /// </summary>
    public DateTimeOffset? WaitOverSince(ClusterCredential dependent, string reason) => reason switch
    {
        Connectors.ValidationReasons.AdminNotReady when ToldAdminMissing(dependent) && AdminOf(dependent) is not null => DateTimeOffset.MaxValue,
        Connectors.ValidationReasons.AdminNotReady when ToldAdminNotReady(dependent) && ReadySince(dependent) is not null => DateTimeOffset.MaxValue,
        Connectors.ValidationReasons.AdminNotReady => ReadySince(dependent),
        Connectors.ValidationReasons.AdminAuthenticationFailed => ValidatedSince(dependent),
        _ => null,
    };

    /// <summary>
    /// When the admin that <paramref name="dependent"/> names last turned Ready (with its Secret published), to the second;
    /// null while it does not exist or is not Ready.
    /// </summary>
    public DateTimeOffset? ReadySince(ClusterCredential dependent) =>
        AdminOf(dependent) is { } admin ? ReadyTime(admin) : null;

    /// <summary>
    /// When the admin that <paramref name="dependent"/> names last passed a check that its status records
    /// (<c>status.lastValidated</c>, to the second), while it is Ready with its Secret published: that Secret then holds
    /// the login that passed, the one the dependent's administrator session uses. A periodic check that only confirms the
    /// status is not written, so this moves only when the admin's inputs changed (a fixed password) or its login worked
    /// again after a failure; null while the admin does not exist or is not Ready.
    /// </summary>
    public DateTimeOffset? ValidatedSince(ClusterCredential dependent) =>
        AdminOf(dependent) is { } admin && ReadyTime(admin) is not null && admin.Status?.LastValidated is { } validated
            ? new DateTimeOffset(DateTime.SpecifyKind(validated, DateTimeKind.Utc))
            : null;

    /// <summary>
    /// Its last check said that its admin does not exist (<see cref="AdminLogins.Missing"/>). Once the admin exists, that
    /// wait is over whatever state the admin is in: the next check says "not Ready" (or manages the user), never "missing"
    /// again while it exists, so waking on it cannot loop.
    /// </summary>
    private static bool ToldAdminMissing(ClusterCredential dependent) =>
        dependent.Spec?.Provisioning?.AdminCredentialRef?.Name is { Length: > 0 } admin
        && dependent.Status?.Conditions?.Find(c => c.Type == ConditionTypes.Validated) is { Reason: Connectors.ValidationReasons.AdminNotReady, Message: { } message }
        && message.Contains(AdminLogins.Missing(admin, dependent.Metadata.NamespaceProperty), StringComparison.Ordinal);

    /// <summary>
    /// Its last check said that its admin is not Ready (or not checked yet). Once the admin is Ready that wait is over,
    /// told by the state rather than by comparing times: the admin's Ready time is whole seconds, and a check woken when the
    /// admin was created usually fails in the very second the admin turns Ready, which a comparison of times cannot tell
    /// from a check after it. The next check no longer says "not Ready" while the admin is, so waking on it cannot loop.
    /// </summary>
    private static bool ToldAdminNotReady(ClusterCredential dependent) =>
        dependent.Spec?.Provisioning?.AdminCredentialRef?.Name is { Length: > 0 } admin
        && dependent.Status?.Conditions?.Find(c => c.Type == ConditionTypes.Validated) is { Reason: Connectors.ValidationReasons.AdminNotReady, Message: { } message }
        && (message.Contains($"admin ClusterCredential {admin} has not been checked yet", StringComparison.Ordinal)
            || message.Contains($"admin ClusterCredential {admin} is not Ready (", StringComparison.Ordinal));

    private ClusterCredential? AdminOf(ClusterCredential dependent) =>
        IndexValues(dependent).Select(ObjectKey.Parse).Select(key => credentials.Cache.Get(key)).FirstOrDefault();

    /// <summary>Its last check, or its deletion (which drops the user through the admin), waits for the admin (see <see cref="WaitingOn"/>).</summary>
    private static bool WaitsForAdmin(ClusterCredential dependent) =>
        dependent.Status?.Conditions?.Exists(c =>
            (c.Type == ConditionTypes.Validated && c.Reason is Connectors.ValidationReasons.AdminNotReady or Connectors.ValidationReasons.AdminAuthenticationFailed)
            || (c.Type == ConditionTypes.DeletionBlocked && c.Status == "True" && c.Reason == Connectors.ValidationReasons.AdminNotReady)) == true;

    private static DateTimeOffset? ReadyTime(ClusterCredential? admin) =>
        admin?.Status is { SecretName: not null } status
        && status.Conditions?.Find(c => c.Type == ConditionTypes.Ready) is { Status: "True", LastTransitionTime: { } since }
            ? new DateTimeOffset(DateTime.SpecifyKind(since, DateTimeKind.Utc))
            : null;

    /// <summary>
    /// The admin of <paramref name="dependent"/> when that admin is being deleted: a change of the dependent (above all
    /// its disappearance) may let the admin go. Admins not being deleted are not woken by their dependents' churn.
    /// </summary>
    public IEnumerable<ObjectKey> DeletingAdminOf(ClusterCredential dependent) =>
        IndexValues(dependent)
            .Select(ObjectKey.Parse)
            .Where(key => credentials.Cache.Get(key)?.Metadata.DeletionTimestamp is not null);
}
