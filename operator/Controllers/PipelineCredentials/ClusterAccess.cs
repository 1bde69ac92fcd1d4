namespace Passbox.Operator.Controllers.PipelineCredentials;

/// <summary>
/// The parts of a kubeconfig context that Argo CD's cluster Secret needs. Holds credentials: never logged.
/// </summary>
public sealed record ClusterAccess(
    string ContextName,
    string Server,
    string? CertificateAuthorityData,
    string? ClientCertificateData,
    string? ClientKeyData,
    string? BearerToken,
    string? Username,
    string? Password,
    bool InsecureSkipTlsVerify,
    string? TlsServerName = null,
    string? ProxyUrl = null)
{
    public override string ToString() => $"context {ContextName} at {Server}";
}
