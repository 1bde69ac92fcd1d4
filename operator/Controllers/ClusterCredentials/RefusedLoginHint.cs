using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.Shared;

namespace Passbox.Operator.Controllers.ClusterCredentials;

/// <summary>
/// Completes the message of a refused login with what only the credential knows: which fields and which Secret key the
/// login came from, and when it is tried again. The server's words say "check the password"; a user who then changes it
/// on the server, not in the Secret, would otherwise wait a whole <c>validation.interval</c> without knowing why.
/// A managed user (<c>spec.provisioning</c>) is left as it is: Passbox sets its password itself.
/// </summary>
public static class RefusedLoginHint
{
    public static ValidationOutcome Add(ValidationOutcome outcome, ClusterCredential credential)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        ArgumentNullException.ThrowIfNull(credential);
        if (outcome.Reason != ValidationReasons.AuthenticationFailed || credential.Spec.Provisioning is not null)
        {
            return outcome;
        }

        var spec = EffectiveClusterSpec.From(credential);
        var ns = credential.Metadata.NamespaceProperty;
        var source = spec.ApiKeySecretRef is { } apiKey
            ? $"the API key in Secret {ns}/{apiKey.Name} key \"{apiKey.Key}\" (spec.apiKeySecretRef)"
            : spec.PasswordSecretRef is { } password
                ? $"spec.username and the password in Secret {ns}/{password.Name} key \"{password.Key}\" (spec.passwordSecretRef)"
                : "spec.username";
        var next = spec.Interval == TimeSpan.Zero
            ? "it is tried again only when the spec or that Secret changes (validation.interval is 0)"
            : $"it is not tried again before validation.interval ({GoDuration.Format(spec.Interval)}) unless the spec or that Secret changes, " +
              "so a password changed on the server alone is noticed only then";
        // "Uses", not "fix": a refusal may need its fix on the server (an account for the operator's host, error 1130; one
        // without a password plugin, 1698; a locked account), which the server's words before this already name.
        return outcome with { Message = $"{outcome.Message.TrimEnd().TrimEnd('.')}. The login uses {source}; {next}." };
    }
}
