using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>One event of a watch stream.</summary>
/// <param name="Type">ADDED, MODIFIED, DELETED, BOOKMARK, ERROR, or what else the server sent ("" for none).</param>
/// <param name="Object">The object of an ADDED, MODIFIED or DELETED event.</param>
/// <param name="BookmarkVersion">The resourceVersion a BOOKMARK carries.</param>
/// <param name="Error">The Status an ERROR carries.</param>
/// <param name="ObjectError">Set when the object of an ADDED, MODIFIED or DELETED event could not be decoded.</param>
internal readonly record struct WatchEvent<T>(string Type, T? Object, string? BookmarkVersion, V1Status? Error, JsonException? ObjectError)
    where T : class;

/// <summary>What a watch of <typeparamref name="T"/> decodes its events' objects with, by event type.</summary>
internal sealed record WatchJson<T>(JsonTypeInfo<T> Object, JsonTypeInfo<PartialObjectMetadata> Bookmark, JsonTypeInfo<V1Status> Status)
    where T : class
{
    public static WatchJson<T> For(bool keepManagedFields) => new(
        InformerJson.TypeInfo<T>(keepManagedFields),
        InformerJson.TypeInfo<PartialObjectMetadata>(keepManagedFields: false),
        InformerJson.TypeInfo<V1Status>(keepManagedFields: false));
}

/// <summary>
/// Splits a watch stream into its lines and decodes each in one pass from its UTF-8 bytes. A line is
/// <c>{"type":…,"object":{…}}</c>; the API server writes the type first, so the object is decoded straight into its
/// final type. (Before, each line became a string, then a parsed document, then the object: three passes and about
/// three times the allocation; docs/benchmarks/notes.md, stop 23.) An object that comes before its type is kept as a
/// parsed element until the type is known.
/// </summary>
internal static class WatchLines
{
    /// <summary>Takes the next complete line (without its line break) off the front of <paramref name="buffer"/>.</summary>
    public static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        if (buffer.PositionOf((byte)'\n') is not { } end)
        {
            line = default;
            return false;
        }

        line = buffer.Slice(0, end);
        buffer = buffer.Slice(buffer.GetPosition(1, end));
        return true;
    }

    /// <summary>Whether a line holds nothing but white space (a keep-alive, or the \r of a \r\n break).</summary>
    public static bool IsBlank(ReadOnlySequence<byte> line)
    {
        foreach (var segment in line)
        {
            foreach (var b in segment.Span)
            {
                if (b is not ((byte)' ' or (byte)'\r' or (byte)'\t'))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Decodes one line. A line that is not a watch event throws <see cref="JsonException"/>.</summary>
    public static WatchEvent<T> Decode<T>(ReadOnlySequence<byte> line, WatchJson<T> json)
        where T : class
    {
        var reader = new Utf8JsonReader(line);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A watch event is not a JSON object.");
        }

        string? type = null;
        JsonElement? early = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.GetString();
            }
            else if (reader.ValueTextEquals("object"u8))
            {
                reader.Read();
                if (type is not null)
                {
                    // The rest of the line is the envelope's closing brace: nothing to read after the object.
                    return DecodeObject(type, ref reader, json);
                }

                early = JsonElement.ParseValue(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        type ??= "";
        if (early is not { } element)
        {
            return new WatchEvent<T>(type, null, null, null, null);
        }

        var elementReader = new Utf8JsonReader(JsonMarshal.GetRawUtf8Value(element));
        elementReader.Read();
        return DecodeObject(type, ref elementReader, json);
    }

    private static WatchEvent<T> DecodeObject<T>(string type, ref Utf8JsonReader reader, WatchJson<T> json)
        where T : class
    {
        switch (type)
        {
            case "ADDED":
            case "MODIFIED":
            case "DELETED":
                try
                {
                    return new WatchEvent<T>(type, JsonSerializer.Deserialize(ref reader, json.Object), null, null, null);
                }
                catch (JsonException e)
                {
                    return new WatchEvent<T>(type, null, null, null, e);
                }

            case "BOOKMARK":
                return new WatchEvent<T>(type, null, JsonSerializer.Deserialize(ref reader, json.Bookmark)?.Metadata?.ResourceVersion, null, null);
            case "ERROR":
                return new WatchEvent<T>(type, null, null, JsonSerializer.Deserialize(ref reader, json.Status), null);
            default:
                return new WatchEvent<T>(type, null, null, null, null);
        }
    }
}
