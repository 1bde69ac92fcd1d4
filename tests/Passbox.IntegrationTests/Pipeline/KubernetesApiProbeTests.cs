using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using Xunit.Abstractions;

namespace Passbox.IntegrationTests.Pipeline;

[Collection(KubernetesApiCollectionDefinition.Name)]
public sealed class KubernetesApiProbeTests(KubernetesApiFixture cluster, ITestOutputHelper output)
{
    private readonly KubernetesApiProbe probe = new();

    [Fact]
    public async Task Good_token_is_validated_with_the_server_version()
    {
        var outcome = await Probe(cluster.Kubeconfig());
        output.WriteLine($"{(cluster.IsRealControlPlane ? "control plane" : "stand-in API server")} {cluster.Server}: {outcome.ServerVersion}");

        outcome.Succeeded.Should().BeTrue(outcome.Message);
        outcome.Reason.Should().Be(ValidationReasons.Validated);
        outcome.ServerVersion.Should().StartWith("v1.");
        outcome.Message.Should().Be($"user \"deployer\" of context \"ci\" (bearer token) logged in to API server {cluster.Server}")
            .And.NotContain(cluster.Token);
    }

    [Fact]
    public async Task Bad_token_fails_authentication()
    {
        var outcome = await Probe(cluster.Kubeconfig("token: not-a-valid-token-0123456789"));

        outcome.Reason.Should().Be(ValidationReasons.AuthenticationFailed);
        outcome.Message.Should().Contain("rejected user \"deployer\"").And.NotContain("not-a-valid-token");
    }

    [Fact]
    public async Task Unknown_context_is_an_invalid_kubeconfig_listing_the_contexts()
    {
        var outcome = await Probe(cluster.Kubeconfig(), context: "production");

        outcome.Reason.Should().Be(ValidationReasons.InvalidKubeconfig);
        outcome.Message.Should().Be("context \"production\" is not in the kubeconfig; available contexts: \"ci\"");
    }

    [Fact]
    public async Task Exec_plugin_is_unsupported_and_never_runs()
    {
        var marker = Path.Combine(Path.GetTempPath(), $"passbox-exec-{Guid.NewGuid():N}");
        var outcome = await Probe(cluster.Kubeconfig($"""
            exec:
              apiVersion: client.authentication.k8s.io/v1
              command: /bin/sh
              args: ["-c", "touch {marker}"]
              interactiveMode: Never
            """));

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
        outcome.Message.Should().Contain("exec plugin");
        File.Exists(marker).Should().BeFalse();
    }

    [Fact]
    public async Task Wrong_ca_is_a_tls_failure_saying_the_certificate_is_not_trusted()
    {
        using var other = new ApiServerCertificates("some other cluster CA");

        var outcome = await Probe(cluster.Kubeconfig(certificateAuthorityPem: other.AuthorityPem));

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("not signed by the certificate-authority-data of cluster \"test\"");
    }

    [Fact]
    public async Task Name_the_certificate_does_not_carry_is_a_tls_failure()
    {
        var outcome = await Probe(cluster.Kubeconfig(tlsServerName: "api.wrong.example"));

        outcome.Reason.Should().Be(ValidationReasons.TLSFailed);
        outcome.Message.Should().Contain("not valid for host api.wrong.example");
    }

    [Fact]
    public async Task Server_down_is_unreachable()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var outcome = await Probe(cluster.Kubeconfig(server: $"https://127.0.0.1:{port}"));

        outcome.Reason.Should().Be(ValidationReasons.Unreachable);
        outcome.Message.Should().Be($"cannot reach 127.0.0.1:{port}: connection refused");
    }

    private Task<ValidationOutcome> Probe(string kubeconfig, string? context = null) =>
        probe.ProbeAsync(new PipelineProbeRequest(null, null, null, kubeconfig, context, TimeSpan.FromSeconds(10)), CancellationToken.None);
}
