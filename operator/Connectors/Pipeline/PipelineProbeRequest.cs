namespace Passbox.Operator.Connectors.Pipeline;

/// <summary>
/// What a probe needs. <see cref="Secret"/> is a password or token text, <see cref="Kubeconfig"/>
/// the kubeconfig YAML; neither ever appears in <see cref="ToString"/>.
/// </summary>
/// <param name="Server">Git repository URL, registry (<c>https://host</c>, <c>host:port</c>) or API server URL.</param>
/// <param name="Username">User name; empty with a token in <see cref="Secret"/> means a bare token.</param>
/// <param name="Secret">Password or token text.</param>
/// <param name="Kubeconfig">Kubeconfig YAML (KubernetesAPI only).</param>
/// <param name="Context">Kubeconfig context; the kubeconfig's current-context when empty.</param>
/// <param name="Timeout">Limit for the whole check, all round trips included.</param>
/// <param name="SecretSource">Where <see cref="Secret"/> was read, for messages (e.g. <c>key "token" of Secret "ci"</c>); never the value.</param>
/// <param name="CaCertificates">
/// PEM CA certificate(s) that a git server's or registry's certificate must chain to, instead of the system's; null for the
/// system's. Not for KubernetesAPI, whose kubeconfig names its CA.
/// </param>
/// <param name="CaSource">Where <see cref="CaCertificates"/> was read, for messages (e.g. <c>key "ca.crt" of Secret "corp-ca"</c>).</param>
public sealed record PipelineProbeRequest(
    string? Server,
    string? Username,
    string? Secret,
    string? Kubeconfig,
    string? Context,
    TimeSpan Timeout,
    string? SecretSource = null,
    string? CaCertificates = null,
    string? CaSource = null)
{
    /// <summary>The default limit for a check when the credential sets none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    public override string ToString() =>
        $"PipelineProbeRequest {{ Server = {Server}, Username = {Username}, " +
        $"Secret = {Redact(Secret)}, Kubeconfig = {Redact(Kubeconfig)}, Context = {Context}, Timeout = {Timeout}, " +
        $"CaCertificates = {(CaCertificates is null ? "(system)" : CaSource ?? "(given)")} }}";

    private static string Redact(string? value) => value is null ? "(none)" : "(redacted)";
}
