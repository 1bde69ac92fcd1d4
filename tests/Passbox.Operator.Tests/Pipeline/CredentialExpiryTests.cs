using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class CredentialExpiryTests
{
    [Theory]
    [InlineData("""{"exp":1893456000}""", "2030-01-01T00:00:00Z")]
    [InlineData("""{"sub":"a","exp":1700000000,"iat":1690000000}""", "2023-11-14T22:13:20Z")]
    public void The_exp_claim_of_a_JWT_is_when_it_expires(string claims, string expected) =>
        CredentialExpiry.Format(CredentialExpiry.TokenExpiry(Jwt(claims))!.Value).Should().Be(expected);

    [Theory]
    [InlineData("glpat-0123456789abcdef")]
    [InlineData("a.b")]
    [InlineData("a.!!!.c")]
    [InlineData("a..c")]
    public void A_token_that_is_not_a_JWT_has_none(string token) => CredentialExpiry.TokenExpiry(token).Should().BeNull();

    [Theory]
    [InlineData("""{"sub":"legacy-service-account-token"}""")]
    [InlineData("""{"exp":"tomorrow"}""")]
    [InlineData("""{"exp":-5}""")]
    [InlineData("""[1,2]""")]
    [InlineData("""not json""")]
    public void A_JWT_without_a_usable_exp_has_none(string claims) => CredentialExpiry.TokenExpiry(Jwt(claims)).Should().BeNull();

    [Fact]
    public void The_earlier_of_token_and_client_certificate_is_the_one_reported()
    {
        using var certificate = Certificate(notAfter: new DateTimeOffset(2029, 6, 1, 0, 0, 0, TimeSpan.Zero));
        var target = Target(Jwt("""{"exp":1893456000}"""), certificate);

        var expiry = CredentialExpiry.Of(target)!.Value;

        expiry.What.Should().Be("client certificate");
        CredentialExpiry.Format(expiry.At).Should().Be("2029-06-01T00:00:00Z");
        CredentialExpiry.Of(Target(Jwt("""{"exp":1893456000}"""), null))!.Value.What.Should().Be("bearer token");
        CredentialExpiry.Of(Target("not-a-jwt", null)).Should().BeNull();
    }

    private static KubeconfigTarget Target(string token, X509Certificate2? certificate) => new()
    {
        Server = new Uri("https://127.0.0.1:6443"),
        ContextName = "ci",
        ClusterName = "prod",
        UserName = "deployer",
        BearerToken = token,
        ClientCertificate = certificate,
    };

    private static X509Certificate2 Certificate(DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return new CertificateRequest("CN=deployer", key, HashAlgorithmName.SHA256).CreateSelfSigned(notAfter.AddYears(-1), notAfter);
    }

    private static string Jwt(string claims) =>
        $"{Base64Url("{\"alg\":\"none\"}")}.{Base64Url(claims)}.";

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
}
