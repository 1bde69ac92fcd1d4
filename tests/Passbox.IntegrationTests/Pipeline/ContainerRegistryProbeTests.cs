using System.Net;
using Passbox.IntegrationTests.Infrastructure;
using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.IntegrationTests.Pipeline;

[Collection(RegistryCollectionDefinition.Name)]
public sealed class ContainerRegistryProbeTests(RegistryFixture registry)
{
    private readonly ContainerRegistryProbe probe = new();

    [Fact]
    public async Task Right_credentials_log_in_and_report_the_api_version()
    {
        var outcome = await probe.ProbeAsync(Request(registry.Url, registry.User, registry.Password), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Be("registry/2.0");
        outcome.Message.Should().Be($"user {registry.User} logged in to registry {registry.HostAndPort}");
    }

    [Fact]
    public async Task Behind_an_egress_proxy_the_login_goes_through_it()
    {
        var real = new Uri(registry.Url);
        await using var proxy = new ConnectProxy((_, port) => (real.Host, port));
        var proxied = new ContainerRegistryProbe(proxy: new WebProxy(proxy.Address));
        var server = new UriBuilder(real) { Host = "registry.corp.invalid" }.Uri.ToString().TrimEnd('/');

        var outcome = await proxied.ProbeAsync(Request(server, registry.User, registry.Password), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        proxy.Requested.Should().Contain($"registry.corp.invalid:{real.Port}");
    }

    [Fact]
    public async Task Wrong_password_fails_authentication()
    {
        var outcome = await probe.ProbeAsync(Request(registry.Url, registry.User, "wrong"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("refused the login of user").And.NotContain(registry.Password);
    }

    [Fact]
    public async Task Host_and_port_without_scheme_means_https_and_fails_tls_on_a_plain_http_registry()
    {
        var outcome = await probe.ProbeAsync(Request(registry.HostAndPort, registry.User, registry.Password), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain(registry.HostAndPort);
    }

    [Fact]
    public async Task Registry_down_is_unreachable()
    {
        await using var own = await RegistryFixture.StartInstanceAsync("ci-bot", "secret-1");
        var url = own.Env["REGISTRY_URL"];
        (await probe.ProbeAsync(Request(url, "ci-bot", "secret-1"), CancellationToken.None)).Succeeded.Should().BeTrue();

        await own.StopAsync();
        var outcome = await probe.ProbeAsync(Request(url, "ci-bot", "secret-1"), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().EndWith("connection refused");
    }

    private static PipelineProbeRequest Request(string server, string? user, string secret) =>
        new(server, user, secret, null, null, TimeSpan.FromSeconds(10));
}
