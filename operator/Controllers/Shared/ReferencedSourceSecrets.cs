using k8s;
using k8s.Models;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// Tells the source-Secret informer which Secrets to hold: those some credential reads. Every Secret of the cluster is
/// watched (a source Secret carries no label to select on), but only referenced ones are cached, so tens of thousands of
/// unrelated Secrets cost the operator nothing to keep. Nothing is lost by not holding the rest: a reconcile reads an
/// unheld source from the API server (and <see cref="SourceSecretCache"/> then has the informer hold it), and an unheld
/// Secret's change or deletion still reaches the credentials that use it.
/// </summary>
public sealed class ReferencedSourceSecrets
{
    private readonly Lock gate = new();
    private Func<string, bool>[] lookups = [];

    /// <summary>Adds a credential cache whose index <paramref name="indexName"/> yields <c>namespace/secret</c> of each source.</summary>
    public void Track<T>(ObjectCache<T> credentials, string indexName)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(credentials);
        lock (gate)
        {
            lookups = [.. lookups, key => credentials.KeysByIndex(indexName, key).Count > 0];
        }
    }

    /// <summary>
    /// When a credential of <paramref name="credentials"/> is deleted or stops reading a Secret, has
    /// <paramref name="sources"/> drop that Secret unless another credential still reads it, and with it the copy of its
    /// data (<see cref="SourceSecretCache"/>). Otherwise both stayed until the Secret itself changed, which a Secret a
    /// deleted credential left behind may never do: memory followed every source any credential ever read.
    /// <paramref name="sourcesOf"/> names the Secrets a credential reads (as its source index does).
    /// </summary>
    public static IDisposable ForgetUnreadSources<T>(IInformer<T> credentials, IInformer<PartialObjectMetadata> sources, Func<T, IEnumerable<ObjectKey>> sourcesOf)
        where T : class, IKubernetesObject<V1ObjectMeta>
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(sourcesOf);
        return credentials.Subscribe(change =>
        {
            var before = change.Type == InformerEventType.Deleted ? change.Current : change.Old;
            if (before is null || (change.Type != InformerEventType.Deleted && SameGeneration(before, change.Current)))
            {
                // The sources are named by the spec, which a change of the same generation left as it was: the echo of
                // every status write, once per credential on the way to Ready, costs nothing here.
                return;
            }

            // The credential caches took the change before telling, so the Keep filter asked now sees it.
            HashSet<ObjectKey> still = change.Type == InformerEventType.Deleted ? [] : [.. sourcesOf(change.Current)];
            foreach (var key in sourcesOf(before).Where(key => !still.Contains(key)).Distinct())
            {
                sources.Reconsider(key);
            }
        });
    }

    private static bool SameGeneration(IKubernetesObject<V1ObjectMeta> before, IKubernetesObject<V1ObjectMeta> now) =>
        before.Metadata.Generation is { } was && was == now.Metadata.Generation;

    public bool IsReferenced(PartialObjectMetadata secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var key = $"{secret.Metadata.NamespaceProperty}/{secret.Metadata.Name}";
        return Volatile.Read(ref lookups).Any(lookup => lookup(key));
    }
}
