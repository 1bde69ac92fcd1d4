using System.Text.Json.Nodes;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.Operator.Usage;

/// <summary>
/// The <c>passbox.dev/uses: "a, b"</c> annotation, which any object can carry to say it uses credentials that no
/// field of it names, for example an application that reads a Secret through the API. The names are credential
/// names, not Secret names: a credential's generated Secret may be named differently.
/// </summary>
public static class UsesAnnotation
{
    private static readonly char[] Separators = [',', ' ', '\t', '\r', '\n'];

    /// <summary>What an object of any other kind uses: only what its annotation declares.</summary>
    public static ObjectReferences From(string kind, V1ObjectMeta? metadata)
    {
        var (ns, name) = ObjectMetadata.Identity(metadata);
        var collector = new ReferenceCollector();
        Collect(metadata?.Annotations, collector);
        return collector.Build(kind, ns, name);
    }

    /// <summary>What an untyped object of any other kind uses: only what its annotation declares.</summary>
    public static ObjectReferences From(string kind, JsonNode obj)
    {
        var (ns, name) = ObjectMetadata.Identity(obj);
        var collector = new ReferenceCollector();
        Collect(Json.Annotations(obj), collector);
        return collector.Build(kind, ns, name);
    }

    /// <summary>Adds the credential names of the annotation, if present, to <paramref name="collector"/>.</summary>
    internal static void Collect(IDictionary<string, string>? annotations, ReferenceCollector collector)
    {
        if (annotations is not null && annotations.TryGetValue(ApiGroup.UsesAnnotation, out var value))
        {
            Collect(value, collector);
        }
    }

    internal static void Collect(string? value, ReferenceCollector collector)
    {
        foreach (var name in Parse(value))
        {
            collector.AddCredential(name);
        }
    }

    /// <summary>
    /// The credential names in an annotation value: separated by commas or by white space, empty entries ignored. No
    /// object name holds a blank, so <c>"a b"</c> or a YAML block with one name a line can only mean several names;
    /// taken as one name, it matched no credential and protected nothing, without a word.
    /// </summary>
    public static IReadOnlyList<string> Parse(string? value) =>
        string.IsNullOrWhiteSpace(value)
            ? []
            : value.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
}
