using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The JSON settings informers decode lists and watch events with: KubernetesJson's (its converters, and the operator's
/// generated metadata in front of its resolvers), and, for informers that drop managedFields anyway, a converter that
/// skips them while reading. managedFields are often half of an object's JSON (an entry per writer, each with a tree of
/// every field it set); decoded into objects only to be thrown away they cost a watch of Pods or Secrets about a third of
/// its decoding time and more than half of its allocation (docs/benchmarks/notes.md, stop 23).
/// </summary>
internal static class InformerJson
{
    // Built on first use, which comes after the host's start registered the operator's metadata with KubernetesJson
    // (the copy takes the resolvers as they are then).
    private static readonly Lazy<JsonSerializerOptions> Kubernetes = new(CaptureKubernetesOptions);
    private static readonly Lazy<JsonSerializerOptions> WithoutManagedFields = new(() =>
        new JsonSerializerOptions(Kubernetes.Value) { Converters = { new ManagedFieldsSkipper() } });

    /// <summary>Metadata for decoding <typeparamref name="TValue"/>, with or without the objects' managedFields.</summary>
    public static JsonTypeInfo<TValue> TypeInfo<TValue>(bool keepManagedFields) =>
        (JsonTypeInfo<TValue>)(keepManagedFields ? Kubernetes.Value : WithoutManagedFields.Value).GetTypeInfo(typeof(TValue));

    private static JsonSerializerOptions CaptureKubernetesOptions()
    {
        JsonSerializerOptions? captured = null;
        KubernetesJson.AddJsonOptions(options => captured = options);
        return captured ?? throw new InvalidOperationException("KubernetesJson did not expose its serializer options.");
    }

    /// <summary>Reads past metadata.managedFields and leaves the property null. Never writes: these options only decode.</summary>
    private sealed class ManagedFieldsSkipper : JsonConverter<IList<V1ManagedFieldsEntry>>
    {
        public override IList<V1ManagedFieldsEntry>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            // TrySkip, not Skip: reading a list page from a stream, the reader's block is not final, though the
            // serializer has buffered the whole value before handing it to a converter (so this does not fail).
            return reader.TrySkip() ? null : throw new JsonException("managedFields ended before their end.");
        }

        public override void Write(Utf8JsonWriter writer, IList<V1ManagedFieldsEntry> value, JsonSerializerOptions options) =>
            throw new NotSupportedException("The informers' JSON settings only decode.");
    }
}
