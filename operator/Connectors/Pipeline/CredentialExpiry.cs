using System.Buffers.Text;
using System.Globalization;
using System.Text.Json;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// When a kubeconfig's credentials stop working by themselves: a bearer token's <c>exp</c> (a ServiceAccount token from
/// <c>kubectl create token</c> lasts an hour unless asked otherwise) or a client certificate's end of validity (kubeadm's
/// admin.conf: one year). The token is read, never verified: the API server has just accepted it, this only tells when
/// it will stop doing so. Nothing of the token is kept or shown beyond the time.
/// </summary>
internal static class CredentialExpiry
{
    /// <summary>The earliest end of <paramref name="target"/>'s credentials, and which one it is; null when none is known.</summary>
    public static (DateTimeOffset At, string What)? Of(KubeconfigTarget target)
    {
        ArgumentNullException.ThrowIfNull(target);
        var token = target.BearerToken is { } bearer && TokenExpiry(bearer) is { } exp ? (exp, "bearer token") : ((DateTimeOffset, string)?)null;
        var certificate = target.ClientCertificate is { } cert ? (new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero), "client certificate") : ((DateTimeOffset, string)?)null;
        return (token, certificate) switch
        {
            ({ } t, { } c) => t.Item1 <= c.Item1 ? t : c,
            ({ } t, null) => t,
            (null, { } c) => c,
            _ => null,
        };
    }

    /// <summary>The <c>exp</c> claim of a JWT, or null for a token that is not a JWT or has none.</summary>
    public static DateTimeOffset? TokenExpiry(string token)
    {
        var parts = token.Split('.');
        if (parts.Length != 3 || parts[1].Length is 0 or > 64 * 1024)
        {
            return null;
        }

        // TryDecodeFromChars throws on a character outside the alphabet: look first.
        var payload = new byte[Base64Url.GetMaxDecodedLength(parts[1].Length)];
        if (!Base64Url.IsValid(parts[1]) || !Base64Url.TryDecodeFromChars(parts[1], payload, out var length))
        {
            return null;
        }

        try
        {
            using var claims = JsonDocument.Parse(payload.AsMemory(0, length));
            return claims.RootElement.ValueKind == JsonValueKind.Object
                && claims.RootElement.TryGetProperty("exp", out var exp)
                && exp.ValueKind == JsonValueKind.Number
                && exp.TryGetInt64(out var seconds)
                && seconds is > 0 and < 253402300800 // before year 10000
                    ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The time as status and messages show it, to the second.</summary>
    public static string Format(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
