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

    /// <summary>
    /// A Tekton Task or Pipeline of namespace <paramref name="namespace"/> that something reaches from another namespace
    /// (the cluster resolver's <c>namespace</c> param): named <c>namespace/name</c>, a name no object of a namespace has.
    /// The index keeps each Task and Pipeline under that name too (<see cref="UsageKinds.IsShared"/>).
    /// </summary>
    public static DefinitionReference InNamespace(string kind, string @namespace, string name) => new(kind, $"{@namespace}/{name}");

    /// <summary>The namespace of a reference made with <see cref="InNamespace"/>; null for one by name in the namer's namespace.</summary>
    public string? Namespace => Name.IndexOf('/', StringComparison.Ordinal) is > 0 and var slash ? Name[..slash] : null;

    /// <summary><c>Kind/Name</c>: unambiguous, as a kind holds no slash (a name may: <see cref="InNamespace"/>).</summary>
    public override string ToString() => $"{Kind}/{Name}";

    /// <summary>Reads what <see cref="ToString"/> wrote; null for anything else.</summary>
    public static DefinitionReference? Parse(string? text)
    {
        var slash = text?.IndexOf('/', StringComparison.Ordinal) ?? -1;
        return slash > 0 && slash < text!.Length - 1 ? new DefinitionReference(text[..slash], text[(slash + 1)..]) : null;
    }
}
