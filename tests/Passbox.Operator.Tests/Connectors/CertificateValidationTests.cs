using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Passbox.Operator.Connectors;
using Passbox.Operator.Tests.Pipeline;

namespace Passbox.Operator.Tests.Connectors;

/// <summary>
/// A server whose certificate comes from an intermediate CA sends the intermediate with it; with a custom CA (the
/// root, from caSecretRef) the check must use what the server sent to find the path, and trust the root alone.
/// </summary>
public sealed class CertificateValidationTests : IDisposable
{
    private readonly TestCertificates _root = new("passbox test root");
    private readonly TestCertificates _intermediate;
    private readonly X509Certificate2 _leaf;

    public CertificateValidationTests()
    {
        _intermediate = new TestCertificates(_root, "passbox test intermediate");
        _leaf = _intermediate.Server("db.example.internal");
    }

    public void Dispose()
    {
        _leaf.Dispose();
        _intermediate.Dispose();
        _root.Dispose();
    }

    /// <summary>
    /// The chain the TLS stack hands to the callback: the certificates the server sent are in its extra store, and it
    /// was built as far as the system store allows (the private root is not trusted, so with chain errors).
    /// </summary>
    private X509Chain PresentedChain(bool built)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ExtraStore.Add(_intermediate.Authority);
        if (built)
        {
            chain.Build(_leaf);
        }

        return chain;
    }

    private static CertificateValidation Validation(TlsMode mode, string caPem)
    {
        var validation = CertificateValidation.Create(new TlsSettings(mode, caPem), out var error);
        error.Should().BeNull();
        return validation!;
    }

    [Theory]
    [InlineData(TlsMode.VerifyCA, true)]
    [InlineData(TlsMode.VerifyCA, false)]
    [InlineData(TlsMode.VerifyFull, true)]
    public void A_leaf_from_an_intermediate_is_trusted_under_the_root_when_the_server_sends_the_intermediate(TlsMode mode, bool built)
    {
        using var validation = Validation(mode, _root.AuthorityPem);
        using var chain = PresentedChain(built);

        var trusted = validation.Validate(_leaf, chain, SslPolicyErrors.RemoteCertificateChainErrors);

        trusted.Should().BeTrue(validation.LastFailure);
        validation.LastFailure.Should().BeNull();
    }

    [Fact]
    public void The_intermediate_the_server_sends_is_not_trusted_by_itself()
    {
        using var other = new TestCertificates("another CA");
        using var validation = Validation(TlsMode.VerifyCA, other.AuthorityPem);
        using var chain = PresentedChain(built: true);

        var trusted = validation.Validate(_leaf, chain, SslPolicyErrors.RemoteCertificateChainErrors);

        trusted.Should().BeFalse();
        validation.LastFailure.Should().Contain("not issued by the given CA");
    }

    [Fact]
    public void Without_the_intermediate_the_path_to_the_root_cannot_be_found()
    {
        using var validation = Validation(TlsMode.VerifyCA, _root.AuthorityPem);

        var trusted = validation.Validate(_leaf, chain: null, SslPolicyErrors.RemoteCertificateChainErrors);

        trusted.Should().BeFalse();
        validation.LastFailure.Should().Contain("not issued by the given CA").And.Contain("PartialChain");
    }
}
