using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// The namespaces whose Pods, workloads and runs the usage index follows: those that hold a credential of either kind.
/// A Pod can mount only Secrets of its own namespace, so a namespace without credentials cannot use one; its objects
/// are dropped on arrival. A namespace stays in scope once it held a credential (until the operator restarts).
/// </summary>
public sealed class UsageScope
{
    public NamespaceScope Namespaces { get; } = new();

    /// <summary>Kinds of runs whose CRD appeared after the controllers started and which are not listed yet.</summary>
    public KindListings Kinds { get; } = new();

    /// <summary>Puts the namespace of every credential <paramref name="credentials"/> holds or receives in scope.</summary>
    public IDisposable Track<T>(IInformer<T> credentials)
        where T : class, IKubernetesObject<V1ObjectMeta> => Namespaces.IncludeNamespacesOf(credentials);

    /// <summary>
    /// True when the index knows every user in <paramref name="namespace"/>: a credential that just brought its namespace
    /// into scope waits for that namespace's objects to be listed before a deletion may be let through, and every
    /// credential waits for the runs of a CRD created after the operator started (<see cref="Kinds"/>).
    /// </summary>
    public bool IsComplete(string @namespace) => Namespaces.IsComplete(@namespace) && Kinds.Current is null;

    /// <summary>Why listing the namespace's users has failed so far (no secret content), or null.</summary>
    public string? Problem(string @namespace) => Namespaces.FillProblem(@namespace);
}
