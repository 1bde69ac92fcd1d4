namespace Passbox.Operator.Usage;

/// <summary>
/// A parameter's value as one object gives it: a run's or a caller's argument, or a definition's default. The value
/// may itself name parameters of the object that gives it (a Pipeline passing <c>$(params.secret)</c> on to its Task);
/// null when it is given in a way that cannot be read (another expression, a value taken from a step's output), so
/// that a default does not stand in for it.
/// </summary>
public readonly record struct ParameterBinding(string Key, ParameterizedName? Value) : IComparable<ParameterBinding>
{
    public int CompareTo(ParameterBinding other)
    {
        var byKey = string.CompareOrdinal(Key, other.Key);
        return byKey != 0 ? byKey : Nullable.Compare(Value, other.Value);
    }

    public static bool operator <(ParameterBinding left, ParameterBinding right) => left.CompareTo(right) < 0;

    public static bool operator <=(ParameterBinding left, ParameterBinding right) => left.CompareTo(right) <= 0;

    public static bool operator >(ParameterBinding left, ParameterBinding right) => left.CompareTo(right) > 0;

    public static bool operator >=(ParameterBinding left, ParameterBinding right) => left.CompareTo(right) >= 0;
}
