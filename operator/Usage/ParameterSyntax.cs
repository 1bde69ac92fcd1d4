using System.Text.RegularExpressions;

namespace Passbox.Operator.Usage;

/// <summary>
/// How an engine writes a parameter in a field it substitutes (Tekton <c>$(params.x)</c>, Argo
/// <c>{{workflow.parameters.x}}</c>), read into a <see cref="ParameterizedName"/>. Each reference becomes a key that
/// says which parameter it is, whatever the spelling; any other expression of the engine (<c>$(tasks.a.results.b)</c>,
/// <c>{{steps.x.outputs…}}</c>) is known only when the run is under way, so text that holds one reads as no name.
/// </summary>
/// <param name="reference">Matches one parameter reference.</param>
/// <param name="expressionMarker">Starts every expression of the engine: text left with one is not understood.</param>
/// <param name="key">The key of a matched reference, or null when the reference cannot be followed here.</param>
internal sealed class ParameterSyntax(Regex reference, string expressionMarker, Func<Match, string?> key)
{
    /// <summary><paramref name="text"/> as a name, literal or with parameters; null when it holds another expression.</summary>
    public ParameterizedName? Parse(string text)
    {
        if (!text.Contains(expressionMarker, StringComparison.Ordinal))
        {
            return ParameterizedName.Literal(text);
        }

        var parts = new List<string>();
        var end = 0;
        foreach (Match match in reference.Matches(text))
        {
            var literal = text[end..match.Index];
            if (literal.Contains(expressionMarker, StringComparison.Ordinal) || key(match) is not { } parameter)
            {
                return null;
            }

            parts.Add(literal);
            parts.Add(parameter);
            end = match.Index + match.Length;
        }

        var tail = text[end..];
        if (tail.Contains(expressionMarker, StringComparison.Ordinal))
        {
            return null;
        }

        parts.Add(tail);
        return ParameterizedName.FromParts(parts);
    }
}
