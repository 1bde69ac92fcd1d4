using k8s.Models;

namespace Passbox.CrdGen;

/// <summary>
/// The API server estimates the worst-case cost of every CEL rule from the schema and rejects the
/// CRD ("estimated rule cost exceeds budget") when what a rule reads is unbounded. This check is
/// deliberately stricter than the server's estimator, so a CRD that passes it is never rejected:
/// <list type="bullet">
/// <item>every list or map that encloses a schema carrying rules has <c>maxItems</c>/<c>maxProperties</c>;</item>
/// <item>everything a rule reads through <c>self</c>/<c>oldSelf</c> (the whole subtree, except inside
/// <c>has(...)</c>, <c>oldSelf.hasValue()</c> and the keys a map's <c>self.all(k, ...)</c> iterates) has bounded strings (<c>maxLength</c>, an enum, or a date/duration format), lists
/// (<c>maxItems</c>) and maps (<c>maxProperties</c>).</item>
/// </list>
/// It also reports rules that name a field the schema does not have.
/// </summary>
internal static class CelBoundsCheck
{
    private static readonly HashSet<string> BoundedFormats = ["date", "date-time", "duration"];

    public static IReadOnlyList<string> Check(V1JSONSchemaProps root, string rootPath)
    {
        var problems = new List<string>();
        Walk(root, rootPath, unboundedAncestor: null, problems);
        return problems;
    }

    private static void Walk(V1JSONSchemaProps schema, string path, string? unboundedAncestor, List<string> problems)
    {
        if (schema.XKubernetesValidations is { Count: > 0 } rules)
        {
            if (unboundedAncestor is not null)
            {
                problems.Add($"{path}: has CEL rules but sits inside {unboundedAncestor}, which has no maxItems/maxProperties; bound it ([MaxLength] on the list or map).");
            }

            foreach (var rule in rules)
            {
                foreach (var (target, targetPath) in References(schema, path, rule.Rule, problems))
                {
                    foreach (var unbounded in Unbounded(target, targetPath))
                    {
                        problems.Add($"{path}: CEL rule '{rule.Rule}' reads {unbounded}; the API server would reject the CRD (estimated rule cost exceeds budget).");
                    }
                }
            }
        }

        if (schema.Properties is { } properties)
        {
            foreach (var (name, child) in properties)
            {
                Walk(child, $"{path}.{name}", unboundedAncestor, problems);
            }
        }

        if (schema.Items is V1JSONSchemaProps items)
        {
            var bound = unboundedAncestor ?? (schema.MaxItems is null ? path : null);
            Walk(items, path + "[*]", bound, problems);
        }

        if (schema.AdditionalProperties is V1JSONSchemaProps values)
        {
            var bound = unboundedAncestor ?? (schema.MaxProperties is null ? path : null);
            Walk(values, path + "[*]", bound, problems);
        }
    }

    /// <summary>Descriptions of the unbounded strings, lists and maps in a subtree.</summary>
    private static IEnumerable<string> Unbounded(V1JSONSchemaProps schema, string path)
    {
        switch (schema.Type)
        {
            case "string" when schema.MaxLength is null && schema.EnumProperty is not { Count: > 0 }
                                && (schema.Format is null || !BoundedFormats.Contains(schema.Format)):
                yield return $"string {path} without maxLength ([MaxLength] or [StringLength])";
                break;
            case "array":
                if (schema.MaxItems is null)
                {
                    yield return $"list {path} without maxItems ([MaxLength])";
                }

                if (schema.Items is V1JSONSchemaProps items)
                {
                    foreach (var inner in Unbounded(items, path + "[*]"))
                    {
                        yield return inner;
                    }
                }

                break;
            case "object":
                if (schema.AdditionalProperties is V1JSONSchemaProps values)
                {
                    if (schema.MaxProperties is null)
                    {
                        yield return $"map {path} without maxProperties ([MaxLength])";
                    }

                    foreach (var inner in Unbounded(values, path + "[*]"))
                    {
                        yield return inner;
                    }
                }

                foreach (var (name, child) in schema.Properties ?? new Dictionary<string, V1JSONSchemaProps>())
                {
                    foreach (var inner in Unbounded(child, $"{path}.{name}"))
                    {
                        yield return inner;
                    }
                }

                break;
            default:
                if (schema.XKubernetesIntOrString == true)
                {
                    yield return $"int-or-string {path} (unbounded)";
                }

                break;
        }
    }

