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

    /// <summary>Each key's digest (<see cref="SecretDataHash.PerKey"/>), compared with the cached Secret's.</summary>
    public string KeyDigests { get; } = SecretDataHash.PerKey(Data);

    /// <summary>Hash of the labels and annotations the payload asks for (not those others add to the Secret).</summary>
    public string MetadataHash { get; } = SecretDataHash.Compute(
        Labels.Select(p => KeyValuePair.Create("label:" + p.Key, p.Value))
            .Concat(Annotations.Select(p => KeyValuePair.Create("annotation:" + p.Key, p.Value)))
            .ToDictionary(p => p.Key, p => System.Text.Encoding.UTF8.GetBytes(p.Value), StringComparer.Ordinal));

    /// <summary>Names only: a payload is logged and must never show its values.</summary>
    public override string ToString() => $"Secret {Name} ({Type}, keys: {string.Join(",", Data.Keys.Order(StringComparer.Ordinal))})";
}
