namespace Passbox.Operator.Connectors;

/// <summary>
/// Administrators Passbox never creates, resets or drops, whatever the spec says: <c>root</c> (MySQL, Milvus, and the
/// OceanBase sys and tenant administrators; every user of the OceanBase <c>sys</c> tenant, see <see cref="IsSysTenant"/>), <c>proxyro</c> (OBProxy), <c>sys</c> (Oracle-mode tenants), OCP's
/// <c>ocp_monitor</c> and Zilliz Cloud's <c>db_admin</c>. Compared without case.
/// </summary>
public static class ProtectedUserNames
{
    public static IReadOnlyList<string> All { get; } = ["root", "db_admin", "proxyro", "sys", "ocp_monitor"];

    private static readonly HashSet<string> Set = new(All, StringComparer.OrdinalIgnoreCase);

    public static bool Contains(string? user) => user is not null && Set.Contains(user);

    /// <summary>OceanBase's <c>sys</c> tenant: every user there administers the cluster. Tenant names ignore case.</summary>
    public static bool IsSysTenant(string? tenant) => string.Equals(tenant, "sys", StringComparison.OrdinalIgnoreCase);
}
