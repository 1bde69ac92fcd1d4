namespace Passbox.Operator.Publishing;

/// <summary>The Secret a credential should have published: what is compared with, and written to, the cluster.</summary>
public sealed record SecretPayload(
    string Name,
    string Type,
    IReadOnlyDictionary<string, byte[]> Data,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations)
{
    public string DataHash { get; } = SecretDataHash.Compute(Data);

    /// <summary>Names only: a payload is logged and must never show its values.</summary>
    public override string ToString() => $"Secret {Name} ({Type}, keys: {string.Join(",", Data.Keys.Order(StringComparer.Ordinal))})";
}
