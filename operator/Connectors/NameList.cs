namespace Passbox.Operator.Connectors;

/// <summary>
/// Names a message lists (a kubeconfig's contexts, a Secret's keys, who uses a Secret): the first few, then how many
/// more. A kubeconfig with thousands of contexts would otherwise make a message nobody reads, longer than a condition
/// holds.
/// </summary>
public static class NameList
{
    /// <summary>How many names a message shows unless it says otherwise.</summary>
    public const int Shown = 20;

    /// <summary><c>a, b, c and 7 more</c>: the names in the order given, at most <paramref name="shown"/> of them.</summary>
    public static string Join(IEnumerable<string> names, int shown = Shown)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentOutOfRangeException.ThrowIfLessThan(shown, 1);
        var all = names as IReadOnlyCollection<string> ?? names.ToList();
        var text = string.Join(", ", all.Take(shown));
        return all.Count > shown ? $"{text} and {all.Count - shown} more" : text;
    }
}
