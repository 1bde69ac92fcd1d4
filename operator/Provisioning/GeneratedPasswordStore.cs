using System.Globalization;
using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Keeps a generated password where it survives operator restarts: the Secret <c>&lt;credential&gt;-generated-password</c>
/// (key <c>password</c>), labelled as Passbox's. The credential then reads it like any password Secret, so the
/// validate-then-publish flow is the same for generated and given passwords. It has no owner reference: with
/// deletionPolicy Retain it outlives the credential, so the user kept on the server stays reachable and a re-created
/// credential of the same name carries on with the same password. Deleting it by hand rotates the password at once.
/// </summary>
public sealed class GeneratedPasswordStore(IKubernetes client, RefusedWriteBackoff refusals, TimeProvider time)
{
    public const string Suffix = "-generated-password";
    public const string Key = "password";
    public const string PurposeLabel = "passbox.dev/purpose";
    public const string PurposeValue = "generated-password";
    public const string GeneratedAtAnnotation = "passbox.dev/generated-at";

    /// <summary>
    /// What the message says about the retry of a refused write: what refuses it (RBAC, a quota, a policy, a webhook that is
    /// down) is fixed elsewhere, so it is tried again by itself (<see cref="RefusedWriteBackoff"/>).
    /// </summary>
    public static readonly string Retried = RefusedWriteBackoff.Schedule("an edit of the credential");

    public static string SecretName(string credentialName) => credentialName + Suffix;

    /// <summary>The reference a credential reads its generated password through.</summary>
    public static SecretKeyReference Reference(string credentialName) => new() { Name = SecretName(credentialName), Key = Key };

    /// <summary>
    /// Creates the password when there is none, replaces it when older than <paramref name="rotation"/>, and says when
    /// the next rotation is due. A Secret of that name that is not Passbox's for this credential is left alone. A write
    /// the API server refused is not tried again before its backoff for <paramref name="scope"/> ends.
    /// </summary>
    public async Task<GeneratedPasswordState> EnsureAsync(string namespaceName, string credentialName, PasswordPolicy? policy, TimeSpan? rotation,
        RefusedWriteScope scope, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var name = SecretName(credentialName);
        if (name.Length > 253)
        {
            return GeneratedPasswordState.Failed(ValidationReasons.InvalidSpec, $"the credential's name is too long for its password Secret {name} (at most 253 characters); give passwordSecretRef instead");
        }

        var existing = await TryReadAsync(namespaceName, name, ct);
        var now = time.GetUtcNow();
        if (existing is null)
        {
            return await ReplaceAsync(scope, namespaceName, credentialName, policy, null, now, rotation, ct);
        }

        if (!IsGeneratedPasswordOf(existing, credentialName))
        {
            return GeneratedPasswordState.Failed(ConditionReasons.SecretConflict,
                $"Secret {name} exists and is not a password Passbox generated for this credential; delete or rename it, or give passwordSecretRef");
        }

        var stored = existing.Data?.TryGetValue(Key, out var value) == true ? value : null;
        if (stored is not { Length: > 0 })
        {
            return await ReplaceAsync(scope, namespaceName, credentialName, policy, existing, now, rotation, ct);
        }

        if (!PasswordGenerator.Fits(Encoding.UTF8.GetString(stored), policy?.Length ?? PasswordGenerator.DefaultLength, policy?.Symbols ?? true))
        {
            // The policy changed since this password was generated, most often because the server's own policy refused
            // it (the 1819 message says to raise the length): a password of the new policy replaces it now, not at a
            // rotation that may never be configured.
            return await ReplaceAsync(scope, namespaceName, credentialName, policy, existing, now, rotation, ct);
        }

        var generatedAt = GeneratedAt(existing);
        if (rotation is { } period && generatedAt is null)
        {
            // Without a readable generated-at (removed or garbled by hand, or copied from elsewhere) the password's age
            // is unknown. Counting from "now" would push the rotation a period away on every pass, so it would never
            // come; a password of unknown age may be older than the policy allows, so it is due now. Rotating writes a
            // fresh timestamp, and the notice tells the owner why the password changed earlier than they may expect.
            var rotated = await ReplaceAsync(scope, namespaceName, credentialName, policy, existing, now, rotation, ct);
            return rotated.FailureReason is not null ? rotated : rotated with
            {
                Notice = $"Secret {name} had no readable {GeneratedAtAnnotation} annotation, so the password's age was unknown: it was rotated now",
            };
        }

        if (rotation is { } due && generatedAt + due <= now)
        {
            return await ReplaceAsync(scope, namespaceName, credentialName, policy, existing, now, rotation, ct);
        }

        return new GeneratedPasswordState(null, null, generatedAt + rotation);
    }

