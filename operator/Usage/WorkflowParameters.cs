using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Passbox.Operator.Usage;

/// <summary>
/// The global parameters of an Argo Workflow, which the controller substitutes for <c>{{workflow.parameters.x}}</c>
/// in every template before it creates a Pod: a Secret named that way is used as surely as one named literally. The
/// values are the Workflow's <c>spec.arguments.parameters</c>, falling back to those of the WorkflowTemplate spec
/// stored in its status; a parameter's <c>value</c>, else its <c>default</c>. A WorkflowTemplate's names keep their
/// parameters (<see cref="Syntax"/>) for the Workflows that run it to resolve, each with its own arguments, and a
/// template's <c>{{inputs.parameters.x}}</c> with what a step's <c>templateRef</c> passes it.
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
    public static Func<string, string>? Resolver(JsonNode? spec, JsonNode? underlying) =>
        ParameterSubstitution.Resolver(Values(spec, underlying), "{{", Reference());

    /// <summary>
    /// Reads <c>{{workflow.parameters.x}}</c>, and in the top-level template named <paramref name="template"/>
    /// <c>{{inputs.parameters.x}}</c>; other expressions (outputs of steps, <c>{{=…}}</c>, inputs of an inline template)
    /// are known only while the Workflow runs.
    /// </summary>
    public static ParameterSyntax Syntax(string? template) => new(
        ParameterReference(),
        "{{",
        match => match.Groups["global"].Success ? ParameterWalk.InheritedPrefix + match.Groups["name"].Value
            : template is null ? null
            : InputKey(template, match.Groups["name"].Value));

    /// <summary>The key of input <paramref name="name"/> of the template <paramref name="template"/> in a <see cref="ParameterizedName"/>.</summary>
    public static string InputKey(string template, string name) => $"templates.{template}.inputs.parameters.{name}";

    /// <summary>
    /// The Workflow spec's parameters over <paramref name="underlying"/>'s, and the defaults of its templates' inputs, as
    /// the object's own values: what a run that passes none resolves a WorkflowTemplate's names with, and what a Workflow
    /// passes on to the WorkflowTemplates it runs.
    /// </summary>
    public static void AddValues(JsonNode? spec, JsonNode? underlying, ReferenceCollector collector)
    {
        foreach (var (name, value) in Values(spec, underlying) ?? [])
        {
            collector.AddValue(ParameterWalk.InheritedPrefix + name, value);
        }

        foreach (var template in Json.Items(spec, "templates"))
        {
            if (Json.String(template, "name") is { Length: > 0 } templateName)
            {
                foreach (var input in Json.Items(template, "inputs", "parameters"))
                {
                    if (Json.String(input, "name") is { Length: > 0 } name)
                    {
                        collector.AddValue(InputKey(templateName, name), Json.String(input, "value") ?? Json.String(input, "default"));
                    }
                }
            }
        }
    }

    /// <summary>
    /// What a step's or DAG task's <c>arguments.parameters</c> pass to the inputs of the template a <c>templateRef</c>
    /// names; a parameter passed otherwise than by <c>value</c> is unknown.
    /// </summary>
    public static List<ParameterBinding> Arguments(JsonNode? invocation, string? template, ReferenceCollector collector)
    {
        // Read now, not when enumerated: the collector's resolver and syntax change from one template to the next.
        var bindings = new List<ParameterBinding>();
        if (string.IsNullOrEmpty(template))
        {
            return bindings;
        }

        foreach (var argument in Json.Items(invocation, "arguments", "parameters"))
        {
            if (Json.String(argument, "name") is { Length: > 0 } name)
            {
                bindings.Add(collector.Binding(InputKey(template, name), Json.String(argument, "value")));
            }
        }

        return bindings;
    }

    private static Dictionary<string, string>? Values(JsonNode? spec, JsonNode? underlying)
    {
        Dictionary<string, string>? values = null;
        Add(ref values, Json.Get(underlying, "arguments", "parameters"));
        Add(ref values, Json.Get(spec, "arguments", "parameters"));
        return values;
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

    [GeneratedRegex(@"\{\{\s*(?:(?<global>workflow)|inputs)\.parameters\.(?<name>[^\s{}]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex ParameterReference();
}
