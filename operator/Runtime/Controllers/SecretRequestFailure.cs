using System.Text.Json;
using System.Text.RegularExpressions;
using k8s.Autorest;

namespace Passbox.Operator.Runtime.Controllers;

/// <summary>
/// KubernetesClient puts the API server's whole answer into a failed request's exception message. The answer to a write
/// of a Secret can quote the Secret's data: an admission webhook's or policy's message is free text (a messageExpression
/// can print <c>object.data</c>), sent with a code of its choosing that the caller need not handle. Such a failure is
/// told by what was asked and how the server answered, never by its message.
/// </summary>
internal static partial class SecretRequestFailure
{
    /// <summary>The failed request about a Secret in <paramref name="exception"/> or its inner exceptions, if any.</summary>
    public static HttpOperationException? Find(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpOperationException { Request.RequestUri: { } uri } http && IsSecretPath(uri))
            {
                return http;
            }
        }

        return null;
    }

    /// <summary>
    /// Any failed request in <paramref name="exception"/> or its inner exceptions: a status patch, a finalizer patch. Its
    /// exception says only "Operation returned an invalid status code 'Forbidden'", not which request of the several a
    /// reconcile makes, and someone whose operator lost a permission must learn which (a 403 on
    /// <c>PATCH …/clustercredentials/orders-db/status</c> names the verb and the subresource to grant).
    /// </summary>
    public static HttpOperationException? FindAny(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpOperationException { Request.RequestUri: not null } http)
            {
                return http;
            }
        }

        return null;
    }

    /// <summary>Method, path, code and the Status reason (a fixed word, checked to be one): no message, no body.</summary>
    public static string Describe(HttpOperationException failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var reason = ReasonOf(failure.Response?.Content) is { } word ? $" {word}" : string.Empty;
        var code = failure.Response is null ? "no answer" : $"HTTP {(int)failure.Response.StatusCode}{reason}";
        var described = $"{failure.Request.Method} {failure.Request.RequestUri?.AbsolutePath} answered {code}";
        return failure.Request.RequestUri is { } uri && IsSecretPath(uri)
            ? described + " (the answer is not logged: it may quote the Secret's data)"
            : described;
    }

    /// <summary>Core v1 Secrets, cluster-wide or in a namespace: /api/v1[/namespaces/{ns}]/secrets[/{name}].</summary>
    private static bool IsSecretPath(Uri uri)
    {
        var segments = (uri.IsAbsoluteUri ? uri.AbsolutePath : uri.OriginalString).Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments is ["api", "v1", "secrets", ..] or ["api", "v1", "namespaces", _, "secrets", ..];
    }

    private static string? ReasonOf(string? body)
    {
        try
        {
            using var status = JsonDocument.Parse(body ?? string.Empty);
            return status.RootElement.ValueKind == JsonValueKind.Object
                && status.RootElement.TryGetProperty("reason", out var reason)
                && reason.ValueKind == JsonValueKind.String
                && reason.GetString() is { } word && ReasonWord().IsMatch(word)
                    ? word
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex("^[A-Za-z]{1,40}$")]
    private static partial Regex ReasonWord();
}
