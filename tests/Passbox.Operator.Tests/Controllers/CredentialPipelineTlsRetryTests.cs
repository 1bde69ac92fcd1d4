using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Controllers.Shared;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A server whose certificate was briefly wrong (a renewal in progress) is checked again seconds later, backing off
/// while it stays wrong, instead of showing TLSFailed until the next interval (an hour by default) or an edit.
/// </summary>
public sealed class CredentialPipelineTlsRetryTests
{
    [Fact]
    public async Task A_failed_TLS_handshake_is_retried_with_backoff_and_the_renewed_certificate_is_noticed_within_seconds()
    {
        var time = Clock();
        var kind = new RenewingCertificate();
        var pipeline = PipelineTestKit.Pipeline(AcceptingCreates(), new NoGeneratedSecrets(), time);
        var status = new PipelineCredentialStatus();

        var first = await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);
        first.Should().NotBeNull().And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(2), "the first retry comes after the backoff's first step, not the hour");
        first!.Value.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(1), "never faster than the backoff floor");

        time.Advance(first.Value);
        var second = await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);
        second!.Value.Should().BeGreaterThanOrEqualTo(TimeSpan.FromSeconds(2)).And.BeLessThanOrEqualTo(TimeSpan.FromSeconds(4), "each failure in a row doubles the wait");

        kind.Renewed = true;
        time.Advance(second.Value);
        await pipeline.RunAsync(Credential(), kind, status, CancellationToken.None);

        kind.Logins.Should().Be(3);
        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
    }

    [Fact]
    public void Only_a_PipelineCredential_backs_off_on_TLSFailed()
    {
        var pipelineKind = new PipelineCredentialKind(Passbox.Operator.Connectors.Pipeline.PipelineProbes.CreateDefault());
        pipelineKind.BacksOff(ValidationReasons.TLSFailed).Should().BeTrue();
        pipelineKind.BacksOff(ValidationReasons.AuthenticationFailed).Should().BeFalse("a refused login retried soon can lock the account");
        ((ICredentialKind<PipelineCredential>)pipelineKind).BacksOff(ValidationReasons.Unreachable).Should().BeTrue();
        ValidationPlanner.IsTransient(ValidationReasons.TLSFailed).Should().BeFalse(
            "a ClusterCredential's TLSFailed can be a server that requires TLS refusing a login already sent (MySQL 3159)");
    }

    /// <summary>Checked hourly, backing off as a PipelineCredential does; its TLS handshake fails until the certificate is renewed.</summary>
    private sealed class RenewingCertificate : TestCredentialKind, ICredentialKind<V1ConfigMap>
    {
        private static readonly PipelineCredentialKind Pipeline = new(Passbox.Operator.Connectors.Pipeline.PipelineProbes.CreateDefault());

        public bool Renewed { get; set; }

        public bool BacksOff(string? reason) => Pipeline.BacksOff(reason);

        public override CheckSchedule Schedule(V1ConfigMap credential) => new(TimeSpan.FromHours(1), TimeSpan.FromSeconds(10), DisabledBy: null);

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(Renewed
            ? ValidationOutcome.Success("user bot logged in to registry.example")
            : ValidationOutcome.Failure(ValidationReasons.TLSFailed, "TLS with registry.example:443 failed: the server certificate has expired"));
    }
}
