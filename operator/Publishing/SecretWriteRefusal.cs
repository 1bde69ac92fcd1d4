using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using k8s.Autorest;

namespace Passbox.Operator.Publishing;

/// <summary>
/// A Secret write the API server refused for a reason the same write would meet again, told in the API server's words.
/// Its own validation (422) names fields and quotes labels and annotations, never data. A 400 or 403 can also come from
/// an admission webhook or policy, whose message is free text that may quote the object (a policy's messageExpression
/// can print <c>object.data</c>): every value the Secret holds or was built from is cut out before the text is shown.
/// <see cref="Cause"/> says who refused it, read from the unredacted words; <see cref="DataBytes"/> is the size of the
/// data the refused Secret would have held (not secret, and what a user needs when it was too large).
/// </summary>
public sealed record SecretWriteRefusal(HttpStatusCode StatusCode, string Message, SecretWriteRefusalCause Cause = SecretWriteRefusalCause.Other, long DataBytes = 0)
{
    /// <summary>Longest API server message kept; the rest is cut.</summary>
    public const int Longest = 1024;

    /// <summary>Values shorter than this are not cut: they would mask ordinary words (a port, <c>git</c>).</summary>
    public const int ShortestRedacted = 4;

    public const string Mask = "***";

    /// <summary>
    /// True for answers that say "not this write, not here": invalid (422), refused (400), forbidden (403), too large
    /// (413); and for an admission webhook that could not be called (a 500 naming it): retrying that at once, with the
    /// reconcile's short backoff, only adds load to a webhook that is down, and the user would see a bare error.
    /// </summary>
    public static bool IsRefusal(HttpOperationException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden
            or HttpStatusCode.RequestEntityTooLarge
            || WebhookFailed(ServerMessage(e.Response.Content)) || StorageTooLarge(ServerMessage(e.Response.Content));
    }

    /// <summary>Who refused, from the status code and the API server's (unredacted) words; the order matters, see each case.</summary>
    public static SecretWriteRefusalCause Classify(HttpStatusCode code, string? message)
    {
        message ??= "";
        return code switch
        {
            // A webhook that could not be called is a 500, or the code its own failed answer carried: the words decide.
            _ when WebhookFailed(message) => SecretWriteRefusalCause.AdmissionWebhookFailed,
            HttpStatusCode.RequestEntityTooLarge => SecretWriteRefusalCause.TooLarge,
            _ when StorageTooLarge(message) => SecretWriteRefusalCause.TooLarge,
            // Before quota and RBAC: a policy's own message may well say "forbidden" or mention a quota.
            _ when message.Contains("denied the request", StringComparison.Ordinal)
                || message.Contains("ValidatingAdmissionPolicy", StringComparison.Ordinal) && message.Contains("denied request", StringComparison.Ordinal)
                => SecretWriteRefusalCause.AdmissionPolicy,
            HttpStatusCode.Forbidden when message.Contains("exceeded quota", StringComparison.OrdinalIgnoreCase) => SecretWriteRefusalCause.Quota,
            HttpStatusCode.Forbidden when message.Contains("cannot ", StringComparison.Ordinal) && message.Contains("resource \"secrets\"", StringComparison.Ordinal)
                => SecretWriteRefusalCause.Permission,
            // The Secret validation's 1 MiB limit on data ("data: Too long: may not be more than 1048576 bytes").
            HttpStatusCode.UnprocessableEntity when message.Contains("data: Too long", StringComparison.Ordinal) => SecretWriteRefusalCause.TooLarge,
            HttpStatusCode.UnprocessableEntity => SecretWriteRefusalCause.Invalid,
            _ => SecretWriteRefusalCause.Other,
        };
    }

    /// <summary>
    /// etcd's own limit (1.5 MiB per request by default), a 500: reached by an object the API server's validation let
    /// through (a Secret whose labels and annotations add to its 1 MiB of data, or an API server without that check).
    /// </summary>
    private static bool StorageTooLarge(string? message) =>
        message?.Contains("request is too large", StringComparison.Ordinal) == true
        || message?.Contains("trying to send message larger than max", StringComparison.Ordinal) == true;

