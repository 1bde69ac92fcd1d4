using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using static Passbox.Operator.Tests.Pipeline.KubeconfigSamples;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class KubernetesApiProbeTlsTests : IDisposable
{
    private const string ApiVersionsJson = "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"]}";
    private readonly TestCertificates pki = new();
    private readonly KubernetesApiProbe probe = new();

    [Fact]
    public async Task Server_signed_by_the_kubeconfig_ca_is_trusted()
    {
        await using var server = Https(pki.Server("127.0.0.1"));

        var outcome = await Probe(server, $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n");

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Be("v1.34.1");
    }

    [Fact]
    public async Task Server_signed_by_another_ca_is_a_tls_failure_that_says_so()
    {
        using var other = new TestCertificates("someone else's CA");
        await using var server = Https(other.Server("127.0.0.1"));

        var outcome = await Probe(server, $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n");

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("not signed by the certificate-authority-data of cluster \"prod\"");
    }

    [Fact]
    public async Task Certificate_for_another_host_is_a_tls_failure_naming_the_host()
    {
        await using var server = Https(pki.Server("api.example.com"));

        var outcome = await Probe(server, $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n");

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("not valid for host 127.0.0.1");
    }

    [Fact]
    public async Task Tls_server_name_is_what_the_certificate_is_checked_against()
    {
        await using var server = Https(pki.Server("api.example.com"));

        var outcome = await Probe(server, $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n    tls-server-name: api.example.com\n");

        outcome.Succeeded.Should().BeTrue(outcome.Message);
    }

    /// <summary>
    /// kubectl sends tls-server-name as the TLS server name (SNI); a server with several names (or an SNI router in front of
    /// it) answers with the certificate for that name only. The probe sent no server name for the address 127.0.0.1, met
    /// the default certificate, and refused a kubeconfig that works with kubectl.
    /// </summary>
    [Fact]
    public async Task Tls_server_name_is_sent_as_the_server_name_and_the_certificate_for_it_is_accepted()
    {
        using var fallback = pki.Server("default.invalid");
        using var named = pki.Server("api.example.com");
        await using var server = new CannedHttpServer(
            r => r.Authorization != "Bearer " + Secret
                ? new CannedResponse(401)
                : r.Target == "/api" ? new CannedResponse(200, null, ApiVersionsJson) : new CannedResponse(200, null, "{\"gitVersion\":\"v1.34.1\"}"),
            fallback,
            new Dictionary<string, System.Security.Cryptography.X509Certificates.X509Certificate2> { ["api.example.com"] = named });

        var outcome = await Probe(server, $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n    tls-server-name: api.example.com\n");

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        server.ServerNames.Should().NotBeEmpty().And.OnlyContain(name => name == "api.example.com");
        server.Requests.Should().OnlyContain(r => r.Headers["Host"] == $"api.example.com:{server.Port}");
    }

    [Theory]
    [InlineData("https://api.example.com")]
    [InlineData("api.example.com:6443")]
    [InlineData("api example")]
    public async Task A_tls_server_name_that_is_no_host_name_is_an_invalid_kubeconfig(string serverName)
    {
        await using var server = Https(pki.Server("api.example.com"));

        var outcome = await Probe(server, $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n    tls-server-name: \"{serverName}\"\n");

        outcome.Reason.Should().Be(ValidationReasons.InvalidKubeconfig);
        outcome.Message.Should().StartWith("tls-server-name of cluster \"prod\" is not a host name");
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Without_ca_data_the_system_trust_is_used()
    {
        await using var server = Https(pki.Server("127.0.0.1"));

        var outcome = await Probe(server, string.Empty);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Be($"TLS with 127.0.0.1:{server.Port} failed: the server certificate is not signed by the system's certificate " +
            "authorities (give the cluster's CA as certificate-authority-data of cluster \"prod\" in the kubeconfig)",
            "a kubeconfig without its cluster's CA is the usual cause, and the message says what to add");
    }

    [Fact]
    public async Task Insecure_skip_tls_verify_is_honoured_only_when_set_and_said_in_the_message()
    {
        using var other = new TestCertificates("someone else's CA");
        await using var server = Https(other.Server("api.example.com"));

        var outcome = await Probe(server, "    insecure-skip-tls-verify: true\n");

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().Contain("NOT verified");
    }

    [Fact]
    public async Task Client_certificate_is_presented()
    {
        await using var server = new CannedHttpServer(
            r => r.Target == "/api" ? new CannedResponse(200, null, ApiVersionsJson) : new CannedResponse(200, null, "{\"gitVersion\":\"v1.34.1\"}"),
            pki.Server("127.0.0.1"));
        var (certificate, key) = pki.Client("CN=deployer, O=ci");
        var yaml = Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace("    server: ", $"    certificate-authority-data: {Base64(pki.AuthorityPem)}\n    server: ", StringComparison.Ordinal)
            .Replace($"    token: {Secret}\n", $"    client-certificate-data: {Base64(certificate)}\n    client-key-data: {Base64(key)}\n", StringComparison.Ordinal);

        var outcome = await probe.ProbeAsync(new PipelineProbeRequest(null, null, null, yaml, null, TimeSpan.FromSeconds(5)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().Contain("(client certificate)");
        server.ClientCertificates.Should().NotBeEmpty().And.OnlyContain(s => s.Contains("CN=deployer", StringComparison.Ordinal));
    }

    public void Dispose() => pki.Dispose();

    private static CannedHttpServer Https(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate) =>
        new(r => r.Authorization != "Bearer " + Secret
            ? new CannedResponse(401)
            : r.Target == "/api" ? new CannedResponse(200, null, ApiVersionsJson) : new CannedResponse(200, null, "{\"gitVersion\":\"v1.34.1\"}"),
            certificate);

    private Task<ValidationOutcome> Probe(CannedHttpServer server, string clusterLines)
    {
        var yaml = Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"    server: {server.BaseUrl}\n", $"    server: {server.BaseUrl}\n{clusterLines}", StringComparison.Ordinal);
        return probe.ProbeAsync(new PipelineProbeRequest(null, null, null, yaml, null, TimeSpan.FromSeconds(5)), CancellationToken.None);
    }
}
