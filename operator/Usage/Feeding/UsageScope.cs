using k8s;
using k8s.Models;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// The namespaces whose Pods, workloads and runs the usage index follows: those that hold a credential of either kind.
/// A Pod can mount only Secrets of its own namespace, so a namespace without credentials cannot use one; its objects
/// are dropped on arrival. A namespace leaves the scope when its last credential is gone (deleted, its finalizer done):
/// what the index held there is dropped, so memory follows the namespaces that hold credentials now, not every one that
/// ever did (CI namespaces per branch). A credential created there again brings the namespace back, listed afresh.
/// <para>
/// Tekton Tasks and Pipelines are followed in more namespaces (<see cref="Definitions"/>): also in those whose
/// definitions a run reaches through the cluster resolver (a shared catalog). Their Pods run in the run's namespace, so
/// the Secrets they name are the run's. Only an operator that watches every namespace follows them there
/// (<see cref="FollowsOtherNamespaces"/>): one that watches a single namespace has a Role there and cannot list another.
/// </para>
/// </summary>
public sealed class UsageScope(bool followsOtherNamespaces = true)
{
    public NamespaceScope Namespaces { get; } = new(dropsNamespacesLeftEmpty: true);

    /// <summary>
    /// The namespaces whose Tasks and Pipelines are indexed: <see cref="Namespaces"/>, and those runs reach. It only grows:
    /// a namespace that runs reach keeps no count of the runs that reach it.
    /// </summary>
    public NamespaceScope Definitions { get; } = new();

    /// <summary>False when the operator watches one namespace: definitions elsewhere are not read.</summary>
    public bool FollowsOtherNamespaces { get; } = followsOtherNamespaces;

    /// <summary>Kinds of runs whose CRD appeared after the controllers started and which are not listed yet.</summary>
    public KindListings Kinds { get; } = new();

    /// <summary>Puts the namespace of every credential <paramref name="credentials"/> holds or receives in scope.</summary>
    public IDisposable Track<T>(IInformer<T> credentials)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var namespaces = Namespaces.IncludeNamespacesOf(credentials);
        var definitions = Definitions.IncludeNamespacesOf(credentials);
        return new Both(namespaces, definitions);
    }

    /// <summary>
    /// Follows the Tasks and Pipelines of <paramref name="namespace"/>, which a run names through the cluster resolver
    /// (<see cref="UsageIndex.DefinitionNamespaceNamed"/>). Called before the run is indexed, so a deletion that sees
    /// the run also waits for that namespace's definitions to be listed. A value that is no namespace name (a typo, a
    /// space) names no definition and is not listed: a list that can only fail would hold every deletion.
    /// </summary>
    public void FollowDefinitionsOf(string @namespace)
    {
        if (FollowsOtherNamespaces && TektonDefinitionRefs.IsNamespaceName(@namespace))
        {
            Definitions.Include(@namespace);
        }
    }

    /// <summary>
    /// True when the index knows every user in <paramref name="namespace"/>: a credential that just brought its namespace
    /// into scope waits for that namespace's objects to be listed before a deletion may be let through, every credential
    /// waits while the Tasks and Pipelines of a namespace just followed are listed (which runs of any namespace may
    /// reach), and for the runs of a CRD created after the operator started (<see cref="Kinds"/>).
    /// </summary>
    public bool IsComplete(string @namespace) => Namespaces.IsComplete(@namespace) && Definitions.IsSettled && Kinds.Current is null;

    /// <summary>Why listing the namespace's users has failed so far (no secret content), or null.</summary>
    public UsageListingProblem? Problem(string @namespace) =>
        Namespaces.FillProblem(@namespace) is { } own
            ? new UsageListingProblem(@namespace, UsageListingProblem.UsersOfANamespace, own)
            : Definitions.FirstFillProblem is var (other, problem)
                ? new UsageListingProblem(other, UsageListingProblem.TektonDefinitions, problem)
                : null;

    private sealed class Both(IDisposable first, IDisposable second) : IDisposable
    {
        public void Dispose()
        {
            first.Dispose();
            second.Dispose();
        }
    }
}
