namespace Passbox.Operator.Usage;

/// <summary>
/// Which objects in a namespace use which Secrets, ServiceAccounts and credentials, fed by the informers with the
/// <see cref="ObjectReferences"/> extracted from each object on arrival. Only the references are kept, with reverse
/// maps from (namespace, name) to users, so a query costs in proportion to the users it returns, not to the objects
/// watched; an object that uses nothing is not stored at all.
/// <para>
/// A user of a Secret (or credential) is an object that names it, or an object that names, by name, an object that
/// names it: a ServiceAccount that lists it (a Tekton run whose ServiceAccount's <c>secrets</c> hold a generated Secret
/// uses that Secret while it runs), or a definition (<see cref="UsageKinds.IsDefinition"/>) that names it: a
/// PipelineRun uses what its Pipeline's Tasks name before their TaskRuns exist. Such references are followed up to
/// <see cref="MaxIndirection"/> objects deep (PipelineRun → Pipeline → Task; Workflow → WorkflowTemplate →
/// ServiceAccount), a cycle of definitions only once. ServiceAccounts count as users themselves; definitions do not:
/// a Task nothing runs keeps no Secret.
/// </para>
/// <para>
/// A definition's Secret name written with a parameter (<c>$(params.secret)</c>) is known only to a run that passes the
/// parameter, through every definition between them: for each run the index keeps the names its calls resolve to
/// (<see cref="ParameterWalk"/>, as deep as <see cref="MaxIndirection"/>), walked again when the run or a definition
/// below it changes, so a query stays a lookup.
/// </para>
/// <para>
/// Cluster-scoped definitions (<see cref="UsageKinds.IsClusterScoped"/>: Argo ClusterWorkflowTemplates) are kept once,
/// apart from every namespace, and read as if they were in each namespace whose runs name them: the Secrets,
/// ServiceAccounts and credentials they name are those of the run's namespace, as Argo resolves them there. Tekton Tasks
/// and Pipelines are kept so too, besides in their namespace, under <c>namespace/name</c>
/// (<see cref="DefinitionReference.InNamespace"/>): what runs of another namespace reach through Tekton's cluster
/// resolver, which runs the Task's Pods in the run's namespace. <see cref="DefinitionNamespaceNamed"/> says which
/// namespaces' definitions the objects stored reach that way, so that the feed can list them.
/// </para>
/// <para>
/// <see cref="Changed"/> is raised after each change, outside the index's lock, once per Secret or credential whose
/// users may have changed; handlers may query the index. Concurrent changes can raise their notifications in any
/// order: a notification says "look again", and the handler reads the current state.
/// </para>
/// </summary>
public sealed class UsageIndex
{
    /// <summary>
    /// How many references by name are followed from a Secret to its users: enough for a Pipeline's Task's
    /// ServiceAccount, or a WorkflowTemplate that refers to another; a longer chain is not a realistic pipeline.
    /// </summary>
    public const int MaxIndirection = 4;

    private readonly Lock gate = new();
    private readonly Dictionary<string, NamespaceIndex> namespaces = new(StringComparer.Ordinal);

    /// <summary>The cluster-scoped definitions, with the names they use; never a user's own namespace.</summary>
    private readonly NamespaceIndex cluster = new(string.Empty);
    private int count;

    /// <summary>Raised once per Secret or credential whose set of users may have changed.</summary>
    public event Action<UsageChange>? Changed;

    /// <summary>
    /// Raised, before an object is stored, for each namespace whose definitions it names by namespace
    /// (<see cref="DefinitionReference.InNamespace"/>): the feed lists that namespace's Tasks and Pipelines, and a
    /// deletion waits for that list as for any other, since the object is visible to a query once stored.
    /// </summary>
    public event Action<string>? DefinitionNamespaceNamed;

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
        AnnounceNamespaces(references);
        var changes = new ChangeList();
        lock (gate)
        {
            Apply(references, changes);
            ResolveParameters(changes);
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

        foreach (var references in snapshot)
        {
            AnnounceNamespaces(references);
        }

        var changes = new ChangeList();
        lock (gate)
        {
            // The shared copies of a namespace's definitions go with their originals.
            IEnumerable<NamespaceIndex> holders = UsageKinds.IsClusterScoped(kind) ? [cluster] : namespaces.Values;
            var seen = snapshot.Select(r => (r.Namespace, r.Name)).ToHashSet();
            var stale = holders
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

            ResolveParameters(changes);
        }

        Raise(changes);
    }

