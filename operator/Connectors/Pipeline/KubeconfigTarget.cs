using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// What a kubeconfig context resolves to, with every piece of data embedded (nothing read from
/// files, nothing run). <see cref="ToString"/> leaves out all credential material.
/// </summary>
internal sealed class KubeconfigTarget : IDisposable
{
    public required Uri Server { get; init; }

    public required string ContextName { get; init; }

    public required string ClusterName { get; init; }

    public required string UserName { get; init; }

    /// <summary>CA certificates from <c>certificate-authority-data</c>; null means the system's.</summary>
    public X509Certificate2Collection? CertificateAuthorities { get; init; }

    /// <summary>True only when the kubeconfig says <c>insecure-skip-tls-verify: true</c>.</summary>
    public bool InsecureSkipTlsVerify { get; init; }

    /// <summary><c>tls-server-name</c>: the name the server certificate is checked against.</summary>
    public string? TlsServerName { get; init; }

    /// <summary><c>proxy-url</c> without its user info: every request goes through this proxy, whatever the environment says.</summary>
    public Uri? Proxy { get; init; }

    /// <summary>The user and password of <see cref="Proxy"/>, from the user info of <c>proxy-url</c>.</summary>
    public NetworkCredential? ProxyCredentials { get; init; }

    /// <summary>Client certificate with its key from <c>client-certificate-data</c> and <c>client-key-data</c>.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    public string? BearerToken { get; init; }

    public string? BasicUsername { get; init; }

    public string? BasicPassword { get; init; }

    /// <summary><c>as</c>: the user to impersonate.</summary>
    public string? Impersonate { get; init; }

    public IReadOnlyList<string> ImpersonateGroups { get; init; } = [];

    /// <summary>How the client logs in, for messages: never the secret itself.</summary>
    public string AuthenticationKind =>
        ClientCertificate is not null ? "client certificate"
        : BearerToken is not null ? "bearer token"
        : BasicUsername is not null ? "basic authentication"
        : "no credentials";

    /// <summary>Releases the certificates read from the kubeconfig.</summary>
    public void Dispose()
    {
        ClientCertificate?.Dispose();
        foreach (var authority in CertificateAuthorities ?? [])
        {
            authority.Dispose();
        }
    }

    public override string ToString() =>
        $"KubeconfigTarget {{ Server = {ProbeUrls.Display(Server)}, Context = {ContextName}, Cluster = {ClusterName}, " +
        $"User = {UserName}, Authentication = {AuthenticationKind}, InsecureSkipTlsVerify = {InsecureSkipTlsVerify}, " +
        $"Proxy = {(Proxy is null ? "none" : ProbeUrls.Display(Proxy))} }}";
}
