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

    /// <summary>
    /// A registry without authentication ignores any login, and docker, kaniko and crane send it none: nothing can check the
    /// credentials there. The condition says so and what to do, instead of a bare "could not be checked".
    /// </summary>
    [Fact]
    public async Task An_open_registry_is_validated_saying_the_login_was_ignored_and_what_to_do()
    {
        await using var open = await ServiceScript.StartAsync("registry.sh", "--open");

        var outcome = await probe.ProbeAsync(Request(open.Env["REGISTRY_URL"], registry.User, registry.Password), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.ServerVersion.Should().Be("registry/2.0");
        outcome.Message.Should().Be($"registry {open.Env["REGISTRY_HOST"]} lets anyone in at /v2/ and ignored the login of user {registry.User}, " +
            "so the credentials could not be checked (docker, kaniko and crane send none to it either); turn on the registry's " +
            "authentication to have them checked, or set spec.validation.probe to None to publish them without this check")
            .And.NotContain(registry.Password);
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
