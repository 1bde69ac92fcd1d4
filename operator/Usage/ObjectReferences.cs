namespace Passbox.Operator.Usage;

/// <summary>
/// Everything one watched object refers to that can keep a credential alive: Secret names, ServiceAccount names
/// (whose listed Secrets it uses in turn), definitions it runs by name (Tekton Tasks and Pipelines, Argo
/// WorkflowTemplates, whose references it uses in turn), credential names from the <c>passbox.dev/uses</c> annotation,
/// and, when there are any, the names it writes with parameters and the parameters it passes (<see cref="Parameters"/>).
/// This is all the index keeps of an object; the object itself is dropped once this is extracted.
/// The name lists are distinct and sorted (ordinal), so two extractions of an unchanged object compare equal.
/// </summary>
public sealed record ObjectReferences
{
    private readonly string[] secretNames;
    private readonly string[] serviceAccountNames;
    private readonly string[] credentialNames;
    private readonly DefinitionReference[] definitions;

    private ObjectReferences(string kind, string @namespace, string name, string[] secrets, string[] serviceAccounts, string[] credentials, DefinitionReference[] definitions, ParameterUses? parameters)
    {
        Parameters = parameters;
        Kind = kind;
        Namespace = @namespace;
        Name = name;
        secretNames = secrets;
        serviceAccountNames = serviceAccounts;
        credentialNames = credentials;
        this.definitions = definitions;
    }

    public string Kind { get; }

    public string Namespace { get; }

    public string Name { get; }

    public IReadOnlyList<string> SecretNames => secretNames;

    public IReadOnlyList<string> ServiceAccountNames => serviceAccountNames;

    public IReadOnlyList<string> CredentialNames => credentialNames;

    /// <summary>Definitions the object runs by name, in the same namespace; distinct and sorted.</summary>
    public IReadOnlyList<DefinitionReference> Definitions => definitions;

    /// <summary>
    /// Parameterized Secret names, parameter values and the parameters passed to <see cref="Definitions"/>; null for the
    /// many objects without (one field, so that a Pod costs no more for it).
    /// </summary>
    public ParameterUses? Parameters { get; }

    /// <summary>True when the object uses nothing; the index stores nothing for it.</summary>
    public bool IsEmpty => secretNames.Length == 0 && serviceAccountNames.Length == 0 && credentialNames.Length == 0 && definitions.Length == 0 && Parameters is null;

    /// <summary>An object that refers to nothing (or no longer counts, such as a finished Pod).</summary>
    public static ObjectReferences None(string kind, string @namespace, string name) => new(kind, @namespace, name, [], [], [], [], null);

    public static ObjectReferences Create(
        string kind,
        string @namespace,
        string name,
        IEnumerable<string>? secretNames = null,
        IEnumerable<string>? serviceAccountNames = null,
        IEnumerable<string>? credentialNames = null,
        IEnumerable<DefinitionReference>? definitions = null,
        ParameterUses? parameters = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(@namespace);
        ArgumentException.ThrowIfNullOrEmpty(name);
        return new(kind, @namespace, name, Normalize(secretNames), Normalize(serviceAccountNames), Normalize(credentialNames), Normalize(definitions), parameters);
    }

    /// <summary>
    /// The same references with each name replaced by the instance its map returns, so that equal names held by many
    /// objects share one string.
    /// </summary>
    internal ObjectReferences WithNames(
        string @namespace,
        Func<string, string> secret,
        Func<string, string> serviceAccount,
        Func<string, string> credential,
        Func<DefinitionReference, DefinitionReference> definition) => new(
        Kind,
        @namespace,
        Name,
        Map(secretNames, secret),
        Map(serviceAccountNames, serviceAccount),
        Map(credentialNames, credential),
        Map(definitions, definition),
        Parameters);

    /// <summary>The same references, of an object named <paramref name="name"/> in <paramref name="namespace"/>.</summary>
    internal ObjectReferences As(string @namespace, string name) =>
        new(Kind, @namespace, name, secretNames, serviceAccountNames, credentialNames, definitions, Parameters);

    public bool Equals(ObjectReferences? other) =>
        other is not null
        && string.Equals(Kind, other.Kind, StringComparison.Ordinal)
        && string.Equals(Namespace, other.Namespace, StringComparison.Ordinal)
        && string.Equals(Name, other.Name, StringComparison.Ordinal)
        && HasSameReferencesAs(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Namespace, Name, secretNames.Length, serviceAccountNames.Length, credentialNames.Length, definitions.Length);

    /// <summary>True when both name the same Secrets, ServiceAccounts, credentials, definitions and parameters, whatever object they describe.</summary>
    public bool HasSameReferencesAs(ObjectReferences other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return secretNames.AsSpan().SequenceEqual(other.secretNames)
            && serviceAccountNames.AsSpan().SequenceEqual(other.serviceAccountNames)
            && credentialNames.AsSpan().SequenceEqual(other.credentialNames)
            && definitions.AsSpan().SequenceEqual(other.definitions)
            && Equals(Parameters, other.Parameters);
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

    private static DefinitionReference[] Normalize(IEnumerable<DefinitionReference>? references)
    {
        if (references is null)
        {
            return [];
        }

        var set = new SortedSet<DefinitionReference>(references.Where(r => !string.IsNullOrEmpty(r.Kind) && !string.IsNullOrEmpty(r.Name)));
        return set.Count == 0 ? [] : [.. set];
    }

    private static TName[] Map<TName>(TName[] names, Func<TName, TName> canonical)
    {
        if (names.Length == 0)
        {
            return names;
        }

        var mapped = new TName[names.Length];
        for (var i = 0; i < names.Length; i++)
        {
            mapped[i] = canonical(names[i]);
        }

        return mapped;
    }
}
