namespace Passbox.Operator.Connectors;

/// <summary>
/// Last line of defence for messages built from server and library errors: whatever a server or
/// driver puts in an error text, the secrets of the login being checked are cut out.
/// </summary>
internal static class SecretRedaction
{
    public const string Mask = "***";

    public static string Redact(string message, DatabaseLogin login)
    {
        ArgumentNullException.ThrowIfNull(message);
        foreach (var secret in login.Secrets)
        {
            message = message.Replace(secret, Mask, StringComparison.Ordinal);
            var base64 = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(secret));
            message = message.Replace(base64, Mask, StringComparison.Ordinal);
        }

        return message;
    }

    /// <summary>A failure outcome whose message is redacted.</summary>
    public static ValidationOutcome Failure(string reason, string message, DatabaseLogin login) =>
        ValidationOutcome.Failure(reason, Redact(message, login));
}
