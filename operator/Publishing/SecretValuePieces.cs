using System.Text.Json;
using System.Text.Json.Nodes;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Runtime.Api;

namespace Passbox.Operator.Publishing;

/// <summary>
/// A value of a Secret or a source, and the parts of it that are shown apart from it. A policy or webhook that refuses a
/// Secret may print one field of a value Passbox wrote whole: Gatekeeper's Rego and Kyverno's JMESPath decode and parse
/// JSON, so a docker config prints its <c>auth</c> (Base64 of <c>user:password</c>) and an Argo CD cluster config its
/// <c>bearerToken</c> or <c>keyData</c>, a kubeconfig its token or client key, and a URL (a <c>uri</c> key, a line of
/// <c>.git-credentials</c>) its user info, where the password is escaped (<c>p%40ss</c>). A value printed on one line also loses
/// the white space around it: a file's last line break (kept by <c>kubectl create secret --from-file</c>), or all of it
/// where a ValidatingAdmissionPolicy trims its message.
/// </summary>
internal static class SecretValuePieces
{
    public static IEnumerable<string> Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        return new[] { value, trimmed }.Concat(JsonStrings(trimmed)).Concat(KubeconfigSecrets(trimmed)).Concat(UrlUserInfo(trimmed))
            .Distinct(StringComparer.Ordinal);
    }

    /// <summary>The user info of each line that is a URL carrying one, and its password as escaped there; none for other text.</summary>
    private static List<string> UrlUserInfo(string value)
    {
        var pieces = new List<string>();
        if (!value.Contains("://", StringComparison.Ordinal) || !value.Contains('@', StringComparison.Ordinal))
        {
            return pieces;
        }

        foreach (var line in value.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Uri.TryCreate(line, UriKind.Absolute, out var url) && url.UserInfo is { Length: > 0 } userInfo)
            {
                pieces.Add(userInfo);
                var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
                if (colon >= 0)
                {
                    pieces.Add(userInfo[(colon + 1)..]);
                }
            }
        }

        return pieces;
    }

    /// <summary>Every string in a JSON object (a docker config, an Argo CD cluster config); none for other text.</summary>
    private static List<string> JsonStrings(string value)
    {
        var strings = new List<string>();
        if (!value.StartsWith('{'))
        {
            return strings;
        }

        try
        {
            Collect(JsonNode.Parse(value), strings);
        }
        catch (JsonException)
        {
            // Not JSON after all: the value itself is cut.
        }

        return strings;
    }

    private static void Collect(JsonNode? node, List<string> strings)
    {
        switch (node)
        {
            case JsonObject members:
                foreach (var (_, member) in members)
                {
                    Collect(member, strings);
                }

                break;
            case JsonArray items:
                foreach (var item in items)
                {
                    Collect(item, strings);
                }

                break;
            case JsonValue leaf when leaf.GetValueKind() == JsonValueKind.String:
                strings.Add(leaf.GetValue<string>());
                break;
        }
    }

    /// <summary>The credentials of a kubeconfig's users and its proxies' passwords; none for other text.</summary>
    private static List<string> KubeconfigSecrets(string value)
    {
        var secrets = new List<string>();
        if (!value.Contains("users", StringComparison.Ordinal) && !value.Contains("proxy-url", StringComparison.Ordinal))
        {
            return secrets;
        }

        KubeconfigDocument? document;
        try
        {
            document = Kubeconfigs.Read(value);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or InvalidOperationException or ArgumentException or FormatException or InvalidCastException)
        {
            return secrets;
        }

        foreach (var credentials in (document?.Config.Users ?? []).Select(user => user?.UserCredentials).OfType<k8s.KubeConfigModels.UserCredentials>())
        {
            secrets.AddRange(new[] { credentials.Token, credentials.Password, credentials.ClientKeyData, credentials.ClientCertificateData }.OfType<string>());
        }

        foreach (var proxyUrl in document?.ClusterProxyUrls.Values ?? [])
        {
            secrets.Add(proxyUrl);
            if (ProbeUrls.TryParseProxyUrl(proxyUrl, "proxy-url", out _, out var proxyCredentials, out _) && proxyCredentials is not null)
            {
                secrets.Add(proxyCredentials.Password);
            }
        }

        return secrets;
    }
}
