using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Passbox.Operator.Connectors;

/// <summary>
/// Server certificate checks shared by the connectors, so every engine means the same thing by a
/// <see cref="TlsMode"/>: Preferred and Required encrypt without checking, VerifyCA checks the chain
/// (against the given CA or the system store), VerifyFull also checks the host name.
/// </summary>
internal sealed class CertificateValidation : IDisposable
{
    private readonly TlsMode _mode;
    private readonly X509Certificate2Collection? _trustedRoots;

    private CertificateValidation(TlsMode mode, X509Certificate2Collection? trustedRoots)
    {
        _mode = mode;
        _trustedRoots = trustedRoots;
    }

    /// <summary>
    /// Reads the CA from <paramref name="tls"/>. Returns null and an error message when the PEM
    /// holds no usable certificate.
    /// </summary>
    public static CertificateValidation? Create(TlsSettings tls, out string? error)
    {
        ArgumentNullException.ThrowIfNull(tls);
        error = null;
        if (!tls.VerifiesCertificate || string.IsNullOrWhiteSpace(tls.CaCertificatePem))
        {
            return new CertificateValidation(tls.Mode, null);
        }

        var roots = new X509Certificate2Collection();
        try
        {
            roots.ImportFromPem(tls.CaCertificatePem);
        }
        catch (CryptographicException ex)
        {
            error = $"the CA certificate is not valid PEM ({ex.Message})";
        }

        if (error is null && roots.Count == 0)
        {
            error = "the CA certificate PEM holds no certificate (expected -----BEGIN CERTIFICATE-----)";
        }

        if (error is not null)
        {
            foreach (var root in roots)
            {
                root.Dispose();
            }

            return null;
        }

        return new CertificateValidation(tls.Mode, roots);
    }

    /// <summary>Why the last check failed, for the outcome message.</summary>
    public string? LastFailure { get; private set; }

    public bool Validate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_mode is TlsMode.Disabled or TlsMode.Preferred or TlsMode.Required)
        {
            return true;
        }

        if (certificate is null)
        {
            LastFailure = "the server sent no certificate";
            return false;
        }

        if (_mode == TlsMode.VerifyFull && errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            LastFailure = "the server certificate does not name the host (VerifyFull); use the name in the certificate or mode VerifyCA";
            return false;
        }

        if (_trustedRoots is null)
        {
            if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors) || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
            {
                LastFailure = "the server certificate is not trusted by the system CA store; give the CA certificate (caSecretRef)";
                return false;
            }

            return true;
        }

        using var customChain = new X509Chain();
        customChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        customChain.ChainPolicy.CustomTrustStore.AddRange(_trustedRoots);
        customChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            // The intermediates the server sent (the TLS stack keeps them in the presented chain's extra store, and
            // in its elements as far as it could build) are candidates for the path only; trust comes from the given
            // CA alone, so none of them is added to the trust store.
            customChain.ChainPolicy.ExtraStore.AddRange(chain.ChainPolicy.ExtraStore);
            foreach (var element in chain.ChainElements)
            {
                customChain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        if (!customChain.Build(leaf))
        {
            var status = string.Join(", ", customChain.ChainStatus.Select(s => s.Status.ToString()).Distinct());
            LastFailure = $"the server certificate is not issued by the given CA ({status})";
            return false;
        }

        return true;
    }

    public void Dispose()
    {
        if (_trustedRoots is null)
        {
            return;
        }

        foreach (var root in _trustedRoots)
        {
            root.Dispose();
        }
    }
}
