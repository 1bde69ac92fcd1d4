namespace Passbox.Operator.Usage;

/// <summary>Gathers names while one object is read; allocates nothing for an object that refers to nothing.</summary>
/// <param name="resolve">
/// Turns a Secret or ServiceAccount name as written into the name used, for objects whose fields may hold expressions
/// their controller substitutes (Argo's <c>{{workflow.parameters.…}}</c>); null when names are used as written.
/// </param>
internal sealed class ReferenceCollector(Func<string, string>? resolve = null)
{
    /// <summary>The longest name a Secret can have: a longer value cannot be, nor be part of, one, and is not kept.</summary>
    private const int MaxNameLength = 253;

    private List<string>? secrets;
    private List<string>? serviceAccounts;
    private List<string>? credentials;
    private List<DefinitionReference>? definitions;
    private List<ParameterizedName>? parameterizedSecrets;
    private List<ParameterBinding>? values;
    private List<DefinitionCall>? calls;

    /// <summary>The resolver for the names added from now on; a reader may change it for a part of an object.</summary>
    public Func<string, string>? Resolver { get; set; } = resolve;

    /// <summary>
    /// How the object writes parameters, for an object whose fields the engine substitutes: a name left with a
    /// parameter once <see cref="Resolver"/> ran is kept parameterized (a definition's, for the runs that call it), one
    /// left with another expression is no name. Null for objects whose names are used as written.
    /// </summary>
    public ParameterSyntax? Syntax { get; set; }

    public void AddSecret(string? name)
    {
        var resolved = Resolve(name);
        if (string.IsNullOrWhiteSpace(resolved))
        {
            return;
        }

        if (Syntax is null)
        {
            Add(ref secrets, resolved);
        }
        else if (Syntax.Parse(resolved.Trim()) is { } parsed)
        {
            if (parsed.IsLiteral)
            {
                Add(ref secrets, resolved);
            }
            else
            {
                (parameterizedSecrets ??= []).Add(parsed);
            }
        }
    }

    public void AddServiceAccount(string? name) => Add(ref serviceAccounts, Resolve(name));

    public void AddCredential(string? name) => Add(ref credentials, name);

    /// <summary>
    /// A definition of <paramref name="kind"/> (<see cref="UsageKinds.IsDefinition"/>) run by name, in the same
    /// namespace, with the parameters passed to it (<see cref="Binding"/>).
    /// </summary>
    public void AddDefinition(string kind, string? name, IEnumerable<ParameterBinding>? bindings = null)
    {
        var resolved = Resolve(name);
        if (!string.IsNullOrWhiteSpace(resolved))
        {
            AddDefinition(new DefinitionReference(kind, resolved.Trim()), bindings);
        }
    }

    /// <summary>A definition read as it is written (another namespace's: <see cref="DefinitionReference.InNamespace"/>).</summary>
    public void AddDefinition(DefinitionReference definition, IEnumerable<ParameterBinding>? bindings = null)
    {
        (definitions ??= []).Add(definition);
        (calls ??= []).Add(new DefinitionCall(definition, bindings ?? []));
    }

    /// <summary>A value the object gives its own parameter <paramref name="key"/> (a default, a Workflow's argument).</summary>
    public void AddValue(string key, string? text)
    {
        if (text is not null)
        {
            (values ??= []).Add(Binding(key, text));
        }
    }

    /// <summary>
    /// Parameter <paramref name="key"/> given as <paramref name="text"/>, read as this object reads names; a value
    /// given otherwise (null text: from a result, a ConfigMap) is unknown.
    /// </summary>
    public ParameterBinding Binding(string key, string? text)
    {
        var resolved = Resolve(text);
        if (resolved is null || resolved.Length > MaxNameLength)
        {
            return new ParameterBinding(key, null);
        }

        return new ParameterBinding(key, Syntax is null ? ParameterizedName.Literal(resolved) : Syntax.Parse(resolved));
    }

    public ObjectReferences Build(string kind, string @namespace, string name)
    {
        var parameters = BuildParameters(kind);
        return secrets is null && serviceAccounts is null && credentials is null && definitions is null && parameters is null
            ? ObjectReferences.None(kind, @namespace, name)
            : ObjectReferences.Create(kind, @namespace, name, secrets, serviceAccounts, credentials, definitions, parameters);
    }

    /// <summary><paramref name="text"/> with the expressions this collector resolves substituted.</summary>
    public string? Resolve(string? text) => Resolver is null || string.IsNullOrWhiteSpace(text) ? text : Resolver(text);

    /// <summary>
    /// Only what a walk from a run can use: parameterized names of a definition (a run resolved its own as it was read;
    /// nothing passes it more), calls to a definition that is passed parameters at least once, and the values those
    /// names and calls read, or that flow on to the definitions the object runs.
    /// </summary>
    private ParameterUses? BuildParameters(string kind)
    {
        var names = UsageKinds.IsDefinition(kind) ? parameterizedSecrets : null;
        var passing = calls?.Where(call => calls.Any(other => other.Definition == call.Definition && other.Bindings.Count > 0)).ToList();
        var read = new HashSet<string>(StringComparer.Ordinal);
        foreach (var parameterized in (names ?? []).Concat(passing?.SelectMany(c => c.Bindings).Select(b => b.Value).OfType<ParameterizedName>() ?? []))
        {
            read.UnionWith(parameterized.Keys);
        }

        var needed = values?.Where(value => read.Contains(value.Key)
            || (definitions is not null && value.Key.StartsWith(ParameterWalk.InheritedPrefix, StringComparison.Ordinal)));
        return ParameterUses.Create(names, needed, passing);
    }

    private static void Add(ref List<string>? names, string? name)
    {
        if (!string.IsNullOrWhiteSpace(name))
        {
            (names ??= []).Add(name.Trim());
        }
    }
}
