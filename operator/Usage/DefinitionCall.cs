namespace Passbox.Operator.Usage;

/// <summary>
/// One run of a definition by name with the parameters passed to it (a PipelineRun's <c>params</c> for its
/// <c>pipelineRef</c>, a pipeline task's for its <c>taskRef</c>, a step's <c>arguments</c> for its <c>templateRef</c>):
/// what the definition's parameterized names resolve with. Keys are sorted, each once.
/// </summary>
public sealed class DefinitionCall : IEquatable<DefinitionCall>
{
    private readonly ParameterBinding[] bindings;

    public DefinitionCall(DefinitionReference definition, IEnumerable<ParameterBinding> bindings)
    {
        ArgumentNullException.ThrowIfNull(bindings);
        Definition = definition;

        // A parameter passed twice takes its last value, as the engines read a list into a map.
        var byKey = new SortedDictionary<string, ParameterBinding>(StringComparer.Ordinal);
        foreach (var binding in bindings)
        {
            byKey[binding.Key] = binding;
        }

        this.bindings = [.. byKey.Values];
    }

    public DefinitionReference Definition { get; }

    public IReadOnlyList<ParameterBinding> Bindings => bindings;

    public bool Equals(DefinitionCall? other) =>
        other is not null && Definition == other.Definition && bindings.AsSpan().SequenceEqual(other.bindings);

    public override bool Equals(object? obj) => Equals(obj as DefinitionCall);

    public override int GetHashCode() => HashCode.Combine(Definition, bindings.Length);

    /// <summary>By definition, then bindings: a stable order, so that two extractions of one object compare equal.</summary>
    public static IComparer<DefinitionCall> Order { get; } = Comparer<DefinitionCall>.Create((left, right) =>
    {
        var byDefinition = left.Definition.CompareTo(right.Definition);
        return byDefinition != 0 ? byDefinition : left.bindings.AsSpan().SequenceCompareTo(right.bindings);
    });
}
