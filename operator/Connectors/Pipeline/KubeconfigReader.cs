using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Passbox.Operator.Runtime.Api;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// Reads a kubeconfig into a <see cref="KubeconfigTarget"/> without running anything or reading
/// any file it names: <c>exec</c> and <c>auth-provider</c> users are refused (a command from user
/// input never runs in the operator), and so are file paths (<c>certificate-authority</c>,
/// <c>client-certificate</c>, <c>client-key</c>, <c>tokenFile</c>). KubernetesClient's own config
/// builder is not used, because it would run exec plugins and read those files.
/// Messages name contexts, clusters, users and fields, never their contents.
/// </summary>
internal static class KubeconfigReader
{
    /// <summary>Kubeconfigs come from Secrets, which hold at most 1 MiB.</summary>
    internal const int MaxLength = 1024 * 1024;

    private static readonly string[] TokenFileKeys = ["tokenFile", "token-file"];

    public static KubeconfigReadResult Read(string? kubeconfig, string? context)
    {
        if (string.IsNullOrWhiteSpace(kubeconfig))
        {
            return Invalid("the kubeconfig is empty");
        }

        if (kubeconfig.Length > MaxLength)
        {
            return Invalid($"the kubeconfig is larger than {MaxLength / 1024} KiB");
        }

        if (!TryLoadRaw(kubeconfig, out var root, out var rawError))
        {
            return Invalid(rawError);
        }

        KubeconfigDocument? document;
        try
        {
            document = Kubeconfigs.Read(kubeconfig);
        }
        catch (YamlException ex)
        {
            return Invalid($"the kubeconfig does not have the kubeconfig structure (line {ex.Start.Line}, column {ex.Start.Column})");
        }
        catch (Exception ex) when (ex is InvalidCastException or FormatException or ArgumentException or InvalidOperationException)
        {
            return Invalid("the kubeconfig does not have the kubeconfig structure");
        }

        if (document is null)
        {
            return Invalid("the kubeconfig is empty");
        }

        var config = document.Config;

        var contexts = (config.Contexts ?? []).Where(c => c is not null).ToList();
        var contextName = string.IsNullOrWhiteSpace(context) ? config.CurrentContext : context;
        if (string.IsNullOrWhiteSpace(contextName))
        {
            return Invalid($"no context was given and the kubeconfig has no current-context; {Available("contexts", contexts.Select(c => c.Name))}");
        }

        var selected = contexts.FirstOrDefault(c => c.Name == contextName);
        if (selected is null)
        {
            var origin = string.IsNullOrWhiteSpace(context) ? "current-context" : "context";
            return Invalid($"{origin} \"{contextName}\" is not in the kubeconfig; {Available("contexts", contexts.Select(c => c.Name))}");
        }

        var clusterName = selected.ContextDetails?.Cluster;
        if (string.IsNullOrWhiteSpace(clusterName))
        {
            return Invalid($"context \"{contextName}\" names no cluster");
        }

        var clusters = (config.Clusters ?? []).Where(c => c is not null).ToList();
        var cluster = clusters.FirstOrDefault(c => c.Name == clusterName);
        if (cluster is null)
        {
            return Invalid($"cluster \"{clusterName}\" of context \"{contextName}\" is not in the kubeconfig; {Available("clusters", clusters.Select(c => c.Name))}");
        }

        var userName = selected.ContextDetails?.User;
        if (string.IsNullOrWhiteSpace(userName))
        {
            return Invalid($"context \"{contextName}\" names no user");
        }

        var users = (config.Users ?? []).Where(u => u is not null).ToList();
        var user = users.FirstOrDefault(u => u.Name == userName);
        if (user is null)
        {
            return Invalid($"user \"{userName}\" of context \"{contextName}\" is not in the kubeconfig; {Available("users", users.Select(u => u.Name))}");
        }

        var rawUser = FindNamedEntry(root, "users", userName, "user");
        var credentials = user.UserCredentials;
        if (credentials?.ExternalExecution is not null || HasKey(rawUser, "exec"))
        {
            return Unsupported($"user \"{userName}\" gets its credentials from an exec plugin; the operator never runs commands " +
                "from a kubeconfig: use a token or client certificate (for example a ServiceAccount token)");
        }

        if (credentials?.AuthProvider is not null || HasKey(rawUser, "auth-provider"))
        {
            return Unsupported($"user \"{userName}\" gets its credentials from an auth-provider plugin, which the operator does not run: " +
                "use a token or client certificate (for example a ServiceAccount token)");
        }

        var endpoint = cluster.ClusterEndpoint;
        if (endpoint is null || string.IsNullOrWhiteSpace(endpoint.Server))
        {
            return Invalid($"cluster \"{clusterName}\" has no server");
        }

        if (!ProbeUrls.TryParseHttpUrl(endpoint.Server, $"server of cluster \"{clusterName}\"", out var server, out var serverError))
        {
            return Invalid(serverError);
        }

        Uri? proxy = null;
        NetworkCredential? proxyCredentials = null;
        if (document.ProxyUrl(clusterName) is { } proxyUrl
            && !ProbeUrls.TryParseProxyUrl(proxyUrl, $"proxy-url of cluster \"{clusterName}\"", out proxy, out proxyCredentials, out var proxyError))
        {
            return Invalid(proxyError);
        }

        if (!string.IsNullOrEmpty(endpoint.CertificateAuthority))
        {
            return FileRefused($"cluster \"{clusterName}\"", "certificate-authority", "certificate-authority-data");
        }

        if (!string.IsNullOrEmpty(credentials?.ClientCertificate))
        {
            return FileRefused($"user \"{userName}\"", "client-certificate", "client-certificate-data");
        }

        if (!string.IsNullOrEmpty(credentials?.ClientKey))
        {
            return FileRefused($"user \"{userName}\"", "client-key", "client-key-data");
        }

        if (TokenFileKeys.FirstOrDefault(k => HasKey(rawUser, k)) is { } tokenFileKey)
        {
            return FileRefused($"user \"{userName}\"", tokenFileKey, "token");
        }

        var tlsServerName = string.IsNullOrWhiteSpace(endpoint.TlsServerName) ? null : endpoint.TlsServerName.Trim();
        if (tlsServerName is not null && Uri.CheckHostName(tlsServerName) is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6))
        {
            // It becomes the TLS server name (SNI) and the name the certificate is checked against, as with kubectl.
            return Invalid($"tls-server-name of cluster \"{clusterName}\" is not a host name: give the DNS name the server certificate carries, " +
                "such as kubernetes.default.svc, without scheme or port");
        }

