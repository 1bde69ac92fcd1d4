namespace Passbox.Operator.Usage;

/// <summary>Gathers names while one object is read; allocates nothing for an object that refers to nothing.</summary>
/// <param name="resolve">
/// Turns a Secret or ServiceAccount name as written into the name used, for objects whose fields may hold expressions
/// their controller substitutes (Argo's <c>{{workflow.parameters.…}}</c>); null when names are used as written.
/// </param>
internal sealed class ReferenceCollector(Func<string, string>? resolve = null)
{
    private List<string>? secrets;
    private List<string>? serviceAccounts;
    private List<string>? credentials;
    private List<DefinitionReference>? definitions;

    /// <summary>The resolver for the names added from now on; a reader may change it for a part of an object.</summary>
    public Func<string, string>? Resolver { get; set; } = resolve;

    public void AddSecret(string? name) => Add(ref secrets, Resolve(name));

    public void AddServiceAccount(string? name) => Add(ref serviceAccounts, Resolve(name));

    public void AddCredential(string? name) => Add(ref credentials, name);

    /// <summary>A definition of <paramref name="kind"/> (<see cref="UsageKinds.IsDefinition"/>) run by name, in the same namespace.</summary>
    public void AddDefinition(string kind, string? name)
    {
        var resolved = Resolve(name);
        if (!string.IsNullOrWhiteSpace(resolved))
        {
            (definitions ??= []).Add(new DefinitionReference(kind, resolved.Trim()));
        }
    }

    public ObjectReferences Build(string kind, string @namespace, string name) =>
        secrets is null && serviceAccounts is null && credentials is null && definitions is null
            ? ObjectReferences.None(kind, @namespace, name)
            : ObjectReferences.Create(kind, @namespace, name, secrets, serviceAccounts, credentials, definitions);

    /// <summary><paramref name="text"/> with the expressions this collector resolves substituted.</summary>
    public string? Resolve(string? text) => Resolver is null || string.IsNullOrWhiteSpace(text) ? text : Resolver(text);

    private static void Add(ref List<string>? names, string? name)
    {
        if (!string.IsNullOrWhiteSpace(name))
        {
            (names ??= []).Add(name.Trim());
        }
    }
}
