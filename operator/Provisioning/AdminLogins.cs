using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.Shared;
using ConnectorTls = Passbox.Operator.Connectors.TlsSettings;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Finds the administrator login a provisioned credential names: the admin ClusterCredential must exist in the same
/// namespace, have the same engine (and OceanBase tenant), and be Ready. The password comes from the admin's
/// published Secret, the one Passbox last proved to work, not from its source Secret, which may hold an untested edit.
/// </summary>
public sealed class AdminLogins(IKubernetes client, SourceSecretReader sources, AdminReferences adminReferences)
{
    /// <summary>
    /// Why a check waits for an admin credential that does not exist. docs/argocd/health.lua tells it from one that exists
    /// but is not Ready by these words (the reason is AdminNotReady for both): keep them, or change the script with them.
    /// </summary>
    public static string Missing(string reference, string? ns) => $"admin ClusterCredential {reference} does not exist in namespace {ns}";

    public async Task<AdminLogin> ResolveAsync(ClusterCredential credential, CancellationToken ct)
    {
        var reference = credential.Spec.Provisioning!.AdminCredentialRef.Name;
        var ns = credential.Metadata.NamespaceProperty;
        if (reference == credential.Metadata.Name)
        {
            return AdminLogin.Failed(ValidationReasons.InvalidSpec, "provisioning.adminCredentialRef names this credential itself; name the administrator's ClusterCredential");
        }

        // From the informer's cache: a check costs no request for it, and the watch brings the admin's changes.
        var admin = adminReferences.Find(ns, reference);
        if (admin is null)
        {
            return AdminLogin.Failed(ValidationReasons.AdminNotReady, Missing(reference, ns));
        }

        if (admin.Spec.Engine != credential.Spec.Engine)
        {
            return AdminLogin.Failed(ValidationReasons.InvalidSpec, $"admin ClusterCredential {reference} is for engine {admin.Spec.Engine}, this one for {credential.Spec.Engine}");
        }

        if (admin.Spec.Engine == ClusterEngine.OceanBase && admin.Spec.OceanBase?.Tenant != credential.Spec.OceanBase?.Tenant)
        {
            return AdminLogin.Failed(ValidationReasons.InvalidSpec, $"admin ClusterCredential {reference} logs in to tenant {admin.Spec.OceanBase?.Tenant}, this one to {credential.Spec.OceanBase?.Tenant}: use the tenant's own administrator");
        }

        if (string.Equals(admin.Spec.Username, credential.Spec.Username, StringComparison.OrdinalIgnoreCase))
        {
            // Resetting or dropping the administrator's own login would lock Passbox (and its owners) out of the server.
            return AdminLogin.Failed(ValidationReasons.ProtectedUser,
                $"username '{credential.Spec.Username}' is the login of admin ClusterCredential {reference}; Passbox never resets or drops the user it administers with");
        }

        var ready = admin.Status?.Conditions?.Find(c => c.Type == ConditionTypes.Ready);
        if (ready?.Status != "True" || admin.Status?.SecretName is not { } secretName)
        {
            // AdminReferences.ToldAdminNotReady reads these words: keep them, or change it with them.
            var why = ready is null ? "has not been checked yet" : $"is not Ready ({ready.Reason}: {ready.Message})";
            return AdminLogin.Failed(ValidationReasons.AdminNotReady, $"admin ClusterCredential {reference} {why}");
        }

        var published = await TryReadSecretAsync(ns, secretName, ct);
        if (published is null || !PublishedSecrets.BelongTo(published, admin))
        {
            return AdminLogin.Failed(ValidationReasons.AdminNotReady, $"the Secret {secretName} of admin ClusterCredential {reference} is missing or not Passbox's");
        }


        var spec = EffectiveClusterSpec.From(admin);
        string? ca = null;
        if (spec.CaSecretRef is { } caRef)
        {
            var value = await sources.ReadAsync(ns, caRef, ct, "its spec.endpoint.tls.caSecretRef");
            if (!value.Found)
            {
                return AdminLogin.Failed(ValidationReasons.AdminNotReady, $"admin ClusterCredential {reference}: {value.Problem}");
            }

            ca = value.Text;
        }

        var usesApiKey = spec.ApiKeySecretRef is not null;
        var login = new DatabaseLogin
        {
            Host = spec.Host,
            Port = spec.Port,
            LoginName = spec.LoginName ?? string.Empty,
            Password = usesApiKey ? null : Text(published.Data, "password"),
            ApiKey = usesApiKey ? Text(published.Data, "token") : null,
            Tls = new ConnectorTls(ClusterCredentialKind.MapTls(spec.TlsMode), ca),
            Timeout = spec.Timeout,
        };
        return new AdminLogin(login, null, null, reference);
    }

    private static string? Text(IDictionary<string, byte[]>? data, string key) =>
        data?.TryGetValue(key, out var value) == true && value is not null ? Encoding.UTF8.GetString(value) : null;

    private async Task<k8s.Models.V1Secret?> TryReadSecretAsync(string ns, string name, CancellationToken ct)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}

/// <summary>The administrator's login, or why there is none. <see cref="ToString"/> shows no secret.</summary>
public sealed record AdminLogin(DatabaseLogin? Login, string? FailureReason, string? Failure, string? CredentialName)
{
    public static AdminLogin Failed(string reason, string message) => new(null, reason, message, null);

    public override string ToString() => Login is null ? $"no admin login ({FailureReason})" : $"admin {CredentialName}: {Login}";
}
