using System.Text.Json.Nodes;

namespace Passbox.Operator.Usage;

/// <summary>
/// Which Task or Pipeline of the run's namespace a <c>taskRef</c> or <c>pipelineRef</c> names, in either way that
/// Tekton finds it there from cluster state:
/// <list type="bullet">
/// <item>by <c>name</c>, with neither a resolver nor a bundle;</item>
/// <item>through the <c>cluster</c> resolver, whose <c>params</c> say <c>kind</c>, <c>name</c> and <c>namespace</c>.
/// Shared catalogs are often run this way, and Tekton reads the definition only when the run (or, in a pipeline, the
/// task) starts, so until then only the reference says what the run will use.</item>
/// </list>
/// Not followed (null), because the definition is not one of the namespace's Tasks and Pipelines the index reads: other
/// resolvers and bundles (git, hub, OCI: outside the cluster), ClusterTasks and custom tasks, and cluster resolver
/// references to another namespace. Such a reference's definition lives where the operator may not look (it reads only
/// namespaces that hold a credential, or just one), so a Secret it names is kept only by a <c>passbox.dev/uses</c>
/// annotation on the run. A resolver parameter written with an expression (<c>$(params.x)</c>) is not substituted:
/// the reference is not followed either.
/// </summary>
internal static class TektonDefinitionRefs
{
    /// <summary>The name the cluster resolver answers to (<c>resolver: cluster</c>).</summary>
    public const string ClusterResolver = "cluster";

    /// <summary>
    /// The name of the Task of <paramref name="namespace"/> that <paramref name="taskRef"/> names, or null. A reference
    /// of kind Task (the default), or none: the API server's defaulting writes <c>kind: Task</c> on references of either
    /// form; ClusterTasks and the <c>apiVersion</c> of a custom task name something else.
    /// </summary>
    public static string? TaskName(JsonNode? taskRef, string @namespace)
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

        return NameIn(taskRef, "task", @namespace);
    }

    /// <summary>The name of the Pipeline of <paramref name="namespace"/> that <paramref name="pipelineRef"/> names, or null.</summary>
    public static string? PipelineName(JsonNode? pipelineRef, string @namespace) => NameIn(pipelineRef, "pipeline", @namespace);

    /// <summary>
    /// A reference by name, or a cluster resolver reference to a definition of <paramref name="resolverKind"/> in
    /// <paramref name="namespace"/>.
    /// </summary>
    private static string? NameIn(JsonNode? reference, string resolverKind, string @namespace)
    {
        if (reference is null || !string.IsNullOrEmpty(Json.String(reference, "bundle")))
        {
            return null;
        }

        var resolver = Json.String(reference, "resolver");
        if (string.IsNullOrEmpty(resolver))
        {
            return NonEmpty(Json.String(reference, "name"));
        }

        if (!string.Equals(resolver, ClusterResolver, StringComparison.Ordinal))
        {
            return null;
        }

        var (kind, name, referencedNamespace) = ResolverParams(reference);

        // Without a kind the resolver takes its configured default-kind (task as shipped). A kind other than that of
        // the field (a Pipeline for a taskRef) fails the run, so what is absent is read as the field's own kind: a
        // reference counts whichever default the cluster has set.
        if (kind is not null && !string.Equals(kind, resolverKind, StringComparison.Ordinal))
        {
            return null;
        }

        // Without a namespace the resolver takes its configured default-namespace, else the run's own namespace.
        // Passbox cannot read the resolver's configuration; the run's namespace is Tekton's default.
        if (referencedNamespace is not null && !string.Equals(referencedNamespace, @namespace, StringComparison.Ordinal))
        {
            return null;
        }

        return name;
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

    private static string? NonEmpty(string? name) => string.IsNullOrWhiteSpace(name) ? null : name.Trim();
}