        X509Certificate2Collection? authorities = null;
        if (!string.IsNullOrWhiteSpace(endpoint.CertificateAuthorityData))
        {
            if (endpoint.SkipTlsVerify)
            {
                return Invalid($"cluster \"{clusterName}\" sets both certificate-authority-data and insecure-skip-tls-verify; keep one");
            }

            if (!TryReadCertificates(endpoint.CertificateAuthorityData, out authorities))
            {
                return Invalid($"certificate-authority-data of cluster \"{clusterName}\" is not base64-encoded PEM certificates");
            }
        }

        X509Certificate2? clientCertificate = null;
        var hasCertData = !string.IsNullOrWhiteSpace(credentials?.ClientCertificateData);
        var hasKeyData = !string.IsNullOrWhiteSpace(credentials?.ClientKeyData);
        if (hasCertData != hasKeyData)
        {
            return Invalid($"user \"{userName}\" has {(hasCertData ? "client-certificate-data without client-key-data" : "client-key-data without client-certificate-data")}");
        }

        if (hasCertData && !TryReadClientCertificate(credentials!.ClientCertificateData, credentials.ClientKeyData, out clientCertificate))
        {
            return Invalid($"client-certificate-data and client-key-data of user \"{userName}\" are not a base64-encoded PEM certificate and its key");
        }

        var token = string.IsNullOrWhiteSpace(credentials?.Token) ? null : credentials.Token.Trim();
        if (token is not null && !IsHeaderText(token))
        {
            // The token goes into an Authorization header, which refuses line breaks outright (the request is never
            // sent) and non-ASCII text on the wire: say which user to fix instead of failing as if the server were down.
            return Invalid($"the token of user \"{userName}\" holds a line break, a control character or a non-ASCII character; " +
                "a bearer token is one line of ASCII: copy it again without them");
        }

        var basicUser = string.IsNullOrEmpty(credentials?.UserName) ? null : credentials.UserName;
        if (basicUser is not null && string.IsNullOrEmpty(credentials?.Password))
        {
            return Invalid($"user \"{userName}\" has a username without a password");
        }

        if (token is not null && basicUser is not null)
        {
            return Invalid($"user \"{userName}\" has both a token and a username/password; keep one");
        }

        if (clientCertificate is null && token is null && basicUser is null)
        {
            return Invalid($"user \"{userName}\" has no credentials: give a token, client-certificate-data with client-key-data, or a username and password");
        }

