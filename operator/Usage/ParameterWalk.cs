namespace Passbox.Operator.Usage;

/// <summary>
/// The Secret names a run reaches through the definitions it runs by name once their parameters are substituted:
/// a PipelineRun's <c>params</c> through its Pipeline's tasks into a Task's <c>$(params.x)</c>, a Workflow's arguments
/// into its WorkflowTemplate's <c>{{workflow.parameters.x}}</c>. Walked from the run down, so every definition sees
/// the values its caller passes: passed values over the definition's defaults; a key starting with
/// <see cref="InheritedPrefix"/> (Argo's global parameters) also flows on to every definition below. A parameter
/// neither passed nor defaulted, or passed in a way that cannot be read, makes the name unknown: it counts as none.
/// </summary>
internal static class ParameterWalk
{
    /// <summary>Argo's <c>workflow.parameters</c>: the Workflow's, seen by every template it runs, referenced or not.</summary>
    public const string InheritedPrefix = "workflow.parameters.";

    /// <summary>
    /// Definitions visited per run, at most: a Pipeline of Pipelines of Pipelines multiplies calls, and the index
    /// must answer in bounded time whatever is applied to the cluster.
    /// </summary>
    public const int MaxVisits = 512;

    private static readonly Dictionary<string, string?> NoValues = new(StringComparer.Ordinal);

    /// <summary>
    /// The names <paramref name="run"/> reaches, through definitions at most <paramref name="maxDepth"/> calls deep
    /// (<paramref name="find"/> gives a definition's references, or null when it is unknown); a definition already on
    /// the path is not entered again.
    /// </summary>
    public static IReadOnlySet<string> SecretNames(ObjectReferences run, Func<DefinitionReference, ObjectReferences?> find, int maxDepth)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(find);
        var walk = new Walk(find, maxDepth);
        walk.Visit(run, Environment(run, caller: null, call: null), depth: 0);
        return walk.Names;
    }

    /// <summary>
    /// The values <paramref name="target"/> sees: those its caller passes on without a call (<see cref="InheritedPrefix"/>),
    /// over them <paramref name="call"/>'s bindings read with the caller's values, and the target's own values for keys
    /// still unset. A null value is known to be unknown: no default stands in for it.
    /// </summary>
    private static Dictionary<string, string?> Environment(ObjectReferences target, IReadOnlyDictionary<string, string?>? caller, DefinitionCall? call)
    {
        caller ??= NoValues;
        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (key, value) in caller)
        {
            if (key.StartsWith(InheritedPrefix, StringComparison.Ordinal))
            {
                values[key] = value;
            }
        }

        foreach (var binding in call?.Bindings ?? [])
        {
            values[binding.Key] = binding.Value?.Resolve(key => Lookup(caller, key));
        }

        foreach (var own in target.Parameters?.Values ?? [])
        {
            if (!values.ContainsKey(own.Key))
            {
                // A default may name another parameter: read it with what is known so far, once.
                values[own.Key] = own.Value?.Resolve(key => Lookup(values, key));
            }
        }

        return values;
    }

    private static string? Lookup(IReadOnlyDictionary<string, string?> values, string key) =>
        values.TryGetValue(key, out var value) ? value : null;

    private sealed class Walk(Func<DefinitionReference, ObjectReferences?> find, int maxDepth)
    {
        private readonly HashSet<DefinitionReference> path = [];
        private int visits;

        public HashSet<string> Names { get; } = new(StringComparer.Ordinal);

        public void Visit(ObjectReferences node, Dictionary<string, string?> values, int depth)
        {
            foreach (var name in node.Parameters?.SecretNames ?? [])
            {
                if (name.Resolve(key => Lookup(values, key)) is { } resolved && !string.IsNullOrWhiteSpace(resolved))
                {
                    Names.Add(resolved.Trim());
                }
            }

            if (depth >= maxDepth)
            {
                return;
            }

            foreach (var definition in node.Definitions)
            {
                if (visits >= MaxVisits || path.Contains(definition) || find(definition) is not { } target)
                {
                    continue;
                }

                path.Add(definition);
                var calls = node.Parameters?.Calls.Where(c => c.Definition == definition).ToList() ?? [];
                if (calls.Count == 0)
                {
                    // Named without parameters: the definition sees its defaults (and inherited values) only.
                    visits++;
                    Visit(target, Environment(target, values, call: null), depth + 1);
                }

                foreach (var call in calls)
                {
                    if (visits++ < MaxVisits)
                    {
                        Visit(target, Environment(target, values, call), depth + 1);
                    }
                }

                path.Remove(definition);
            }
        }
    }
}
