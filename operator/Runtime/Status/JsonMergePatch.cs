using System.Text.Json.Nodes;

namespace Passbox.Operator.Runtime.Status;

/// <summary>
/// Builds an RFC 7386 JSON merge patch that turns one document into another: changed members are
/// set, removed members become null, arrays are replaced whole (as the server applies them).
/// </summary>
public static class JsonMergePatch
{
    /// <summary>Returns false when the documents are semantically equal (no request needed).</summary>
    public static bool TryCreate(JsonNode? original, JsonNode? target, out JsonNode? patch)
    {
        patch = Diff(original, target, out var changed);
        return changed;
    }

    private static JsonNode? Diff(JsonNode? original, JsonNode? target, out bool changed)
    {
        if (original is JsonObject before && target is JsonObject after)
        {
            var patch = new JsonObject();
            foreach (var (name, value) in after)
            {
                if (!before.TryGetPropertyValue(name, out var previous))
                {
                    if (value is not null)
                    {
                        patch[name] = value.DeepClone();
                    }

                    continue;
                }

                var member = Diff(previous, value, out var memberChanged);
                if (memberChanged)
                {
                    patch[name] = member;
                }
            }

            foreach (var (name, value) in before)
            {
                if (value is not null && !after.ContainsKey(name))
                {
                    patch[name] = null;
                }
            }

            changed = patch.Count > 0;
            return patch;
        }

        changed = !JsonNode.DeepEquals(original, target);
        return target?.DeepClone();
    }
}
