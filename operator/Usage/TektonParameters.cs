using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Passbox.Operator.Usage;

/// <summary>
/// Tekton parameters, which Tekton substitutes for <c>$(params.x)</c> (or <c>$(params["x"])</c>) in a task spec before
/// it creates the Pod: a Secret named that way in a task the run has not started yet is used as surely as one named
/// literally. A task sees the parameters its pipeline task passes (their values read with the pipeline's own), over its
/// declared defaults, over the pipeline's parameters (which Tekton propagates into embedded specs); a pipeline's
/// parameters are the run's <c>spec.params</c> over the pipeline's declared defaults. Only string values are read.
/// </summary>
internal static partial class TektonParameters
{
    /// <summary>
    /// <paramref name="inherited"/>, overridden by the defaults of <paramref name="declared"/>, overridden by the values
    /// of <paramref name="given"/> (each read with <paramref name="resolveGiven"/> when set).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Values(
        IReadOnlyDictionary<string, string>? inherited, JsonNode? declared, JsonNode? given, Func<string, string>? resolveGiven)
    {
        var values = inherited is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(inherited, StringComparer.Ordinal);
        Add(values, declared, "default", resolve: null);
        Add(values, given, "value", resolveGiven);
        return values;
    }

    /// <summary>A resolver for <see cref="ReferenceCollector"/>, or null when there are no parameters.</summary>
    public static Func<string, string>? Resolver(IReadOnlyDictionary<string, string> values) =>
        ParameterSubstitution.Resolver(values, "$(params", Reference());

    private static void Add(Dictionary<string, string> values, JsonNode? parameters, string field, Func<string, string>? resolve)
    {
        foreach (var parameter in Json.Items(parameters))
        {
            if (Json.String(parameter, "name") is { Length: > 0 } name && Json.String(parameter, field) is { } value)
            {
                values[name] = resolve is null ? value : resolve(value);
            }
        }
    }

    [GeneratedRegex("""\$\(params\.(?<name>[A-Za-z0-9_-]+)\)|\$\(params\[["'](?<name>[^"'\]]+)["']\]\)""", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}
