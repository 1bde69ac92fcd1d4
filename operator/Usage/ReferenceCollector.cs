namespace Passbox.Operator.Usage;

/// <summary>Gathers names while one object is read; allocates nothing for an object that refers to nothing.</summary>
internal sealed class ReferenceCollector
{
    private List<string>? secrets;
    private List<string>? serviceAccounts;
    private List<string>? credentials;

    public void AddSecret(string? name) => Add(ref secrets, name);

    public void AddServiceAccount(string? name) => Add(ref serviceAccounts, name);

    public void AddCredential(string? name) => Add(ref credentials, name);

    public ObjectReferences Build(string kind, string @namespace, string name) =>
        secrets is null && serviceAccounts is null && credentials is null
            ? ObjectReferences.None(kind, @namespace, name)
            : ObjectReferences.Create(kind, @namespace, name, secrets, serviceAccounts, credentials);

    private static void Add(ref List<string>? names, string? name)
    {
        if (!string.IsNullOrWhiteSpace(name))
        {
            (names ??= []).Add(name.Trim());
        }
    }
}
