using System.Net;
using System.Text;
using k8s;
using k8s.Autorest;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// The password a credential last published: the one Passbox proved works, and so the user's current password on the
/// server. Milvus checks it as the "old password" when a user is reset by an administrator that is not a configured
/// superuser. Only a Secret labelled as this credential's and owned by it (its UID) is believed.
/// </summary>
public sealed class PublishedPasswords(IKubernetes client)
{
    public async Task<string?> ReadAsync(ClusterCredential credential, CancellationToken ct)
    {
        if (credential.Status?.SecretName is not { } name)
        {
            return null;
        }

        try
        {
            var secret = await client.CoreV1.ReadNamespacedSecretAsync(name, credential.Metadata.NamespaceProperty, cancellationToken: ct);
            return PublishedSecrets.BelongTo(secret, credential) && secret.Data?.TryGetValue("password", out var value) == true && value is not null
                ? Encoding.UTF8.GetString(value)
                : null;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }
}