    private static bool WebhookFailed(string? message) => message?.Contains("failed calling webhook", StringComparison.Ordinal) == true;

    /// <summary>
    /// The refusal with the API server's message, without any of <paramref name="payload"/>'s data, the credential's
    /// source values (<paramref name="secrets"/>) or the values the Secret held before (<paramref name="held"/>).
    /// </summary>
    public static SecretWriteRefusal From(HttpOperationException e, SecretPayload payload, IEnumerable<string> secrets, IEnumerable<string>? held = null)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(secrets);
        var code = e.Response.StatusCode;
        var message = ServerMessage(e.Response.Content);
        var cause = Classify(code, message);
        var dataBytes = payload.Data.Values.Sum(v => (long)v.Length);
        if (string.IsNullOrWhiteSpace(message))
        {
            return new SecretWriteRefusal(code, $"HTTP {(int)code}", cause, dataBytes);
        }

        var sources = secrets.ToList();
        // Longest first, so a value that contains another is cut whole.
        var values = payload.Data.Values.Select(v => Encoding.UTF8.GetString(v)).Concat(sources).Concat(held ?? [])
            .SelectMany(SecretValuePieces.Of)
            .Where(v => v.Length >= ShortestRedacted)
            .SelectMany(v => new[] { v, Convert.ToBase64String(Encoding.UTF8.GetBytes(v)), GoQuoted(v) })
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length);
        foreach (var value in values)
        {
            message = message.Replace(value, Mask, StringComparison.Ordinal);
        }

        // A source value too short to cut (a password "Q7") still in the words: cut, it would take ordinary words with it
        // and the gaps would spell it out; left, it would be shown. Only the code and the cause are told then. Short
        // values of the payload's own (a port, "git") come from the spec and are no secret. Its Base64 counts too: that is
        // how a policy printing object.data shows it.
        if (sources.SelectMany(SecretValuePieces.Of).Any(v => v.Length is > 0 and < ShortestRedacted
            && new[] { v, GoQuoted(v), Convert.ToBase64String(Encoding.UTF8.GetBytes(v)) }.Any(form => message.Contains(form, StringComparison.Ordinal))))
        {
            return new SecretWriteRefusal(code,
                $"HTTP {(int)code} (the API server's message is left out: it holds a source value too short to cut out of it without telling it)",
                cause, dataBytes);
        }

        message = message.Trim().TrimEnd('.');
        return new SecretWriteRefusal(code, message.Length <= Longest ? message : message[..Longest] + "…", cause, dataBytes);
    }

    /// <summary>
    /// A value as Go's <c>%q</c> writes it between its quotes: the API server's field errors print an invalid value so
    /// (<c>Invalid value: "line one\nline two"</c>), and a kubeconfig or a password with a quote, a backslash or a line
    /// break would not be found in clear there.
    /// </summary>
    internal static string GoQuoted(string value)
    {
        var quoted = new StringBuilder(value.Length + 16);
        foreach (var c in value)
        {
            _ = c switch
            {
                '\\' => quoted.Append("\\\\"),
                '"' => quoted.Append("\\\""),
                '\n' => quoted.Append("\\n"),
                '\r' => quoted.Append("\\r"),
                '\t' => quoted.Append("\\t"),
                < ' ' or '\u007f' => quoted.Append(CultureInfo.InvariantCulture, $"\\x{(int)c:x2}"),
                _ => quoted.Append(c),
            };
        }

        return quoted.ToString();
    }

    private static string? ServerMessage(string? content)
    {
        try
        {
            using var status = JsonDocument.Parse(content ?? "");
            return status.RootElement.ValueKind == JsonValueKind.Object && status.RootElement.TryGetProperty("message", out var text)
                && text.ValueKind == JsonValueKind.String
                    ? text.GetString()
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
