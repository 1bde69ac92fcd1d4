using System.Text;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using static Passbox.Operator.Tests.Pipeline.ProbeTestSupport;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class ContainerRegistryProbeTests
{
    private const string IssuedToken = "issued-bearer-token-never-printed";
    private readonly ContainerRegistryProbe probe = new();

    [Fact]
    public async Task Basic_challenge_is_answered_with_basic_auth()
    {
        await using var server = new CannedHttpServer(r => r.Authorization == Basic("ci-bot", Password)
            ? CannedResponse.With(200, ("Docker-Distribution-API-Version", "registry/2.0"))
            : CannedResponse.With(401, ("WWW-Authenticate", "Basic realm=\"Registry\"")));

        var outcome = await probe.ProbeAsync(Request(server.BaseUrl), CancellationToken.None);

        outcome.Should().BeEquivalentTo(new { Succeeded = true, Reason = ValidationReasons.Validated, ServerVersion = "registry/2.0" });
        outcome.Message.Should().Be($"user ci-bot logged in to registry 127.0.0.1:{server.Port}");
        server.Requests.Select(r => r.Target).Should().Equal("/v2/", "/v2/");
        server.Requests.First().Authorization.Should().BeNull("the first request finds out how the registry wants to be asked");
    }

    [Fact]
    public async Task Wrong_password_on_basic_challenge_fails_authentication()
    {
        await using var server = new CannedHttpServer(_ => CannedResponse.With(401, ("WWW-Authenticate", "Basic realm=\"Registry\"")));

        var outcome = await probe.ProbeAsync(Request(server.BaseUrl), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("refused the login of user ci-bot").And.NotContain(Password);
    }

    [Fact]
    public async Task A_refused_password_with_surrounding_white_space_says_so_at_a_basic_registry_and_at_a_token_service()
    {
        await using var tokens = new CannedHttpServer(_ => new CannedResponse(401));
        await using var bearer = new CannedHttpServer(_ =>
            CannedResponse.With(401, ("WWW-Authenticate", $"Bearer realm=\"http://127.0.0.1:{tokens.Port}/token\",service=\"reg\"")));
        await using var basic = new CannedHttpServer(_ => CannedResponse.With(401, ("WWW-Authenticate", "Basic realm=\"Registry\"")));

        foreach (var registry in new[] { basic, bearer })
        {
            var outcome = await probe.ProbeAsync(Request(registry.BaseUrl, secret: " " + Password) with { SecretSource = "key \"password\" of Secret \"reg\"" }, CancellationToken.None);

            outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
            outcome.Message.Should().Contain("the password in key \"password\" of Secret \"reg\" starts or ends with white space").And.NotContain(Password);
        }
    }

    [Fact]
    public async Task Bearer_challenge_fetches_a_token_from_the_realm_and_retries()
    {
        await using var tokens = new CannedHttpServer(r => r.Authorization == Basic("ci-bot", Password)
            ? new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, $"{{\"access_token\":\"{IssuedToken}\"}}")
            : new CannedResponse(401));
        var challenge = $"Bearer realm=\"http://127.0.0.1:{tokens.Port}/token\",service=\"test registry\",scope=\"registry:catalog:*\"";
        await using var registry = new CannedHttpServer(r => r switch
        {
            { Target: "/v2/", Authorization: "Bearer " + IssuedToken } => CannedResponse.With(200, ("Docker-Distribution-API-Version", "registry/2.0")),
            { Target: "/v2/" } => CannedResponse.With(401, ("WWW-Authenticate", challenge)),
            _ => new CannedResponse(404),
        });

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Be("registry/2.0");
        tokens.Requests.Should().ContainSingle().Which.Target.Should().Be("/token?service=test%20registry&scope=registry%3Acatalog%3A%2A");
        outcome.Message.Should().NotContain(IssuedToken).And.NotContain(Password);
    }

    [Fact]
    public async Task Bad_credentials_at_the_token_service_fail_authentication()
    {
        await using var tokens = new CannedHttpServer(_ => new CannedResponse(401));
        await using var registry = new CannedHttpServer(_ =>
            CannedResponse.With(401, ("WWW-Authenticate", $"Bearer realm=\"http://127.0.0.1:{tokens.Port}/token\",service=\"reg\"")));

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain($"token service http://127.0.0.1:{tokens.Port}/token").And.NotContain(Password);
    }

    [Fact]
    public async Task Token_refused_by_the_registry_fails_authentication()
    {
        await using var tokens = new CannedHttpServer(_ => new CannedResponse(200, null, $"{{\"token\":\"{IssuedToken}\"}}"));
        await using var registry = new CannedHttpServer(_ =>
            CannedResponse.With(401, ("WWW-Authenticate", $"Bearer realm=\"http://127.0.0.1:{tokens.Port}/token\"")));

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        registry.Requests.Last().Authorization.Should().Be("Bearer " + IssuedToken);
    }

    [Fact]
    public async Task Open_registry_that_ignores_a_login_is_validated_saying_the_credentials_were_not_checked_and_what_to_do()
    {
        await using var registry = new CannedHttpServer(_ => CannedResponse.With(200, ("Docker-Distribution-API-Version", "registry/2.0")));

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue();
        outcome.ServerVersion.Should().Be("registry/2.0");
        outcome.Message.Should().Be($"registry 127.0.0.1:{registry.Port} lets anyone in at /v2/ and ignored the login of user ci-bot, so the " +
            "credentials could not be checked (docker, kaniko and crane send none to it either); turn on the registry's authentication " +
            "to have them checked, or set spec.validation.probe to None to publish them without this check");
        registry.Requests.Select(r => r.Authorization).Should().Equal(null, Basic("ci-bot", Password));
    }

    /// <summary>
    /// A registry that lets anyone read and checks a login when one comes (Nexus or Artifactory with anonymous access, nginx
    /// with auth_basic for presented logins): a wrong password was Validated because /v2/ answered 200 without asking, and
    /// the first push failed.
    /// </summary>
    [Fact]
    public async Task Open_registry_that_checks_a_presented_login_refuses_a_wrong_password()
    {
        await using var registry = new CannedHttpServer(r => r.Authorization is null || r.Authorization == Basic("ci-bot", "the-right-one")
            ? new CannedResponse(200)
            : CannedResponse.With(401, ("WWW-Authenticate", "Basic realm=\"Registry\"")));

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Be($"registry 127.0.0.1:{registry.Port} lets anyone in at /v2/ but refused the login of user ci-bot when it was presented (HTTP 401)")
            .And.NotContain(Password);
    }

    [Fact]
    public async Task Open_registry_that_answers_a_presented_login_with_a_bearer_challenge_gets_it_through_the_token_service()
    {
        await using var tokens = new CannedHttpServer(r => r.Authorization == Basic("ci-bot", Password)
            ? new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, $"{{\"token\":\"{IssuedToken}\"}}")
            : new CannedResponse(401));
        await using var registry = new CannedHttpServer(r => r.Authorization switch
        {
            null or "Bearer " + IssuedToken => new CannedResponse(200),
            _ => CannedResponse.With(401, ("WWW-Authenticate", $"Bearer realm=\"http://127.0.0.1:{tokens.Port}/token\",service=\"reg\"")),
        });

        var good = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);
        var bad = await probe.ProbeAsync(Request(registry.BaseUrl, secret: "wrong"), CancellationToken.None);

        good.Succeeded.Should().BeTrue(good.Message);
        good.Message.Should().Be($"user ci-bot logged in to registry 127.0.0.1:{registry.Port}");
        bad.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        bad.Message.Should().Contain("refused the login of user ci-bot").And.NotContain(IssuedToken);
    }

    [Fact]
    public async Task Unknown_scheme_is_unsupported()
    {
        await using var registry = new CannedHttpServer(_ => CannedResponse.With(401, ("WWW-Authenticate", "Negotiate")));

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Contain("offered: Negotiate");
    }

    [Fact]
    public async Task Server_that_is_not_a_registry_is_reported_with_its_status()
    {
        await using var registry = new CannedHttpServer(_ => new CannedResponse(404));

        var outcome = await probe.ProbeAsync(Request(registry.BaseUrl), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Contain("HTTP 404 for /v2/");
    }

    [Fact]
    public async Task Registry_down_is_unreachable()
    {
        var outcome = await probe.ProbeAsync(Request($"http://127.0.0.1:{ClosedPort()}"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
    }

    /// <summary>
    /// An in-house registry without TLS, written as docker users write it (<c>host:port</c>, which means https): the check
    /// said only "does the server speak HTTPS on this port?", and nothing told the user how to say that it does not.
    /// </summary>
    [Fact]
    public async Task A_registry_written_without_a_scheme_that_serves_plain_http_is_told_to_be_written_http_without_credentials_sent_in_plain()
    {
        await using var server = new CannedHttpServer(_ => CannedResponse.With(401, ("WWW-Authenticate", "Basic realm=\"Registry\"")));

        var outcome = await probe.ProbeAsync(Request($"127.0.0.1:{server.Port}"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Be(
            $"TLS with 127.0.0.1:{server.Port} failed: it answers plain HTTP, not HTTPS; for a registry served without TLS (an insecure " +
            $"registry), write spec.server as http://127.0.0.1:{server.Port} (credentials go over plain HTTP only to a server written http://)");
        server.Requests.Where(r => r.Method == "GET").Should().ContainSingle()
            .Which.Should().Match<CannedRequest>(r => r.Target == "/v2/" && r.Authorization == null, "the plain HTTP question carries no credentials");
    }

    /// <summary>
    /// An HTTPS registry whose handshake fails before its certificate (no certificate for the name asked, a TLS version
    /// the client does not offer) answers the plain HTTP question with the 400 TLS servers give on their port: it speaks
    /// HTTPS. Telling the user to write it http:// would be wrong, and would send the credentials in clear.
    /// </summary>
    [Fact]
    public async Task An_https_registry_whose_handshake_fails_is_not_told_to_be_written_http_for_its_answer_to_plain_http()
    {
        await using var server = new HandshakeRefusingHttpsPort();

        var outcome = await probe.ProbeAsync(Request($"127.0.0.1:{server.Port}"), CancellationToken.None);

        server.PlainRequests.Should().Be(1, "the port was asked over plain HTTP once");
        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().NotContain("http://").And.NotContain("answers plain HTTP");
        outcome.Message.Should().StartWith($"TLS with 127.0.0.1:{server.Port} failed: the TLS handshake failed");
    }

    [Fact]
    public async Task A_registry_whose_certificate_is_refused_is_not_asked_over_plain_http()
    {
        using var pki = new TestCertificates();
        await using var server = new CannedHttpServer(_ => new CannedResponse(200), pki.Server("127.0.0.1"));

        var outcome = await probe.ProbeAsync(Request($"127.0.0.1:{server.Port}"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Be($"TLS with 127.0.0.1:{server.Port} failed: the server certificate is not signed by the system's certificate authorities " +
            "(if an in-house CA signed it, name that CA in spec.tls.caSecretRef)");
    }

    [Fact]
    public async Task A_registry_signed_by_a_private_CA_logs_in_with_that_CA()
    {
        using var pki = new TestCertificates("in-house registry CA");
        await using var server = new CannedHttpServer(
            r => r.Authorization == Basic("ci-bot", Password)
                ? CannedResponse.With(200, ("Docker-Distribution-API-Version", "registry/2.0"))
                : CannedResponse.With(401, ("WWW-Authenticate", "Basic realm=\"Registry\"")),
            pki.Server("127.0.0.1"));

        var outcome = await probe.ProbeAsync(
            Request($"127.0.0.1:{server.Port}") with { CaCertificates = pki.AuthorityPem, CaSource = "key \"ca.crt\" of Secret \"corp-ca\"" },
            CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().Be($"user ci-bot logged in to registry 127.0.0.1:{server.Port}");
    }

    [Fact]
    public void Token_endpoint_carries_service_and_scope_escaped()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Bearer realm=\"https://auth.example.com/token?client=x\",service=\"reg.example.com\",scope=\"repository:a/b:pull\"")[0];

        ContainerRegistryProbe.TryTokenEndpoint(challenge, new Uri("https://reg.example.com/"), out var uri, out _).Should().BeTrue();

        uri.AbsoluteUri.Should().Be("https://auth.example.com/token?client=x&service=reg.example.com&scope=repository%3Aa%2Fb%3Apull");
    }

    [Fact]
    public void Https_registry_may_not_send_credentials_to_a_plain_http_realm()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Bearer realm=\"http://auth.example.com/token\"")[0];

        ContainerRegistryProbe.TryTokenEndpoint(challenge, new Uri("https://reg.example.com/"), out _, out var refusal).Should().BeFalse();

        refusal.Reason.Should().Be(ValidationReasons.Unsupported);
        refusal.Message.Should().Contain("plain http token service");
    }

    [Fact]
    public void Bearer_challenge_without_realm_is_refused()
    {
        var challenge = WwwAuthenticateChallenge.Parse("Bearer service=\"reg\"")[0];

        ContainerRegistryProbe.TryTokenEndpoint(challenge, new Uri("https://reg.example.com/"), out _, out var refusal).Should().BeFalse();

        refusal.Message.Should().Contain("without a usable realm");
    }

    [Theory]
    [InlineData("{\"token\":\"a\",\"access_token\":\"b\"}", "a")]
    [InlineData("{\"access_token\":\"b\"}", "b")]
    [InlineData("{\"token\":\"\"}", null)]
    [InlineData("[]", null)]
    [InlineData("not json", null)]
    public void Token_is_read_from_token_or_access_token(string json, string? expected)
    {
        ContainerRegistryProbe.ReadToken(Encoding.UTF8.GetBytes(json)).Should().Be(expected);
    }
}
