using System.Globalization;
using System.Text;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Publishing;

namespace Passbox.Operator.Controllers.ClusterCredentials;

/// <summary>
/// Builds the Secret a ClusterCredential publishes: everything an application needs to connect, under the keys
/// described in the API (engine, host, port, username, password, uri, and tenant/cluster or database/token).
/// </summary>
public static class ClusterSecretBuilder
{
    public static SecretPayload Build(ClusterCredential credential, EffectiveClusterSpec spec, string? password, string? apiKey)
    {
        var data = new Dictionary<string, string>
        {
            ["engine"] = spec.Engine.ToString(),
            ["host"] = spec.Host,
            ["port"] = spec.Port.ToString(CultureInfo.InvariantCulture),
        };

        if (spec.LoginName is not null)
        {
            data["username"] = spec.LoginName;
        }

        if (password is not null)
        {
            data["password"] = password;
        }

        switch (spec.Engine)
        {
            case ClusterEngine.OceanBase:
                data["tenant"] = spec.Tenant ?? "";
                if (spec.Cluster is not null)
                {
                    data["cluster"] = spec.Cluster;
                }

                data["uri"] = MySqlUri(spec, password);
                break;
            case ClusterEngine.MySQL:
                data["uri"] = MySqlUri(spec, password);
                break;
            case ClusterEngine.Milvus:
                data["database"] = spec.Database ?? "default";
                data["token"] = apiKey ?? $"{spec.Username}:{password}";
                data["uri"] = $"{(spec.TlsMode == TlsMode.Disabled ? "http" : "https")}://{spec.Endpoint}";
                break;
        }

        return new SecretPayload(
            spec.SecretName,
            "Opaque",
            data.ToDictionary(pair => pair.Key, pair => Encoding.UTF8.GetBytes(pair.Value)),
            GeneratedSecretMetadata.Labels(credential.Metadata.Name, ClusterCredential.KindName, credential.Spec.Secret?.Labels),
            GeneratedSecretMetadata.Annotations(credential.Spec.Secret?.Annotations));
    }

    /// <summary><c>mysql://user:password@host:port</c> with user and password escaped (they may hold @, #, : or /).</summary>
    private static string MySqlUri(EffectiveClusterSpec spec, string? password)
    {
        var user = Uri.EscapeDataString(spec.LoginName ?? "");
        var secret = password is null ? "" : ":" + Uri.EscapeDataString(password);
        return $"mysql://{user}{secret}@{spec.Endpoint}";
    }
}
