namespace Passbox.Operator.Usage;

/// <summary>
/// What the index keeps of an object's parameters, and only when it has some to keep: the Secret names it writes
/// with parameters (a definition's, which only a run can resolve), the values it gives its parameters (defaults, or a
/// Workflow's arguments its WorkflowTemplates inherit), and the parameters it passes to the definitions it runs
/// (<see cref="DefinitionCall"/>). <see cref="ParameterWalk"/> resolves them from a run down. Lists are sorted and distinct.
/// </summary>
public sealed class ParameterUses : IEquatable<ParameterUses>
{
    private readonly ParameterizedName[] secretNames;
    private readonly ParameterBinding[] values;
    private readonly DefinitionCall[] calls;

    private ParameterUses(ParameterizedName[] secretNames, ParameterBinding[] values, DefinitionCall[] calls)
    {
        this.secretNames = secretNames;
        this.values = values;
        this.calls = calls;
    }

    /// <summary>Secret names that depend on parameters.</summary>
    public IReadOnlyList<ParameterizedName> SecretNames => secretNames;

    /// <summary>The object's own parameter values, each key once (the last given wins).</summary>
    public IReadOnlyList<ParameterBinding> Values => values;

    /// <summary>Runs of definitions with parameters; a definition the object names without a call here is run with none.</summary>
    public IReadOnlyList<DefinitionCall> Calls => calls;

    /// <summary>Null when there is nothing to keep.</summary>
    public static ParameterUses? Create(IEnumerable<ParameterizedName>? secretNames, IEnumerable<ParameterBinding>? values, IEnumerable<DefinitionCall>? calls)
    {
        ParameterizedName[] names = secretNames is null ? [] : [.. new SortedSet<ParameterizedName>(secretNames)];
        DefinitionCall[] sortedCalls = calls is null ? [] : [.. new SortedSet<DefinitionCall>(calls, DefinitionCall.Order)];
        var byKey = new SortedDictionary<string, ParameterBinding>(StringComparer.Ordinal);
        foreach (var value in values ?? [])
        {
            byKey[value.Key] = value;
        }

        return names.Length == 0 && byKey.Count == 0 && sortedCalls.Length == 0
            ? null
            : new ParameterUses(names, [.. byKey.Values], sortedCalls);
    }

    /// <summary>
    /// As lists of strings, for the informer's stub that carries the references to the index (<c>UsageSource</c>):
    /// the names; the values as key and value in turn; then one list per call, its definition then its bindings the
    /// same way. A known value is written <c>=</c> and the name, an unknown one <c>?</c>.
    /// </summary>
    internal IEnumerable<IReadOnlyList<string>> ToLists()
    {
        yield return [.. secretNames.Select(name => name.Encoded)];
        yield return [.. Pairs(values)];
        foreach (var call in calls)
        {
            yield return [call.Definition.ToString(), .. Pairs(call.Bindings)];
        }
    }

    /// <summary>Reads what <see cref="ToLists"/> wrote; null when there is nothing, or it cannot be read.</summary>
    internal static ParameterUses? FromLists(IReadOnlyList<IReadOnlyList<string>> lists)
    {
        if (lists.Count < 2)
        {
            return null;
        }

        var calls = new List<DefinitionCall>();
        foreach (var list in lists.Skip(2))
        {
            if (list.Count > 0 && DefinitionReference.Parse(list[0]) is { } definition)
            {
                calls.Add(new DefinitionCall(definition, FromPairs(list.Skip(1).ToList())));
            }
        }

        return Create(lists[0].Select(ParameterizedName.FromEncoded), FromPairs(lists[1]), calls);
    }

    private static IEnumerable<string> Pairs(IEnumerable<ParameterBinding> bindings) =>
        bindings.SelectMany(binding => new[] { binding.Key, binding.Value is { } value ? "=" + value.Encoded : "?" });

    private static IEnumerable<ParameterBinding> FromPairs(IReadOnlyList<string> pairs)
    {
        for (var i = 0; i + 1 < pairs.Count; i += 2)
        {
            var value = pairs[i + 1];
            yield return new ParameterBinding(pairs[i], value.StartsWith('=') ? ParameterizedName.FromEncoded(value[1..]) : null);
        }
    }

    public bool Equals(ParameterUses? other) =>
        other is not null
        && secretNames.AsSpan().SequenceEqual(other.secretNames)
        && values.AsSpan().SequenceEqual(other.values)
        && calls.AsSpan().SequenceEqual(other.calls);

    public override bool Equals(object? obj) => Equals(obj as ParameterUses);

    public override int GetHashCode() => HashCode.Combine(secretNames.Length, values.Length, calls.Length);
}
