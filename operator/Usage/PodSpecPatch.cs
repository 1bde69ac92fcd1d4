using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Passbox.Operator.Usage;

/// <summary>
/// Secret references in an Argo <c>podSpecPatch</c>: a pod spec fragment in a string, JSON or YAML, that the controller
/// merges into the Pods it creates, so its volumes, containers' env and envFrom, and imagePullSecrets count as if
/// written in the pod spec.
/// <para>
/// The string may hold Argo expressions (<c>{{inputs.parameters.memory}}</c>) that the controller substitutes before
/// parsing; unquoted in YAML, they do not parse, so a patch that does not parse as written is parsed again with each
/// expression replaced by a plain word. A patch that still does not read as a mapping cannot be understood here: then
/// every word in it that could be a Secret's name counts as one. That may keep a Secret in use that the patch does not
/// use, until the Workflow finishes, but never lets a Secret go that a Pod of it may mount.
/// </para>
/// </summary>
internal static partial class PodSpecPatch
{
    /// <summary>Bounds the tree built from YAML, where aliases can repeat a node many times over.</summary>
    private const int MaxNodes = 10_000;

    private const int MaxDepth = 64;

    public static void Collect(string? patch, ReferenceCollector collector)
    {
        // The controller substitutes the Workflow's parameters before it parses the patch.
        patch = collector.Resolve(patch);
        if (string.IsNullOrWhiteSpace(patch))
        {
            return;
        }

        if ((Parse(patch) ?? Parse(Expression().Replace(patch, "expression"))) is JsonObject podSpec)
        {
            JsonPodShapes.CollectPodSpec(podSpec, collector);
            return;
        }

        foreach (Match word in SecretNameLike().Matches(patch))
        {
            collector.AddSecret(word.Value);
        }
    }

    /// <summary>The patch as a JSON object, or null when it is neither a JSON nor a YAML mapping.</summary>
    private static JsonObject? Parse(string patch)
    {
        try
        {
            using var document = JsonDocument.Parse(patch);
            return document.RootElement.ValueKind == JsonValueKind.Object ? (JsonObject?)ToJson(document.RootElement) : null;
        }
        catch (JsonException)
        {
            // YAML, or not a patch at all.
        }

        try
        {
            return ParseYaml(patch);
        }
        catch (YamlException)
        {
            return null;
        }
    }

    /// <summary>
    /// Strings stay strings, other scalars are dropped: only names are read. A repeated key keeps its last value, as
    /// Kubernetes reads JSON (JsonNode.Parse would throw on it when first read, outside any handler here).
    /// </summary>
    private static JsonNode? ToJson(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var obj = new JsonObject();
                foreach (var property in element.EnumerateObject())
                {
                    obj[property.Name] = ToJson(property.Value);
                }

                return obj;
            case JsonValueKind.Array:
                var array = new JsonArray();
                foreach (var item in element.EnumerateArray())
                {
                    array.Add(ToJson(item));
                }

                return array;
            case JsonValueKind.String:
                return JsonValue.Create(element.GetString());
            default:
                return null;
        }
    }

    /// <summary>
    /// The patch's one YAML document, if a mapping, built from the parser's events with a stack of its own: a
    /// representation-model loader recurses once per level, and a deeply nested string must not overflow the stack.
    /// Scalars become strings (only names are read). Null for what this does not follow (aliases, keys that are not
    /// scalars, more than one document) and for trees too deep or too large.
    /// </summary>
    private static JsonObject? ParseYaml(string patch)
    {
        var parser = new Parser(new StringReader(patch));
        var open = new Stack<YamlContainer>();
        JsonNode? root = null;
        var documents = 0;
        var nodes = 0;
        while (parser.MoveNext())
        {
            JsonNode? node;
            switch (parser.Current)
            {
                case DocumentStart when ++documents > 1:
                    return null;
                case MappingStart:
                    node = new JsonObject();
                    break;
                case SequenceStart:
                    node = new JsonArray();
                    break;
                case MappingEnd or SequenceEnd:
                    open.Pop();
                    continue;
                case Scalar scalar when open.TryPeek(out var parent) && parent.ExpectsKey:
                    parent.Key = scalar.Value;
                    continue;
                case Scalar scalar:
                    node = JsonValue.Create(scalar.Value);
                    break;
                case AnchorAlias:
                    return null;
                default:
                    continue; // stream and document boundaries, comments
            }

            if (++nodes > MaxNodes || open.Count >= MaxDepth)
            {
                return null;
            }

            if (!open.TryPeek(out var container))
            {
                root = node;
            }
            else if (!container.Add(node))
            {
                return null;
            }

            if (node is not JsonValue)
            {
                open.Push(new YamlContainer(node));
            }
        }

        return root as JsonObject;
    }

    /// <summary>An Argo expression: <c>{{inputs.parameters.x}}</c>, <c>{{=sprig.trim(...)}}</c>.</summary>
    [GeneratedRegex(@"\{\{.*?\}\}", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Expression();

    /// <summary>A word that could name a Secret: a DNS subdomain (lowercase letters, digits, '-' and '.').</summary>
    [GeneratedRegex(@"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", RegexOptions.CultureInvariant)]
    private static partial Regex SecretNameLike();

    /// <summary>A mapping or sequence being read; a mapping alternates between its keys and their values.</summary>
    private sealed class YamlContainer(JsonNode node)
    {
        public string? Key { get; set; }

        public bool ExpectsKey => node is JsonObject && Key is null;

        /// <summary>False for a mapping or sequence used as a key, which pod specs never have.</summary>
        public bool Add(JsonNode value)
        {
            if (node is JsonArray array)
            {
                array.Add(value);
                return true;
            }

            if (Key is null)
            {
                return false;
            }

            node[Key] = value;
            Key = null;
            return true;
        }
    }
}