        return new KubeconfigReadResult(new KubeconfigTarget
        {
            Server = server,
            ContextName = contextName,
            ClusterName = clusterName,
            UserName = userName,
            CertificateAuthorities = authorities,
            InsecureSkipTlsVerify = endpoint.SkipTlsVerify,
            TlsServerName = tlsServerName,
            Proxy = proxy,
            ProxyCredentials = proxyCredentials,
            ClientCertificate = clientCertificate,
            BearerToken = token,
            BasicUsername = basicUser,
            BasicPassword = basicUser is null ? null : credentials!.Password,
            Impersonate = string.IsNullOrWhiteSpace(credentials?.Impersonate) ? null : credentials.Impersonate,
            ImpersonateGroups = (credentials?.ImpersonateGroups ?? []).Where(g => !string.IsNullOrEmpty(g)).ToList(),
        }, null);
    }

    /// <summary>True when every character is printable ASCII (space included), as an HTTP header value needs.</summary>
    internal static bool IsHeaderText(string value) => value.All(c => c is >= ' ' and <= '~');

    private static bool TryLoadRaw(string kubeconfig, out YamlMappingNode root, out string error)
    {
        root = null!;
        error = string.Empty;
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(kubeconfig));
        }
        catch (YamlException ex)
        {
            // The exception text can quote the document; only the position is reported.
            error = $"the kubeconfig is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column})";
            return false;
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet's scanner fails on some broken YAML (a flow sequence left open, "kind: [Config") this way, with
            // no position. Thrown on, it ended the check as Unreachable "failed unexpectedly", retried with back-off.
            error = "the kubeconfig is not valid YAML (a bracket or quote left open?)";
            return false;
        }

        if (stream.Documents.Count == 0)
        {
            error = "the kubeconfig is empty";
            return false;
        }

        if (stream.Documents.Count > 1)
        {
            error = "the kubeconfig holds more than one YAML document";
            return false;
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode mapping)
        {
            error = "the kubeconfig is not a YAML mapping with clusters, contexts and users";
            return false;
        }

        root = mapping;
        return true;
    }

    /// <summary>The <paramref name="field"/> mapping of the first <paramref name="list"/> entry named <paramref name="name"/>.</summary>
    private static YamlMappingNode? FindNamedEntry(YamlMappingNode root, string list, string name, string field)
    {
        if (!root.Children.TryGetValue(new YamlScalarNode(list), out var entries) || entries is not YamlSequenceNode sequence)
        {
            return null;
        }

        foreach (var entry in sequence.Children.OfType<YamlMappingNode>())
        {
            if (entry.Children.TryGetValue(new YamlScalarNode("name"), out var entryName)
                && entryName is YamlScalarNode { Value: var value } && value == name)
            {
                return entry.Children.TryGetValue(new YamlScalarNode(field), out var body) ? body as YamlMappingNode : null;
            }
        }

        return null;
    }

    private static bool HasKey(YamlMappingNode? mapping, string key) =>
        mapping is not null && mapping.Children.TryGetValue(new YamlScalarNode(key), out var value)
        && !(value is YamlScalarNode { Value: null or "" or "null" or "~" });

    private static bool TryReadCertificates(string base64, out X509Certificate2Collection? certificates)
    {
        certificates = null;
        if (!TryDecodePem(base64, out var pem))
        {
            return false;
        }

        var collection = new X509Certificate2Collection();
        try
        {
            collection.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            return false;
        }

        if (collection.Count == 0)
        {
            return false;
        }

        certificates = collection;
        return true;
    }

    private static bool TryReadClientCertificate(string certificateBase64, string keyBase64, out X509Certificate2? certificate)
    {
        certificate = null;
        if (!TryDecodePem(certificateBase64, out var certificatePem) || !TryDecodePem(keyBase64, out var keyPem))
        {
            return false;
        }

        try
        {
            using var ephemeral = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            // A PKCS#12 round trip gives a key that TLS can use on every platform.
            certificate = X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
            return true;
        }
        catch (CryptographicException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool TryDecodePem(string base64, out string pem)
    {
        pem = string.Empty;
        try
        {
            pem = Encoding.UTF8.GetString(Convert.FromBase64String(base64.Trim()));
            return pem.Contains("-----BEGIN ", StringComparison.Ordinal);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static string Available(string what, IEnumerable<string?> names)
    {
        var list = names.Where(n => !string.IsNullOrEmpty(n)).Select(n => $"\"{n}\"").ToList();
        return list.Count == 0 ? $"it has no {what}" : $"available {what}: {NameList.Join(list)}";
    }

    private static KubeconfigReadResult Invalid(string message) =>
        new(null, ValidationOutcome.Failure(ValidationReasons.InvalidKubeconfig, message));

    private static KubeconfigReadResult Unsupported(string message) =>
        new(null, ValidationOutcome.Failure(ValidationReasons.Unsupported, message));

    private static KubeconfigReadResult FileRefused(string owner, string field, string embedded) =>
        Invalid($"{owner} names a file in {field}; the operator does not read files named in a kubeconfig: embed the content as {embedded}");
}

/// <summary>Either the resolved target or why there is none.</summary>
internal sealed record KubeconfigReadResult(KubeconfigTarget? Target, ValidationOutcome? Failure);
