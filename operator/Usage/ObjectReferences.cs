namespace Passbox.Operator.Usage;

/// <summary>
/// Everything one watched object refers to that can keep a credential alive: Secret names, ServiceAccount names
/// (whose listed Secrets it uses in turn) and credential names from the <c>passbox.dev/uses</c> annotation.
/// This is all the index keeps of an object; the object itself is dropped once this is extracted.
/// The name lists are distinct and sorted (ordinal), so two extractions of an unchanged object compare equal.
/// </summary>
public sealed record ObjectReferences
{
    private readonly string[] secretNames;
    private readonly string[] serviceAccountNames;
    private readonly string[] credentialNames;

    private ObjectReferences(string kind, string @namespace, string name, string[] secrets, string[] serviceAccounts, string[] credentials)
    {
        Kind = kind;
        Namespace = @namespace;
        Name = name;
        secretNames = secrets;
        serviceAccountNames = serviceAccounts;
        credentialNames = credentials;
    }

    public string Kind { get; }

    public string Namespace { get; }

    public string Name { get; }

    public IReadOnlyList<string> SecretNames => secretNames;

    public IReadOnlyList<string> ServiceAccountNames => serviceAccountNames;

    public IReadOnlyList<string> CredentialNames => credentialNames;

    /// <summary>True when the object uses nothing; the index stores nothing for it.</summary>
    public bool IsEmpty => secretNames.Length == 0 && serviceAccountNames.Length == 0 && credentialNames.Length == 0;

    /// <summary>An object that refers to nothing (or no longer counts, such as a finished Pod).</summary>
    public static ObjectReferences None(string kind, string @namespace, string name) => new(kind, @namespace, name, [], [], []);

    public static ObjectReferences Create(
        string kind,
        string @namespace,
        string name,
        IEnumerable<string>? secretNames = null,
        IEnumerable<string>? serviceAccountNames = null,
        IEnumerable<string>? credentialNames = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new(kind, @namespace, name, Normalize(secretNames), Normalize(serviceAccountNames), Normalize(credentialNames));
    }

    /// <summary>
    /// The same references with each name replaced by the instance its map returns, so that equal names held by many
    /// objects share one string.
    /// </summary>
    internal ObjectReferences WithNames(string @namespace, Func<string, string> secret, Func<string, string> serviceAccount, Func<string, string> credential) => new(
        Kind,
        @namespace,
        Name,
        Map(secretNames, secret),
        Map(serviceAccountNames, serviceAccount),
        Map(credentialNames, credential));

    public bool Equals(ObjectReferences? other) =>
        other is not null
        && string.Equals(Kind, other.Kind, StringComparison.Ordinal)
        && string.Equals(Namespace, other.Namespace, StringComparison.Ordinal)
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && HasSameReferencesAs(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Namespace, Name, secretNames.Length, serviceAccountNames.Length, credentialNames.Length);

    /// <summary>True when both name the same Secrets, ServiceAccounts and credentials, whatever object they describe.</summary>
    public bool HasSameReferencesAs(ObjectReferences other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return secretNames.AsSpan().SequenceEqual(other.secretNames)
            && serviceAccountNames.AsSpan().SequenceEqual(other.serviceAccountNames)
            && credentialNames.AsSpan().SequenceEqual(other.credentialNames);
    }

    private static string[] Normalize(IEnumerable<string>? names)
    {
        if (names is null)
        {
            return [];
        }

        var set = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (!string.IsNullOrEmpty(name))
            {
                set.Add(name);
            }
        }

        return set.Count == 0 ? [] : [.. set];
    }

    private static string[] Map(string[] names, Func<string, string> canonical)
    {
        if (names.Length == 0)
        {
            return names;
        }

        var mapped = new string[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            mapped[i] = canonical(names[i]);
        }

        return mapped;
    }
}
