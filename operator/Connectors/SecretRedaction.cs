using System.Text;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Keeps secrets out of messages. Connectors write their own words without secrets and pass every text that comes from
/// a server or a library (error messages, reasons) through <see cref="Redact"/>: a text that holds the login's password
/// or API key, however short — in clear, in Base64, or as a SQL string literal holds it (a server that quotes a
/// statement back quotes the password the client escaped into it) — is left out whole, not shown with the secret cut
/// out, because where a cut sits tells what it hides: a password <c>password</c> cut from MySQL's
/// <c>(using password: YES)</c> reads <c>(using ***: YES)</c>, a one-letter password cut from every word shows which
/// letter it is. <see cref="Failure"/> then checks the whole message once more, for secrets long enough not to match
/// ordinary words. A secret that is part of a name the message shows anyway (the user name, host or database:
/// <c>root</c> with the password <c>root</c>) is not looked for inside that name: cutting it there, or leaving the text
/// out for it, would tell the password just the same, and the name shows nothing the spec does not.
/// </summary>
internal static class SecretRedaction
{
    /// <summary>What stands in for a server's or library's text that holds a secret of the login.</summary>
    public const string LeftOut = "(text left out: it holds a secret of the login)";

    /// <summary>Secrets shorter than this are only looked for in foreign text, not in our own sentences.</summary>
    private const int WholeMessageMinimumLength = 8;

    /// <summary><paramref name="text"/> from a server or a library, or <see cref="LeftOut"/> when it holds a secret of <paramref name="login"/>.</summary>
    public static string Redact(string text, DatabaseLogin login) => Holds(text, login, 1) ? LeftOut : text;

    /// <summary>
    /// A server's version as the status may keep it: null when it holds a secret of <paramref name="login"/> (a server
    /// that answers with the password it was sent). The message shows it through <see cref="Redact"/>; the status field
    /// has no place for a note, so there it is left out.
    /// </summary>
    public static string? Version(string? version, DatabaseLogin login) =>
        version is null || Holds(version, login, 1) ? null : version;

    /// <summary>A failure outcome whose message is checked once more for the login's secrets.</summary>
    public static ValidationOutcome Failure(string reason, string message, DatabaseLogin login) =>
        ValidationOutcome.Failure(reason, Holds(message, login, WholeMessageMinimumLength)
            ? $"the check failed ({reason}); its message is left out, as it would show a secret of the login"
            : message);

    private static bool Holds(string text, DatabaseLogin login, int minimumLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(login);
        foreach (var secret in login.Secrets.Where(secret => secret.Length >= minimumLength))
        {
            var forms = Forms(secret, login);
            var searched = WithoutNamesHolding(text, forms, login);
            if (forms.Any(form => searched.Contains(form, StringComparison.Ordinal)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <paramref name="text"/> with the login's public names blanked out where they hold one of <paramref name="forms"/>:
    /// a secret found only inside them is the name, not a quotation of the secret.
    /// </summary>
    private static string WithoutNamesHolding(string text, HashSet<string> forms, DatabaseLogin login)
    {
        var names = new[] { login.LoginName, login.Host, login.Database }
            .Where(name => !string.IsNullOrEmpty(name) && forms.Any(form => name.Contains(form, StringComparison.Ordinal)))
            .OrderByDescending(name => name!.Length);
        foreach (var name in names)
        {
            text = text.Replace(name!, "\0", StringComparison.Ordinal);
        }

        return text;
    }

    /// <summary>
    /// The ways a secret can appear in a text: as sent, in Base64, escaped inside a single-quoted SQL literal, and for a
    /// password the Milvus authorization value (Base64 of <c>user:password</c>). MySqlConnector doubles <c>'</c> and
    /// <c>\</c> in a literal; a server in NO_BACKSLASH_ESCAPES mode (or another client) leaves <c>\</c> alone, and some
    /// write <c>\'</c> for a quote.
    /// </summary>
    private static HashSet<string> Forms(string secret, DatabaseLogin login)
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

        if (secret == login.Password)
        {
            forms.Add(Convert.ToBase64String(Encoding.UTF8.GetBytes($"{login.LoginName}:{login.Password}")));
        }

        return forms;
    }
}
