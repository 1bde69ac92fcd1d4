using System.Text.Json.Nodes;
using Passbox.IntegrationTests.Infrastructure;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// RBAC rules flattened to (apiGroup, resource, verb) permissions, so that two roles written
/// differently but granting the same compare equal — and so that an audit log can be compared too.
/// </summary>
public static class RbacRules
{
    public static IReadOnlySet<string> Permissions(JsonObject role)
    {
        var permissions = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var rule in role["rules"]?.AsArray() ?? [])
        {
            var names = Strings(rule!["resourceNames"]);
            var suffix = names.Count == 0 ? string.Empty : $" [{string.Join(',', names.Order(StringComparer.Ordinal))}]";
            foreach (var group in Strings(rule["apiGroups"]))
            {
                foreach (var resource in Strings(rule["resources"]))
                {
                    foreach (var verb in Strings(rule["verbs"]))
                    {
                        permissions.Add($"{(group.Length == 0 ? "core" : group)}/{resource}:{verb}{suffix}");
                    }
                }
            }
        }

        return permissions;
    }

    /// <summary>The permission an audited request needed, in the form of <see cref="Permissions"/>.</summary>
    public static string Permission(AuditEntry entry)
    {
        var group = entry.ApiGroup.Length == 0 ? "core" : entry.ApiGroup;
        var resource = entry.Subresource is { Length: > 0 } sub ? $"{entry.Resource}/{sub}" : entry.Resource;
        return $"{group}/{resource}:{entry.Verb}";
    }

    private static List<string> Strings(JsonNode? node) =>
        node?.AsArray().Select(n => (string)n!).ToList() ?? [];
}

/// <summary>
/// What rendered roles allow, by where: a ClusterRole's permissions everywhere (cluster-scoped objects and lists
/// across namespaces included), a Role's only in its namespace. Bindings are taken as given (the chart binds each role
/// to the operator's ServiceAccount; <see cref="HelmChartTests"/> checks that).
/// </summary>
public sealed class ScopedGrants
{
    private readonly HashSet<string> everywhere;
    private readonly Dictionary<string, HashSet<string>> byNamespace;

    private ScopedGrants(HashSet<string> everywhere, Dictionary<string, HashSet<string>> byNamespace)
    {
        this.everywhere = everywhere;
        this.byNamespace = byNamespace;
    }

    public static ScopedGrants From(IEnumerable<JsonObject> documents)
    {
        var list = documents.ToList();
        return new ScopedGrants(
            list.OfKind("ClusterRole").SelectMany(RbacRules.Permissions).ToHashSet(StringComparer.Ordinal),
            list.OfKind("Role")
                .GroupBy(role => (string)role["metadata"]!["namespace"]!, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.SelectMany(RbacRules.Permissions).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal));
    }

    public IReadOnlySet<string> InNamespace(string name) =>
        byNamespace.TryGetValue(name, out var granted) ? granted : new HashSet<string>(StringComparer.Ordinal);

    /// <summary>The requests these roles would refuse, as "permission in namespace".</summary>
    public IReadOnlyList<string> Refused(IEnumerable<AuditEntry> entries) =>
        entries
            .Where(e => e.Resource is not null)
            .Select(e => (Permission: RbacRules.Permission(e), e.Namespace))
            .Where(e => !everywhere.Contains(e.Permission) && !(e.Namespace is { } ns && InNamespace(ns).Contains(e.Permission)))
            .Select(e => $"{e.Permission} in {e.Namespace ?? "all namespaces"}")
            .Distinct(StringComparer.Ordinal)
            .ToList();
}
