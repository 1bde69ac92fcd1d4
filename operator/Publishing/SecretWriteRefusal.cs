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
/// </summary>
public sealed record SecretWriteRefusal(HttpStatusCode StatusCode, string Message)
{
    /// <summary>Longest API server message kept; the rest is cut.</summary>
    public const int Longest = 1024;

    /// <summary>Values shorter than this are not cut: they would mask ordinary words (a port, <c>git</c>).</summary>
    public const int ShortestRedacted = 4;

    public const string Mask = "***";

    /// <summary>True for answers that say "not this write, not here": invalid (422), refused (400), forbidden (403).</summary>
    public static bool IsRefusal(HttpOperationException e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return e.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.BadRequest or HttpStatusCode.Forbidden;
    }

    /// <summary>The refusal with the API server's message, without any of <paramref name="payload"/>'s data or <paramref name="secrets"/>.</summary>
    public static SecretWriteRefusal From(HttpOperationException e, SecretPayload payload, IEnumerable<string> secrets)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(secrets);
        var code = e.Response.StatusCode;
        var message = ServerMessage(e.Response.Content);
        if (string.IsNullOrWhiteSpace(message))
        {
            return new SecretWriteRefusal(code, $"HTTP {(int)code}");
        }

        // Longest first, so a value that contains another is cut whole.
        var values = payload.Data.Values.Select(v => Encoding.UTF8.GetString(v)).Concat(secrets)
            .Where(v => v.Length >= ShortestRedacted)
            .SelectMany(v => new[] { v, Convert.ToBase64String(Encoding.UTF8.GetBytes(v)) })
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(v => v.Length);
        foreach (var value in values)
        {
            message = message.Replace(value, Mask, StringComparison.Ordinal);
        }

        message = message.Trim().TrimEnd('.');
        return new SecretWriteRefusal(code, message.Length <= Longest ? message : message[..Longest] + "…");
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