    /// <summary>
    /// The schemas a rule reads: each <c>self.a.b</c> / <c>oldSelf.a.b</c> chain resolved as far as
    /// the schema has properties. Chains that are the whole argument of <c>has(...)</c> read nothing.
    /// </summary>
    private static List<(V1JSONSchemaProps Schema, string Path)> References(
        V1JSONSchemaProps self, string selfPath, string rule, List<string> problems)
    {
        var found = new List<(V1JSONSchemaProps, string)>();
        var i = 0;
        while (i < rule.Length)
        {
            var ch = rule[i];
            if (ch is '\'' or '"')
            {
                i = SkipString(rule, i);
                continue;
            }

            if (!IsIdentStart(ch) || (i > 0 && (IsIdentPart(rule[i - 1]) || rule[i - 1] == '.')))
            {
                i++;
                continue;
            }

            var start = i;
            var ident = ReadIdent(rule, ref i);
            if (ident is not ("self" or "oldSelf"))
            {
                continue;
            }

            var chain = new List<(string Name, bool IsCall)>();
            while (i < rule.Length && rule[i] == '.')
            {
                var j = i + 1;
                if (j < rule.Length && rule[j] == '?')
                {
                    j++;
                }

                if (j >= rule.Length || !IsIdentStart(rule[j]))
                {
                    break;
                }

                var name = ReadIdent(rule, ref j);
                chain.Add((name, j < rule.Length && rule[j] == '('));
                i = j;
            }

            // has(self.x) and an optional oldSelf's hasValue() only ask whether a value is there.
            if (InsideHas(rule, start, i) || chain is [("hasValue", true)])
            {
                continue;
            }

            // self.all(k, ...) and self.exists(k, ...) on a map iterate its keys: the server estimates a key at no size
            // (its key type has no length), so they read only how many there are. Values read as self[k] count apart.
            if (self.AdditionalProperties is not null && self.Properties is null && chain is [("all" or "exists" or "exists_one", true), ..])
            {
                if (self.MaxProperties is null)
                {
                    found.Add((self, selfPath));
                }

                continue;
            }

            var node = self;
            var nodePath = selfPath;
            foreach (var (name, isCall) in chain)
            {
                if (isCall || node.Properties is null)
                {
                    break;
                }

                if (!node.Properties.TryGetValue(name, out var child))
                {
                    problems.Add($"{selfPath}: CEL rule '{rule}' refers to '{name}', which {nodePath} does not have.");
                    node = null;
                    break;
                }

                node = child;
                nodePath = $"{nodePath}.{name}";
            }

            if (node is not null)
            {
                found.Add((node, nodePath));
            }
        }

        return found;
    }

    private static bool InsideHas(string rule, int start, int end)
    {
        var before = rule[..start].TrimEnd();
        if (!before.EndsWith('('))
        {
            return false;
        }

        before = before[..^1].TrimEnd();
        if (!before.EndsWith("has", StringComparison.Ordinal)
            || (before.Length > 3 && (IsIdentPart(before[^4]) || before[^4] == '.')))
        {
            return false;
        }

        var after = rule[end..].TrimStart();
        return after.StartsWith(')');
    }

    private static int SkipString(string rule, int i)
    {
        var quote = rule[i];
        i++;
        while (i < rule.Length && rule[i] != quote)
        {
            i += rule[i] == '\\' ? 2 : 1;
        }

        return i + 1;
    }

    private static string ReadIdent(string rule, ref int i)
    {
        var start = i;
        while (i < rule.Length && IsIdentPart(rule[i]))
        {
            i++;
        }

        return rule[start..i];
    }

    private static bool IsIdentStart(char ch) => char.IsAsciiLetter(ch) || ch == '_';

    private static bool IsIdentPart(char ch) => char.IsAsciiLetterOrDigit(ch) || ch == '_';
}
