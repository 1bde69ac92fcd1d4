namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// A listing of possible users that has failed so far: which kinds, in which namespace, and the server's answer (no
/// secret content). Said apart so that a blocked deletion points at the listing that failed: the credential's own
/// namespace for its Pods, workloads and runs, or a shared catalog's namespace for the Tekton Tasks and Pipelines runs
/// reach through the cluster resolver.
/// </summary>
public sealed record UsageListingProblem(string Namespace, string Kinds, string Cause)
{
    /// <summary>The kinds a namespace that holds a credential is listed for.</summary>
    public const string UsersOfANamespace = "Pods, workloads and runs";

    /// <summary>The kinds a catalog namespace that runs name is listed for.</summary>
    public const string TektonDefinitions = "tasks and pipelines (tekton.dev)";

    /// <summary>The permission to check, for a condition's advice: where the listing failed, not where the credential is.</summary>
    public string RbacHint => $"list on {Kinds} in namespace {Namespace}";

    /// <summary>What failed, for a condition or an event.</summary>
    public override string ToString() => $"listing the {Kinds} of namespace {Namespace}: {Cause}";
}
