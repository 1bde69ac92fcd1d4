using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Passbox.Operator.Usage;

/// <summary>
/// Which Task or Pipeline a <c>taskRef</c> or <c>pipelineRef</c> names, in either way that Tekton finds it from
/// cluster state:
/// <list type="bullet">
/// <item>by <c>name</c>, with neither a resolver nor a bundle: a definition of the run's namespace;</item>
/// <item>through the <c>cluster</c> resolver, whose <c>params</c> say <c>kind</c>, <c>name</c> and <c>namespace</c>.
/// Shared catalogs are often run this way, and Tekton reads the definition only when the run (or, in a pipeline, the
/// task) starts, so until then only the reference says what the run will use. Without a <c>namespace</c> it is a
/// definition of the run's namespace; with one, that namespace's (<see cref="DefinitionReference.InNamespace"/>,
/// also when it is the run's own: a Pipeline reached from another namespace keeps naming that one).</item>
/// </list>
/// The Pods run in the run's namespace either way, so the Secrets the definition names are that namespace's. Not
/// followed (null): other resolvers and bundles (git, hub, OCI: outside the cluster), ClusterTasks and custom tasks,
/// and resolver params written with an expression (<c>$(params.x)</c>), which Tekton substitutes and Passbox does not.
/// </summary>
internal static partial class TektonDefinitionRefs
{
    /// <summary>The name the cluster resolver answers to (<c>resolver: cluster</c>).</summary>
    public const string ClusterResolver = "cluster";

    /// <summary>
    /// The Task <paramref name="taskRef"/> names, or null. A reference of kind Task (the default), or none: Tekton's
    /// defaulting writes <c>kind: Task</c> on references of either form; ClusterTasks and the <c>apiVersion</c> of a
    /// custom task name something else.
    /// </summary>
    public static DefinitionReference? Task(JsonNode? taskRef)
    {
        var kind = Json.String(taskRef, "kind");
        var apiVersion = Json.String(taskRef, "apiVersion");
        if (!string.IsNullOrEmpty(kind) && !string.Equals(kind, UsageKinds.Task, StringComparison.Ordinal))
        {
            return null;
        }

        if (!string.IsNullOrEmpty(apiVersion) && !apiVersion.StartsWith("tekton.dev/", StringComparison.Ordinal))
        {
            return null;
        }

        return Definition(taskRef, UsageKinds.Task, "task");
    }

    /// <summary>The Pipeline <paramref name="pipelineRef"/> names, or null.</summary>
    public static DefinitionReference? Pipeline(JsonNode? pipelineRef) => Definition(pipelineRef, UsageKinds.Pipeline, "pipeline");

    /// <summary>
    /// A reference by name, or a cluster resolver reference to a definition of <paramref name="resolverKind"/>
    /// (<paramref name="kind"/> to the index).
    /// </summary>
    private static DefinitionReference? Definition(JsonNode? reference, string kind, string resolverKind)
    {
        if (reference is null || !string.IsNullOrEmpty(Json.String(reference, "bundle")))
        {
            return null;
        }

        var resolver = Json.String(reference, "resolver");
        if (string.IsNullOrEmpty(resolver))
        {
            return NonEmpty(Json.String(reference, "name")) is { } byName ? new DefinitionReference(kind, byName) : null;
        }

        if (!string.Equals(resolver, ClusterResolver, StringComparison.Ordinal))
        {
            return null;
        }

        var (resolvedKind, name, @namespace) = ResolverParams(reference);

        // Without a kind the resolver takes its configured default-kind (task as shipped). A kind other than that of
        // the field (a Pipeline for a taskRef) fails the run, so what is absent is read as the field's own kind: a
        // reference counts whichever default the cluster has set.
        if (name is null || (resolvedKind is not null && !string.Equals(resolvedKind, resolverKind, StringComparison.Ordinal)))
        {
            return null;
        }

        // Without a namespace the resolver takes its configured default-namespace, else the run's own namespace.
        // Passbox cannot read the resolver's configuration; the run's namespace is Tekton's default.
        return @namespace switch
        {
            null => new DefinitionReference(kind, name),
            _ when IsNamespaceName(@namespace) => DefinitionReference.InNamespace(kind, @namespace, name),
            _ => null,
        };
    }

    /// <summary>
    /// The resolver's <c>kind</c>, <c>name</c> and <c>namespace</c> params (the last of each, as Tekton reads the list
    /// into a map); null when absent. A value that is not a plain string, such as an expression (<c>$(params.x)</c>, which
    /// Tekton substitutes and Passbox does not), is unknown: such a kind or namespace reads as the empty string, which
    /// matches nothing, and such a name as absent.
    /// </summary>
    private static (string? Kind, string? Name, string? Namespace) ResolverParams(JsonNode reference)
    {
        string? kind = null, name = null, @namespace = null;
        foreach (var parameter in Json.Items(reference, "params"))
        {
            var value = Json.String(parameter, "value");
            var known = value is not null && !value.Contains("$(", StringComparison.Ordinal) ? value.Trim() : null;
            switch (Json.String(parameter, "name"))
            {
                case "kind":
                    kind = known ?? string.Empty;
                    break;
                case "name":
                    name = NonEmpty(known);
                    break;
                case "namespace":
                    @namespace = known ?? string.Empty;
                    break;
            }
        }

        return (kind, name, @namespace);
    }

    /// <summary>
    /// True for a DNS-1123 label, as every namespace's name is: any other value names no namespace, and listing it
    /// could only fail.
    /// </summary>
    public static bool IsNamespaceName(string text) => NamespaceName().IsMatch(text);

    /// <summary>A name as written, trimmed; null for none, or one holding a slash, which no object's name does.</summary>
    private static string? NonEmpty(string? name) =>
        string.IsNullOrWhiteSpace(name) || name.Contains('/', StringComparison.Ordinal) ? null : name.Trim();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex NamespaceName();
}
