namespace Passbox.Operator.Usage;

/// <summary>An object that uses a Secret or a credential, named within the namespace the question was asked for.</summary>
public readonly record struct UsageUser(string Kind, string Name) : IComparable<UsageUser>
{
    public int CompareTo(UsageUser other)
    {
        var byKind = string.CompareOrdinal(Kind, other.Kind);
        return byKind != 0 ? byKind : string.CompareOrdinal(Name, other.Name);
    }

    public static bool operator <(UsageUser left, UsageUser right) => left.CompareTo(right) < 0;

    public static bool operator <=(UsageUser left, UsageUser right) => left.CompareTo(right) <= 0;

    public static bool operator >(UsageUser left, UsageUser right) => left.CompareTo(right) > 0;

    public static bool operator >=(UsageUser left, UsageUser right) => left.CompareTo(right) >= 0;

    public override string ToString() => $"{Kind}/{Name}";
}
