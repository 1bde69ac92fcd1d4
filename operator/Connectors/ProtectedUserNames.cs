using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.Operator.Connectors;

/// <summary>
/// The connectors' and provisioning's view of <see cref="ProtectedUsers"/>, the one list of administrators Passbox never
/// creates, resets or drops (compared without case), plus OceanBase's <c>sys</c> tenant, every user of which
/// administers the cluster (see <see cref="IsSysTenant"/>).
/// </summary>
public static class ProtectedUserNames
{
    public static IReadOnlyList<string> All => ProtectedUsers.All;

    public static bool Contains(string? user) => ProtectedUsers.Contains(user);

    /// <summary>OceanBase's <c>sys</c> tenant: every user there administers the cluster. Tenant names ignore case.</summary>
    public static bool IsSysTenant(string? tenant) => string.Equals(tenant, "sys", StringComparison.OrdinalIgnoreCase);
}