    public async Task DeleteAsync(string namespaceName, string credentialName, CancellationToken ct)
    {
        var existing = await TryReadAsync(namespaceName, SecretName(credentialName), ct);
        if (existing is null || !IsGeneratedPasswordOf(existing, credentialName))
        {
            return;
        }

        try
        {
            await client.CoreV1.DeleteNamespacedSecretAsync(existing.Metadata.Name, namespaceName,
                new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = existing.Metadata.Uid } }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
        {
            // Gone already, or replaced by something that is not ours.
        }
    }

    /// <summary>
    /// Writes a new password: the state of a fresh password (next rotation a period from now), or the failure when the
    /// API server refused the write.
    /// </summary>
    private async Task<GeneratedPasswordState> ReplaceAsync(RefusedWriteScope scope, string namespaceName, string credentialName, PasswordPolicy? policy, V1Secret? existing,
        DateTimeOffset now, TimeSpan? rotation, CancellationToken ct) =>
        await WriteAsync(scope, namespaceName, credentialName, policy, existing, now, ct) ?? new GeneratedPasswordState(null, null, now + rotation);

    /// <summary>
    /// Writes a new password; null when written, the failure when the API server refused the write, or refused it before
    /// and its retry is not due yet (then nothing is written: what the refusal said stands).
    /// </summary>
    private async Task<GeneratedPasswordState?> WriteAsync(RefusedWriteScope scope, string namespaceName, string credentialName, PasswordPolicy? policy,
        V1Secret? existing, DateTimeOffset now, CancellationToken ct)
    {
        // The Secret as read is an input of its write too: deleted by hand (which the owner is told rotates the password
        // at once) or changed since the refusal, it is written now, not when the backoff ends.
        var inputs = $"{scope.Inputs}/{(existing is null ? "none" : $"{existing.Metadata.Uid}@{existing.Metadata.ResourceVersion}")}";
        if (refusals.Waiting(scope.Key, RefusedWrite.GeneratedPassword, inputs) is { } waiting)
        {
            return GeneratedPasswordState.Failed(waiting.Reason, waiting.Message) with { RetryAfter = waiting.Remaining };
        }

        var password = PasswordGenerator.Generate(policy?.Length ?? PasswordGenerator.DefaultLength, policy?.Symbols ?? true);
        var secret = new V1Secret
        {
            Metadata = new V1ObjectMeta
            {
                Name = SecretName(credentialName),
                NamespaceProperty = namespaceName,
                ResourceVersion = existing?.Metadata.ResourceVersion,
                Labels = new Dictionary<string, string>(existing?.Metadata.Labels ?? new Dictionary<string, string>())
                {
                    [ApiGroup.ManagedByLabel] = ApiGroup.ManagedByValue,
                    [ApiGroup.CredentialLabel] = credentialName,
                    [PurposeLabel] = PurposeValue,
                },
                Annotations = new Dictionary<string, string>(existing?.Metadata.Annotations ?? new Dictionary<string, string>())
                {
                    [GeneratedAtAnnotation] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                },
            },
            Type = "Opaque",
            Data = new Dictionary<string, byte[]> { [Key] = Encoding.UTF8.GetBytes(password) },
        };

        // Create, or patch with the version read (a merge patch carrying resourceVersion is refused with 409 when the
        // Secret changed since): two operators racing cannot both win, and the loser re-reads. A patch rather than an
        // update, so the operator needs no update verb on Secrets.
        try
        {
            if (existing is null)
            {
                await client.CoreV1.CreateNamespacedSecretAsync(secret, namespaceName, cancellationToken: ct);
            }
            else
            {
                var patch = new V1Patch(KubernetesJson.Serialize(new SecretMergePatch(secret.Metadata, secret.Data)), V1Patch.PatchType.MergePatch);
                await client.CoreV1.PatchNamespacedSecretAsync(patch, secret.Metadata.Name, namespaceName, cancellationToken: ct);
            }
        }
        catch (HttpOperationException e) when (SecretWriteRefusal.IsRefusal(e))
        {
            // RBAC, a ResourceQuota or an admission policy: the same write meets the same answer, so the status says why
            // (in the API server's words, the password cut out) instead of the reconcile failing with backoff and no word.
            // The password being replaced is cut out too: a policy's message can print oldObject.data as well as object.data.
            var replaced = existing?.Data?.TryGetValue(Key, out var current) == true ? [Encoding.UTF8.GetString(current)] : Array.Empty<string>();
            var refusal = SecretWriteRefusal.From(e, new SecretPayload(secret.Metadata.Name, secret.Type, secret.Data.AsReadOnly(),
                secret.Metadata.Labels.AsReadOnly(), secret.Metadata.Annotations.AsReadOnly()), replaced);
            // A webhook that is down refused nothing: its own reason, and the fix is the webhook's, not the operator's rights.
            var failed = refusal.Cause == SecretWriteRefusalCause.AdmissionWebhookFailed
                ? GeneratedPasswordState.Failed(ConditionReasons.AdmissionWebhookFailed,
                    $"the API server could not write Secret {secret.Metadata.Name}, which keeps the generated password: {refusal.Message}. " +
                    "An admission webhook it must call for Secrets (failurePolicy Fail) did not answer: check that webhook's Service and Pods; " +
                    Retried)
                : GeneratedPasswordState.Failed(ConditionReasons.SecretRejected,
                    $"the API server refused Secret {secret.Metadata.Name}, which keeps the generated password: {refusal.Message}. " +
                    $"Let the operator create and patch Secrets in namespace {namespaceName} (RBAC, ResourceQuota, admission policies), or give passwordSecretRef; " +
                    Retried);
            return failed with { RetryAfter = refusals.Refused(scope.Key, RefusedWrite.GeneratedPassword, inputs, failed.FailureReason!, failed.Failure!) };
        }

        refusals.Reset(scope.Key, RefusedWrite.GeneratedPassword);
        return null;
    }

