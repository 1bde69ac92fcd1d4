using System.Text.Json.Nodes;

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

    private static List<string> Strings(JsonNode? node) =>
        node?.AsArray().Select(n => (string)n!).ToList() ?? [];
}
