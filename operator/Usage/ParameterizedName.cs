namespace Passbox.Operator.Usage;

/// <summary>
/// A name that depends on parameters, as a definition writes it (<c>$(params.secret)</c>, <c>db-{{workflow.parameters.env}}</c>):
/// literal text and parameter keys (<see cref="ParameterSyntax"/>), kept in one string so that the index holds one
/// object per name, however many parts it has. A literal name is one part.
/// </summary>
public readonly record struct ParameterizedName : IComparable<ParameterizedName>
{
    /// <summary>Separates the parts: it appears in neither a Kubernetes name nor a parameter key.</summary>
    private const char Separator = '\0';

    private ParameterizedName(string encoded) => Encoded = encoded;

    /// <summary>Literal, key, literal, …, literal: always an odd number of parts, separated by <see cref="Separator"/>.</summary>
    internal string Encoded { get; }

    /// <summary>True when the name depends on no parameter.</summary>
    public bool IsLiteral => Encoded.IndexOf(Separator, StringComparison.Ordinal) < 0;

    /// <summary>The keys of the parameters the name depends on.</summary>
    public IEnumerable<string> Keys => Encoded.Split(Separator).Where((_, index) => index % 2 == 1);

    public static ParameterizedName Literal(string text) => new(text);

    /// <summary>What <see cref="Encoded"/> held, as the informer's stub carries it to the index.</summary>
    internal static ParameterizedName FromEncoded(string encoded) => new(encoded);

    /// <summary>From literal texts and keys that alternate, starting and ending with a (maybe empty) literal.</summary>
    internal static ParameterizedName FromParts(IReadOnlyList<string> parts) => new(string.Join(Separator, parts));

    /// <summary>
    /// The name with every parameter replaced by <paramref name="value"/>'s answer, or null when one has none: a name
    /// that cannot be known is no name at all (counting it would only keep a Secret of that odd name).
    /// </summary>
    public string? Resolve(Func<string, string?> value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (IsLiteral)
        {
            return Encoded;
        }

        var parts = Encoded.Split(Separator);
        for (var i = 1; i < parts.Length; i += 2)
        {
            if (value(parts[i]) is not { } resolved)
            {
                return null;
            }

            parts[i] = resolved;
        }

        return string.Concat(parts);
    }

    public int CompareTo(ParameterizedName other) => string.CompareOrdinal(Encoded, other.Encoded);

    public static bool operator <(ParameterizedName left, ParameterizedName right) => left.CompareTo(right) < 0;

    public static bool operator <=(ParameterizedName left, ParameterizedName right) => left.CompareTo(right) <= 0;

    public static bool operator >(ParameterizedName left, ParameterizedName right) => left.CompareTo(right) > 0;

    public static bool operator >=(ParameterizedName left, ParameterizedName right) => left.CompareTo(right) >= 0;

    /// <summary>For messages and tests: each parameter written <c>$(key)</c>.</summary>
    public override string ToString()
    {
        var parts = Encoded.Split(Separator);
        for (var i = 1; i < parts.Length; i += 2)
        {
            parts[i] = $"$({parts[i]})";
        }

        return string.Concat(parts);
    }
}
