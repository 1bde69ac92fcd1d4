namespace Passbox.Operator.Usage;

/// <summary>
/// A reference by name to an object whose references the namer uses in turn. Mostly a definition, an object that says
/// what a run does without running itself: a Tekton Task or Pipeline, an Argo WorkflowTemplate of the same namespace or
/// a cluster-scoped ClusterWorkflowTemplate (<see cref="UsageKinds.IsDefinition"/>); a run that names one uses, while
/// it runs, what the definition names. Also the Deployment an Argo Rollout takes its pod template from: a user itself,
/// whose users then include the Rollout.
/// </summary>
public readonly record struct DefinitionReference(string Kind, string Name) : IComparable<DefinitionReference>
{
    public int CompareTo(DefinitionReference other)
    {
        var byKind = string.CompareOrdinal(Kind, other.Kind);
        return byKind != 0 ? byKind : string.CompareOrdinal(Name, other.Name);
    }

    public static bool operator <(DefinitionReference left, DefinitionReference right) => left.CompareTo(right) < 0;

    public static bool operator <=(DefinitionReference left, DefinitionReference right) => left.CompareTo(right) <= 0;

    public static bool operator >(DefinitionReference left, DefinitionReference right) => left.CompareTo(right) > 0;

    public static bool operator >=(DefinitionReference left, DefinitionReference right) => left.CompareTo(right) >= 0;

    /// <summary><c>Kind/Name</c>: unambiguous, as neither a kind nor an object name holds a slash.</summary>
    public override string ToString() => $"{Kind}/{Name}";

    /// <summary>Reads what <see cref="ToString"/> wrote; null for anything else.</summary>
    public static DefinitionReference? Parse(string? text)
    {
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        return slash > 0 && slash < text!.Length - 1 ? new DefinitionReference(text[..slash], text[(slash + 1)..]) : null;
    }
}
