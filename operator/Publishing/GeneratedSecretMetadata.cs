using Passbox.Operator.Api.V1Alpha1;

namespace Passbox.Operator.Publishing;

/// <summary>Labels and annotations every generated Secret carries, merged with what the user asked for.</summary>
public static class GeneratedSecretMetadata
{
    public static Dictionary<string, string> Labels(string credentialName, string kind, IReadOnlyDictionary<string, string>? extra)
    {
        var labels = new Dictionary<string, string>(extra ?? new Dictionary<string, string>());
        // Passbox's own labels win: the operator's watch selects on them, and a user label must not hide a Secret.
        labels[ApiGroup.ManagedByLabel] = ApiGroup.ManagedByValue;
        labels[ApiGroup.CredentialLabel] = credentialName;
        labels[ApiGroup.CredentialKindLabel] = kind;
        return labels;
    }

    public static Dictionary<string, string> Annotations(IReadOnlyDictionary<string, string>? extra) =>
        new(extra ?? new Dictionary<string, string>());
}