    /// <summary>
    /// Whether <paramref name="secret"/> is the generated password of <paramref name="credentialName"/>: labelled so, and
    /// not a Secret that a credential publishes. Labels alone do not tell: a credential's <c>spec.secret.labels</c> may
    /// carry the purpose label, and its name label is that credential's own name, which a credential of the other kind
    /// shares (a PipelineCredential <c>orders</c> publishing under <c>orders-generated-password</c>). Such a Secret is
    /// labelled with its credential's kind and owned by it, which this store never does: reading it would set that
    /// credential's password on the managed user, and rotating or deleting it would write to a Secret another credential
    /// owns (and keeps repairing).
    /// </summary>
    internal static bool IsGeneratedPasswordOf(V1Secret secret, string credentialName)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var labels = secret.Metadata?.Labels ?? new Dictionary<string, string>();
        return labels.TryGetValue(ApiGroup.CredentialLabel, out var owner) && owner == credentialName
            && labels.TryGetValue(PurposeLabel, out var purpose) && purpose == PurposeValue
            && !labels.ContainsKey(ApiGroup.CredentialKindLabel)
            && secret.Metadata?.OwnerReferences?.Any(reference => reference.Controller == true) != true;
    }

    private static DateTimeOffset? GeneratedAt(V1Secret secret) =>
        secret.Metadata.Annotations?.TryGetValue(GeneratedAtAnnotation, out var text) == true
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? at
            : null;

    private async Task<V1Secret?> TryReadAsync(string namespaceName, string name, CancellationToken ct)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, namespaceName, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}

/// <summary>Whether the generated password is usable, and when it is due for rotation.</summary>
public sealed record GeneratedPasswordState(string? FailureReason, string? Failure, DateTimeOffset? NextRotation)
{
    /// <summary>Something the owner should hear about although nothing failed, e.g. why a rotation came early.</summary>
    public string? Notice { get; init; }

    /// <summary>When a failure is worth trying again without an edit of the credential; null: only after an edit.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public static GeneratedPasswordState Failed(string reason, string message) => new(reason, message, null);
}

/// <summary>The merge patch that rewrites a generated password Secret: its metadata (with the resourceVersion read) and data.</summary>
internal sealed record SecretMergePatch(V1ObjectMeta Metadata, IDictionary<string, byte[]> Data);
