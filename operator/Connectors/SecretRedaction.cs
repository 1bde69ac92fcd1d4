using System.Text;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Keeps secrets out of messages. Connectors write their own words without secrets and pass every
/// text that comes from a server or a library (error messages, reasons) through <see cref="Redact"/>,
/// which cuts out the login's password and API key, however short: in clear, in Base64, and as a SQL string literal
/// holds it (a server that quotes a statement back quotes the password the client escaped into it).
/// <see cref="Failure"/> then checks the whole message once more for secrets long enough not to
/// match ordinary words.
/// </summary>
internal static class SecretRedaction
{
    public const string Mask = "***";

    /// <summary>Secrets shorter than this are only cut from foreign text, not from our own sentences.</summary>
    private const int WholeMessageMinimumLength = 8;

    public static string Redact(string message, DatabaseLogin login) => RedactLonger(message, login, 1);

    /// <summary>A failure outcome whose message is checked once more for the login's secrets.</summary>
    public static ValidationOutcome Failure(string reason, string message, DatabaseLogin login) =>
        ValidationOutcome.Failure(reason, RedactLonger(message, login, WholeMessageMinimumLength));

    private static string RedactLonger(string message, DatabaseLogin login, int minimumLength)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(login);
        foreach (var secret in login.Secrets)
        {
            if (secret.Length < minimumLength)
            {
                continue;
            }

            foreach (var form in Forms(secret))
            {
                message = message.Replace(form, Mask, StringComparison.Ordinal);
            }
        }

        // The Milvus authorization value: Base64 of user:password.
        if (!string.IsNullOrEmpty(login.Password) && login.Password.Length >= minimumLength)
        {
            var header = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login.LoginName}:{login.Password}"));
            message = message.Replace(header, Mask, StringComparison.Ordinal);
        }

        return message;
    }

    /// <summary>
    /// The ways a secret can appear in a message, longest first so that no escaped form is left half cut: as sent, in
    /// Base64, and escaped inside a single-quoted SQL literal. MySqlConnector doubles <c>'</c> and <c>\</c> there; a
    /// server in NO_BACKSLASH_ESCAPES mode (or another client) leaves <c>\</c> alone, and some write <c>\'</c> for a quote.
    /// </summary>
    private static IEnumerable<string> Forms(string secret)
    {
        var forms = new HashSet<string>(StringComparer.Ordinal) { secret, Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)) };
        if (secret.Contains('\\', StringComparison.Ordinal) || secret.Contains('\'', StringComparison.Ordinal))
        {
            foreach (var backslash in new[] { "\\", "\\\\" })
            {
                var escaped = secret.Replace("\\", backslash, StringComparison.Ordinal);
                forms.Add(escaped.Replace("'", "''", StringComparison.Ordinal));
                forms.Add(escaped.Replace("'", "\\'", StringComparison.Ordinal));
            }
        }

        return forms.OrderByDescending(form => form.Length);
    }
}
