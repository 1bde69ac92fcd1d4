using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Passbox.Operator.Tests.Pipeline;

/// <summary>A throwaway certificate authority for TLS tests.</summary>
internal sealed class TestCertificates : IDisposable
{
    private readonly ECDsa caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public TestCertificates(string name = "passbox test CA")
    {
        var request = new CertificateRequest($"CN={name}", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Authority = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>An intermediate CA named <paramref name="name"/>, issued by <paramref name="issuer"/>.</summary>
    public TestCertificates(TestCertificates issuer, string name)
    {
        ArgumentNullException.ThrowIfNull(issuer);
        var request = new CertificateRequest($"CN={name}", caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        Authority = issuer.Issue(request, caKey);
    }

    public X509Certificate2 Authority { get; }

    public string AuthorityPem => Authority.ExportCertificatePem();

    /// <summary>A server certificate for <paramref name="names"/> (IP addresses or DNS names), with its key.</summary>
    public X509Certificate2 Server(params string[] names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return Issue(request, key);
    }

    /// <summary>A client certificate with its key, as PEM.</summary>
    public (string CertificatePem, string KeyPem) Client(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using var certificate = Issue(request, key);
        return (certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    public void Dispose()
    {
        Authority.Dispose();
        caKey.Dispose();
    }

    private X509Certificate2 Issue(CertificateRequest request, ECDsa key)
    {
        var serial = RandomNumberGenerator.GetBytes(12);
        // Never past the issuer's own end: an intermediate issued a moment earlier ends 12 h from then, stored to the
        // second, and CertificateRequest.Create refuses a certificate that outlives its issuer (a flaky test before).
        var notAfter = DateTimeOffset.UtcNow.AddHours(12);
        if (notAfter > Authority.NotAfter)
        {
            notAfter = new DateTimeOffset(Authority.NotAfter.ToUniversalTime());
        }

        using var issued = request.Create(Authority, DateTimeOffset.UtcNow.AddMinutes(-1), notAfter, serial);
        using var withKey = issued.CopyWithPrivateKey(key);
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }
}
