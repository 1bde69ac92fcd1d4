using System.Text.Json;
using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// Tolerant reading of untyped objects (custom resources without C# types): a missing field, or a field of an
/// unexpected shape, reads as absent rather than throwing, so one odd object cannot stop the watch that feeds the index.
/// </summary>
internal static class Json
{
    public static JsonNode? Get(JsonNode? node, params ReadOnlySpan<string> path)
    {
        foreach (var segment in path)
        {
            if (node is not JsonObject obj || !obj.TryGetPropertyValue(segment, out node))
            {
                return null;
            }
        }

        return node;
    }

    public static string? String(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    public static string? String(JsonNode? node, params ReadOnlySpan<string> path) => String(Get(node, path));

    public static IEnumerable<JsonNode> Items(JsonNode? node) =>
        node is JsonArray array ? array.OfType<JsonNode>() : [];

    public static IEnumerable<JsonNode> Items(JsonNode? node, params ReadOnlySpan<string> path) => Items(Get(node, path));

    public static Dictionary<string, string>? Annotations(JsonNode? obj)
    {
        if (Get(obj, "metadata", "annotations") is not JsonObject annotations)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in annotations)
        {
            if (String(value) is { } text)
            {
                result[key] = text;
            }
        }

        return result;
    }
}
