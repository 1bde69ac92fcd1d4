using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>The values read from a credential's source Secrets, by reference.</summary>
public sealed class SourceValues(IReadOnlyList<SourceValue> values)
{
    public IReadOnlyList<SourceValue> All => values;

    public string? Text(SecretKeyReference? reference) =>
        reference is null ? null : values.FirstOrDefault(v => v.Reference.Name == reference.Name && v.Reference.Key == reference.Key)?.Text;
}

/// <summary>
/// A Secret key a credential reads, with the spec field that names it (<c>spec.passwordSecretRef</c>), so a message
/// about a missing Secret can say which of several references is wrong. Written as the Secret's name and key alone,
/// as before the field was carried, so input revisions stay the same.
/// </summary>
public sealed record SourceReference(SecretKeyReference Secret, string Field)
{
    public override string ToString() => Secret.ToString();
}

/// <summary>What one kind of credential adds to the shared validate-then-publish flow.</summary>
public interface ICredentialKind<in T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    string KindName { get; }

    /// <summary>Every Secret key the credential reads (password, token, kubeconfig, CA), each with the field naming it.</summary>
    IReadOnlyList<SourceReference> SourceReferences(T credential);

    /// <summary>Name of the Secret the credential generates.</summary>
    string SecretName(T credential);

    /// <summary>The spec fields a check depends on, as text; changing anything else does not re-validate.</summary>
    string LoginRelevantSpec(T credential);

    CheckSchedule Schedule(T credential);

    Task<ValidationOutcome> ValidateAsync(T credential, SourceValues sources, CancellationToken ct);

    SecretPayload BuildSecret(T credential, SourceValues sources);

    /// <summary>Kind-specific status fields (the login used, the probe), set on every reconcile.</summary>
    void Describe(T credential, CredentialStatus status);

    /// <summary>
    /// Whether a failed check of this reason is retried with backoff (2 s doubling up to 5 min) rather than at the
    /// interval: only failures that sent no credential the server could count against the account.
    /// </summary>
    bool BacksOff(string? reason) => ValidationPlanner.IsTransient(reason);

    /// <summary>
    /// Whether a failure that is retried (<paramref name="reason"/>, <paramref name="message"/>) waits for an object that
    /// does not exist, which only a person creates: kstatus then sees the credential as stalled once that has lasted (see
    /// <see cref="StalledCondition"/>), as it does for a missing source Secret.
    /// </summary>
    bool WaitsForMissingObject(T credential, string reason, string message) => false;

    /// <summary>User management, for kinds whose operator can create, reset and drop the user; null otherwise.</summary>
    ICredentialProvisioning<T>? Provisioning => null;
}

/// <summary>
/// How often and how long a credential is checked, with the defaults applied. <c>DisabledBy</c> names the field that
/// turns checking off, in this kind's own terms (the condition message tells the user what to change), or is null.
/// </summary>
public sealed record CheckSchedule(TimeSpan Interval, TimeSpan Timeout, string? DisabledBy)
{
    public bool Disabled => DisabledBy is not null;
}
