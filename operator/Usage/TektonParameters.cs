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

    /// <summary>The key of parameter <paramref name="name"/> in a <see cref="ParameterizedName"/>.</summary>
    public static string Key(string name) => "params." + name;

    /// <summary>
    /// Reads <c>$(params.x)</c> into key <see cref="Key"/>; any other <c>$(…)</c> (results, context, workspaces, array
    /// or object parameters) is not known before the task runs.
    /// </summary>
    public static ParameterSyntax Syntax { get; } = new(Reference(), "$(", match => Key(match.Groups["name"].Value));

    /// <summary>
    /// The defaults of <paramref name="declared"/> (a Task's or Pipeline's <c>params</c>) as the object's own values:
    /// a run that passes none resolves the definition's names with these.
    /// </summary>
    public static void AddDefaults(JsonNode? declared, ReferenceCollector collector)
    {
        foreach (var parameter in Json.Items(declared))
        {
            if (Json.String(parameter, "name") is { Length: > 0 } name)
            {
                collector.AddValue(Key(name), Json.String(parameter, "default"));
            }
        }
    }

    /// <summary>
    /// The parameters a run or a pipeline task passes (<paramref name="given"/>, each read with
    /// <paramref name="resolveGiven"/> when set) to the definition it names: a value that is not a string is unknown.
    /// </summary>
    public static List<ParameterBinding> Bindings(JsonNode? given, Func<string, string>? resolveGiven, ReferenceCollector collector)
    {
        // Read now, not when enumerated: the collector's resolver may have changed by then.
        var bindings = new List<ParameterBinding>();
        foreach (var parameter in Json.Items(given))
        {
            if (Json.String(parameter, "name") is { Length: > 0 } name)
            {
                var value = Json.String(parameter, "value");
                bindings.Add(collector.Binding(Key(name), value is null || resolveGiven is null ? value : resolveGiven(value)));
            }
        }

        return bindings;
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