    /// <summary>What the index holds for an object, or null when it holds nothing (the object uses nothing or is unknown).</summary>
    public ObjectReferences? Find(string kind, string @namespace, string name)
    {
        lock (gate)
        {
            var ns = UsageKinds.IsShared(kind, name) ? cluster : namespaces.GetValueOrDefault(@namespace);
            return ns is not null && ns.Objects.TryGetValue(new UsageUser(kind, name), out var found)
                ? found
                : null;
        }
    }

    /// <summary>Objects in <paramref name="namespace"/> that use the Secret, directly or through what they name; sorted by kind, then name.</summary>
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
    /// it (or who name such an object), and the users of its generated Secret (when it has one); sorted by kind, then name.
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
            AddWithReferrers(ns, Namers(ns.Credentials, cluster.Credentials, credentialName), users);

            if (!string.IsNullOrEmpty(generatedSecretName))
            {
                AddUsersOfSecret(ns, generatedSecretName, users);
            }

            return Sorted(users);
        }
    }

    /// <summary>Those who name the Secret, or reach it through the parameters they pass (runs only: never cluster-scoped).</summary>
    private void AddUsersOfSecret(NamespaceIndex ns, string secretName, HashSet<UsageUser> users)
    {
        var throughParameters = ns.ParameterSecrets.TryGetValue(secretName, out var found) ? found.Users : [];
        AddWithReferrers(ns, Namers(ns.Secrets, cluster.Secrets, secretName).Concat(throughParameters), users);
    }

    /// <summary>Those who name <paramref name="key"/> in a namespace's map and in the cluster-scoped definitions' map.</summary>
    private static IEnumerable<UsageUser> Namers<TName>(Dictionary<TName, NameUsers<TName>> inNamespace, Dictionary<TName, NameUsers<TName>> inCluster, TName key)
        where TName : notnull
    {
        var local = inNamespace.TryGetValue(key, out var found) ? found.Users : [];
        return inCluster.TryGetValue(key, out var clusterFound) ? local.Concat(clusterFound.Users) : local;
    }

    /// <summary>
    /// Adds <paramref name="namers"/>, but for definitions, and those who name them, up to <see cref="MaxIndirection"/>
    /// references away. Breadth first, so each object is reached by its shortest chain and followed once (definitions
    /// may name each other in a cycle).
    /// </summary>
    private void AddWithReferrers(NamespaceIndex ns, IEnumerable<UsageUser> namers, HashSet<UsageUser> users)
    {
        var visited = new HashSet<UsageUser>();
        var level = namers.Where(visited.Add).ToList();
        for (var depth = 0; level.Count > 0; depth++)
        {
            var next = new List<UsageUser>();
            foreach (var user in level)
            {
                if (!UsageKinds.IsDefinition(user.Kind))
                {
                    users.Add(user);
                }

                if (depth < MaxIndirection)
                {
                    // A ClusterWorkflowTemplate is named by runs of the namespace, or by another ClusterWorkflowTemplate.
                    next.AddRange(Namers(ns.Referrers, cluster.Referrers, user).Where(visited.Add));
                }
            }

            level = next;
        }
    }

    /// <summary>
    /// Adds a change for every Secret and credential that <paramref name="named"/> name, directly or through what they
    /// name in turn (as deep as <see cref="AddWithReferrers"/> looks back): those whose users change when something starts
    /// or stops naming one of <paramref name="named"/>.
    /// </summary>
    private void AddReachable(NamespaceIndex ns, IEnumerable<UsageUser> named, ChangeList changes)
    {
        var visited = new HashSet<UsageUser>();
        var level = named.Where(visited.Add).ToList();
        for (var depth = 0; depth < MaxIndirection && level.Count > 0; depth++)
        {
            var next = new List<UsageUser>();
            foreach (var target in level)
            {
                if (!(UsageKinds.IsShared(target.Kind, target.Name) ? cluster : ns).Objects.TryGetValue(target, out var references))
                {
                    continue;
                }

                foreach (var name in references.SecretNames)
                {
                    changes.Add(new UsageChange(ns.Namespace, UsageTarget.Secret, name));
                }

                foreach (var name in references.CredentialNames)
                {
                    changes.Add(new UsageChange(ns.Namespace, UsageTarget.Credential, name));
                }

                next.AddRange(Named(references).Where(visited.Add));
            }

            level = next;
        }
    }

    /// <summary>The objects whose references <paramref name="references"/>' object uses: its ServiceAccounts and definitions.</summary>
    private static IEnumerable<UsageUser> Named(ObjectReferences references) =>
        references.ServiceAccountNames.Select(name => new UsageUser(UsageKinds.ServiceAccount, name))
            .Concat(references.Definitions.Select(definition => new UsageUser(definition.Kind, definition.Name)));

    private static UsageUser[] Sorted(HashSet<UsageUser> users)
    {
        var sorted = users.ToArray();
        Array.Sort(sorted);
        return sorted;
    }

    /// <summary>Stores an object, and a Task or Pipeline once more apart, for the runs of other namespaces.</summary>
    private void Apply(ObjectReferences references, ChangeList changes)
    {
        Store(references, changes, counted: true);
        if (UsageKinds.IsReachableFromOtherNamespaces(references.Kind) && references.Namespace.Length > 0)
        {
            var shared = DefinitionReference.InNamespace(references.Kind, references.Namespace, references.Name);
            Store(references.As(string.Empty, shared.Name), changes, counted: false);
        }
    }

    private void Store(ObjectReferences references, ChangeList changes, bool counted)
    {
        var key = new UsageUser(references.Kind, references.Name);
        var clusterScoped = UsageKinds.IsShared(references.Kind, references.Name);
        var ns = clusterScoped ? cluster : namespaces.GetValueOrDefault(references.Namespace);
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
            Unlink(ns.Referrers, Named(old), key);
            Unlink(ns.Credentials, old.CredentialNames, key);
            ns.Objects.Remove(key);
            count -= counted ? 1 : 0;
        }

        if (!references.IsEmpty)
        {
            var stored = references.WithNames(
                ns.Namespace,
                name => Link(ns.Secrets, name, key),
                name => Link(ns.Referrers, new UsageUser(UsageKinds.ServiceAccount, name), key).Name,
                name => Link(ns.Credentials, name, key),
                definition =>
                {
                    var shared = Link(ns.Referrers, new UsageUser(definition.Kind, definition.Name), key);
                    return new DefinitionReference(shared.Kind, shared.Name);
                });
            ns.Objects.Add(key, stored);
            count += counted ? 1 : 0;
        }

        var before = old ?? ObjectReferences.None(references.Kind, references.Namespace, references.Name);
        // The names a run reaches through parameters change with the run, or with any definition on its way down.
        var definitionChanged = UsageKinds.IsDefinition(key.Kind)
            && (!Equals(before.Parameters, references.Parameters) || SymmetricDifference(before.Definitions, references.Definitions).Any());
        if (!UsageKinds.IsDefinition(key.Kind))
        {
            changes.PendingRuns.Add((ns, key));
        }

        if (clusterScoped)
        {
            // What a cluster-scoped definition names changes the users in every namespace whose runs reach it.
            foreach (var running in NamespacesReaching(key))
            {
                AddChanges(running, before, references, changes);
                if (definitionChanged)
                {
                    AddRunsReaching(running, key, changes);
                }
            }

            return;
        }

        AddChanges(ns, before, references, changes);
        if (definitionChanged)
        {
            AddRunsReaching(ns, key, changes);
        }

        if (ns.Objects.Count == 0)
        {
            namespaces.Remove(ns.Namespace);
        }
    }

    /// <summary>
    /// Adds a change, in <paramref name="ns"/>, for every Secret and credential whose users may change when an object
    /// goes from naming <paramref name="before"/>'s names to <paramref name="after"/>'s.
    /// </summary>
    private void AddChanges(NamespaceIndex ns, ObjectReferences before, ObjectReferences after, ChangeList changes)
    {
        foreach (var name in SymmetricDifference(before.SecretNames, after.SecretNames))
        {
            changes.Add(new UsageChange(ns.Namespace, UsageTarget.Secret, name));
        }

        foreach (var name in SymmetricDifference(before.CredentialNames, after.CredentialNames))
        {
            changes.Add(new UsageChange(ns.Namespace, UsageTarget.Credential, name));
        }

        // Starting or stopping to name a ServiceAccount or a definition changes the users of everything it names.
        AddReachable(
            ns,
            SymmetricDifference(before.ServiceAccountNames, after.ServiceAccountNames).Select(name => new UsageUser(UsageKinds.ServiceAccount, name))
                .Concat(SymmetricDifference(before.Definitions, after.Definitions).Select(definition => new UsageUser(definition.Kind, definition.Name))),
            changes);
    }

    /// <summary>
    /// The namespaces where something names the cluster-scoped <paramref name="definition"/>, or a cluster-scoped
    /// definition that names it (as deep as <see cref="AddWithReferrers"/> looks back).
    /// </summary>
    private List<NamespaceIndex> NamespacesReaching(UsageUser definition)
    {
        var namers = new HashSet<UsageUser> { definition };
        var level = new List<UsageUser> { definition };
        for (var depth = 0; depth < MaxIndirection && level.Count > 0; depth++)
        {
            level = [.. level.SelectMany(named => cluster.Referrers.TryGetValue(named, out var referrers) ? referrers.Users : []).Where(namers.Add)];
        }

        return [.. namespaces.Values.Where(ns => namers.Any(ns.Referrers.ContainsKey))];
    }

    /// <summary>Marks the runs of <paramref name="ns"/> that reach <paramref name="definition"/> to be walked again.</summary>
    private void AddRunsReaching(NamespaceIndex ns, UsageUser definition, ChangeList changes)
    {
        var runs = new HashSet<UsageUser>();
        AddWithReferrers(ns, [definition], runs);
        changes.PendingRuns.UnionWith(runs.Select(run => (ns, run)));
    }

    private void AnnounceNamespaces(ObjectReferences references)
    {
        var handler = DefinitionNamespaceNamed;
        if (handler is null)
        {
            return;
        }

        foreach (var definition in references.Definitions)
        {
            if (UsageKinds.IsReachableFromOtherNamespaces(definition.Kind) && definition.Namespace is { } named)
            {
                handler(named);
            }
        }
    }

    /// <summary>Walks again, for each run a change may concern, the names its calls reach; records what changed.</summary>
    private void ResolveParameters(ChangeList changes)
    {
        foreach (var (ns, run) in changes.PendingRuns)
        {
            ns.Objects.TryGetValue(run, out var references);
            IReadOnlySet<string> now = references is null || references.Definitions.Count == 0
                ? new HashSet<string>()
                : ParameterWalk.SecretNames(
                    references,
                    definition => (UsageKinds.IsShared(definition.Kind, definition.Name) ? cluster : ns).Objects
                        .GetValueOrDefault(new UsageUser(definition.Kind, definition.Name)),
                    MaxIndirection);
            var before = ns.ParameterSecretsByRun.GetValueOrDefault(run, []);
            var added = now.Where(name => !before.Contains(name, StringComparer.Ordinal)).ToList();
            var removed = before.Where(name => !now.Contains(name)).ToList();
            if (added.Count == 0 && removed.Count == 0)
            {
                continue;
            }

            Unlink(ns.ParameterSecrets, removed, run);
            var stored = now.Select(name => Link(ns.ParameterSecrets, name, run)).ToArray();
            if (stored.Length == 0)
            {
                ns.ParameterSecretsByRun.Remove(run);
            }
            else
            {
                ns.ParameterSecretsByRun[run] = stored;
            }

            foreach (var name in added.Concat(removed))
            {
                changes.Add(new UsageChange(ns.Namespace, UsageTarget.Secret, name));
            }
        }

        changes.PendingRuns.Clear();
    }

    private static string Link(Dictionary<string, NameUsers<string>> map, string name, UsageUser user) => Link<string>(map, name, user);

    /// <summary>Records <paramref name="user"/> as naming <paramref name="name"/>; returns the instance of the name all its users share.</summary>
    private static TName Link<TName>(Dictionary<TName, NameUsers<TName>> map, TName name, UsageUser user)
        where TName : notnull
    {
        if (!map.TryGetValue(name, out var entry))
        {
            entry = new NameUsers<TName>(name);
            map.Add(name, entry);
        }

        entry.Add(user);
        return entry.Name;
    }

    private static void Unlink<TName>(Dictionary<TName, NameUsers<TName>> map, IEnumerable<TName> names, UsageUser user)
        where TName : notnull
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
    private static IEnumerable<string> SymmetricDifference(IReadOnlyList<string> left, IReadOnlyList<string> right) =>
        SymmetricDifference(left, right, string.CompareOrdinal);

    /// <summary>Definitions in exactly one of two sorted, distinct lists.</summary>
    private static IEnumerable<DefinitionReference> SymmetricDifference(IReadOnlyList<DefinitionReference> left, IReadOnlyList<DefinitionReference> right) =>
        SymmetricDifference(left, right, (a, b) => a.CompareTo(b));

    private static IEnumerable<TName> SymmetricDifference<TName>(IReadOnlyList<TName> left, IReadOnlyList<TName> right, Func<TName, TName, int> compare)
    {
        int i = 0, j = 0;
        while (i < left.Count || j < right.Count)
        {
            var order = i == left.Count ? 1 : j == right.Count ? -1 : compare(left[i], right[j]);
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

        public Dictionary<string, NameUsers<string>> Secrets { get; } = new(StringComparer.Ordinal);

        /// <summary>ServiceAccounts and definitions, by kind and name: those who name them, and so use what they name.</summary>
        public Dictionary<UsageUser, NameUsers<UsageUser>> Referrers { get; } = [];

        public Dictionary<string, NameUsers<string>> Credentials { get; } = new(StringComparer.Ordinal);

        /// <summary>Secret names runs reach through the parameters they pass: the runs that do.</summary>
        public Dictionary<string, NameUsers<string>> ParameterSecrets { get; } = new(StringComparer.Ordinal);

        /// <summary>The same by run, to know what a run reached before it changed.</summary>
        public Dictionary<UsageUser, string[]> ParameterSecretsByRun { get; } = [];
    }

    /// <summary>
    /// The users of one name; holds the one instance of the name every stored reference to it shares. Most names
    /// have a single user (a Secret of one workload), so a set is made only for the second.
    /// </summary>
    private sealed class NameUsers<TName>(TName name)
    {
        private UsageUser single;
        private bool hasSingle;
        private HashSet<UsageUser>? many;

        public TName Name { get; } = name;

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
    }

    /// <summary>Changes of one operation, each once, in the order found.</summary>
    private sealed class ChangeList
    {
        private readonly HashSet<UsageChange> seen = [];

        public List<UsageChange> Items { get; } = [];

        /// <summary>Runs whose names through parameters must be walked again once the operation's objects are in.</summary>
        public HashSet<(NamespaceIndex Namespace, UsageUser Run)> PendingRuns { get; } = [];

        public void Add(UsageChange change)
        {
            if (seen.Add(change))
            {
                Items.Add(change);
            }
        }
    }
}
