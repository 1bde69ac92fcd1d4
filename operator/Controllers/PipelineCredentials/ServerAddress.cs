namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>
/// spec.server as the consumers key it. <see cref="Uri.Authority"/> drops a port that is the scheme's default, but docker,
/// kaniko, crane and git look credentials up by the host exactly as the image reference or clone URL writes it:
/// <c>registry.example.com:443/app</c> is looked up as <c>registry.example.com:443</c>, and git's credential store compares
/// <c>host:port</c> as a string. So the port stays when the user wrote it.
/// </summary>
public sealed class ServerAddress
{
    private ServerAddress(Uri uri, bool writesDefaultPort)
    {
        Uri = uri;
        Authority = writesDefaultPort ? $"{uri.Authority}:{uri.Port}" : uri.Authority;
        // The two names are one server only when the scheme says which port a bare host means. For a registry a bare host
        // always means https on 443, so an http://host:80 registry gets no bare alias (docker would go to https://host).
        AuthorityWithoutDefaultPort = writesDefaultPort ? uri.Authority : null;
    }

    /// <summary>spec.server parsed (https:// when it names no scheme). <see cref="Uri.Authority"/> leaves out user info.</summary>
    public Uri Uri { get; }

    /// <summary>Host and port as written: the port is kept when written, even when it is the scheme's default.</summary>
    public string Authority { get; }

    /// <summary>
    /// The host without the port, when the written port is the scheme's default (<c>https://git.example.com:443</c>): the
    /// same server under the name a reference without a port uses. Null when no default port was written.
    /// </summary>
    public string? AuthorityWithoutDefaultPort { get; }

    /// <summary><c>scheme://host[:port]</c> with the port as written.</summary>
    public string Origin => $"{Uri.Scheme}://{Authority}";

    /// <summary>The registry alias for docker configs: a bare host means https on 443 to docker, kaniko and crane.</summary>
    public string? RegistryAlias => Uri.Scheme == System.Uri.UriSchemeHttps ? AuthorityWithoutDefaultPort : null;

    public static bool TryParse(string server, out ServerAddress address)
    {
        address = null!;
        var text = WithScheme(server);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            return false;
        }

        address = new ServerAddress(uri, uri.IsDefaultPort && WritesPort(text));
        return true;
    }

    public static string WithScheme(string server) =>
        server.Contains("://", StringComparison.Ordinal) ? server : "https://" + server;

    /// <summary>True when the authority of <paramref name="url"/> (after the scheme, before the path) names a port.</summary>
    private static bool WritesPort(string url)
    {
        var start = url.IndexOf("://", StringComparison.Ordinal) + 3;
        var end = url.IndexOfAny(['/', '?', '#'], start);
        var authority = end < 0 ? url[start..] : url[start..end];
        authority = authority[(authority.LastIndexOf('@') + 1)..];
        var afterHost = authority.StartsWith('[') ? authority[(authority.IndexOf(']', StringComparison.Ordinal) + 1)..] : authority;
        return afterHost.Contains(':', StringComparison.Ordinal);
    }
}
