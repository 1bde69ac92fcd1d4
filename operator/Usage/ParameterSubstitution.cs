using System.Text.RegularExpressions;

namespace Passbox.Operator.Usage;

/// <summary>Substitutes parameter references, as a pipeline engine does before it creates a Pod, for a <see cref="ReferenceCollector"/>.</summary>
internal static class ParameterSubstitution
{
    /// <summary>
    /// Replaces each match of <paramref name="reference"/> (group <c>name</c>: the parameter) with its value; a
    /// reference to an unknown parameter stays as written. Null when there are no values. Text without
    /// <paramref name="marker"/> is returned as it is, without running the pattern.
    /// </summary>
    public static Func<string, string>? Resolver(IReadOnlyDictionary<string, string>? values, string marker, Regex reference)
    {
        if (values is null || values.Count == 0)
        {
            return null;
        }

        return text => text.Contains(marker, StringComparison.Ordinal)
            ? reference.Replace(text, match => values.TryGetValue(match.Groups["name"].Value, out var value) ? value : match.Value)
            : text;
    }
}
