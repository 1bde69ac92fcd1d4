using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Passbox.Operator.Usage;

/// <summary>
/// The global parameters of an Argo Workflow, which the controller substitutes for <c>{{workflow.parameters.x}}</c>
/// in every template before it creates a Pod: a Secret named that way is used as surely as one named literally. The
/// values are the Workflow's <c>spec.arguments.parameters</c>, falling back to those of the WorkflowTemplate spec
/// stored in its status; a parameter's <c>value</c>, else its <c>default</c>.
/// </summary>
internal static partial class WorkflowParameters
{
    /// <summary>A resolver for <see cref="ReferenceCollector"/>, or null when the Workflow has no parameters.</summary>
    public static Func<string, string>? Resolver(JsonNode workflow) =>
        Resolver(Json.Get(workflow, "spec"), Json.Get(workflow, "status", "storedWorkflowTemplateSpec"));

    /// <summary>
    /// A resolver for the parameters of a Workflow spec (as a WorkflowTemplate's <c>spec</c> or a CronWorkflow's
    /// <c>spec.workflowSpec</c> hold one), over those of <paramref name="underlying"/> (the WorkflowTemplate spec it runs).
    /// </summary>
    public static Func<string, string>? Resolver(JsonNode? spec, JsonNode? underlying)
    {
        Dictionary<string, string>? values = null;
        Add(ref values, Json.Get(underlying, "arguments", "parameters"));
        Add(ref values, Json.Get(spec, "arguments", "parameters"));
        return ParameterSubstitution.Resolver(values, "{{", Reference());
    }

    private static void Add(ref Dictionary<string, string>? values, JsonNode? parameters)
    {
        foreach (var parameter in Json.Items(parameters))
        {
            if (Json.String(parameter, "name") is { Length: > 0 } name
                && (Json.String(parameter, "value") ?? Json.String(parameter, "default")) is { } value)
            {
                (values ??= new Dictionary<string, string>(StringComparer.Ordinal))[name] = value;
            }
        }
    }

    [GeneratedRegex(@"\{\{\s*workflow\.parameters\.(?<name>[^\s{}]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}
