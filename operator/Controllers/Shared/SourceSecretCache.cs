using k8s.Models;
using Passbox.Operator.Runtime;
using Passbox.Operator.Runtime.Watching;

namespace Passbox.Operator.Controllers.Shared;

/// <summary>
/// The data of source Secrets the operator has read, so that many credentials reading one Secret (several passwords in
/// one Secret, many credentials naming one admin Secret) cost one GET, not one per reconcile. A copy is answered only
/// while the source-Secret informer holds that Secret at the uid and resourceVersion the copy was read at, and it is
/// dropped on any change the informer reports for the Secret (update, deletion, no longer referenced), so memory
/// follows the Secrets credentials read, never the Secrets of the cluster.
/// <para>
/// Staleness: the informer's resourceVersion can lag the live Secret by the watch's delay, and so can a copy. When the
/// Secret changes, its watch event re-queues the credentials that read it (the source-Secret event mapping) and drops
/// the copy; that reconcile sees a different resourceVersion and GETs. This is the eventual consistency of every
/// controller that reads from a cache. A read that was in flight when the event arrived is answered but not kept.
/// </para>
/// <para>
/// The informer holds a Secret only from a change that finds it referenced (see <see cref="ReferencedSourceSecrets"/>):
/// a Secret created before the credentials that read it is unknown to it. A read therefore also hands the informer the
/// Secret's identity as a provisional object, which its next watch event replaces and reports in full.
/// </para>
/// </summary>
public sealed class SourceSecretCache
{
    private readonly IInformer<PartialObjectMetadata> informer;
    private readonly Lock gate = new();
    private readonly Dictionary<ObjectKey, Slot> slots = [];

    public SourceSecretCache(IInformer<PartialObjectMetadata> informer)
    {
        ArgumentNullException.ThrowIfNull(informer);
        this.informer = informer;
        informer.Subscribe(OnChange);
    }

    /// <summary>How many Secrets a copy is kept (or a read is in flight) for.</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return slots.Count;
            }
        }
    }

    /// <summary>How many Secrets of <paramref name="namespace"/> a copy is kept (or a read is in flight) for.</summary>
    internal int CountIn(string @namespace)
    {
        lock (gate)
        {
            return slots.Keys.Count(key => key.Namespace == @namespace);
        }
    }

    /// <summary>The copy of the Secret, if the synced informer holds it at the same uid and resourceVersion.</summary>
    public SecretSnapshot? Find(ObjectKey key)
    {
        if (!informer.HasSynced)
        {
            return null;
        }

        SecretSnapshot? snapshot;
        lock (gate)
        {
            snapshot = slots.GetValueOrDefault(key)?.Snapshot;
        }

        return snapshot is not null && informer.Cache.TryGet(key, out var held) && snapshot.IsAt(held.Metadata) ? snapshot : null;
    }

    /// <summary>
    /// Call before reading the Secret from the API server, and <see cref="EndRead"/> after: a change the informer reports
    /// in between makes the result too old to keep.
    /// </summary>
    public ReadTicket BeginRead(ObjectKey key)
    {
        lock (gate)
        {
            if (!slots.TryGetValue(key, out var slot))
            {
                slots[key] = slot = new Slot();
            }

            return new ReadTicket(key, slot);
        }
    }

    /// <summary>Keeps what the read found (<paramref name="secret"/>, null when it found nothing) unless the Secret changed meanwhile.</summary>
    public void EndRead(ReadTicket ticket, V1Secret? secret)
    {
        lock (gate)
        {
            if (!slots.TryGetValue(ticket.Key, out var slot) || !ReferenceEquals(slot, ticket.Slot))
            {
                return;
            }

            if (secret?.Metadata is not { Uid: { Length: > 0 }, ResourceVersion: { Length: > 0 } } || !informer.HasSynced)
            {
                if (slot.Snapshot is null)
                {
                    slots.Remove(ticket.Key);
                }

                return;
            }

            slot.Snapshot = SecretSnapshot.Of(secret);
            // Under the gate: a change reported after this point drops the copy and, in OnChange, any stale provisional.
            informer.Cache.TryAddProvisional(Identity(secret.Metadata));
        }
    }

    private void OnChange(InformerEvent<PartialObjectMetadata> change)
    {
        var key = ObjectKey.Of(change.Current);
        lock (gate)
        {
            slots.Remove(key);
            // A read that ended between the informer's update and this call may have left the identity of a Secret the
            // informer just dropped (deleted, or no longer referenced). One the watch reported is not provisional and stays.
            informer.Cache.RemoveProvisional(key);
        }
    }

    /// <summary>What the source-Secret informer holds of a Secret: its identity, nothing of its content.</summary>
    internal static PartialObjectMetadata Identity(V1ObjectMeta metadata) => new()
    {
        Metadata = new V1ObjectMeta
        {
            Name = metadata.Name,
            NamespaceProperty = metadata.NamespaceProperty,
            ResourceVersion = metadata.ResourceVersion,
            Uid = metadata.Uid,
        },
    };

    /// <summary>A read in flight: keeps its result only if no change of the Secret was reported since it began.</summary>
    public sealed class ReadTicket
    {
        internal ReadTicket(ObjectKey key, object slot)
        {
            Key = key;
            Slot = slot;
        }

        public ObjectKey Key { get; }

        internal object Slot { get; }

        public override string ToString() => Key.ToString();
    }

    private sealed class Slot
    {
        public SecretSnapshot? Snapshot { get; set; }
    }
}

/// <summary>The data of one Secret at one uid and resourceVersion. <see cref="ToString"/> names its version, never a value.</summary>
public sealed class SecretSnapshot
{
    private SecretSnapshot(string uid, string resourceVersion, IReadOnlyDictionary<string, byte[]> data)
    {
        Uid = uid;
        ResourceVersion = resourceVersion;
        Data = data;
    }

    public string Uid { get; }

    public string ResourceVersion { get; }

    /// <summary><c>uid:resourceVersion</c>: changes whenever the Secret does, reveals nothing of it.</summary>
    public string Version => $"{Uid}:{ResourceVersion}";

    public IReadOnlyDictionary<string, byte[]> Data { get; }

    /// <summary>Keeps the data map only; the rest of the Secret is dropped.</summary>
    public static SecretSnapshot Of(V1Secret secret)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return new SecretSnapshot(secret.Metadata?.Uid ?? "", secret.Metadata?.ResourceVersion ?? "", secret.Data?.AsReadOnly() ?? new Dictionary<string, byte[]>().AsReadOnly());
    }

    public bool IsAt(V1ObjectMeta metadata) =>
        metadata is not null && metadata.Uid == Uid && metadata.ResourceVersion == ResourceVersion;

    public override string ToString() => $"Secret {Version} ({Data.Count} keys)";
}
