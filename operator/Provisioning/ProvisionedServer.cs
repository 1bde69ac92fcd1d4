using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Controllers.ClusterCredentials;

namespace Passbox.Operator.Provisioning;

/// <summary>
/// Which server a provisioned user lives on: the one its admin credential logs in to (<c>host:port</c>, with the
/// OceanBase tenant and cluster, since users live in a tenant). Recorded with the user
/// (<see cref="ProvisioningStatus.Server"/>), so a credential that is pointed at another administrator, or whose admin is
/// pointed at another server, does not take a user of the same name there for the one it created: that one is someone
/// else's until proved otherwise, as for a new credential.
/// </summary>
public static class ProvisionedServer
{
    public static string Of(ClusterCredential admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var spec = EffectiveClusterSpec.From(admin);
        var endpoint = new Connectors.DatabaseLogin { Host = spec.Host, Port = spec.Port, LoginName = string.Empty }.Endpoint;
        return spec.Tenant is { Length: > 0 } tenant
            ? $"{endpoint} tenant {tenant}{(spec.Cluster is { Length: > 0 } cluster ? $" cluster {cluster}" : string.Empty)}"
            : endpoint;
    }

    /// <summary>
    /// Whether the user recorded in <paramref name="status"/> is <paramref name="username"/> on <paramref name="server"/>.
    /// A status written before servers were recorded, or a server not known now (no admin), counts by the name alone.
    /// Host names are compared without case, as DNS does: an admin whose host was only rewritten in another case still
    /// logs in to the server the user was made on, and deletionPolicy Delete must still drop it there.
    /// </summary>
    public static bool Manages(ProvisioningStatus? status, string username, string? server) =>
        status?.User == username && (status.Server is null || server is null || string.Equals(status.Server, server, StringComparison.OrdinalIgnoreCase));
}
