using System.Text;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using static Passbox.Operator.Tests.Pipeline.KubeconfigSamples;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class KubernetesApiProbeTests
{
    private const string VersionJson = "{\"major\":\"1\",\"minor\":\"34\",\"gitVersion\":\"v1.34.1\",\"platform\":\"linux/amd64\"}";
    private const string ApiVersionsJson = "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"],\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":\"10.0.0.1:6443\"}]}";
    private readonly KubernetesApiProbe probe = new();

    [Fact]
    public async Task Token_accepted_by_the_api_server_is_validated_with_its_version()
    {
        await using var server = ApiServer();

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid.Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)), CancellationToken.None);

        outcome.Should().BeEquivalentTo(new { Succeeded = true, Reason = ValidationReasons.Validated, ServerVersion = "v1.34.1" });
        outcome.Message.Should().Contain("user \"deployer\" of context \"ci\" (bearer token)").And.NotContain(Secret);
        server.Requests.Select(r => r.Target).Should().Equal("/api", "/version");
        server.Requests.Should().OnlyContain(r => r.Authorization == "Bearer " + Secret);
    }

    /// <summary>tls-server-name is a TLS setting: over plain http the Host header stays the server's, as kubectl sends it.</summary>
    [Fact]
    public async Task Over_plain_http_tls_server_name_leaves_the_host_header_alone()
    {
        await using var server = ApiServer();

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"    server: {server.BaseUrl}\n", $"    server: {server.BaseUrl}\n    tls-server-name: api.example.com\n", StringComparison.Ordinal)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        server.Requests.Should().NotBeEmpty().And.OnlyContain(r => r.Headers["Host"] == $"127.0.0.1:{server.Port}");
    }

    /// <summary>A ServiceAccount token from <c>kubectl create token</c> is a JWT whose exp says when the API server stops taking it.</summary>
    [Fact]
    public async Task A_token_that_expires_says_when_in_the_outcome_without_showing_the_token()
    {
        var token = Jwt("""{"iss":"https://kubernetes.default.svc","sub":"system:serviceaccount:ci:deployer","exp":1893456000}""");
        await using var server = ApiServer(token);

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"token: {Secret}", $"token: {token}", StringComparison.Ordinal)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ExpiresAt.Should().Be(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        outcome.Message.Should().EndWith("; its bearer token expires at 2030-01-01T00:00:00Z").And.NotContain(token.Split('.')[1]);
    }

    /// <summary>
    /// The check right after a token's exp (the operator schedules one there) is refused with 401: the message says the
    /// token has expired, instead of leaving the user to find out why a kubeconfig that worked an hour ago is rejected.
    /// </summary>
    [Fact]
    public async Task A_rejected_token_whose_exp_has_passed_says_it_expired_and_when()
    {
        var token = Jwt("""{"sub":"system:serviceaccount:ci:deployer","exp":1700000000}""");
        await using var server = new CannedHttpServer(_ => new CannedResponse(401));

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"token: {Secret}", $"token: {token}", StringComparison.Ordinal)), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().EndWith("(HTTP 401); its bearer token expired at 2023-11-14T22:13:20Z: give the kubeconfig a new one")
            .And.NotContain(token.Split('.')[1]);
    }

    [Fact]
    public async Task A_token_that_is_not_a_JWT_has_no_expiry()
    {
        await using var server = ApiServer();

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid.Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)), CancellationToken.None);

        outcome.ExpiresAt.Should().BeNull();
        outcome.Message.Should().NotContain("expires");
    }

    private static string Jwt(string claims) =>
        $"{Base64Url("{\"alg\":\"RS256\"}")}.{Base64Url(claims)}.c2lnbmF0dXJl";

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));

    [Theory]
    [InlineData(401, "AuthenticationFailed")]
    [InlineData(403, "PermissionDenied")]
    [InlineData(404, "Unreachable")]
    public async Task Api_answers_map_to_reasons(int status, string reason)
    {
        await using var server = new CannedHttpServer(_ => new CannedResponse(status));

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid.Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)), CancellationToken.None);

        outcome.Reason.Should().Be(reason);
        outcome.Message.Should().NotContain(Secret);
    }

    [Fact]
    public async Task Exec_plugin_never_runs_and_no_request_is_made()
    {
        await using var server = ApiServer();
        var marker = Path.Combine(Path.GetTempPath(), $"passbox-exec-{Guid.NewGuid():N}");
        var yaml = Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"    token: {Secret}\n", $"""
                    exec:
                      apiVersion: client.authentication.k8s.io/v1
                      command: /bin/sh
                      args: ["-c", "touch {marker}"]
                      interactiveMode: Never

                """, StringComparison.Ordinal);

        var outcome = await probe.ProbeAsync(KubeconfigRequest(yaml), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        File.Exists(marker).Should().BeFalse("no command from a kubeconfig may run");
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task A_token_with_a_line_break_is_an_invalid_kubeconfig_and_no_request_is_made()
    {
        await using var server = ApiServer();
        var yaml = Valid
            .Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"    token: {Secret}\n", $"    token: \"{Secret}\\n{Secret}\"\n", StringComparison.Ordinal);

        var outcome = await probe.ProbeAsync(KubeconfigRequest(yaml), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.InvalidKubeconfig, "the token is what is wrong, not the server");
        outcome.Message.Should().Contain("user \"deployer\"").And.NotContain(Secret);
        server.Requests.Should().BeEmpty();
    }

    [Fact]
    public async Task Server_and_token_without_kubeconfig_are_checked_directly()
    {
        await using var server = ApiServer();

        var outcome = await probe.ProbeAsync(new PipelineProbeRequest(server.BaseUrl, null, Secret, null, null, TimeSpan.FromSeconds(5)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().StartWith("the bearer token logged in");
    }

    [Theory]
    [InlineData("line\nbreak")]
    [InlineData("carriage\rreturn")]
    [InlineData("tab\tinside")]
    [InlineData("non-ascii-\u00e9")]
    public async Task A_token_from_a_Secret_that_cannot_be_a_header_names_the_Secret_key_not_the_server(string inner)
    {
        // Without the check, HttpClient refuses the header and the probe reports "cannot reach" (Unreachable).
        await using var server = ApiServer();
        var token = "tok-" + Guid.NewGuid().ToString("N") + inner + "-end";

        var outcome = await probe.ProbeAsync(
            new PipelineProbeRequest(server.BaseUrl, null, "\n" + token + "\n", null, null, TimeSpan.FromSeconds(5), "key \"token\" of Secret \"ci-api\""),
            CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.InvalidKubeconfig, outcome.Message);
        outcome.Message.Should().Contain("key \"token\" of Secret \"ci-api\"").And.Contain("one line of ASCII");
        outcome.Message.Should().NotContain(token[..12]).And.NotContain("-end");
        server.Requests.Should().BeEmpty("nothing is sent with a token that cannot be a header");
    }

    [Fact]
    public async Task A_token_from_a_Secret_with_only_surrounding_line_breaks_is_trimmed_and_used()
    {
        await using var server = ApiServer();

        var outcome = await probe.ProbeAsync(new PipelineProbeRequest(server.BaseUrl, null, Secret + "\r\n", null, null, TimeSpan.FromSeconds(5)), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
    }

    [Fact]
    public async Task Nothing_to_check_is_an_invalid_kubeconfig()
    {
        var outcome = await probe.ProbeAsync(new PipelineProbeRequest(null, null, null, null, null, TimeSpan.FromSeconds(1)), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.InvalidKubeconfig);
    }

    [Fact]
    public async Task Impersonation_headers_are_sent()
    {
        await using var server = ApiServer();
        var yaml = Valid.Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)
            .Replace($"    token: {Secret}\n", $"    token: {Secret}\n    as: alice\n", StringComparison.Ordinal);

        await probe.ProbeAsync(KubeconfigRequest(yaml), CancellationToken.None);

        server.Requests.Should().OnlyContain(r => r.Headers["Impersonate-User"] == "alice");
    }

    [Fact]
    public async Task Path_prefix_of_the_server_is_kept()
    {
        await using var server = new CannedHttpServer(r => r.Target switch
        {
            "/k8s/clusters/c-1/api" => new CannedResponse(200, null, ApiVersionsJson),
            "/k8s/clusters/c-1/version" => new CannedResponse(200, null, VersionJson),
            _ => new CannedResponse(404),
        });

        var outcome = await probe.ProbeAsync(
            KubeconfigRequest(Valid.Replace("https://127.0.0.1:6443", server.BaseUrl + "/k8s/clusters/c-1", StringComparison.Ordinal)), CancellationToken.None);

        outcome.ServerVersion.Should().Be("v1.34.1");
    }

    /// <summary>
    /// A 200 on /api that is not the discovery document (an SSO page, a proxy's or load balancer's catch-all, a JSON API
    /// of something else) never looked at the token: it must not pass, and the body is never quoted.
    /// </summary>
    [Theory]
    [InlineData("text/html", "<html><body>Sign in</body></html>")]
    [InlineData("application/json", "{\"status\":\"ok\"}")]
    [InlineData("application/json", "{\"kind\":\"APIVersions\",\"versions\":[\"v1\"")]
    [InlineData(null, "")]
    public async Task A_200_on_api_without_the_discovery_document_is_not_an_api_server(string? contentType, string body)
    {
        await using var server = new CannedHttpServer(r => r.Target switch
        {
            "/api" => new CannedResponse(200, contentType is null ? null : new Dictionary<string, string> { ["Content-Type"] = contentType }, body),
            _ => new CannedResponse(200, null, VersionJson),
        });

        var outcome = await probe.ProbeAsync(KubeconfigRequest(Valid.Replace("https://127.0.0.1:6443", server.BaseUrl, StringComparison.Ordinal)), CancellationToken.None);

        outcome.Succeeded.Should().BeFalse();
        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().StartWith($"{server.BaseUrl} answered GET /api with HTTP 200 but is not a Kubernetes API server ({contentType ?? "no content type"}, ")
            .And.NotContain("Sign in").And.NotContain("status").And.NotContain(Secret);
        server.Requests.Select(r => r.Target).Should().Equal("/api");
    }

    [Theory]
    [InlineData(ApiVersionsJson, true)]
    [InlineData("{\"versions\":[\"v1\"]}", true)]
    [InlineData("{\"kind\":\"APIVersions\"}", true)]
    [InlineData("{}", false)]
    [InlineData("[\"v1\"]", false)]
    [InlineData("{\"kind\":\"Status\",\"versions\":\"v1\"}", false)]
    [InlineData("<html/>", false)]
    public void Only_the_APIVersions_document_is_taken_for_an_api_server(string body, bool expected)
    {
        KubernetesApiProbe.IsApiVersions(Encoding.UTF8.GetBytes(body)).Should().Be(expected);
    }

    [Theory]
    [InlineData(VersionJson, "v1.34.1")]
    [InlineData("{\"major\":\"1\"}", null)]
    [InlineData("<html/>", null)]
    public void Git_version_is_read_from_the_version_answer(string json, string? expected)
    {
        KubernetesApiProbe.ReadGitVersion(Encoding.UTF8.GetBytes(json)).Should().Be(expected);
    }

    private static CannedHttpServer ApiServer(string token = Secret) => new(r => r.Authorization != "Bearer " + token
        ? new CannedResponse(401)
        : r.Target switch
        {
            "/api" => new CannedResponse(200, null, ApiVersionsJson),
            "/version" => new CannedResponse(200, null, VersionJson),
            _ => new CannedResponse(404),
        });

    private static PipelineProbeRequest KubeconfigRequest(string yaml, string? context = null) =>
        new(null, null, null, yaml, context, TimeSpan.FromSeconds(5));
}
