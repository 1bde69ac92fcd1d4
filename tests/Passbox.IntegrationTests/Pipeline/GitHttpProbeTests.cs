using System.Net;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.IntegrationTests.Pipeline;

[Collection(GitHttpCollectionDefinition.Name)]
public sealed class GitHttpProbeTests(GitHttpFixture git)
{
    private readonly GitHttpProbe probe = new();

    [Fact]
    public async Task Right_credentials_read_the_repository_and_report_the_git_version()
    {
        var outcome = await probe.ProbeAsync(Request(git.RepositoryUrl, git.User, git.Password), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Reason.Should().Be(ValidationReasons.Validated);
        outcome.ServerVersion.Should().StartWith("git/");
        outcome.Message.Should().Be($"user {git.User} can read {git.RepositoryUrl}");
    }

    [Fact]
    public async Task Behind_an_egress_proxy_the_repository_is_read_through_it()
    {
        // A git server known only to the proxy, as github.com is to a cluster that reaches the internet through one.
        var real = new Uri(git.RepositoryUrl);
        await using var proxy = new ConnectProxy((_, port) => (real.Host, port));
        var proxied = new GitHttpProbe(proxy: new WebProxy(proxy.Address));
        var repository = new UriBuilder(real) { Host = "git.corp.invalid" }.Uri.ToString();

        var outcome = await proxied.ProbeAsync(Request(repository, git.User, git.Password), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        proxy.Requested.Should().Contain($"git.corp.invalid:{real.Port}");
    }

    [Fact]
    public async Task An_egress_proxy_that_is_down_is_named_instead_of_the_git_server()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var proxyPort = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var proxied = new GitHttpProbe(proxy: new WebProxy($"http://127.0.0.1:{proxyPort}"));
        var repository = new UriBuilder(git.RepositoryUrl) { Host = "git.corp.invalid" }.Uri;

        var outcome = await proxied.ProbeAsync(Request(repository.ToString(), git.User, git.Password), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Be($"cannot reach proxy 127.0.0.1:{proxyPort} on the way to git.corp.invalid:{repository.Port}: connection refused");
    }

    [Fact]
    public async Task Wrong_password_fails_authentication()
    {
        var outcome = await probe.ProbeAsync(Request(git.RepositoryUrl, git.User, "wrong-" + git.Password), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("HTTP 401").And.NotContain(git.Password);
    }

    [Fact]
    public async Task Unknown_user_fails_authentication()
    {
        var outcome = await probe.ProbeAsync(Request(git.RepositoryUrl, "nobody", git.Password), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
    }

    [Fact]
    public async Task Unknown_repository_says_not_found_or_no_access()
    {
        var outcome = await probe.ProbeAsync(Request($"{git.BaseUrl}/missing.git", git.User, git.Password), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.PermissionDenied);
        outcome.Message.Should().Contain("missing.git not found, or user");
    }

    [Fact]
    public async Task Bare_token_logs_in_as_the_conventional_user()
    {
        const string Token = "ghp_integrationTestToken0123456789";
        await using var server = await GitHttpFixture.StartInstanceAsync("x-access-token", Token);
        var repository = server.Env["GIT_REPO_URL"];

        var outcome = await probe.ProbeAsync(Request(repository, null, Token), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Message.Should().StartWith("the token can read").And.NotContain(Token);
    }

    [Fact]
    public async Task Server_down_is_unreachable()
    {
        await using var server = await GitHttpFixture.StartInstanceAsync("ci-bot", "secret-1");
        var repository = server.Env["GIT_REPO_URL"];
        (await probe.ProbeAsync(Request(repository, "ci-bot", "secret-1"), CancellationToken.None)).Succeeded.Should().BeTrue();

        await server.StopAsync();
        var outcome = await probe.ProbeAsync(Request(repository, "ci-bot", "secret-1"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().EndWith("connection refused");
    }

    [Fact]
    public async Task Https_against_the_plain_http_server_is_a_tls_failure()
    {
        var https = "https://" + git.RepositoryUrl["http://".Length..];

        var outcome = await probe.ProbeAsync(Request(https, git.User, git.Password), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
    }

    private static PipelineProbeRequest Request(string url, string? user, string secret) =>
        new(url, user, secret, null, null, TimeSpan.FromSeconds(10));
}
