namespace Passbox.Operator.Api.V1Alpha1;

/// <summary>
/// The limit on a credential's own name, for both kinds. The name is the value of the
/// <see cref="ApiGroup.CredentialLabel"/> label on the generated Secret (and on a generated password Secret), and a
/// label value holds at most 63 characters, while the API server would take names of up to 253.
/// </summary>
public static class CredentialName
{
    public const int MaxLength = 63;

    /// <summary>
    /// Checked on create only (<c>oldSelf</c> is empty then): names never change, and a credential stored before the
    /// rule existed must stay updatable so that its finalizer can still be removed. The operator reports such a
    /// credential with <see cref="ConditionReasons.InvalidSpec"/>.
    /// </summary>
    public const string CelRule = "oldSelf.hasValue() || size(self.metadata.name) <= 63";

    public const string CelMessage =
        "metadata.name must be at most 63 characters: it is the value of the passbox.dev/credential label on the generated Secret, and label values hold at most 63 characters";

    /// <summary>Why the operator cannot publish for a credential of this name, or null when it can.</summary>
    public static string? Problem(string name) => name.Length <= MaxLength
        ? null
        : $"metadata.name is {name.Length} characters long; the generated Secret carries it in the {ApiGroup.CredentialLabel} label, " +
          $"whose value holds at most {MaxLength}: recreate the credential under a shorter name";
}
