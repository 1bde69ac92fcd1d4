using Passbox.Operator.Connectors;
using Passbox.Operator.Connectors.Pipeline;

namespace Passbox.Operator.Tests.Pipeline;

public sealed class PipelineProbesTests
{
    private const string Secret = "hunter2-secret";

    [Fact]
    public async Task None_always_succeeds_and_says_validation_is_disabled()
    {
        var outcome = await PipelineProbes.CreateDefault().ProbeAsync(PipelineProbeKind.None, new PipelineProbeRequest(null, null, null, null, null, TimeSpan.Zero), CancellationToken.None);

        outcome.Succeeded.Should().BeTrue();
        outcome.Reason.Should().Be(ValidationReasons.Validated);
        outcome.Message.Should().Contain("validation is disabled");
    }

    [Theory]
    [InlineData(PipelineProbeKind.GitHTTP)]
    [InlineData(PipelineProbeKind.ContainerRegistry)]
    [InlineData(PipelineProbeKind.KubernetesAPI)]
    public async Task Each_kind_reaches_its_probe(PipelineProbeKind kind)
    {
        var probes = new PipelineProbes([new Recording(PipelineProbeKind.GitHTTP), new Recording(PipelineProbeKind.ContainerRegistry), new Recording(PipelineProbeKind.KubernetesAPI)]);

        var outcome = await probes.ProbeAsync(kind, new PipelineProbeRequest("x", null, null, null, null, TimeSpan.Zero), CancellationToken.None);

        outcome.Message.Should().Be(kind.ToString());
    }

    [Fact]
    public async Task Missing_probe_is_unsupported()
    {
        var outcome = await new PipelineProbes([]).ProbeAsync(PipelineProbeKind.GitHTTP, new PipelineProbeRequest("x", null, null, null, null, TimeSpan.Zero), CancellationToken.None);

        outcome.Reason.Should().Be(ValidationReasons.Unsupported);
    }

    [Fact]
    public void Same_kind_twice_is_refused()
    {
        var act = () => new PipelineProbes([new GitHttpProbe(), new GitHttpProbe()]);

        act.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void Request_text_never_shows_the_secret_or_the_kubeconfig()
    {
        var request = new PipelineProbeRequest("https://github.com/org/app.git", "bot", Secret, $"users: [{{name: a, user: {{token: {Secret}}}}}]", "ci", TimeSpan.FromSeconds(3));

        request.ToString().Should().NotContain(Secret).And.Contain("(redacted)").And.Contain("bot");
    }

    private sealed class Recording(PipelineProbeKind kind) : IPipelineProbe
    {
        public PipelineProbeKind Kind => kind;

        public Task<ValidationOutcome> ProbeAsync(PipelineProbeRequest request, CancellationToken ct) =>
            Task.FromResult(ValidationOutcome.Success(kind.ToString()));
    }
}
