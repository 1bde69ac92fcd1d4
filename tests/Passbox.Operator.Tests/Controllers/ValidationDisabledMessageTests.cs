using System.Net;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.ClusterCredentials;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A credential published without a check says which of its own fields turned checking off: a PipelineCredential has no
/// validation.disabled (its probe None does it, by default for SecretText and UsernamePassword), a ClusterCredential no
/// probe. The message used to name both to either kind, so a pipeline user went looking for a field their kind lacks.
/// </summary>
public sealed class ValidationDisabledMessageTests
{
    private readonly FakeApiServer api = new(request =>
        request.Method == HttpMethod.Get && request.Path == $"/api/v1/namespaces/team/secrets/{Source.Name}"
            ? SourceSecret("1", "token-value")
            : request.Method == HttpMethod.Post
                ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
                : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));

    [Theory]
    [InlineData(true, "spec.validation.probe is None")]
    [InlineData(false, "spec.validation.probe is None, the default for type SecretText")]
    public async Task A_pipeline_credential_published_unchecked_names_its_probe(bool probeWritten, string why)
    {
        var credential = TokenCredential(probeWritten ? PipelineProbe.None : null);
        var status = new PipelineCredentialStatus();

        await PipelineTestKit.Pipeline(api, new NoGeneratedSecrets(), Clock())
            .RunAsync(credential, new PipelineCredentialKind(PipelineProbes.CreateDefault()), status, CancellationToken.None);

        var validated = status.Conditions!.Single(c => c.Type == ConditionTypes.Validated);
        validated.Reason.Should().Be(ConditionReasons.ValidationDisabled);
        validated.Message.Should().Be($"validation is disabled ({why}); the Secret is published without a check")
            .And.NotContain("validation.disabled", "a PipelineCredential has no such field");
    }

    [Fact]
    public void A_cluster_credential_with_validation_disabled_names_that_field()
    {
        var credential = new ClusterCredential
        {
            Metadata = new() { Name = "orders", NamespaceProperty = "team" },
            Spec = new ClusterCredentialSpec
            {
                Engine = ClusterEngine.MySQL,
                Endpoint = new DatabaseEndpoint { Host = "mysql.team.svc" },
                Username = "app",
                PasswordSecretRef = Source,
                Validation = new ValidationSettings { Disabled = true },
            },
        };

        var schedule = new ClusterCredentialKind(null!).Schedule(credential);

        schedule.Disabled.Should().BeTrue();
        schedule.DisabledBy.Should().Be("spec.validation.disabled is true");
    }

    private static PipelineCredential TokenCredential(PipelineProbe? probe) => new()
    {
        Metadata = new() { Name = "deploy-token", NamespaceProperty = "team", Uid = "uid-deploy-token", Generation = 1 },
        Spec = new PipelineCredentialSpec
        {
            Type = PipelineCredentialType.SecretText,
            Server = "https://git.example.com/team/app.git",
            SecretText = new SecretTextSource { SecretRef = Source },
            Validation = probe is null ? null : new PipelineValidationSettings { Probe = probe },
        },
    };
}
