using System.Net;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Controllers.Shared;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A credential can read several Secrets (a password and a CA, say): a missing one is reported with the spec field that
/// names it, so the user knows which reference to fix.
/// </summary>
public sealed class SourceSecretFieldTests
{
    private static readonly SecretKeyReference Ca = new() { Name = "corp-ca", Key = "ca.crt" };

    [Fact]
    public async Task The_missing_Secret_is_reported_with_the_field_that_names_it_and_the_present_one_is_not()
    {
        var api = new FakeApiServer(request => request.Path.EndsWith("/secrets/source", StringComparison.Ordinal)
            ? SourceSecret("1", "unit-test-pw")
            : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));
        var pipeline = PipelineTestKit.Pipeline(api, new NoGeneratedSecrets(), Clock());
        var status = new PipelineCredentialStatus();

        await pipeline.RunAsync(Credential(), new PasswordAndCaKind(), status, CancellationToken.None);

        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Reason.Should().Be(ConditionReasons.SourceSecretMissing);
        validated.Message.Should().Be("Secret team/corp-ca (named by spec.tls.caSecretRef) does not exist; create it with key \"ca.crt\"");
    }

    [Fact]
    public void Every_PipelineCredential_reference_carries_its_field()
    {
        var credential = new PipelineCredential
        {
            Metadata = new V1ObjectMeta { Name = "deploy", NamespaceProperty = "team" },
            Spec = new PipelineCredentialSpec
            {
                UsernamePassword = new UsernamePasswordSource { Username = "bot", PasswordSecretRef = new SecretKeyReference { Name = "git", Key = "password" } },
                Tls = new PipelineTlsSettings { CaSecretRef = Ca },
            },
        };

        var references = new PipelineCredentialKind(Passbox.Operator.Connectors.Pipeline.PipelineProbes.CreateDefault()).SourceReferences(credential);

        references.Select(r => (r.ToString(), r.Field)).Should().Equal(
            ("git/password", "spec.usernamePassword.passwordSecretRef"),
            ("corp-ca/ca.crt", "spec.tls.caSecretRef"));
    }

    /// <summary>Reads a password and a CA, as a PipelineCredential with a private CA does.</summary>
    private sealed class PasswordAndCaKind : TestCredentialKind
    {
        public override IReadOnlyList<SourceReference> SourceReferences(V1ConfigMap credential) =>
            [new(Source, "spec.usernamePassword.passwordSecretRef"), new(Ca, "spec.tls.caSecretRef")];

        protected override Task<ValidationOutcome> LogInAsync(CancellationToken ct) => Task.FromResult(ValidationOutcome.Success("logged in"));
    }
}
