using System.Text.Json;
using k8s;
using k8s.Models;
using Passbox.Operator.Hosting;
using Passbox.Operator.Runtime.Api;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Usage.Feeding;

/// <summary>
/// One watched kind that can use Secrets (Pods, workloads, ServiceAccounts, …). Its informer transform extracts the
/// references on arrival and keeps only a stub — name, namespace, resourceVersion and the references — so a Pod costs
/// a few bytes, not its whole spec (shared/design/performance.md).
/// </summary>
public sealed class UsageSource<T>(string kind, ResourceDescriptor resource, Func<T, ObjectReferences> extract, Func<T> createStub)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    /// <summary>In-memory only: the references, carried on the stub from the transform to the index.</summary>
    private const string ReferencesKey = "passbox.internal/references";

    public string Kind { get; } = kind;

    public ResourceDescriptor Resource { get; } = resource;

    public string InformerName => "usage-" + Resource.Plural;

    /// <summary>
    /// Watches <paramref name="watchNamespace"/> (null: all) and keeps only objects in <paramref name="scope"/>'s namespaces.
    /// A cluster-scoped kind belongs to no namespace: all its objects are kept (they count for runs of any namespace).
    /// </summary>
    public InformerOptions<T> InformerOptions(string? watchNamespace, NamespaceScope? scope) => Resource.Namespaced
        ? new() { Name = InformerName, Namespace = watchNamespace, Transform = ToStub, Scope = scope }
        : new() { Name = InformerName, Transform = ToStub };

    /// <summary>
    /// Keeps the index in step with the informer. Disposing the result cuts the feed off at once: when Dispose returns, no
    /// event of this informer reaches the index any more, not even one being delivered at that moment, so the caller can
    /// forget the kind right after without a late event bringing an object back.
    /// </summary>
    public IDisposable Feed(IInformer<T> informer, UsageIndex index)
    {
        var valve = new Valve();
        valve.Attach(informer.Subscribe(change =>
        {
            lock (valve.Gate)
            {
                if (!valve.IsClosed)
                {
                    Apply(change, index);
                }
            }
        }));
        return valve;
    }

    private void Apply(InformerEvent<T> change, UsageIndex index)
    {
        var meta = change.Current.Metadata;
        if (change.Type == InformerEventType.Deleted)
        {
            index.Remove(Kind, NamespaceOf(meta), meta.Name);
            return;
        }

        index.Upsert(FromStub(change.Current));

        // The index now holds the references; the cached stub needs only its identity and resourceVersion (a relist
        // compares those), so the copy carried here is dropped: 10,000 Pods cost ~3 MB less. Nothing else reads a
        // usage informer's objects, and an event always brings a freshly transformed stub.
        change.Current.Metadata.Annotations = null;
    }

    private T ToStub(T full)
    {
        var references = extract(full);
        var stub = createStub();
        stub.Metadata = new V1ObjectMeta
        {
            Name = full.Metadata.Name,
            // Few namespaces, many objects: one string per namespace, not one per object. No uid: nothing asks.
            NamespaceProperty = full.Metadata.NamespaceProperty is { } ns ? string.Intern(ns) : null,
            ResourceVersion = full.Metadata.ResourceVersion,
            Annotations = references.IsEmpty ? null : new Dictionary<string, string>
            {
                [ReferencesKey] = JsonSerializer.Serialize(
                    [references.SecretNames, references.ServiceAccountNames, references.CredentialNames, [.. references.Definitions.Select(d => d.ToString())], .. references.Parameters?.ToLists() ?? []],
                    PlainJsonContext.Default.IReadOnlyListStringArray),
            },
        };
        return stub;
    }

    private ObjectReferences FromStub(T stub)
    {
        var meta = stub.Metadata;
        if (meta.Annotations?.TryGetValue(ReferencesKey, out var encoded) != true)
        {
            return ObjectReferences.None(Kind, NamespaceOf(meta), meta.Name);
        }

        var lists = JsonSerializer.Deserialize(encoded!, PlainJsonContext.Default.StringArrayArray)!;
        var definitions = lists.Length > 3 ? lists[3].Select(DefinitionReference.Parse).OfType<DefinitionReference>() : null;
        var parameters = lists.Length > 4 ? ParameterUses.FromLists(lists[4..]) : null;
        return ObjectReferences.Create(Kind, NamespaceOf(meta), meta.Name, lists[0], lists[1], lists[2], definitions, parameters);
    }

    /// <summary>The object's namespace; empty for a cluster-scoped object (a ClusterWorkflowTemplate), as the extractors read it.</summary>
    private static string NamespaceOf(V1ObjectMeta meta) => meta.NamespaceProperty ?? string.Empty;

    /// <summary>
    /// The feed's subscription plus a gate its events pass under: unsubscribing alone would not stop an event the
    /// informer is delivering at that moment (it reads its subscribers before calling them).
    /// </summary>
    private sealed class Valve : IDisposable
    {
        private IDisposable? subscription;

        public Lock Gate { get; } = new();

        public bool IsClosed { get; private set; }

        public void Attach(IDisposable informerSubscription) => subscription = informerSubscription;

        public void Dispose()
        {
            lock (Gate)
            {
                IsClosed = true;
            }

            subscription?.Dispose();
        }
    }
}
