using System.Diagnostics.CodeAnalysis;
using k8s;
using k8s.Models;

namespace Passbox.Operator.Runtime.Watching;

/// <summary>
/// The informer's thread-safe store, keyed by namespace/name, with named secondary indexes
/// (e.g. "source secret" → credentials that reference it). Objects handed out are the cached
/// instances: treat them as read-only.
/// </summary>
public sealed class ObjectCache<T>
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly Lock gate = new();
    private readonly Dictionary<ObjectKey, T> items = [];
    private readonly Dictionary<string, Index> indexes = new(StringComparer.Ordinal);
    private readonly HashSet<ObjectKey> provisional = [];

    public int Count
    {
        get
        {
            lock (gate)
            {
                return items.Count;
            }
        }
    }

    /// <summary>Adds an index; existing objects are indexed at once, so it may be added at any time.</summary>
    public void AddIndex(string name, Func<T, IEnumerable<string>> indexer)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(indexer);
        lock (gate)
        {
            if (indexes.ContainsKey(name))
            {
                throw new InvalidOperationException($"An index named '{name}' already exists.");
            }

            var index = new Index(indexer);
            foreach (var (key, item) in items)
            {
                index.Add(key, item);
            }

            indexes.Add(name, index);
        }
    }

    public bool TryGet(ObjectKey key, [MaybeNullWhen(false)] out T item)
    {
        lock (gate)
        {
            return items.TryGetValue(key, out item);
        }
    }

    public T? Get(ObjectKey key) => TryGet(key, out var item) ? item : null;

    public IReadOnlyList<T> List()
    {
        lock (gate)
        {
            return [.. items.Values];
        }
    }

    public IReadOnlyList<ObjectKey> Keys()
    {
        lock (gate)
        {
            return [.. items.Keys];
        }
    }

    /// <summary>Objects whose index <paramref name="indexName"/> yielded <paramref name="value"/>.</summary>
    public IReadOnlyList<T> ByIndex(string indexName, string value)
    {
        lock (gate)
        {
            var keys = IndexNamed(indexName).KeysFor(value);
            return [.. keys.Select(key => items[key])];
        }
    }

    public IReadOnlyList<ObjectKey> KeysByIndex(string indexName, string value)
    {
        lock (gate)
        {
            return [.. IndexNamed(indexName).KeysFor(value)];
        }
    }

    /// <summary>
    /// Holds <paramref name="item"/>, learned outside the watch by a fresh read, unless an object is held under its key
    /// already. It stays provisional until the watch reports the object: the informer treats it as unknown, so the next
    /// event for it is reported in full and never mistaken for a repeat of what the cache holds.
    /// </summary>
    public bool TryAddProvisional(T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var key = ObjectKey.Of(item);
        lock (gate)
        {
            if (!items.TryAdd(key, item))
            {
                return false;
            }

            provisional.Add(key);
            foreach (var index in indexes.Values)
            {
                index.Add(key, item);
            }

            return true;
        }
    }

    /// <summary>Drops the object held under <paramref name="key"/> if it is provisional; one the watch reported stays.</summary>
    public bool RemoveProvisional(ObjectKey key)
    {
        lock (gate)
        {
            return provisional.Contains(key) && Remove(key) is not null;
        }
    }

    /// <summary>Like <see cref="TryGet"/>, but only an object the watch (or a list) reported: never a provisional one.</summary>
    internal bool TryGetWatched(ObjectKey key, [MaybeNullWhen(false)] out T item)
    {
        lock (gate)
        {
            if (provisional.Contains(key))
            {
                item = null;
                return false;
            }

            return items.TryGetValue(key, out item);
        }
    }

    /// <summary>Stores <paramref name="item"/> and returns the object the watch had reported before, if any (not a provisional one).</summary>
    internal T? Upsert(T item)
    {
        var key = ObjectKey.Of(item);
        lock (gate)
        {
            items.TryGetValue(key, out var old);
            if (provisional.Remove(key))
            {
                old = null;
            }

            items[key] = item;
            foreach (var index in indexes.Values)
            {
                index.Remove(key);
                index.Add(key, item);
            }

            return old;
        }
    }

    internal T? Remove(ObjectKey key)
    {
        lock (gate)
        {
            provisional.Remove(key);
            if (!items.Remove(key, out var old))
            {
                return null;
            }

            foreach (var index in indexes.Values)
            {
                index.Remove(key);
            }

            return old;
        }
    }

    private Index IndexNamed(string name) =>
        indexes.TryGetValue(name, out var index) ? index : throw new KeyNotFoundException($"No index named '{name}'.");

    private sealed class Index(Func<T, IEnumerable<string>> indexer)
    {
        private readonly Dictionary<string, HashSet<ObjectKey>> keysByValue = new(StringComparer.Ordinal);
        private readonly Dictionary<ObjectKey, string[]> valuesByKey = [];

        private static readonly HashSet<ObjectKey> None = [];

        public HashSet<ObjectKey> KeysFor(string value) =>
            keysByValue.TryGetValue(value, out var keys) ? keys : None;

        public void Add(ObjectKey key, T item)
        {
            var values = indexer(item).Distinct(StringComparer.Ordinal).ToArray();
            if (values.Length == 0)
            {
                return;
            }

            valuesByKey[key] = values;
            foreach (var value in values)
            {
                if (!keysByValue.TryGetValue(value, out var keys))
                {
                    keysByValue[value] = keys = [];
                }

                keys.Add(key);
            }
        }

        public void Remove(ObjectKey key)
        {
            if (!valuesByKey.Remove(key, out var values))
            {
                return;
            }

            foreach (var value in values)
            {
                if (keysByValue.TryGetValue(value, out var keys) && keys.Remove(key) && keys.Count == 0)
                {
                    keysByValue.Remove(value);
                }
            }
        }
    }
}
