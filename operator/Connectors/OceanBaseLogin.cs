namespace Passbox.Operator.Connectors;

/// <summary>The login forms OceanBase accepts in MySQL mode.</summary>
public static class OceanBaseLogin
{
    /// <summary>
    /// <c>user@tenant#cluster</c> for OBProxy/ODP, <c>user@tenant</c> straight to an OBServer
    /// (no cluster given).
    /// </summary>
    public static string Format(string user, string tenant, string? cluster)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        return string.IsNullOrEmpty(cluster) ? $"{user}@{tenant}" : $"{user}@{tenant}#{cluster}";
    }

    /// <summary>
    /// The tenant named in a login (<c>user@tenant#cluster</c>, <c>user@tenant</c> or
    /// <c>cluster:tenant:user</c>); null when the login names none, which means the sys tenant.
    /// </summary>
    public static string? TenantOf(string loginName)
    {
        ArgumentNullException.ThrowIfNull(loginName);
        var at = loginName.LastIndexOf('@');
        if (at >= 0)
        {
            var rest = loginName[(at + 1)..];
            var hash = rest.IndexOf('#', StringComparison.Ordinal);
            var tenant = hash >= 0 ? rest[..hash] : rest;
            return tenant.Length == 0 ? null : tenant;
        }

        var parts = loginName.Split(':');
        return parts.Length == 3 && parts[1].Length > 0 ? parts[1] : null;
    }
}
