using System.Net;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>Builds the URLs the probes call and prints URLs without user info or query.</summary>
public static class ProbeUrls
{
    /// <summary>The host names Docker Hub goes by; its API lives on <see cref="DockerHubRegistry"/>.</summary>
    private static readonly string[] DockerHubAliases = ["docker.io", "index.docker.io", "registry.hub.docker.com", "registry-1.docker.io"];

    /// <summary>The API host behind <see cref="DockerHubAliases"/>.</summary>
    public const string DockerHubRegistry = "https://registry-1.docker.io";

    /// <summary>The proxy schemes kubectl accepts in <c>proxy-url</c>, all of which HttpClient speaks.</summary>
    private static readonly string[] ProxySchemes = ["http", "https", "socks5"];

    /// <summary>
    /// Parses an absolute http(s) URL. Plain http is taken only when written explicitly; user info
    /// in the URL is refused so credentials come from the credential's own fields alone.
    /// </summary>
    public static bool TryParseHttpUrl(string? text, string what, out Uri uri, out string error)
    {
        uri = null!;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"no {what} given";
            return false;
        }

        if (!Uri.TryCreate(text.Trim(), UriKind.Absolute, out var parsed)
            || (parsed.Scheme != Uri.UriSchemeHttps && parsed.Scheme != Uri.UriSchemeHttp)
            || string.IsNullOrEmpty(parsed.Host))
        {
            error = $"the {what} is not an http(s) URL";
            return false;
        }

        if (!string.IsNullOrEmpty(parsed.UserInfo))
        {
            error = $"the {what} carries user info; put the credentials in the credential's fields, not in the URL";
            return false;
        }

        uri = parsed;
        return true;
    }

    /// <summary>
    /// Parses a proxy URL as kubectl takes it in a kubeconfig's <c>proxy-url</c>: <c>http</c>, <c>https</c> or
    /// <c>socks5</c>, with an optional <c>user:password@</c> for the proxy itself. The URL comes back without that user
    /// info (the proxy's credentials are returned apart), so it can be shown.
    /// </summary>
    public static bool TryParseProxyUrl(string? text, string what, out Uri proxy, out NetworkCredential? credentials, out string error)
    {
        proxy = null!;
        credentials = null;
        error = string.Empty;
        if (!Uri.TryCreate(text?.Trim(), UriKind.Absolute, out var parsed)
            || !ProxySchemes.Contains(parsed.Scheme)
            || string.IsNullOrEmpty(parsed.Host))
        {
            // The text itself is left out: it may carry the proxy's password.
            error = $"{what} is not a proxy URL: give http://, https:// or socks5:// with a host and port, such as http://proxy.example.com:3128";
            return false;
        }

        if (!string.IsNullOrEmpty(parsed.UserInfo))
        {
            var colon = parsed.UserInfo.IndexOf(':', StringComparison.Ordinal);
            credentials = colon < 0
                ? new NetworkCredential(Uri.UnescapeDataString(parsed.UserInfo), string.Empty)
                : new NetworkCredential(Uri.UnescapeDataString(parsed.UserInfo[..colon]), Uri.UnescapeDataString(parsed.UserInfo[(colon + 1)..]));
        }

        // socks5://host without a port means SOCKS's own 1080, as Go's dialer takes it.
        proxy = new UriBuilder(parsed.Scheme, parsed.Host, parsed.Port >= 0 ? parsed.Port : 1080).Uri;
        return true;
    }

    /// <summary>
    /// The git smart HTTP discovery URL of a repository: <c>&lt;repo&gt;/info/refs?service=git-upload-pack</c>.
    /// </summary>
    public static Uri GitInfoRefs(Uri repository)
    {
        ArgumentNullException.ThrowIfNull(repository);
        var builder = new UriBuilder(repository)
        {
            Path = repository.AbsolutePath.TrimEnd('/') + "/info/refs",
            Query = "service=git-upload-pack",
            Fragment = string.Empty,
        };
        return builder.Uri;
    }

    /// <summary>
    /// The base URL of a registry from how people write it: <c>host</c>, <c>host:port</c>,
    /// <c>https://host[:port][/path]</c> or <c>http://host:port</c> (explicit only). A path is
    /// dropped: the distribution API lives at <c>/v2/</c> of the host. Docker Hub names map to its API host.
    /// </summary>
    public static bool TryParseRegistry(string? server, out Uri baseUri, out string error)
    {
        baseUri = null!;
        error = string.Empty;
        if (string.IsNullOrWhiteSpace(server))
        {
            error = "no registry server given";
            return false;
        }

        var text = server.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "https://" + text;
        }

        if (!TryParseHttpUrl(text, "registry server", out var parsed, out error))
        {
            return false;
        }

        if (IsDockerHub(parsed.Host))
        {
            baseUri = new Uri(DockerHubRegistry + "/");
            return true;
        }

        baseUri = new UriBuilder(parsed.Scheme, parsed.Host, parsed.Port, "/").Uri;
        return true;
    }

    /// <summary>True when <paramref name="host"/> is one of the names of Docker Hub.</summary>
    public static bool IsDockerHub(string host) => DockerHubAliases.Contains(host, StringComparer.OrdinalIgnoreCase);

    /// <summary><c>/v2/</c> of a registry base URL.</summary>
    public static Uri RegistryApiRoot(Uri registryBase) => new(registryBase, "/v2/");

    /// <summary>
    /// A path below an API server URL that may carry a path prefix
    /// (<c>https://proxy/k8s/clusters/c-1</c> + <c>/version</c>).
    /// </summary>
    public static Uri Below(Uri server, string path)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(path);
        var builder = new UriBuilder(server)
        {
            Path = server.AbsolutePath.TrimEnd('/') + "/" + path.TrimStart('/'),
            Query = string.Empty,
            Fragment = string.Empty,
        };
        return builder.Uri;
    }

    /// <summary>The same URL over plain HTTP, on the same port: <c>https://host/x</c> becomes <c>http://host:443/x</c>.</summary>
    public static Uri AsPlainHttp(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return new UriBuilder(uri) { Scheme = Uri.UriSchemeHttp, Port = uri.Port }.Uri;
    }

    /// <summary>A URL as it may appear in a message: no user info, no query, no fragment.</summary>
    public static string Display(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri)
        {
            return "(relative URL)";
        }

        var text = uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.Unescaped);
        return uri.AbsolutePath == "/" ? text.TrimEnd('/') : text;
    }

    /// <summary><c>host:port</c> of a URL.</summary>
    public static string Endpoint(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return uri.HostNameType == UriHostNameType.IPv6 ? $"[{uri.IdnHost}]:{uri.Port}" : $"{uri.IdnHost}:{uri.Port}";
    }
}
