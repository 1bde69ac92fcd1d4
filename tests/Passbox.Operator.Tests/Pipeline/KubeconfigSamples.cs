using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Passbox.Operator.Tests.Pipeline;

/// <summary>Kubeconfigs for the tests; every secret in them is <see cref="Secret"/>.</summary>
internal static class KubeconfigSamples
{
    public const string Secret = "s3cr3t-T0ken-do-not-print";

    public const string Valid = $"""
        apiVersion: v1
        kind: Config
        current-context: ci
        clusters:
        - name: prod
          cluster:
            server: https://127.0.0.1:6443
        - name: staging
          cluster:
            server: https://127.0.0.1:7443
        contexts:
        - name: ci
          context:
            cluster: prod
            user: deployer
        - name: other
          context:
            cluster: staging
            user: root
        users:
        - name: deployer
          user:
            token: {Secret}
        - name: root
          user:
            username: root
            password: {Secret}
        """;

    public static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>A self-signed certificate with its key, as PEM.</summary>
    public static (string CertificatePem, string KeyPem) SelfSigned(string subject = "CN=test")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }
}
