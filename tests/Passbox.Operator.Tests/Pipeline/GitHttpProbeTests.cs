using System.Text;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using static Passbox.Operator.Tests.Pipeline.ProbeTestSupport;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class GitHttpProbeTests
{
    private const string Advertisement =
        "001e# service=git-upload-pack\n0000" +
        "0155a1b2c3d4e5f6a7b8c9d0a1b2c3d4e5f6a7b8c9d0 HEAD\0multi_ack thin-pack side-band agent=git/2.47.3 object-format=sha1\n0000";

    private readonly GitHttpProbe probe = new();

    [Fact]
    public async Task Advertisement_with_the_right_credentials_is_validated_with_the_git_agent()
    {
        await using var server = new CannedHttpServer(r =>
            r.Authorization == Basic("ci-bot", Password) && r.Target == "/org/app.git/info/refs?service=git-upload-pack"
                ? new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = GitHttpProbe.AdvertisementContentType }, Advertisement)
                : new CannedResponse(401));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/app.git"), CancellationToken.None);

        outcome.Should().BeEquivalentTo(new { Succeeded = true, Reason = ValidationReasons.Validated, ServerVersion = "git/2.47.3" });
        outcome.Message.Should().Contain("user ci-bot can read").And.NotContain("anyone").And.NotContain(Password);
    }

    [Fact]
    public async Task A_repository_anyone_can_read_is_validated_with_a_note_that_the_credentials_were_not_checked()
    {
        // A server that ignores the credentials of a public repository: a wrong token would pass too.
        await using var server = new CannedHttpServer(_ =>
            new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = GitHttpProbe.AdvertisementContentType }, Advertisement));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/public.git"), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue();
        outcome.Message.Should().Contain("but so can anyone: the credentials could not be checked").And.NotContain(Password);
        server.Requests.Select(r => r.Authorization).Should().Equal([Basic("ci-bot", Password), null], "the anonymous request comes after the login");
    }

    [Theory]
    [InlineData(401, "AuthenticationFailed", "refused the login of user ci-bot")]
    [InlineData(403, "PermissionDenied", "may not read")]
    [InlineData(404, "PermissionDenied", "not found, or user ci-bot may not see it")]
    [InlineData(500, "Unreachable", "HTTP 500")]
    public async Task Status_codes_map_to_reasons(int status, string reason, string message)
    {
        await using var server = new CannedHttpServer(_ => new CannedResponse(status));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/app.git"), CancellationToken.None);

        outcome.Reason.Should().Be(reason);
        outcome.Message.Should().Contain(message).And.NotContain(Password);
    }

    /// <summary>
    /// A token stored with kubectl create secret --from-file keeps the file's last line break and is sent with it: the
    /// server refuses it, and a bare "refused" sends the user looking for a revoked token. The refusal says so, without
    /// the token.
    /// </summary>
    [Fact]
    public async Task A_refused_token_that_ends_with_a_line_break_says_so_naming_where_it_is_stored()
    {
        await using var server = new CannedHttpServer(_ => new CannedResponse(401));
        var request = Request($"{server.BaseUrl}/org/app.git", username: null, secret: Password + "\n") with { SecretSource = "key \"token\" of Secret \"gh\"" };

        var outcome = await probe.ProbeAsync(request, CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("the token in key \"token\" of Secret \"gh\" ends with a line break").And.NotContain(Password);
    }

    [Fact]
    public async Task Bare_token_is_sent_as_password_of_the_conventional_user()
    {
        await using var server = new CannedHttpServer(_ => new CannedResponse(401));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/app.git", username: null), CancellationToken.None);

        server.Requests.Should().ContainSingle().Which.Authorization.Should().Be(Basic(BasicCredentials.BareTokenUsername, Password));
        outcome.Message.Should().Contain("the token").And.NotContain(Password);
    }

    [Fact]
    public async Task Answer_that_is_not_a_git_advertisement_is_unsupported()
    {
        await using var server = new CannedHttpServer(_ =>
            new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = "text/html" }, "<html>login</html>"));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/app"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Contain("text/html");
    }

    [Fact]
    public async Task Redirect_on_the_same_server_is_followed_with_credentials()
    {
        await using var server = new CannedHttpServer(r => r.Authorization is null ? new CannedResponse(401)
            : r.Target.StartsWith("/org/app/", StringComparison.Ordinal)
            ? CannedResponse.With(301, ("Location", "/org/app.git/info/refs?service=git-upload-pack"))
            : new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = GitHttpProbe.AdvertisementContentType }, Advertisement));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/app"), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue();
        server.Requests.Where(r => r.Authorization is not null).Should().HaveCount(2).And.OnlyContain(r => r.Authorization == Basic("ci-bot", Password));
        outcome.Message.Should().NotContain("anyone");
    }

    [Fact]
    public async Task Redirect_to_another_host_is_not_followed()
    {
        await using var other = new CannedHttpServer(_ => new CannedResponse(200));
        await using var server = new CannedHttpServer(_ =>
            CannedResponse.With(302, ("Location", $"http://localhost:{other.Port}/steal")));

        var outcome = await probe.ProbeAsync(Request($"{server.BaseUrl}/org/app.git"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Contain("another server");
        other.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Refused_connection_is_unreachable()
    {
        var port = ClosedPort();

        var outcome = await probe.ProbeAsync(Request($"http://127.0.0.1:{port}/org/app.git"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Be($"cannot reach 127.0.0.1:{port}: connection refused");
    }

    [Fact]
    public async Task Silent_server_times_out()
    {
        using var silent = new SilentServer();

        var outcome = await probe.ProbeAsync(Request($"http://127.0.0.1:{silent.Port}/org/app.git", timeoutSeconds: 0.5), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Timeout);
        outcome.Message.Should().Contain("within 500ms");
    }

    [Fact]
    public async Task Caller_cancellation_is_not_an_outcome()
    {
        using var silent = new SilentServer();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var act = () => probe.ProbeAsync(Request($"http://127.0.0.1:{silent.Port}/org/app.git"), cts.Token);

        await act.Should().ThrowAsync<OperationCanceledException>();
    }

    /// <summary>
    /// A git server with a certificate from an in-house CA: only the system's CAs were trusted, so it could never be
    /// checked. The CA from spec.tls.caSecretRef is trusted in their place.
    /// </summary>
    [Fact]
    public async Task A_git_server_signed_by_a_private_CA_is_trusted_with_that_CA_and_refused_with_another()
    {
        using var pki = new TestCertificates("in-house git CA");
        using var other = new TestCertificates("someone else's CA");
        await using var server = new CannedHttpServer(
            _ => new CannedResponse(200, new Dictionary<string, string> { ["Content-Type"] = GitHttpProbe.AdvertisementContentType }, Advertisement),
            pki.Server("127.0.0.1"));
        var request = Request($"{server.BaseUrl}/org/app.git");
        const string Source = "key \"ca.crt\" of Secret \"corp-ca\"";

        var trusted = await probe.ProbeAsync(request with { CaCertificates = pki.AuthorityPem, CaSource = Source }, CancellationToken.None);
        var untrusted = await probe.ProbeAsync(request with { CaCertificates = other.AuthorityPem, CaSource = Source }, CancellationToken.None);

        trusted.Succeeded.Should().BeTrue(trusted.Message);
        untrusted.Reason.Should().Be(ValidationReasons.TLSFailed);
        untrusted.Message.Should().Be($"TLS with 127.0.0.1:{server.Port} failed: the server certificate is not signed by the CA in {Source}");
    }

    [Fact]
    public async Task A_CA_Secret_that_holds_no_PEM_certificate_is_a_tls_failure_naming_it_without_its_content()
    {
        await using var server = new CannedHttpServer(_ => new CannedResponse(200));

        var outcome = await probe.ProbeAsync(
            Request($"{server.BaseUrl}/org/app.git") with { CaCertificates = "not-a-certificate-4711", CaSource = "key \"ca.crt\" of Secret \"corp-ca\"" },
            CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Be("cannot check the server certificate: the CA certificate in key \"ca.crt\" of Secret \"corp-ca\" holds no certificate " +
            "(expected -----BEGIN CERTIFICATE-----); store the CA as PEM there (spec.tls.caSecretRef)");
        server.Requests.Should().BeEmpty("nothing is sent before the server can be checked");
    }

    [Fact]
    public async Task Https_to_a_plain_http_server_is_a_tls_failure()
    {
        await using var server = new CannedHttpServer(_ => new CannedResponse(200));

        var outcome = await probe.ProbeAsync(Request($"https://127.0.0.1:{server.Port}/org/app.git"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Be(
            $"TLS with 127.0.0.1:{server.Port} failed: it answers plain HTTP, not HTTPS; for a git server without TLS, write spec.server as " +
            $"http://127.0.0.1:{server.Port}/org/app.git (credentials go over plain HTTP only to a server written http://)");
        server.Requests.Should().OnlyContain(r => r.Authorization == null, "credentials go over plain HTTP only to a server written http://");
    }

    [Theory]
    [InlineData(null, "no git repository URL given")]
    [InlineData("git@github.com:org/app.git", "not an http(s) URL")]
    [InlineData("https://bot:tok@github.com/org/app.git", "user info")]
    public async Task Unusable_repository_urls_are_refused_before_any_request(string? url, string message)
    {
        var outcome = await probe.ProbeAsync(Request(url!), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Contain(message).And.NotContain("tok");
    }

    [Fact]
    public void Agent_is_read_from_the_first_ref_line_only()
    {
        GitHttpProbe.FindAgent(Encoding.ASCII.GetBytes(Advertisement)).Should().Be("git/2.47.3");
        GitHttpProbe.FindAgent(Encoding.ASCII.GetBytes("001e# service=git-upload-pack\n0000")).Should().BeNull();
    }
}
