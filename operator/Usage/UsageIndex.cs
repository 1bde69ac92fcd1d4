namespace Passbox.Operator.Usage;

/// <summary>
/// Which objects in a namespace use which Secrets, ServiceAccounts and credentials, fed by the informers with the
/// <see cref="ObjectReferences"/> extracted from each object on arrival. Only the references are kept, with reverse
/// maps from (namespace, name) to users, so a query costs in proportion to the users it returns, not to the objects
/// watched; an object that uses nothing is not stored at all.
/// <para>
/// A user of a Secret is an object that names it, or an object that uses a ServiceAccount that lists it (one level:
/// a Tekton run whose ServiceAccount's <c>secrets</c> hold a generated Secret uses that Secret while it runs).
/// </para>
/// <para>
/// <see cref="Changed"/> is raised after each change, outside the index's lock, once per Secret or credential whose
/// users may have changed; handlers may query the index. Concurrent changes can raise their notifications in any
/// order: a notification says "look again", and the handler reads the current state.
/// </para>
/// </summary>
public sealed class UsageIndex
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, NamespaceIndex> namespaces = new(StringComparer.Ordinal);
    private int count;

    /// <summary>Raised once per Secret or credential whose set of users may have changed.</summary>
    public event Action<UsageChange>? Changed;

    /// <summary>Number of objects stored (objects that use something).</summary>
    public int Count
    {
        get
        {
            lock (gate)
            {
                return count;
            }
        }
    }

    /// <summary>Records what an object uses now, replacing what it used before; empty references remove it.</summary>
    public void Upsert(ObjectReferences references)
    {
        ArgumentNullException.ThrowIfNull(references);
        var changes = new ChangeList();
        lock (gate)
        {
            Apply(references, changes);
        }

        Raise(changes);
    }

    /// <summary>Forgets an object, as when it is deleted.</summary>
    public void Remove(string kind, string @namespace, string name) => Upsert(ObjectReferences.None(kind, @namespace, name));

    /// <summary>
    /// Makes <paramref name="current"/> the complete set of objects of <paramref name="kind"/>, as after a relist:
    /// objects of that kind not in it are removed.
    /// </summary>
    public void Replace(string kind, IEnumerable<ObjectReferences> current)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(current);
        var snapshot = current.ToList();
        if (snapshot.Any(r => !string.Equals(r.Kind, kind, StringComparison.Ordinal)))
        {
            throw new ArgumentException($"Every object must be of kind {kind}.", nameof(current));
        }

        var changes = new ChangeList();
        lock (gate)
        {
            var seen = snapshot.Select(r => (r.Namespace, r.Name)).ToHashSet();
            var stale = namespaces.Values
                .SelectMany(n => n.Objects.Keys
                    .Where(k => string.Equals(k.Kind, kind, StringComparison.Ordinal) && !seen.Contains((n.Namespace, k.Name)))
                    .Select(k => (n.Namespace, k.Name)))
                .ToList();
            foreach (var (ns, name) in stale)
            {
                Apply(ObjectReferences.None(kind, ns, name), changes);
            }

            foreach (var references in snapshot)
            {
                Apply(references, changes);
            }
        }

        Raise(changes);
    }

    /// <summary>What the index holds for an object, or null when it holds nothing (the object uses nothing or is unknown).</summary>
    public ObjectReferences? Find(string kind, string @namespace, string name)
    {
        lock (gate)
        {
            return namespaces.TryGetValue(@namespace, out var ns) && ns.Objects.TryGetValue(new UsageUser(kind, name), out var found)
                ? found
                : null;
        }
    }

    /// <summary>Objects in <paramref name="namespace"/> that use the Secret, directly or through a ServiceAccount; sorted by kind, then name.</summary>
    public IReadOnlyList<UsageUser> UsersOfSecret(string @namespace, string secretName)
    {
        lock (gate)
        {
            if (!namespaces.TryGetValue(@namespace, out var ns))
            {
                return [];
            }

            var users = new HashSet<UsageUser>();
            AddUsersOfSecret(ns, secretName, users);
            return Sorted(users);
        }
    }

    /// <summary>
    /// Objects in <paramref name="namespace"/> that use a credential: those whose <c>passbox.dev/uses</c> annotation names
    /// it, and the users of its generated Secret (when it has one); sorted by kind, then name.
    /// </summary>
    public IReadOnlyList<UsageUser> UsersOfCredential(string @namespace, string credentialName, string? generatedSecretName)
    {
        lock (gate)
        {
            if (!namespaces.TryGetValue(@namespace, out var ns))
            {
                return [];
            }

            var users = new HashSet<UsageUser>();
            if (ns.Credentials.TryGetValue(credentialName, out var annotated))
            {
                annotated.CopyTo(users);
            }

            if (!string.IsNullOrEmpty(generatedSecretName))
            {
                AddUsersOfSecret(ns, generatedSecretName, users);
            }

            return Sorted(users);
        }
    }

    private static void AddUsersOfSecret(NamespaceIndex ns, string secretName, HashSet<UsageUser> users)
    {
        if (!ns.Secrets.TryGetValue(secretName, out var direct))
        {
            return;
        }

        foreach (var user in direct.Users)
        {
            users.Add(user);
            if (string.Equals(user.Kind, UsageKinds.ServiceAccount, StringComparison.Ordinal)
                && ns.ServiceAccounts.TryGetValue(user.Name, out var throughServiceAccount))
            {
                throughServiceAccount.CopyTo(users);
            }
        }
    }

    private static UsageUser[] Sorted(HashSet<UsageUser> users)
    {
        var sorted = users.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    private void Apply(ObjectReferences references, ChangeList changes)
    {
        var key = new UsageUser(references.Kind, references.Name);
        namespaces.TryGetValue(references.Namespace, out var ns);
        ObjectReferences? old = null;
        ns?.Objects.TryGetValue(key, out old);
        if (old is null ? references.IsEmpty : old.HasSameReferencesAs(references))
        {
            return;
        }

        if (ns is null)
        {
            ns = new NamespaceIndex(references.Namespace);
            namespaces.Add(ns.Namespace, ns);
        }

        if (old is not null)
        {
            Unlink(ns.Secrets, old.SecretNames, key);
            Unlink(ns.ServiceAccounts, old.ServiceAccountNames, key);
            Unlink(ns.Credentials, old.CredentialNames, key);
            ns.Objects.Remove(key);
            count--;
        }

        if (!references.IsEmpty)
        {
            var stored = references.WithNames(
                ns.Namespace,
                name => Link(ns.Secrets, name, key),
                name => Link(ns.ServiceAccounts, name, key),
                name => Link(ns.Credentials, name, key));
            ns.Objects.Add(key, stored);
            count++;
        }

        var before = old ?? ObjectReferences.None(references.Kind, references.Namespace, references.Name);
        foreach (var name in SymmetricDifference(before.SecretNames, references.SecretNames))
        {
            changes.Add(new UsageChange(ns.Namespace, UsageTarget.Secret, name));
        }

        foreach (var name in SymmetricDifference(before.CredentialNames, references.CredentialNames))
        {
            changes.Add(new UsageChange(ns.Namespace, UsageTarget.Credential, name));
        }

        // Starting or stopping to use a ServiceAccount changes the users of every Secret it lists.
        foreach (var serviceAccount in SymmetricDifference(before.ServiceAccountNames, references.ServiceAccountNames))
        {
            if (ns.Objects.TryGetValue(new UsageUser(UsageKinds.ServiceAccount, serviceAccount), out var listed))
            {
                foreach (var name in listed.SecretNames)
                {
                    changes.Add(new UsageChange(ns.Namespace, UsageTarget.Secret, name));
                }
            }
        }

        if (ns.Objects.Count == 0)
        {
            namespaces.Remove(ns.Namespace);
        }
    }

    private static string Link(Dictionary<string, NameUsers> map, string name, UsageUser user)
    {
        if (!map.TryGetValue(name, out var entry))
        {
            entry = new NameUsers(name);
            map.Add(name, entry);
        }

        entry.Add(user);
        return entry.Name;
    }

    private static void Unlink(Dictionary<string, NameUsers> map, IReadOnlyList<string> names, UsageUser user)
    {
        foreach (var name in names)
        {
            if (map.TryGetValue(name, out var entry))
            {
                entry.Remove(user);
                if (entry.IsEmpty)
                {
                    map.Remove(name);
                }
            }
        }
    }

    /// <summary>Names in exactly one of two ordinal-sorted, distinct lists.</summary>
    private static IEnumerable<string> SymmetricDifference(IReadOnlyList<string> left, IReadOnlyList<string> right)
    {
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            var order = i == left.Count ? 1 : j == right.Count ? -1 : string.CompareOrdinal(left[i], right[j]);
            if (order == 0)
            {
                i++;
                j++;
            }
            else if (order < 0)
            {
                yield return left[i++];
            }
            else
            {
                yield return right[j++];
            }
        }
    }

    private void Raise(ChangeList changes)
    {
        var handler = Changed;
        if (handler is null)
        {
            return;
        }

        foreach (var change in changes.Items)
        {
            handler(change);
        }
    }

    private sealed class NamespaceIndex(string @namespace)
    {
        public string Namespace { get; } = @namespace;

        public Dictionary<UsageUser, ObjectReferences> Objects { get; } = [];

        public Dictionary<string, NameUsers> Secrets { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, NameUsers> ServiceAccounts { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, NameUsers> Credentials { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// The users of one name; holds the one string instance every stored reference to that name shares. Most names
    /// have a single user (a Secret of one workload), so a set is made only for the second.
    /// </summary>
    private sealed class NameUsers(string name)
    {
        private UsageUser single;
        private bool hasSingle;
        private HashSet<UsageUser>? many;

        public string Name { get; } = name;

        public bool IsEmpty => many is null && !hasSingle;

        public IEnumerable<UsageUser> Users => many ?? (hasSingle ? [single] : []);

        public void Add(UsageUser user)
        {
            if (many is not null)
            {
                many.Add(user);
            }
            else if (!hasSingle)
            {
                (single, hasSingle) = (user, true);
            }
            else if (single != user)
            {
                many = [single, user];
                (single, hasSingle) = (default, false);
            }
        }

        public void Remove(UsageUser user)
        {
            if (many is not null)
            {
                if (many.Remove(user) && many.Count == 1)
                {
                    (single, hasSingle) = (many.First(), true);
                    many = null;
                }
            }
            else if (hasSingle && single == user)
            {
                (single, hasSingle) = (default, false);
            }
        }

        public void CopyTo(HashSet<UsageUser> users)
        {
            if (many is not null)
            {
                users.UnionWith(many);
            }
            else if (hasSingle)
            {
                users.Add(single);
            }
        }
    }

    /// <summary>Changes of one operation, each once, in the order found.</summary>
    private sealed class ChangeList
    {
        private readonly HashSet<UsageChange> seen = [];

        public List<UsageChange> Items { get; } = [];

        public void Add(UsageChange change)
        {
            if (seen.Add(change))
            {
                Items.Add(change);
            }
        }
    }
}
