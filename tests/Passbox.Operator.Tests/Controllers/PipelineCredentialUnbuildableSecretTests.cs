using System.Net;
using System.Text;
using k8s;
using k8s.Models;
using Passbox.Operator.Api.V1Alpha1;
using Passbox.Operator.Connectors.Pipeline;
using Passbox.Operator.Controllers.PipelineCredentials;
using Passbox.Operator.Tests.Runtime;
using static Passbox.Operator.Tests.Controllers.PipelineTestKit;

namespace Passbox.Operator.Tests.Controllers;

/// <summary>
/// A PipelineCredential stored before the schema refused its spec (a server that is no URL, an Argo CD secret type its
/// type cannot fill) ends in an InvalidSpec condition naming the field to fix: no exception out of the reconcile, no
/// Secret write, and nothing of the token in the status.
/// </summary>
public sealed class PipelineCredentialUnbuildableSecretTests
{
    private const string Token = "glpat-unit-test-token";

    private readonly FakeApiServer api = new(request =>
        request.Method == HttpMethod.Get && request.Path == $"/api/v1/namespaces/team/secrets/{Source.Name}"
            ? SourceSecret("1", Token)
            : request.Method == HttpMethod.Post
                ? FakeApiServer.Json(HttpStatusCode.Created, request.Body!)
                : FakeApiServer.Status(HttpStatusCode.NotFound, "NotFound"));

    public static TheoryData<string?, ArgoCDSecretType?, SecretConsumer, string> Unbuildable => new()
    {
        { "registry.local:5OOO", null, SecretConsumer.Tekton, "spec.server is not a URL" },
        { "https://git.example.com:99999/a.git", null, SecretConsumer.ArgoCD, "spec.server is not a URL" },
        { "https://git.example.com/a.git", ArgoCDSecretType.Cluster, SecretConsumer.ArgoCD, "spec.secret.argoCD.secretType Cluster does not fit type SecretText" },
        { null, null, SecretConsumer.ArgoCD, "spec.secret.argoCD.secretType RepoCreds (the default for type SecretText) needs spec.server" },
        { null, null, SecretConsumer.Tekton, "spec.secret.consumers Tekton needs spec.server" },
    };

    [Theory]
    [MemberData(nameof(Unbuildable))]
    public async Task A_secret_the_spec_cannot_shape_ends_in_an_InvalidSpec_condition_without_a_write(
        string? server, ArgoCDSecretType? secretType, SecretConsumer consumer, string message)
    {
        var credential = TokenCredential(server, consumer);
        credential.Spec.Secret!.ArgoCD = secretType is null ? null : new ArgoCDSettings { SecretType = secretType };
        var status = new PipelineCredentialStatus();

        var run = () => PipelineTestKit.Pipeline(api, new NoGeneratedSecrets(), Clock()).RunAsync(credential, Kind(), status, CancellationToken.None);

        await run.Should().NotThrowAsync();
        api.Requests.Should().NotContain(r => r.Method != HttpMethod.Get, "nothing is written for a spec that cannot be published");
        status.Conditions!.Single(c => c.Type == ConditionTypes.Validated).Status.Should().Be("True", "probe None passes");
        foreach (var type in new[] { ConditionTypes.SecretSynced, ConditionTypes.Ready })
        {
            var condition = status.Conditions!.Single(c => c.Type == type);
            condition.Status.Should().Be("False");
            condition.Reason.Should().Be(ConditionReasons.InvalidSpec);
            condition.Message.Should().Contain(message).And.Contain("Nothing is published").And.NotContain(Token);
        }
    }

    [Fact]
    public async Task A_token_written_into_the_server_URL_of_an_old_credential_stays_out_of_the_published_Secret()
    {
        var credential = TokenCredential("https://oauth2:glpat-in-the-url@gitlab.example.com/group/app.git", SecretConsumer.Tekton, SecretConsumer.ArgoCD);
        var status = new PipelineCredentialStatus();

        await PipelineTestKit.Pipeline(api, new NoGeneratedSecrets(), Clock()).RunAsync(credential, Kind(), status, CancellationToken.None);

        status.Conditions!.Single(c => c.Type == ConditionTypes.Ready).Status.Should().Be("True");
        var created = KubernetesJson.Deserialize<V1Secret>(api.Requests.Single(r => r.Method == HttpMethod.Post).Body!);
        var published = created.Data.Values.Select(v => Encoding.UTF8.GetString(v))
            .Concat(created.Metadata.Annotations.Values).Concat(created.Metadata.Labels.Values).ToList();
        published.Should().Contain("https://gitlab.example.com", "Tekton's git-0 annotation names the origin")
            .And.Contain("https://gitlab.example.com/group/app.git", "Argo CD's url is the repository")
            .And.NotContain(v => v.Contains("glpat-in-the-url", StringComparison.Ordinal));
    }

    private static PipelineCredentialKind Kind() => new(PipelineProbes.CreateDefault());

    private static PipelineCredential TokenCredential(string? server, params SecretConsumer[] consumers) => new()
    {
        Metadata = new() { Name = "deploy-token", NamespaceProperty = "team", Uid = "uid-deploy-token", Generation = 1 },
        Spec = new PipelineCredentialSpec
        {
            Type = PipelineCredentialType.SecretText,
            Server = server,
            SecretText = new SecretTextSource { SecretRef = Source },
            Validation = new PipelineValidationSettings { Probe = PipelineProbe.None },
            Secret = new PipelineSecretSettings { Consumers = [.. consumers] },
        },
    };
}
