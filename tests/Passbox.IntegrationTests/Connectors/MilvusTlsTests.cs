using System.Net;
using System.Text.RegularExpressions;
using Passbox.IntegrationTests.Doubles.Milvus;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Milvus;

namespace Passbox.IntegrationTests.Connectors;

public sealed class MilvusTlsTests
{
    private const string User = "tls_user";
    private const string Password = "tls-pa55word";

    private readonly MilvusConnector _connector = new();

    private static async Task<MilvusDouble> StartAsync(params string[] certificateHosts)
    {
        var milvus = await MilvusDouble.StartAsync(tls: true, certificateHosts);
        milvus.State.AddUser(User, Password);
        return milvus;
    }

    private static DatabaseLogin Login(MilvusDouble milvus, TlsSettings tls, string? host = null) => new()
    {
        Host = host ?? milvus.Host,
        Port = milvus.Port,
        LoginName = User,
        Password = Password,
        Tls = tls,
        Timeout = TimeSpan.FromSeconds(5),
    };

    [Fact]
    public async Task VerifyFull_with_the_servers_CA_is_validated()
    {
        await using var milvus = await StartAsync();

        var outcome = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyFull, milvus.CaCertificatePem)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
    }

    [Fact]
    public async Task VerifyCA_ignores_the_host_name_but_VerifyFull_does_not()
    {
        await using var milvus = await StartAsync("milvus.example.internal");
        var ca = milvus.CaCertificatePem;

        var verifyCa = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyCA, ca)), CancellationToken.None);
        var verifyFull = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyFull, ca)), CancellationToken.None);

        verifyCa.Succeeded.Should().BeTrue(verifyCa.Message);
        verifyFull.Reason.Should().Be(ValidationReasons.TLSFailed);
        verifyFull.Message.Should().Contain("does not name the host");
    }

    [Fact]
    public async Task Through_an_egress_proxy_the_login_goes_by_CONNECT_to_the_named_host_and_is_verified_end_to_end()
    {
        // Zilliz Cloud from a cluster whose egress goes through a proxy: the host name resolves only at the proxy.
        const string cloudHost = "in01-example.zillizcloud.invalid";
        await using var milvus = await StartAsync(cloudHost);
        await using var proxy = new ConnectProxy((_, _) => (milvus.Host, milvus.Port));
        var connector = new MilvusConnector(new WebProxy(proxy.Address));

        var outcome = await connector.ValidateAsync(
            Login(milvus, new TlsSettings(TlsMode.VerifyFull, milvus.CaCertificatePem), cloudHost) with { Port = 443 }, CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        proxy.Requested.Should().Contain($"{cloudHost}:443", "the connection is tunnelled, and TLS checks the certificate for that name inside it");
        milvus.State.LoginAttempts(User).Should().BeGreaterThan(0);
    }

    [Fact]
    public async Task A_host_the_proxy_settings_exempt_is_reached_directly()
    {
        // NO_PROXY=<in-cluster Milvus>: the proxy is configured, the login does not go through it.
        await using var milvus = await StartAsync();
        await using var proxy = new ConnectProxy((_, _) => throw new InvalidOperationException("not through the proxy"));
        var connector = new MilvusConnector(new WebProxy(proxy.Address, BypassOnLocal: false, BypassList: [Regex.Escape(milvus.Host)]));

        var outcome = await connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyFull, milvus.CaCertificatePem)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        proxy.Requested.Should().BeEmpty();
    }

    [Fact]
    public async Task A_certificate_from_another_CA_is_TLSFailed()
    {
        await using var milvus = await StartAsync();
        using var other = TestCertificates.Create();

        var outcome = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyCA, other.CaPem)), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain("not issued by the given CA");
        milvus.State.LoginAttempts(User).Should().Be(0, "credentials must not be sent to an untrusted server");
    }

    [Fact]
    public async Task Without_a_CA_the_system_store_does_not_trust_a_private_CA()
    {
        await using var milvus = await StartAsync();

        var outcome = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyFull)), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
    }

    [Fact]
    public async Task Required_encrypts_without_checking_the_certificate()
    {
        await using var milvus = await StartAsync();

        var outcome = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.Required)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().Contain("certificate was not checked (tls.mode Required)", "an impostor would have passed too, and the owner is told");
    }

    [Fact]
    public async Task Preferred_the_default_says_the_certificate_was_not_checked_and_VerifyFull_does_not()
    {
        await using var milvus = await StartAsync();

        var preferred = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.Preferred)), CancellationToken.None);
        var verified = await _connector.ValidateAsync(Login(milvus, new TlsSettings(TlsMode.VerifyFull, milvus.CaCertificatePem)), CancellationToken.None);

        preferred.Succeeded.Should().BeTrue(preferred.Message);
        preferred.Message.Should().Contain("certificate was not checked (tls.mode Preferred)").And.NotContain("unencrypted", "gRPC does not fall back to plaintext");
        verified.Message.Should().NotContain("not checked");
    }

    [Fact]
    public async Task Plaintext_against_a_TLS_server_is_TLSFailed_telling_to_set_the_TLS_mode()
    {
        await using var milvus = await StartAsync();

        var outcome = await _connector.ValidateAsync(Login(milvus, TlsSettings.Disabled), CancellationToken.None);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(ValidationReasons.TLSFailed, outcome.Message);
        outcome.Message.Should().Contain($"{milvus.Host}:{milvus.Port} speaks TLS").And.Contain("tls.mode");
    }
}
