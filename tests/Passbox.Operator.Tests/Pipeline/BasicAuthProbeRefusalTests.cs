using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;
using static Passbox.Operator.Tests.Pipeline.ProbeTestSupport;

namespace Passbox.Operator.Tests.Pipeline;

/// <summary>
/// The probes that log in with Basic authentication refuse a request they cannot check before they send anything: nothing
/// listens at the server, so a refusal that had sent a request would be Unreachable instead.
/// </summary>
public sealed class BasicAuthProbeRefusalTests
{
    [Theory]
    [InlineData("ContainerRegistry")]
    [InlineData("GitHTTP")]
    public async Task A_kubeconfig_is_refused_as_unsupported(string probeName)
    {
        var (probe, server) = Probe(probeName);

        var outcome = await probe.ProbeAsync(Request(server) with { Kubeconfig = "apiVersion: v1\nkind: Config\n" }, CancellationToken.None);

        outcome.Should().BeEquivalentTo(new
        {
            Succeeded = false,
            Reason = ValidationReasons.Unsupported,
            Message = $"the {probeName} probe checks a user name and password or a token, not a kubeconfig",
        });
    }

    [Theory]
    [InlineData("ContainerRegistry", null)]
    [InlineData("ContainerRegistry", "")]
    [InlineData("GitHTTP", null)]
    [InlineData("GitHTTP", "")]
    public async Task No_password_or_token_is_refused_as_unsupported(string probeName, string? secret)
    {
        var (probe, server) = Probe(probeName);

        var outcome = await probe.ProbeAsync(Request(server, secret: secret), CancellationToken.None);

        outcome.Should().BeEquivalentTo(new
        {
            Succeeded = false,
            Reason = ValidationReasons.Unsupported,
            Message = $"the {probeName} probe needs a password or token to check",
        });
    }

    private static (IPipelineProbe Probe, string Server) Probe(string name)
    {
        var root = $"http://127.0.0.1:{ClosedPort()}";
        return name == "GitHTTP" ? (new GitHttpProbe(), $"{root}/demo.git") : (new ContainerRegistryProbe(), root);
    }
}
