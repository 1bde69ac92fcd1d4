using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Passbox.IntegrationTests.Shipping;

/// <summary>
/// Writes a JSON value as a Lua table constructor, the way Argo CD hands a resource to a health
/// script (Lua has no JSON library of its own). JSON null becomes an absent key, as in Argo CD.
/// </summary>
public static class LuaLiteral
{
    public static string From(JsonNode? node)
    {
        var builder = new StringBuilder();
        Write(node, builder);
        return builder.ToString();
    }

    private static void Write(JsonNode? node, StringBuilder builder)
    {
        switch (node)
        {
            case null:
                builder.Append("nil");
                break;
            case JsonObject obj:
                builder.Append('{');
                foreach (var (key, value) in obj.Where(p => p.Value is not null))
                {
                    builder.Append('[');
                    WriteString(key, builder);
                    builder.Append("]=");
                    Write(value, builder);
                    builder.Append(", ");
                }

                builder.Append('}');
                break;
            case JsonArray array:
                builder.Append('{');
                foreach (var item in array)
                {
                    Write(item, builder);
                    builder.Append(", ");
                }

                builder.Append('}');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        WriteString(value.GetValue<string>(), builder);
                        break;
                    case JsonValueKind.Number:
                        builder.Append(value.ToJsonString());
                        break;
                    case JsonValueKind.True:
                        builder.Append("true");
                        break;
                    case JsonValueKind.False:
                        builder.Append("false");
                        break;
                    default:
                        builder.Append("nil");
                        break;
                }

                break;
        }
    }

    // Every byte outside printable ASCII as a decimal escape: valid in Lua 5.1 and 5.4 alike.
    private static void WriteString(string text, StringBuilder builder)
    {
        builder.Append('"');
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            if (b is >= 0x20 and < 0x7f && b != '"' && b != '\\')
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('\\').Append(b.ToString("D3", CultureInfo.InvariantCulture));
            }
        }

        builder.Append('"');
    }
}
